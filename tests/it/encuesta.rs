//! The survey questionnaire and its scoring models (issue 22): a model file changed under a
//! name already used refuses start; a survey carries the household as surveyed and its score
//! is the model's.

use crate::per_backend;
use crate::support::{TestNode, repo_path};

/// A copy of the shipped models in a folder of the test's own.
fn modelos_copia(dir: &std::path::Path) -> std::path::PathBuf {
    let out = dir.join("modelos");
    std::fs::create_dir_all(&out).unwrap();
    for entry in std::fs::read_dir(repo_path("conf/modelos")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, out.join(path.file_name().unwrap())).unwrap();
    }
    out
}

fn registrados(node: &TestNode) -> Vec<(String, String)> {
    use diesel::prelude::*;
    use siis::db::schema::modelos_puntaje;
    modelos_puntaje::table
        .select((modelos_puntaje::nombre, modelos_puntaje::sha256))
        .order(modelos_puntaje::nombre)
        .load(&mut node.db())
        .unwrap()
}

per_backend!(
    async fn un_modelo_cambiado_con_el_mismo_nombre_no_inicia(backend) {
        let node = TestNode::start(backend).await;
        let antes = registrados(&node);
        let nombres: Vec<&str> = antes.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(nombres, ["FPS-2026-1", "FPS-2026-2"]);
        let dir = tempfile::tempdir().unwrap();
        let modelos = modelos_copia(dir.path());
        // One coefficient changed, the name kept: refused, naming the file and the rule.
        let file = modelos.join("FPS-2026-2.toml");
        let text = std::fs::read_to_string(&file).unwrap();
        std::fs::write(&file, text.replace("trabajo = 700", "trabajo = 650")).unwrap();
        let m = modelos.clone();
        let err = match node.restart_with(move |c| c.encuesta.modelos = m).await {
            Ok(_) => panic!("a changed model must refuse start"),
            Err(e) => e,
        };
        assert!(err.contains("FPS-2026-2.toml"), "{err}");
        assert!(err.contains("must take a new name"), "{err}");
        assert!(err.contains(&antes[1].1), "the recorded digest: {err}");
        // The same change under a new name starts, and the old name keeps its digest.
        let renamed = text
            .replace("trabajo = 700", "trabajo = 650")
            .replace("modelo = \"FPS-2026-2\"", "modelo = \"FPS-2026-3\"");
        std::fs::write(modelos.join("FPS-2026-3.toml"), renamed).unwrap();
        std::fs::write(&file, &text).unwrap();
        let node = TestNode::start(backend).await;
        let m = modelos.clone();
        let node = node
            .restart_with(move |c| c.encuesta.modelos = m)
            .await
            .expect("a new name starts");
        let despues = registrados(&node);
        assert_eq!(despues.len(), 3);
        assert_eq!(despues[..2], antes[..], "models already used keep their digest");
        node.stop().await;
    }
);

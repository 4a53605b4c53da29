//! What a survey records in the history of each household it changes: `encuestar` on the
//! surveyed one; on each household a listed member left, their departure (with a fixed reason
//! and no author for another comuna), its version raised and its ficha marked as its model
//! says; and the departure of each member not listed.

use diesel::prelude::*;
use serde_json::Value;
use siis::db::schema::{fichas, hogar_eventos};
use siis::domain::Run;

use super::{encuestar, hogar_de, integrante, lista, modelos_copia, node};
use crate::encuestaje::{evento, nueva, programar};
use crate::hogar::{consultar, estado, hogar_con, ultimo};
use crate::per_backend;
use crate::support::TestNode;

const MUNI: &str = "muni-13101";

/// A household of Valparaíso (05101) with a ficha in force scored by `modelo`, and two of its
/// members: (household, one who stays, one who moves).
fn de_valparaiso(node: &TestNode, modelo: &str) -> (i64, Run, Run) {
    let (hogar, miembros) = hogar_con(node, "05101", 2, 0);
    diesel::update(
        fichas::table
            .filter(fichas::hogar_id.eq(hogar))
            .filter(fichas::estado.eq("vigente")),
    )
    .set(fichas::modelo.eq(modelo))
    .execute(&mut node.db())
    .unwrap();
    (hogar, miembros[0].0, miembros[1].0)
}

/// The id of the event household `hogar` recorded at version `secuencia`.
fn evento_id(node: &TestNode, hogar: i64, secuencia: i32) -> String {
    hogar_eventos::table
        .filter(hogar_eventos::hogar_id.eq(hogar))
        .filter(hogar_eventos::secuencia.eq(secuencia))
        .select(hogar_eventos::id)
        .first(&mut node.db())
        .unwrap()
}

fn runs(e: &Value) -> Vec<String> {
    e["integrantes"]
        .as_array()
        .unwrap_or_else(|| panic!("{e}"))
        .iter()
        .map(|i| i["run"].as_str().unwrap().to_owned())
        .collect()
}

per_backend!(
    async fn una_encuesta_queda_en_la_historia_de_cada_hogar_que_cambia(backend) {
        let node = node(backend).await;
        let (id, jefe) = lista(&node, 0).await;
        let (origen, queda, mudado) = de_valparaiso(&node, "FPS-2026-1");
        let (version_origen, _, revision) = estado(&node, origen);
        assert_eq!(revision, Some(None), "not under review before");
        let (status, r) = evento(
            &node,
            MUNI,
            &id,
            encuestar(vec![
                integrante(jefe, "jefe", false),
                integrante(mudado, "conyuge", false),
            ]),
        )
        .await;
        assert_eq!(status, 200, "{r}");
        let folio = r["folio"].as_i64().unwrap();
        let hogar = hogar_de(&node, jefe);

        // Santiago: the survey, with its author, marking nothing (the new ficha replaces).
        let (status, h) = consultar(&node, MUNI, jefe).await;
        assert_eq!(status, 200, "{h}");
        let e = ultimo(&h);
        assert_eq!(e["evento"], "encuestar");
        assert_eq!(e["motivo"], format!("encuesta aplicada, folio {folio}"));
        assert_eq!(e["convenio"], MUNI);
        assert_eq!(e["marcaRevision"], false);
        assert_eq!(e["direccion"], "Pasaje Los Aromos 1234");
        assert_eq!(runs(e), [jefe.to_string(), mudado.to_string()]);
        let (version, _, _) = estado(&node, hogar);
        assert_eq!(e["secuencia"], version, "{h}");
        assert_eq!((h["folio"].as_i64(), &h["enRevision"]), (Some(folio), &Value::Bool(false)));
        let text = h.to_string();
        assert!(!text.contains("05101") && !text.contains("Valpara"), "{text}");

        // Valparaíso: the member left, its version rose, its FPS-2026-1 ficha is marked by that
        // event, and the history names neither Santiago's reason nor its author.
        let (version, miembros, revision) = estado(&node, origen);
        assert_eq!(version, version_origen + 1);
        assert!(!miembros.contains(&(mudado.numero() as i32)));
        assert_eq!(revision, Some(Some(evento_id(&node, origen, version))));
        let (status, alla) = consultar(&node, "muni-05101", queda).await;
        assert_eq!(status, 200, "{alla}");
        assert_eq!(alla["enRevision"], true);
        let e = ultimo(&alla);
        assert_eq!(e["evento"], "quitar_integrante");
        assert_eq!(runs(e), [mudado.to_string()]);
        assert_eq!(e["motivo"], "traslado a otro hogar");
        assert_eq!(e["marcaRevision"], true);
        assert!(e.get("convenio").is_none() && e.get("usuario").is_none(), "{e}");
        let text = alla.to_string();
        assert!(
            !text.contains("13101") && !text.contains("Aromos") && !text.contains("encuesta"),
            "{text}"
        );

        // Surveyed again without that member: they leave for a household of their own, and
        // both histories say so before the survey.
        diesel::update(fichas::table.find(folio))
            .set(fichas::estado.eq("anulada"))
            .execute(&mut node.db())
            .unwrap();
        let id2 = nueva(&node, jefe).await;
        let (status, r) = evento(&node, MUNI, &id2, programar(0)).await;
        assert_eq!(status, 200, "{r}");
        let (antes, _, _) = estado(&node, hogar);
        let (status, r) = evento(&node, MUNI, &id2, encuestar(vec![integrante(jefe, "jefe", false)])).await;
        assert_eq!(status, 200, "{r}");
        let folio2 = r["folio"].as_i64().unwrap();
        let (_, h) = consultar(&node, MUNI, jefe).await;
        let eventos = h["eventos"].as_array().unwrap();
        let [.., salida, encuesta] = eventos.as_slice() else {
            panic!("{h}")
        };
        assert_eq!(salida["evento"], "quitar_integrante");
        assert_eq!(runs(salida), [mudado.to_string()]);
        assert_eq!(
            salida["motivo"],
            format!("no figura en la encuesta aplicada, folio {folio2}")
        );
        assert_eq!((&salida["convenio"], &salida["marcaRevision"]), (&Value::from(MUNI), &Value::Bool(false)));
        assert_eq!(salida["secuencia"], antes + 1);
        assert_eq!(encuesta["evento"], "encuestar");
        assert_eq!(encuesta["secuencia"], antes + 2);
        assert_eq!(estado(&node, hogar).0, antes + 2);
        let (status, suyo) = consultar(&node, MUNI, mudado).await;
        assert_eq!(status, 200, "{suyo}");
        assert!(suyo.get("folio").is_none(), "{suyo}");
        assert_eq!(suyo["eventos"][0]["evento"], "quitar_integrante");
        assert_eq!(suyo["eventos"][0]["motivo"], salida["motivo"]);
        node.stop().await;
    }
);

per_backend!(
    async fn el_modelo_de_la_ficha_que_pierde_un_integrante_decide_si_la_marca(backend) {
        // A model whose `[revision]` lists no departure: its ficha is not marked.
        let dir = tempfile::tempdir().unwrap();
        let modelos = modelos_copia(dir.path());
        let text = std::fs::read_to_string(modelos.join("FPS-2026-1.toml")).unwrap();
        let lista_eventos = "eventos = [\"agregar_integrante\", \"quitar_integrante\", \"dividir\"]";
        assert!(text.contains(lista_eventos));
        std::fs::write(
            modelos.join("FPS-2026-9.toml"),
            text.replace("modelo = \"FPS-2026-1\"", "modelo = \"FPS-2026-9\"")
                .replace(lista_eventos, "eventos = [\"dividir\"]"),
        )
        .unwrap();
        let node = node(backend)
            .await
            .restart_with(move |c| c.encuesta.modelos = modelos)
            .await
            .expect("starts with a fourth model");
        let (id, jefe) = lista(&node, 0).await;
        let (origen, queda, mudado) = de_valparaiso(&node, "FPS-2026-9");
        let (version_origen, _, _) = estado(&node, origen);
        let (status, r) = evento(
            &node,
            MUNI,
            &id,
            encuestar(vec![
                integrante(jefe, "jefe", false),
                integrante(mudado, "conyuge", false),
            ]),
        )
        .await;
        assert_eq!(status, 200, "{r}");
        let (version, _, revision) = estado(&node, origen);
        assert_eq!(version, version_origen + 1, "the version rises all the same");
        assert_eq!(revision, Some(None), "FPS-2026-9 does not mark a departure");
        let (_, alla) = consultar(&node, "muni-05101", queda).await;
        assert_eq!(alla["enRevision"], false);
        assert_eq!(ultimo(&alla)["evento"], "quitar_integrante");
        assert_eq!(ultimo(&alla)["marcaRevision"], false);
        node.stop().await;
    }
);

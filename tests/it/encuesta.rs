//! The survey questionnaire and its scoring models (issue 22): a model file changed under a
//! name already used refuses start; a survey carries the household as surveyed and its score
//! is the model's.

mod composicion;
mod historia;
mod rechazos;
mod soap;

use chrono::NaiveDate;
use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::schema::{encuesta_integrantes, encuestas, fichas, integrantes, personas};
use siis::domain::Run;

use crate::encuestaje::{evento, nueva, programar, sin_ficha};
use crate::per_backend;
use crate::support::{Backend, Setup, TestNode, repo_path};

async fn node(backend: Backend) -> TestNode {
    TestNode::start_with(
        backend,
        Setup {
            persons: 3_000,
            ..Setup::default()
        },
    )
    .await
}

/// A node whose agreements have their limits out of the way (tests that send many surveys,
/// each counting its members), and the folder that holds them.
async fn node_sin_limites(backend: Backend) -> (TestNode, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let node = TestNode::start_with(
        backend,
        Setup {
            persons: 3_000,
            convenios: Some(crate::support::convenios_without_limits(dir.path())),
            ..Setup::default()
        },
    )
    .await;
    (node, dir)
}

fn hoy() -> NaiveDate {
    siis::broker::local_today()
}

/// A request by minvu for a person without ficha, routed to Santiago (13101), with a visit
/// scheduled by its municipality: ready for `encuestar`. Returns its id and the person.
pub(crate) async fn lista(node: &TestNode, n: usize) -> (String, Run) {
    let run = sin_ficha(node, n + 1)[n];
    let id = nueva(node, run).await;
    let (status, body) = evento(node, "muni-13101", &id, programar(0)).await;
    assert_eq!(status, 200, "{body}");
    (id, run)
}

/// One member's facts: a working adult unless `escolar`.
pub(crate) fn integrante(run: Run, parentesco: &str, escolar: bool) -> Value {
    json!({
        "run": run.to_string(),
        "parentesco": parentesco,
        "escolaridadAnios": if escolar { 4 } else { 12 },
        "asisteEducacion": escolar,
        "salud": "ninguna",
        "actividad": if escolar { "inactivo" } else { "ocupado" },
        "ingresoTrabajo": if escolar { 0 } else { 320_000 },
        "ingresoPensiones": 0,
        "ingresoOtros": 10_000,
    })
}

/// An `encuestar` event with the questionnaire of `integrantes`.
pub(crate) fn encuestar(integrantes: Vec<Value>) -> Value {
    json!({
        "evento": "encuestar",
        "fechaAplicacion": hoy(),
        "encuesta": {
            "direccion": "Pasaje Los Aromos 1234",
            "zona": "urbana",
            "vivienda": {
                "tenencia": "arrendada",
                "agua": "red_publica",
                "saneamiento": "alcantarillado",
                "piezas": 3,
            },
            "integrantes": integrantes,
        },
    })
}

/// The ficha in force of `run`'s household: (folio, puntaje, modelo, encuestador).
fn ficha_de(node: &TestNode, run: Run) -> Option<(i64, i32, Option<String>, Option<String>)> {
    let mut conn = node.db();
    let hogar: i64 = integrantes::table
        .find(run.numero() as i32)
        .select(integrantes::hogar_id)
        .first(&mut conn)
        .ok()?;
    fichas::table
        .filter(fichas::hogar_id.eq(hogar))
        .filter(fichas::estado.eq("vigente"))
        .select((
            fichas::folio,
            fichas::puntaje,
            fichas::modelo,
            fichas::encuestador,
        ))
        .first(&mut conn)
        .optional()
        .unwrap()
}

fn hogar_de(node: &TestNode, run: Run) -> i64 {
    integrantes::table
        .find(run.numero() as i32)
        .select(integrantes::hogar_id)
        .first(&mut node.db())
        .unwrap()
}

/// What the model computes for the members stored with `folio` (their frozen ages and facts).
fn puntaje_esperado(node: &TestNode, folio: i64, modelo: &str) -> u16 {
    use siis::modelos::{Actividad, Encuesta, IntegranteEncuesta, Modelos, Salud};
    type Fila = (i32, i32, bool, String, String, i64, i64, i64);
    let filas: Vec<Fila> = encuesta_integrantes::table
        .filter(encuesta_integrantes::folio.eq(folio))
        .order(encuesta_integrantes::orden)
        .select((
            encuesta_integrantes::edad,
            encuesta_integrantes::escolaridad_anios,
            encuesta_integrantes::asiste_educacion,
            encuesta_integrantes::salud,
            encuesta_integrantes::actividad,
            encuesta_integrantes::ingreso_trabajo,
            encuesta_integrantes::ingreso_pensiones,
            encuesta_integrantes::ingreso_otros,
        ))
        .load(&mut node.db())
        .unwrap();
    assert!(
        !filas.is_empty(),
        "the members are stored with folio {folio}"
    );
    let encuesta = Encuesta {
        integrantes: filas
            .into_iter()
            .map(
                |(edad, esc, asiste, salud, actividad, t, p, o)| IntegranteEncuesta {
                    edad: edad as u32,
                    escolaridad_anios: esc as u32,
                    asiste_educacion: asiste,
                    salud: Salud::parse(&salud).unwrap(),
                    actividad: Actividad::parse(&actividad).unwrap(),
                    ingreso_trabajo: t,
                    ingreso_pensiones: p,
                    ingreso_otros: o,
                },
            )
            .collect(),
    };
    let modelos = Modelos::load(&repo_path("conf/modelos"), "FPS-2026-1").unwrap();
    siis::modelos::puntuar(modelos.get(modelo).unwrap(), &encuesta).value()
}

/// What a refused survey must leave alone: the counts of fichas and questionnaire rows, and
/// every household membership.
fn estado_registro(node: &TestNode) -> (i64, i64, i64, Vec<(i32, i64, String)>) {
    let mut conn = node.db();
    (
        fichas::table.count().get_result(&mut conn).unwrap(),
        encuestas::table.count().get_result(&mut conn).unwrap(),
        encuesta_integrantes::table
            .count()
            .get_result(&mut conn)
            .unwrap(),
        integrantes::table
            .order(integrantes::run)
            .select((
                integrantes::run,
                integrantes::hogar_id,
                integrantes::parentesco,
            ))
            .load(&mut conn)
            .unwrap(),
    )
}

/// A living person of a household with a ficha in force in another comuna than Santiago,
/// that has other members: (the person, their household, its folio).
fn de_otra_comuna(node: &TestNode) -> (Run, i64, i64) {
    use siis::db::schema::hogares;
    let mut conn = node.db();
    let filas: Vec<(i32, i64, i64)> = integrantes::table
        .inner_join(hogares::table)
        .inner_join(personas::table)
        .inner_join(fichas::table.on(fichas::hogar_id.eq(integrantes::hogar_id)))
        .filter(personas::fecha_defuncion.is_null())
        .filter(hogares::cut.ne("13101"))
        .filter(fichas::estado.eq("vigente"))
        .select((personas::run, integrantes::hogar_id, fichas::folio))
        .order(personas::run)
        .load(&mut conn)
        .unwrap();
    for (run, hogar, folio) in filas {
        let miembros: i64 = integrantes::table
            .filter(integrantes::hogar_id.eq(hogar))
            .count()
            .get_result(&mut conn)
            .unwrap();
        if miembros >= 2 {
            return (Run::from_numero(run as u32).unwrap(), hogar, folio);
        }
    }
    panic!("a household with a ficha and several members outside Santiago");
}

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

//! Survey requests (SolicitarEncuestaje, TrabajarEncuestaje) over REST: an agency asks, the
//! municipality of the comuna works the request through its states, the survey becomes the
//! household's ficha; every refusal has its code and changes nothing; every request is audited
//! with the RUN it concerned.

mod concurrencia;
mod flujo;
mod rechazos;
mod traslado;

use chrono::{Days, NaiveDate};
use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::schema::{encuestaje_eventos, encuestajes, fichas, integrantes};
use siis::domain::Run;

use crate::registry;
use crate::soap::{audit_after, last_audit_id};
use crate::support::{Backend, Setup, TestNode};

const PERSONS: u64 = 3_000;

async fn node(backend: Backend) -> TestNode {
    TestNode::start_with(
        backend,
        Setup {
            persons: PERSONS,
            ..Setup::default()
        },
    )
    .await
}

/// `n` living persons whose household has no ficha, in RUN order.
pub(crate) fn sin_ficha(node: &TestNode, n: usize) -> Vec<Run> {
    use siis::db::schema::personas;
    let mut conn = node.db();
    let with: Vec<i64> = fichas::table
        .filter(fichas::estado.eq("vigente"))
        .select(fichas::hogar_id)
        .load(&mut conn)
        .unwrap();
    let runs: Vec<i32> = integrantes::table
        .inner_join(personas::table)
        .filter(personas::fecha_defuncion.is_null())
        .filter(integrantes::hogar_id.ne_all(with))
        .select(personas::run)
        .order(personas::run)
        .limit(n as i64)
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        runs.len(),
        n,
        "the seeded registry has {n} persons without ficha"
    );
    runs.into_iter()
        .map(|r| Run::from_numero(r as u32).unwrap())
        .collect()
}

/// Status, stable code (errors) and body of a response.
async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

pub(crate) async fn solicitar(node: &TestNode, convenio: &str, body: Value) -> (u16, Value) {
    read(
        node.client(Some(convenio))
            .post(node.agency_url("/api/v1/encuestajes"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn seguir(node: &TestNode, convenio: &str, id: &str) -> (u16, Value) {
    read(
        node.client(Some(convenio))
            .get(node.agency_url(&format!("/api/v1/encuestajes/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub(crate) async fn evento(node: &TestNode, convenio: &str, id: &str, body: Value) -> (u16, Value) {
    read(
        node.client(Some(convenio))
            .post(node.agency_url(&format!("/api/v1/encuestajes/{id}/eventos")))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn cola(node: &TestNode, convenio: &str, cut: &str, query: &str) -> (u16, Value) {
    read(
        node.client(Some(convenio))
            .get(node.agency_url(&format!("/api/v1/municipios/{cut}/encuestajes{query}")))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Today in Chile, as the node dates requests.
fn hoy() -> NaiveDate {
    siis::broker::local_today()
}

pub(crate) fn programar(dias: u64) -> Value {
    json!({ "evento": "programar_visita", "fechaVisita": hoy() + Days::new(dias) })
}

fn encuestar(puntaje: i64) -> Value {
    json!({ "evento": "encuestar", "puntaje": puntaje, "fechaAplicacion": hoy() })
}

/// A new request by minvu for `run`, routed to Santiago (13101); returns its id.
pub(crate) async fn nueva(node: &TestNode, run: Run) -> String {
    let (status, body) = solicitar(
        node,
        "minvu",
        json!({ "run": run.to_string(), "comuna": "13101" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// The stored state of a request (estado, version) and how many events it has.
pub(crate) fn stored(node: &TestNode, id: &str) -> (String, i32, i64) {
    let mut conn = node.db();
    let (estado, version): (String, i32) = encuestajes::table
        .find(id)
        .select((encuestajes::estado, encuestajes::version))
        .first(&mut conn)
        .unwrap();
    let events: i64 = encuestaje_eventos::table
        .filter(encuestaje_eventos::encuestaje_id.eq(id))
        .count()
        .get_result(&mut conn)
        .unwrap();
    (estado, version, events)
}

pub(crate) fn requests(node: &TestNode) -> i64 {
    encuestajes::table
        .count()
        .get_result(&mut node.db())
        .unwrap()
}

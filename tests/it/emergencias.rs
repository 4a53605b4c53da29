//! The emergency registry over REST and SOAP: the operator declares, Chaitén and Puerto Montt
//! register affected households (by origin or destination) and their aid, the report reserves
//! small counts, the close stops every write and keeps reads, scope answers like an unknown
//! record, and the audit names every head of household.

mod flujo;
mod transportes;

use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::schema::{auditoria, emergencia_ayudas, emergencia_hogares};
use siis::domain::Run;
use tempfile::TempDir;

use crate::support::{Backend, Setup, TestNode, convenios_without_limits};

pub(crate) const CHAITEN: &str = "muni-10401";
pub(crate) const PUERTO_MONTT: &str = "muni-10101";

/// A node whose agreements keep their grants and scopes, their limits out of the way (a test
/// registers dozens of households in a row).
pub(crate) async fn node(backend: Backend) -> (TestNode, TempDir) {
    let dir = TempDir::new().unwrap();
    let node = TestNode::start_with(
        backend,
        Setup {
            convenios: Some(convenios_without_limits(dir.path())),
            ..Setup::default()
        },
    )
    .await;
    (node, dir)
}

/// Status and body of a response.
pub(crate) async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

pub(crate) async fn post(node: &TestNode, convenio: &str, path: &str, body: Value) -> (u16, Value) {
    read(
        node.client(Some(convenio))
            .post(node.agency_url(&format!("/api/v1{path}")))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub(crate) async fn get(node: &TestNode, convenio: &str, path: &str) -> (u16, Value) {
    read(
        node.client(Some(convenio))
            .get(node.agency_url(&format!("/api/v1{path}")))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The Chaitén eruption, declared by the operator: its id.
pub(crate) async fn declarar(node: &TestNode) -> String {
    let (status, body) = post(
        node,
        "operador",
        "/emergencias",
        json!({
            "nombre": "Erupción volcán Chaitén",
            "tipo": "erupcion",
            "comunas": ["10401", "10402", "10404"],
            "fechaInicio": "2026-11-02",
        }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// The `i`-th head of household of the tests (valid RUNs, whether or not the registry holds
/// them).
pub(crate) fn jefe(i: u32) -> Run {
    Run::from_numero(9_000_000 + i).unwrap()
}

pub(crate) fn hogar(run: Run, origen: &str, destino: &str) -> Value {
    json!({
        "run": run.to_string(),
        "integrantes": 4,
        "comunaOrigen": origen,
        "comunaDestino": destino,
        "alojamiento": "albergue",
        "dano": "inhabitable",
        "necesidades": ["abrigo", "agua"],
    })
}

/// Registers a household: the record's id.
pub(crate) async fn registrar(
    node: &TestNode,
    convenio: &str,
    emergencia: &str,
    run: Run,
    origen: &str,
    destino: &str,
) -> String {
    let (status, body) = post(
        node,
        convenio,
        &format!("/emergencias/{emergencia}/hogares"),
        hogar(run, origen, destino),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

pub(crate) fn filas(node: &TestNode) -> (i64, i64) {
    let mut conn = node.db();
    (
        emergencia_hogares::table
            .count()
            .get_result(&mut conn)
            .unwrap(),
        emergencia_ayudas::table
            .count()
            .get_result(&mut conn)
            .unwrap(),
    )
}

/// The audit records of `operacion`: (convenio, sujetos, resultado, campos).
pub(crate) fn auditados(node: &TestNode, operacion: &str) -> Vec<(String, String, String, String)> {
    auditoria::table
        .filter(auditoria::operacion.eq(operacion.to_owned()))
        .order(auditoria::id.asc())
        .select((
            auditoria::convenio,
            auditoria::sujetos,
            auditoria::resultado,
            auditoria::campos,
        ))
        .load::<(Option<String>, String, String, String)>(&mut node.db())
        .unwrap()
        .into_iter()
        .map(|(c, s, r, f)| (c.unwrap_or_default(), s, r, f))
        .collect()
}

//! Chile Solidario (TrabajarParticipacionCHS, ConsultarParticipacionCHS): the municipality of a
//! household's comuna takes it in and works its participation (sessions, conditions, bonos,
//! egreso) over REST and SOAP; another comuna's municipality is answered as for an unknown
//! record; agencies see only the programs and fields their grant lists.

mod ambito;
mod flujo;
mod soap;

use serde_json::{Value, json};
use siis::db::DbConnection;
use siis::domain::Run;

use crate::postulaciones::{hogar, persona};
use crate::support::TestNode;

/// A Santiago household (titular and a child), a Valparaíso one and an older adult living alone
/// in Santiago (Vínculos).
pub(crate) struct Familias {
    pub titular: Run,
    pub hijo: Run,
    pub porteno: Run,
    pub adulta_mayor: Run,
}

pub(crate) fn familias(conn: &mut DbConnection) -> Familias {
    let titular = persona(conn, 23_000_001, 35);
    let hijo = persona(conn, 23_000_002, 8);
    let porteno = persona(conn, 23_000_003, 40);
    let adulta_mayor = persona(conn, 23_000_004, 72);
    hogar(conn, 1, "13101", Some(4_000), &[titular, hijo]);
    hogar(conn, 2, "05101", Some(4_000), &[porteno]);
    hogar(conn, 3, "13101", Some(3_000), &[adulta_mayor]);
    Familias {
        titular,
        hijo,
        porteno,
        adulta_mayor,
    }
}

pub(crate) fn desconocido() -> Run {
    Run::from_numero(23_999_999).unwrap()
}

async fn json_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

pub(crate) async fn ingresar(node: &TestNode, convenio: &str, body: Value) -> (u16, Value) {
    json_of(
        node.client(Some(convenio))
            .post(node.agency_url("/api/v1/chile-solidario/participaciones"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub(crate) fn ingreso(run: Run, programa: &str) -> Value {
    json!({ "run": run.to_string(), "programa": programa, "apoyoFamiliar": "AF-0012" })
}

pub(crate) async fn leer(node: &TestNode, convenio: &str, id: &str) -> (u16, Value) {
    json_of(
        node.client(Some(convenio))
            .get(node.agency_url(&format!("/api/v1/chile-solidario/participaciones/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub(crate) async fn evento(node: &TestNode, convenio: &str, id: &str, body: Value) -> (u16, Value) {
    json_of(
        node.client(Some(convenio))
            .post(node.agency_url(&format!(
                "/api/v1/chile-solidario/participaciones/{id}/eventos"
            )))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub(crate) async fn listar(
    node: &TestNode,
    convenio: &str,
    cut: &str,
    query: &str,
) -> (u16, Value) {
    json_of(
        node.client(Some(convenio))
            .get(node.agency_url(&format!("/api/v1/municipios/{cut}/chile-solidario{query}")))
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub(crate) async fn consultar(node: &TestNode, convenio: &str, run: &str) -> (u16, Value) {
    json_of(
        node.client(Some(convenio))
            .get(node.agency_url(&format!("/api/v1/personas/{run}/chile-solidario")))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A refusal without what varies per request (none of its members does today: kept explicit).
pub(crate) fn refusal(body: &Value) -> Value {
    let mut body = body.clone();
    if let Some(map) = body.as_object_mut() {
        map.remove("instance");
    }
    body
}

/// The entries of list `key` with `field` = `value`.
pub(crate) fn con<'a>(p: &'a Value, key: &str, field: &str, value: &str) -> Vec<&'a Value> {
    p[key]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c[field] == value)
        .collect()
}

//! Household upkeep (ActualizarHogar) over REST and SOAP: each event with its reason and author
//! in the history, the review mark, scope, concurrent events, refusals that change nothing, and
//! the audit naming every person.

mod eventos;
mod rechazos;
mod transportes;

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::schema::{fichas, hogar_eventos, hogares, integrantes, personas};
use siis::domain::Run;

use crate::support::{Backend, Setup, TestNode};

const MUNI: &str = "muni-13101";
const COMUNA: &str = "13101";
const OTRA: &str = "05101";

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

/// A household of `cut` with a ficha in force and at least `n` members, all living (the
/// `skip`-th such, in id order): its id and members (RUN, parentesco), the jefe first.
pub(crate) fn hogar_con(
    node: &TestNode,
    cut: &str,
    n: usize,
    skip: usize,
) -> (i64, Vec<(Run, String)>) {
    let mut conn = node.db();
    let vigentes: BTreeSet<i64> = fichas::table
        .filter(fichas::estado.eq("vigente"))
        .select(fichas::hogar_id)
        .load(&mut conn)
        .unwrap()
        .into_iter()
        .collect();
    let rows: Vec<(i64, i32, String, Option<chrono::NaiveDate>)> = integrantes::table
        .inner_join(hogares::table)
        .inner_join(personas::table)
        .filter(hogares::cut.eq(cut.to_owned()))
        .select((
            integrantes::hogar_id,
            integrantes::run,
            integrantes::parentesco,
            personas::fecha_defuncion,
        ))
        .load(&mut conn)
        .unwrap();
    let mut by_hogar: BTreeMap<i64, Vec<(i32, String, bool)>> = BTreeMap::new();
    for (h, run, p, defuncion) in rows {
        by_hogar
            .entry(h)
            .or_default()
            .push((run, p, defuncion.is_none()));
    }
    let (id, mut members) = by_hogar
        .into_iter()
        .filter(|(h, m)| {
            vigentes.contains(h)
                && m.len() >= n
                && m.iter().all(|(_, _, vivo)| *vivo)
                && m.iter().filter(|(_, p, _)| p == "jefe").count() == 1
        })
        .nth(skip)
        .expect("a household with ficha and enough living members");
    members.sort_by_key(|(run, p, _)| (p != "jefe", *run));
    let members = members
        .into_iter()
        .map(|(run, p, _)| (Run::from_numero(run as u32).unwrap(), p))
        .collect();
    (id, members)
}

/// Status and body of a response.
async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// RegistrarEventoHogar over REST, addressed by member `run`.
pub(crate) async fn evento(node: &TestNode, convenio: &str, run: Run, body: Value) -> (u16, Value) {
    read(
        node.client(Some(convenio))
            .post(node.agency_url(&format!("/api/v1/personas/{run}/hogar/eventos")))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// ConsultarHogar over REST.
pub(crate) async fn consultar(node: &TestNode, convenio: &str, run: Run) -> (u16, Value) {
    read(
        node.client(Some(convenio))
            .get(node.agency_url(&format!("/api/v1/personas/{run}/hogar")))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The members of an answer: (RUN, parentesco).
pub(crate) fn integrantes_de(hogar: &Value) -> Vec<(String, String)> {
    hogar["integrantes"]
        .as_array()
        .unwrap_or_else(|| panic!("{hogar}"))
        .iter()
        .map(|i| {
            (
                i["run"].as_str().unwrap().to_owned(),
                i["parentesco"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// The last event of an answer's history.
pub(crate) fn ultimo(hogar: &Value) -> &Value {
    hogar["eventos"]
        .as_array()
        .and_then(|e| e.last())
        .unwrap_or_else(|| panic!("no history: {hogar}"))
}

/// The household `run` is a member of.
fn hogar_de(node: &TestNode, run: Run) -> i64 {
    integrantes::table
        .filter(integrantes::run.eq(run.numero() as i32))
        .select(integrantes::hogar_id)
        .first(&mut node.db())
        .unwrap()
}

/// The household's version, its members and the review mark of its ficha in force.
pub(crate) fn estado(node: &TestNode, hogar: i64) -> (i32, Vec<i32>, Option<Option<String>>) {
    let mut conn = node.db();
    let version: i32 = hogares::table
        .find(hogar)
        .select(hogares::version)
        .first(&mut conn)
        .unwrap();
    let members: Vec<i32> = integrantes::table
        .filter(integrantes::hogar_id.eq(hogar))
        .select(integrantes::run)
        .order(integrantes::run)
        .load(&mut conn)
        .unwrap();
    let revision: Option<Option<String>> = fichas::table
        .filter(fichas::hogar_id.eq(hogar))
        .filter(fichas::estado.eq("vigente"))
        .select(fichas::revision)
        .first(&mut conn)
        .optional()
        .unwrap();
    (version, members, revision)
}

fn eventos_guardados(node: &TestNode) -> i64 {
    hogar_eventos::table
        .count()
        .get_result(&mut node.db())
        .unwrap()
}

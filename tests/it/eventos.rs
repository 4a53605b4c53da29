//! The outbox (docs/eventos.md): each change a feed, a survey or a decree applies is an event
//! of `eventos` in the same transaction, about the right person, in the right comuna, with its
//! data and origin; rejected lines, a repeated batch and a change whose audit record failed
//! write none; and a second writer of events waits for the first's commit, so ids are in commit
//! order.

mod encuesta;
mod lotes;
mod transaccion;

use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::DbConnection;
use siis::db::schema::{beneficios, eventos, fichas, hogares, integrantes};
use siis::domain::Run;

use crate::registry;
use crate::support::{Setup, TestNode};

/// One stored event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Evento {
    pub id: i64,
    pub tipo: String,
    pub run: i32,
    pub run_relacionado: Option<i32>,
    pub hogar_id: Option<i64>,
    pub cut: Option<String>,
    pub datos: Value,
    pub origen: String,
    pub origen_id: String,
}

type Fila = (
    i64,
    String,
    i32,
    Option<i32>,
    Option<i64>,
    Option<String>,
    String,
    String,
    String,
);

/// The events after id `after`, in id order.
pub(crate) fn eventos_desde(conn: &mut DbConnection, after: i64) -> Vec<Evento> {
    let filas: Vec<Fila> = eventos::table
        .filter(eventos::id.gt(after))
        .order(eventos::id)
        .select((
            eventos::id,
            eventos::tipo,
            eventos::run,
            eventos::run_relacionado,
            eventos::hogar_id,
            eventos::cut,
            eventos::datos,
            eventos::origen,
            eventos::origen_id,
        ))
        .load(conn)
        .unwrap();
    filas
        .into_iter()
        .map(
            |(id, tipo, run, run_relacionado, hogar_id, cut, datos, origen, origen_id)| Evento {
                id,
                tipo,
                run,
                run_relacionado,
                hogar_id,
                cut,
                datos: serde_json::from_str(&datos).expect("datos is JSON"),
                origen,
                origen_id,
            },
        )
        .collect()
}

pub(crate) fn ultimo(conn: &mut DbConnection) -> i64 {
    eventos::table
        .select(diesel::dsl::max(eventos::id))
        .first::<Option<i64>>(conn)
        .unwrap()
        .unwrap_or(0)
}

/// A person's household and its comuna.
pub(crate) fn hogar(conn: &mut DbConnection, run: Run) -> (i64, String) {
    integrantes::table
        .inner_join(hogares::table)
        .filter(integrantes::run.eq(run.numero() as i32))
        .select((hogares::id, hogares::cut))
        .first(conn)
        .unwrap()
}

fn numero(run: Run) -> i32 {
    run.numero() as i32
}

async fn post(node: &TestNode, convenio: &str, tipo: &str, csv: String) -> Value {
    let response = node
        .client(Some(convenio))
        .post(node.agency_url(&format!("/api/v1/lotes/{tipo}")))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn start(backend: crate::support::Backend) -> TestNode {
    TestNode::start_with(
        backend,
        Setup {
            persons: 400,
            ..Setup::default()
        },
    )
    .await
}

/// Households of comuna `cut`: (id, members in RUN order, folio in force).
fn hogares_de(conn: &mut DbConnection, cut: &str) -> Vec<(i64, Vec<i32>, Option<i64>)> {
    let filas: Vec<(i64, i32, Option<i64>)> = integrantes::table
        .inner_join(hogares::table)
        .left_join(
            fichas::table.on(fichas::hogar_id
                .eq(integrantes::hogar_id)
                .and(fichas::estado.eq("vigente"))),
        )
        .filter(hogares::cut.eq(cut))
        .select((
            integrantes::hogar_id,
            integrantes::run,
            fichas::folio.nullable(),
        ))
        .order((integrantes::hogar_id, integrantes::run))
        .load(conn)
        .unwrap();
    let mut out: Vec<(i64, Vec<i32>, Option<i64>)> = Vec::new();
    for (h, run, folio) in filas {
        match out.last_mut() {
            Some((id, runs, _)) if *id == h => runs.push(run),
            _ => out.push((h, vec![run], folio)),
        }
    }
    out
}

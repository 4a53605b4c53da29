//! The outbox as these tests fill it: events inserted with SQL, as the feeds, surveys and
//! decrees will write them (docs/eventos.md). The one place to switch to real feeds.

use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::Value;
use siis::db::schema::{despacho, eventos};
use siis::domain::Run;

use crate::support::TestNode;

/// An event to record.
pub struct Evento<'a> {
    pub tipo: &'a str,
    pub run: Run,
    pub run_relacionado: Option<Run>,
    pub cut: Option<&'a str>,
    pub datos: Value,
}

impl<'a> Evento<'a> {
    pub fn new(tipo: &'a str, run: Run, cut: &'a str, datos: Value) -> Evento<'a> {
        Evento {
            tipo,
            run,
            run_relacionado: None,
            cut: Some(cut),
            datos,
        }
    }
}

/// Records the events, in order, and has the node fan them out; returns their ids once the
/// fan-out is past them.
pub async fn registrar(node: &TestNode, lista: &[Evento<'_>]) -> Vec<i64> {
    let mut conn = node.db();
    let mut ids = Vec::new();
    for e in lista {
        diesel::insert_into(eventos::table)
            .values((
                eventos::tipo.eq(e.tipo),
                eventos::run.eq(e.run.numero() as i32),
                eventos::run_relacionado.eq(e.run_relacionado.map(|r| r.numero() as i32)),
                eventos::cut.eq(e.cut),
                eventos::datos.eq(e.datos.to_string()),
                eventos::origen.eq("lote"),
                eventos::origen_id.eq("1"),
                eventos::registrado_us.eq(chrono::Utc::now().timestamp_micros()),
            ))
            .execute(&mut conn)
            .expect("event recorded");
        let id: i64 = eventos::table
            .select(diesel::dsl::max(eventos::id))
            .first::<Option<i64>>(&mut conn)
            .expect("event id")
            .expect("an event");
        ids.push(id);
    }
    node.node.broker.eventos_nuevos.notify_one();
    if let Some(ultimo) = ids.last() {
        esperar_despacho(node, *ultimo).await;
    }
    ids
}

/// Waits until the fan-out has gone past event `id`.
pub async fn esperar_despacho(node: &TestNode, id: i64) {
    let limite = Instant::now() + Duration::from_secs(20);
    loop {
        let hasta: i64 = despacho::table
            .select(despacho::hasta)
            .first(&mut node.db())
            .expect("cursor");
        if hasta >= id {
            return;
        }
        assert!(
            Instant::now() < limite,
            "the fan-out never reached event {id}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

//! Lookups read a streaming replica while it is close enough to the primary, and the primary
//! otherwise (`database.replicas`).

use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::Value;
use siis::db::DatabaseUrl;
use siis::domain::Run;

use super::pg::PgCluster;
use crate::registry;
use crate::support::{Backend, Setup, TestNode};

/// The ficha's score as a lookup of `run` answers it now.
async fn puntaje(node: &TestNode, run: Run) -> i64 {
    let r = node
        .client(Some("muni-13101"))
        .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let ficha: Value = r.json().await.unwrap();
    ficha["puntaje"].as_i64().expect("puntaje")
}

/// Whether `/metrics` says the replica serves lookups, and how far behind it was.
async fn replica_state(node: &TestNode) -> (bool, Option<f64>) {
    let text = crate::metricas::scrape(node).await;
    let value = |family: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{family}{{replica=\"127.0.0.1:")))
            .and_then(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
    };
    (
        value("siis_replica_usable") == Some(1.0),
        value("siis_replica_lag_seconds"),
    )
}

async fn wait_usable(node: &TestNode, usable: bool, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        if replica_state(node).await.0 == usable {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "the replica was not {} within {within:?}: {:?}",
            if usable { "in reads" } else { "out of reads" },
            replica_state(node).await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn lookups_read_a_replica_only_while_it_is_close_enough() {
    if !crate::support::postgres_configured() {
        return;
    }
    let Some(mut cluster) = PgCluster::start() else {
        return;
    };
    cluster.on_primary("CREATE DATABASE siis");
    let replica = cluster.add_replica();
    let replica_url = cluster.replica_url(replica, "siis");
    let max_lag = Duration::from_secs(5);
    let node = TestNode::start_with(
        Backend::Postgres,
        Setup {
            persons: 300,
            database: Some(DatabaseUrl::parse(&cluster.primary_url("siis")).unwrap()),
            configure: Some(Box::new(move |config| {
                config.database.replicas = vec![DatabaseUrl::parse(&replica_url).unwrap()];
                config.database.replica_max_lag_ms = max_lag.as_millis() as u64;
                config.database.replica_check_ms = 100;
            })),
            ..Setup::default()
        },
    )
    .await;
    let run = registry::with_ficha(&mut node.db(), Some("13101"));
    wait_usable(&node, true, Duration::from_secs(20)).await;
    let before = puntaje(&node, run).await;

    // The replica stops replaying; the primary's ficha changes. Lookups still read the
    // replica, so they answer what it holds: the registry as it was, within the bound.
    cluster.on_replica(replica, "SELECT pg_wal_replay_pause()");
    let paused = Instant::now();
    let changed = diesel::sql_query(
        "UPDATE fichas SET puntaje = puntaje + 1 \
         WHERE hogar_id = (SELECT hogar_id FROM integrantes WHERE run = $1)",
    )
    .bind::<diesel::sql_types::Integer, _>(run.numero() as i32)
    .execute(&mut node.db())
    .unwrap();
    assert_eq!(changed, 1);
    let seen = puntaje(&node, run).await;
    assert!(
        paused.elapsed() < max_lag,
        "the machine was too slow to see the replica's reading"
    );
    assert_eq!(seen, before, "a lookup within the bound reads the replica");

    // Past the bound the replica is out of reads, and lookups read the primary.
    let out_after = paused.elapsed() + wait_usable(&node, false, Duration::from_secs(20)).await;
    // Its age counts from the last measure of the primary it had replayed, taken a little
    // before the pause (one period, plus whatever replay lag it had then).
    assert!(
        out_after >= max_lag / 2,
        "taken out after {out_after:?}, before the bound"
    );
    assert!(
        out_after < max_lag + Duration::from_secs(3),
        "taken out only after {out_after:?}"
    );
    assert_eq!(puntaje(&node, run).await, before + 1, "the primary's score");

    // Replaying again, it catches up and serves lookups again, with the new score.
    cluster.on_replica(replica, "SELECT pg_wal_replay_resume()");
    wait_usable(&node, true, Duration::from_secs(20)).await;
    let (_, lag) = replica_state(&node).await;
    assert!(lag.is_some_and(|l| l < 1.0), "lag {lag:?}");
    assert_eq!(puntaje(&node, run).await, before + 1);

    // A replica that stops answering is out of reads; lookups go on from the primary.
    cluster.stop_replica(replica);
    for _ in 0..5 {
        assert_eq!(puntaje(&node, run).await, before + 1);
    }
    wait_usable(&node, false, Duration::from_secs(10)).await;
    node.stop().await;
}

//! A database that cannot be reached: the node answers 503 `NO_DISPONIBLE` with `Retry-After`
//! at once (not after `database.pool_timeout_secs` per request), its balancer check stays 200,
//! and it serves again on its own when the database comes back (src/outage.rs).

use std::time::{Duration, Instant};

use diesel::{Connection, RunQueryDsl};
use siis::db::DatabaseUrl;
use siis::domain::Run;

use crate::soap::client::{FICHA, V, call, run_xml};
use crate::support::{Setup, TestNode, postgres_only};

/// The test database's name, and a connection to the server's `postgres` database.
fn server(node: &TestNode) -> (String, diesel::PgConnection) {
    let DatabaseUrl::Postgres(url) = &node.config.database.url else {
        panic!("PostgreSQL only");
    };
    let url = url::Url::parse(url).unwrap();
    let name = url.path().trim_start_matches('/').to_owned();
    let admin = std::env::var("SIIS_TEST_POSTGRES_URL").unwrap();
    (name, diesel::PgConnection::establish(&admin).unwrap())
}

/// New connections to the database refused, and every open one (the pool's, the audit
/// writer's, the probe's) ended: what a node sees while its primary restarts.
fn cut_off(node: &TestNode) {
    let (name, mut conn) = server(node);
    diesel::sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .execute(&mut conn)
    .unwrap();
}

fn restore(node: &TestNode) {
    let (name, mut conn) = server(node);
    diesel::sql_query(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut conn)
        .unwrap();
}

async fn status(client: &reqwest::Client, url: String) -> reqwest::Response {
    client.get(url).send().await.unwrap()
}

#[tokio::test]
async fn a_database_out_of_reach_is_answered_503_at_once_and_the_node_recovers() {
    let Some(backend) = postgres_only() else {
        return;
    };
    // Each request would wait five seconds for a connection without the "down" flag.
    let node = TestNode::start_with(
        backend,
        Setup {
            pool_timeout_secs: Some(5),
            ..Setup::default()
        },
    )
    .await;
    let minvu = node.client(Some("minvu"));
    let admin = node.client(None);
    let ficha = || node.agency_url("/api/v1/personas/12.345.678-5/ficha");
    assert_eq!(
        status(&minvu, node.agency_url("/api/v1/ping"))
            .await
            .status(),
        200
    );
    // An empty registry: the lookup reaches the database and finds nobody.
    assert_eq!(status(&minvu, ficha()).await.status(), 404);

    cut_off(&node);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !node.node.broker.outage.is_down() {
        assert!(
            Instant::now() < deadline,
            "the probe did not notice within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // REST: five lookups and a ping, each 503 with Retry-After, all in far less than one
    // pool timeout.
    let started = Instant::now();
    for url in [ficha(), ficha(), ficha(), ficha(), ficha()]
        .into_iter()
        .chain([node.agency_url("/api/v1/ping")])
    {
        let answer = status(&minvu, url).await;
        assert_eq!(answer.status(), 503);
        assert_eq!(answer.headers()["retry-after"], "1");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["code"], "NO_DISPONIBLE", "{body}");
    }
    // SOAP: a Fault with estadoSobre 07, and the same header.
    let run = Run::parse("12.345.678-5").unwrap();
    let answer = call(
        &minvu,
        &node,
        V::V11,
        &FICHA,
        "ConsultarFichaFPS",
        None,
        &run_xml("f", run),
    )
    .await;
    assert_eq!(answer.status, 500, "{}", answer.shown());
    assert_eq!(answer.retry_after.as_deref(), Some("1"));
    let fault = answer.fault(V::V11);
    assert_eq!(
        (fault.estado.as_str(), fault.codigo.as_str()),
        ("07", "NO_DISPONIBLE")
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?} for seven answers");

    // Readiness fails; the balancer's check does not (the node itself is fine).
    assert_eq!(
        status(&admin, node.admin_url("/readyz")).await.status(),
        503
    );
    assert_eq!(
        status(&admin, node.admin_url("/admin/balanceador"))
            .await
            .status(),
        200
    );
    let metrics = crate::metricas::scrape(&node).await;
    assert_eq!(
        crate::metricas::sample(&metrics, "siis_database_down", &[]),
        1.0,
        "{metrics}"
    );

    // Back: the same node serves again without a restart.
    restore(&node);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ping = status(&minvu, node.agency_url("/api/v1/ping"))
            .await
            .status()
            .as_u16();
        let lookup = status(&minvu, ficha()).await.status().as_u16();
        if (ping, lookup) == (200, 404) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {ping}/{lookup} 15 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!node.node.broker.outage.is_down());
    assert_eq!(
        status(&admin, node.admin_url("/readyz")).await.status(),
        200
    );
    let metrics = crate::metricas::scrape(&node).await;
    assert_eq!(
        crate::metricas::sample(&metrics, "siis_database_down", &[]),
        0.0,
        "{metrics}"
    );
    node.stop().await;
}

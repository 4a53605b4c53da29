//! Agreement reloads reach every node of a cluster (src/recargas.rs): the node where a reload
//! is asked announces it through PostgreSQL, the others reload their own folder at once, and
//! the admin answer names each node's result and any whose files differ.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use serde_json::Value;
use siis::startup::Node;

use crate::support::{Setup, TestNode, convenios_with, postgres_only, tls_client};

/// Whether both nodes' listeners are connected (what the admin answer waits for).
fn listening(node: &TestNode, nodos: &[&str]) -> bool {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let names: Vec<String> = nodos
        .iter()
        .map(|n| format!("'siis-recargas:{n}'"))
        .collect();
    let found: N = diesel::sql_query(format!(
        "SELECT count(DISTINCT application_name) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name IN ({})",
        names.join(",")
    ))
    .get_result(&mut node.db())
    .unwrap();
    found.n == nodos.len() as i64
}

async fn reload(node: &TestNode) -> Value {
    let answer = node
        .client(None)
        .post(node.admin_url("/admin/convenios/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json().await.unwrap()
}

fn set_valid_until(dir: &std::path::Path, until: &str) {
    let path = dir.join("minvu.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().find(|l| l.starts_with("valid_until")).unwrap();
    std::fs::write(&path, text.replace(line, &format!("valid_until = {until}"))).unwrap();
}

fn nodo<'a>(cluster: &'a Value, name: &str) -> &'a Value {
    cluster["nodos"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["nodo"] == name)
        .unwrap_or_else(|| panic!("no {name} in {cluster}"))
}

#[tokio::test]
async fn a_reload_on_one_node_reaches_the_other_and_a_different_set_is_named() {
    let Some(backend) = postgres_only() else {
        return;
    };
    let folders = tempfile::TempDir::new().unwrap();
    // The same files deployed to both machines, each with its own folder.
    let dir_a = convenios_with::<&str>(&folders.path().join("a"), &[]);
    let dir_b = convenios_with::<&str>(&folders.path().join("b"), &[]);
    let a = TestNode::start_with(
        backend,
        Setup {
            convenios: Some(dir_a.clone()),
            configure: Some(Box::new(|config| config.cluster.nodo = Some("a".into()))),
            ..Setup::default()
        },
    )
    .await;
    let mut config_b = (*a.config).clone();
    config_b.cluster.nodo = Some("b".into());
    config_b.convenios.dir = dir_b.clone();
    config_b.audit.checkpoints = Some(folders.path().join("checkpoints-b.jsonl"));
    let b = Node::start(Arc::new(config_b)).expect("node b starts");
    let minvu_b = tls_client(
        &a.pki.join("ca.pem"),
        Some((
            &a.pki.join("clients/minvu.pem"),
            &a.pki.join("clients/minvu-key.pem"),
        )),
        &[b.agency],
    );
    let ping_b = format!("https://localhost:{}/api/v1/ping", b.agency.port());
    let ping = || async { minvu_b.get(&ping_b).send().await.unwrap() };
    assert_eq!(ping().await.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !listening(&a, &["a", "b"]) {
        assert!(Instant::now() < deadline, "the listeners did not connect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // MINVU's agreement ended in January, on both machines; the reload is asked of A only.
    set_valid_until(&dir_a, "2026-01-31");
    set_valid_until(&dir_b, "2026-01-31");
    let asked = Instant::now();
    let body = reload(&a).await;
    let cluster = &body["cluster"];
    assert_eq!(nodo(cluster, "a")["resultado"], "ok", "{body}");
    assert_eq!(nodo(cluster, "b")["resultado"], "ok", "{body}");
    assert_eq!(nodo(cluster, "b")["digest"], cluster["digest"], "{body}");
    assert_eq!(cluster["digest_distinto"], serde_json::json!([]), "{body}");
    assert_eq!(cluster["sin_respuesta"], serde_json::json!([]), "{body}");
    assert!(
        // The answer waits up to 5 s for every connected node, and B answers in tenths of a
        // second: this says it did not have to wait for the limit.
        asked.elapsed() < Duration::from_secs(4),
        "{:?}",
        asked.elapsed()
    );
    // B applied it: what it admitted a moment ago it now refuses.
    let refused = ping().await;
    assert_eq!(refused.status(), 403);
    let refused: Value = refused.json().await.unwrap();
    assert_eq!(refused["code"], "CONVENIO_NO_VIGENTE");

    // B's listener loses its connection; the reload announced meanwhile is found when it is
    // back (it reads the newest version on each reconnection).
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'siis-recargas:b'",
    )
    .execute(&mut a.db())
    .unwrap();
    set_valid_until(&dir_a, "2028-12-31");
    set_valid_until(&dir_b, "2028-12-31");
    reload(&a).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while ping().await.status() != 200 {
        assert!(
            Instant::now() < deadline,
            "B did not catch up after reconnecting"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A's files change and B's do not: B reloads its own, and the answer names it.
    set_valid_until(&dir_a, "2026-01-31");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !listening(&a, &["a", "b"]) {
        assert!(Instant::now() < deadline, "B's listener did not reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let body = reload(&a).await;
    let cluster = &body["cluster"];
    assert_eq!(nodo(cluster, "b")["resultado"], "ok", "{body}");
    assert_eq!(
        cluster["digest_distinto"],
        serde_json::json!(["b"]),
        "{body}"
    );
    assert_eq!(ping().await.status(), 200, "B still holds its own files");

    // A broken file on B: B refuses the set (its previous one stays), and the answer says so.
    std::fs::write(dir_b.join("roto.toml"), "id = \n").unwrap();
    let body = reload(&a).await;
    let cluster = &body["cluster"];
    assert_ne!(nodo(cluster, "b")["resultado"], "ok", "{body}");
    assert_eq!(cluster["fallidos"], serde_json::json!(["b"]), "{body}");
    assert_eq!(ping().await.status(), 200);

    // SIGHUP's path (`Node::reload`) announces too.
    std::fs::remove_file(dir_b.join("roto.toml")).unwrap();
    set_valid_until(&dir_b, "2026-01-31");
    a.node.reload().expect("A reloads");
    let deadline = Instant::now() + Duration::from_secs(5);
    while ping().await.status() != 403 {
        assert!(
            Instant::now() < deadline,
            "B did not apply the reload announced after SIGHUP"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    b.stop().await.expect("node b stops");
    a.stop().await;
}

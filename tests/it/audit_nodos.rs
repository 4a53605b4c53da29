//! A node named among several (`cluster.nodo`, PostgreSQL only): its audit records name it,
//! `siis audit verify` counts them per node and checks each node's checkpoint file with that
//! node's key, and an export carries the node of every record; only the leader recomputes the
//! statistics.

use diesel::prelude::*;
use siis::audit::signed::{self, SignedCheckpoint};
use siis::db::schema::auditoria;

use crate::support::{Setup, TestDb, TestNode, postgres_only, siis_at, succeeded, url_arg};

#[tokio::test]
async fn a_named_nodes_records_are_verified_per_node_and_per_checkpoint_file() {
    let Some(backend) = postgres_only() else {
        return;
    };
    let node = TestNode::start_with(
        backend,
        Setup {
            checkpoint_secs: Some(1),
            configure: Some(Box::new(|config| {
                config.cluster.nodo = Some("n1".into());
            })),
            ..Setup::default()
        },
    )
    .await;
    let client = node.client(Some("minvu"));
    for _ in 0..3 {
        let r = client
            .get(node.agency_url("/api/v1/ping"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let nodos: Vec<Option<String>> = auditoria::table
        .select(auditoria::nodo)
        .distinct()
        .load(&mut node.db())
        .unwrap();
    assert_eq!(
        nodos,
        [Some("n1".to_owned())],
        "every record names its node"
    );
    // Alone on its database, it leads, and says so.
    let metrics = crate::metricas::scrape(&node).await;
    assert_eq!(
        crate::metricas::sample(&metrics, "siis_lider", &[]),
        1.0,
        "{metrics}"
    );
    let (head, _) = signed::head(&mut node.db()).unwrap().unwrap();
    let file = node.config.checkpoints();
    let signed_head = || {
        signed::read_file(&file)
            .unwrap_or_default()
            .iter()
            .map(|cp| cp.id)
            .max()
    };
    for _ in 0..50 {
        if signed_head() >= Some(head) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        signed_head() >= Some(head),
        "no checkpoint of record {head}"
    );

    // A second node's file, signed with that node's own key.
    let dir = tempfile::TempDir::new().unwrap();
    let other_key = openssl::pkey::PKey::generate_ed25519().unwrap();
    let other_public = dir.path().join("n2.pem");
    std::fs::write(&other_public, other_key.public_key_to_pem().unwrap()).unwrap();
    let other_file = dir.path().join("n2.jsonl");
    let (id, hash) = signed::head(&mut node.db()).unwrap().unwrap();
    let line = SignedCheckpoint::sign(&other_key, id, &hash, chrono::Utc::now()).unwrap();
    signed::append(&other_file, &line).unwrap();

    let own_key = node.pki.join("auditoria.pem").display().to_string();
    let (n1_arg, n2_arg) = (
        file.display().to_string(),
        format!("{}:{}", other_file.display(), other_public.display()),
    );
    let said = succeeded(&node.siis(&[
        "audit",
        "verify",
        "--clave-publica",
        &own_key,
        "--checkpoints",
        &n1_arg,
        "--checkpoints",
        &n2_arg,
    ]));
    assert!(said.contains("record(s) per node: n1 "), "{said}");
    assert!(
        said.contains(&format!(
            "{}: 1 checkpoint(s) verified",
            other_file.display()
        )),
        "{said}"
    );
    assert!(said.contains(&format!("{}: ", file.display())), "{said}");

    // The second file checked with the first node's key: named, and a no.
    let wrong = other_file.display().to_string();
    let out = node.siis(&[
        "audit",
        "verify",
        "--clave-publica",
        &own_key,
        "--checkpoints",
        &n1_arg,
        "--checkpoints",
        &wrong,
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: line 1: the signature does not verify",
            other_file.display()
        )),
        "{stderr}"
    );

    // An export carries each record's node, and its import verifies.
    let out_dir = dir.path().join("export");
    let out_arg = out_dir.display().to_string();
    succeeded(&node.siis(&["export", "--out", &out_arg]));
    let target = TestDb::new(backend, dir.path());
    let target_url = url_arg(&target.url);
    let said = succeeded(&siis_at(&target_url, &["import", "--from", &out_arg]));
    assert!(said.contains("audit chain verified"), "{said}");
    let moved: Vec<Option<String>> = auditoria::table
        .select(auditoria::nodo)
        .distinct()
        .load(
            &mut siis::db::ConnectionManager::new(target.url.clone())
                .open()
                .unwrap(),
        )
        .unwrap();
    assert_eq!(moved, [Some("n1".to_owned())]);
    node.stop().await;
}

/// Among several nodes only the leader recomputes the territorial statistics: while another
/// session holds the leader's lock the node does not, and once it is let go the node takes the
/// role and recomputes.
#[tokio::test]
async fn only_the_leader_recomputes_the_statistics() {
    let Some(backend) = postgres_only() else {
        return;
    };
    let holder = std::sync::Arc::new(std::sync::Mutex::new(None));
    let held = holder.clone();
    let node = TestNode::start_with(
        backend,
        Setup {
            configure: Some(Box::new(move |config| {
                config.cluster.nodo = Some("n2".into());
                config.estadisticas.recalcular_cada_secs = 1;
                // Another node leads already.
                let mut conn = siis::db::ConnectionManager::new(config.database.url.clone())
                    .open()
                    .unwrap();
                diesel::sql_query("SELECT pg_advisory_lock($1)")
                    .bind::<diesel::sql_types::BigInt, _>(siis::db::lider::LIDER_LOCK)
                    .execute(&mut conn)
                    .unwrap();
                *held.lock().unwrap() = Some(conn);
            })),
            ..Setup::default()
        },
    )
    .await;
    let computed = || {
        siis::ops::estadisticas::resumen::calculado_en(&mut node.db())
            .unwrap()
            .is_some()
    };
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(!computed(), "a node that does not lead recomputed");
    // The leader goes: its session ends.
    drop(holder.lock().unwrap().take());
    for _ in 0..100 {
        if computed() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(computed(), "the new leader did not recompute");
    node.stop().await;
}

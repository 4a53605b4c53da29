//! `siis backup`, `siis backup verify` and `siis restore`, against a node under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use diesel::prelude::*;
use serde_json::Value;
use siis::db::schema::personas;

use crate::per_backend;
use crate::registry;
use crate::support::{Setup, TestDb, TestNode, tls_client};

fn siis(url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_siis"))
        .env_clear()
        .env("SIIS__DATABASE__URL", url)
        .args(args)
        .output()
        .expect("run siis")
}

fn url_of(url: &siis::db::DatabaseUrl) -> String {
    match url {
        siis::db::DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
        siis::db::DatabaseUrl::Postgres(u) => u.clone(),
    }
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

per_backend!(
    async fn a_backup_taken_under_load_restores_a_registry_that_answers_alike(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 2_000,
                ..Setup::default()
            },
        )
        .await;
        let run = registry::with_ficha(&mut node.db(), None);
        let lookup = format!("/api/v1/personas/{run}/ficha");

        // Lookups go on while the backup is taken: each is audited as it is answered.
        let (stop, answered) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let mut load = Vec::new();
        for _ in 0..4 {
            let (client, url) = (node.client(Some("minvu")), node.agency_url(&lookup));
            let (stop, answered) = (stop.clone(), answered.clone());
            load.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let r = client.get(&url).send().await.unwrap();
                    assert_eq!(r.status(), 200);
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        while answered.load(Ordering::Relaxed) < 20 {
            tokio::task::yield_now().await;
        }
        let dir = tempfile::TempDir::new().unwrap();
        let out = dir.path().join("respaldo");
        let (url, out_arg) = (node.database_url(), out.display().to_string());
        let before = answered.load(Ordering::Relaxed);
        let taken = tokio::task::spawn_blocking(move || siis(&url, &["backup", "--out", &out_arg]))
            .await
            .unwrap();
        let during = answered.load(Ordering::Relaxed) - before;
        stop.store(true, Ordering::Relaxed);
        for task in load {
            task.await.unwrap();
        }
        ok(&taken);
        assert!(during > 0, "no lookup was answered while the backup was taken");
        let out_arg = out.display().to_string();
        assert!(ok(&siis(&node.database_url(), &["backup", "verify", &out_arg])).contains("backup intact"));
        let manifest = siis::backup::read_manifest(&out).unwrap();
        assert!(manifest.personas >= 2_000);
        let head = manifest.audit_head.clone().expect("the copy holds audit records");

        // Restored into a registry of its own: the same persons, the same audit head, a
        // chain that verifies.
        let target_dir = tempfile::TempDir::new().unwrap();
        let target = TestDb::new(backend, target_dir.path());
        let target_url = url_of(&target.url);
        ok(&siis(&target_url, &["restore", "--from", &out_arg]));
        assert!(ok(&siis(&target_url, &["audit", "verify"])).contains("audit chain intact"));
        let mut conn = siis::db::ConnectionManager::new(target.url.clone()).open().unwrap();
        let restored: i64 = personas::table.count().get_result(&mut conn).unwrap();
        assert_eq!(restored, manifest.personas);
        assert_eq!(
            siis::audit::signed::head(&mut conn).unwrap(),
            Some((head.id, head.hash.clone()))
        );
        drop(conn);

        // A node on the restored registry answers the lookup as the original does.
        let mut config = (*node.config).clone();
        config.database.url = target.url.clone();
        config.audit.checkpoints = Some(target_dir.path().join("checkpoints.jsonl"));
        let second = siis::startup::Node::start(Arc::new(config)).expect("a node on the restored registry");
        let cert = (
            node.pki.join("clients/minvu.pem"),
            node.pki.join("clients/minvu-key.pem"),
        );
        let client = tls_client(
            &node.pki.join("ca.pem"),
            Some((cert.0.as_path(), cert.1.as_path())),
            &[second.agency],
        );
        let get = |client: reqwest::Client, url: String| async move {
            client.get(url).send().await.unwrap().json::<Value>().await.unwrap()
        };
        let original = get(node.client(Some("minvu")), node.agency_url(&lookup)).await;
        let again = get(
            client,
            format!("https://localhost:{}{lookup}", second.agency.port()),
        )
        .await;
        assert_eq!(original, again);
        second.stop().await.unwrap();

        // Restore never overwrites a registry (a usage error), and a damaged copy is refused
        // (a no).
        let again = siis(&target_url, &["restore", "--from", &out_arg]);
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert_eq!(again.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("exists") || stderr.contains("not an empty database"), "{stderr}");
        let file = out.join(&manifest.files[0].name);
        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&file, bytes).unwrap();
        let damaged = siis(&node.database_url(), &["backup", "verify", &out_arg]);
        assert_eq!(damaged.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&damaged.stderr).contains(&manifest.files[0].name),
            "{}",
            String::from_utf8_lossy(&damaged.stderr)
        );
        node.stop().await;
    }
);

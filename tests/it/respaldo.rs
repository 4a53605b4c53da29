//! `siis backup`, `siis backup verify` and `siis restore`, against a node under load.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use diesel::prelude::*;
use serde_json::Value;
use siis::db::schema::personas;

use crate::per_backend;
use crate::registry;
use crate::support::{Backend, Setup, TestDb, TestNode, siis_at, succeeded, tls_client, url_arg};

/// A node started on `target` answers `lookup` (as MINVU) exactly as `node` does.
async fn assert_answers_alike(
    node: &TestNode,
    target: &TestDb,
    dir: &std::path::Path,
    lookup: &str,
) {
    let mut config = (*node.config).clone();
    config.database.url = target.url.clone();
    config.audit.checkpoints = Some(dir.join("checkpoints.jsonl"));
    let second = siis::startup::Node::start(Arc::new(config)).expect("a node on the copy");
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
        client
            .get(url)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    let original = get(node.client(Some("minvu")), node.agency_url(lookup)).await;
    let again = get(
        client,
        format!("https://localhost:{}{lookup}", second.agency.port()),
    )
    .await;
    assert_eq!(original, again);
    second.stop().await.unwrap();
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
        let taken = tokio::task::spawn_blocking(move || siis_at(&url, &["backup", "--out", &out_arg]))
            .await
            .unwrap();
        let during = answered.load(Ordering::Relaxed) - before;
        stop.store(true, Ordering::Relaxed);
        for task in load {
            task.await.unwrap();
        }
        succeeded(&taken);
        assert!(during > 0, "no lookup was answered while the backup was taken");
        let out_arg = out.display().to_string();
        assert!(succeeded(&siis_at(&node.database_url(), &["backup", "verify", &out_arg])).contains("backup intact"));
        let manifest = siis::backup::read_manifest(&out).unwrap();
        assert!(manifest.personas >= 2_000);
        let head = manifest.audit_head.clone().expect("the copy holds audit records");

        // Restored into a registry of its own: the same persons, the same audit head, a
        // chain that verifies.
        let target_dir = tempfile::TempDir::new().unwrap();
        let target = TestDb::new(backend, target_dir.path());
        let target_url = url_arg(&target.url);
        succeeded(&siis_at(&target_url, &["restore", "--from", &out_arg]));
        assert!(succeeded(&siis_at(&target_url, &["audit", "verify"])).contains("audit chain intact"));
        let mut conn = siis::db::ConnectionManager::new(target.url.clone()).open().unwrap();
        let restored: i64 = personas::table.count().get_result(&mut conn).unwrap();
        assert_eq!(restored, manifest.personas);
        assert_eq!(
            siis::audit::signed::head(&mut conn).unwrap(),
            Some((head.id, head.hash.clone()))
        );
        drop(conn);

        // A node on the restored registry answers the lookup as the original does.
        assert_answers_alike(&node, &target, target_dir.path(), &lookup).await;

        // Restore never overwrites a registry (a usage error), and a damaged copy is refused
        // (a no).
        let again = siis_at(&target_url, &["restore", "--from", &out_arg]);
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert_eq!(again.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("exists") || stderr.contains("not an empty database"), "{stderr}");
        let file = out.join(&manifest.files[0].name);
        let mut bytes = std::fs::read(&file).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0xff;
        std::fs::write(&file, bytes).unwrap();
        let damaged = siis_at(&node.database_url(), &["backup", "verify", &out_arg]);
        assert_eq!(damaged.status.code(), Some(1));
        assert!(
            String::from_utf8_lossy(&damaged.stderr).contains(&manifest.files[0].name),
            "{}",
            String::from_utf8_lossy(&damaged.stderr)
        );
        node.stop().await;
    }
);

/// Each table's rows as export wrote them, decompressed: two exports of the same registry are
/// equal line for line.
fn export_contents(dir: &std::path::Path) -> Vec<(String, String)> {
    use std::io::Read;
    let manifest = siis::backup::read_export_manifest(dir).unwrap();
    manifest
        .tablas
        .iter()
        .map(|t| {
            let mut text = String::new();
            flate2::read::GzDecoder::new(std::fs::File::open(dir.join(&t.archivo)).unwrap())
                .read_to_string(&mut text)
                .unwrap();
            (t.tabla.clone(), text)
        })
        .collect()
}

/// A SQLite node with something in every kind of table: lookups (audit, index), a certificate,
/// a survey request with its event, and 29 of 30 old audit records archived (into `archivos`).
async fn busy_sqlite_node(archivos: &std::path::Path) -> (TestNode, String) {
    let node = TestNode::start_with(
        Backend::Sqlite,
        Setup {
            persons: 1_000,
            audit_records: (1..=30).map(crate::archivo::old_record).collect(),
            ..Setup::default()
        },
    )
    .await;
    let yesterday = siis::audit::archivo::last_day(chrono::Utc::now()).to_string();
    let archivos = archivos.display().to_string();
    let said = succeeded(&node.siis(&[
        "audit", "archive", "--out", &archivos, "--antes", &yesterday,
    ]));
    // The newest record always stays in the database.
    assert!(said.contains("29 record(s) archived"), "{said}");
    let run = registry::with_ficha(&mut node.db(), None);
    let lookup = format!("/api/v1/personas/{run}/ficha");
    let client = node.client(Some("minvu"));
    for _ in 0..3 {
        let r = client.get(node.agency_url(&lookup)).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let muni = registry::with_ficha(&mut node.db(), Some("13101"));
    let r = node
        .client(Some("muni-13101"))
        .post(node.agency_url("/api/v1/certificados"))
        .json(&serde_json::json!({ "run": muni.dotted(), "tipo": "certificado_fps" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let sin_ficha = crate::encuestaje::sin_ficha(&node, 1)[0];
    crate::encuestaje::nueva(&node, sin_ficha).await;
    // A household event: a new household, a version raised, a ficha marked for review.
    let (_, members) = crate::hogar::hogar_con(&node, "13101", 2, 0);
    let body = serde_json::json!({ "evento": "quitar_integrante",
        "run": members[1].0.to_string(), "motivo": "respaldo" });
    let (status, answer) = crate::hogar::evento(&node, "muni-13101", members[0].0, body).await;
    assert_eq!(status, 200, "{answer}");
    (node, lookup)
}

per_backend!(
    /// `siis export` then `siis import`: the path from the embedded default to PostgreSQL (and
    /// from SQLite to a new SQLite file).
    async fn an_export_of_sqlite_imports_into_a_registry_that_answers_alike(backend) {
        let dir = tempfile::TempDir::new().unwrap();
        let archivos = dir.path().join("archivos");
        let (node, lookup) = busy_sqlite_node(&archivos).await;
        let out = dir.path().join("export");
        let out_arg = out.display().to_string();
        let said = succeeded(&node.siis(&["export", "--out", &out_arg]));
        assert!(said.contains("siis import --from"), "{said}");
        let manifest = siis::backup::read_export_manifest(&out).unwrap();
        assert_eq!(manifest.backend, "sqlite");
        for table in [
            "personas",
            "fichas",
            "certificados",
            "encuestajes",
            "encuestaje_eventos",
            "hogar_eventos",
            "auditoria",
            "auditoria_archivos",
        ] {
            let t = manifest.tablas.iter().find(|t| t.tabla == table).unwrap();
            assert!(t.filas > 0, "{table} exported no rows");
        }

        let target_dir = tempfile::TempDir::new().unwrap();
        let target = TestDb::new(backend, target_dir.path());
        let target_url = url_arg(&target.url);
        let said = succeeded(&siis_at(&target_url, &["import", "--from", &out_arg]));
        assert!(said.contains("audit chain verified"), "{said}");
        assert!(succeeded(&siis_at(&target_url, &["audit", "verify"])).contains("audit chain intact"));
        // The archive files stay where they were: the moved log goes on from them.
        let archivos_arg = archivos.display().to_string();
        succeeded(&siis_at(&target_url, &["audit", "verify", "--archivos", &archivos_arg]));

        // Nothing lost, nothing changed: the target exports the very same rows.
        let again = target_dir.path().join("again");
        succeeded(&siis_at(&target_url, &["export", "--out", &again.display().to_string()]));
        let (before, after) = (export_contents(&out), export_contents(&again));
        assert_eq!(before.len(), after.len());
        for ((table, rows), (_, rows_after)) in before.iter().zip(&after) {
            assert!(rows == rows_after, "{table} differs after the move");
        }
        let imported = siis::backup::read_export_manifest(&again).unwrap();
        assert_eq!(imported.audit_head, manifest.audit_head);
        assert_eq!(imported.personas, manifest.personas);

        // A person's accesses read the same from the moved audit log (before the lookups
        // below, which each registry records at its own second).
        let run = lookup.split('/').nth(4).unwrap().to_owned();
        let accesos = |url: &str| succeeded(&siis_at(url, &["audit", "accesos", &run]));
        assert_eq!(accesos(&node.database_url()), accesos(&target_url));
        assert_answers_alike(&node, &target, target_dir.path(), &lookup).await;

        // Importing again is refused: the target is no longer empty (a usage error).
        let twice = siis_at(&target_url, &["import", "--from", &out_arg]);
        assert_eq!(twice.status.code(), Some(2), "{}", String::from_utf8_lossy(&twice.stderr));
        assert!(String::from_utf8_lossy(&twice.stderr).contains("table personas has rows"));
        node.stop().await;
    }
);

/// What import refuses changes nothing, and says which file is at fault.
#[tokio::test]
async fn a_damaged_export_is_refused_and_leaves_the_target_empty() {
    let dir = tempfile::TempDir::new().unwrap();
    let (node, _) = busy_sqlite_node(&dir.path().join("archivos")).await;
    let out = dir.path().join("export");
    let out_arg = out.display().to_string();
    succeeded(&node.siis(&["export", "--out", &out_arg]));
    // A copy never overwrites.
    let again = node.siis(&["export", "--out", &out_arg]);
    assert_eq!(again.status.code(), Some(2));

    let target_dir = tempfile::TempDir::new().unwrap();
    let target = TestDb::new(Backend::Sqlite, target_dir.path());
    let target_url = url_arg(&target.url);
    let persons = || {
        let mut conn = siis::db::ConnectionManager::new(target.url.clone())
            .open()
            .unwrap();
        personas::table
            .count()
            .get_result::<i64>(&mut conn)
            .unwrap()
    };
    let refused = |what: &str, needle: &str| {
        let out = siis_at(&target_url, &["import", "--from", &out_arg]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(stderr.contains(needle), "{what}: {stderr}");
        assert_eq!(persons(), 0, "{what}: the refused import left rows behind");
    };

    // A byte flipped in the middle of the compressed persons.
    let file = out.join("personas.jsonl.gz");
    let good = std::fs::read(&file).unwrap();
    let mut bytes = good.clone();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    refused("flipped byte", "personas.jsonl.gz");

    // A row changed and the file compressed again: its digest no longer matches.
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(good.as_slice()),
        &mut text,
    )
    .unwrap();
    let edited = text.replacen("\"sexo\":\"F\"", "\"sexo\":\"M\"", 1);
    assert_ne!(edited, text);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, edited.as_bytes()).unwrap();
    std::fs::write(&file, gz.finish().unwrap()).unwrap();
    refused("edited row", "personas.jsonl.gz");
    std::fs::write(&file, &good).unwrap();

    // An audit record changed, and the manifest's digest for its file changed to match: the
    // chain catches it.
    let manifest_path = out.join("manifest.json");
    let manifest_text = std::fs::read_to_string(&manifest_path).unwrap();
    let audit_file = out.join("auditoria.jsonl.gz");
    let audit_good = std::fs::read(&audit_file).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(audit_good.as_slice()),
        &mut text,
    )
    .unwrap();
    let edited = text.replacen("\"resultado\":\"OK\"", "\"resultado\":\"NO_AUTORIZADO\"", 1);
    assert_ne!(edited, text);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, edited.as_bytes()).unwrap();
    let audit_bad = gz.finish().unwrap();
    std::fs::write(&audit_file, &audit_bad).unwrap();
    let mut manifest: Value = serde_json::from_str(&manifest_text).unwrap();
    for t in manifest["tablas"].as_array_mut().unwrap() {
        if t["tabla"] == "auditoria" {
            use sha2::Digest;
            t["sha256"] = hex::encode(sha2::Sha256::digest(&audit_bad)).into();
            t["bytes"] = audit_bad.len().into();
        }
    }
    std::fs::write(&manifest_path, serde_json::to_string(&manifest).unwrap()).unwrap();
    refused("rewritten audit record", "chain broken at Some(");
    std::fs::write(&audit_file, &audit_good).unwrap();

    // A manifest without one of the tables.
    let mut manifest: Value = serde_json::from_str(&manifest_text).unwrap();
    manifest["tablas"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["tabla"] != "beneficios");
    std::fs::write(&manifest_path, serde_json::to_string(&manifest).unwrap()).unwrap();
    refused("table left out", "no file for table beneficios");
    std::fs::write(&manifest_path, &manifest_text).unwrap();

    // Mended, the same folder loads.
    succeeded(&siis_at(&target_url, &["import", "--from", &out_arg]));
    assert!(persons() >= 1_000);
    node.stop().await;
}

//! `siis audit archive` and `siis audit verify --archivos`, through the binary, against a node
//! that goes on serving; backup and restore after an archive.

use std::path::Path;
use std::process::Output;

use chrono::Utc;
use diesel::prelude::*;
use serde_json::Value;
use siis::audit::AuditRecord;
use siis::audit::signed::SignedCheckpoint;
use siis::db::schema::auditoria;
use siis::domain::Run;

use crate::per_backend;
use crate::support::{Setup, TestDb, TestNode, succeeded};

/// A lookup of person 7,000,000 + `n`, thirty days ago.
pub(crate) fn old_record(n: u32) -> AuditRecord {
    AuditRecord {
        ts: Utc::now() - chrono::Duration::days(30),
        convenio: Some("minvu".into()),
        certificate: Some("ab".repeat(32)),
        operation: "ConsultarFichaFPS".into(),
        transport: "rest",
        message_id: format!("antiguo-{n}"),
        subjects: vec![Run::from_numero(7_000_000 + n).unwrap()],
        undisclosed: Vec::new(),
        purpose: Some("postulación DS49".into()),
        fields: vec!["puntaje".into()],
        outcome: "OK".into(),
        http_status: 200,
        latency_us: 1_000,
        xroad: None,
        omitidos: None,
        personas: Some(1),
        usuario: None,
    }
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn head(node: &TestNode) -> i64 {
    auditoria::table
        .select(diesel::dsl::max(auditoria::id))
        .first::<Option<i64>>(&mut node.db())
        .unwrap()
        .unwrap()
}

/// Waits until the node has signed a checkpoint of record `id` or later.
async fn signed_up_to(node: &TestNode, id: i64) {
    let file = node.config.checkpoints();
    for _ in 0..50 {
        let signed = std::fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok()?["id"].as_i64())
            .max();
        if signed >= Some(id) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("no checkpoint of record {id}");
}

async fn pings(node: &TestNode, n: usize) {
    let client = node.client(Some("minvu"));
    for _ in 0..n {
        let r = client
            .get(node.agency_url("/api/v1/ping"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

per_backend!(
    async fn old_records_are_archived_while_the_node_serves_and_every_check_spans_the_archive(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                checkpoint_secs: Some(1),
                audit_records: (1..=40).map(old_record).collect(),
                ..Setup::default()
            },
        )
        .await;
        // Signed before the node answered anything: record 40, the last old one.
        signed_up_to(&node, 40).await;
        pings(&node, 3).await;
        signed_up_to(&node, head(&node)).await;
        // And a checkpoint of record 20, as a verifier could hold from earlier on.
        let lines: Vec<SignedCheckpoint> = siis::audit::signed::read_file(&node.config.checkpoints()).unwrap();
        let hash_20: String = auditoria::table
            .find(20)
            .select(auditoria::hash)
            .first(&mut node.db())
            .unwrap();
        let key = siis::audit::signed::read_private_key(&node.pki.join("auditoria-key.pem")).unwrap();
        let early = SignedCheckpoint::sign(&key, 20, &hash_20, lines[0].ts - chrono::Duration::seconds(1)).unwrap();
        let dir = tempfile::TempDir::new().unwrap();
        let checkpoints = dir.path().join("checkpoints.jsonl");
        std::fs::write(
            &checkpoints,
            std::iter::once(&early)
                .chain(&lines)
                .map(|cp| serde_json::to_string(cp).unwrap() + "\n")
                .collect::<String>(),
        )
        .unwrap();

        // Yesterday's and today's records stay: a usage error, nothing written.
        let out = dir.path().join("archivos");
        let out_arg = path_arg(&out);
        let today = (siis::audit::archivo::last_day(Utc::now()) + chrono::Days::new(1)).to_string();
        let refused = node.siis(&["audit", "archive", "--out", &out_arg, "--antes", &today]);
        assert_eq!(refused.status.code(), Some(2), "{:?}", text(&refused));
        assert!(text(&refused).1.contains("yesterday"), "{:?}", text(&refused));
        assert!(!out.exists());

        // Archived while the node serves.
        let yesterday = siis::audit::archivo::last_day(Utc::now()).to_string();
        let stdout = succeeded(&node.siis(&["audit", "archive", "--out", &out_arg, "--antes", &yesterday]));
        assert!(stdout.contains("40 record(s) archived (records 1 to 40)"), "{stdout}");
        let file = "auditoria-000000000001-000000000040.jsonl.gz";
        assert!(stdout.contains(file), "{stdout}");
        pings(&node, 2).await;
        let stdout = succeeded(&node.siis(&["audit", "archive", "--out", &out_arg, "--antes", &yesterday]));
        assert!(stdout.contains("nothing to archive"), "{stdout}");

        // The chain from the archive into the table, and every checkpoint with the files.
        let (checkpoints_arg, public) = (path_arg(&checkpoints), path_arg(&node.pki.join("auditoria.pem")));
        let stdout = succeeded(&node.siis(&[
            "audit", "verify", "--archivos", &out_arg, "--checkpoints", &checkpoints_arg,
            "--clave-publica", &public,
        ]));
        assert!(stdout.contains("records 1 to 40 are archived"), "{stdout}");
        assert!(stdout.contains("1 archive(s) verified: 40 record(s)"), "{stdout}");
        assert!(stdout.contains("checkpoint(s) verified"), "{stdout}");
        // Without the files, the checkpoint of record 20 cannot be checked: not a pass.
        let unchecked = node.siis(&[
            "audit", "verify", "--checkpoints", &checkpoints_arg, "--clave-publica", &public,
        ]);
        let (_, stderr) = text(&unchecked);
        assert_eq!(unchecked.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("record 20") && stderr.contains("was not checked"), "{stderr}");
        assert!(!stderr.contains("record 40"), "record 40 is the archive's last, registered: {stderr}");

        // The person of an archived record is no longer in the access report.
        let person = Run::from_numero(7_000_005).unwrap().to_string();
        let report = node.siis(&["audit", "accesos", &person]);
        assert!(text(&report).1.contains("0 access(es)"), "{:?}", text(&report));

        // A backup after the archive verifies and restores; the restored log spans the files.
        let backup = dir.path().join("respaldo");
        let backup_arg = path_arg(&backup);
        succeeded(&node.siis(&["backup", "--out", &backup_arg]));
        assert!(succeeded(&node.siis(&["backup", "verify", &backup_arg])).contains("backup intact"));
        let target_dir = tempfile::TempDir::new().unwrap();
        let target = TestDb::new(backend, target_dir.path());
        let target_url = match &target.url {
            siis::db::DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            siis::db::DatabaseUrl::Postgres(u) => u.clone(),
        };
        let restore = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_siis"))
                .env_clear()
                .env("SIIS__DATABASE__URL", &target_url)
                .args(args)
                .output()
                .unwrap()
        };
        succeeded(&restore(&["restore", "--from", &backup_arg]));
        assert!(succeeded(&restore(&["audit", "verify", "--archivos", &out_arg])).contains("1 archive(s) verified"));

        // A record changed inside the file, compressed again: named with the file.
        let path = out.join(file);
        let original = std::fs::read(&path).unwrap();
        let mut lines = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&original[..]), &mut lines).unwrap();
        let changed = lines.replacen("\"antiguo-7\"", "\"otro-7\"", 1);
        assert_ne!(changed, lines);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, changed.as_bytes()).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let damaged = node.siis(&["audit", "verify", "--archivos", &out_arg]);
        let (_, stderr) = text(&damaged);
        assert_eq!(damaged.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&format!("{file}: record 7: its hash does not match")), "{stderr}");
        // Gone.
        std::fs::remove_file(&path).unwrap();
        let missing = node.siis(&["audit", "verify", "--archivos", &out_arg]);
        let (_, stderr) = text(&missing);
        assert_eq!(missing.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&format!("{file}: missing")), "{stderr}");
        // Back: whole again.
        std::fs::write(&path, original).unwrap();
        succeeded(&node.siis(&["audit", "verify", "--archivos", &out_arg]));
        node.stop().await;
    }
);

/// Not a test: fills the registry `SIIS_ARCHIVO_BENCH_URL` with `SIIS_ARCHIVO_BENCH_N`
/// (default 1,000,000) lookups' audit records from thirty days ago, then one of today, for
/// measuring `siis audit archive` (docs/benchmarks.md, *Archiving the audit log*). Records
/// are written through the audit writer (`durability = "os"`), so their chain is the node's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "seeds a database for the archive benchmark; run it by name"]
async fn seed_old_audit_records_for_the_archive_benchmark() {
    let url = std::env::var("SIIS_ARCHIVO_BENCH_URL").expect("SIIS_ARCHIVO_BENCH_URL");
    let url = siis::db::DatabaseUrl::parse(&url).expect("a database URL");
    let n: u32 =
        std::env::var("SIIS_ARCHIVO_BENCH_N").map_or(1_000_000, |n| n.parse().expect("a number"));
    drop(siis::db::open_pool(&url, 1, std::time::Duration::from_secs(5)).unwrap());
    let log = siis::audit::AuditLog::start_with(
        &url,
        siis::audit::Durability::Os,
        siis::audit::WalLimit::default(),
    )
    .unwrap();
    let start = Utc::now() - chrono::Duration::days(30);
    for chunk in (0..n).collect::<Vec<_>>().chunks(1_000) {
        let mut pending = tokio::task::JoinSet::new();
        for &i in chunk {
            let mut record = old_record(i % 1_000_000);
            record.ts = start + chrono::Duration::milliseconds(i64::from(i));
            record.message_id = format!("{:032x}", u128::from(i) * 0x9e37_79b9_7f4a_7c15);
            record.fields = [
                "run",
                "puntaje",
                "tramo",
                "hogar.integrantes",
                "hogar.comuna",
            ]
            .map(String::from)
            .to_vec();
            record.xroad = Some(format!(
                "client=CL/GOB/MINVU/postulaciones; service=CL/GOB/MDSF/siis/ConsultarFichaFPS/v1; userId=CL{i}; id={i}"
            ));
            let log = log.clone();
            pending.spawn(async move { log.append(record).await.unwrap() });
        }
        while let Some(done) = pending.join_next().await {
            done.unwrap();
        }
    }
    log.append(AuditRecord {
        ts: Utc::now(),
        ..old_record(0)
    })
    .await
    .unwrap();
    log.shutdown();
}

//! `siis bench` drives a real node over mutual TLS and reports every operation of the mix.

use serde_json::Value;

use crate::registry;
use crate::support::{Backend, Setup, TestNode, convenios_with};

const CARGA: &str = r#"id = "carga"
agency = "Banco de pruebas de carga"
legal_basis = "Ley 19.628"
purpose = "Medir el nodo"
valid_from = 2026-01-01
valid_until = 2030-12-31
[limits]
per_second = 100000
burst = 100000
daily_quota = 100000000
[[clients]]
subject_cn = "carga"
[operations.ConsultarFichaFPS]
fields = ["run", "puntaje", "quintil", "integrantes.run"]
[operations.ValidarIdentidad]
fields = ["run", "vivo"]
[operations.ConsultarElegibilidad]
fields = ["run", "elegible", "regla"]
programas = ["PBS"]
"#;

/// A node with a 2,000-person registry and the load agreement, and a sample of one RUN.
async fn node_for_bench(dir: &tempfile::TempDir) -> (TestNode, std::path::PathBuf) {
    let convenios = convenios_with(dir.path(), &[("carga.toml", CARGA)]);
    let node = TestNode::start_with(
        Backend::Sqlite,
        Setup {
            persons: 2_000,
            convenios: Some(convenios),
            ..Setup::default()
        },
    )
    .await;
    let run = registry::with_ficha(&mut node.db(), None);
    let sample = dir.path().join("sample.csv");
    std::fs::write(&sample, format!("categoria,run\ncon_ficha,{run}\n")).unwrap();
    (node, sample)
}

/// Runs `siis bench` against the node with `args`; returns what it printed and its JSON.
async fn bench(
    node: &TestNode,
    dir: &tempfile::TempDir,
    sample: &std::path::Path,
    args: &[&str],
) -> (String, Value) {
    let json = dir.path().join("bench.json");
    let pki = node.pki.clone();
    let target = node.agency_url("");
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    let sample = sample.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_siis"))
            .env_clear()
            .args(["bench", "--target", &target])
            .args(&args)
            .arg("--ca")
            .arg(pki.join("ca.pem"))
            .arg("--cert")
            .arg(pki.join("clients/carga.pem"))
            .arg("--key")
            .arg(pki.join("clients/carga-key.pem"))
            .arg("--sample")
            .arg(&sample)
            .arg("--json")
            .arg(&json)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("bench.json")).unwrap())
            .unwrap();
    (stdout, report)
}

#[tokio::test]
async fn bench_reports_every_operation_against_a_real_node() {
    let dir = tempfile::TempDir::new().unwrap();
    let (node, sample) = node_for_bench(&dir).await;
    let (stdout, report) = bench(
        &node,
        &dir,
        &sample,
        &["--seconds", "1", "--concurrency", "2"],
    )
    .await;
    assert!(stdout.contains("p99 ms"), "{stdout}");
    assert!(report["baseline"]["ok"].as_u64().unwrap() > 0);
    assert_eq!(report["baseline"]["errors"], serde_json::json!({}));
    let ops: Vec<&str> = report["mix"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["op"].as_str().unwrap())
        .collect();
    assert_eq!(
        ops,
        ["ficha", "ficha_soap", "lote", "identidad", "elegibilidad"]
    );
    for r in report["mix"].as_array().unwrap() {
        assert!(r["ok"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(r["errors"], serde_json::json!({}), "{r}");
        assert!(r["ratio_to_ping"].as_f64().unwrap() > 0.0);
        assert!(r["p99_ms"].as_f64().unwrap() >= r["p50_ms"].as_f64().unwrap());
    }
    node.stop().await;
}

/// At a fixed rate the bench sends on schedule and counts only the measured seconds: the
/// warm-up's requests are sent but not reported, and no more than rate × seconds are.
#[tokio::test]
async fn bench_holds_a_fixed_rate_and_leaves_the_warm_up_out() {
    let dir = tempfile::TempDir::new().unwrap();
    let (node, sample) = node_for_bench(&dir).await;
    let (stdout, report) = bench(
        &node,
        &dir,
        &sample,
        &[
            "--seconds",
            "2",
            "--warmup",
            "1",
            "--rate",
            "100",
            "--concurrency",
            "4",
            "--mix",
            "ficha=1",
            "--node-pid",
            &std::process::id().to_string(),
            "--pid",
            &format!("prueba={}", std::process::id()),
            "--message-ids",
        ],
    )
    .await;
    assert!(stdout.contains("after 1 s of warm-up"), "{stdout}");
    assert_eq!(report["warmup_seconds"], 1.0);
    assert_eq!(report["rate"], 100);
    // The node runs in this test's process: its memory was sampled through both phases.
    let samples = report["node_memory"].as_array().unwrap();
    for phase in ["ping", "mix"] {
        let own: Vec<&Value> = samples.iter().filter(|s| s["phase"] == phase).collect();
        assert!(own.len() >= 2, "{phase}: {samples:?}");
        for s in own {
            assert!(s["rss_anon_kib"].as_u64().unwrap() > 0, "{s}");
            assert!(s["threads"].as_u64().unwrap() > 1, "{s}");
        }
    }
    let seconds: Vec<f64> = samples
        .iter()
        .map(|s| s["seconds"].as_f64().unwrap())
        .collect();
    assert!(seconds.windows(2).all(|w| w[0] <= w[1]), "{seconds:?}");
    assert!(*seconds.last().unwrap() >= 5.0, "{seconds:?}");
    assert!(
        stdout.contains("node memory, mix phase (RssAnon)"),
        "{stdout}"
    );
    // And its CPU over each phase's measured seconds, per request, in all and by thread.
    let cpu = report["node_cpu"].as_array().unwrap();
    let phases: Vec<(&str, &str)> = cpu
        .iter()
        .map(|c| (c["phase"].as_str().unwrap(), c["process"].as_str().unwrap()))
        .collect();
    assert_eq!(
        phases,
        [
            ("ping", "node"),
            ("ping", "prueba"),
            ("mix", "node"),
            ("mix", "prueba")
        ]
    );
    for c in cpu {
        assert!(
            (150..=201).contains(&c["requests"].as_u64().unwrap()),
            "{c}"
        );
        assert!(c["us_per_request"].as_f64().unwrap() > 0.0, "{c}");
        assert!(!c["by_thread"].as_object().unwrap().is_empty(), "{c}");
    }
    assert!(stdout.contains("node CPU, mix phase: "), "{stdout}");
    assert!(stdout.contains("prueba CPU, mix phase: "), "{stdout}");
    // Each request carried a message id of its own, which the audit kept.
    let ids: Vec<String> = {
        use diesel::prelude::*;
        siis::db::schema::auditoria::table
            .filter(siis::db::schema::auditoria::operacion.eq("ConsultarFichaFPS"))
            .select(siis::db::schema::auditoria::id_mensaje)
            .load(&mut node.db())
            .unwrap()
    };
    assert!(ids.len() >= 250, "{}", ids.len());
    assert!(
        ids.iter().all(|id| id.starts_with("bench-")),
        "{:?}",
        &ids[..3]
    );
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len());
    for r in std::iter::once(&report["baseline"]).chain(report["mix"].as_array().unwrap()) {
        let ok = r["ok"].as_u64().unwrap();
        // 200 send times fall in the 2 measured seconds; a loaded test machine may drop a few
        // at the deadline, never add any.
        assert!((150..=201).contains(&ok), "{r}");
        assert_eq!(r["errors"], serde_json::json!({}), "{r}");
    }
    node.stop().await;
}

/// Runs `siis bench` with placeholder certificates and `args`; it must fail. Returns stderr.
fn bench_refuses(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_siis"))
        .env_clear()
        .args(["bench", "--cert", "c.pem", "--key", "k.pem"])
        .args(args)
        .output()
        .unwrap();
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bench_refuses_a_bad_mix_a_missing_sample_and_an_unreadable_node() {
    let stderr = bench_refuses(&["--mix", "ficha=1,nada=2"]);
    assert!(stderr.contains("unknown operation \"nada\""), "{stderr}");
    let stderr = bench_refuses(&["--sample", "/nonexistent.csv"]);
    assert!(stderr.contains("/nonexistent.csv"), "{stderr}");
    // A node process that is not there is named before any request is sent.
    let stderr = bench_refuses(&["--node-pid", "0"]);
    assert!(
        stderr.contains("--node-pid 0: cannot read the process's memory"),
        "{stderr}"
    );
}

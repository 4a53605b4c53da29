//! `siis bench` drives a real node over mutual TLS and reports every operation of the mix.

use serde_json::Value;

use crate::registry;
use crate::support::{Backend, Setup, TestNode, agreements_with};

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

#[tokio::test]
async fn bench_reports_every_operation_against_a_real_node() {
    let dir = tempfile::TempDir::new().unwrap();
    let agreements = agreements_with(dir.path(), &[("carga.toml", CARGA)]);
    let node = TestNode::start_with(
        Backend::Sqlite,
        Setup {
            persons: 2_000,
            agreements: Some(agreements),
            ..Setup::default()
        },
    )
    .await;
    let run = registry::with_ficha(&mut node.db(), None);
    let sample = dir.path().join("sample.csv");
    std::fs::write(&sample, format!("categoria,run\ncon_ficha,{run}\n")).unwrap();
    let json = dir.path().join("bench.json");
    let pki = node.pki.clone();
    let target = node.agency_url("");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_siis"))
            .env_clear()
            .args([
                "bench",
                "--target",
                &target,
                "--seconds",
                "1",
                "--concurrency",
                "2",
            ])
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
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("p99 ms"), "{stdout}");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("bench.json")).unwrap())
            .unwrap();
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

#[test]
fn bench_refuses_a_bad_mix_and_a_missing_sample() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_siis"))
        .env_clear()
        .args([
            "bench",
            "--cert",
            "c.pem",
            "--key",
            "k.pem",
            "--mix",
            "ficha=1,nada=2",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown operation \"nada\""));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_siis"))
        .env_clear()
        .args([
            "bench",
            "--cert",
            "c.pem",
            "--key",
            "k.pem",
            "--sample",
            "/nonexistent.csv",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent.csv"));
}

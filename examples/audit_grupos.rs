//! What an audit group commit costs, alone and with several nodes over one PostgreSQL database
//! (docs/audit.md, *Several nodes*). Starts `NODES` audit logs on the database `URL` (migrated
//! here), each with `THREADS` threads appending records back to back for `SECONDS`, and prints
//! records and groups per second and each append's latency (p50, p99). With `--nodo`, the logs
//! are nodes `n1`, `n2`, … sharing one chain (the lock and the head read per group); without it,
//! one log with its head in memory (`NODES` must then be 1: two would race on the ids).
//!
//! ```sh
//! cargo run --release --example audit_grupos -- postgres://…/db 1 8 10
//! cargo run --release --example audit_grupos -- postgres://…/db 3 8 10 --nodo
//! ```

use std::time::{Duration, Instant};

use siis::audit::{AuditLog, AuditRecord, Durability, WalLimit};
use siis::db::{ConnectionManager, DatabaseUrl};
use siis::domain::Run;

fn record(n: u64) -> AuditRecord {
    AuditRecord {
        ts: chrono::Utc::now(),
        convenio: Some("minvu".into()),
        certificate: Some("ab".repeat(32)),
        operation: "ConsultarFichaFPS".into(),
        transport: "rest",
        message_id: format!("bench-{n}"),
        subjects: vec![Run::from_numero(5_000_000 + (n % 1_000_000) as u32).expect("a RUN")],
        undisclosed: Vec::new(),
        purpose: Some("postulación DS49".into()),
        fields: vec!["puntaje".into(), "quintil".into()],
        outcome: "OK".into(),
        http_status: 200,
        latency_us: 900,
        xroad: None,
        omitidos: None,
        personas: Some(1),
        usuario: None,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: audit_grupos URL NODES THREADS SECONDS [--nodo]";
    let [url, nodes, threads, seconds, rest @ ..] = args.as_slice() else {
        panic!("{usage}");
    };
    let url = DatabaseUrl::parse(url)?;
    let (nodes, threads): (usize, usize) = (nodes.parse()?, threads.parse()?);
    let seconds: u64 = seconds.parse()?;
    let shared = rest.iter().any(|a| a == "--nodo");
    assert!(shared || nodes == 1, "several logs need --nodo");
    let mut conn = ConnectionManager::new(url.clone()).open()?;
    siis::db::run_migrations(&mut conn)?;
    let logs: Vec<AuditLog> = (1..=nodes)
        .map(|n| {
            AuditLog::start_as(
                &url,
                Durability::Fsync,
                WalLimit::default(),
                shared.then(|| format!("n{n}")),
            )
        })
        .collect::<Result<_, _>>()?;
    let until = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..nodes * threads)
        .map(|w| {
            let log = logs[w % nodes].clone();
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut n = w as u64 * 1_000_000_000;
                while Instant::now() < until {
                    let started = Instant::now();
                    // A failed group (a 503 in the node) ends this worker's run.
                    if log.append_blocking(record(n)).is_err() {
                        break;
                    }
                    latencies.push(started.elapsed());
                    n += 1;
                }
                latencies
            })
        })
        .collect();
    let mut latencies: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("a worker"))
        .collect();
    latencies.sort_unstable();
    let groups: u64 = logs.iter().map(AuditLog::commits).sum();
    for log in &logs {
        log.shutdown();
    }
    let records = latencies.len();
    let at = |q: f64| latencies[((records as f64 * q) as usize).min(records - 1)];
    let secs = seconds as f64;
    println!(
        "{} node(s){} × {threads} threads, {seconds} s: {:.0} records/s, {:.0} groups/s ({:.1} records a group), append p50 {:.2} ms, p99 {:.2} ms",
        nodes,
        if shared {
            " sharing one chain"
        } else {
            " alone"
        },
        records as f64 / secs,
        groups as f64 / secs,
        records as f64 / groups.max(1) as f64,
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
    );
    let report = siis::audit::verify(&mut conn)?;
    println!(
        "verify: {} record(s), first broken {:?}, per node {:?}",
        report.records, report.first_broken, report.por_nodo
    );
    Ok(())
}

//! Three `siis serve` processes over one PostgreSQL primary (with a streaming replica for
//! lookups), behind HAProxy in TCP mode: an agreement's rate holds across the nodes together,
//! a message id used on one node is a replay on another, `kill -9` of a node loses no
//! acknowledged answer's audit record and no acknowledged write, a primary restart gives 503
//! with `Retry-After` and then answers again without any node restarted, a node draining on
//! SIGTERM costs its clients nothing, and `siis audit verify` passes over everything the three
//! wrote.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::json;
use siis::db::DatabaseUrl;
use siis::domain::Run;
use tempfile::TempDir;

use super::nodos::{Balanceador, Comun, Nodo, haproxy_available};
use super::pg::PgCluster;
use crate::registry;
use crate::support::{SHIPPED, convenios_without_limits, make_pki, tls_client_builder};

/// The agreement whose rate the test limits to 5/s (burst 5).
const LENTO: &str = "minvu";

/// A client of agreement `convenio` that reaches `addr` under the name the node's certificate
/// carries, with a new connection for each request (HAProxy balances connections, not
/// requests).
fn cliente(pki: &Path, convenio: &str, addr: SocketAddr) -> reqwest::Client {
    let cert = pki.join("clients").join(format!("{convenio}.pem"));
    let key = pki.join("clients").join(format!("{convenio}-key.pem"));
    tls_client_builder(&pki.join("ca.pem"), Some((&cert, &key)), &[addr])
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client")
}

fn url(path: &str) -> String {
    format!("https://localhost{path}")
}

/// Sets the test agreement's limits to 5/s with a burst of 5 (the others stay unlimited).
fn limitar(convenios: &Path) {
    let file = convenios.join(format!("{LENTO}.toml"));
    let text = std::fs::read_to_string(&file).expect("agreement");
    let text = text
        .replace("per_second = 100000", "per_second = 5")
        .replace("burst = 100000", "burst = 5");
    std::fs::write(&file, text).expect("agreement");
}

/// What a load of lookups through the balancer got: the message ids answered 200, and the
/// requests that failed without an answer (connection errors).
#[derive(Default)]
struct Carga {
    ok: Vec<String>,
    answered_other: Vec<u16>,
    failed: Vec<String>,
}

/// Lookups of `run` by `ips` through the balancer, `workers` at a time, each with an id of its
/// own, until `stop` is set.
async fn cargar(
    pki: std::path::PathBuf,
    addr: SocketAddr,
    run: Run,
    prefix: &str,
    workers: usize,
    stop: Arc<AtomicBool>,
) -> Carga {
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let client = cliente(&pki, "ips", addr);
        let stop = stop.clone();
        let prefix = prefix.to_owned();
        tasks.spawn(async move {
            let mut carga = Carga::default();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                let id = format!("{prefix}-{w}-{i}");
                let r = client
                    .get(url(&format!("/api/v1/personas/{run}/ficha")))
                    .header("X-Request-Id", &id)
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status() == 200 => carga.ok.push(id),
                    Ok(r) => carga.answered_other.push(r.status().as_u16()),
                    Err(e) => carga.failed.push(format!("{id}: {e}")),
                }
            }
            carga
        });
    }
    let mut all = Carga::default();
    for carga in tasks.join_all().await {
        all.ok.extend(carga.ok);
        all.answered_other.extend(carga.answered_other);
        all.failed.extend(carga.failed);
    }
    all
}

/// The message ids the audit holds, and the nodes that wrote records.
fn auditados(database: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    #[derive(QueryableByName)]
    struct Fila {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id_mensaje: String,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        nodo: Option<String>,
    }
    let mut conn = PgConnection::establish(database).expect("primary");
    let filas: Vec<Fila> = diesel::sql_query("SELECT id_mensaje, nodo FROM auditoria")
        .load(&mut conn)
        .expect("audit");
    let ids = filas.iter().map(|f| f.id_mensaje.clone()).collect();
    let nodos = filas.into_iter().filter_map(|f| f.nodo).collect();
    (ids, nodos)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_behind_haproxy_share_limits_replay_and_audit() {
    if !crate::support::postgres_configured() || !haproxy_available() {
        return;
    }
    let Some(mut cluster) = PgCluster::start() else {
        return;
    };
    let dir = TempDir::new().expect("tempdir");
    cluster.on_primary("CREATE DATABASE siis");
    let replica = cluster.add_replica();
    let database = cluster.primary_url("siis");

    // The registry, migrated and seeded before any node starts.
    let pool = siis::db::open_pool(
        &DatabaseUrl::parse(&database).unwrap(),
        1,
        Duration::from_secs(5),
    )
    .expect("registry");
    let options = siis::seed::SeedOptions {
        persons: 300,
        seed: 1,
        sample: None,
        sample_size: 0,
        umbrales: crate::support::umbrales(),
    };
    siis::seed::seed(&mut pool.get().unwrap(), &options, &mut |_| {}).expect("seed");
    let run = registry::with_ficha(&mut pool.get().unwrap(), Some("13101"));
    drop(pool);

    let pki = make_pki(dir.path(), SHIPPED);
    let convenios = convenios_without_limits(dir.path());
    limitar(&convenios);
    let comun = Comun {
        database: database.clone(),
        pki: pki.clone(),
        convenios,
        dir: dir.path().to_owned(),
        env: vec![
            (
                "SIIS__DATABASE__REPLICAS".into(),
                format!("[\"{}\"]", cluster.replica_url(replica, "siis")),
            ),
            ("SIIS__DATABASE__POOL_TIMEOUT_SECS".into(), "2".into()),
            ("SIIS__LISTEN__DRAIN_SECS".into(), "2".into()),
        ],
    };
    let mut nodos: Vec<Nodo> = ["n1", "n2", "n3"]
        .iter()
        .map(|n| Nodo::start(&comun, n))
        .collect();
    let lb = Balanceador::start(dir.path(), &nodos.iter().collect::<Vec<_>>());
    let logs = |nodos: &[Nodo]| {
        nodos
            .iter()
            .map(|n| format!("--- {}\n{}", n.nombre, n.logged()))
            .collect::<Vec<_>>()
            .join("\n")
    };

    // 1. The 5/s agreement, asked 20 times a second for 3 s through the balancer (a new
    //    connection each time, so all three nodes answer): at most its burst plus 5 a second.
    let lento = cliente(&pki, LENTO, lb.addr);
    let started = Instant::now();
    let (mut admitted, mut limited) = (0u32, 0u32);
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while started.elapsed() < Duration::from_secs(3) {
        tick.tick().await;
        let r = lento
            .get(url(&format!("/api/v1/personas/{run}/ficha")))
            .send()
            .await
            .expect("through the balancer");
        match r.status().as_u16() {
            200 => admitted += 1,
            429 => limited += 1,
            other => panic!("status {other}\n{}", logs(&nodos)),
        }
    }
    let allowed = 5.0 + 5.0 * started.elapsed().as_secs_f64();
    assert!(
        f64::from(admitted) <= allowed + 1.0,
        "{admitted} admitted in {:?}, the limit allows {allowed:.0}",
        started.elapsed()
    );
    assert!(
        f64::from(admitted) >= allowed * 0.5,
        "{admitted} admitted of {allowed:.0}: the nodes under-admit"
    );
    assert!(limited > 0);
    let (_, answered_by) = auditados(&database);
    assert_eq!(
        answered_by,
        BTreeSet::from(["n1".to_owned(), "n2".to_owned(), "n3".to_owned()]),
        "every node answered and its records name it"
    );

    // 2. A message id used on n1 is a replay on n2.
    let on = |n: &Nodo| cliente(&pki, "ips", n.agency);
    let first = on(&nodos[0])
        .get(url("/api/v1/ping"))
        .header("X-Request-Id", "varios-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let again = on(&nodos[1])
        .get(url("/api/v1/ping"))
        .header("X-Request-Id", "varios-0001")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let body: serde_json::Value = again.json().await.unwrap();
    assert_eq!(body["code"], "MENSAJE_REPETIDO");

    // 3. kill -9 of n2 under load: every answer a client got has its audit record, and every
    //    certificate a client was given exists; only requests in flight on n2 fail.
    let stop = Arc::new(AtomicBool::new(false));
    let carga = tokio::spawn(cargar(pki.clone(), lb.addr, run, "k9", 4, stop.clone()));
    let emisor = {
        let client = cliente(&pki, "muni-13101", lb.addr);
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut folios = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let r = client
                    .post(url("/api/v1/certificados"))
                    .json(&json!({ "run": run.dotted(), "tipo": "certificado_fps" }))
                    .send()
                    .await;
                if let Ok(r) = r
                    && r.status() == 200
                {
                    let v: serde_json::Value = r.json().await.unwrap();
                    folios.push(v["folio"].as_str().unwrap().to_owned());
                }
            }
            folios
        })
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    nodos[1].kill();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    stop.store(true, Ordering::Relaxed);
    let carga = carga.await.unwrap();
    let folios = emisor.await.unwrap();
    assert!(carga.ok.len() > 20, "{} answered", carga.ok.len());
    assert!(
        carga.failed.len() <= 4,
        "more failures than requests in flight: {:?}",
        carga.failed
    );
    assert!(
        carga.answered_other.is_empty(),
        "{:?}",
        carga.answered_other
    );
    let (ids, _) = auditados(&database);
    let lost: Vec<&String> = carga.ok.iter().filter(|id| !ids.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "answered without an audit record: {lost:?}"
    );
    assert!(!folios.is_empty());
    let mut conn = PgConnection::establish(&database).unwrap();
    for folio in &folios {
        let n: i64 = siis::db::schema::certificados::table
            .filter(siis::db::schema::certificados::folio.eq(folio))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(
            n, 1,
            "certificate {folio} was given but is not in the registry"
        );
    }
    drop(conn);
    lb.wait_for(
        |e| e.get("n2").is_some_and(|s| s.starts_with("DOWN")),
        "n2 DOWN",
    );

    // 4. The primary restarts: the nodes answer 503 with Retry-After, never a dropped
    //    connection, then 200 again on their own.
    let ips = cliente(&pki, "ips", lb.addr);
    cluster.stop_primary();
    let mut unavailable = 0;
    let down = Instant::now();
    while down.elapsed() < Duration::from_secs(3) {
        let r = ips
            .get(url(&format!("/api/v1/personas/{run}/ficha")))
            .send()
            .await
            .unwrap_or_else(|e| panic!("no answer while the primary is down: {e}"));
        assert_eq!(r.status(), 503, "{}", logs(&nodos));
        assert!(r.headers().contains_key("retry-after"));
        unavailable += 1;
    }
    assert!(unavailable > 1);
    cluster.start_primary();
    let back = Instant::now();
    loop {
        let r = ips
            .get(url(&format!("/api/v1/personas/{run}/ficha")))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "still {} 30 s after the primary came back\n{}",
            r.status(),
            logs(&nodos)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Each node recovers on its own (its probe sees the primary back): the balancer's first 200
    // came from one of them; the other may take a moment more.
    for n in [&nodos[0], &nodos[2]] {
        let direct = on(n);
        let back = Instant::now();
        while direct
            .get(url(&format!("/api/v1/personas/{run}/ficha")))
            .send()
            .await
            .map_or(true, |r| r.status() != 200)
        {
            assert!(
                back.elapsed() < Duration::from_secs(30),
                "{} did not recover\n{}",
                n.nombre,
                logs(&nodos)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    // 5. n3 drains on SIGTERM under load: its clients see no error, HAProxy stops sending it
    //    new connections, and it exits cleanly.
    let stop = Arc::new(AtomicBool::new(false));
    let carga = tokio::spawn(cargar(pki.clone(), lb.addr, run, "drain", 4, stop.clone()));
    tokio::time::sleep(Duration::from_millis(700)).await;
    nodos[2].terminate();
    lb.wait_for(
        |e| e.get("n3").is_some_and(|s| s != "UP"),
        "n3 out of rotation",
    );
    let code = nodos[2].wait(Duration::from_secs(30));
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    let carga = carga.await.unwrap();
    assert_eq!(code, Some(0), "{}", nodos[2].logged());
    assert!(
        carga.failed.is_empty() && carga.answered_other.is_empty(),
        "while n3 drained: {:?} {:?}",
        carga.failed,
        carga.answered_other
    );

    // 6. One audit, verified whole, with each node's checkpoints.
    let mut args = vec!["audit".to_owned(), "verify".to_owned()];
    for n in ["n1", "n2", "n3"] {
        args.push("--checkpoints".into());
        args.push(
            dir.path()
                .join(format!("checkpoints-{n}.jsonl"))
                .display()
                .to_string(),
        );
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_siis"))
        .env_clear()
        .env("SIIS__DATABASE__URL", &database)
        .env("SIIS__TLS__DIR", &pki)
        .args(&args)
        .output()
        .unwrap();
    let text = crate::support::succeeded(&out);
    let per_node = text
        .lines()
        .find(|l| l.starts_with("record(s) per node:"))
        .unwrap_or_else(|| panic!("verify counts records per node: {text}"));
    for n in ["n1", "n2", "n3"] {
        assert!(
            per_node.contains(&format!("{n} ")),
            "verify names the records of {n}: {text}"
        );
    }
}

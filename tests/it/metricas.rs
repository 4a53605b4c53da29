//! `GET /metrics` on the admin listener (Prometheus), and readiness that follows the audit log.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::DatabaseUrl;

use crate::per_backend;
use crate::registry;
use crate::soap::client::tool_available;
use crate::support::{Backend, Setup, TestNode};

/// The value of the one sample of `family` whose labels include every pair of `labels`,
/// summed over the samples that match (0 when none does).
pub fn sample(text: &str, family: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{family}{{")) || l.starts_with(&format!("{family} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// `GET /metrics` of `node`, in Prometheus' text format.
pub async fn scrape(node: &TestNode) -> String {
    let r = node
        .client(None)
        .get(node.admin_url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    r.text().await.unwrap()
}

/// `promtool check metrics` (Debian's prometheus package) accepts the exposition.
fn promtool_accepts(text: &str) {
    use std::io::Write;
    if !tool_available(
        std::process::Command::new("promtool").arg("--version"),
        "promtool (Debian package prometheus)",
    ) {
        return;
    }
    let mut child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

per_backend!(
    async fn metrics_count_requests_persons_and_the_audit_log(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 2_000,
                ..Setup::default()
            },
        )
        .await;
        let before = scrape(&node).await;
        promtool_accepts(&before);
        let quota = |text: &str| {
            sample(
                text,
                "siis_quota_remaining",
                &[("convenio", "minvu"), ("budget", "consultas")],
            )
        };
        let full = quota(&before);
        assert!(full > 0.0, "{before}");

        let minvu = node.client(Some("minvu"));
        let run = registry::with_ficha(&mut node.db(), None);
        let one = minvu
            .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
            .send()
            .await
            .unwrap();
        assert_eq!(one.status(), 200);
        let batch = minvu
            .post(node.agency_url("/api/v1/fichas/consultas"))
            .json(&json!({ "runs": [run.to_string(), run.to_string(), "1-9"] }))
            .send()
            .await
            .unwrap();
        assert_eq!(batch.status(), 200);
        // Not granted to MINVU: counted with its code; refused before the limits, it takes
        // nothing of the budget.
        let refused = minvu
            .get(node.agency_url(&format!("/api/v1/personas/{run}/accesos")))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 403);

        let after = scrape(&node).await;
        promtool_accepts(&after);
        let minvu_ok = [("convenio", "minvu"), ("code", "OK"), ("transport", "rest")];
        assert_eq!(sample(&after, "siis_requests_total", &minvu_ok), 2.0, "{after}");
        let refusals = [("convenio", "minvu"), ("code", "NO_AUTORIZADO")];
        assert_eq!(sample(&after, "siis_requests_total", &refusals), 1.0, "{after}");
        // Persons, not calls: 1 + 3 (a batch's repeats and invalid RUNs cost too).
        let persons = sample(&after, "siis_personas_total", &[("convenio", "minvu")]);
        assert_eq!(persons, 4.0, "{after}");
        assert_eq!(full - quota(&after), 4.0, "the quota left follows: {after}");
        assert!(sample(&after, "siis_request_duration_seconds_count", &[]) >= 3.0);
        assert!(sample(&after, "siis_audit_commits_total", &[]) >= 1.0, "{after}");
        assert!(sample(&after, "siis_audit_commit_duration_seconds_count", &[]) >= 1.0);
        assert_eq!(sample(&after, "siis_audit_queue", &[]), 0.0);
        assert!(sample(&after, "siis_pool_wait_seconds_count", &[]) >= 1.0, "{after}");
        assert!(sample(&after, "siis_lookup_group_size_count", &[]) >= 1.0, "{after}");
        // Labels name agreements and operations, never a person.
        assert!(!after.contains(&run.to_string()), "a RUN in the metrics");
        assert!(!after.contains(&run.numero().to_string()), "a RUN in the metrics");

        // A scraper that asks for OpenMetrics gets it.
        let om = node
            .client(None)
            .get(node.admin_url("/metrics"))
            .header("accept", "application/openmetrics-text; version=1.0.0")
            .send()
            .await
            .unwrap();
        assert!(
            om.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text")
        );
        assert!(om.text().await.unwrap().ends_with("# EOF\n"));
        node.stop().await;
    }
);

per_backend!(
    async fn a_provider_batch_shows_in_the_feed_counters(backend) {
        let node = TestNode::start(backend).await;
        let csv = "run,nombres,apellido_paterno,apellido_materno,fecha_nacimiento,sexo,nacionalidad\n\
                   71000002-6,ANA,SOTO,PEREZ,1980-01-02,F,CL\n\
                   1-1,MALO,X,Y,1980-01-02,F,CL\n";
        let r = node
            .client(Some("srcei"))
            .post(node.agency_url("/api/v1/lotes/personas"))
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        let text = scrape(&node).await;
        promtool_accepts(&text);
        let of = |result: &str| {
            sample(
                &text,
                "siis_lote_records_total",
                &[("convenio", "srcei"), ("tipo", "personas"), ("result", result)],
            )
        };
        assert_eq!((of("read"), of("applied"), of("rejected")), (2.0, 1.0, 1.0), "{text}");
        assert_eq!(sample(&text, "siis_lotes_in_progress", &[]), 0.0);
        node.stop().await;
    }
);

/// `GET /readyz`: its status and body.
async fn readyz(node: &TestNode) -> (u16, Value) {
    let r = node
        .client(None)
        .get(node.admin_url("/readyz"))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json::<Value>().await.unwrap())
}

/// Holds the audit log's write lock from outside the node, as a stuck database would.
fn lock_audit(backend: Backend, url: &DatabaseUrl) -> Box<dyn std::any::Any> {
    match backend {
        Backend::Sqlite => {
            let file = url.audit_file().expect("the audit log's own file");
            let mut conn =
                diesel::SqliteConnection::establish(&file.display().to_string()).unwrap();
            conn.batch_execute("BEGIN EXCLUSIVE").unwrap();
            Box::new(conn)
        }
        Backend::Postgres => {
            let DatabaseUrl::Postgres(url) = url else {
                unreachable!()
            };
            let mut conn = diesel::PgConnection::establish(url).unwrap();
            conn.batch_execute("BEGIN; LOCK TABLE auditoria IN EXCLUSIVE MODE")
                .unwrap();
            Box::new(conn)
        }
    }
}

per_backend!(
    async fn readiness_fails_while_audit_records_wait_on_a_stuck_writer(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                audit_stall_secs: Some(1),
                ..Setup::default()
            },
        )
        .await;
        let ready = || readyz(&node);
        assert_eq!(ready().await.0, 200);
        let lock = lock_audit(backend, &node.config.database.url);
        // A ping is audited: it waits for the writer, which waits for the lock.
        let client = node.client(Some("minvu"));
        let url = node.agency_url("/api/v1/ping");
        let ping = tokio::spawn(async move { client.get(url).send().await.map(|r| r.status()) });
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        let (status, body) = ready().await;
        assert_eq!((status, body["code"].as_str()), (503, Some("AUDITORIA_DETENIDA")), "{body}");
        drop(lock);
        let answered = ping.await.unwrap().unwrap();
        assert!(answered.is_success() || answered.as_u16() == 503, "{answered}");
        let (status, body) = ready().await;
        assert_eq!(status, 200, "ready again once the writer moves: {body}");
        node.stop().await;
    }
);

/// SQLite: a reader holding an old snapshot of the audit log keeps its write-ahead log from
/// starting over; past `database.wal_limit_mb` the node is not ready (`WAL_EXCEDIDO`, naming
/// the file), and it is ready again once the reader lets go.
#[actix_web::test]
async fn sqlite_readiness_fails_while_a_wal_is_past_its_bound() {
    let node = TestNode::start_with(
        Backend::Sqlite,
        Setup {
            wal_limit_mb: Some(1),
            ..Setup::default()
        },
    )
    .await;
    let readyz = || readyz(&node);
    let file = node.config.database.url.audit_file().unwrap();
    let mut reader = diesel::SqliteConnection::establish(&file.display().to_string()).unwrap();
    reader
        .batch_execute("BEGIN; SELECT count(*) FROM auditoria;")
        .unwrap();
    let client = node.client(Some("minvu"));
    // Each ping is audited in a commit of its own: a few pages of WAL each.
    for _ in 0..400 {
        let r = client
            .get(node.agency_url("/api/v1/ping"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let mut seen = None;
    for _ in 0..50 {
        let (status, body) = readyz().await;
        if status == 503 {
            seen = Some(body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let body = seen.expect("readiness never saw the WAL past its bound");
    assert_eq!(body["code"], "WAL_EXCEDIDO", "{body}");
    assert!(
        body["problemas"][0]
            .as_str()
            .unwrap()
            .starts_with("audit: "),
        "{body}"
    );
    reader.batch_execute("COMMIT;").unwrap();
    let mut ready = false;
    for _ in 0..100 {
        if readyz().await.0 == 200 {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(ready, "still not ready after the reader let go");
    node.stop().await;
}

per_backend!(
    async fn readiness_fails_while_signed_checkpoints_cannot_be_written(backend) {
        // The checkpoint file's folder is a regular file: no checkpoint can be written.
        let blocker = tempfile::NamedTempFile::new().unwrap();
        let node = TestNode::start_with(
            backend,
            Setup {
                checkpoint_secs: Some(1),
                checkpoints: Some(blocker.path().join("checkpoints.jsonl")),
                ..Setup::default()
            },
        )
        .await;
        // An audited request: there is a head to sign, and nowhere to write it.
        let ping = node
            .client(Some("minvu"))
            .get(node.agency_url("/api/v1/ping"))
            .send()
            .await
            .unwrap();
        assert_eq!(ping.status(), 200);
        let mut seen = None;
        for _ in 0..40 {
            let (status, body) = readyz(&node).await;
            if status == 503 {
                seen = Some(body);
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let body = seen.expect("readiness never noticed the checkpoints stopped");
        assert_eq!(body["code"], "AUDITORIA_DETENIDA", "{body}");
        assert!(body["detail"].as_str().unwrap().contains("checkpoint"), "{body}");
        node.stop().await;
    }
);

per_backend!(
    async fn an_answer_withheld_for_want_of_its_record_is_counted_as_sent(backend) {
        let node = TestNode::start(backend).await;
        crate::soap::break_audit(&mut node.db());
        let r = node
            .client(Some("minvu"))
            .get(node.agency_url("/api/v1/ping"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503);
        let text = scrape(&node).await;
        let ping = |code: &str| {
            sample(
                &text,
                "siis_requests_total",
                &[("convenio", "minvu"), ("operation", "Ping"), ("code", code)],
            )
        };
        assert_eq!((ping("NO_DISPONIBLE"), ping("OK")), (1.0, 0.0), "{text}");
        node.stop().await;
    }
);

//! Draining before a stop, and the load balancer's check `GET /admin/balanceador`: 200
//! serving, 404 draining (every answer then closes its connection), 503 for a fault of the
//! node alone; and a real `siis serve` told to stop (SIGTERM) that drains for
//! `listen.drain_secs`, still answering, before it exits cleanly.

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use siis::domain::ConvenioId;
use tempfile::TempDir;

use crate::cli::{siis, wait_with_timeout};
use crate::per_backend;
use crate::support::{Setup, TestNode, tls_client};

async fn balanceador(node: &TestNode) -> (u16, Value) {
    let answer = node
        .client(None)
        .get(node.admin_url("/admin/balanceador"))
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

per_backend!(
    async fn the_balancer_check_says_serving_then_draining_and_answers_close_connections(backend) {
        let node = TestNode::start(backend).await;
        let minvu = node.client(Some("minvu"));
        let (status, body) = balanceador(&node).await;
        assert_eq!((status, body["status"].as_str()), (200, Some("serving")));
        let before = minvu.get(node.agency_url("/api/v1/ping")).send().await.unwrap();
        assert_eq!(before.status(), 200);
        assert_ne!(before.headers().get("connection").map(|v| v.as_bytes()), Some(&b"close"[..]));

        node.node.drain.begin();
        let (status, body) = balanceador(&node).await;
        assert_eq!((status, body["status"].as_str()), (404, Some("draining")));
        // Still served, on both TLS listeners, each answer closing its connection.
        let agency = minvu.get(node.agency_url("/api/v1/ping")).send().await.unwrap();
        assert_eq!(agency.status(), 200);
        assert_eq!(agency.headers()["connection"], "close");
        let public = node.client(None).get(node.public_url("/api/v1/ping")).send().await.unwrap();
        assert_eq!(public.status(), 200);
        assert_eq!(public.headers()["connection"], "close");
        let metrics = node.client(None).get(node.admin_url("/metrics")).send().await.unwrap();
        let metrics = metrics.text().await.unwrap();
        assert!(metrics.lines().any(|l| l == "siis_draining 1"), "{metrics}");
        // Readiness is another question (the registry and the audit answer).
        let ready = node.client(None).get(node.admin_url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        node.stop().await;
    }
);

per_backend!(
    async fn the_balancer_check_fails_for_a_revocation_list_past_next_update(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                configure: Some(Box::new(|config| {
                    let expired = chrono::Utc::now() - chrono::TimeDelta::hours(1);
                    config.tls.crl =
                        Some(siis::pki::dev_crl(&config.tls.dir, &[], expired).unwrap());
                })),
                ..Setup::default()
            },
        )
        .await;
        let (status, body) = balanceador(&node).await;
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["code"], "REVOCACION_VENCIDA", "{body}");
        node.stop().await;
    }
);

/// The addresses in the unit's status line ("serving: agency A, public P, admin M").
fn addresses(status: &str) -> (String, String) {
    let after = |key: &str| {
        status
            .split(key)
            .nth(1)
            .and_then(|s| s.split(',').next())
            .unwrap_or_else(|| panic!("{key} in {status}"))
            .trim()
            .to_owned()
    };
    (after("agency "), after("admin "))
}

/// The next datagram on the notify socket that holds `line`.
fn wait_for(socket: &UnixDatagram, line: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = vec![0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "no {line:?}");
        socket.set_read_timeout(Some(left)).unwrap();
        if let Ok(n) = socket.recv(&mut buf) {
            let message = String::from_utf8_lossy(&buf[..n]).into_owned();
            if message.lines().any(|l| l == line) {
                return message;
            }
        }
    }
}

/// `siis serve` on a SQLite registry of its own with `listen.drain_secs`, its notify socket,
/// a client with MINVU's certificate, and the URLs of its agency ping and balancer check.
struct Served {
    child: std::process::Child,
    socket: UnixDatagram,
    client: reqwest::Client,
    ping: String,
    check: String,
    runtime: tokio::runtime::Runtime,
    _dir: TempDir,
}

impl Served {
    fn start(drain_secs: u64) -> Served {
        let dir = TempDir::new().unwrap();
        let pki = dir.path().join("pki");
        siis::pki::dev(&pki, &[ConvenioId::parse("minvu").unwrap()]).unwrap();
        let socket_path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&socket_path).unwrap();
        let child = siis(dir.path())
            .arg("serve")
            .env("SIIS__TLS__DIR", "pki")
            .env("SIIS__TLS__ALLOW_CA_KEY", "true")
            .env("SIIS__DATABASE__URL", "sqlite://siis.db")
            .env("SIIS__LISTEN__DRAIN_SECS", drain_secs.to_string())
            .env("NOTIFY_SOCKET", &socket_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let ready = wait_for(&socket, "READY=1");
        let status = ready
            .lines()
            .find_map(|l| l.strip_prefix("STATUS="))
            .unwrap_or_else(|| panic!("{ready}"));
        let (agency, admin) = addresses(status);
        let client = tls_client(
            &pki.join("ca.pem"),
            Some((
                &pki.join("clients/minvu.pem"),
                &pki.join("clients/minvu-key.pem"),
            )),
            &[agency.parse().unwrap()],
        );
        let agency_port = agency.rsplit(':').next().unwrap().to_owned();
        Served {
            child,
            socket,
            client,
            ping: format!("https://localhost:{agency_port}/api/v1/ping"),
            check: format!("http://{admin}/admin/balanceador"),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            _dir: dir,
        }
    }

    /// The status and whether the answer closes its connection.
    fn get(&self, url: &str) -> (u16, bool) {
        self.runtime.block_on(async {
            let answer = self.client.get(url).send().await.unwrap();
            let close = answer
                .headers()
                .get("connection")
                .is_some_and(|v| v.as_bytes() == b"close");
            (answer.status().as_u16(), close)
        })
    }

    fn term(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
}

#[test]
fn serve_drains_on_sigterm_then_exits_cleanly() {
    let mut node = Served::start(3);
    assert_eq!(node.get(&node.check), (200, false));
    assert_eq!(node.get(&node.ping), (200, false));

    let term = Instant::now();
    node.term();
    let stopping = wait_for(&node.socket, "STOPPING=1");
    assert!(stopping.contains("draining for 3 s"), "{stopping}");
    // Draining: the check says 404, requests are still answered, each closing its connection.
    assert_eq!(node.get(&node.check).0, 404);
    for _ in 0..3 {
        assert_eq!(node.get(&node.ping), (200, true));
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        node.child.try_wait().unwrap().is_none(),
        "exited while draining"
    );
    assert!(wait_with_timeout(&mut node.child, Duration::from_secs(20)).success());
    let took = term.elapsed();
    assert!(
        took >= Duration::from_secs(3),
        "stopped after {took:?}, before drain_secs"
    );
    // Gone: nothing answers.
    let gone = node
        .runtime
        .block_on(async { node.client.get(&node.ping).send().await });
    assert!(gone.is_err());
}

#[test]
fn a_second_sigterm_cuts_the_drain_short() {
    let mut node = Served::start(120);
    let term = Instant::now();
    node.term();
    wait_for(&node.socket, "STOPPING=1");
    assert_eq!(node.get(&node.check).0, 404);
    node.term();
    assert!(wait_with_timeout(&mut node.child, Duration::from_secs(20)).success());
    assert!(
        term.elapsed() < Duration::from_secs(30),
        "{:?}",
        term.elapsed()
    );
}

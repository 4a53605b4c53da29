//! `siis serve` processes sharing one PostgreSQL, and HAProxy in front of them: what the
//! README's *Running several nodes* describes, started from a test.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};

use super::pg::free_port;
use crate::navegador::process::ProcessGroup;

/// One `siis serve` process.
pub struct Nodo {
    pub nombre: String,
    pub agency: SocketAddr,
    pub admin: SocketAddr,
    process: ProcessGroup,
    /// Everything it has logged, to show when a test fails.
    pub log: Arc<Mutex<Vec<String>>>,
}

/// What every node of a test shares: the database, the PKI and the agreements.
pub struct Comun {
    pub database: String,
    pub pki: PathBuf,
    pub convenios: PathBuf,
    pub dir: PathBuf,
    /// More `SIIS__…` settings for every node.
    pub env: Vec<(String, String)>,
}

impl Nodo {
    /// Starts node `nombre` on ports chosen by the system and waits for its "node started".
    pub fn start(comun: &Comun, nombre: &str) -> Nodo {
        Self::spawn(comun, nombre, true)
    }

    /// Starts a node alone over its database (no `cluster.nodo`: SQLite's only mode).
    pub fn solo(comun: &Comun) -> Nodo {
        Self::spawn(comun, "solo", false)
    }

    fn spawn(comun: &Comun, nombre: &str, cluster: bool) -> Nodo {
        let mut command = Command::new(env!("CARGO_BIN_EXE_siis"));
        command
            .env_clear()
            .current_dir(&comun.dir)
            .env("SIIS__DATABASE__URL", &comun.database)
            .env("SIIS__DATABASE__POOL_SIZE", "3")
            .env("SIIS__LISTEN__AGENCY", "127.0.0.1:0")
            .env("SIIS__LISTEN__PUBLIC", "127.0.0.1:0")
            .env("SIIS__LISTEN__ADMIN", "127.0.0.1:0")
            .env("SIIS__LISTEN__WORKERS", "1")
            .env("SIIS__TLS__DIR", &comun.pki)
            .env("SIIS__CONVENIOS__DIR", &comun.convenios)
            .env(
                "SIIS__ELEGIBILIDAD__REGLAS",
                crate::support::repo_path("conf/elegibilidad.toml"),
            )
            .env(
                "SIIS__ENCUESTA__MODELOS",
                crate::support::repo_path("conf/modelos"),
            )
            .env(
                "SIIS__AUDIT__CHECKPOINTS",
                comun.dir.join(format!("checkpoints-{nombre}.jsonl")),
            )
            .env("SIIS__CONSOLA__HABILITADA", "false")
            .env("SIIS__AUDIT__CHECKPOINT_SECS", "1")
            // The test PKI keeps its CA key beside the certificates.
            .env("SIIS__TLS__ALLOW_CA_KEY", "true")
            .env("SIIS__LOG__FILTER", "info")
            .args(["serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if cluster {
            command.env("SIIS__CLUSTER__NODO", nombre);
        }
        for (key, value) in &comun.env {
            command.env(key, value);
        }
        let mut process = ProcessGroup::spawn(&mut command).expect("spawn siis serve");
        let stderr = process.leader().stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let _ = tx.send(line.clone());
                    log.lock().unwrap().push(line);
                }
            });
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        let field = |line: &str, name: &str| -> Option<SocketAddr> {
            line.split(&format!("{name}="))
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        };
        let (agency, admin) = loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| {
                    panic!(
                        "node {nombre} did not start:\n{}",
                        log.lock().unwrap().join("\n")
                    )
                });
            if line.contains("node started")
                && let (Some(agency), Some(admin)) = (field(&line, "agency"), field(&line, "admin"))
            {
                break (agency, admin);
            }
        };
        Nodo {
            nombre: nombre.to_owned(),
            agency,
            admin,
            process,
            log,
        }
    }

    fn pid(&mut self) -> Pid {
        Pid::from_child(self.process.leader())
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// SIGTERM, as `systemctl stop` sends it.
    pub fn terminate(&mut self) {
        let pid = self.pid();
        kill_process(pid, Signal::TERM).expect("SIGTERM");
    }

    /// Waits for the process to end after [`Nodo::terminate`], and returns its exit code.
    pub fn wait(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.process.leader().try_wait().expect("wait") {
                return status.code();
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What it logged so far.
    pub fn logged(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

/// HAProxy in TCP mode in front of the nodes' agency listeners: mutual TLS ends at the node,
/// which still sees the client's certificate. Each node is checked on its admin listener's
/// `/admin/balanceador`: 404 (draining) sends no new connections to it, and keeps those it has.
pub struct Balanceador {
    pub addr: SocketAddr,
    pub socket: PathBuf,
    process: ProcessGroup,
    log: Arc<Mutex<Vec<String>>>,
}

/// Whether HAProxy is installed: missing, the tests that need it say so and pass, except
/// under CI (`CI` set), where `.ci/run` installs it and its absence is a failure.
pub fn haproxy_available() -> bool {
    let found = Command::new("haproxy")
        .arg("-v")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "haproxy is not installed (.ci/run installs Debian's)"
        );
        eprintln!("skipped: haproxy is not installed");
    }
    found
}

impl Balanceador {
    pub fn start(dir: &Path, nodos: &[&Nodo]) -> Balanceador {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let socket = dir.join("haproxy.sock");
        let mut servers = String::new();
        for nodo in nodos {
            servers.push_str(&format!(
                "    server {} {} check port {}\n",
                nodo.nombre,
                nodo.agency,
                nodo.admin.port()
            ));
        }
        let config = format!(
            "global\n\
             \x20   maxconn 2000\n\
             \x20   stats socket {socket} mode 600 level admin\n\
             \x20   log stdout format raw local0 info\n\
             defaults\n\
             \x20   mode tcp\n\
             \x20   log global\n\
             \x20   option tcplog\n\
             \x20   timeout connect 1s\n\
             \x20   timeout client 30s\n\
             \x20   timeout server 30s\n\
             \x20   timeout check 1s\n\
             \x20   retries 3\n\
             \x20   option redispatch 1\n\
             frontend agencias\n\
             \x20   bind {addr}\n\
             \x20   default_backend nodos\n\
             backend nodos\n\
             \x20   balance roundrobin\n\
             \x20   option httpchk\n\
             \x20   http-check send meth GET uri /admin/balanceador ver HTTP/1.1 hdr Host localhost\n\
             \x20   http-check expect status 200\n\
             \x20   http-check disable-on-404\n\
             \x20   default-server inter 500ms fastinter 250ms downinter 1s fall 2 rise 2 on-marked-down shutdown-sessions\n\
             {servers}",
            socket = socket.display(),
        );
        let file = dir.join("haproxy.cfg");
        std::fs::write(&file, config).expect("haproxy.cfg");
        let check = Command::new("haproxy")
            .args(["-c", "-f"])
            .arg(&file)
            .output()
            .expect("haproxy -c");
        assert!(
            check.status.success(),
            "haproxy refused its configuration: {}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let mut process = ProcessGroup::spawn(
            Command::new("haproxy")
                .args(["-db", "-f"])
                .arg(&file)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        )
        .expect("spawn haproxy");
        let log = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            process
                .leader()
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            process
                .leader()
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock().unwrap().push(line);
                }
            });
        }
        let balanceador = Balanceador {
            addr,
            socket,
            process,
            log,
        };
        balanceador.wait_for(|estado| estado.values().all(|s| s == "UP"), "every node UP");
        balanceador
    }

    /// Each server's status as HAProxy's runtime API reports it (`UP`, `NOLB`, `DOWN`, …).
    pub fn estado(&self) -> std::collections::BTreeMap<String, String> {
        use std::io::{Read, Write};
        // Empty until HAProxy has opened its socket.
        let mut text = String::new();
        let Ok(mut stream) = std::os::unix::net::UnixStream::connect(&self.socket) else {
            return Default::default();
        };
        if stream.write_all(b"show stat\n").is_err() || stream.read_to_string(&mut text).is_err() {
            return Default::default();
        }
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or("")
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let column = |name: &str| header.iter().position(|h| *h == name);
        let (Some(px), Some(sv), Some(status)) =
            (column("pxname"), column("svname"), column("status"))
        else {
            return Default::default();
        };
        lines
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| {
                f.get(px) == Some(&"nodos") && !matches!(f.get(sv), Some(&"BACKEND") | None)
            })
            .map(|f| (f[sv].to_owned(), f[status].to_owned()))
            .collect()
    }

    /// Waits up to 20 s until `ready` holds for the servers' statuses.
    pub fn wait_for(
        &self,
        ready: impl Fn(&std::collections::BTreeMap<String, String>) -> bool,
        what: &str,
    ) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let estado = self.estado();
            if !estado.is_empty() && ready(&estado) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "HAProxy: not {what} within 20 s: {estado:?}\n{}",
                self.log.lock().unwrap().join("\n")
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Balanceador {
    fn drop(&mut self) {
        self.process.kill();
    }
}

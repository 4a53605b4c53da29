//! The agency listener's trust boundary: revocation that reloads and reaches open connections
//! (`revocation`), agreements that bind the issuing CA and a node that refuses to hold a CA's
//! key (`identity`). This file holds their helpers: a node started on a TLS folder the test
//! prepares, and a raw HTTP/1.1 client over one TLS connection, so that a test knows which
//! connection a request travelled on and whether its session was resumed.

mod identity;
mod revocation;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use siis::config::Config;
use siis::startup::Node;
use tempfile::TempDir;

use crate::support::{Backend, SHIPPED, TestDb, make_pki, test_config, tls_client};

/// A node started on a TLS folder (and configuration) that the test prepared.
pub struct Started {
    pub node: Node,
    pub pki: PathBuf,
    _dir: TempDir,
    _db: TestDb,
}

impl Started {
    /// A development PKI with the shipped agreements' clients; `prepare` may change the
    /// folder and the configuration before the node starts.
    pub async fn start(backend: Backend, prepare: impl FnOnce(&Path, &mut Config)) -> Started {
        let dir = TempDir::new().expect("tempdir");
        let db = TestDb::new(backend, dir.path());
        let pki = make_pki(dir.path(), SHIPPED);
        let mut config = test_config(&db, &pki, dir.path());
        prepare(&pki, &mut config);
        let node = Node::start(Arc::new(config)).expect("node starts");
        Started {
            node,
            pki,
            _dir: dir,
            _db: db,
        }
    }

    /// A client trusting the node's CA, presenting `cert` and `key`.
    pub fn client_with(&self, cert: &Path, key: &Path) -> reqwest::Client {
        tls_client(
            &self.pki.join("ca.pem"),
            Some((cert, key)),
            &[self.node.agency],
        )
    }

    pub fn agency_url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.node.agency.port())
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.node.admin)
    }

    pub async fn stop(self) {
        self.node.stop().await.expect("node stops cleanly");
    }
}

/// A rustls client configuration trusting `pki/ca.pem` and presenting `convenio`'s certificate.
/// Its session cache lets a second connection resume the first one's session.
pub fn raw_config(pki: &Path, convenio: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(pki.join("ca.pem")).expect("ca") {
        roots.add(cert.expect("ca cert")).expect("add ca");
    }
    let chain = CertificateDer::pem_file_iter(pki.join(format!("clients/{convenio}.pem")))
        .expect("cert")
        .collect::<Result<Vec<_>, _>>()
        .expect("chain");
    let key =
        PrivateKeyDer::from_pem_file(pki.join(format!("clients/{convenio}-key.pem"))).expect("key");
    let config = rustls::ClientConfig::builder_with_provider(siis::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .expect("client auth");
    Arc::new(config)
}

/// One TLS connection carrying HTTP/1.1 requests one after another (blocking: the node's
/// listeners run on threads of their own).
pub struct Raw {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
}

/// An answer read off a [`Raw`] connection.
#[derive(Debug)]
pub struct RawAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawAnswer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl Raw {
    /// Connects and completes the TLS handshake.
    pub fn connect(config: &Arc<rustls::ClientConfig>, addr: SocketAddr) -> std::io::Result<Raw> {
        let name = ServerName::try_from("localhost").expect("name");
        let conn =
            rustls::ClientConnection::new(config.clone(), name).map_err(std::io::Error::other)?;
        let sock = TcpStream::connect(addr)?;
        sock.set_read_timeout(Some(std::time::Duration::from_secs(20)))?;
        let mut tls = rustls::StreamOwned::new(conn, sock);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        Ok(Raw { tls })
    }

    /// Whether this connection resumed an earlier session (no certificate was verified).
    pub fn resumed(&self) -> bool {
        self.tls.conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed)
    }

    pub fn get(&mut self, path: &str) -> std::io::Result<RawAnswer> {
        self.send("GET", path, &[], "")
    }

    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> std::io::Result<RawAnswer> {
        self.send_declaring(method, path, headers, body.len() as u64, body)
    }

    /// Sends a request that declares a body of `length` bytes but sends only `body` (its start),
    /// then reads the answer: a node that refuses without reading the body answers at once.
    pub fn send_declaring(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        length: u64,
        body: &str,
    ) -> std::io::Result<RawAnswer> {
        self.send_partial(method, path, headers, length, body)?;
        self.read_answer()
    }

    /// Writes a request's head, declaring a body of `length` bytes, and `body` (all of it, or
    /// only its start), without waiting for an answer.
    pub fn send_partial(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        length: u64,
        body: &str,
    ) -> std::io::Result<()> {
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {length}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        self.tls.write_all(request.as_bytes())?;
        self.tls.flush()
    }

    /// Reads one answer: status line, headers and a body of its `Content-Length`.
    pub fn read_answer(&mut self) -> std::io::Result<RawAnswer> {
        let mut reader = BufReader::new(&mut self.tls);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("no status line: {line:?}")))?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':') {
                headers.push((name.trim().to_owned(), value.trim().to_owned()));
            }
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        Ok(RawAnswer {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        })
    }

    /// Whether the node has closed this connection (the next read ends or fails).
    pub fn closed_by_node(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.tls.read(&mut byte), Ok(0) | Err(_))
    }
}

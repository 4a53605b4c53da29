//! `siis receptor`: an example of an agency's endpoint for push notifications, used by the
//! README, the tests and the benchmark (docs/eventos.md, "A receiver").
//!
//! It is what an agency would build: a TLS server that requires a client certificate from the
//! node's CA with the node's common name, reads the `Idempotency-Key` of each notification,
//! applies a key once (its keys are kept in a small SQLite file, so a restart remembers them),
//! and answers 2xx to a key it has already applied without applying it again. "Applying" here is
//! printing the body as one JSON line on standard output. It is the agency's side of the
//! exchange: what it prints is what the agency was sent. With `guardar`, it also keeps the
//! last notifications it received in memory, for `GET /recibidas` (the tests read the bodies
//! the node sent there).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use serde::Serialize;

use crate::tls::identity::ClientIdentity;

/// How the receiver runs.
#[derive(Debug, Clone)]
pub struct ReceptorOptions {
    pub listen: SocketAddr,
    /// Its server certificate and key.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The CA a caller's client certificate must chain to.
    pub ca: PathBuf,
    /// The common name the caller's certificate must carry (the node's).
    pub nodo_cn: String,
    /// The SQLite file of the keys applied (created when missing).
    pub claves: PathBuf,
    /// Answer 503 to the first this many notifications (to see the node retry).
    pub fallar: u64,
    /// Wait this long before answering each notification.
    pub lento: Duration,
    /// Print each applied notification on standard output.
    pub imprimir: bool,
    /// Keep the last this many notifications received (their key, body and what became of
    /// them) in memory, for `GET /recibidas`; 0 keeps none.
    pub guardar: usize,
}

/// One notification received, as `GET /recibidas` lists it (oldest first).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Recibida {
    /// Its `Idempotency-Key`.
    pub clave: String,
    /// `aplicada`, `repetida` (a key applied before) or `fallida` (answered 503 on purpose).
    pub desenlace: String,
    /// The body, as JSON (or a string if it was not JSON).
    pub cuerpo: serde_json::Value,
}

/// What the receiver has seen, as `GET /estado` answers it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Estado {
    /// Notifications received (every POST with a key from the node).
    pub recibidas: u64,
    /// Keys applied for the first time.
    pub aplicadas: u64,
    /// Keys received again and not applied.
    pub repetidas: u64,
    /// Answered 503 on purpose (`fallar`).
    pub fallidas: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReceptorError {
    #[error("{0}: {1}")]
    File(PathBuf, String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("key store {0}: {1}")]
    Claves(PathBuf, String),
    #[error("listen on {0}: {1}")]
    Listen(SocketAddr, std::io::Error),
}

#[derive(Default)]
struct Contadores {
    recibidas: AtomicU64,
    aplicadas: AtomicU64,
    repetidas: AtomicU64,
    fallidas: AtomicU64,
}

impl Contadores {
    fn estado(&self) -> Estado {
        Estado {
            recibidas: self.recibidas.load(Ordering::Relaxed),
            aplicadas: self.aplicadas.load(Ordering::Relaxed),
            repetidas: self.repetidas.load(Ordering::Relaxed),
            fallidas: self.fallidas.load(Ordering::Relaxed),
        }
    }
}

struct Receptor {
    options: ReceptorOptions,
    claves: Mutex<SqliteConnection>,
    contadores: Contadores,
    recibidas: Mutex<std::collections::VecDeque<Recibida>>,
}

impl Receptor {
    fn guardar(&self, clave: &str, desenlace: &str, body: &[u8]) {
        if self.options.guardar == 0 {
            return;
        }
        let cuerpo = serde_json::from_slice(body)
            .unwrap_or_else(|_| serde_json::Value::from(String::from_utf8_lossy(body)));
        let mut recibidas = self.recibidas.lock().unwrap_or_else(|e| e.into_inner());
        if recibidas.len() == self.options.guardar {
            recibidas.pop_front();
        }
        recibidas.push_back(Recibida {
            clave: clave.to_owned(),
            desenlace: desenlace.to_owned(),
            cuerpo,
        });
    }
}

/// A receiver started: its address, and the handle that stops it.
pub struct EnMarcha {
    pub addr: SocketAddr,
    pub server: actix_web::dev::Server,
}

/// Binds the receiver and returns it unstarted-awaited: `server` runs when awaited (or
/// spawned).
pub fn start(options: ReceptorOptions) -> Result<EnMarcha, ReceptorError> {
    let tls = server_config(&options)?;
    let claves = abrir_claves(&options.claves)?;
    let listen = options.listen;
    let receptor = web::Data::new(Receptor {
        options,
        claves: Mutex::new(claves),
        contadores: Contadores::default(),
        recibidas: Mutex::default(),
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(receptor.clone())
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .route("/estado", web::get().to(estado))
            .route("/recibidas", web::get().to(recibidas))
            .default_service(web::post().to(recibir))
    })
    .on_connect(identidad)
    .disable_signals()
    .workers(2)
    .bind_rustls_0_23(listen, tls)
    .map_err(|e| ReceptorError::Listen(listen, e))?;
    let addr = server.addrs()[0];
    Ok(EnMarcha {
        addr,
        server: server.run(),
    })
}

fn server_config(options: &ReceptorOptions) -> Result<rustls::ServerConfig, ReceptorError> {
    let file = |path: &Path, e: String| ReceptorError::File(path.to_owned(), e);
    let mut roots = RootCertStore::empty();
    for cert in crate::tls::read_certs(&options.ca).map_err(|e| file(&options.ca, e.to_string()))? {
        roots
            .add(cert)
            .map_err(|e| file(&options.ca, e.to_string()))?;
    }
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), crate::tls::provider())
            .build()
            .map_err(|e| ReceptorError::Tls(e.to_string()))?;
    let chain =
        crate::tls::read_certs(&options.cert).map_err(|e| file(&options.cert, e.to_string()))?;
    let key = crate::tls::read_key(&options.key).map_err(|e| file(&options.key, e.to_string()))?;
    rustls::ServerConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| ReceptorError::Tls(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| ReceptorError::Tls(e.to_string()))
}

fn abrir_claves(path: &Path) -> Result<SqliteConnection, ReceptorError> {
    let error = |e: String| ReceptorError::Claves(path.to_owned(), e);
    let url = path.to_str().ok_or_else(|| error("not UTF-8".into()))?;
    let mut conn = SqliteConnection::establish(url).map_err(|e| error(e.to_string()))?;
    conn.batch_execute(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         CREATE TABLE IF NOT EXISTS claves (clave TEXT PRIMARY KEY NOT NULL, \
         recibida_us INTEGER NOT NULL)",
    )
    .map_err(|e| error(e.to_string()))?;
    Ok(conn)
}

/// The caller's certificate, read once per connection (the TLS layer has verified its chain).
fn identidad(conn: &dyn std::any::Any, ext: &mut actix_web::dev::Extensions) {
    type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
    let Some(stream) = conn.downcast_ref::<Tls>() else {
        return;
    };
    if let Some(identity) = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|chain| chain.first())
        .and_then(|cert| ClientIdentity::from_der(cert).ok())
    {
        ext.insert(Arc::new(identity));
    }
}

async fn estado(receptor: web::Data<Receptor>) -> HttpResponse {
    HttpResponse::Ok().json(receptor.contadores.estado())
}

async fn recibidas(receptor: web::Data<Receptor>) -> HttpResponse {
    let recibidas = receptor
        .recibidas
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    HttpResponse::Ok().json(recibidas)
}

/// The key as the node sends it: an Structured Field string (`"siis-…"`), or bare.
fn clave(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get("idempotency-key")?.to_str().ok()?.trim();
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    (!value.is_empty() && value.len() <= 200).then(|| value.to_owned())
}

async fn recibir(
    req: HttpRequest,
    body: web::Bytes,
    receptor: web::Data<Receptor>,
) -> HttpResponse {
    let cn = req
        .conn_data::<Arc<ClientIdentity>>()
        .and_then(|identity| identity.subject_cn.clone());
    if cn.as_deref() != Some(receptor.options.nodo_cn.as_str()) {
        return HttpResponse::Forbidden().json(serde_json::json!({"error": "not the node"}));
    }
    let Some(clave) = clave(&req) else {
        return HttpResponse::BadRequest().json(serde_json::json!({"error": "no Idempotency-Key"}));
    };
    let contadores = &receptor.contadores;
    let n = contadores.recibidas.fetch_add(1, Ordering::Relaxed);
    if n < receptor.options.fallar {
        contadores.fallidas.fetch_add(1, Ordering::Relaxed);
        receptor.guardar(&clave, "fallida", &body);
        return HttpResponse::ServiceUnavailable().finish();
    }
    if !receptor.options.lento.is_zero() {
        actix_web::rt::time::sleep(receptor.options.lento).await;
    }
    let store = receptor.clone();
    let key = clave.clone();
    // Counted where the key is stored: a caller that goes away while the insert runs (a node
    // killed in mid-call) leaves the key applied, and counted as such.
    let aplicada = web::block(move || {
        let mut conn = store.claves.lock().unwrap_or_else(|e| e.into_inner());
        let nueva =
            diesel::sql_query("INSERT OR IGNORE INTO claves (clave, recibida_us) VALUES (?, ?)")
                .bind::<diesel::sql_types::Text, _>(&key)
                .bind::<diesel::sql_types::BigInt, _>(chrono::Utc::now().timestamp_micros())
                .execute(&mut *conn)
                .map(|rows| rows == 1)?;
        let contador = match nueva {
            true => &store.contadores.aplicadas,
            false => &store.contadores.repetidas,
        };
        contador.fetch_add(1, Ordering::Relaxed);
        Ok::<_, diesel::result::Error>(nueva)
    })
    .await;
    if let Ok(Ok(nueva)) = aplicada {
        receptor.guardar(&clave, if nueva { "aplicada" } else { "repetida" }, &body);
    }
    match aplicada {
        Ok(Ok(true)) => {
            if receptor.options.imprimir {
                match serde_json::from_slice::<serde_json::Value>(&body) {
                    Ok(json) => println!("{json}"),
                    Err(_) => println!("{}", String::from_utf8_lossy(&body)),
                }
            }
            HttpResponse::Ok().json(serde_json::json!({"clave": clave, "aplicada": true}))
        }
        Ok(Ok(false)) => {
            HttpResponse::Ok().json(serde_json::json!({"clave": clave, "aplicada": false}))
        }
        _ => HttpResponse::InternalServerError().finish(),
    }
}

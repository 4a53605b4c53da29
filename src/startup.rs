//! Start-up: bind the three listeners, build the apps, run them, and return the bound ports.
//! The binary and the integration tests both start the node through [`Node::start`].

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};

use crate::agreements::{AgreementErrors, AgreementSet};
use crate::audit::{AuditError, AuditLog};
use crate::broker::Broker;
use crate::config::{Config, ListenConfig};
use crate::db::{self, DbError, Pool};
use crate::error::ApiError;
use crate::identity::ClientIdentity;
use crate::ops::reglas::{Rules, RulesError};
use crate::state::AppState;
use crate::tls::{self, TlsError};
use crate::{admin, rest, soap};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on listen.{name} {addr}: {source}")]
    Bind {
        name: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("database: {0}")]
    Database(#[from] DbError),
    #[error("database folder {0}: {1}")]
    DatabaseFolder(String, String),
    #[error("agreements in {dir}: {errors}")]
    Agreements {
        dir: String,
        errors: AgreementErrors,
    },
    #[error("eligibility rules: {0}")]
    Rules(#[from] RulesError),
    #[error("audit log: {0}")]
    Audit(#[from] AuditError),
    #[error(
        "certificados: document key: {0} (run `siis pki dev`, or set certificados.emitir = false)"
    )]
    DocumentKey(#[from] crate::certificados::firma::KeyError),
    #[error("server: {0}")]
    Server(#[from] std::io::Error),
}

/// The three sockets, bound before anything else is created so that a port in use stops
/// start-up with nothing half-done.
pub struct Listeners {
    agency: TcpListener,
    public: TcpListener,
    admin: TcpListener,
}

impl Listeners {
    pub fn bind(config: &ListenConfig) -> Result<Listeners, StartError> {
        let bind = |name, addr: SocketAddr| {
            TcpListener::bind(addr).map_err(|source| StartError::Bind { name, addr, source })
        };
        Ok(Listeners {
            agency: bind("agency", config.agency)?,
            public: bind("public", config.public)?,
            admin: bind("admin", config.admin)?,
        })
    }
}

/// A running node: its bound addresses and the means to stop it.
pub struct Node {
    pub agency: SocketAddr,
    pub public: SocketAddr,
    pub admin: SocketAddr,
    pub broker: web::Data<Broker>,
    handles: Vec<ServerHandle>,
    servers: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Opens the registry: checks the SQLite folder, connects, migrates, loads reference data.
pub fn open_registry(config: &Config) -> Result<Pool, StartError> {
    if let db::DatabaseUrl::Sqlite(path) = &config.database.url {
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => std::path::PathBuf::from("."),
        };
        let meta = std::fs::metadata(&folder)
            .map_err(|e| StartError::DatabaseFolder(folder.display().to_string(), e.to_string()))?;
        if !meta.is_dir() {
            return Err(StartError::DatabaseFolder(
                folder.display().to_string(),
                "not a folder".into(),
            ));
        }
    }
    Ok(db::open_pool(
        &config.database.url,
        config.database.pool_size,
        Duration::from_secs(config.database.pool_timeout_secs),
    )?)
}

impl Node {
    /// Binds the listeners, reads the TLS material, opens the registry and starts serving.
    /// Must be called from within a Tokio runtime.
    pub fn start(config: Arc<Config>) -> Result<Node, StartError> {
        let listeners = Listeners::bind(&config.listen)?;
        let tls = load_tls(&config)?;
        let pool = open_registry(&config)?;
        Self::start_with(config, listeners, tls, pool)
    }

    /// Starts serving on already bound listeners with loaded TLS material and an open pool.
    pub fn start_with(
        config: Arc<Config>,
        listeners: Listeners,
        tls: tls::TlsConfigs,
        pool: Pool,
    ) -> Result<Node, StartError> {
        let certificados = web::Data::new(crate::certificados::Servicio::from_config(&config)?);
        let broker = web::Data::new(build_broker(&config, pool.clone())?);
        crate::ops::estadisticas::resumen::programar(&config, pool.clone());
        let state = web::Data::new(AppState {
            config: config.clone(),
            pool,
        });
        let workers = match config.listen.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let agency = {
            let broker = broker.clone();
            let certificados = certificados.clone();
            HttpServer::new(move || {
                App::new()
                    .app_data(broker.clone())
                    .app_data(certificados.clone())
                    .configure(rest::agency_routes)
                    .configure(soap::routes)
                    .default_service(web::to(rest::agency_not_found))
            })
            .on_connect(client_identity)
            .disable_signals()
            // actix-web leaves Nagle's algorithm on: the last segment of a large answer (a
            // 500-RUN batch) then waited for the client's delayed ACK, 40 ms on Linux, for 1-2%
            // of batches (README, *Load benchmark*).
            .tcp_nodelay(true)
            .workers(workers)
            .listen_rustls_0_23(listeners.agency, tls.agency)?
        };
        let public = {
            let broker = broker.clone();
            HttpServer::new(move || {
                App::new()
                    .app_data(broker.clone())
                    .app_data(certificados.clone())
                    .configure(rest::public_routes)
                    .default_service(web::to(not_found))
            })
            .disable_signals()
            .tcp_nodelay(true)
            .workers(workers)
            .listen_rustls_0_23(listeners.public, tls.public)?
        };
        let admin_broker = broker.clone();
        let admin = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(admin_broker.clone())
                .configure(admin::routes)
                .default_service(web::to(not_found))
        })
        .disable_signals()
        .tcp_nodelay(true)
        .workers(1)
        .listen(listeners.admin)?;

        let addr = |s: &[SocketAddr]| s.first().copied();
        let (agency_addr, public_addr, admin_addr) = (
            addr(&agency.addrs()),
            addr(&public.addrs()),
            addr(&admin.addrs()),
        );
        let (agency, public, admin) = (agency.run(), public.run(), admin.run());
        let handles = vec![agency.handle(), public.handle(), admin.handle()];
        let servers = tokio::spawn(async move {
            tokio::try_join!(agency, public, admin)?;
            Ok(())
        });
        let missing = || std::io::Error::other("listener without an address");
        Ok(Node {
            agency: agency_addr.ok_or_else(missing)?,
            public: public_addr.ok_or_else(missing)?,
            admin: admin_addr.ok_or_else(missing)?,
            broker,
            handles,
            servers,
        })
    }

    /// Stops accepting, lets requests in flight finish (their audit records included), waits
    /// for the servers to end, then closes the audit log.
    pub async fn stop(self) -> std::io::Result<()> {
        for handle in &self.handles {
            handle.stop(true).await;
        }
        let result = self.servers.await.map_err(std::io::Error::other)?;
        self.broker.audit.shutdown();
        result
    }
}

/// The TLS material named by the configuration.
pub fn load_tls(config: &Config) -> Result<tls::TlsConfigs, StartError> {
    Ok(tls::load(&config.tls.dir, config.tls.crl.as_deref())?)
}

/// Agreements, eligibility rules and the audit log around an open registry.
pub fn build_broker(config: &Arc<Config>, pool: Pool) -> Result<Broker, StartError> {
    let agreements = AgreementSet::load_dir(&config.agreements.dir).map_err(|errors| {
        StartError::Agreements {
            dir: config.agreements.dir.display().to_string(),
            errors,
        }
    })?;
    let rules = Rules::load(&config.eligibility.rules)?;
    let audit = AuditLog::start_with(
        &config.database.url,
        config.audit.durability,
        config.database.wal_limit(),
    )?;
    let restored = restore_daily_counts(&pool, &agreements)?;
    Ok(Broker::new(
        config.clone(),
        pool,
        agreements,
        rules,
        audit,
        &restored,
    ))
}

/// Today's audited requests per agreement, so a restart does not reset daily quotas.
fn restore_daily_counts(
    pool: &Pool,
    agreements: &AgreementSet,
) -> Result<std::collections::HashMap<crate::domain::AgreementId, u64>, StartError> {
    let mut conn = pool.get().map_err(DbError::from)?;
    // The start of today in Chile, when daily quotas renew.
    let midnight = crate::broker::local_today()
        .and_hms_opt(0, 0, 0)
        .and_then(|t| {
            use chrono::TimeZone;
            chrono_tz::America::Santiago
                .from_local_datetime(&t)
                .earliest()
        })
        .map_or(0, |t| t.timestamp_micros());
    let mut counts = std::collections::HashMap::new();
    for agreement in agreements.iter() {
        let used = crate::audit::count_since(&mut conn, agreement.id.as_str(), midnight)?;
        counts.insert(agreement.id.clone(), used);
    }
    Ok(counts)
}

/// Reads the client certificate of each agency connection once, at the handshake's end.
fn client_identity(conn: &dyn std::any::Any, ext: &mut actix_web::dev::Extensions) {
    type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
    let Some(stream) = conn.downcast_ref::<Tls>() else {
        return;
    };
    let Some(cert) = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
    else {
        return;
    };
    match ClientIdentity::from_der(cert) {
        Ok(identity) => {
            ext.insert(Arc::new(identity));
        }
        Err(error) => tracing::warn!(error = %error, "unreadable client certificate"),
    }
}

async fn not_found() -> actix_web::HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::not_found_route())
}

//! Start-up: bind the three listeners, build the apps, run them, and return the bound ports.
//! The binary and the integration tests both start the node through [`Node::start`].

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{ServerHandle, Service};
use actix_web::http::ConnectionType;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::admin::{ReloadError, Reloaded};
use crate::audit::{AuditError, AuditLog};
use crate::broker::Broker;
use crate::config::{Config, ListenConfig};
use crate::convenios::{ConvenioErrors, ConvenioSet};
use crate::db::{self, DbError, Pool};
use crate::drain::Drain;
use crate::error::ApiError;
use crate::recargas::Recargas;
use crate::reglas::{Rules, RulesError};
use crate::state::AppState;
use crate::tls::ClientIdentity;
use crate::tls::{self, TlsError, Trust};
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
    #[error(transparent)]
    PrivateFile(#[from] crate::fsperm::PrivateFileError),
    #[error("agreements in {dir}: {errors}")]
    Convenios { dir: String, errors: ConvenioErrors },
    #[error("eligibility rules: {0}")]
    Rules(#[from] RulesError),
    #[error(transparent)]
    Modelos(#[from] crate::modelos::ModeloError),
    #[error("audit log: {0}")]
    Audit(#[from] AuditError),
    #[error(
        "certificados: document key: {0} (run `siis pki dev`, or set certificados.emitir = false)"
    )]
    DocumentKey(#[from] crate::ops::certificados::firma::KeyError),
    #[error("audit checkpoints: {0}")]
    Checkpoints(#[from] crate::audit::signed::CheckpointError),
    #[error("cluster coordination: {0}")]
    Coordinacion(#[from] crate::broker::compartido::CoordinacionError),
    #[error("consola: {0}")]
    Consola(String),
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

    /// [`Listeners::bind`] with the public listener already bound: for a test that must know
    /// the console's address (its OpenID redirect) before the node starts.
    pub fn bind_with_public(
        config: &ListenConfig,
        public: TcpListener,
    ) -> Result<Listeners, StartError> {
        let bind = |name, addr: SocketAddr| {
            TcpListener::bind(addr).map_err(|source| StartError::Bind { name, addr, source })
        };
        Ok(Listeners {
            agency: bind("agency", config.agency)?,
            public,
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
    /// The agency listener's CAs and revocation list.
    pub trust: Arc<Trust>,
    /// Whether the node is draining before it stops (src/drain.rs).
    pub drain: web::Data<Drain>,
    /// Asks the database every 500 ms and clears the broker's "database down" flag
    /// (src/outage.rs; PostgreSQL only), until dropped.
    probe: Option<crate::outage::Probe>,
    /// With `cluster.nodo`: this node's part in the cluster's agreement reloads, and its
    /// listener (src/recargas.rs).
    pub recargas: Option<Arc<Recargas>>,
    _escucha: Option<crate::recargas::Escucha>,
    handles: Vec<ServerHandle>,
    servers: tokio::task::JoinHandle<std::io::Result<()>>,
    /// Writes the refusal summaries ([`Broker::spawn_refusal_summaries`]), until told to stop.
    summaries: (
        tokio::task::JoinHandle<()>,
        tokio::sync::oneshot::Sender<()>,
    ),
    /// Signs the audit chain's head every `audit.checkpoint_secs` (`audit::signed`), and once
    /// more when the node stops.
    checkpoints: (
        tokio::task::JoinHandle<()>,
        tokio::sync::oneshot::Sender<()>,
    ),
    /// Fans new events out to the subscriptions (`ops::suscripciones::despacho`), until told
    /// to stop.
    despacho: (
        tokio::task::JoinHandle<()>,
        tokio::sync::oneshot::Sender<()>,
    ),
    /// Purges what retention no longer keeps (`ops::retencion`), until told to stop.
    retencion: (
        tokio::task::JoinHandle<()>,
        tokio::sync::oneshot::Sender<()>,
    ),
    /// Sends push subscriptions their events (`ops::suscripciones::envios`), until told to
    /// stop; `None` when the node's client certificate could not be read (logged at start).
    envios: Option<(
        std::thread::JoinHandle<()>,
        tokio::sync::oneshot::Sender<()>,
    )>,
    /// Sends async DCI searches' `on-search` callbacks (`dci::callback`), until told to stop;
    /// `None` as `envios`.
    callbacks_dci: Option<(
        std::thread::JoinHandle<()>,
        tokio::sync::oneshot::Sender<()>,
    )>,
}

/// Opens the registry: checks the SQLite folder, makes its files private (created 0600, or set
/// to 0600 with a warning if found open to others), connects, migrates, loads reference data.
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
    crate::fsperm::secure_database(&config.database.url)?;
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
        let certificados =
            web::Data::new(crate::ops::certificados::Servicio::from_config(&config)?);
        let checkpoint_key = crate::audit::signed::read_private_key(&config.clave_checkpoints())?;
        let broker = web::Data::new(build_broker(&config, pool.clone())?);
        // Measures the streaming replicas, if any, so lookups read only those close enough.
        drop(broker.replicas.watch());
        let (stop_summaries, stop) = tokio::sync::oneshot::channel();
        let summaries = (
            broker.clone().into_inner().spawn_refusal_summaries(stop),
            stop_summaries,
        );
        let (stop_checkpoints, stop) = tokio::sync::oneshot::channel();
        let checkpoints = (
            crate::audit::signed::spawn(
                pool.clone(),
                broker.audit.clone(),
                checkpoint_key,
                config.checkpoints(),
                std::time::Duration::from_secs(config.audit.checkpoint_secs),
                stop,
            ),
            stop_checkpoints,
        );
        crate::ops::estadisticas::resumen::programar(
            &config,
            pool.clone(),
            broker.audit.lider().clone(),
        );
        let (stop_despacho, stop) = tokio::sync::oneshot::channel();
        let despacho = (
            crate::ops::suscripciones::despacho::arrancar(
                broker.clone().into_inner(),
                broker.audit.lider().clone(),
                stop,
            ),
            stop_despacho,
        );
        let (stop_retencion, stop) = tokio::sync::oneshot::channel();
        let retencion = (
            crate::ops::retencion::arrancar(
                broker.clone().into_inner(),
                broker.audit.lider().clone(),
                stop,
            ),
            stop_retencion,
        );
        let probe = broker
            .outage
            .spawn_probe(db::ConnectionManager::new(config.database.url.clone()));
        let drain = web::Data::new(Drain::default());
        let state = web::Data::new(AppState {
            config: config.clone(),
            pool,
        });
        let workers = match config.listen.workers {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let trust = tls.trust.clone();
        tls::watch_expiry(&trust);
        let recargas = Recargas::from_config(&config);
        let escucha = recargas.as_ref().and_then(|recargas| {
            let (broker, trust) = (broker.clone().into_inner(), trust.clone());
            recargas.escuchar(Box::new(move || {
                admin::reload(&broker, &trust)
                    .map(|reloaded| reloaded.convenios)
                    .map_err(|error| error.to_string())
            }))
        });
        let core = web::Data::new(crate::ops::Core {
            broker: broker.clone().into_inner(),
            certificados: certificados.clone().into_inner(),
        });
        let (stop_envios, stop) = tokio::sync::oneshot::channel();
        let envios = match crate::ops::suscripciones::envios::arrancar(
            core.clone().into_inner(),
            broker.audit.lider().clone(),
            Some(crate::dci::notificar::envio),
            stop,
        ) {
            Ok(handle) => Some((handle, stop_envios)),
            Err(error) => {
                tracing::error!(error = %error, "push delivery not started: the node's client certificate (notificaciones.certificado) could not be read; push subscriptions' events wait");
                None
            }
        };
        let (stop_callbacks, stop) = tokio::sync::oneshot::channel();
        let callbacks_dci = match crate::dci::callback::arrancar(
            core.clone().into_inner(),
            broker.audit.lider().clone(),
            stop,
        ) {
            Ok(handle) => Some((handle, stop_callbacks)),
            Err(error) => {
                tracing::error!(error = %error, "DCI callbacks not started: the node's client certificate could not be read; they wait");
                None
            }
        };
        let agency = {
            let broker = broker.clone();
            let core = core.clone();
            let trust = trust.clone();
            let drain = drain.clone();
            HttpServer::new(move || {
                App::new()
                    .app_data(broker.clone())
                    .app_data(drain.clone())
                    .app_data(core.clone())
                    .configure(rest::agency_routes)
                    .configure(soap::routes)
                    .configure(crate::dci::routes)
                    .default_service(web::to(rest::agency_not_found))
                    .wrap_fn(|req, service| {
                        let response = service.call(req);
                        async move { response.await.map(close_if_revoked) }
                    })
                    .wrap(from_fn(crate::drain::close_while_draining))
            })
            .on_connect(move |conn, ext| client_identity(&trust, conn, ext))
            .disable_signals()
            // actix-web leaves Nagle's algorithm on: the last segment of a large answer (a
            // 500-RUN batch) then waited for the client's delayed ACK, 40 ms on Linux, for 1-2%
            // of batches (`git show dc52f25:README.md`, *Load benchmark*).
            .tcp_nodelay(true)
            .workers(workers)
            .listen_rustls_0_23(listeners.agency, tls.agency)?
        };
        let consola = match config.consola.habilitada {
            true => Some(web::Data::new(
                crate::consola::Consola::new(core.clone().into_inner())
                    .map_err(|e| StartError::Consola(e.to_string()))?,
            )),
            false => None,
        };
        let public = {
            let broker = broker.clone();
            let drain = drain.clone();
            HttpServer::new(move || {
                App::new()
                    .app_data(broker.clone())
                    .app_data(drain.clone())
                    .app_data(core.clone())
                    .configure(|cfg| {
                        if let Some(consola) = &consola {
                            crate::consola::routes(cfg, consola.clone());
                        }
                    })
                    .configure(rest::public_routes)
                    .default_service(web::to(not_found))
                    .wrap(from_fn(crate::drain::close_while_draining))
            })
            .disable_signals()
            .tcp_nodelay(true)
            .workers(workers)
            .listen_rustls_0_23(listeners.public, tls.public)?
        };
        let admin_broker = broker.clone();
        let admin_trust = web::Data::from(trust.clone());
        let admin_allow = web::Data::new(admin::Allow(config.listen.admin_allow.clone()));
        let admin_drain = drain.clone();
        let admin_recargas = recargas.clone().map(web::Data::from);
        let admin = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(admin_broker.clone())
                .app_data(admin_trust.clone())
                .app_data(admin_allow.clone())
                .app_data(admin_drain.clone())
                .configure(|cfg| {
                    if let Some(recargas) = &admin_recargas {
                        cfg.app_data(recargas.clone());
                    }
                })
                .wrap(actix_web::middleware::from_fn(admin::gate))
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
            trust,
            drain,
            probe,
            recargas,
            _escucha: escucha,
            handles,
            servers,
            summaries,
            checkpoints,
            despacho,
            retencion,
            envios,
            callbacks_dci,
        })
    }

    /// Reloads the agreements and the revocation list together (SIGHUP): see [`admin::reload`].
    /// With `cluster.nodo`, a reload that succeeded is then announced to the other nodes
    /// (src/recargas.rs), from a thread of its own: a database that does not answer holds up
    /// nothing here.
    pub fn reload(&self) -> Result<Reloaded, ReloadError> {
        let reloaded = admin::reload(&self.broker, &self.trust)?;
        if let Some(recargas) = &self.recargas {
            let (recargas, pool, convenios) = (
                recargas.clone(),
                self.broker.pool.clone(),
                reloaded.convenios,
            );
            std::thread::spawn(move || {
                if let Err(error) = admin::publicar(&recargas, &pool, convenios) {
                    tracing::error!(error = %error, "agreements reloaded here, not announced to the other nodes");
                }
            });
        }
        Ok(reloaded)
    }

    /// Marks the node draining now (with `listen.drain_secs` > 0): the balancer's check
    /// answers 404 from here on. [`Node::drain`] does it too; `serve` calls this first, so that
    /// whoever is told the node is stopping (systemd's `STOPPING=1`) already finds it draining.
    pub fn begin_draining(&self) {
        if self.broker.config.listen.drain_secs > 0 {
            self.drain.begin();
        }
    }

    /// Drains for `listen.drain_secs` (src/drain.rs): the node serves on, its balancer check
    /// answering 404 and each answer closing its connection. Returns at once for 0.
    pub async fn drain(&self) {
        let secs = self.broker.config.listen.drain_secs;
        if secs == 0 {
            return;
        }
        self.begin_draining();
        tracing::info!(drain_secs = secs, "draining before stopping");
        tokio::time::sleep(Duration::from_secs(secs)).await;
    }

    /// Stops accepting, lets requests in flight finish (their audit records included), waits
    /// for the servers to end, writes the last refusal summaries, then closes the audit log.
    pub async fn stop(self) -> std::io::Result<()> {
        for handle in &self.handles {
            handle.stop(true).await;
        }
        let result = self.servers.await.map_err(std::io::Error::other)?;
        let (despacho, stop) = self.despacho;
        let _ = stop.send(());
        let _ = despacho.await;
        let (retencion, stop) = self.retencion;
        let _ = stop.send(());
        let _ = retencion.await;
        if let Some((envios, stop)) = self.envios {
            let _ = stop.send(());
            let _ = tokio::task::spawn_blocking(move || envios.join()).await;
        }
        if let Some((callbacks, stop)) = self.callbacks_dci {
            let _ = stop.send(());
            let _ = tokio::task::spawn_blocking(move || callbacks.join()).await;
        }
        let (summaries, stop) = self.summaries;
        let _ = stop.send(());
        let _ = summaries.await;
        self.broker.summarize_refusals().await;
        // The last checkpoint covers every record written, the summaries' included.
        let (checkpoints, stop) = self.checkpoints;
        let _ = stop.send(());
        let _ = checkpoints.await;
        self.broker.replicas.stop();
        self.broker.audit.shutdown();
        // The probe ends at its next tick; it holds nothing that must be waited for.
        drop(self.probe);
        drop(self._escucha);
        result
    }
}

/// The TLS material named by the configuration. Private keys found readable beyond their
/// owner are tightened to 0600 first, each with a warning.
pub fn load_tls(config: &Config) -> Result<tls::TlsConfigs, StartError> {
    tls::tighten_private_keys(
        &config.tls.dir,
        &[
            config.clave_privada_documentos(),
            config.clave_checkpoints(),
        ],
    );
    Ok(tls::load(&config.tls.dir, config.tls.crl.as_deref())?)
}

/// `serve` without `--demo`: a `tls.dir` holding a CA's private key is refused unless
/// `tls.allow_ca_key` says so.
pub fn refuse_ca_key(config: &Config) -> Result<(), StartError> {
    Ok(tls::refuse_ca_key(
        &config.tls.dir,
        config.tls.allow_ca_key,
    )?)
}

/// Agreements, eligibility rules and the audit log around an open registry.
pub fn build_broker(config: &Arc<Config>, pool: Pool) -> Result<Broker, StartError> {
    let convenios =
        ConvenioSet::load_dir(&config.convenios.dir).map_err(|errors| StartError::Convenios {
            dir: config.convenios.dir.display().to_string(),
            errors,
        })?;
    let convenios = match &config.notificaciones.callback_demo {
        Some(url) => convenios.con_callback(url),
        None => convenios,
    };
    if !convenios.warnings().is_empty() {
        tracing::warn!(
            entries = convenios.warnings().len(),
            "agreement clients named by subject CN alone (any CA of ca.pem may issue that name): see `siis convenios check`"
        );
    }
    let rules = Rules::load(&config.elegibilidad.reglas)?;
    let modelos =
        crate::modelos::Modelos::load(&config.encuesta.modelos, &config.encuesta.vigente)?;
    {
        let mut conn = pool.get().map_err(DbError::from)?;
        crate::modelos::registro::registrar(&mut conn, &modelos)?;
    }
    let audit = AuditLog::start_as(
        &config.database.url,
        config.audit.durability,
        config.database.wal_limit(),
        config.cluster.nodo.clone(),
    )?;
    let restored = restore_today(&pool, &convenios)?;
    let compartido = crate::broker::Coordinacion::iniciar(config, &restored)?;
    Ok(Broker::new(
        config.clone(),
        pool,
        convenios,
        rules,
        modelos,
        audit,
        restored,
        compartido,
    ))
}

/// What today's audit records say the broker must remember after a restart: persons each
/// agreement's requests named (daily quotas) and identity comparisons that did not match.
fn restore_today(
    pool: &Pool,
    convenios: &ConvenioSet,
) -> Result<crate::broker::Restored, StartError> {
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
    let mut restored = crate::broker::Restored {
        usuarios: crate::audit::usuarios_since(&mut conn, midnight)?,
        ..Default::default()
    };
    for convenio in convenios.iter() {
        let id = convenio.id.as_str();
        let used = crate::audit::count_since(&mut conn, id, midnight)?;
        restored.used.persons.insert(convenio.id.clone(), used);
        if convenio.lotes.is_some() {
            let records = crate::ops::lotes::registros_desde(&mut conn, id, midnight)?;
            restored
                .used
                .lote_records
                .insert(convenio.id.clone(), records);
        }
        for run in crate::audit::failed_validations_since(&mut conn, id, midnight)? {
            *restored
                .failed_validations
                .entry((convenio.id.clone(), run.numero()))
                .or_insert(0) += 1;
        }
    }
    Ok(restored)
}

/// A response to a client whose certificate is no longer trusted (revoked since its handshake,
/// or the revocation list expired) closes its connection after it is sent. The broker has
/// refused and audited the request; actix-web offers no handle to close a connection from
/// outside, so this is how an open connection of a revoked identity ends (HTTP/1.1; an HTTP/2
/// connection stays open, each of its requests refused).
fn close_if_revoked<B>(
    mut response: actix_web::dev::ServiceResponse<B>,
) -> actix_web::dev::ServiceResponse<B> {
    let revoked = response
        .request()
        .conn_data::<Arc<ClientIdentity>>()
        .is_some_and(|identity| identity.check_revocation().is_err());
    if revoked {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    response
}

/// Reads the client certificate of each agency connection once, at the handshake's end.
fn client_identity(
    trust: &Arc<Trust>,
    conn: &dyn std::any::Any,
    ext: &mut actix_web::dev::Extensions,
) {
    type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
    let Some(stream) = conn.downcast_ref::<Tls>() else {
        return;
    };
    let Some(chain) = stream.get_ref().1.peer_certificates() else {
        return;
    };
    match trust.identify(chain) {
        Ok(identity) => {
            ext.insert(Arc::new(identity));
        }
        Err(error) => tracing::warn!(error = %error, "unreadable client certificate"),
    }
}

async fn not_found() -> actix_web::HttpResponse {
    actix_web::ResponseError::error_response(&ApiError::not_found_route())
}

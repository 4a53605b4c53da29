//! Typed configuration: built-in defaults, then `conf/siis.toml` (or `--config FILE`), then
//! environment variables named `SIIS__SECTION__KEY`. Unknown keys and bad values stop start-up
//! with a message that names the key. Every key is documented in `conf/siis.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::db::DatabaseUrl;

/// The configuration file read when `--config` is not given (skipped if absent).
pub const DEFAULT_FILE: &str = "conf/siis.toml";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub database: DatabaseConfig,
    pub listen: ListenConfig,
    pub tls: TlsConfig,
    pub convenios: ConveniosConfig,
    pub log: LogConfig,
    pub broker: BrokerConfig,
    pub audit: AuditConfig,
    pub elegibilidad: ElegibilidadConfig,
    pub certificados: CertificadosConfig,
    pub encuestaje: EncuestajeConfig,
    pub encuesta: EncuestaConfig,
    pub estadisticas: EstadisticasConfig,
    pub consola: ConsolaConfig,
    pub cluster: ClusterConfig,
    pub dci: DciConfig,
    pub notificaciones: NotificacionesConfig,
    pub retencion: RetencionConfig,
}

/// The DCI (spdci) Social Registry transport (`docs/dci.md`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DciConfig {
    /// The node's id in DCI messages: a request's `header.receiver_id`, when given, must be
    /// this (else `err.receiver_id.invalid`), and every answer's `header.sender_id` is this.
    /// 1 to 99 printable ASCII characters.
    pub receiver_id: String,
}

impl Default for DciConfig {
    fn default() -> Self {
        DciConfig {
            receiver_id: "siis".to_owned(),
        }
    }
}

/// Subscriptions to events and their delivery (docs/eventos.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NotificacionesConfig {
    /// Milliseconds between two looks for events not yet fanned out to the subscriptions, when
    /// nothing in this process signals new ones (events written by `siis ingest` or another
    /// node). At least 10.
    pub sondeo_ms: u64,
    /// Most events one fan-out round takes (each round is one transaction).
    pub por_ronda: u32,
    /// Most events one read of a pull subscription may ask for (`limite`); the agreement's
    /// burst bounds it too, since a read is charged `limite` units up front.
    pub max_limite: u32,
    /// Push: the node's client certificate (`ClientAuth`) it presents to the agencies'
    /// callbacks (default `tls.dir/nodo.pem`, which `siis pki dev` writes).
    pub certificado: Option<PathBuf>,
    /// Push: its private key (default `tls.dir/nodo-key.pem`).
    pub clave: Option<PathBuf>,
    /// Push: the CAs a callback's server certificate must chain to (default `tls.dir/ca.pem`;
    /// in production, the agencies' CAs).
    pub ca: Option<PathBuf>,
    /// Push: most calls in flight to one subscription at once (at least 1).
    pub en_vuelo: u32,
    /// Push: attempts after which an event the receiver keeps failing (no answer, 408, 425,
    /// 429, 5xx) becomes a dead letter (`muerta`).
    pub intentos_max: u32,
    /// Push: attempts after which an event the receiver refuses (another 4xx, a redirect)
    /// becomes a dead letter.
    pub intentos_4xx: u32,
    /// Push: the backoff's first ceiling in milliseconds: the wait before attempt n+1 is
    /// uniform in [0, min(espera_tope_ms, espera_base_ms * 2^n)], never less than the
    /// receiver's `Retry-After`.
    pub espera_base_ms: u64,
    /// Push: the backoff's highest ceiling in milliseconds.
    pub espera_tope_ms: u64,
    /// Push: milliseconds a claimed event stays the claiming node's; a node killed in mid-call
    /// leaves it to be claimed again (with the same idempotency key) once this has passed.
    /// Longer than `timeout_ms`.
    pub lease_ms: u64,
    /// Push: milliseconds one call may take, answer included.
    pub timeout_ms: u64,
    /// A callback every push grant accepts besides its own: set by `serve --demo` only (the
    /// local `siis receptor`), never by a file or variable.
    #[serde(skip)]
    pub callback_demo: Option<url::Url>,
}

impl Default for NotificacionesConfig {
    fn default() -> Self {
        NotificacionesConfig {
            sondeo_ms: 500,
            por_ronda: 5_000,
            max_limite: 500,
            certificado: None,
            clave: None,
            ca: None,
            en_vuelo: 16,
            intentos_max: 12,
            intentos_4xx: 3,
            espera_base_ms: 1_000,
            espera_tope_ms: 600_000,
            lease_ms: 60_000,
            timeout_ms: 10_000,
            callback_demo: None,
        }
    }
}

impl NotificacionesConfig {
    fn check(&self) -> Result<(), ConfigError> {
        if self.sondeo_ms < 10 || self.por_ronda == 0 || self.max_limite == 0 {
            return Err(ConfigError(
                "notificaciones.sondeo_ms must be at least 10, notificaciones.por_ronda and notificaciones.max_limite at least 1".into(),
            ));
        }
        if self.en_vuelo == 0
            || self.intentos_max == 0
            || self.intentos_4xx == 0
            || self.espera_base_ms == 0
            || self.espera_tope_ms < self.espera_base_ms
            || self.timeout_ms == 0
            || self.lease_ms <= self.timeout_ms
        {
            return Err(ConfigError(
                "notificaciones: en_vuelo, intentos_max, intentos_4xx, espera_base_ms and timeout_ms must be at least 1, espera_tope_ms at least espera_base_ms, lease_ms more than timeout_ms".into(),
            ));
        }
        Ok(())
    }
}

/// How long the outbox, the subscriptions' deliveries and DCI async answers are kept
/// (docs/eventos.md, *Retention*). Days may be fractional (`0.5` is twelve hours). The purge
/// runs on the leader only, in transactions of at most `lote` rows; the audit log is never
/// purged by it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RetencionConfig {
    /// Days an `entregas` row is kept once it is final (`entregada`, `descartada`,
    /// `revocada`), counted from its delivery (`entregada_us`) or, without one, from its
    /// event's recording. Rows not yet delivered and dead letters are never purged. More than 0.
    pub entregas_dias: f64,
    /// Days an event is kept after its recording; it goes only once the fan-out has passed it
    /// and none of its `entregas` rows is left. More than 0.
    pub eventos_dias: f64,
    /// Days an async DCI search's kept answer (`dci_transacciones.resultado`) is kept; its
    /// items' statuses stay. More than 0.
    pub dci_resultado_dias: f64,
    /// Seconds between two purges (at least 1).
    pub cada_secs: u64,
    /// Most rows one purge transaction deletes (at least 1).
    pub lote: u32,
    /// Milliseconds between two purge transactions, so that other writers get the lock.
    pub pausa_ms: u64,
}

impl Default for RetencionConfig {
    fn default() -> Self {
        RetencionConfig {
            entregas_dias: 30.0,
            eventos_dias: 90.0,
            dci_resultado_dias: 7.0,
            cada_secs: 300,
            lote: 5_000,
            pausa_ms: 50,
        }
    }
}

impl RetencionConfig {
    fn check(&self) -> Result<(), ConfigError> {
        let dias = [
            self.entregas_dias,
            self.eventos_dias,
            self.dci_resultado_dias,
        ];
        // At most 100 years: a larger count is a typo (the node offers no "forever").
        if dias
            .iter()
            .any(|d| !d.is_finite() || *d <= 0.0 || *d > 36_500.0)
        {
            return Err(ConfigError(
                "retencion: entregas_dias, eventos_dias and dci_resultado_dias must be more than 0 and at most 36500".into(),
            ));
        }
        if self.cada_secs == 0 || self.lote == 0 {
            return Err(ConfigError(
                "retencion.cada_secs and retencion.lote must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// `dias` as microseconds.
    pub fn micros(dias: f64) -> i64 {
        (dias * 86_400_000_000.0) as i64
    }
}

/// Several nodes over one PostgreSQL database (README, *Running several nodes*).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// This node's name among the nodes sharing the database: 1 to 32 of `a-z`, `0-9` and `-`,
    /// unique among them. Unset, the node runs alone (SQLite's only mode). Set, it shares its
    /// limits, replay memory, audit chain and agreement reloads with the other nodes through
    /// PostgreSQL, and its audit records name it.
    pub nodo: Option<String>,
}

impl ClusterConfig {
    fn check(&self, database: &DatabaseUrl) -> Result<(), ConfigError> {
        let Some(nodo) = &self.nodo else {
            return Ok(());
        };
        let valid = (1..=32).contains(&nodo.len())
            && nodo
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(ConfigError(format!(
                "cluster.nodo {nodo:?} must be 1 to 32 characters of a-z, 0-9 and -"
            )));
        }
        if !matches!(database, DatabaseUrl::Postgres(_)) {
            return Err(ConfigError(
                "cluster.nodo needs a PostgreSQL database.url: several nodes cannot share an \
                 embedded SQLite registry"
                    .into(),
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://PATH`, a plain file path (SQLite) or `postgres://USER:PASS@HOST:PORT/DB`.
    pub url: DatabaseUrl,
    /// Connections in the pool. Small pools win on two cores (2–4 for SQLite).
    pub pool_size: u32,
    /// Seconds a request waits for a free connection before it is answered 503.
    pub pool_timeout_secs: u64,
    /// SQLite: most megabytes each write-ahead log (`siis.db-wal`, `siis-auditoria.db-wal`,
    /// `siis-auditoria-indice.db-wal`) may take on disk, however long the load. A thread
    /// checkpoints every WAL each second and starts a log over once it reaches half this; a
    /// file past it (a reader held an old snapshot) is cut back as soon as the reader lets go.
    /// At 2,000 lookups/s the audit WAL grows about 16 MB a second. Ignored on PostgreSQL,
    /// whose `pg_wal` the server bounds (`max_wal_size`). See docs/storage.md.
    pub wal_limit_mb: u64,
    /// PostgreSQL streaming replicas (`postgres://…` each) that lookups may read from; writes,
    /// the audit and anything that reads what was just written stay on `url`, the primary.
    pub replicas: Vec<DatabaseUrl>,
    /// How far behind the primary a replica may be, in milliseconds, and still serve lookups.
    /// A lookup sees the registry as it was at most this plus `replica_check_ms` ago.
    pub replica_max_lag_ms: u64,
    /// Milliseconds between two measures of each replica's distance from the primary.
    pub replica_check_ms: u64,
}

impl DatabaseConfig {
    fn check_replicas(&self) -> Result<(), ConfigError> {
        if self.replicas.is_empty() {
            return Ok(());
        }
        let postgres = |url: &DatabaseUrl| matches!(url, DatabaseUrl::Postgres(_));
        if !postgres(&self.url) || !self.replicas.iter().all(postgres) {
            return Err(ConfigError(
                "database.replicas are PostgreSQL streaming replicas of a PostgreSQL database.url"
                    .into(),
            ));
        }
        if !(10..=60_000).contains(&self.replica_check_ms)
            || self.replica_max_lag_ms < self.replica_check_ms
        {
            return Err(ConfigError(
                "database.replica_check_ms must be between 10 and 60000, and \
                 database.replica_max_lag_ms at least as long"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The bound `wal_limit_mb` sets.
    pub fn wal_limit(&self) -> crate::audit::WalLimit {
        crate::audit::WalLimit::megabytes(self.wal_limit_mb)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ListenConfig {
    /// Agencies: TLS with a required client certificate signed by the agency CA.
    pub agency: SocketAddr,
    /// Public: TLS without client certificate (certificate verification, docs).
    pub public: SocketAddr,
    /// Administration: plain HTTP (health, readiness, metrics, reload), on a loopback address
    /// unless `admin_allow` names the networks that may reach it.
    pub admin: SocketAddr,
    /// Networks (CIDR) besides loopback whose requests the admin listener serves: a probe or a
    /// Prometheus scraper in a container network. Required for a non-loopback `admin`.
    pub admin_allow: Vec<ipnet::IpNet>,
    /// HTTP worker threads per TLS listener (0 = one per core).
    pub workers: usize,
    /// Seconds a node told to stop (SIGTERM, `systemctl stop`) keeps serving first, its
    /// balancer check `GET /admin/balanceador` answering 404 and every answer closing its
    /// connection, before it stops accepting. 0 (alone) stops at once; behind a balancer, a few
    /// seconds, longer than the balancer's check interval times its fall count (HAProxy's
    /// `inter` × `fall`), so that it has stopped sending before the node stops listening.
    pub drain_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// Folder with `ca.pem` (the CA that signs agency client certificates), `server.pem` and
    /// `server-key.pem` (the node's certificate chain and key). `siis pki dev` writes one.
    pub dir: PathBuf,
    /// Optional certificate revocation list (PEM) for agency client certificates: a revoked
    /// certificate fails the TLS handshake, and one revoked later is refused on its open
    /// connection. Read again on reload (SIGHUP, `POST /admin/convenios/reload`); past its
    /// nextUpdate every agency client is refused and `/readyz` answers 503.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crl: Option<PathBuf>,
    /// `serve` (without `--demo`) refuses a `dir` that holds a CA's private key (such as the
    /// `ca-key.pem` of `siis pki dev`) unless this is true.
    pub allow_ca_key: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BrokerConfig {
    /// A message id seen again from the same agreement within this many seconds is refused.
    pub replay_window_secs: u64,
    /// Most RUNs in one batch lookup.
    pub batch_max: usize,
    /// Most single FPS lookups read together: lookups that wait for a registry connection at
    /// the same time are read by one connection in one go (`src/broker/coalesce.rs`). 1 reads
    /// each lookup alone.
    pub lookup_group_max: usize,
    /// Most connections reading queued single lookups at a time. A reader also needs one of
    /// the `database.pool_size` permits, so more readers than that change nothing; fewer make
    /// larger groups and leave connections to the other operations.
    pub lookup_readers: usize,
    /// Largest provider batch file received over REST or SOAP (bytes), spooled to disk.
    pub lotes_max_bytes: u64,
    /// Provider batches (lotes) one agreement may have in progress at once, over every
    /// transport; one more is refused (`LOTES_EN_CURSO`, 429) before its body is read.
    pub lotes_max_concurrent: usize,
    /// Refused requests one client certificate may have audited one by one, per second. A
    /// refusal beyond this rate (or [`BrokerConfig::refusals_burst`]) is answered 429
    /// `LIMITE_EXCEDIDO` and counted instead, so a flood cannot grow the audit log faster than
    /// this; the counts are written as one summary record per certificate
    /// ([`BrokerConfig::refusals_summary_secs`]).
    pub refusals_per_second: u32,
    /// Refusals one certificate may have audited at once before `refusals_per_second` applies.
    pub refusals_burst: u32,
    /// How often the counts of refusals answered without a record of their own are written,
    /// one summary record per certificate (and once more when the node stops).
    pub refusals_summary_secs: u64,
    /// ValidarIdentidad: comparisons that do not match one agreement may make about one person
    /// in a (Chilean civil) day; more are refused (`VALIDACIONES_AGOTADAS`, 429) until midnight.
    pub failed_validations_per_day: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AuditConfig {
    /// `fsync` (default): every answer waits until its audit record is flushed to disk.
    /// `os`: the record is handed to the operating system before the answer and flushed at
    /// checkpoints; it survives a crash of the node, not a power loss. See docs/audit.md, *Durability*.
    pub durability: crate::audit::Durability,
    /// `/readyz` answers 503 `AUDITORIA_DETENIDA` once audit records have waited this many
    /// seconds with the writer making no progress.
    pub stall_secs: u64,
    /// How often the node signs the chain's head into the checkpoint file (`audit::signed`).
    pub checkpoint_secs: u64,
    /// The checkpoint file (JSON lines, appended). Default: beside a SQLite registry
    /// (`siis.db` → `siis-checkpoints.jsonl`), `var/siis-checkpoints.jsonl` on PostgreSQL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoints: Option<PathBuf>,
    /// The key that signs checkpoints (Ed25519, PKCS#8 PEM). Default:
    /// `tls.dir/auditoria-key.pem`, which `siis pki dev` writes; its public key beside it
    /// (`auditoria.pem`) is what `siis audit verify --checkpoints` checks with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clave_checkpoints: Option<PathBuf>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            durability: crate::audit::Durability::default(),
            stall_secs: 10,
            checkpoint_secs: 60,
            checkpoints: None,
            clave_checkpoints: None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ElegibilidadConfig {
    /// The eligibility rules and thresholds per program (TOML).
    pub reglas: PathBuf,
}

/// Certificates (EmitirCertificado / VerificarCertificado); see `src/ops/certificados.rs`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CertificadosConfig {
    /// Whether this node issues certificates. When true the node refuses to start without a
    /// readable document signing key.
    pub emitir: bool,
    /// The document signing key (Ed25519, PKCS#8 PEM). Default: `tls.dir/documentos-key.pem`,
    /// which `siis pki dev` writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clave_privada: Option<PathBuf>,
    /// Its public key (SPKI PEM), the one third parties verify with. Default:
    /// `tls.dir/documentos.pem`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clave_publica: Option<PathBuf>,
    /// The public verification address printed on certificates, up to the folio.
    pub url_verificacion: String,
    /// Verifications per minute allowed to one IP address on the public listener.
    pub verificar_por_minuto: u32,
    /// Verifications one IP address may make in a burst before the per-minute rate applies.
    pub verificar_rafaga: u32,
}

impl Default for CertificadosConfig {
    fn default() -> Self {
        CertificadosConfig {
            emitir: true,
            clave_privada: None,
            clave_publica: None,
            url_verificacion: "https://localhost:8444/verificar/".into(),
            verificar_por_minuto: 30,
            verificar_rafaga: 10,
        }
    }
}

/// The web console (`src/consola/`), on the public listener under `/consola/`. Officials and
/// persons sign in with Clave Única (OpenID Connect, authorization code with PKCE).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConsolaConfig {
    /// Whether the node serves the console.
    pub habilitada: bool,
    /// The OpenID provider's issuer (Clave Única: `https://accounts.claveunica.gob.cl/openid`).
    /// Must be `https://`. Empty: nobody can sign in (only the demo's development sign-in).
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The console's address as the browser sees it, up to and without `/consola`
    /// (`https://siis.example.gob.cl`): the provider sends the browser back to
    /// `{url_publica}/consola/retorno`, which must be registered with it.
    pub url_publica: String,
    /// Where signing out sends the browser so that the provider's session ends too (Clave
    /// Única: `https://accounts.claveunica.gob.cl/api/v1/accounts/app/logout`); the console adds
    /// `?redirect={url_publica}/consola/`. Empty: the provider's `end_session_endpoint`.
    pub url_cierre: String,
    /// Extra CA certificates (PEM) to trust for the provider besides the system's roots: a
    /// test provider's, or a ministry's proxy. Verification is never skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_proveedor: Option<PathBuf>,
    /// Minutes a session lasts from sign-in; and minutes without a page before it ends.
    pub sesion_minutos: u64,
    pub inactividad_minutos: u64,
    /// Sign-ins started per minute from one address, and at once.
    pub ingresos_por_minuto: u32,
    pub ingresos_rafaga: u32,
    /// Each user's own allowance, in persons, besides their agreement's: per second, at once,
    /// and per day.
    pub usuario_por_segundo: u32,
    pub usuario_rafaga: u32,
    pub usuario_cupo_diario: u64,
    /// The demo's development sign-in (a RUN typed, no identity checked). Set only by
    /// `serve --demo`; no file or variable can turn it on.
    #[serde(skip)]
    pub ingreso_demo: bool,
}

impl ConsolaConfig {
    fn check(&self) -> Result<(), ConfigError> {
        if !self.issuer.is_empty() && !self.issuer.starts_with("https://") {
            return Err(ConfigError(
                "consola.issuer must be an https:// address (the provider's tokens and the users' identities travel over it)".into(),
            ));
        }
        if !self.issuer.is_empty() && (self.client_id.is_empty() || self.client_secret.is_empty()) {
            return Err(ConfigError(
                "consola.issuer needs consola.client_id and consola.client_secret".into(),
            ));
        }
        let https = |url: &str| url.starts_with("https://") && url::Url::parse(url).is_ok();
        if !(self.url_cierre.is_empty() || https(&self.url_cierre)) {
            return Err(ConfigError(
                "consola.url_cierre must be empty or an https:// address".into(),
            ));
        }
        if !https(&self.url_publica) || self.url_publica.ends_with('/') {
            return Err(ConfigError(
                "consola.url_publica must be an https:// address without a trailing /".into(),
            ));
        }
        if self.sesion_minutos == 0 || self.inactividad_minutos == 0 {
            return Err(ConfigError(
                "consola.sesion_minutos and consola.inactividad_minutos must be at least 1".into(),
            ));
        }
        if self.ingresos_por_minuto == 0
            || self.ingresos_rafaga == 0
            || self.usuario_por_segundo == 0
            || self.usuario_rafaga == 0
            || self.usuario_cupo_diario == 0
        {
            return Err(ConfigError(
                "consola: the sign-in and per-user limits must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

impl Default for ConsolaConfig {
    fn default() -> Self {
        ConsolaConfig {
            habilitada: true,
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            url_publica: "https://localhost:8444".into(),
            url_cierre: String::new(),
            ca_proveedor: None,
            sesion_minutos: 480,
            inactividad_minutos: 30,
            ingresos_por_minuto: 10,
            ingresos_rafaga: 5,
            usuario_por_segundo: 2,
            usuario_rafaga: 10,
            usuario_cupo_diario: 2_000,
            ingreso_demo: false,
        }
    }
}

/// File names, inside the TLS folder, of the document signing key (certificates' signatures)
/// and of its public key.
pub const DOC_KEY: &str = "documentos-key.pem";
pub const DOC_PUB: &str = "documentos.pem";
/// File names, inside the TLS folder, of the key that signs audit checkpoints and of its
/// public key.
pub const AUDIT_KEY: &str = "auditoria-key.pem";
pub const AUDIT_PUB: &str = "auditoria.pem";

impl Config {
    /// The audit checkpoint key's path (explicit, or beside the TLS material).
    pub fn clave_checkpoints(&self) -> PathBuf {
        self.audit
            .clave_checkpoints
            .clone()
            .unwrap_or_else(|| self.tls.dir.join(AUDIT_KEY))
    }

    /// The public key checkpoints verify with: beside the private key.
    pub fn clave_publica_checkpoints(&self) -> PathBuf {
        let key = self.clave_checkpoints();
        match key.file_name().and_then(|n| n.to_str()) {
            Some(name) if name.ends_with("-key.pem") => {
                key.with_file_name(name.replace("-key.pem", ".pem"))
            }
            _ => key.with_extension("pub.pem"),
        }
    }

    /// The checkpoint file's path (explicit, or beside a SQLite registry).
    pub fn checkpoints(&self) -> PathBuf {
        self.audit
            .checkpoints
            .clone()
            .unwrap_or_else(|| match &self.database.url {
                crate::db::DatabaseUrl::Sqlite(path) => {
                    let stem = path
                        .file_stem()
                        .map_or_else(|| "siis".into(), |s| s.to_string_lossy().into_owned());
                    path.with_file_name(format!("{stem}-checkpoints.jsonl"))
                }
                crate::db::DatabaseUrl::Postgres(_) => PathBuf::from("var/siis-checkpoints.jsonl"),
            })
    }

    /// The document signing key's path (explicit, or beside the TLS material).
    pub fn clave_privada_documentos(&self) -> PathBuf {
        self.certificados
            .clave_privada
            .clone()
            .unwrap_or_else(|| self.tls.dir.join(DOC_KEY))
    }

    /// The document public key's path (explicit, or beside the TLS material).
    pub fn clave_publica_documentos(&self) -> PathBuf {
        self.certificados
            .clave_publica
            .clone()
            .unwrap_or_else(|| self.tls.dir.join(DOC_PUB))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EncuestajeConfig {
    /// Calendar days (Chile's civil day, America/Santiago) a municipality has to work a survey
    /// request: the due date is the request's day plus this many days. 1 to 365.
    pub plazo_dias: u32,
}

/// The survey questionnaire's scoring models (src/modelos.rs, docs/modelos.md).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EncuestaConfig {
    /// Folder with one scoring model per file, `<nombre>.toml`.
    pub modelos: PathBuf,
    /// The model a survey is scored with when it names none.
    pub vigente: String,
}

impl Default for EncuestaConfig {
    fn default() -> Self {
        EncuestaConfig {
            modelos: PathBuf::from("conf/modelos"),
            vigente: "FPS-2026-1".into(),
        }
    }
}

impl Default for EncuestajeConfig {
    fn default() -> Self {
        EncuestajeConfig { plazo_dias: 30 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConveniosConfig {
    /// Folder with one TOML file per agreement (convenio).
    pub dir: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A `tracing` filter, e.g. `info` or `siis=debug,actix_web=info`. `RUST_LOG` overrides it.
    pub filter: String,
    /// `text` for people, `json` for log collectors.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EstadisticasConfig {
    /// Seconds between recomputations of the territorial statistics by a running node (which
    /// also recomputes at start when they are missing or older than this). 0: only
    /// `siis estadisticas recalcular` and `siis seed` recompute them.
    pub recalcular_cada_secs: u64,
}

impl Default for EstadisticasConfig {
    fn default() -> Self {
        EstadisticasConfig {
            recalcular_cada_secs: 3_600,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database: DatabaseConfig::default(),
            listen: ListenConfig::default(),
            tls: TlsConfig {
                dir: PathBuf::from("var/pki"),
                crl: None,
                allow_ca_key: false,
            },
            convenios: ConveniosConfig {
                dir: PathBuf::from("convenios"),
            },
            log: LogConfig::default(),
            broker: BrokerConfig::default(),
            audit: AuditConfig::default(),
            elegibilidad: ElegibilidadConfig::default(),
            certificados: CertificadosConfig::default(),
            encuestaje: EncuestajeConfig::default(),
            encuesta: EncuestaConfig::default(),
            consola: ConsolaConfig::default(),
            estadisticas: EstadisticasConfig::default(),
            cluster: ClusterConfig::default(),
            dci: DciConfig::default(),
            notificaciones: NotificacionesConfig::default(),
            retencion: RetencionConfig::default(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: DatabaseUrl::Sqlite(PathBuf::from("var/siis.db")),
            pool_size: 4,
            pool_timeout_secs: 5,
            wal_limit_mb: crate::audit::WalLimit::DEFAULT_MB,
            replicas: Vec::new(),
            replica_max_lag_ms: 1_000,
            replica_check_ms: 250,
        }
    }
}

impl Default for ListenConfig {
    fn default() -> Self {
        ListenConfig {
            agency: SocketAddr::from(([127, 0, 0, 1], 8443)),
            public: SocketAddr::from(([127, 0, 0, 1], 8444)),
            admin: SocketAddr::from(([127, 0, 0, 1], 8480)),
            admin_allow: Vec::new(),
            workers: 0,
            drain_secs: 0,
        }
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        Config::default().tls
    }
}

impl Default for ConveniosConfig {
    fn default() -> Self {
        Config::default().convenios
    }
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            replay_window_secs: 600,
            batch_max: 500,
            lookup_group_max: 16,
            lookup_readers: 2,
            lotes_max_bytes: 4 << 30,
            lotes_max_concurrent: 1,
            refusals_per_second: 2,
            refusals_burst: 20,
            refusals_summary_secs: 60,
            failed_validations_per_day: 5,
        }
    }
}

impl Default for ElegibilidadConfig {
    fn default() -> Self {
        ElegibilidadConfig {
            reglas: PathBuf::from("conf/elegibilidad.toml"),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: "info".into(),
            format: LogFormat::Text,
        }
    }
}

/// A configuration that could not be loaded; the message names the key or file at fault.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Loads defaults, then `file` (required when given, optional `conf/siis.toml` otherwise),
    /// then `SIIS__…` environment variables, and checks the result.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) if !path.is_file() => {
                return Err(ConfigError(format!("file {} not found", path.display())));
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            // The default file is optional: when absent, the defaults stand.
            None if Path::new(DEFAULT_FILE).is_file() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_FILE));
            }
            None => {}
        }
        Self::extract(figment.merge(Env::prefixed("SIIS__").split("__")))
    }

    fn extract(figment: Figment) -> Result<Config, ConfigError> {
        let config: Config = figment
            .extract()
            .map_err(|e| ConfigError(e.into_iter().map(describe).collect::<Vec<_>>().join("; ")))?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.notificaciones.check()?;
        self.retencion.check()?;
        if !self.listen.admin.ip().is_loopback() && self.listen.admin_allow.is_empty() {
            return Err(ConfigError(format!(
                "listen.admin must be a loopback address, not {}, unless listen.admin_allow \
                 names the networks that may reach it",
                self.listen.admin
            )));
        }
        if self.audit.stall_secs == 0 {
            return Err(ConfigError("audit.stall_secs must be at least 1".into()));
        }
        if self.audit.checkpoint_secs == 0 {
            return Err(ConfigError(
                "audit.checkpoint_secs must be at least 1 (checkpoints are not optional)".into(),
            ));
        }
        if self.database.pool_timeout_secs == 0 {
            return Err(ConfigError(
                "database.pool_timeout_secs must be at least 1".into(),
            ));
        }
        if self.broker.replay_window_secs == 0 {
            return Err(ConfigError(
                "broker.replay_window_secs must be at least 1 (0 would turn replay protection off)"
                    .into(),
            ));
        }
        if !(1..=500).contains(&self.broker.batch_max) {
            return Err(ConfigError(
                "broker.batch_max must be between 1 and 500 (the SOAP contract's limit)".into(),
            ));
        }
        self.consola.check()?;
        let id = &self.dci.receiver_id;
        if !(1..=99).contains(&id.len()) || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError(
                "dci.receiver_id must be 1 to 99 printable ASCII characters".into(),
            ));
        }
        self.cluster.check(&self.database.url)?;
        self.database.check_replicas()?;
        if self.certificados.verificar_por_minuto == 0 || self.certificados.verificar_rafaga == 0 {
            return Err(ConfigError(
                "certificados.verificar_por_minuto and certificados.verificar_rafaga must be at least 1"
                    .into(),
            ));
        }
        if !(1..=365).contains(&self.encuestaje.plazo_dias) {
            return Err(ConfigError(
                "encuestaje.plazo_dias must be between 1 and 365".into(),
            ));
        }
        if !(4..=65_536).contains(&self.database.wal_limit_mb) {
            return Err(ConfigError(
                "database.wal_limit_mb must be between 4 and 65536".into(),
            ));
        }
        if self.database.pool_size == 0 {
            return Err(ConfigError("database.pool_size must be at least 1".into()));
        }
        if self.broker.lotes_max_concurrent == 0
            || self.broker.refusals_per_second == 0
            || self.broker.refusals_burst == 0
            || self.broker.refusals_summary_secs == 0
            || self.broker.failed_validations_per_day == 0
        {
            return Err(ConfigError(
                "broker.lotes_max_concurrent, broker.refusals_per_second, broker.refusals_burst, \
                 broker.refusals_summary_secs and broker.failed_validations_per_day must be at least 1"
                    .into(),
            ));
        }
        if self.broker.lookup_group_max == 0 || self.broker.lookup_readers == 0 {
            return Err(ConfigError(
                "broker.lookup_group_max and broker.lookup_readers must be at least 1".into(),
            ));
        }
        if self
            .log
            .filter
            .parse::<tracing_subscriber::EnvFilter>()
            .is_err()
        {
            return Err(ConfigError(format!(
                "log.filter {:?} is not a tracing filter",
                self.log.filter
            )));
        }
        Ok(())
    }
}

/// One problem as `key: what is wrong (where the value came from)`.
fn describe(error: figment::Error) -> String {
    let key = error.path.join(".").to_lowercase();
    let origin = match error.metadata.as_ref().and_then(|m| m.source.as_ref()) {
        Some(figment::Source::File(path)) => format!("in {}", path.display()),
        _ if error
            .metadata
            .as_ref()
            .is_some_and(|m| m.name.contains("environment")) =>
        {
            format!(
                "in environment variable SIIS__{}",
                error.path.join("__").to_uppercase()
            )
        }
        _ => String::new(),
    };
    let key = if key.is_empty() {
        "(top level)".to_string()
    } else {
        key
    };
    format!("{key}: {} {origin}", error.kind)
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::Jail;

    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn load_in_jail(toml: &str, env: &[(&str, &str)]) -> Result<Config, String> {
        let mut out = Err(String::new());
        Jail::expect_with(|jail: &mut Jail| {
            jail.create_file("siis.toml", toml)?;
            for (k, v) in env {
                jail.set_env(k, v);
            }
            out = Config::load(Some(Path::new("siis.toml"))).map_err(|e| e.to_string());
            Ok(())
        });
        out
    }

    #[test]
    fn the_shipped_file_is_the_defaults() {
        let shipped = include_str!("../conf/siis.toml");
        assert_eq!(load_in_jail(shipped, &[]).unwrap(), Config::default());
    }

    /// The Debian package's /etc/siis/siis.toml: the defaults, with absolute paths where a
    /// package install puts things (the node runs in /var/lib/siis).
    #[test]
    fn the_packaged_file_is_the_defaults_with_absolute_paths() {
        let packaged = include_str!("../packaging/siis.toml");
        let mut expected = Config::default();
        expected.database.url = DatabaseUrl::Sqlite(PathBuf::from("/var/lib/siis/siis.db"));
        expected.tls.dir = PathBuf::from("/etc/siis/tls");
        expected.convenios.dir = PathBuf::from("/etc/siis/convenios");
        expected.elegibilidad.reglas = PathBuf::from("/etc/siis/elegibilidad.toml");
        expected.encuesta.modelos = PathBuf::from("/etc/siis/modelos");
        assert_eq!(load_in_jail(packaged, &[]).unwrap(), expected);
    }

    #[test]
    fn retention_takes_fractional_days_and_refuses_none() {
        let config = load_in_jail(
            "[retencion]\nentregas_dias = 0.5\neventos_dias = 2\n",
            &[("SIIS__RETENCION__DCI_RESULTADO_DIAS", "0.0001")],
        )
        .unwrap();
        assert_eq!(config.retencion.entregas_dias, 0.5);
        assert_eq!(config.retencion.eventos_dias, 2.0);
        assert_eq!(
            RetencionConfig::micros(config.retencion.dci_resultado_dias),
            8_640_000
        );
        for bad in [
            "entregas_dias = 0",
            "eventos_dias = -1",
            "dci_resultado_dias = nan",
            "eventos_dias = 40000",
        ] {
            let err = load_in_jail(&format!("[retencion]\n{bad}\n"), &[]).unwrap_err();
            assert!(
                err.contains("more than 0 and at most 36500"),
                "{bad}: {err}"
            );
        }
        for bad in ["cada_secs = 0", "lote = 0"] {
            let err = load_in_jail(&format!("[retencion]\n{bad}\n"), &[]).unwrap_err();
            assert!(err.contains("at least 1"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_node_name_needs_postgres_and_a_plain_name() {
        let pg = "[database]\nurl = \"postgres://siis@db.example/siis\"\n";
        let config = load_in_jail(&format!("{pg}[cluster]\nnodo = \"n-1\"\n"), &[]).unwrap();
        assert_eq!(config.cluster.nodo.as_deref(), Some("n-1"));
        let sqlite = load_in_jail("[cluster]\nnodo = \"n1\"\n", &[]).unwrap_err();
        assert!(
            sqlite.contains("cluster.nodo needs a PostgreSQL"),
            "{sqlite}"
        );
        for bad in ["", "N1", "n 1", &"n".repeat(33)] {
            let err = load_in_jail(&format!("{pg}[cluster]\nnodo = {bad:?}\n"), &[]).unwrap_err();
            assert!(err.contains("must be 1 to 32 characters"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn replicas_are_postgres_beside_a_postgres_primary() {
        let pg = "url = \"postgres://siis@db.example/siis\"\n";
        let replica = "replicas = [\"postgres://siis@replica.example/siis\"]\n";
        let config = load_in_jail(&format!("[database]\n{pg}{replica}"), &[]).unwrap();
        assert_eq!(config.database.replicas.len(), 1);
        let err = load_in_jail(&format!("[database]\n{replica}"), &[]).unwrap_err();
        assert!(err.contains("streaming replicas of a PostgreSQL"), "{err}");
        let err = load_in_jail(
            &format!("[database]\n{pg}{replica}replica_max_lag_ms = 100\nreplica_check_ms = 200\n"),
            &[],
        )
        .unwrap_err();
        assert!(err.contains("replica_max_lag_ms at least as long"), "{err}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let config = load_in_jail(
            "[database]\nurl = \"sqlite://a.db\"\n",
            &[
                (
                    "SIIS__DATABASE__URL",
                    "postgres://siis@db.example:5432/siis",
                ),
                ("SIIS__LISTEN__AGENCY", "0.0.0.0:9443"),
                ("SIIS__TLS__DIR", "/etc/siis/pki"),
                ("SIIS__DATABASE__POOL_SIZE", "8"),
            ],
        )
        .unwrap();
        assert!(matches!(config.database.url, DatabaseUrl::Postgres(_)));
        assert_eq!(config.listen.agency.port(), 9443);
        assert_eq!(config.tls.dir, PathBuf::from("/etc/siis/pki"));
        assert_eq!(config.database.pool_size, 8);
    }

    /// `[eligibility] rules` became `[elegibilidad] reglas` (2026-12): a file or variable
    /// that still says so is refused, naming it, rather than silently using the default.
    #[test]
    fn the_eligibility_section_has_its_spanish_name() {
        let renamed = load_in_jail("[elegibilidad]\nreglas = \"a.toml\"\n", &[]).unwrap();
        assert_eq!(renamed.elegibilidad.reglas, PathBuf::from("a.toml"));
        let old = load_in_jail("[eligibility]\nrules = \"b.toml\"\n", &[]).unwrap_err();
        assert!(old.contains("eligibility"), "{old}");
        let env = load_in_jail("", &[("SIIS__ELIGIBILITY__RULES", "c.toml")]).unwrap_err();
        assert!(env.contains("eligibility"), "{env}");
    }

    /// `[agreements] dir` became `[convenios] dir` (2026-12), with the folder: a file or
    /// variable that still says so is refused, naming it.
    #[test]
    fn the_convenios_section_has_its_spanish_name() {
        let renamed = load_in_jail("[convenios]\ndir = \"c\"\n", &[]).unwrap();
        assert_eq!(renamed.convenios.dir, PathBuf::from("c"));
        let old = load_in_jail("[agreements]\ndir = \"a\"\n", &[]).unwrap_err();
        assert!(old.contains("agreements"), "{old}");
        let env = load_in_jail("", &[("SIIS__AGREEMENTS__DIR", "a")]).unwrap_err();
        assert!(env.contains("agreements"), "{env}");
    }

    /// A non-loopback admin listener needs the networks it serves; a network that is not CIDR
    /// is refused, naming the key.
    #[test]
    fn the_admin_listener_leaves_loopback_only_with_its_networks() {
        let file = "[listen]\nadmin = \"0.0.0.0:8480\"\nadmin_allow = [\"10.0.0.0/8\"]\n";
        let config = load_in_jail(file, &[]).unwrap();
        assert_eq!(config.listen.admin_allow, ["10.0.0.0/8".parse().unwrap()]);
        let env = load_in_jail(
            "",
            &[
                ("SIIS__LISTEN__ADMIN", "0.0.0.0:8480"),
                (
                    "SIIS__LISTEN__ADMIN_ALLOW",
                    "[\"172.16.0.0/12\", \"fd00::/8\"]",
                ),
            ],
        )
        .unwrap();
        assert_eq!(env.listen.admin_allow.len(), 2);
        let bad = load_in_jail("[listen]\nadmin_allow = [\"10.0.0.0\"]\n", &[]).unwrap_err();
        assert!(bad.contains("listen.admin_allow"), "{bad}");
        let stall = load_in_jail("[audit]\nstall_secs = 0\n", &[]).unwrap_err();
        assert!(stall.contains("audit.stall_secs"), "{stall}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = load_in_jail("[database]\nurll = \"x\"\n", &[]).unwrap_err();
        assert!(err.contains("urll"), "{err}");
        let err = load_in_jail("", &[("SIIS__LISTEN__AGENCYY", "1")]).unwrap_err();
        assert!(err.contains("agencyy"), "{err}");
        let err = load_in_jail("[nope]\n", &[]).unwrap_err();
        assert!(err.contains("nope"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        let err = load_in_jail("", &[("SIIS__LISTEN__AGENCY", "not-an-address")]).unwrap_err();
        assert!(err.contains("listen.agency"), "{err}");
        let err = load_in_jail("", &[("SIIS__DATABASE__URL", "mysql://x/y")]).unwrap_err();
        assert!(err.contains("database.url"), "{err}");
        let err = load_in_jail("[listen]\nadmin = \"0.0.0.0:1\"\n", &[]).unwrap_err();
        assert!(err.contains("listen.admin"), "{err}");
        let err = load_in_jail("[database]\npool_size = 0\n", &[]).unwrap_err();
        assert!(err.contains("pool_size"), "{err}");
        let err = load_in_jail("[broker]\nreplay_window_secs = 0\n", &[]).unwrap_err();
        assert!(err.contains("broker.replay_window_secs"), "{err}");
        let err = load_in_jail("", &[("SIIS__BROKER__LOOKUP_READERS", "0")]).unwrap_err();
        assert!(err.contains("broker.lookup_readers"), "{err}");
        let err = load_in_jail("[broker]\nlookup_group_max = 0\n", &[]).unwrap_err();
        assert!(err.contains("broker.lookup_group_max"), "{err}");
        let err = load_in_jail("[database]\nwal_limit_mb = 1\n", &[]).unwrap_err();
        assert!(err.contains("database.wal_limit_mb"), "{err}");
        let err = load_in_jail("[database]\npool_timeout_secs = 0\n", &[]).unwrap_err();
        assert!(err.contains("database.pool_timeout_secs"), "{err}");
        let err = load_in_jail("[log]\nformat = \"xml\"\n", &[]).unwrap_err();
        assert!(err.contains("log.format"), "{err}");
        let err = load_in_jail("[audit]\ndurability = \"never\"\n", &[]).unwrap_err();
        assert!(err.contains("audit.durability"), "{err}");
    }

    #[test]
    fn audit_durability_defaults_to_fsync() {
        use crate::audit::Durability;
        assert_eq!(
            load_in_jail("", &[]).unwrap().audit.durability,
            Durability::Fsync
        );
        let config = load_in_jail("", &[("SIIS__AUDIT__DURABILITY", "os")]).unwrap();
        assert_eq!(config.audit.durability, Durability::Os);
    }

    #[test]
    fn a_missing_explicit_file_is_an_error() {
        let err = Config::load(Some(Path::new("/nonexistent/siis.toml"))).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/siis.toml"));
    }
}

#[cfg(test)]
mod encuestaje_tests {
    use super::*;
    use figment::Jail;

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn the_survey_deadline_is_configurable_within_a_year() {
        Jail::expect_with(|jail: &mut Jail| {
            jail.create_file("siis.toml", "[encuestaje]\nplazo_dias = 10\n")?;
            let config = Config::load(Some(Path::new("siis.toml"))).unwrap();
            assert_eq!(config.encuestaje.plazo_dias, 10);
            jail.set_env("SIIS__ENCUESTAJE__PLAZO_DIAS", "45");
            let config = Config::load(Some(Path::new("siis.toml"))).unwrap();
            assert_eq!(config.encuestaje.plazo_dias, 45);
            for bad in ["0", "366"] {
                jail.set_env("SIIS__ENCUESTAJE__PLAZO_DIAS", bad);
                let err = Config::load(Some(Path::new("siis.toml"))).unwrap_err();
                assert!(err.to_string().contains("encuestaje.plazo_dias"), "{err}");
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod consola_tests {
    use super::*;
    use figment::Jail;

    #[test]
    #[expect(
        clippy::result_large_err,
        reason = "figment's Jail fixes the closure's error type"
    )]
    fn the_console_talks_to_its_provider_over_https_only() {
        Jail::expect_with(|jail: &mut Jail| {
            jail.create_file(
                "siis.toml",
                "[consola]\nissuer = \"https://accounts.claveunica.gob.cl/openid\"\nclient_id = \"x\"\nclient_secret = \"y\"\n",
            )?;
            let config = Config::load(Some(Path::new("siis.toml"))).unwrap();
            assert!(
                !config.consola.ingreso_demo,
                "only serve --demo turns it on"
            );
            let refused = [
                (
                    "SIIS__CONSOLA__ISSUER",
                    "http://accounts.example",
                    "consola.issuer",
                ),
                (
                    "SIIS__CONSOLA__URL_CIERRE",
                    "http://accounts.example/logout",
                    "consola.url_cierre",
                ),
                (
                    "SIIS__CONSOLA__URL_PUBLICA",
                    "https://siis.example/",
                    "consola.url_publica",
                ),
                (
                    "SIIS__CONSOLA__INACTIVIDAD_MINUTOS",
                    "0",
                    "consola.sesion_minutos",
                ),
                ("SIIS__CONSOLA__USUARIO_RAFAGA", "0", "per-user limits"),
            ];
            for (variable, value, named) in refused {
                jail.set_env(variable, value);
                let err = Config::load(Some(Path::new("siis.toml"))).unwrap_err();
                assert!(err.to_string().contains(named), "{variable}: {err}");
                jail.clear_env();
            }
            // The development sign-in cannot be set from a file or the environment.
            jail.set_env("SIIS__CONSOLA__INGRESO_DEMO", "true");
            let err = Config::load(Some(Path::new("siis.toml"))).unwrap_err();
            assert!(err.to_string().contains("ingreso_demo"), "{err}");
            Ok(())
        });
    }
}

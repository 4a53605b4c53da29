//! The broker: the one place where a request meets its agreement. It finds the agreement a
//! client certificate acts under, refuses what the agreement does not allow (default deny),
//! applies rate limits, quotas and replay protection, runs the operation, projects the answer
//! onto the granted fields, and writes the audit record before the answer leaves. Transports
//! (`rest/`, `soap/`) only decode, call one of [`Broker::call`] (reads), [`Broker::call_write`]
//! (writes, committed together with their audit record), [`Broker::call_write_reading`] (a
//! write in steps, [`Escritura`], whose input is read only once admitted: provider batches) or
//! [`Broker::call_grouped`] (a read shared with the same reads waiting at the same time: a
//! single FPS lookup), and encode.
//!
//! The unit of accounting is the person: a request about N persons (a batch of N RUNs, a feed
//! of N records) takes N from the agreement's rate and daily quota. Refusals cost their sender
//! too ([`refusals`]).

mod coalesce;
pub mod compartido;
pub mod entregas;
mod limits;
mod metrics;
mod publico;
mod record;
mod refusals;
mod replay;
pub mod retencion;
mod usuarios;
mod validaciones;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use chrono::{NaiveDate, Timelike, Utc};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::audit::{AuditLog, AuditRecord};
use crate::catalog::Operation;
use crate::config::Config;
use crate::convenios::{Convenio, ConvenioErrors, ConvenioSet};
use crate::db::{DbConnection, Pool};
use crate::domain::{ConvenioId, Run};
use crate::error::{ApiError, ErrorCode};
use crate::projection::Project;
use crate::reglas::Rules;
use crate::tls::ClientIdentity;

use coalesce::Groups;
pub use coalesce::{GroupStats, ReadGroup};
pub use compartido::Coordinacion;
pub use limits::{ConvenioLimits, Limits, Used};
pub use metrics::BrokerMetrics;
use record::{Disclosed, RecordDraft};
pub use refusals::{Omitidos, Refusals};
pub use replay::ReplayGuard;
pub use usuarios::{PorUsuario, Usuario};
pub use validaciones::{Reserva, ValidacionesFallidas};

/// How a request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Rest,
    /// SOAP in the version asked: a Fault's HTTP status depends on it ([`Transport::status_of`]).
    Soap(SoapVersion),
    /// The web console: a signed-in user's page (`src/consola/`).
    Consola,
    /// The DCI (spdci) Social Registry API (`src/dci/`): a refusal travels with the status
    /// [`crate::error::dci::status_of`] gives it (a replayed message id is a `rjct` envelope, 200).
    Dci,
    /// The node sending an event to a push subscription's callback ([`Call::entrega_a`]).
    Push,
}

/// The SOAP version a request was sent in (its content type says which).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SoapVersion {
    V11,
    V12,
}

impl Transport {
    /// The HTTP status of an answer carrying `error`. On REST, the error's own. On SOAP, 200
    /// when it is an outcome of the operation (an `estadoSobre` in a normal answer); for a
    /// Fault, 500 in SOAP 1.1 (WS-I Basic Profile 1.1, R1126), and in SOAP 1.2 400 for a Sender
    /// fault and 500 for a Receiver one (SOAP 1.2 Part 2, 7.5.2.4). JAX-WS and WCF take any
    /// other status for a transport failure and never read the Fault's `s:detalle`. The answer
    /// and its audit record both use this.
    pub fn status_of(self, error: &ApiError) -> u16 {
        let version = match self {
            Transport::Soap(version) => version,
            Transport::Dci => return crate::error::dci::status_of(error),
            Transport::Rest | Transport::Consola | Transport::Push => return error.status(),
        };
        let (_, is_fault) = error.estado_sobre();
        match (is_fault, version, error.blames_request()) {
            (false, _, _) => 200,
            (true, SoapVersion::V12, true) => 400,
            (true, _, _) => 500,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Rest => "rest",
            Transport::Soap(_) => "soap",
            Transport::Consola => "consola",
            Transport::Dci => "dci",
            Transport::Push => "push",
        }
    }
}

/// What is being asked: a granted operation, or a service every agreement in force may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Op(Operation),
    /// The empty authenticated endpoint.
    Ping,
    /// What this client may call (X-Road's allowedMethods).
    Metaservicios,
    /// X-Road's listMethods: the services the node publishes.
    ListMethods,
    /// X-Road's getWsdl.
    GetWsdl,
    /// The REST API's OpenAPI document (the REST counterpart of getWsdl).
    GetOpenApi,
    /// A request whose operation could not be told (malformed or unknown): refused, audited.
    Desconocido,
    /// A certificate's verification by anyone, on the public listener ([`Broker::call_public`]).
    VerificarCertificado,
    /// The console's officials listed or changed: for a console user whose role manages users
    /// (`Rol::administra_usuarios`), never for a certificate.
    AdministrarUsuarios,
    /// DCI's `sync/txn/status`: the status of one of the agreement's own earlier searches
    /// (`ops::dci`), which names no person; every agreement in force may ask it.
    DciTxnStatus,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Op(op) => op.name(),
            Service::Ping => "Ping",
            Service::Metaservicios => "allowedMethods",
            Service::ListMethods => "listMethods",
            Service::GetWsdl => "getWsdl",
            Service::GetOpenApi => "getOpenAPI",
            Service::Desconocido => "Desconocido",
            Service::VerificarCertificado => "VerificarCertificado",
            Service::AdministrarUsuarios => "AdministrarUsuarios",
            Service::DciTxnStatus => "DciTxnStatus",
        }
    }

    /// The purpose a public service's audit records state (an agency's come from its
    /// agreement).
    pub fn public_purpose(self) -> Option<&'static str> {
        match self {
            Service::VerificarCertificado => Some("Verificación pública de un certificado"),
            _ => None,
        }
    }
}

/// One request as the broker sees it.
pub struct Call {
    pub identity: Option<Arc<ClientIdentity>>,
    pub transport: Transport,
    pub service: Service,
    /// The caller's message id, if it sent one (`X-Request-Id`, `X-Road-Id`, SOAP `id`).
    pub message_id: Option<String>,
    /// The persons the request is about (for the audit log and access reports, and what it
    /// costs: one unit of the agreement's rate and quota per person, at least one).
    pub subjects: Vec<Run>,
    /// A request the transport could not decode still counts, and is audited, as refused.
    pub input_error: Option<ApiError>,
    /// X-Road headers of the request as (name, value), for the audit log.
    pub xroad: Vec<(String, String)>,
    /// The address the request came from: public services are limited per address.
    pub peer: Option<std::net::IpAddr>,
    /// The console user who asked (then `identity` is `None`): their agreement and role
    /// decide, their own allowance is charged too, and the record names them.
    pub usuario: Option<Usuario>,
    /// The agreement the message says it comes from (DCI's `header.sender_id`): a claim, not
    /// an identity. The certificate still decides the agreement; a claim naming another one is
    /// refused (`REMITENTE_INVALIDO`).
    pub remitente: Option<String>,
    /// Units the request is charged at least, for one that learns whom it discloses only as it
    /// runs (a read of a subscription's events is charged its `limite` up front); 0 for the
    /// others.
    pub cobro_minimo: u64,
    /// The node itself delivering an event to a push subscription of this agreement (then
    /// `identity` and `usuario` are `None`): the agreement is found by its id, must be in force
    /// and grant the operation, and is charged and audited as if it had asked
    /// (`ops::suscripciones::entregar`).
    pub entrega_a: Option<ConvenioId>,
}

impl Call {
    /// What the request costs the agreement's rate and quota: one per person it names (or its
    /// [`Call::cobro_minimo`] if more), and at least one.
    pub fn persons(&self) -> u64 {
        (self.subjects.len() as u64).max(self.cobro_minimo).max(1)
    }
}

/// A write, in the steps the broker runs it in ([`Broker::call_write_reading`]), all on one
/// registry connection: `preparar` reads and checks what it needs before the registry's write
/// lock is taken (a provider batch is read and staged here); `aplicar` makes the change, in one
/// transaction that commits only with the answer's audit record; `terminar` tidies the
/// connection afterwards, whatever happened.
pub trait Escritura<I>: Send + 'static {
    type Preparado;
    type Respuesta: Project + Send + 'static;

    fn preparar(
        &mut self,
        admission: &Admission,
        conn: &mut DbConnection,
        input: I,
    ) -> Result<Self::Preparado, ApiError>;

    fn aplicar(
        &mut self,
        admission: &Admission,
        conn: &mut DbConnection,
        preparado: Self::Preparado,
    ) -> Result<Self::Respuesta, ApiError>;

    fn terminar(&mut self, _conn: &mut DbConnection) {}
}

/// A write with nothing to prepare: one function, run in the transaction.
struct Directa<F>(Option<F>);

impl<T, F> Escritura<()> for Directa<F>
where
    T: Project + Send + 'static,
    F: FnOnce(&Admission, &mut DbConnection) -> Result<T, ApiError> + Send + 'static,
{
    type Preparado = ();
    type Respuesta = T;

    fn preparar(&mut self, _: &Admission, _: &mut DbConnection, (): ()) -> Result<(), ApiError> {
        Ok(())
    }

    fn aplicar(
        &mut self,
        admission: &Admission,
        conn: &mut DbConnection,
        (): (),
    ) -> Result<T, ApiError> {
        let work = self.0.take().ok_or_else(|| {
            tracing::error!("a write was applied twice");
            ApiError::unavailable()
        })?;
        work(admission, conn)
    }
}

/// The agreement a request was admitted under.
#[derive(Clone)]
pub struct Admission {
    pub convenio: Arc<Convenio>,
    pub today: NaiveDate,
    /// The console user acting under the agreement (their RUN), if any: the author of a write.
    pub usuario: Option<Run>,
    /// The registry pool, for an operation that may use a second idle connection (batches).
    pub pool: Pool,
    validaciones: Arc<ValidacionesFallidas>,
    /// The budget the agreement's batch records draw on (its own, or the agreement's), and
    /// whether it is its own.
    lotes: Arc<ConvenioLimits>,
    lotes_apart: bool,
    /// Units of the agreement's daily quota this request has taken so far (for its record).
    charged: Arc<AtomicU64>,
}

impl Admission {
    /// The most records one batch of this agreement may hold (its records' burst).
    pub fn lote_max(&self) -> u64 {
        self.lotes.largest()
    }

    /// For a provider batch, once its file is read: charges its `records` to the budget its
    /// records draw on (`[limits.lotes]`, or the agreement's), where the batch's admission
    /// already took the first ([`Broker::call_write_reading`]). More records than that
    /// budget's burst are refused (`LOTE_SUPERA_RAFAGA`); otherwise refused like an
    /// admission.
    pub fn cobrar_lote(&self, records: u64) -> Result<(), ApiError> {
        // Its first unit is already taken, from whichever budget its records draw on.
        self.cobrar(records, 1)
    }

    /// For a write that learns whom it names only as it runs (a decree names the
    /// postulations its waiting list puts within the cupos): charges those `personas`, one
    /// unit each, to the budget the agreement's batches draw on (`[limits.lotes]`, or the
    /// agreement's, whose first unit the admission took). More than that budget's burst are
    /// refused (`LOTE_SUPERA_RAFAGA`); otherwise refused like an admission.
    pub fn cobrar_personas(&self, personas: u64) -> Result<(), ApiError> {
        // The admission's unit came from the agreement's own budget: it counts here only when
        // the batches draw on that same budget.
        self.cobrar(personas, u64::from(!self.lotes_apart))
    }

    /// Charges `units` to the batch budget, of which `taken` are already taken.
    fn cobrar(&self, units: u64, taken: u64) -> Result<(), ApiError> {
        self.lotes.fits(units)?;
        let rest = units.saturating_sub(taken);
        if rest > 0 {
            // On the request's blocking thread.
            self.lotes.tomar_bloqueando(self.today, rest)?;
            if !self.lotes_apart {
                self.charged.fetch_add(rest, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// ValidarIdentidad: takes a place for one comparison about `run` (see
    /// [`ValidacionesFallidas`]).
    pub fn reservar_validacion(&self, run: Run) -> Result<Reserva, ApiError> {
        self.validaciones
            .reservar(&self.convenio.id, run, self.today, seconds_to_midnight())
    }
}

/// The broker's answer: the message id (given or generated), the agreement it was answered
/// under (if any) and the projected result.
pub struct Reply<T> {
    pub message_id: String,
    pub convenio: Option<ConvenioId>,
    pub result: Result<T, ApiError>,
}

impl<T> Reply<T> {
    /// The same reply with its answer turned into what a transport sends.
    pub fn map<U>(self, f: impl FnOnce(T) -> Result<U, ApiError>) -> Reply<U> {
        Reply {
            message_id: self.message_id,
            convenio: self.convenio,
            result: self.result.and_then(f),
        }
    }
}

/// The agreements in force and their limits, swapped together so that no request ever sees
/// one without the other.
pub struct Policy {
    pub convenios: ConvenioSet,
    limits: Limits,
}

pub struct Broker {
    policy: ArcSwap<Policy>,
    replay: ReplayGuard,
    /// One permit per pooled connection: a request waits for a permit here, on the async
    /// executor, before it takes a blocking thread. Without it every request beyond the pool's
    /// size held a blocking thread while it waited for a connection, and the blocking pools
    /// grew to dozens of threads (each with its own allocator arena) behind one slow batch.
    registry_permits: Arc<Semaphore>,
    /// Reads waiting to be read together ([`Broker::call_grouped`]).
    groups: Groups,
    /// Public services' callers, by address ([`Broker::call_public`]).
    addresses: publico::PerAddress,
    /// Refusals per client certificate ([`refusals`]).
    refusals: Refusals,
    /// Each console user's own allowance ([`usuarios`]).
    usuarios: PorUsuario,
    validaciones: Arc<ValidacionesFallidas>,
    /// What the nodes over one PostgreSQL share (`cluster.nodo`): then the replay memory,
    /// the limits and the failed comparisons live in the database ([`compartido`]).
    compartido: Option<Coordinacion>,
    /// Provider batches in progress per agreement (`broker.lotes_max_concurrent` each).
    lotes_en_curso: Mutex<HashMap<ConvenioId, Arc<Semaphore>>>,
    pub audit: AuditLog,
    /// What `/metrics` shows of the broker ([`Broker::register_metrics`]).
    pub metrics: BrokerMetrics,
    pub rules: Arc<Rules>,
    /// The survey questionnaire's scoring models (`encuesta.modelos`).
    pub modelos: Arc<crate::modelos::Modelos>,
    pub pool: Pool,
    /// The streaming replicas lookups read from while they are close enough to the primary
    /// (`database.replicas`; none by default).
    pub replicas: Arc<crate::db::replicas::Replicas>,
    pub config: Arc<Config>,
    /// Whether the database can be reached now: while it cannot, admissions answer 503 at
    /// once (src/outage.rs).
    pub outage: Arc<crate::outage::Outage>,
    /// Signalled after a write that recorded events commits: the fan-out to the subscriptions
    /// (`ops::suscripciones::despacho`) then runs at once instead of at its next look.
    pub eventos_nuevos: Arc<tokio::sync::Notify>,
    /// Signalled by the fan-out when it has given push subscriptions new rows: the delivery
    /// worker (`ops::suscripciones::envios`) then claims at once.
    pub entregas_nuevas: Arc<tokio::sync::Notify>,
    /// What `/metrics` shows of push delivery.
    pub push: Arc<entregas::PushMetrics>,
    /// What `/metrics` shows of the retention purge (`ops::retencion`).
    pub retencion: Arc<retencion::RetencionMetrics>,
}

/// What the registry says at start-up about today: each budget's use, and identity
/// comparisons that did not match (per agreement and RUN number).
#[derive(Default)]
pub struct Restored {
    pub used: Used,
    pub failed_validations: HashMap<(ConvenioId, u32), u32>,
    /// Persons each console user (by RUN number) asked about today.
    pub usuarios: HashMap<u32, u64>,
}

/// A request the broker did not admit: why, under which agreement (if one was found), and what
/// it took of that agreement's quota before it was refused (a replayed id, a request the
/// transport could not decode: both come after the limits).
struct Refused {
    error: ApiError,
    convenio: Option<Arc<Convenio>>,
    charged: u64,
}

/// The reply when a request's task died (a panic): nothing is sent but 503.
fn task_failed<T>(error: actix_web::rt::task::JoinError, message_id: String) -> Reply<T> {
    tracing::error!(error = %error, "request task failed");
    Reply {
        message_id,
        convenio: None,
        result: Err(ApiError::unavailable()),
    }
}

/// `value` projected onto the agreement's grant for `service`, and what it then discloses.
fn projected<T: Project>(mut value: T, service: Service, convenio: &Convenio) -> (T, Disclosed) {
    if let Service::Op(op) = service
        && let Some(grant) = convenio.grant(op)
    {
        value.project(&grant.fields);
    }
    let disclosed = Disclosed {
        fields: value.disclosed(),
        subjects: value.subjects(),
        outcome: value.audit_outcome(),
        audited: false,
        undisclosed: value.undisclosed(),
        status: Some(value.http_status()),
    };
    (value, disclosed)
}

/// Today's date in Chile (America/Santiago): agreements and quotas follow the civil day there.
pub fn local_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::America::Santiago)
        .date_naive()
}

/// Seconds until the next civil day in Chile, when daily quotas renew.
pub fn seconds_to_midnight() -> u64 {
    use chrono::TimeZone;
    let santiago = chrono_tz::America::Santiago;
    let now = Utc::now().with_timezone(&santiago);
    let tomorrow = now.date_naive() + chrono::Days::new(1);
    // Chile changes its clocks at midnight: on the day it springs forward 00:00 does not
    // exist and the new day starts at 01:00; falling back, midnight happens twice.
    let next = [0, 1].into_iter().find_map(|hour| {
        santiago
            .from_local_datetime(&tomorrow.and_hms_opt(hour, 0, 0)?)
            .earliest()
    });
    match next {
        Some(next) => u64::try_from((next - now).num_seconds())
            .unwrap_or(0)
            .max(1),
        None => u64::from(86_400 - now.num_seconds_from_midnight()).max(1),
    }
}

/// Whether `service` only reads what feeds write (persons, fichas, households, statistics),
/// so that a streaming replica close enough to the primary may answer it
/// ([`crate::db::replicas`]). Anything that reads what the node itself just wrote (the audit,
/// survey requests, certificates, console sessions) reads the primary.
fn reads_a_replica(service: Service) -> bool {
    match service {
        Service::Op(
            Operation::ConsultarFichaFPS
            | Operation::ConsultarElegibilidad
            | Operation::EstadisticasTerritoriales,
        ) => true,
        Service::Op(op @ Operation::Modulo(_)) => op.modulo().is_some_and(|d| d.replica),
        _ => false,
    }
}

/// Longest message id accepted from a caller.
const MAX_MESSAGE_ID: usize = 128;

impl Broker {
    #[expect(
        clippy::too_many_arguments,
        reason = "each is one part the broker is built from at start-up, named at its one call site"
    )]
    pub fn new(
        config: Arc<Config>,
        pool: Pool,
        convenios: ConvenioSet,
        rules: Rules,
        modelos: crate::modelos::Modelos,
        audit: AuditLog,
        restored: Restored,
        compartido: Option<Coordinacion>,
    ) -> Broker {
        let today = local_today();
        let limits = Limits::build(&convenios, None, &restored.used, today, compartido.as_ref());
        let broker = &config.broker;
        let usuarios = PorUsuario::new(
            config.consola.usuario_por_segundo,
            config.consola.usuario_rafaga,
            config.consola.usuario_cupo_diario,
            today,
            restored.usuarios,
        );
        let validaciones = ValidacionesFallidas::new(
            broker.failed_validations_per_day,
            today,
            restored.failed_validations,
        );
        let (usuarios, validaciones) = match &compartido {
            Some(c) => (usuarios.shared(c.clone()), validaciones.shared(c.clone())),
            None => (usuarios, validaciones),
        };
        Broker {
            replay: ReplayGuard::new(Duration::from_secs(broker.replay_window_secs)),
            registry_permits: Arc::new(Semaphore::new(config.database.pool_size as usize)),
            groups: Groups::new(broker.lookup_group_max, broker.lookup_readers),
            addresses: publico::PerAddress::new(
                config.certificados.verificar_por_minuto,
                config.certificados.verificar_rafaga,
            ),
            refusals: Refusals::new(broker.refusals_per_second, broker.refusals_burst),
            usuarios,
            validaciones: Arc::new(validaciones),
            compartido,
            lotes_en_curso: Mutex::new(HashMap::new()),
            policy: ArcSwap::from_pointee(Policy { convenios, limits }),
            audit,
            metrics: BrokerMetrics::default(),
            rules: Arc::new(rules),
            modelos: Arc::new(modelos),
            replicas: Arc::new(crate::db::replicas::Replicas::new(
                pool.clone(),
                &config.database.url,
                &config.database.replicas,
                config.database.pool_size,
                Duration::from_millis(config.database.replica_max_lag_ms),
                Duration::from_millis(config.database.replica_check_ms),
            )),
            pool,
            outage: Arc::new(crate::outage::Outage::new(&config.database.url)),
            eventos_nuevos: Arc::new(tokio::sync::Notify::new()),
            entregas_nuevas: Arc::new(tokio::sync::Notify::new()),
            push: Arc::default(),
            retencion: Arc::default(),
            config,
        }
    }

    /// Adds what the broker and its audit log measure to a scrape's `registry`, with each
    /// agreement's quota left today read now.
    pub fn register_metrics(&self, registry: &mut prometheus_client::registry::Registry) {
        let policy = self.policy();
        let today = local_today();
        // Read now, into a family of this scrape's own: two scrapes at once never see each
        // other's half-filled series.
        let cupos: prometheus_client::metrics::family::Family<
            metrics::Cupo,
            prometheus_client::metrics::gauge::Gauge,
        > = Default::default();
        for convenio in policy.convenios.iter() {
            for (budget, limits) in [
                ("consultas", policy.limits.get(&convenio.id)),
                ("lotes", policy.limits.lotes(&convenio.id)),
            ] {
                // A budget shared by the nodes has no count here: the database holds it.
                if let Some(limits) = limits
                    && (budget == "consultas" || policy.limits.lotes_apart(&convenio.id))
                    && let Some(left) = limits.remaining(today)
                {
                    let left = i64::try_from(left).unwrap_or(i64::MAX);
                    let cupo = metrics::Cupo {
                        convenio: convenio.id.to_string(),
                        budget,
                    };
                    cupos.get_or_create(&cupo).set(left);
                }
            }
        }
        let en_curso: usize = self
            .lotes_en_curso
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|places| {
                self.config
                    .broker
                    .lotes_max_concurrent
                    .saturating_sub(places.available_permits())
            })
            .sum();
        self.metrics
            .lotes_en_curso
            .set(i64::try_from(en_curso).unwrap_or(i64::MAX));
        self.metrics.register(registry);
        registry.register(
            "siis_quota_remaining",
            "Persons (or batch records) each agreement's daily quota has left today",
            cupos,
        );
        registry.register(
            "siis_lookup_group_size",
            "Single lookups read together on one connection (broker.lookup_group_max at most)",
            self.groups.sizes(),
        );
        if let Some(coordinacion) = &self.compartido {
            registry.register(
                "siis_coordinacion_sentencias",
                "Statements the coordination thread sent to PostgreSQL (claims, leases, give-backs, clean-ups)",
                prometheus_client::metrics::counter::ConstCounter::new(coordinacion.hechas()),
            );
        }
        self.audit.register_metrics(registry);
        self.push.register(registry);
        self.retencion.register(registry);
        metrics::register_replicas(registry, &self.replicas.states());
    }

    /// What this node shares with the others over PostgreSQL (`cluster.nodo`), if it does.
    pub fn coordinacion(&self) -> Option<&Coordinacion> {
        self.compartido.as_ref()
    }

    /// The agreements in force now (and their limits).
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.load_full()
    }

    /// Reloads the agreements from their folder. A set with any problem is refused whole and
    /// the previous one stays in force. An agreement whose limits did not change keeps its
    /// budgets as they are (bucket and today's count); one whose limits changed gets new ones
    /// that carry today's count over.
    pub fn reload(&self) -> Result<usize, ConvenioErrors> {
        let convenios = ConvenioSet::load_dir(&self.config.convenios.dir)?;
        let convenios = match &self.config.notificaciones.callback_demo {
            Some(url) => convenios.con_callback(url),
            None => convenios,
        };
        let count = convenios.len();
        self.policy.rcu(|current| {
            let limits = Limits::build(
                &convenios,
                Some(&current.limits),
                &Used::default(),
                local_today(),
                self.compartido.as_ref(),
            );
            Policy {
                convenios: convenios.clone(),
                limits,
            }
        });
        tracing::info!(convenios = count, "agreements reloaded");
        Ok(count)
    }

    /// Default deny: the agreement must exist, be in force, grant the operation, and the
    /// message must be new and within the agreement's limits (one unit per person the request
    /// names). A console user's agreement is the one their session names; their role must
    /// include the operation too, a person may ask only about themself, and the user's own
    /// allowance is charged before the agreement's.
    async fn admit(&self, call: &Call, today: NaiveDate) -> Result<Admission, Refused> {
        let policy = self.policy.load_full();
        let found = match (&call.usuario, call.identity.as_deref(), &call.entrega_a) {
            (Some(usuario), None, None) => policy.convenios.get(&usuario.convenio),
            (None, Some(identity), None) => policy.convenios.find(identity),
            // Only the node's own delivery worker makes such a call: no transport sets it.
            (None, None, Some(convenio)) if call.transport == Transport::Push => {
                policy.convenios.get(convenio)
            }
            // Nobody, or more than one principal at once: no agreement.
            _ => None,
        };
        let convenio = found.cloned().ok_or_else(|| Refused {
            error: ApiError::sin_convenio(),
            convenio: None,
            charged: 0,
        })?;
        let mut charged = 0;
        let refuse = |error: ApiError, charged: u64| Refused {
            error,
            convenio: Some(convenio.clone()),
            charged,
        };
        // Revoked since the handshake (open connection, resumed session): see src/tls/trust.rs.
        if let Some(identity) = &call.identity {
            identity.check_revocation().map_err(|e| refuse(e, 0))?;
        }
        // The database is down: answered at once, before anything is charged or remembered.
        if self.outage.is_down() {
            return Err(refuse(ApiError::unavailable(), 0));
        }
        if !convenio.is_in_force(today) {
            return Err(refuse(ApiError::convenio_no_vigente(), 0));
        }
        if call
            .remitente
            .as_ref()
            .is_some_and(|claim| claim.as_str() != convenio.id.as_str())
        {
            return Err(refuse(ApiError::remitente_invalido(), 0));
        }
        if let Service::Op(op) = call.service
            && convenio.grant(op).is_none()
        {
            return Err(refuse(
                ApiError::no_autorizado(format!("the agreement does not grant {op}")),
                0,
            ));
        }
        match &call.usuario {
            Some(usuario) => self
                .admit_usuario(usuario, &convenio, call, today)
                .await
                .map_err(|e| refuse(e, 0))?,
            None if call.service == Service::AdministrarUsuarios => {
                return Err(refuse(
                    ApiError::no_autorizado("users are managed in the console only"),
                    0,
                ));
            }
            None => {}
        }
        // Limits first: a refused request does not use up its message id.
        let (Some(limits), Some(lotes)) = (
            policy.limits.get(&convenio.id).cloned(),
            policy.limits.lotes(&convenio.id).cloned(),
        ) else {
            tracing::error!(convenio = %convenio.id, "agreement without limits: refused");
            return Err(refuse(ApiError::unavailable(), 0));
        };
        limits
            .tomar(today, call.persons())
            .await
            .map_err(|e| refuse(e, 0))?;
        charged += call.persons();
        if let Some(id) = &call.message_id {
            let first = match &self.compartido {
                None => Ok(self.replay.first_use(&convenio.id, id)),
                // Claimed on every node at once; no claim without the database (503).
                Some(c) => c.reclamar(&convenio.id, id).await,
            };
            match first {
                Ok(true) => {}
                Ok(false) => return Err(refuse(ApiError::mensaje_repetido(), charged)),
                Err(_) => return Err(refuse(ApiError::unavailable(), charged)),
            }
        }
        if let Some(error) = &call.input_error {
            return Err(refuse(error.clone(), charged));
        }
        Ok(Admission {
            lotes_apart: policy.limits.lotes_apart(&convenio.id),
            convenio,
            today,
            usuario: call.usuario.as_ref().map(|u| u.run),
            pool: self.pool.clone(),
            validaciones: self.validaciones.clone(),
            lotes,
            charged: Arc::new(AtomicU64::new(charged)),
        })
    }

    /// What a console user must pass besides the agreement: a role that includes the
    /// operation, an agreement that fits the user (persons only under the agreement for
    /// persons, officials never under it), a person asking only about themself, and the
    /// user's own allowance.
    async fn admit_usuario(
        &self,
        usuario: &Usuario,
        convenio: &Convenio,
        call: &Call,
        today: NaiveDate,
    ) -> Result<(), ApiError> {
        let persona = usuario.rol == crate::catalog::Rol::Persona;
        if persona != convenio.personas {
            return Err(ApiError::no_autorizado(
                "the user's role does not act under this agreement",
            ));
        }
        match call.service {
            Service::Op(op) if usuario.rol.permite(op) => {}
            Service::Op(op) => {
                return Err(ApiError::no_autorizado(format!(
                    "the user's role ({}) does not include {op}",
                    usuario.rol
                )));
            }
            Service::AdministrarUsuarios if usuario.rol.administra_usuarios() => {}
            _ => {
                return Err(ApiError::no_autorizado(
                    "the console asks for operations only",
                ));
            }
        }
        // Whatever the RUN asked about: a refusal that depends on nothing about that person.
        if persona && call.subjects.iter().any(|run| *run != usuario.run) {
            return Err(ApiError::no_autorizado(
                "a person may ask only about themself",
            ));
        }
        self.usuarios
            .tomar(usuario.run, today, call.persons())
            .await
    }

    /// Admits, runs `work` on a registry connection off the async executor, projects the
    /// result onto the grant, audits, and only then returns. The whole sequence runs as a task
    /// of its own, so a caller that goes away cannot leave a read without its audit record.
    /// For operations that only read the registry: writes go through [`Broker::call_write`].
    pub async fn call<T, F>(self: Arc<Self>, call: Call, work: F) -> Reply<T>
    where
        T: Project + Send + 'static,
        F: FnOnce(&Admission, &mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        self.spawn(call, move |broker, call, message_id| async move {
            let service = call.service;
            broker
                .call_inner(call, message_id, |admission, _| {
                    broker.on_connection(admission, service, work)
                })
                .await
        })
        .await
    }

    /// [`Broker::call`] for an operation that writes to the registry: `work` runs in one
    /// transaction, and the answer's audit record is written (and durable) before that
    /// transaction commits. If the record cannot be written nothing is committed and the
    /// caller gets 503; if the commit fails after the record, a second record of the same
    /// message id says `NO_DISPONIBLE`. A write and its record commit together or not at all.
    pub async fn call_write<T, F>(self: Arc<Self>, call: Call, work: F) -> Reply<T>
    where
        T: Project + Send + 'static,
        F: FnOnce(&Admission, &mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        self.call_write_reading(call, |_| Ok(()), async { Ok(()) }, Directa(Some(work)))
            .await
    }

    /// [`Broker::call_write`] for a write in steps ([`Escritura`]) whose input is read only
    /// once it is admitted and `check` (run on the admission) passes: a provider batch's body
    /// is not read for a client whose agreement is not in force, does not grant the kind, is
    /// over its limits or already has `broker.lotes_max_concurrent` batches in progress.
    pub async fn call_write_reading<I, C, R, E>(
        self: Arc<Self>,
        call: Call,
        check: C,
        read: R,
        escritura: E,
    ) -> Reply<E::Respuesta>
    where
        I: Send + 'static,
        C: FnOnce(&Admission) -> Result<(), ApiError> + 'static,
        R: Future<Output = Result<I, ApiError>> + 'static,
        E: Escritura<I>,
    {
        self.spawn(call, move |broker, call, message_id| async move {
            let service = call.service;
            let this = &*broker;
            let reply = this
                .call_inner(call, message_id, |admission, draft| async move {
                    check(&admission)?;
                    let _in_progress = this.in_progress(&admission, service).await?;
                    let input = read.await?;
                    this.write_on_connection(admission, service, draft, input, escritura)
                        .await
                })
                .await;
            // A write that committed may have recorded events (feeds, surveys, decrees): the
            // fan-out looks now rather than at its next poll.
            if reply.result.is_ok() {
                this.eventos_nuevos.notify_one();
            }
            reply
        })
        .await
    }

    /// Like [`Broker::call`] for services that need no registry access (ping, metaservices).
    pub async fn call_local<T, F>(self: Arc<Self>, call: Call, work: F) -> Reply<T>
    where
        T: Send + 'static,
        F: FnOnce(&Admission) -> Result<T, ApiError> + Send + 'static,
    {
        self.spawn(call, move |broker, call, message_id| async move {
            broker
                .call_inner(call, message_id, |admission, _| async move {
                    work(&admission).map(|value| (value, Disclosed::default()))
                })
                .await
        })
        .await
    }

    /// Settles the message id, then runs `task` as a task of its own (a caller that goes away
    /// cannot skip its audit record); a task that dies answers 503 with the message id.
    async fn spawn<T, G, Fut>(self: Arc<Self>, call: Call, task: G) -> Reply<T>
    where
        T: 'static,
        G: FnOnce(Arc<Self>, Call, String) -> Fut + 'static,
        Fut: Future<Output = Reply<T>> + 'static,
    {
        let (message_id, call) = self.message_id(call);
        let id = message_id.clone();
        let running = actix_web::rt::spawn(task(self, call, message_id));
        running.await.unwrap_or_else(|e| task_failed(e, id))
    }

    /// Admits the call, has an admitted one answered by `answer`, and audits either. A
    /// refusal beyond its certificate's refusal budget is answered 429 and counted instead of
    /// audited ([`refusals`]).
    async fn call_inner<T, A, Fut>(&self, call: Call, message_id: String, answer: A) -> Reply<T>
    where
        A: FnOnce(Admission, RecordDraft) -> Fut,
        Fut: Future<Output = Result<(T, Disclosed), ApiError>>,
    {
        let draft = RecordDraft::new(&call, &message_id, Instant::now());
        let today = local_today();
        let mut admitted = false;
        let (result, convenio, charged) = match self.admit(&call, today).await {
            Err(Refused {
                error,
                convenio,
                charged,
            }) => {
                let id = convenio.as_ref().map(|a| a.id.as_str());
                // A 503 stays a 503 (with its Retry-After) however many come: the node's own
                // fault is not the sender's refusal to pay for.
                if error.code != ErrorCode::NoDisponible
                    && let Err(retry) = self.refusals.admit(
                        call.identity.as_deref(),
                        call.usuario.as_ref().map(|u| u.run),
                        id,
                        charged,
                    )
                {
                    draft.count(
                        &self.metrics,
                        id,
                        ErrorCode::LimiteExcedido.as_str(),
                        charged,
                    );
                    return Reply {
                        message_id,
                        convenio: convenio.map(|a| a.id.clone()),
                        result: Err(ApiError::limite_excedido(retry)),
                    };
                }
                (Err(error), convenio, Arc::new(AtomicU64::new(charged)))
            }
            Ok(admission) => {
                admitted = true;
                let convenio = admission.convenio.clone();
                let charged = admission.charged.clone();
                let answer = answer(admission, draft.clone()).await;
                (answer, Some(convenio), charged)
            }
        };
        let (result, disclosed) = match result {
            Ok((value, disclosed)) => (Ok(value), disclosed),
            Err(e) => (Err(e), Disclosed::default()),
        };
        let charged = charged.load(Ordering::Relaxed);
        let reply = self
            .finish(&draft, message_id, convenio, result, disclosed, charged)
            .await;
        // A request the node could not answer (registry or audit unavailable: nothing was
        // done) gives its message id back, so that its retry is not taken for a replay.
        if admitted
            && let (Err(e), Some(convenio), Some(id)) =
                (&reply.result, &reply.convenio, &call.message_id)
            && e.code == ApiError::unavailable().code
        {
            match &self.compartido {
                // Queued on the coordination thread: the 503 does not wait for it.
                Some(c) => c.olvidar(convenio, id),
                None => self.replay.forget(convenio, id),
            }
        }
        reply
    }

    /// Runs `work` with a registry connection off the async executor, once a permit and a
    /// pooled connection are had within `database.pool_timeout_secs` (else 503: a stalled
    /// database answers, it does not queue forever).
    async fn with_connection<R, F>(&self, admission: Admission, work: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(Admission, &mut DbConnection) -> Result<R, ApiError> + Send + 'static,
    {
        self.on_registry(move |conn| work(admission, conn)).await
    }

    /// [`Broker::with_connection`] without an admission (a public service's work).
    async fn on_registry<R, F>(&self, work: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<R, ApiError> + Send + 'static,
    {
        self.on_registry_for(false, work).await
    }

    /// Runs `work` on a connection to the primary, or for a `lookup` to a replica close
    /// enough to it ([`crate::db::replicas`]).
    async fn on_registry_for<R, F>(&self, lookup: bool, work: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<R, ApiError> + Send + 'static,
    {
        if self.outage.is_down() {
            return Err(ApiError::unavailable());
        }
        // The wait for a permit counts against the pool's timeout, as the wait for a
        // connection did.
        let waited = Instant::now();
        let timeout = Duration::from_secs(self.config.database.pool_timeout_secs);
        let permit =
            tokio::time::timeout(timeout, self.registry_permits.clone().acquire_owned()).await;
        let left = timeout.saturating_sub(waited.elapsed());
        let Ok(Ok(permit)) = permit else {
            self.metrics
                .pool_wait
                .observe(waited.elapsed().as_secs_f64());
            tracing::error!("no registry connection within the pool timeout");
            return Err(ApiError::unavailable());
        };
        let pool = self.pool.clone();
        let replicas = self.replicas.clone();
        let pool_wait = self.metrics.pool_wait.clone();
        let outage = self.outage.clone();
        actix_web::web::block(move || {
            let _permit = permit;
            let conn = match lookup {
                true => replicas.checkout(left),
                false => pool.get_timeout(left),
            };
            pool_wait.observe(waited.elapsed().as_secs_f64());
            let mut conn = conn.map_err(|e| {
                tracing::error!(error = %e, "no registry connection");
                if crate::outage::pool_could_not_connect(&e) {
                    outage.mark_down(&e);
                }
                ApiError::unavailable()
            })?;
            work(&mut conn)
        })
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "blocking task failed");
            Err(ApiError::unavailable())
        })
    }

    /// Runs a read on a registry connection and projects its result.
    async fn on_connection<T, F>(
        &self,
        admission: Admission,
        service: Service,
        work: F,
    ) -> Result<(T, Disclosed), ApiError>
    where
        T: Project + Send + 'static,
        F: FnOnce(&Admission, &mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let lookup = reads_a_replica(service);
        let mut admission = admission;
        if lookup {
            // A batch's second connection comes from a replica too.
            admission.pool = self.replicas.for_lookup().clone();
        }
        self.on_registry_for(lookup, move |conn| {
            let value = work(&admission, conn)?;
            Ok(projected(value, service, &admission.convenio))
        })
        .await
    }

    /// Runs a write on a registry connection: its preparation first, then its change in one
    /// transaction that commits only after the answer's audit record is durable, then its
    /// tidying, whatever happened.
    async fn write_on_connection<I, E>(
        &self,
        admission: Admission,
        service: Service,
        draft: RecordDraft,
        input: I,
        mut escritura: E,
    ) -> Result<(E::Respuesta, Disclosed), ApiError>
    where
        I: Send + 'static,
        E: Escritura<I>,
    {
        let audit = self.audit.clone();
        let outage = self.outage.clone();
        self.with_connection(admission, move |admission, conn| {
            let prepared = match escritura.preparar(&admission, conn, input) {
                Ok(prepared) => prepared,
                Err(error) => {
                    escritura.terminar(conn);
                    return Err(error);
                }
            };
            let written = crate::db::write_transaction(conn, |conn| {
                let value = escritura.aplicar(&admission, conn, prepared)?;
                let (value, mut disclosed) = projected(value, service, &admission.convenio);
                let answer = Ok::<_, ApiError>(());
                let charged = admission.charged.load(Ordering::Relaxed);
                let record = draft.record(Some(&admission.convenio), &answer, &disclosed, charged);
                audit.append_blocking(record).map_err(|error| {
                    tracing::error!(error = %error, "audit record not written: write rolled back");
                    if let crate::audit::AuditError::Storage(cause) = &error {
                        outage.note(cause);
                    }
                    ApiError::unavailable()
                })?;
                disclosed.audited = true;
                Ok((value, disclosed))
            });
            escritura.terminar(conn);
            written
        })
        .await
    }

    /// For RecepcionLotes (nothing otherwise), before the batch is read: a place among the
    /// agreement's batches in progress (refused with `LOTES_EN_CURSO` when they are all taken),
    /// and the first record's unit of the budget its records draw on, when that is its own
    /// (`[limits.lotes]`; the agreement's own took it at admission).
    async fn in_progress(
        &self,
        admission: &Admission,
        service: Service,
    ) -> Result<Option<OwnedSemaphorePermit>, ApiError> {
        if service != Service::Op(Operation::RecepcionLotes) {
            return Ok(None);
        }
        if admission.lotes_apart {
            admission.lotes.tomar(admission.today, 1).await?;
        }
        let places = self
            .lotes_en_curso
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(admission.convenio.id.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(self.config.broker.lotes_max_concurrent)))
            .clone();
        places
            .try_acquire_owned()
            .map(Some)
            .map_err(|_| ApiError::lotes_en_curso())
    }

    /// The caller's message id when it is acceptable, else a generated one (a malformed id is
    /// an input error).
    fn message_id(&self, mut call: Call) -> (String, Call) {
        match call.message_id.take() {
            Some(id)
                if !id.is_empty()
                    && id.len() <= MAX_MESSAGE_ID
                    && id.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                call.message_id = Some(id.clone());
                (id, call)
            }
            Some(_) => {
                call.input_error
                    .get_or_insert(ApiError::solicitud_invalida(format!(
                        "a message id is 1 to {MAX_MESSAGE_ID} visible ASCII characters"
                    )));
                (uuid::Uuid::new_v4().to_string(), call)
            }
            None => (uuid::Uuid::new_v4().to_string(), call),
        }
    }

    /// Writes the audit record (unless a write's transaction already did); an answer whose
    /// record could not be written is not sent.
    async fn finish<T>(
        &self,
        draft: &RecordDraft,
        message_id: String,
        convenio: Option<Arc<Convenio>>,
        result: Result<T, ApiError>,
        disclosed: Disclosed,
        charged: u64,
    ) -> Reply<T> {
        let written = if disclosed.audited {
            Ok(())
        } else {
            let record = draft.record(convenio.as_deref(), &result, &disclosed, charged);
            self.audit.append(record).await.map(drop)
        };
        let convenio = convenio.map(|a| a.id.clone());
        // Counted as the caller got it: an answer withheld for want of its record is 503.
        let code = match &written {
            Ok(()) => RecordDraft::outcome(&result, &disclosed),
            Err(_) => ErrorCode::NoDisponible.as_str(),
        };
        draft.count(
            &self.metrics,
            convenio.as_ref().map(|c| c.as_str()),
            code,
            charged,
        );
        match written {
            Ok(()) => Reply {
                message_id,
                convenio,
                result,
            },
            Err(error) => {
                tracing::error!(error = %error, "audit record not written: answer withheld");
                if let crate::audit::AuditError::Storage(cause) = &error {
                    self.outage.note(cause);
                }
                Reply {
                    message_id,
                    convenio,
                    result: Err(ApiError::unavailable()),
                }
            }
        }
    }

    /// Writes one summary record per certificate whose refusals were answered without a record
    /// of their own since the last summary ([`refusals`]); returns how many it wrote.
    pub async fn summarize_refusals(&self) -> usize {
        let mut written = 0;
        for omitidos in self.refusals.take() {
            let record = AuditRecord {
                ts: omitidos.since,
                convenio: omitidos.convenio.clone(),
                certificate: omitidos.certificate.clone(),
                operation: "RechazosOmitidos".into(),
                transport: "broker",
                message_id: uuid::Uuid::new_v4().to_string(),
                subjects: Vec::new(),
                undisclosed: Vec::new(),
                purpose: None,
                fields: Vec::new(),
                outcome: "LIMITE_EXCEDIDO".into(),
                http_status: 429,
                latency_us: 0,
                xroad: None,
                omitidos: Some(omitidos.count),
                personas: Some(omitidos.personas),
                usuario: omitidos.usuario,
            };
            match self.audit.append(record).await {
                Ok(_) => written += 1,
                Err(error) => {
                    // Counted again into the next summary: no refusal goes unaccounted.
                    tracing::error!(error = %error, omitidos = omitidos.count, "refusal summary not written");
                    self.refusals.put_back(omitidos);
                }
            }
        }
        written
    }

    /// Writes the refusal summaries every `broker.refusals_summary_secs` until `stop` fires
    /// (a summary being written is finished first); the node then writes a last one.
    pub fn spawn_refusal_summaries(
        self: Arc<Self>,
        mut stop: tokio::sync::oneshot::Receiver<()>,
    ) -> tokio::task::JoinHandle<()> {
        let every = Duration::from_secs(self.config.broker.refusals_summary_secs);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        self.summarize_refusals().await;
                    }
                    _ = &mut stop => break,
                }
            }
        })
    }
}

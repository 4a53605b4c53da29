//! The broker: the one place where a request meets its agreement. It finds the agreement a
//! client certificate acts under, refuses what the agreement does not allow (default deny),
//! applies rate limits, quotas and replay protection, runs the operation, projects the answer
//! onto the granted fields, and writes the audit record before the answer leaves. Transports
//! (`rest/`, `soap/`) only decode, call [`Broker::call`] (or [`Broker::consultar_ficha`] for a
//! single FPS lookup, read together with those waiting at the same time) and encode.

mod coalesce;
mod limits;
mod replay;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use chrono::{NaiveDate, Utc};

use crate::agreements::{Agreement, AgreementErrors, AgreementSet};
use crate::audit::{AuditLog, AuditRecord};
use crate::config::Config;
use crate::db::{DbConnection, Pool};
use crate::domain::{AgreementId, Run};
use crate::error::ApiError;
use crate::identity::ClientIdentity;
use crate::ops::catalog::Operation;
use crate::ops::projection::Project;
use crate::ops::reglas::Rules;

use coalesce::Coalescer;
pub use coalesce::GroupStats;
pub use limits::Limits;
pub use replay::ReplayGuard;

/// How a request arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Rest,
    Soap,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Rest => "rest",
            Transport::Soap => "soap",
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
    /// A request whose operation could not be told (malformed or unknown): refused, audited.
    Desconocido,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Op(op) => op.name(),
            Service::Ping => "Ping",
            Service::Metaservicios => "allowedMethods",
            Service::ListMethods => "listMethods",
            Service::GetWsdl => "getWsdl",
            Service::Desconocido => "Desconocido",
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
    /// The persons the request is about (for the audit log and access reports).
    pub subjects: Vec<Run>,
    /// A request the transport could not decode still counts, and is audited, as refused.
    pub input_error: Option<ApiError>,
    /// X-Road headers of the request as (name, value), for the audit log.
    pub xroad: Vec<(String, String)>,
}

/// The agreement a request was admitted under.
#[derive(Clone)]
pub struct Admission {
    pub agreement: Arc<Agreement>,
    pub today: NaiveDate,
    /// The registry pool, for an operation that may use a second idle connection (batches).
    pub pool: Pool,
}

/// The broker's answer: the message id (given or generated), the agreement it was answered
/// under (if any) and the projected result.
pub struct Reply<T> {
    pub message_id: String,
    pub agreement: Option<AgreementId>,
    pub result: Result<T, ApiError>,
}

/// The agreements in force and their limits, swapped together so that no request ever sees
/// one without the other.
pub struct Policy {
    pub agreements: AgreementSet,
    limits: Limits,
}

pub struct Broker {
    policy: ArcSwap<Policy>,
    replay: ReplayGuard,
    /// One permit per pooled connection: a request waits for a permit here, on the async
    /// executor, before it takes a blocking thread. Without it every request beyond the pool's
    /// size held a blocking thread while it waited for a connection, and the blocking pools
    /// grew to dozens of threads (each with its own allocator arena) behind one slow batch.
    registry_permits: Arc<tokio::sync::Semaphore>,
    /// Single FPS lookups waiting to be read together ([`Broker::consultar_ficha`]).
    lookups: Arc<Coalescer>,
    pub audit: AuditLog,
    pub rules: Arc<Rules>,
    pub pool: Pool,
    pub config: Arc<Config>,
}

/// The X-Road headers as a JSON object for the audit log: unambiguous, each name once, each
/// value at most 256 characters (the transports refuse longer ones; this is the last guard).
fn xroad_json(pairs: &[(String, String)]) -> Option<String> {
    if pairs.is_empty() {
        return None;
    }
    let mut object = serde_json::Map::new();
    for (name, value) in pairs.iter().take(8) {
        let value: String = value.chars().take(256).collect();
        object
            .entry(name.chars().take(32).collect::<String>())
            .or_insert(serde_json::Value::String(value));
    }
    Some(serde_json::Value::Object(object).to_string())
}

/// The reply when a request's task died (a panic): nothing is sent but 503.
fn task_failed<T>(error: actix_web::rt::task::JoinError, message_id: String) -> Reply<T> {
    tracing::error!(error = %error, "request task failed");
    Reply {
        message_id,
        agreement: None,
        result: Err(ApiError::unavailable()),
    }
}

/// What an answer disclosed, for its audit record.
#[derive(Default)]
struct Disclosed {
    fields: std::collections::BTreeSet<&'static str>,
    /// The persons whose data the answer carries, when narrower than those asked about.
    subjects: Option<Vec<Run>>,
}

/// `value` projected onto the agreement's grant for `service`, and what it then discloses.
fn projected<T: Project>(mut value: T, service: Service, agreement: &Agreement) -> (T, Disclosed) {
    if let Service::Op(op) = service
        && let Some(grant) = agreement.grant(op)
    {
        value.project(&grant.fields);
    }
    let disclosed = Disclosed {
        fields: value.disclosed(),
        subjects: value.subjects(),
    };
    (value, disclosed)
}

/// Today's date in Chile (America/Santiago): agreements and quotas follow the civil day there.
pub fn local_today() -> NaiveDate {
    Utc::now()
        .with_timezone(&chrono_tz::America::Santiago)
        .date_naive()
}

/// Longest message id accepted from a caller.
const MAX_MESSAGE_ID: usize = 128;

impl Broker {
    pub fn new(
        config: Arc<Config>,
        pool: Pool,
        agreements: AgreementSet,
        rules: Rules,
        audit: AuditLog,
        restored_counts: &HashMap<AgreementId, u64>,
    ) -> Broker {
        let limits = Limits::build(&agreements, None, restored_counts, local_today());
        Broker {
            replay: ReplayGuard::new(Duration::from_secs(config.broker.replay_window_secs)),
            registry_permits: Arc::new(tokio::sync::Semaphore::new(
                config.database.pool_size as usize,
            )),
            lookups: Arc::new(Coalescer::new(
                config.broker.lookup_group_max,
                config.broker.lookup_readers,
            )),
            policy: ArcSwap::from_pointee(Policy { agreements, limits }),
            audit,
            rules: Arc::new(rules),
            pool,
            config,
        }
    }

    /// The agreements in force now (and their limits).
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.load_full()
    }

    /// Reloads the agreements from their folder. A set with any problem is refused whole and
    /// the previous one stays in force. Limits and today's counts carry over for agreements
    /// whose rate did not change.
    pub fn reload(&self) -> Result<usize, AgreementErrors> {
        let agreements = AgreementSet::load_dir(&self.config.agreements.dir)?;
        let count = agreements.len();
        self.policy.rcu(|current| {
            let limits = Limits::build(
                &agreements,
                Some(&current.limits),
                &HashMap::new(),
                local_today(),
            );
            Policy {
                agreements: agreements.clone(),
                limits,
            }
        });
        tracing::info!(agreements = count, "agreements reloaded");
        Ok(count)
    }

    /// Default deny: the agreement must exist, be in force, grant the operation, and the
    /// message must be new and within the agreement's limits.
    fn admit(
        &self,
        call: &Call,
        today: NaiveDate,
    ) -> Result<Admission, (ApiError, Option<Arc<Agreement>>)> {
        let policy = self.policy.load();
        let agreement = call
            .identity
            .as_deref()
            .and_then(|identity| policy.agreements.find(identity))
            .cloned()
            .ok_or_else(|| (ApiError::sin_convenio(), None))?;
        let refuse = |e: ApiError| (e, Some(agreement.clone()));
        // Revoked since the handshake (open connection, resumed session): see src/tls/trust.rs.
        if let Some(identity) = &call.identity {
            identity.check_revocation().map_err(refuse)?;
        }
        if !agreement.is_in_force(today) {
            return Err(refuse(ApiError::convenio_no_vigente()));
        }
        if let Service::Op(op) = call.service
            && agreement.grant(op).is_none()
        {
            return Err(refuse(ApiError::no_autorizado(format!(
                "the agreement does not grant {op}"
            ))));
        }
        // Limits first: a refused request does not use up its message id.
        match policy.limits.get(&agreement.id) {
            Some(limits) => limits.admit(today).map_err(refuse)?,
            None => {
                tracing::error!(agreement = %agreement.id, "agreement without limits: refused");
                return Err(refuse(ApiError::unavailable()));
            }
        }
        if let Some(id) = &call.message_id
            && !self.replay.first_use(&agreement.id, id)
        {
            return Err(refuse(ApiError::mensaje_repetido()));
        }
        if let Some(error) = &call.input_error {
            return Err(refuse(error.clone()));
        }
        Ok(Admission {
            agreement,
            today,
            pool: self.pool.clone(),
        })
    }

    /// Admits, runs `work` on a registry connection off the async executor, projects the
    /// result onto the grant, audits, and only then returns. The whole sequence runs as a task
    /// of its own, so a caller that goes away cannot leave a read without its audit record.
    pub async fn call<T, F>(self: Arc<Self>, call: Call, work: F) -> Reply<T>
    where
        T: Project + Send + 'static,
        F: FnOnce(&Admission, &mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    {
        // The message id is settled first, so that even a failed task answers with it.
        let (message_id, call) = self.message_id(call);
        let id = message_id.clone();
        let task = actix_web::rt::spawn(async move {
            let service = call.service;
            self.call_inner(call, message_id, |admission| {
                self.on_connection(admission, service, work)
            })
            .await
        });
        task.await.unwrap_or_else(|e| task_failed(e, id))
    }

    /// Admits the call, has an admitted one answered by `answer`, and audits either.
    async fn call_inner<T, A, Fut>(&self, call: Call, message_id: String, answer: A) -> Reply<T>
    where
        A: FnOnce(Admission) -> Fut,
        Fut: Future<Output = Result<(T, Disclosed), ApiError>>,
    {
        let started = Instant::now();
        let today = local_today();
        let (result, agreement) = match self.admit(&call, today) {
            Err((error, agreement)) => (Err(error), agreement),
            Ok(admission) => {
                let agreement = admission.agreement.clone();
                (answer(admission).await, Some(agreement))
            }
        };
        let (result, disclosed) = match result {
            Ok((value, disclosed)) => (Ok(value), disclosed),
            Err(e) => (Err(e), Disclosed::default()),
        };
        self.finish(call, message_id, agreement, result, disclosed, started)
            .await
    }

    /// Runs `work` on a registry connection off the async executor and projects its result.
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
        // The wait for a permit counts against the pool's timeout, as the wait for a
        // connection did: a stalled database answers 503, it does not queue forever.
        let waited = Instant::now();
        let timeout = Duration::from_secs(self.config.database.pool_timeout_secs);
        let permit =
            tokio::time::timeout(timeout, self.registry_permits.clone().acquire_owned()).await;
        let left = timeout.saturating_sub(waited.elapsed());
        let Ok(Ok(permit)) = permit else {
            tracing::error!("no registry connection within the pool timeout");
            return Err(ApiError::unavailable());
        };
        actix_web::web::block(move || {
            let _permit = permit;
            let mut conn = admission.pool.get_timeout(left).map_err(|e| {
                tracing::error!(error = %e, "no registry connection");
                ApiError::unavailable()
            })?;
            let value = work(&admission, &mut conn)?;
            Ok(projected(value, service, &admission.agreement))
        })
        .await
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "blocking task failed");
            Err(ApiError::unavailable())
        })
    }

    /// Like [`Broker::call`] for services that need no registry access (ping, metaservices).
    pub async fn call_local<T, F>(self: Arc<Self>, call: Call, work: F) -> Reply<T>
    where
        T: Send + 'static,
        F: FnOnce(&Admission) -> Result<T, ApiError> + Send + 'static,
    {
        let (message_id, call) = self.message_id(call);
        let id = message_id.clone();
        let task = actix_web::rt::spawn(async move {
            let started = Instant::now();
            let today = local_today();
            let (result, agreement) = match self.admit(&call, today) {
                Err((error, agreement)) => (Err(error), agreement),
                Ok(admission) => (work(&admission), Some(admission.agreement)),
            };
            self.finish(
                call,
                message_id,
                agreement,
                result,
                Disclosed::default(),
                started,
            )
            .await
        });
        task.await.unwrap_or_else(|e| task_failed(e, id))
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

    /// Writes the audit record; an answer whose record could not be written is not sent.
    async fn finish<T>(
        &self,
        mut call: Call,
        message_id: String,
        agreement: Option<Arc<Agreement>>,
        result: Result<T, ApiError>,
        disclosed: Disclosed,
        started: Instant,
    ) -> Reply<T> {
        let (outcome, status, fields) = match &result {
            Ok(_) => (
                "OK",
                200,
                disclosed.fields.iter().map(|f| (*f).to_owned()).collect(),
            ),
            // The status the caller received: on SOAP an outcome (no data, bad parameter) is a
            // normal 200 answer with its estadoSobre.
            Err(e) if call.transport == Transport::Soap && !e.estado_sobre().1 => {
                (e.audit_outcome(), 200, Vec::new())
            }
            Err(e) => (e.audit_outcome(), e.status, Vec::new()),
        };
        if let Some(subjects) = disclosed.subjects {
            call.subjects = subjects;
        }
        let record = AuditRecord {
            ts: Utc::now(),
            agreement: agreement.as_ref().map(|a| a.id.to_string()),
            certificate: call.identity.as_ref().map(|i| i.fingerprint_hex()),
            operation: call.service.name().to_owned(),
            transport: call.transport.as_str(),
            message_id: message_id.clone(),
            subjects: call.subjects,
            purpose: agreement.as_ref().map(|a| a.purpose.clone()),
            fields,
            outcome: outcome.to_owned(),
            http_status: status,
            latency_us: started.elapsed().as_micros() as u64,
            xroad: xroad_json(&call.xroad),
        };
        let agreement = agreement.map(|a| a.id.clone());
        match self.audit.append(record).await {
            Ok(_) => Reply {
                message_id,
                agreement,
                result,
            },
            Err(error) => {
                tracing::error!(error = %error, "audit record not written: answer withheld");
                Reply {
                    message_id,
                    agreement,
                    result: Err(ApiError::unavailable()),
                }
            }
        }
    }
}

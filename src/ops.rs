//! The service core: every operation written once, as a typed request, a typed response and one
//! entry point ([`Op::handle`]), run through the broker by [`run`]. A transport only decodes
//! into the request and encodes the response: `rest/` and `soap/` each keep a table from their
//! routes or operation names to these.

pub mod accesos;
pub mod certificado;
pub mod certificados;
pub mod cupos;
pub mod dci;
pub mod decreto;
pub mod decretos;
pub mod elegibilidad;
pub mod encuestaje;
pub mod estadisticas;
pub mod ficha;
pub mod hogar;
pub mod identidad;
pub mod lote;
pub mod lotes;
pub mod meta;
pub mod pagina;
pub mod postulacion;
pub mod recepcion;
pub mod retencion;
pub mod suscripciones;

use std::sync::Arc;

use crate::broker::{Admission, Broker, Call, Reply, Service};
use crate::catalog::Operation;
use crate::config::Config;
use crate::db::DbConnection;
use crate::domain::Run;
use crate::error::ApiError;
use crate::ops::certificados::Servicio;
use crate::projection::Project;

/// What operations run against besides their admission and a registry connection: the broker
/// (agreements, eligibility rules, configuration) and the certificate issuer.
pub struct Core {
    pub broker: Arc<Broker>,
    pub certificados: Arc<Servicio>,
}

/// One operation of the catalogue.
pub trait Op: 'static {
    /// What the broker admits it as (the agreement must grant it).
    const OPERATION: Operation;
    /// Whether it changes the registry: it then runs in one transaction with its audit record
    /// ([`Broker::call_write`]).
    const WRITES: bool = false;
    type Request: Send + 'static;
    type Response: Project + Send + 'static;

    /// The persons the request names: its audit record names them, answered or refused.
    fn subjects(request: &Self::Request) -> Vec<Run>;

    /// Refuses a request that can never be run (a batch larger than the node takes). It is
    /// applied at admission, once the agreement is known (so it costs one unit and uses the
    /// message id), before the operation runs; such a refusal names no person.
    fn check(_request: &Self::Request, _config: &Config) -> Result<(), ApiError> {
        Ok(())
    }

    /// Units the request costs at least, when it discloses persons it cannot name before it
    /// runs (a read of events: its `limite`). Charged at admission, like its subjects.
    fn cobro_minimo(_request: &Self::Request) -> u64 {
        0
    }

    /// Answers an admitted request, as its agreement may see it (the broker then projects the
    /// answer onto the grant and audits it).
    fn handle(
        core: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        request: Self::Request,
    ) -> Result<Self::Response, ApiError>;
}

/// Runs operation `O` for a decoded request through the broker: admission, limits, the
/// operation, projection and audit. `None` is a request the transport could not decode; its
/// call then carries the input error (refused and audited by the broker, never run).
pub async fn run<O: Op>(
    core: Arc<Core>,
    mut call: Call,
    request: Option<O::Request>,
) -> Reply<O::Response> {
    call.service = Service::Op(O::OPERATION);
    match &request {
        // The request's own subjects replace what the transport noted while decoding (the same
        // persons): each named once per time the request names them, so a batch that repeats a
        // RUN costs a unit for each time.
        Some(request) => match call.input_error {
            None => match O::check(request, &core.broker.config) {
                Ok(()) => {
                    call.subjects = O::subjects(request);
                    call.cobro_minimo = O::cobro_minimo(request);
                }
                Err(error) => call.input_error = Some(error),
            },
            Some(_) => call.subjects = O::subjects(request),
        },
        None if call.input_error.is_none() => {
            tracing::error!(operation = %O::OPERATION, "a request was not decoded and no error says why");
            call.input_error = Some(ApiError::unavailable());
        }
        None => {}
    }
    let broker = core.broker.clone();
    let work = move |admission: &Admission, conn: &mut DbConnection| {
        // An undecoded request carries its input error, which the broker refuses first.
        let request = request.ok_or_else(ApiError::unavailable)?;
        O::handle(&core, admission, conn, request)
    };
    if O::WRITES {
        broker.call_write(call, work).await
    } else {
        broker.call(call, work).await
    }
}

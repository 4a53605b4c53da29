//! The `on-search` callback of an async DCI search: the answer kept in `dci_transacciones`
//! sent to the agreement's `header.sender_uri` by the leader's callback worker
//! (`dci::callback`), with the search's correlation id as its idempotency key, retried with the
//! push backoff until delivered or dead (`docs/dci.md`, "Async search").
//!
//! Each attempt is admitted and audited through the broker's one admission path as the node
//! delivering to the agreement ([`Call::entrega_a`], transport `push`, operation
//! ConsultarFichaFPS): the agreement must still be in force and grant the search, the records
//! are sent only while its grant covers every field they show (as `sync/txn/status`), and the
//! record names the persons and fields. The search charged each person already; an attempt is
//! charged one unit, as a status read is before its records.

use diesel::prelude::*;

use super::{Criterio, Transaccion, buscar, filtrar};
use crate::broker::{Admission, Broker, Call, Reply, Service};
use crate::catalog::Operation;
use crate::db::DbConnection;
use crate::db::schema::dci_transacciones as t;
use crate::error::ApiError;

/// Whether `url` may take the callbacks of the agreement the call's certificate names: one of
/// its `Suscripciones` grant's `callbacks`, compared as for a push subscription. A call
/// without an agreement passes here (admission refuses it).
pub fn permitido(broker: &Broker, call: &Call, url: &str) -> Result<(), ApiError> {
    let policy = broker.policy();
    let Some(convenio) = call
        .identity
        .as_deref()
        .and_then(|i| policy.convenios.find(i))
    else {
        return Ok(());
    };
    let url = url::Url::parse(url).ok();
    let registrado = convenio
        .grant(Operation::Suscripciones)
        .and_then(|g| g.callbacks.as_ref())
        .is_some_and(|callbacks| url.is_some_and(|u| callbacks.contains(&u)));
    match registrado {
        true => Ok(()),
        false => Err(crate::ops::suscripciones::errores::callback_no_permitido()),
    }
}

/// A callback claimed for one attempt.
#[derive(Debug, Clone, PartialEq, Queryable)]
pub struct Reclamado {
    pub convenio: String,
    pub correlation_id: String,
    pub url: Option<String>,
    /// Attempts so far, this one included.
    pub intentos: i32,
}

/// Up to `n` callbacks due at `ahora`: `pendiente` and due, or `en_curso` with their lease
/// past (their node died in mid-call: sent again, with the same key).
fn candidatos(conn: &mut DbConnection, ahora: i64, n: i64) -> QueryResult<Vec<Reclamado>> {
    t::table
        .filter(
            t::callback_estado
                .eq("pendiente")
                .and(t::callback_proximo_us.le(ahora))
                .or(t::callback_estado
                    .eq("en_curso")
                    .and(t::callback_lease_us.lt(ahora))),
        )
        .order(t::callback_proximo_us)
        .limit(n)
        .select((
            t::convenio,
            t::correlation_id,
            t::callback_url,
            t::callback_intentos + 1,
        ))
        .load(conn)
}

/// Claims up to `n` due callbacks until `lease_us`, counting the attempt.
pub fn reclamar(
    conn: &mut DbConnection,
    ahora: i64,
    lease_us: i64,
    n: i64,
) -> QueryResult<Vec<Reclamado>> {
    // Most turns find nothing: look before taking a write transaction (SQLite's write lock).
    if candidatos(conn, ahora, 1)?.is_empty() {
        return Ok(Vec::new());
    }
    crate::db::write_transaction(conn, |conn| {
        let filas = candidatos(conn, ahora, n)?;
        for f in &filas {
            diesel::update(
                t::table
                    .filter(t::convenio.eq(&f.convenio))
                    .filter(t::correlation_id.eq(&f.correlation_id)),
            )
            .set((
                t::callback_estado.eq("en_curso"),
                t::callback_lease_us.eq(Some(lease_us)),
                t::callback_intentos.eq(f.intentos),
            ))
            .execute(conn)?;
        }
        Ok(filas)
    })
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Desenlace {
    /// The receiver answered 2xx.
    Entregada { estado_http: u16 },
    /// Try again at `proximo_us`.
    Pendiente {
        proximo_us: i64,
        estado_http: Option<u16>,
        error: String,
    },
    /// Given up: the answer stays in `sync/txn/status`.
    Muerta {
        estado_http: Option<u16>,
        error: String,
    },
    /// The agreement may no longer receive it (out of force, the search no longer granted).
    Revocada { error: String },
    /// Nothing to write (the callback is no longer the worker's).
    Nada,
}

/// Writes an attempt's outcome, if the callback is still `en_curso`.
pub fn registrar_desenlace(
    conn: &mut DbConnection,
    convenio: &str,
    correlation_id: &str,
    desenlace: &Desenlace,
) -> QueryResult<()> {
    let fila = t::table
        .filter(t::convenio.eq(convenio))
        .filter(t::correlation_id.eq(correlation_id))
        .filter(t::callback_estado.eq("en_curso"));
    let http = |e: &Option<u16>| e.map(i32::from);
    let (estado, estado_http, proximo, error) = match desenlace {
        Desenlace::Nada => return Ok(()),
        Desenlace::Entregada { estado_http } => {
            ("entregada", Some(i32::from(*estado_http)), None, None)
        }
        Desenlace::Pendiente {
            proximo_us,
            estado_http,
            error,
        } => (
            "pendiente",
            http(estado_http),
            Some(*proximo_us),
            Some(error),
        ),
        Desenlace::Muerta { estado_http, error } => {
            ("muerta", http(estado_http), None, Some(error))
        }
        Desenlace::Revocada { error } => ("revocada", None, None, Some(error)),
    };
    diesel::update(fila)
        .set((
            t::callback_estado.eq(estado),
            t::callback_estado_http.eq(estado_http),
            t::callback_proximo_us.eq(proximo),
            t::callback_lease_us.eq(None::<i64>),
            t::callback_error.eq(error),
        ))
        .execute(conn)?;
    Ok(())
}

/// One attempt's disclosure, through the broker: the kept answer of the search `correlation_id`
/// of the call's agreement ([`Call::entrega_a`]), its records only while the grant of
/// ConsultarFichaFPS covers their fields. `NO_ENCONTRADO` when it is no longer the worker's to
/// send.
pub async fn enviar(
    broker: std::sync::Arc<Broker>,
    mut call: Call,
    correlation_id: String,
) -> Reply<Transaccion> {
    call.service = Service::Op(Operation::ConsultarFichaFPS);
    broker
        .call(call, move |admission: &Admission, conn| {
            let convenio = &admission.convenio.id;
            let en_curso: Option<String> = t::table
                .filter(t::convenio.eq(convenio.as_str()))
                .filter(t::correlation_id.eq(&correlation_id))
                .select(t::callback_estado)
                .first::<Option<String>>(conn)
                .optional()?
                .flatten();
            if en_curso.as_deref() != Some("en_curso") {
                return Err(ApiError::no_encontrado());
            }
            let criterio = Criterio::CorrelationId(correlation_id);
            let mut kept = buscar(conn, convenio, &["search"], &criterio)?
                .ok_or_else(ApiError::no_encontrado)?;
            let grant = admission.convenio.grant(Operation::ConsultarFichaFPS);
            filtrar(&mut kept, None, grant.map(|g| &g.fields));
            Ok(kept)
        })
        .await
}

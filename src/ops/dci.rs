//! DCI (spdci) transactions: what the node keeps of each DCI search it answered, so that the
//! agreement that sent it can ask its status later (`sync/txn/status`, `docs/dci.md`). Only
//! statuses are kept (each item's `reference_id`, `succ` or `rjct` and its reason): never a
//! record, a RUN or a field, so a status discloses nothing the search did not, and costs no
//! person. An agreement reads only its own transactions; another's is answered as unknown.

use std::collections::BTreeSet;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::broker::{Admission, Broker, Call, Reply, Service};
use crate::db::schema::dci_transacciones;
use crate::db::{DbConnection, DbError, on_backend};
use crate::domain::ConvenioId;
use crate::error::ApiError;
use crate::projection::{FieldSet, Project};

/// One item of a search, as its status is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EstadoItem {
    pub reference_id: String,
    /// `succ` or `rjct`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason_code: Option<String>,
}

/// A search answered: its ids and its items' statuses.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaccion {
    pub transaction_id: String,
    pub correlation_id: String,
    pub items: Vec<EstadoItem>,
    pub registrada_us: i64,
}

/// Which transaction a status request asks about (`attribute_type`).
#[derive(Debug, Clone)]
pub enum Criterio {
    /// The latest search with this `transaction_id`.
    TransactionId(String),
    /// The search answered with this `correlation_id`.
    CorrelationId(String),
}

/// Keeps a search answered under `convenio`. A correlation id seen again (possible only past
/// the replay window) keeps the first.
pub fn registrar(
    conn: &mut DbConnection,
    convenio: &ConvenioId,
    t: &Transaccion,
) -> Result<(), DbError> {
    let respuestas = serde_json::to_string(&t.items).unwrap_or_else(|_| "[]".to_owned());
    let fila = (
        dci_transacciones::convenio.eq(convenio.as_str()),
        dci_transacciones::correlation_id.eq(&t.correlation_id),
        dci_transacciones::transaction_id.eq(&t.transaction_id),
        dci_transacciones::tipo.eq("search"),
        dci_transacciones::respuestas.eq(&respuestas),
        dci_transacciones::registrada_us.eq(t.registrada_us),
    );
    match conn {
        DbConnection::Sqlite(c) => diesel::insert_or_ignore_into(dci_transacciones::table)
            .values(fila)
            .execute(c),
        DbConnection::Pg(c) => diesel::insert_into(dci_transacciones::table)
            .values(fila)
            .on_conflict_do_nothing()
            .execute(c),
    }?;
    Ok(())
}

/// The transaction of `convenio` that `criterio` names, if any.
pub fn buscar(
    conn: &mut DbConnection,
    convenio: &ConvenioId,
    criterio: &Criterio,
) -> Result<Option<Transaccion>, DbError> {
    let mine = dci_transacciones::table.filter(dci_transacciones::convenio.eq(convenio.as_str()));
    let columns = (
        dci_transacciones::transaction_id,
        dci_transacciones::correlation_id,
        dci_transacciones::respuestas,
        dci_transacciones::registrada_us,
    );
    let latest = dci_transacciones::registrada_us.desc();
    let row: Option<(String, String, String, i64)> = match criterio {
        Criterio::TransactionId(id) => {
            let query = mine
                .filter(dci_transacciones::transaction_id.eq(id))
                .order(latest)
                .limit(1)
                .select(columns);
            on_backend!(conn, |c| query.get_result(c).optional())?
        }
        Criterio::CorrelationId(id) => {
            let query = mine
                .filter(dci_transacciones::correlation_id.eq(id))
                .select(columns);
            on_backend!(conn, |c| query.get_result(c).optional())?
        }
    };
    Ok(row.map(
        |(transaction_id, correlation_id, respuestas, registrada_us)| Transaccion {
            transaction_id,
            correlation_id,
            items: serde_json::from_str(&respuestas).unwrap_or_default(),
            registrada_us,
        },
    ))
}

/// A transaction's status as answered: no person, no field.
impl Project for Transaccion {
    fn project(&mut self, _: &FieldSet) {}

    fn disclosed(&self) -> BTreeSet<&'static str> {
        BTreeSet::new()
    }
}

/// The status of one of the agreement's own DCI transactions, through the broker (admitted,
/// one unit, audited as `DciTxnStatus`): unknown, or another agreement's, is `NO_ENCONTRADO`.
pub async fn estado(
    broker: std::sync::Arc<Broker>,
    mut call: Call,
    criterio: Option<Criterio>,
) -> Reply<Transaccion> {
    call.service = Service::DciTxnStatus;
    broker
        .call(call, move |admission: &Admission, conn| {
            let criterio = criterio.ok_or_else(ApiError::no_encontrado)?;
            buscar(conn, &admission.convenio.id, &criterio)?.ok_or_else(ApiError::no_encontrado)
        })
        .await
}

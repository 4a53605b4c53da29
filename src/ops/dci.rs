//! DCI (spdci) transactions: what the node keeps of each DCI search, subscribe and unsubscribe
//! it answered, so that the agreement that sent it can ask its status later
//! (`sync/txn/status`, `docs/dci.md`). Of a sync search only statuses are kept (each item's
//! `reference_id`, `succ` or `rjct` and its reason): never a record, a RUN or a field, so its
//! status discloses nothing the search did not, and costs no person. An async search's answer
//! is kept whole ([`ItemResultado`]): reading it is a disclosure, audited with its persons and
//! fields and charged one unit per person, and only while the agreement still grants every
//! field it shows. An agreement reads only its own transactions; another's is answered as
//! unknown.

pub mod callback;
pub mod suscripcion;

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
    /// A subscribe item's `SubscriptionInfo`, an unsubscribe's list of `{code, status}`:
    /// the agency's own request, never a RUN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datos: Option<serde_json::Value>,
}

/// One item of an async search as answered: the `search_response` item with its records
/// (already projected), the persons they name and the fields they disclose.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemResultado {
    pub reference_id: String,
    pub item: serde_json::Value,
    pub sujetos: Vec<u32>,
    pub campos: Vec<String>,
}

/// A transaction answered: its ids, its kind and its items' statuses (and an async search's
/// answer).
#[derive(Debug, Clone, PartialEq)]
pub struct Transaccion {
    /// `search`, `subscribe` or `unsubscribe`.
    pub tipo: &'static str,
    pub transaction_id: String,
    pub correlation_id: String,
    pub items: Vec<EstadoItem>,
    pub registrada_us: i64,
    pub resultado: Option<Vec<ItemResultado>>,
    /// An async search's `on-search` callback (a registered `header.sender_uri`): kept
    /// `pendiente` with the transaction, for [`callback`]'s worker to send.
    pub callback: Option<String>,
}

/// The kinds a stored `tipo` may be.
const TIPOS: [&str; 3] = ["search", "subscribe", "unsubscribe"];

fn tipo_de(text: &str) -> &'static str {
    TIPOS.into_iter().find(|t| *t == text).unwrap_or("search")
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
    let resultado = t
        .resultado
        .as_ref()
        .map(|r| serde_json::to_string(r).unwrap_or_else(|_| "[]".to_owned()));
    let fila = (
        dci_transacciones::convenio.eq(convenio.as_str()),
        dci_transacciones::correlation_id.eq(&t.correlation_id),
        dci_transacciones::transaction_id.eq(&t.transaction_id),
        dci_transacciones::tipo.eq(t.tipo),
        dci_transacciones::respuestas.eq(&respuestas),
        dci_transacciones::registrada_us.eq(t.registrada_us),
        dci_transacciones::resultado.eq(resultado),
        dci_transacciones::callback_url.eq(&t.callback),
        dci_transacciones::callback_estado.eq(t.callback.as_ref().map(|_| "pendiente")),
        dci_transacciones::callback_proximo_us.eq(t.callback.as_ref().map(|_| t.registrada_us)),
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

/// The transaction of `convenio` of one of the kinds `tipos` that `criterio` names, if any.
pub fn buscar(
    conn: &mut DbConnection,
    convenio: &ConvenioId,
    tipos: &[&str],
    criterio: &Criterio,
) -> Result<Option<Transaccion>, DbError> {
    let mine = dci_transacciones::table
        .filter(dci_transacciones::convenio.eq(convenio.as_str()))
        .filter(dci_transacciones::tipo.eq_any(tipos));
    let columns = (
        dci_transacciones::tipo,
        dci_transacciones::transaction_id,
        dci_transacciones::correlation_id,
        dci_transacciones::respuestas,
        dci_transacciones::registrada_us,
        dci_transacciones::resultado,
    );
    let latest = dci_transacciones::registrada_us.desc();
    type Row = (String, String, String, String, i64, Option<String>);
    let row: Option<Row> = match criterio {
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
        |(tipo, transaction_id, correlation_id, respuestas, registrada_us, resultado)| {
            Transaccion {
                tipo: tipo_de(&tipo),
                transaction_id,
                correlation_id,
                items: serde_json::from_str(&respuestas).unwrap_or_default(),
                registrada_us,
                resultado: resultado.map(|r| serde_json::from_str(&r).unwrap_or_default()),
                callback: None,
            }
        },
    ))
}

/// A transaction's status: no person and no field, but for an async search's records, whose
/// persons and fields its audit record names.
impl Project for Transaccion {
    fn project(&mut self, _: &FieldSet) {}

    fn disclosed(&self) -> BTreeSet<&'static str> {
        let campos = <crate::respuestas::FichaFps as crate::projection::Campos>::campos();
        self.resultado
            .iter()
            .flatten()
            .flat_map(|i| &i.campos)
            .filter_map(|c| campos.iter().find(|k| *k == c).copied())
            .collect()
    }

    fn subjects(&self) -> Option<Vec<crate::domain::Run>> {
        Some(sujetos(self))
    }
}

fn sujetos(t: &Transaccion) -> Vec<crate::domain::Run> {
    t.resultado
        .iter()
        .flatten()
        .flat_map(|i| &i.sujetos)
        .filter_map(|n| crate::domain::Run::from_numero(*n).ok())
        .collect()
}

/// Keeps only the items `referencias` names (all when `None`), and an async search's records
/// only while the agreement's grant of ConsultarFichaFPS still covers every field they show
/// (else the status alone: a narrowed grant is never bypassed by a stored answer).
fn filtrar(t: &mut Transaccion, referencias: Option<&[String]>, concedidos: Option<&FieldSet>) {
    if let Some(r) = referencias {
        t.items.retain(|i| r.contains(&i.reference_id));
        if let Some(res) = &mut t.resultado {
            res.retain(|i| r.contains(&i.reference_id));
        }
    }
    let cubre =
        |i: &ItemResultado| concedidos.is_some_and(|g| i.campos.iter().all(|c| g.contains(c)));
    if t.resultado.iter().flatten().any(|i| !cubre(i)) {
        t.resultado = None;
    }
}

/// What a status request asks: the kinds of transaction (`txn_type` `search`: searches;
/// `subscribe`: subscribe and unsubscribe messages), which one, and which of its items (all
/// when `None`).
pub struct Consulta {
    pub tipos: &'static [&'static str],
    pub criterio: Criterio,
    pub referencias: Option<Vec<String>>,
}

/// The status of one of the agreement's own DCI transactions, through the broker (admitted,
/// one unit, audited as `DciTxnStatus`): unknown, or another agreement's, is `NO_ENCONTRADO`.
/// An async search's records cost one more unit per person they name.
pub async fn estado(
    broker: std::sync::Arc<Broker>,
    mut call: Call,
    consulta: Option<Consulta>,
) -> Reply<Transaccion> {
    call.service = Service::DciTxnStatus;
    broker
        .call(call, move |admission: &Admission, conn| {
            let c = consulta.ok_or_else(ApiError::no_encontrado)?;
            let mut t = buscar(conn, &admission.convenio.id, c.tipos, &c.criterio)?
                .ok_or_else(ApiError::no_encontrado)?;
            let grant = admission
                .convenio
                .grant(crate::catalog::Operation::ConsultarFichaFPS);
            filtrar(&mut t, c.referencias.as_deref(), grant.map(|g| &g.fields));
            let personas = sujetos(&t).len() as u64;
            if personas > 0 {
                admission.cobrar_personas(personas)?;
            }
            Ok(t)
        })
        .await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kept(campos: &[&str]) -> Transaccion {
        let item = |r: &str, run: u32| ItemResultado {
            reference_id: r.to_owned(),
            item: json!({ "reference_id": r }),
            sujetos: vec![run],
            campos: campos.iter().map(|c| (*c).to_owned()).collect(),
        };
        Transaccion {
            tipo: "search",
            transaction_id: "t".into(),
            correlation_id: "c".into(),
            items: Vec::new(),
            registrada_us: 0,
            resultado: Some(vec![item("r-0", 12_345_678), item("r-1", 15_509_661)]),
            callback: None,
        }
    }

    #[test]
    fn a_kept_answer_is_shown_only_while_the_grant_covers_its_fields() {
        let mut t = kept(&["puntaje", "folio"]);
        filtrar(
            &mut t,
            None,
            Some(&FieldSet::new(["puntaje", "folio", "quintil"])),
        );
        assert_eq!(t.resultado.as_ref().map(Vec::len), Some(2));
        assert_eq!(sujetos(&t).len(), 2);
        assert_eq!(t.disclosed(), BTreeSet::from(["folio", "puntaje"]));

        // Narrowed since the search: statuses only, nobody named, no field.
        let mut t = kept(&["puntaje", "folio"]);
        filtrar(&mut t, None, Some(&FieldSet::new(["puntaje"])));
        assert!(t.resultado.is_none());
        assert!(sujetos(&t).is_empty() && t.disclosed().is_empty());
        // No longer granted at all.
        let mut t = kept(&["puntaje"]);
        filtrar(&mut t, None, None);
        assert!(t.resultado.is_none());
    }

    #[test]
    fn a_reference_list_names_only_its_items_persons() {
        let mut t = kept(&["puntaje"]);
        filtrar(
            &mut t,
            Some(&["r-1".to_owned()]),
            Some(&FieldSet::new(["puntaje"])),
        );
        let runs: Vec<u32> = sujetos(&t).iter().map(|r| r.numero()).collect();
        assert_eq!(runs, [15_509_661]);
    }
}

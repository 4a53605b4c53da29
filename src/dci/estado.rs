//! `POST /dci/v1/registry/sync/txn/status`: the status of one of the agreement's own earlier
//! searches, subscribes or unsubscribes (`ops::dci`), by `transaction_id`, `correlation_id` or
//! a list of `reference_id`s.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::sobre::{self, Cabecera};
use super::{Clase, clase};
use crate::broker::{Service, Transport};
use crate::error::ApiError;
use crate::http::read_body;
use crate::ops::Core;
use crate::ops::dci::{Consulta, Criterio, EstadoItem, Transaccion};

/// `TxnStatusRequest`: what the node reads of it.
#[derive(Deserialize)]
struct TxnStatusRequest {
    transaction_id: String,
    txnstatus_request: Pedido,
}

#[derive(Deserialize)]
struct Pedido {
    txn_type: String,
    attribute_type: String,
    attribute_value: Value,
}

/// What the request asks for: the kind of transaction, which one, and which of its items.
/// `txn_type` `subscribe` finds subscribe and unsubscribe messages alike (the spec's list has
/// no `unsubscribe`).
fn consulta(m: &TxnStatusRequest) -> Result<Consulta, ApiError> {
    let p = &m.txnstatus_request;
    let tipos: &'static [&'static str] = match p.txn_type.as_str() {
        "search" => &["search"],
        "subscribe" => &["subscribe", "unsubscribe"],
        _ => {
            return Err(ApiError::solicitud_invalida(
                "txnstatus_request.txn_type: search or subscribe",
            ));
        }
    };
    let con = |criterio, referencias| Consulta {
        tipos,
        criterio,
        referencias,
    };
    let texto = || {
        p.attribute_value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::solicitud_invalida("attribute_value must be a string"))
    };
    match p.attribute_type.as_str() {
        "transaction_id" => Ok(con(Criterio::TransactionId(texto()?), None)),
        "correlation_id" => Ok(con(Criterio::CorrelationId(texto()?), None)),
        "reference_id_list" => {
            let list = p
                .attribute_value
                .as_array()
                .and_then(|l| l.iter().map(|v| v.as_str().map(str::to_owned)).collect())
                .ok_or_else(|| {
                    ApiError::solicitud_invalida("attribute_value must be a list of reference ids")
                })?;
            Ok(con(
                Criterio::TransactionId(m.transaction_id.clone()),
                Some(list),
            ))
        }
        _ => Err(ApiError::solicitud_invalida(
            "attribute_type is transaction_id, correlation_id or reference_id_list",
        )),
    }
}

pub async fn sync_txn_status(
    req: HttpRequest,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let core = core.into_inner();
    let config = core.broker.config.clone();
    let mut call = crate::http::call(&req, Transport::Dci);
    call.service = Service::DciTxnStatus;
    let body = read_body(payload, &mut call).await;
    let message: Option<sobre::Leido<TxnStatusRequest>> = sobre::leer(
        &req,
        &body,
        &mut call,
        "txn-status",
        &config.dci.receiver_id,
        |_| 1,
    );
    let mut pedido = None;
    let mut transaction_id = String::new();
    if let Some(m) = message.map(|l| l.message) {
        match consulta(&m) {
            Ok(c) => pedido = Some(c),
            Err(e) => call.input_error = Some(e),
        }
        transaction_id = m.transaction_id;
    }
    let reply = crate::ops::dci::estado(core.broker.clone(), call, pedido).await;
    let cabecera = Cabecera {
        action: "txn-on-status",
        sender_id: &config.dci.receiver_id,
        receiver_id: reply.convenio.as_ref(),
        total_count: 1,
    };
    let t = match reply.result {
        Ok(t) => t,
        Err(error) => {
            return match clase(error.code) {
                Clase::Http(code) => sobre::error_http(&error, code),
                Clase::Encabezado(code) => {
                    sobre::responder(cabecera.rjct(Some(code), &error.detail), None)
                }
                // Unknown, or another agreement's: alike.
                Clase::SinRegistros | Clase::Item(_) => {
                    sobre::responder(cabecera.rjct(None, "unknown transaction"), None)
                }
            };
        }
    };
    let message = json!({
        "transaction_id": transaction_id,
        "correlation_id": reply.message_id,
        "txnstatus_response": {
            "txn_type": if t.tipo == "search" { "search" } else { "subscribe" },
            "txn_status": estado(&t),
        },
    });
    sobre::responder(cabecera.succ(), Some(message))
}

/// The kept transaction as a `SearchResponse` (the shape the spec gives every `txn_status`):
/// an async search's items as answered; a sync search's statuses only; a subscribe's or
/// unsubscribe's statuses with their `SubscriptionInfo`s as records (their reason codes, which
/// `SearchStatusReasonCode` does not list, in `status_reason_message`).
pub(super) fn estado(t: &Transaccion) -> Value {
    let fecha = sobre::fecha_us(t.registrada_us);
    let items: Vec<Value> = match &t.resultado {
        Some(guardados) => guardados.iter().map(|i| i.item.clone()).collect(),
        None => t.items.iter().map(|i| item(t.tipo, i, &fecha)).collect(),
    };
    json!({
        "transaction_id": t.transaction_id,
        "correlation_id": t.correlation_id,
        "search_response": items,
    })
}

fn item(tipo: &str, i: &EstadoItem, fecha: &str) -> Value {
    let mut v = json!({
        "reference_id": i.reference_id,
        "timestamp": fecha,
        "status": i.status,
    });
    match (tipo, &i.status_reason_code) {
        ("search", Some(code)) => v["status_reason_code"] = json!(code),
        (_, Some(code)) => v["status_reason_message"] = json!(code),
        _ => {}
    }
    if let Some(datos) = &i.datos {
        let records = match datos {
            Value::Array(list) => list.clone(),
            other => vec![other.clone()],
        };
        v["data"] = json!({
            "version": sobre::VERSION,
            "reg_type": sobre::REG_TYPE,
            "reg_record_type": "SubscriptionInfo",
            "reg_records": records,
        });
    }
    v
}

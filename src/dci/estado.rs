//! `POST /dci/v1/registry/sync/txn/status`: the status of one of the agreement's own earlier
//! searches (`ops::dci`), by `transaction_id`, `correlation_id` or a list of `reference_id`s.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::sobre::{self, Cabecera};
use super::{Clase, clase};
use crate::broker::{Service, Transport};
use crate::error::ApiError;
use crate::http::read_body;
use crate::ops::Core;
use crate::ops::dci::{Criterio, Transaccion};

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

/// What the request asks for: the transaction, and which of its items (all when `None`).
fn criterio(m: &TxnStatusRequest) -> Result<(Criterio, Option<Vec<String>>), ApiError> {
    let p = &m.txnstatus_request;
    if p.txn_type != "search" {
        return Err(ApiError::solicitud_invalida(
            "txnstatus_request.txn_type: only search transactions are kept",
        ));
    }
    let texto = || {
        p.attribute_value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ApiError::solicitud_invalida("attribute_value must be a string"))
    };
    match p.attribute_type.as_str() {
        "transaction_id" => Ok((Criterio::TransactionId(texto()?), None)),
        "correlation_id" => Ok((Criterio::CorrelationId(texto()?), None)),
        "reference_id_list" => {
            let list = p
                .attribute_value
                .as_array()
                .and_then(|l| l.iter().map(|v| v.as_str().map(str::to_owned)).collect())
                .ok_or_else(|| {
                    ApiError::solicitud_invalida("attribute_value must be a list of reference ids")
                })?;
            Ok((
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
    let message: Option<TxnStatusRequest> = sobre::leer(
        &req,
        &body,
        &mut call,
        "txn-status",
        &config.dci.receiver_id,
        |_| 1,
    );
    let mut pedido = None;
    let mut transaction_id = String::new();
    if let Some(m) = message {
        match criterio(&m) {
            Ok(c) => pedido = Some(c),
            Err(e) => call.input_error = Some(e),
        }
        transaction_id = m.transaction_id;
    }
    let (criterio, referencias) = match pedido {
        Some((c, r)) => (Some(c), r),
        None => (None, None),
    };
    let reply = crate::ops::dci::estado(core.broker.clone(), call, criterio).await;
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
            "txn_type": "search",
            "txn_status": estado(&t, referencias.as_deref()),
        },
    });
    sobre::responder(cabecera.succ(), Some(message))
}

/// The kept search as a `SearchResponse` without data: each item's status only.
fn estado(t: &Transaccion, referencias: Option<&[String]>) -> Value {
    let fecha = sobre::fecha_us(t.registrada_us);
    let items: Vec<Value> = t
        .items
        .iter()
        .filter(|i| referencias.is_none_or(|r| r.contains(&i.reference_id)))
        .map(|i| {
            let mut v = json!({
                "reference_id": i.reference_id,
                "timestamp": fecha,
                "status": i.status,
            });
            if let Some(code) = &i.status_reason_code {
                v["status_reason_code"] = json!(code);
            }
            v
        })
        .collect();
    json!({
        "transaction_id": t.transaction_id,
        "correlation_id": t.correlation_id,
        "search_response": items,
    })
}

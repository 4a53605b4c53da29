//! `POST /dci/v1/registry/subscribe` and `/unsubscribe`: DCI's asynchronous subscriptions,
//! made and closed at request time through the same operations as REST's Suscribir and
//! Desuscribir (`ops::dci::suscripcion`), answered `ACK`; the result (`SubscribeResponse`'s
//! statuses and `SubscriptionInfo`s, `UnSubscribeResponse`'s) is kept for `sync/txn/status`.
//! Every DCI subscription is a push of `formato = "dci"` to `header.sender_uri`, which must be
//! one of the agreement's `callbacks`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::notificar::Registro;
use super::sobre::{self, REG_TYPE, VERSION};
use super::{Clase, clase};
use crate::broker::{Reply, Transport};
use crate::catalog::{Entrega, TIPOS_EVENTO};
use crate::domain::Run;
use crate::error::ApiError;
use crate::http::read_body;
use crate::ops::dci::suscripcion::{DesuscribirDci, SuscribirDci, campo_item, item_de};
use crate::ops::dci::{EstadoItem, Transaccion};
use crate::ops::suscripciones::{Pedido, Suscripciones, errores};
use crate::ops::{self, Core};

/// `reg_event_type` → the node's kinds of event (`docs/dci.md`). A namespace prefix
/// (`spdci-common:RegistryEventType:Death`) is read past; the node's own kind names
/// (`beneficio_terminado`, …) are taken as they are.
pub const TIPOS_DCI: &[(&str, &[&str])] = &[
    ("Death", &["defuncion"]),
    ("LiveBirth", &["nacimiento"]),
    ("REGISTER", &["ficha_creada"]),
    ("UPDATE", &["ficha_reemplazada", "comuna_cambiada"]),
];

/// The kinds a `reg_event_type` names, if the node knows it.
pub fn tipos(reg_event_type: &str) -> Option<Vec<&'static str>> {
    let nombre = reg_event_type.rsplit(':').next()?;
    if let Some((_, kinds)) = TIPOS_DCI.iter().find(|(dci, _)| *dci == nombre) {
        return Some(kinds.to_vec());
    }
    TIPOS_EVENTO
        .iter()
        .find(|t| **t == nombre)
        .map(|t| vec![*t])
}

/// `filter.type` of an `expression` filter that asks for every person (no RUN list).
pub const TODOS: &str = "ns:siis:QueryType:todos";

#[derive(Deserialize)]
struct SubscribeRequest {
    transaction_id: String,
    subscribe_request: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    reference_id: String,
    subscribe_criteria: Criterio,
}

#[derive(Deserialize)]
struct Criterio {
    reg_event_type: String,
    #[serde(default)]
    filter_type: Option<String>,
    filter: Value,
    notify_record_type: String,
}

/// An item the node does not take: which, and DCI's reason code.
struct Rechazo {
    indice: usize,
    code: &'static str,
    error: ApiError,
}

/// One item as a subscription request (push to `url`, DCI format), or why not.
fn pedido(i: usize, item: &Item, url: &url::Url) -> Result<Pedido, Rechazo> {
    let rechazo = |code: &'static str, detail: String| Rechazo {
        indice: i,
        code,
        error: errores::invalida(&campo_item(i), detail),
    };
    let c = &item.subscribe_criteria;
    let kinds = tipos(&c.reg_event_type).ok_or_else(|| {
        rechazo(
            "rjct.notify_types.invalid",
            format!("subscribe_request[{i}]: unknown reg_event_type"),
        )
    })?;
    let registro = Registro::parse(&c.notify_record_type).ok_or_else(|| {
        rechazo(
            "rjct.notify_details.invalid",
            format!("subscribe_request[{i}]: notify_record_type is Member or Group"),
        )
    })?;
    let runs = match c.filter_type.as_deref() {
        None | Some("idtype-value") => {
            let tipo = c.filter.get("type").and_then(Value::as_str);
            if !tipo.is_some_and(|t| t == "RUN" || t == "UIN") {
                return Err(rechazo(
                    "rjct.notify_details.invalid",
                    format!("subscribe_request[{i}]: filter.type must be RUN (or UIN)"),
                ));
            }
            let run = c
                .filter
                .get("value")
                .and_then(Value::as_str)
                .and_then(|v| Run::parse(v).ok())
                .ok_or_else(|| {
                    rechazo(
                        "rjct.person_id.invalid",
                        format!("subscribe_request[{i}]: filter.value is not a valid RUN"),
                    )
                })?;
            Some(vec![run])
        }
        Some("expression") if c.filter.get("type").and_then(Value::as_str) == Some(TODOS) => None,
        _ => {
            return Err(rechazo(
                "rjct.notify_details.invalid",
                format!(
                    "subscribe_request[{i}]: filter is idtype-value by RUN, or the expression {TODOS}"
                ),
            ));
        }
    };
    Ok(Pedido {
        tipos: kinds.into_iter().map(str::to_owned).collect(),
        entrega: Entrega::Push,
        url: Some(url.clone()),
        formato: "dci",
        runs,
        registro_dci: Some(registro.as_str()),
    })
}

pub async fn subscribe(
    req: HttpRequest,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let core = core.into_inner();
    let config = core.broker.config.clone();
    let mut call = crate::http::call(&req, Transport::Dci);
    let body = read_body(payload, &mut call).await;
    let leido: Option<sobre::Leido<SubscribeRequest>> = sobre::leer(
        &req,
        &body,
        &mut call,
        "subscribe",
        &config.dci.receiver_id,
        |m: &SubscribeRequest| m.subscribe_request.len(),
    );
    let mut transaction_id = String::new();
    let mut referencias = Vec::new();
    let mut pedidas: Vec<(String, &'static str)> = Vec::new();
    let mut rechazo: Option<(usize, &'static str)> = None;
    let mut pedidos = None;
    if let Some(l) = leido {
        let m = l.message;
        transaction_id = m.transaction_id;
        referencias = m
            .subscribe_request
            .iter()
            .map(|i| i.reference_id.clone())
            .collect();
        let url = l
            .sender_uri
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok());
        match url {
            _ if m.subscribe_request.is_empty() => {
                call.input_error = Some(ApiError::solicitud_invalida("subscribe_request is empty"));
            }
            _ if transaction_id.len() > 99 => {
                call.input_error = Some(ApiError::solicitud_invalida(
                    "transaction_id is at most 99 characters",
                ));
            }
            // Where the notifications go: the sender's callback, one of its agreement's.
            None => call.input_error = Some(errores::callback_no_permitido()),
            Some(url) => {
                let decoded: Result<Vec<Pedido>, Rechazo> = m
                    .subscribe_request
                    .iter()
                    .enumerate()
                    .map(|(i, item)| pedido(i, item, &url))
                    .collect();
                match decoded {
                    Ok(p) => {
                        pedidas = m
                            .subscribe_request
                            .iter()
                            .zip(&p)
                            .map(|(i, p)| {
                                let registro = p.registro_dci.unwrap_or("Member");
                                (i.subscribe_criteria.reg_event_type.clone(), registro)
                            })
                            .collect();
                        pedidos = Some(p);
                    }
                    Err(r) => {
                        rechazo = Some((r.indice, r.code));
                        call.input_error = Some(r.error);
                    }
                }
            }
        }
    }
    let reply: Reply<Suscripciones> = ops::run::<SuscribirDci>(core.clone(), call, pedidos).await;
    let ahora = sobre::ahora();
    let items: Vec<EstadoItem> = match &reply.result {
        Ok(hechas) => referencias
            .iter()
            .zip(&hechas.suscripciones)
            .zip(&pedidas)
            .map(|((r, s), (evento, registro))| EstadoItem {
                reference_id: r.clone(),
                status: "succ".into(),
                status_reason_code: None,
                datos: Some(info(s, evento, registro, &ahora)),
            })
            .collect(),
        Err(error) => {
            // Which item refused the message, and why: decoded here, or by the operation.
            let fallido = rechazo.or_else(|| match clase(error.code) {
                Clase::Item(code) => item_de(error).map(|i| (i, code)),
                _ => None,
            });
            let Some((indice, code)) = fallido else {
                return refusal(&reply, error);
            };
            referencias
                .iter()
                .enumerate()
                .map(|(i, r)| EstadoItem {
                    reference_id: r.clone(),
                    status: "rjct".into(),
                    status_reason_code: (i == indice).then(|| code.to_owned()),
                    datos: None,
                })
                .collect()
        }
    };
    guardar(&core, &reply, "subscribe", transaction_id, items).await;
    sobre::ack(&reply.message_id)
}

/// The `SubscriptionInfo` of a subscription made (never its RUN list): its code, and what
/// the item asked.
fn info(
    s: &crate::ops::suscripciones::Suscripcion,
    reg_event_type: &str,
    registro: &str,
    ahora: &str,
) -> Value {
    json!({
        "version": VERSION,
        "code": s.id,
        "status": "subscribe",
        "timestamp": ahora,
        "reg_type": REG_TYPE,
        "reg_event_type": reg_event_type,
        "filter_type": if s.runs > 0 { "idtype-value" } else { "expression" },
        "notify_record_type": registro,
    })
}

#[derive(Deserialize)]
struct UnSubscribeRequest {
    transaction_id: String,
    subscription_codes: Vec<String>,
}

pub async fn unsubscribe(
    req: HttpRequest,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let core = core.into_inner();
    let config = core.broker.config.clone();
    let mut call = crate::http::call(&req, Transport::Dci);
    let body = read_body(payload, &mut call).await;
    // `total_count`: one unsubscribe request per message.
    let leido: Option<sobre::Leido<UnSubscribeRequest>> = sobre::leer(
        &req,
        &body,
        &mut call,
        "unsubscribe",
        &config.dci.receiver_id,
        |_| 1,
    );
    let mut transaction_id = String::new();
    let mut codigos = None;
    if let Some(l) = leido {
        transaction_id = l.message.transaction_id;
        if l.message.subscription_codes.is_empty() {
            call.input_error = Some(ApiError::solicitud_invalida("subscription_codes is empty"));
        } else {
            codigos = Some(l.message.subscription_codes);
        }
    }
    let reply = ops::run::<DesuscribirDci>(core.clone(), call, codigos).await;
    let ahora = sobre::ahora();
    let item = match &reply.result {
        Ok(cerradas) => EstadoItem {
            reference_id: transaction_id.clone(),
            status: "succ".into(),
            status_reason_code: None,
            datos: Some(Value::Array(
                cerradas
                    .suscripciones
                    .iter()
                    .map(|s| json!({ "code": s.id, "status": "unsubscribe", "timestamp": ahora }))
                    .collect(),
            )),
        },
        Err(error) => {
            let code = match clase(error.code) {
                // Unknown, or another agreement's: alike.
                Clase::SinRegistros => "rjct.subscription_code.invalid",
                Clase::Item(code) => code,
                Clase::Http(_) | Clase::Encabezado(_) => return refusal(&reply, error),
            };
            EstadoItem {
                reference_id: transaction_id.clone(),
                status: "rjct".into(),
                status_reason_code: Some(code.to_owned()),
                datos: None,
            }
        }
    };
    guardar(&core, &reply, "unsubscribe", transaction_id, vec![item]).await;
    sobre::ack(&reply.message_id)
}

/// A message refused whole: an HTTP error, or `ERR` for a reason DCI gives in a header.
fn refusal<T>(reply: &Reply<T>, error: &ApiError) -> HttpResponse {
    match clase(error.code) {
        Clase::Http(code) => sobre::error_http(error, code),
        Clase::Encabezado(code) => sobre::ack_err(&reply.message_id, Some(code), error),
        Clase::SinRegistros | Clase::Item(_) => sobre::ack_err(&reply.message_id, None, error),
    }
}

/// Keeps the message's result for `txn/status` (only when it was admitted under an agreement).
async fn guardar<T>(
    core: &Core,
    reply: &Reply<T>,
    tipo: &'static str,
    transaction_id: String,
    items: Vec<EstadoItem>,
) {
    if let Some(convenio) = reply.convenio.clone() {
        let t = Transaccion {
            tipo,
            transaction_id,
            correlation_id: reply.message_id.clone(),
            items,
            registrada_us: chrono::Utc::now().timestamp_micros(),
            resultado: None,
            callback: None,
        };
        super::buscar::registrar(core, convenio, t).await;
    }
}

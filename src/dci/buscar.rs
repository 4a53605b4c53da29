//! `POST /dci/v1/registry/sync/search` and `/search` (async): `idtype-value` searches by RUN,
//! answered by ConsultarFichaFPS (one RUN) or its batch (several), then rendered as DCI Group
//! or Member records (`grupo`). The async one runs the same search at request time and
//! answers `ACK`; its answer is kept for `txn/status`.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::sobre::{self, Cabecera, REG_TYPE, VERSION};
use super::{Clase, clase};
use crate::broker::{Reply, Service, Transport};
use crate::catalog::Operation;
use crate::error::ApiError;
use crate::http::{read_body, run_into};
use crate::ops::dci::{EstadoItem, ItemResultado, Transaccion};
use crate::ops::lote::{ConsultarFichaFPSLote, Lote};
use crate::ops::{self, Core};
use crate::projection::Project;
use crate::respuestas::FichaFps;

/// `SearchRequest`: what the node reads of it.
#[derive(Deserialize)]
struct SearchRequest {
    transaction_id: String,
    search_request: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    reference_id: String,
    search_criteria: Criterio,
}

#[derive(Deserialize)]
struct Criterio {
    query_type: String,
    #[serde(default)]
    response_entity: Option<String>,
    query: Value,
}

/// What a valid item asks: a RUN (as written) and the record it wants.
struct Pedido {
    reference_id: String,
    run: String,
    miembro: bool,
}

/// What the search found for one item.
enum Resultado {
    Ficha(Box<FichaFps>),
    /// Nothing disclosed: unknown, without ficha or outside the agreement's comuna, alike.
    Vacio,
    Rechazado(&'static str),
}

/// The identifier types a query may name: `RUN`, and `UIN` (DCI's national unique id, which in
/// Chile is the RUN).
const TIPOS: [&str; 2] = ["RUN", "UIN"];

/// An item's criteria, or why they are not a search the node answers.
fn pedido(i: usize, item: Item) -> Result<Pedido, ApiError> {
    let bad = |what: &str| {
        ApiError::solicitud_invalida(format!("search_request[{i}].search_criteria: {what}"))
    };
    let c = item.search_criteria;
    if c.query_type != "idtype-value" {
        return Err(bad("only query_type idtype-value is supported"));
    }
    let miembro = match c.response_entity.as_deref() {
        None | Some("Group") => false,
        Some("Member") => true,
        Some(_) => return Err(bad("response_entity is Group or Member")),
    };
    let tipo = c.query.get("type").and_then(Value::as_str);
    if !tipo.is_some_and(|t| TIPOS.contains(&t)) {
        return Err(bad("query.type must be RUN (or UIN)"));
    }
    let run = match c.query.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if n.is_u64() => n.to_string(),
        _ => return Err(bad("query.value must be a RUN")),
    };
    Ok(Pedido {
        reference_id: item.reference_id,
        run,
        miembro,
    })
}

/// A search run through the broker: what the sync answer and the async acknowledgement are
/// made from.
struct Hecha {
    transaction_id: String,
    /// The async search's `on-search` callback: its `header.sender_uri`, one of the
    /// agreement's callbacks (else the search is refused, nothing searched).
    callback: Option<String>,
    pedidos: Vec<Pedido>,
    reply: Reply<Vec<Resultado>>,
}

/// Decodes the search and runs it: one RUN by the single lookup, several by the batch.
/// `asincrona`: the async search, whose `sender_uri`, if given, must be one of the agreement's
/// callbacks (`sync/search` reads it past).
async fn ejecutar(
    req: &HttpRequest,
    payload: web::Payload,
    core: &Arc<Core>,
    asincrona: bool,
) -> Hecha {
    let config = core.broker.config.clone();
    let mut call = crate::http::call(req, Transport::Dci);
    call.service = Service::Op(Operation::ConsultarFichaFPS);
    let body = read_body(payload, &mut call).await;
    let leido = sobre::leer::<SearchRequest>(
        req,
        &body,
        &mut call,
        "search",
        &config.dci.receiver_id,
        |m: &SearchRequest| m.search_request.len(),
    );
    let mut callback: Option<String> = None;
    let message = leido.map(|l| {
        callback = l.sender_uri.filter(|_| asincrona);
        l.message
    });
    if let Some(url) = &callback
        && let Err(error) = ops::dci::callback::permitido(&core.broker, &call, url)
    {
        call.input_error = Some(error);
    }
    let mut transaction_id = String::new();
    let mut pedidos = Vec::new();
    if let Some(m) = message.filter(|_| call.input_error.is_none()) {
        transaction_id = m.transaction_id;
        let decoded: Result<Vec<Pedido>, ApiError> = match m.search_request.len() {
            0 => Err(ApiError::solicitud_invalida("search_request is empty")),
            _ if transaction_id.len() > 99 => Err(ApiError::solicitud_invalida(
                "transaction_id is at most 99 characters",
            )),
            _ => m
                .search_request
                .into_iter()
                .enumerate()
                .map(|(i, item)| pedido(i, item))
                .collect(),
        };
        match decoded {
            Ok(p) => pedidos = p,
            Err(e) => call.input_error = Some(e),
        }
    }
    let reply = match pedidos.as_slice() {
        // One RUN: the single lookup, as REST's GET /personas/{run}/ficha.
        [] | [_] => {
            let run = match (&call.input_error, pedidos.first()) {
                (None, Some(p)) => run_into(&mut call, &p.run),
                _ => None,
            };
            let reply = ops::ficha::consultar(core.broker.clone(), call, run).await;
            uno(reply)
        }
        // Several: the batch, as REST's POST /fichas/consultas.
        _ => {
            let runs = pedidos.iter().map(|p| p.run.clone()).collect();
            let reply =
                ops::run::<ConsultarFichaFPSLote>(core.clone(), call, Some(Lote { runs })).await;
            reply.map(|r| {
                Ok(r.resultados
                    .into_iter()
                    .map(|r| match (r.estado, r.ficha) {
                        (_, Some(f)) => Resultado::Ficha(Box::new(f)),
                        ("run_invalido", None) => Resultado::Rechazado(RUN_INVALIDO),
                        (_, None) => Resultado::Vacio,
                    })
                    .collect())
            })
        }
    };
    Hecha {
        transaction_id,
        callback,
        pedidos,
        reply,
    }
}

/// `POST /dci/v1/registry/sync/search`: the answer is the `on-search` envelope.
pub async fn sync_search(
    req: HttpRequest,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let core = core.into_inner();
    let config = core.broker.config.clone();
    let Hecha {
        transaction_id,
        pedidos,
        reply,
        ..
    } = ejecutar(&req, payload, &core, false).await;
    let cabecera = Cabecera {
        action: "on-search",
        sender_id: &config.dci.receiver_id,
        receiver_id: reply.convenio.as_ref(),
        total_count: pedidos.len().max(1),
    };
    let resultados = match reply.result {
        Ok(r) => r,
        Err(error) => {
            return match clase(error.code) {
                Clase::Http(code) => sobre::error_http(&error, code),
                Clase::Encabezado(code) => {
                    sobre::responder(cabecera.rjct(Some(code), &error.detail), None)
                }
                Clase::SinRegistros | Clase::Item(_) => sin_clase(&error),
            };
        }
    };
    let ahora = sobre::ahora();
    let items: Vec<Value> = pedidos
        .iter()
        .zip(resultados)
        .map(|(p, r)| item(p, r, &ahora).0)
        .collect();
    if let Some(convenio) = reply.convenio.clone() {
        let transaccion = Transaccion {
            tipo: "search",
            transaction_id: transaction_id.clone(),
            correlation_id: reply.message_id.clone(),
            items: items.iter().map(estado_item).collect(),
            registrada_us: chrono::Utc::now().timestamp_micros(),
            resultado: None,
            callback: None,
        };
        registrar(&core, convenio, transaccion).await;
    }
    let message = json!({
        "transaction_id": transaction_id,
        "correlation_id": reply.message_id,
        "search_response": items,
    });
    sobre::responder(cabecera.succ(), Some(message))
}

/// `POST /dci/v1/registry/search`: the same search, run now (admitted, charged, audited and
/// projected as the sync one), answered `ACK`; its answer is kept whole for `txn/status`
/// (`docs/dci.md`: the reliable way to fetch it) and, with a registered `sender_uri`, sent
/// there as `on-search` by the callback worker (`super::callback`).
pub async fn search(
    req: HttpRequest,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let core = core.into_inner();
    let Hecha {
        transaction_id,
        callback,
        pedidos,
        reply,
    } = ejecutar(&req, payload, &core, true).await;
    let resultados = match reply.result {
        Ok(r) => r,
        Err(error) => {
            return match clase(error.code) {
                Clase::Http(code) => sobre::error_http(&error, code),
                Clase::Encabezado(code) => sobre::ack_err(&reply.message_id, Some(code), &error),
                Clase::SinRegistros | Clase::Item(_) => sin_clase(&error),
            };
        }
    };
    let ahora = sobre::ahora();
    let mut estados = Vec::with_capacity(pedidos.len());
    let mut guardados = Vec::with_capacity(pedidos.len());
    for (p, r) in pedidos.iter().zip(resultados) {
        let (item, ficha) = item(p, r, &ahora);
        estados.push(estado_item(&item));
        // The persons and fields a record shows: the RUN asked about, as the search's audit
        // record names it, and the projected ficha's fields.
        let (sujetos, campos) = match &ficha {
            Some(f) => (
                crate::domain::Run::parse(&p.run)
                    .map(|r| vec![r.numero()])
                    .unwrap_or_default(),
                f.disclosed().into_iter().map(str::to_owned).collect(),
            ),
            None => (Vec::new(), Vec::new()),
        };
        guardados.push(ItemResultado {
            reference_id: p.reference_id.clone(),
            item,
            sujetos,
            campos,
        });
    }
    if let Some(convenio) = reply.convenio.clone() {
        let transaccion = Transaccion {
            tipo: "search",
            transaction_id,
            correlation_id: reply.message_id.clone(),
            items: estados,
            registrada_us: chrono::Utc::now().timestamp_micros(),
            resultado: Some(guardados),
            callback,
        };
        registrar(&core, convenio, transaccion).await;
    }
    sobre::ack(&reply.message_id)
}

/// A refusal the table gives no DCI form for a search: a defect, answered as unavailable.
fn sin_clase(error: &ApiError) -> HttpResponse {
    tracing::error!(code = %error.code, "a DCI search refusal without its class");
    sobre::error_http(&ApiError::unavailable(), "err.service.unavailable")
}

const RUN_INVALIDO: &str = match clase(crate::error::ErrorCode::RunInvalido) {
    Clase::Item(code) => code,
    _ => "rjct.search_criteria.invalid",
};

/// A single lookup's reply as one item: what discloses nothing, and an invalid RUN, are
/// answers of the item, not refusals of the message.
fn uno(reply: Reply<FichaFps>) -> Reply<Vec<Resultado>> {
    let Reply {
        message_id,
        convenio,
        result,
    } = reply;
    let result = match result {
        Ok(f) => Ok(vec![Resultado::Ficha(Box::new(f))]),
        Err(e) => match clase(e.code) {
            Clase::SinRegistros => Ok(vec![Resultado::Vacio]),
            Clase::Item(code) => Ok(vec![Resultado::Rechazado(code)]),
            Clase::Encabezado(_) | Clase::Http(_) => Err(e),
        },
    };
    Reply {
        message_id,
        convenio,
        result,
    }
}

/// One `search_response` item, and the projected ficha it shows, if any.
fn item(p: &Pedido, r: Resultado, ahora: &str) -> (Value, Option<Box<FichaFps>>) {
    let (records, ficha) = match r {
        Resultado::Rechazado(code) => {
            let item = json!({
                "reference_id": p.reference_id,
                "timestamp": ahora,
                "status": "rjct",
                "status_reason_code": code,
            });
            return (item, None);
        }
        Resultado::Vacio => (Vec::new(), None),
        Resultado::Ficha(f) if p.miembro => (vec![super::grupo::persona(&f)], Some(f)),
        Resultado::Ficha(f) => (vec![super::grupo::grupo(&f)], Some(f)),
    };
    let item = json!({
        "reference_id": p.reference_id,
        "timestamp": ahora,
        "status": "succ",
        "data": {
            "version": VERSION,
            "reg_type": REG_TYPE,
            "reg_record_type": if p.miembro { "Member" } else { "Group" },
            "reg_records": records,
        },
    });
    (item, ficha)
}

fn estado_item(item: &Value) -> EstadoItem {
    let text = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
    EstadoItem {
        reference_id: text("reference_id").unwrap_or_default(),
        status: text("status").unwrap_or_default(),
        status_reason_code: text("status_reason_code"),
        datos: None,
    }
}

/// Keeps the answered search for `sync/txn/status`, after its audit record and before the
/// answer leaves. A failure is logged and the answer still sent: its status will be unknown.
pub(super) async fn registrar(core: &Core, convenio: crate::domain::ConvenioId, t: Transaccion) {
    let pool = core.broker.pool.clone();
    let done = web::block(move || {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        crate::ops::dci::registrar(&mut conn, &convenio, &t).map_err(|e| e.to_string())
    })
    .await;
    match done {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(%error, "a DCI transaction was not kept"),
        Err(error) => tracing::error!(%error, "a DCI transaction was not kept"),
    }
}

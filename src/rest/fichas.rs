//! `GET /api/v1/personas/{run}/ficha` and `POST /api/v1/fichas/consultas` (ConsultarFichaFPS).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::support::{call, json_body, path_run, respond};
use crate::broker::{Broker, Service};
use crate::catalog::Operation;
use crate::http::read_body;
use crate::ops::lote;

const OP: Service = Service::Op(Operation::ConsultarFichaFPS);

pub async fn ficha(
    req: HttpRequest,
    run: web::Path<String>,
    broker: web::Data<Broker>,
) -> HttpResponse {
    let mut call = call(&req, OP);
    let run = path_run(&mut call, &run);
    let reply = crate::ops::ficha::consultar(broker.into_inner(), call, run).await;
    respond(&req, reply)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Lote {
    runs: Vec<String>,
}

pub async fn lote(
    req: HttpRequest,
    payload: web::Payload,
    broker: web::Data<Broker>,
) -> HttpResponse {
    let mut call = call(&req, OP);
    let max = broker.config.broker.batch_max;
    let body = read_body(payload, &mut call).await;
    let runs = if call.input_error.is_none() {
        json_body::<Lote>(&req, &body, &mut call).map(|l| l.runs)
    } else {
        None
    };
    if let Some(r) = &runs {
        match lote::check_size(r, max) {
            Ok(()) => call.subjects = lote::subjects(r),
            Err(e) => call.input_error = Some(e),
        }
    }
    let reply = broker
        .into_inner()
        .call(call, move |admission, conn| {
            lote::responder(admission, conn, &runs.unwrap_or_default())
        })
        .await;
    respond(&req, reply)
}

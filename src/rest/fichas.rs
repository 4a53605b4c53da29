//! `GET /api/v1/personas/{run}/ficha` and `POST /api/v1/fichas/consultas` (ConsultarFichaFPS).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::support::{call, json_body, path_run, read_body, respond};
use crate::broker::{Broker, Service};
use crate::error::ApiError;
use crate::ops::catalog::Operation;
use crate::ops::ficha::{self, Lookup};
use crate::ops::lote;
use crate::ops::projection::any_below;

const OP: Service = Service::Op(Operation::ConsultarFichaFPS);

pub async fn ficha(
    req: HttpRequest,
    run: web::Path<String>,
    broker: web::Data<Broker>,
) -> HttpResponse {
    let mut call = call(&req, OP);
    let run = path_run(&mut call, &run);
    let reply = broker
        .into_inner()
        .call(call, move |admission, conn| {
            let run = run.ok_or_else(ApiError::no_encontrado)?;
            let agreement = &admission.agreement;
            let members = agreement
                .grant(Operation::ConsultarFichaFPS)
                .is_some_and(|g| any_below(&g.fields, "integrantes."));
            match ficha::consultar(conn, run, agreement.scope, members)? {
                Lookup::Found(f) => Ok(f),
                Lookup::NotFound => Err(ApiError::no_encontrado()),
                Lookup::OutOfScope => Err(ApiError::fuera_de_ambito()),
                Lookup::NoFicha => Err(ApiError::sin_ficha()),
            }
        })
        .await;
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
    match &runs {
        Some(r) if r.len() > max => call.input_error = Some(ApiError::lote_excedido(max)),
        Some(r) if r.is_empty() => {
            call.input_error = Some(ApiError::solicitud_invalida(
                "runs must list at least one RUN",
            ))
        }
        Some(r) => call.subjects = lote::subjects(r),
        None => {}
    }
    let reply = broker
        .into_inner()
        .call(call, move |admission, conn| {
            let agreement = &admission.agreement;
            let members = agreement
                .grant(Operation::ConsultarFichaFPS)
                .is_some_and(|g| any_below(&g.fields, "integrantes."));
            Ok(lote::consultar(
                conn,
                &runs.unwrap_or_default(),
                agreement.scope,
                members,
            )?)
        })
        .await;
    respond(&req, reply)
}

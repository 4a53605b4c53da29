//! `GET /api/v1/personas/{run}/accesos` (ConsultarAccesos, operators only).

use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, path_run, respond};
use crate::broker::{Broker, Service};
use crate::catalog::Operation;
use crate::error::ApiError;
use crate::ops::accesos;

pub async fn consultar(
    req: HttpRequest,
    run: web::Path<String>,
    broker: web::Data<Broker>,
) -> HttpResponse {
    let mut call = call(&req, Service::Op(Operation::ConsultarAccesos));
    let run = path_run(&mut call, &run);
    let policy = broker.policy();
    let reply = broker
        .into_inner()
        .call(call, move |_, conn| {
            let run = run.ok_or_else(ApiError::no_encontrado)?;
            Ok(accesos::consultar(conn, run, &policy.agreements)?)
        })
        .await;
    respond(&req, reply)
}

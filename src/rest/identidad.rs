//! `POST /api/v1/identidad/validaciones` (ValidarIdentidad).

use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, json_body, respond};
use crate::broker::{Broker, Service};
use crate::catalog::Operation;
use crate::domain::Run;
use crate::error::ApiError;
use crate::http::read_body;
use crate::ops::identidad::{self, Afirmacion};

pub async fn validar(
    req: HttpRequest,
    payload: web::Payload,
    broker: web::Data<Broker>,
) -> HttpResponse {
    let mut call = call(&req, Service::Op(Operation::ValidarIdentidad));
    let body = read_body(payload, &mut call).await;
    let claim = if call.input_error.is_none() {
        json_body::<Afirmacion>(&req, &body, &mut call)
    } else {
        None
    };
    let run = match claim.as_ref().map(|c| Run::parse(&c.run)) {
        Some(Ok(run)) => {
            call.subjects.push(run);
            Some(run)
        }
        Some(Err(e)) => {
            call.input_error = Some(ApiError::run_invalido(e));
            None
        }
        None => None,
    };
    let reply = broker
        .into_inner()
        .call(call, move |admission, conn| {
            let (Some(run), Some(claim)) = (run, claim) else {
                return Err(ApiError::solicitud_invalida("missing claim"));
            };
            identidad::responder(admission, conn, run, &claim)
        })
        .await;
    respond(&req, reply)
}

//! `POST /api/v1/identidad/validaciones` (ValidarIdentidad).

use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, json_body, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::domain::Run;
use crate::error::ApiError;
use crate::http::read_body;
use crate::ops::identidad::{Afirmacion, Validacion, ValidarIdentidad};
use crate::ops::{self, Core};

pub async fn validar(
    req: HttpRequest,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, Service::Op(Operation::ValidarIdentidad));
    let body = read_body(payload, &mut call).await;
    let validacion = json_body::<Afirmacion>(&req, &body, &mut call).and_then(|afirmacion| {
        match Run::parse(&afirmacion.run) {
            Ok(run) => Some(Validacion { run, afirmacion }),
            Err(e) => {
                call.input_error = Some(ApiError::run_invalido(e));
                None
            }
        }
    });
    respond(
        &req,
        ops::run::<ValidarIdentidad>(core.into_inner(), call, validacion).await,
    )
}

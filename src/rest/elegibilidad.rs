//! `GET /api/v1/personas/{run}/elegibilidad/{programa}` (ConsultarElegibilidad).

use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, path_run, respond};
use crate::broker::{Broker, Service};
use crate::catalog::Operation;
use crate::error::ApiError;
use crate::ops::elegibilidad;

pub async fn consultar(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    broker: web::Data<Broker>,
) -> HttpResponse {
    let (run, programa) = path.into_inner();
    let mut call = call(&req, Service::Op(Operation::ConsultarElegibilidad));
    let run = path_run(&mut call, &run);
    let rules = broker.rules.clone();
    let reply = broker
        .into_inner()
        .call(call, move |admission, conn| {
            let run = run.ok_or_else(ApiError::no_encontrado)?;
            elegibilidad::responder(
                &admission.agreement,
                conn,
                &rules,
                run,
                &programa,
                admission.today,
            )
        })
        .await;
    respond(&req, reply)
}

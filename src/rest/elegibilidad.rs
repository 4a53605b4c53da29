//! `GET /api/v1/personas/{run}/elegibilidad/{programa}` (ConsultarElegibilidad).

use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, path_run, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::ops::elegibilidad::{ConsultarElegibilidad, Pregunta};
use crate::ops::{self, Core};

pub async fn consultar(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    core: web::Data<Core>,
) -> HttpResponse {
    let (run, programa) = path.into_inner();
    let mut call = call(&req, Service::Op(Operation::ConsultarElegibilidad));
    let pregunta = path_run(&mut call, &run).map(|run| Pregunta { run, programa });
    respond(
        &req,
        ops::run::<ConsultarElegibilidad>(core.into_inner(), call, pregunta).await,
    )
}

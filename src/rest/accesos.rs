//! `GET /api/v1/personas/{run}/accesos` (ConsultarAccesos, operators only).

use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, path_run, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::ops::accesos::ConsultarAccesos;
use crate::ops::{self, Core};

pub async fn consultar(
    req: HttpRequest,
    run: web::Path<String>,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, Service::Op(Operation::ConsultarAccesos));
    let run = path_run(&mut call, &run);
    respond(
        &req,
        ops::run::<ConsultarAccesos>(core.into_inner(), call, run).await,
    )
}

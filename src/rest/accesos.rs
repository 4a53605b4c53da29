//! `GET /api/v1/personas/{run}/accesos?pagina=&porPagina=` (ConsultarAccesos, operators
//! only).

use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, path_run, query_params, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::ops::accesos::{ConsultarAccesos, Pedido};
use crate::ops::{self, Core};

pub async fn consultar(
    req: HttpRequest,
    run: web::Path<String>,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, Service::Op(Operation::ConsultarAccesos));
    let run = path_run(&mut call, &run);
    // `?pagina=2&porPagina=50`: a page of the report, newest first.
    let pedido = query_params(&req, &["pagina", "porPagina"])
        .and_then(|q| {
            Pedido::parse(
                run,
                q.get("pagina").map(|s| s.as_str()),
                q.get("porPagina").map(|s| s.as_str()),
            )
        })
        .unwrap_or_else(|e| {
            call.input_error.get_or_insert(e);
            None
        });
    respond(
        &req,
        ops::run::<ConsultarAccesos>(core.into_inner(), call, pedido).await,
    )
}

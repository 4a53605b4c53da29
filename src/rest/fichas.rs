//! `GET /api/v1/personas/{run}/ficha` and `POST /api/v1/fichas/consultas` (ConsultarFichaFPS).

use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, json_body, path_run, respond};
use crate::broker::{Broker, Service};
use crate::catalog::Operation;
use crate::http::read_body;
use crate::ops::lote::{ConsultarFichaFPSLote, Lote};
use crate::ops::{self, Core};

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

pub async fn lote(req: HttpRequest, payload: web::Payload, core: web::Data<Core>) -> HttpResponse {
    let mut call = call(&req, OP);
    let body = read_body(payload, &mut call).await;
    let lote = json_body::<Lote>(&req, &body, &mut call);
    respond(
        &req,
        ops::run::<ConsultarFichaFPSLote>(core.into_inner(), call, lote).await,
    )
}

//! Household upkeep (ActualizarHogar): `GET /api/v1/personas/{run}/hogar` (ConsultarHogar)
//! and `POST /api/v1/personas/{run}/hogar/eventos` (RegistrarEventoHogar).

use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, json_body, path_run, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::http::read_body;
use crate::ops::hogar::evento::{EventoEntrada, runs_nombrados};
use crate::ops::hogar::{ConsultarHogar, EventoPedido, RegistrarEventoHogar};
use crate::ops::{self, Core};

const HOGAR: Service = Service::Op(Operation::ActualizarHogar);

pub async fn consultar(
    req: HttpRequest,
    run: web::Path<String>,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, HOGAR);
    let run = path_run(&mut call, &run);
    respond(
        &req,
        ops::run::<ConsultarHogar>(core.into_inner(), call, run).await,
    )
}

pub async fn evento(
    req: HttpRequest,
    run: web::Path<String>,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, HOGAR);
    let run = path_run(&mut call, &run);
    let body = read_body(payload, &mut call).await;
    let entrada = json_body::<EventoEntrada>(&req, &body, &mut call);
    if let Some(entrada) = &entrada {
        call.subjects.extend(runs_nombrados(entrada));
    }
    let pedido = run
        .zip(entrada)
        .map(|(run, entrada)| EventoPedido { run, entrada });
    respond(
        &req,
        ops::run::<RegistrarEventoHogar>(core.into_inner(), call, pedido).await,
    )
}

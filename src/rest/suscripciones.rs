//! Subscriptions to events (Suscripciones): `POST /api/v1/suscripciones`,
//! `GET /api/v1/suscripciones`, `DELETE /api/v1/suscripciones/{id}` and
//! `GET /api/v1/suscripciones/{id}/eventos?despues=&limite=`.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, json_body, query_params, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::http::read_body;
use crate::ops::suscripciones::{
    Desuscribir, Lectura, LeerEventos, ListarSuscripciones, Suscribir, SuscripcionEntrada,
};
use crate::ops::{self, Core};

const SUSCRIPCIONES: Service = Service::Op(Operation::Suscripciones);

pub async fn suscribir(
    req: HttpRequest,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, SUSCRIPCIONES);
    let body = read_body(payload, &mut call).await;
    let pedido = json_body::<SuscripcionEntrada>(&req, &body, &mut call).and_then(|entrada| {
        entrada
            .parse(&mut call.subjects)
            .map_err(|e| call.input_error = Some(e))
            .ok()
    });
    let reply = ops::run::<Suscribir>(core.into_inner(), call, pedido).await;
    let location = reply
        .result
        .as_ref()
        .ok()
        .and_then(|s| HeaderValue::from_str(&format!("/api/v1/suscripciones/{}", s.id)).ok());
    let mut response = respond(&req, reply);
    if let Some(location) = location {
        *response.status_mut() = StatusCode::CREATED;
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

pub async fn listar(req: HttpRequest, core: web::Data<Core>) -> HttpResponse {
    let call = call(&req, SUSCRIPCIONES);
    respond(
        &req,
        ops::run::<ListarSuscripciones>(core.into_inner(), call, Some(())).await,
    )
}

pub async fn desuscribir(
    req: HttpRequest,
    id: web::Path<String>,
    core: web::Data<Core>,
) -> HttpResponse {
    let call = call(&req, SUSCRIPCIONES);
    respond(
        &req,
        ops::run::<Desuscribir>(core.into_inner(), call, Some(id.into_inner())).await,
    )
}

/// The query string: `despues`, `limite`; anything else is refused.
pub async fn eventos(
    req: HttpRequest,
    id: web::Path<String>,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, SUSCRIPCIONES);
    let lectura = query_params(&req, &["despues", "limite"])
        .and_then(|q| {
            let get = |k: &str| q.get(k).map(String::as_str);
            Lectura::parse(&id, get("despues"), get("limite"))
        })
        .map_err(|e| call.input_error = Some(e))
        .ok();
    respond(
        &req,
        ops::run::<LeerEventos>(core.into_inner(), call, lectura).await,
    )
}

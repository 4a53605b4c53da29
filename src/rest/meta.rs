//! `GET /api/v1/ping` (the empty authenticated endpoint, the benchmark's baseline) and
//! `GET /api/v1/metaservicios/operaciones` (allowedMethods).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::support::{call, respond};
use crate::broker::{Broker, Service};
use crate::ops::meta;

pub async fn ping(req: HttpRequest, broker: web::Data<Broker>) -> HttpResponse {
    let reply = broker
        .into_inner()
        .call_local(call(&req, Service::Ping), |_| Ok(json!({ "ok": true })))
        .await;
    respond(&req, reply)
}

pub async fn operaciones(req: HttpRequest, broker: web::Data<Broker>) -> HttpResponse {
    let reply = broker
        .into_inner()
        .call_local(call(&req, Service::Metaservicios), |admission| {
            Ok(meta::allowed_methods(&admission.agreement))
        })
        .await;
    respond(&req, reply)
}

/// The public listener's ping: TLS only, no agreement, nothing audited (no data involved).
pub async fn public_ping() -> web::Json<Value> {
    web::Json(json!({ "ok": true }))
}

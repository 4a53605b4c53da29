//! `GET /api/v1/ping` (the empty authenticated endpoint, the benchmark's baseline) and
//! `GET /api/v1/metaservicios/operaciones` (allowedMethods).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::support::{call, respond};
use crate::broker::Service;
use crate::ops::{Core, meta};

pub async fn ping(req: HttpRequest, core: web::Data<Core>) -> HttpResponse {
    let reply = meta::ping(core.into_inner(), call(&req, Service::Ping)).await;
    respond(&req, reply.map(|()| Ok(json!({ "ok": true }))))
}

pub async fn operaciones(req: HttpRequest, core: web::Data<Core>) -> HttpResponse {
    let reply = meta::operaciones(core.into_inner(), call(&req, Service::Metaservicios)).await;
    respond(&req, reply)
}

/// The public listener's ping: TLS only, no agreement, nothing audited (no data involved).
pub async fn public_ping() -> web::Json<Value> {
    web::Json(json!({ "ok": true }))
}

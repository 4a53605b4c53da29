//! `GET /api/v1/ping`: the empty endpoint, used as the benchmark's baseline.

use actix_web::HttpResponse;
use serde_json::json;

pub async fn ping() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "ok": true }))
}

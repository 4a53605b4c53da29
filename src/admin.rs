//! The admin listener (loopback only): liveness and readiness.

use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::broker::Broker;
use crate::error::ApiError;
use crate::state::AppState;

/// The admin route table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route(
            "/admin/agreements/reload",
            web::post().to(reload_agreements),
        );
}

/// The process is up and answering.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The registry answers a query.
async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .with_db(|conn| Ok(conn.batch_execute("SELECT 1")?))
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({ "status": "ready", "database": state.config.database.url.backend() })))
}

/// Reloads the agreements from their folder; a broken set is refused (422, with every problem
/// listed) and the previous set stays in force.
async fn reload_agreements(broker: web::Data<Broker>) -> HttpResponse {
    match broker.reload() {
        Ok(count) => HttpResponse::Ok().json(json!({ "status": "reloaded", "agreements": count })),
        Err(errors) => {
            tracing::warn!(problems = errors.0.len(), "agreements reload refused");
            HttpResponse::UnprocessableEntity()
                .content_type("application/problem+json")
                .json(json!({
                    "type": "urn:siis:problema:CONVENIOS_INVALIDOS",
                    "title": "Convenios inválidos",
                    "status": 422,
                    "code": "CONVENIOS_INVALIDOS",
                    "detail": "the agreements were not reloaded; the previous set stays in force",
                    "problemas": errors.0.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
                }))
        }
    }
}

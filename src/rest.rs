//! The REST (JSON) transport: decodes, calls the operation, encodes. No business rule lives here.

mod ping;

use actix_web::web;

/// The agency listener's REST route table (mutual TLS is enforced by the listener itself).
pub fn agency_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/api/v1").route("/ping", web::get().to(ping::ping)));
}

/// The public listener's REST route table.
pub fn public_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/api/v1").route("/ping", web::get().to(ping::ping)));
}

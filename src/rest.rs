//! The REST (JSON) transport: decodes, calls the operation through the broker, encodes. No
//! business rule lives here.

mod accesos;
mod elegibilidad;
mod fichas;
mod identidad;
mod meta;
mod support;

use actix_web::web;

/// The agency listener's route table (mutual TLS is enforced by the listener itself).
pub fn agency_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/ping", web::get().to(meta::ping))
            .route(
                "/metaservicios/operaciones",
                web::get().to(meta::operaciones),
            )
            .route("/personas/{run}/ficha", web::get().to(fichas::ficha))
            .route("/fichas/consultas", web::post().to(fichas::lote))
            .route(
                "/identidad/validaciones",
                web::post().to(identidad::validar),
            )
            .route(
                "/personas/{run}/elegibilidad/{programa}",
                web::get().to(elegibilidad::consultar),
            )
            .route("/personas/{run}/accesos", web::get().to(accesos::consultar)),
    );
}

/// The public listener's route table.
pub fn public_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/api/v1").route("/ping", web::get().to(meta::public_ping)));
}

//! The REST (JSON) transport: decodes, calls the operation through the broker, encodes. No
//! business rule lives here.

mod accesos;
mod certificados;
mod chile_solidario;
mod crece_contigo;
mod cupos;
mod decretos;
mod elegibilidad;
mod emergencias;
mod encuestajes;
mod estadisticas;
mod fichas;
mod hogar;
mod identidad;
mod lotes;
mod meta;
pub mod openapi;
mod postulaciones;
pub(crate) mod support;
mod suscripciones;
mod verificar;
mod verificar_html;

use actix_web::web;

/// The agency listener's route table (mutual TLS is enforced by the listener itself). Every
/// path answers other methods with an audited 405, and unknown paths get an audited 404.
pub fn agency_routes(cfg: &mut web::ServiceConfig) {
    let resource =
        |path: &str| web::resource(path).default_service(web::to(support::method_not_allowed));
    cfg.service(
        web::scope("/api/v1")
            .service(resource("/ping").route(web::get().to(meta::ping)))
            .service(resource("/metaservicios/operaciones").route(web::get().to(meta::operaciones)))
            .service(resource("/metaservicios/openapi").route(web::get().to(openapi::metaservicio)))
            .service(resource("/personas/{run}/ficha").route(web::get().to(fichas::ficha)))
            .service(resource("/fichas/consultas").route(web::post().to(fichas::lote)))
            .service(resource("/identidad/validaciones").route(web::post().to(identidad::validar)))
            .service(
                resource("/personas/{run}/elegibilidad/{programa}")
                    .route(web::get().to(elegibilidad::consultar)),
            )
            .service(resource("/personas/{run}/accesos").route(web::get().to(accesos::consultar)))
            .service(resource("/personas/{run}/hogar").route(web::get().to(hogar::consultar)))
            .service(resource("/personas/{run}/hogar/eventos").route(web::post().to(hogar::evento)))
            .service(resource("/certificados").route(web::post().to(certificados::emitir)))
            .service(resource("/encuestajes").route(web::post().to(encuestajes::solicitar)))
            .service(resource("/encuestajes/{id}").route(web::get().to(encuestajes::seguir)))
            .service(
                resource("/encuestajes/{id}/eventos").route(web::post().to(encuestajes::evento)),
            )
            .service(
                resource("/municipios/{cut}/encuestajes").route(web::get().to(encuestajes::cola)),
            )
            .service(resource("/postulaciones").route(web::post().to(postulaciones::postular)))
            .service(resource("/postulaciones/{id}").route(web::get().to(postulaciones::consultar)))
            .service(
                resource("/postulaciones/{id}/eventos")
                    .route(web::post().to(postulaciones::evento)),
            )
            .service(
                resource("/municipios/{cut}/postulaciones")
                    .route(web::get().to(postulaciones::listar)),
            )
            .service(
                resource("/cupos/{cut}/{programa}/{anio}")
                    .route(web::put().to(cupos::fijar))
                    .route(web::get().to(cupos::consultar)),
            )
            .service(resource("/municipios/{cut}/decretos").route(web::post().to(decretos::emitir)))
            .service(resource("/decretos").route(web::get().to(decretos::listar)))
            .service(resource("/decretos/{folio}").route(web::get().to(decretos::consultar)))
            .service(
                resource("/suscripciones")
                    .route(web::post().to(suscripciones::suscribir))
                    .route(web::get().to(suscripciones::listar)),
            )
            .service(
                resource("/suscripciones/{id}").route(web::delete().to(suscripciones::desuscribir)),
            )
            .service(
                resource("/suscripciones/{id}/eventos")
                    .route(web::get().to(suscripciones::eventos)),
            )
            .service(resource("/estadisticas").route(web::get().to(estadisticas::consultar)))
            .service(resource("/lotes/{tipo}").route(web::post().to(lotes::recibir)))
            // The modules' routes (`crate::modulos`), one line each.
            .configure(chile_solidario::rutas)
            .configure(crece_contigo::rutas)
            .configure(emergencias::rutas),
    );
}

/// The agency listener's answer to a path it does not publish: refused and audited.
pub async fn agency_not_found(
    req: actix_web::HttpRequest,
    broker: web::Data<crate::broker::Broker>,
) -> actix_web::HttpResponse {
    support::refuse(req, broker, crate::error::ApiError::not_found_route()).await
}

/// The public listener's route table.
pub fn public_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/ping", web::get().to(meta::public_ping))
            .route("/openapi.json", web::get().to(openapi::publico))
            .route("/docs", web::get().to(openapi::pagina)),
    );
    cfg.route("/verificar/{folio}", web::get().to(verificar::verificar));
}

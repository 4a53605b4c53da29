//! Serving the contracts: `GET /soap/{Servicio}?wsdl` with the node's real address, and the
//! schemas the WSDLs import at `GET /schemas/{file}` (relative imports resolve there).

use actix_web::{HttpRequest, HttpResponse, web};

use super::servicio;

/// The address written in the shipped WSDLs, replaced by the node's own when served.
pub const PLACEHOLDER: &str = "https://localhost:8443/soap/";

pub const SCHEMAS: &[(&str, &str)] = &[
    ("tipos-v1.xsd", include_str!("../../schemas/tipos-v1.xsd")),
    ("sobre-v1.xsd", include_str!("../../schemas/sobre-v1.xsd")),
    (
        "fichafps-v1.xsd",
        include_str!("../../schemas/fichafps-v1.xsd"),
    ),
    (
        "identidad-v1.xsd",
        include_str!("../../schemas/identidad-v1.xsd"),
    ),
    (
        "elegibilidad-v1.xsd",
        include_str!("../../schemas/elegibilidad-v1.xsd"),
    ),
    (
        "accesos-v1.xsd",
        include_str!("../../schemas/accesos-v1.xsd"),
    ),
    (
        "certificados-v1.xsd",
        include_str!("../../schemas/certificados-v1.xsd"),
    ),
    (
        "encuestaje-v1.xsd",
        include_str!("../../schemas/encuestaje-v1.xsd"),
    ),
    (
        "estadisticas-v1.xsd",
        include_str!("../../schemas/estadisticas-v1.xsd"),
    ),
    (
        "metaservicios-v1.xsd",
        include_str!("../../schemas/metaservicios-v1.xsd"),
    ),
    ("lotes-v1.xsd", include_str!("../../schemas/lotes-v1.xsd")),
    ("hogar-v1.xsd", include_str!("../../schemas/hogar-v1.xsd")),
    (
        "recepcionlotes-v1.xsd",
        include_str!("../../schemas/recepcionlotes-v1.xsd"),
    ),
    (
        "postulacion-v1.xsd",
        include_str!("../../schemas/postulacion-v1.xsd"),
    ),
    (
        "suscripciones-v1.xsd",
        include_str!("../../schemas/suscripciones-v1.xsd"),
    ),
    (
        "chilesolidario-v1.xsd",
        include_str!("../../schemas/chilesolidario-v1.xsd"),
    ),
    (
        "emergencias-v1.xsd",
        include_str!("../../schemas/emergencias-v1.xsd"),
    ),
    (
        "crececontigo-v1.xsd",
        include_str!("../../schemas/crececontigo-v1.xsd"),
    ),
];

/// The node's base URL for SOAP as this client reached it. The host comes from the request,
/// so only a plain host name or address (with port) is taken; anything else falls back to the
/// address the connection arrived at.
pub fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    let host = info.host();
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '[' | ']'));
    if plain {
        format!("https://{host}/soap/")
    } else {
        format!("https://{}/soap/", req.app_config().local_addr())
    }
}

/// A WSDL with the node's real address.
pub fn wsdl_text(req: &HttpRequest, nombre: &str) -> Option<String> {
    servicio(nombre).map(|s| s.wsdl.replace(PLACEHOLDER, &base_url(req)))
}

pub async fn wsdl(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    match wsdl_text(&req, &path) {
        Some(text) => HttpResponse::Ok()
            .content_type("text/xml; charset=utf-8")
            .body(text),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such SOAP service"),
    }
}

pub async fn schema(path: web::Path<String>) -> HttpResponse {
    match SCHEMAS.iter().find(|(name, _)| *name == path.as_str()) {
        Some((_, text)) => HttpResponse::Ok()
            .content_type("text/xml; charset=utf-8")
            .body(*text),
        None => HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such schema"),
    }
}

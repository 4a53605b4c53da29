//! The REST API's OpenAPI 3.1 document, generated with `utoipa` from the request and answer
//! types the handlers really use (their serde attributes are the field names, as for the
//! catalogue). Served on the public listener (`GET /api/v1/openapi.json`, and a page listing
//! the operations at `GET /api/v1/docs`: static, the same for everyone, nothing about a
//! person), and to agencies as the `getOpenAPI` metaservice
//! (`GET /api/v1/metaservicios/openapi`, through the broker, audited like allowedMethods).
//! Each operation below is documented beside the route table in `src/rest.rs`; a test calls
//! every path the document names.

use actix_web::{HttpRequest, HttpResponse, web};
use utoipa::OpenApi;
use utoipa::openapi::security::SecurityScheme;

use super::support::{call, respond};
use crate::broker::Service;
use crate::error::Problem;
use crate::ops::Core;
use crate::ops::certificado::Solicitud as SolicitudCertificado;
use crate::ops::decreto::PedidoDecreto;
use crate::ops::encuestaje::Cola;
use crate::ops::encuestaje::estado::EventoEntrada;
use crate::ops::hogar::evento::EventoEntrada as EventoHogarEntrada;
use crate::ops::identidad::Afirmacion;
use crate::ops::lote::{Lote, RespuestaLote, ResultadoLote};
use crate::ops::lotes::{Informe, Rechazo};
use crate::ops::meta::{OperacionPermitida, OperacionesPermitidas};
use crate::ops::postulacion::{
    CausanteEntrada, EventoEntrada as EventoPostulacion, PedidoEntrada, Postulaciones,
};
use crate::ops::suscripciones::{Eventos, Suscripcion, SuscripcionEntrada, Suscripciones};
use crate::respuestas::*;

/// Mutual TLS: the client certificate names the agreement.
struct MutualTls;

impl utoipa::Modify for MutualTls {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "convenio",
            SecurityScheme::MutualTls {
                description: Some(
                    "A client certificate signed by the node's agency CA; it names the agreement \
                     (convenio) every answer is projected onto"
                        .into(),
                ),
                extensions: None,
                deprecated: None,
            },
        );
    }
}

/// The routes of `src/rest.rs` as the document describes them: functions that only carry
/// utoipa's attributes.
mod rutas {
    #![expect(
        dead_code,
        reason = "documentation of the routes; utoipa reads their attributes"
    )]
    use super::*;

    macro_rules! problems {
        () => {
            "4XX: the request was refused (RFC 9457 problem details with a stable `code`: \
             docs/errores.md); 5XX: the node could not answer (NO_DISPONIBLE)"
        };
    }

    #[utoipa::path(get, path = "/api/v1/ping", tag = "meta",
        responses((status = 200, description = "Admitted, limited and audited; reads nothing", body = Object),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn ping() {}

    #[utoipa::path(get, path = "/api/v1/metaservicios/operaciones", tag = "meta",
        responses((status = 200, description = "What the caller's agreement grants (allowedMethods)", body = OperacionesPermitidas),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn operaciones() {}

    #[utoipa::path(get, path = "/api/v1/metaservicios/openapi", tag = "meta",
        responses((status = 200, description = "This document (getOpenAPI)", body = Object),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn openapi() {}

    #[utoipa::path(get, path = "/api/v1/personas/{run}/ficha", tag = "ConsultarFichaFPS",
        params(("run" = String, Path, description = "RUN: 12.345.678-5, 12345678-5 or 123456785")),
        responses((status = 200, description = "The person's FPS, projected onto the agreement", body = FichaFps),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn ficha() {}

    #[utoipa::path(post, path = "/api/v1/fichas/consultas", tag = "ConsultarFichaFPS",
        request_body = Lote,
        responses((status = 200, description = "One result per RUN, in order; each person counts against the agreement's limits", body = RespuestaLote),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn lote() {}

    #[utoipa::path(post, path = "/api/v1/identidad/validaciones", tag = "ValidarIdentidad",
        request_body = Afirmacion,
        responses((status = 200, description = "Per field, whether the claim matches; never the registry's values", body = ValidacionIdentidad),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn identidad() {}

    #[utoipa::path(get, path = "/api/v1/personas/{run}/elegibilidad/{programa}", tag = "ConsultarElegibilidad",
        params(("run" = String, Path, description = "RUN"), ("programa" = String, Path, description = "A program the agreement grants (PBS, APS, …)")),
        responses((status = 200, description = "The decision, the rule and the data it read", body = Elegibilidad),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn elegibilidad() {}

    #[utoipa::path(get, path = "/api/v1/personas/{run}/accesos", tag = "ConsultarAccesos",
        params(("run" = String, Path, description = "RUN"),
               ("pagina" = Option<u32>, Query, description = "Page from 1"),
               ("porPagina" = Option<u32>, Query, description = "1 to 1000, default 100")),
        responses((status = 200, description = "One page of the person's access report, newest first, with its total", body = Accesos),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn accesos() {}

    #[utoipa::path(post, path = "/api/v1/certificados", tag = "EmitirCertificado",
        request_body = SolicitudCertificado,
        responses((status = 200, description = "The signed certificate (`Accept: application/pdf` for the PDF itself)", body = Emision),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn certificados() {}

    #[utoipa::path(post, path = "/api/v1/encuestajes", tag = "SolicitarEncuestaje",
        request_body = crate::rest::encuestajes::Cuerpo,
        responses((status = 200, description = "The survey request", body = Encuestaje),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn solicitar() {}

    #[utoipa::path(get, path = "/api/v1/encuestajes/{id}", tag = "SolicitarEncuestaje",
        params(("id" = String, Path, description = "The request's id")),
        responses((status = 200, description = "The survey request, as its requester follows it", body = Encuestaje),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn seguir() {}

    #[utoipa::path(post, path = "/api/v1/encuestajes/{id}/eventos", tag = "TrabajarEncuestaje",
        params(("id" = String, Path, description = "The request's id")),
        request_body = EventoEntrada,
        responses((status = 200, description = "The survey request after the event", body = Encuestaje),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn evento() {}

    #[utoipa::path(get, path = "/api/v1/personas/{run}/hogar", tag = "ActualizarHogar",
        params(("run" = String, Path, description = "A member's RUN (12345678-5, 12.345.678-5 or 123456785)")),
        responses((status = 200, description = "The member's household: its members, address, ficha in force and history", body = Hogar),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn hogar() {}

    #[utoipa::path(post, path = "/api/v1/personas/{run}/hogar/eventos", tag = "ActualizarHogar",
        params(("run" = String, Path, description = "A member's RUN: the household the event is recorded on")),
        request_body = EventoHogarEntrada,
        responses((status = 200, description = "The household after the event", body = Hogar),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn evento_hogar() {}

    #[utoipa::path(get, path = "/api/v1/municipios/{cut}/encuestajes", tag = "TrabajarEncuestaje",
        params(("cut" = String, Path, description = "The comuna (CUT, five digits)"),
               ("estado" = Option<String>, Query, description = "Only requests in this state"),
               ("pagina" = Option<u32>, Query, description = "Page from 1"),
               ("porPagina" = Option<u32>, Query, description = "1 to 100, default 20")),
        responses((status = 200, description = "One page of the comuna's queue", body = Cola),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn cola() {}

    #[utoipa::path(get, path = "/api/v1/estadisticas", tag = "EstadisticasTerritoriales",
        params(("nivel" = Option<String>, Query, description = "nacional, region or comuna"),
               ("region" = Option<String>, Query, description = "Region code"),
               ("comuna" = Option<String>, Query, description = "CUT"),
               ("quintil" = Option<String>, Query, description = "Quintiles, comma-separated, or total")),
        responses((status = 200, description = "Counts by territory and quintile, small cells suppressed", body = Estadisticas),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn estadisticas() {}

    #[utoipa::path(post, path = "/api/v1/lotes/{tipo}", tag = "RecepcionLotes",
        params(("tipo" = String, Path, description = "personas, defunciones, nacimientos, fichas, pensiones, suf")),
        request_body(content = String, content_type = "text/csv", description = "The batch file (CSV, or XML with Content-Type application/xml)"),
        responses((status = 200, description = "The batch's report", body = Informe),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn lotes() {}

    #[utoipa::path(post, path = "/api/v1/postulaciones", tag = "PostularBeneficio",
        request_body = PedidoEntrada,
        responses((status = 201, description = "The postulation with its checks", body = Postulacion),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn postular() {}

    #[utoipa::path(get, path = "/api/v1/postulaciones/{id}", tag = "PostularBeneficio",
        params(("id" = String, Path, description = "The postulation's id")),
        responses((status = 200, description = "The postulation, its checks run again now", body = Postulacion),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn postulacion() {}

    #[utoipa::path(post, path = "/api/v1/postulaciones/{id}/eventos", tag = "PostularBeneficio",
        params(("id" = String, Path, description = "The postulation's id")),
        request_body = EventoPostulacion,
        responses((status = 200, description = "The postulation after the event", body = Postulacion),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn evento_postulacion() {}

    #[utoipa::path(get, path = "/api/v1/municipios/{cut}/postulaciones", tag = "PostularBeneficio",
        params(("cut" = String, Path, description = "The comuna (CUT, five digits)"),
               ("programa" = Option<String>, Query, description = "SUF, PASIS or SAP: the list in its priority order (the waiting list)"),
               ("estado" = Option<String>, Query, description = "Only postulations in this state"),
               ("pagina" = Option<u32>, Query, description = "Page from 1"),
               ("porPagina" = Option<u32>, Query, description = "1 to 100, default 20")),
        responses((status = 200, description = "One page of the comuna's postulations", body = Postulaciones),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn postulaciones() {}

    #[utoipa::path(put, path = "/api/v1/cupos/{cut}/{programa}/{anio}", tag = "FijarCupos",
        params(("cut" = String, Path, description = "The comuna (CUT, five digits)"),
               ("programa" = String, Path, description = "SUF, PASIS or SAP"),
               ("anio" = u16, Path, description = "The year, 2000 to 2100")),
        request_body = crate::rest::cupos::Cuerpo,
        responses((status = 200, description = "The cupos set, with those in use", body = Cupos),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn fijar_cupos() {}

    #[utoipa::path(get, path = "/api/v1/cupos/{cut}/{programa}/{anio}", tag = "FijarCupos",
        params(("cut" = String, Path, description = "The comuna (CUT, five digits)"),
               ("programa" = String, Path, description = "SUF, PASIS or SAP"),
               ("anio" = u16, Path, description = "The year, 2000 to 2100")),
        responses((status = 200, description = "The cupos, with those in use (0 when never set)", body = Cupos),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn cupos() {}

    #[utoipa::path(post, path = "/api/v1/municipios/{cut}/decretos", tag = "EmitirDecreto",
        params(("cut" = String, Path, description = "The comuna (CUT, five digits)")),
        request_body = PedidoDecreto,
        responses((status = 200, description = "The decree issued: heading, signed payload, PDF and lines, as granted", body = Decreto),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn emitir_decreto() {}

    #[utoipa::path(get, path = "/api/v1/decretos/{folio}", tag = "ConsultarDecreto",
        params(("folio" = String, Path, description = "DEC-XXXX-XXXX-XXXX")),
        responses((status = 200, description = "The decree, as granted", body = Decreto),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn decreto() {}

    #[utoipa::path(get, path = "/api/v1/decretos", tag = "ConsultarDecreto",
        params(("programa" = String, Query, description = "SUF, PASIS or SAP"),
               ("periodo" = String, Query, description = "The month, YYYY-MM")),
        responses((status = 200, description = "The headings of the month's decrees of the program (no persons)", body = Decretos),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn decretos() {}

    #[utoipa::path(post, path = "/api/v1/suscripciones", tag = "Suscripciones",
        request_body = SuscripcionEntrada,
        responses((status = 201, description = "The subscription made", body = Suscripcion),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn suscribir() {}

    #[utoipa::path(get, path = "/api/v1/suscripciones", tag = "Suscripciones",
        responses((status = 200, description = "The agreement's subscriptions, open and closed", body = Suscripciones),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn suscripciones() {}

    #[utoipa::path(delete, path = "/api/v1/suscripciones/{id}", tag = "Suscripciones",
        params(("id" = String, Path, description = "The subscription's id")),
        responses((status = 200, description = "The subscription, closed; its events not yet delivered are revoked", body = Suscripcion),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn desuscribir() {}

    #[utoipa::path(get, path = "/api/v1/suscripciones/{id}/eventos", tag = "Suscripciones",
        params(("id" = String, Path, description = "The subscription's id (a pull subscription)"),
               ("despues" = Option<i64>, Query, description = "The last sequence number already read (default 0: from the start)"),
               ("limite" = Option<u32>, Query, description = "Most events to answer with, 1 to notificaciones.max_limite (default 10); charged up front")),
        responses((status = 200, description = "The subscription's next events, as granted; `hasta` is the next cursor", body = Eventos),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn eventos() {}
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "SIIS: Sistema Integrado de Información Social",
        description = "The agency REST API of a SIIS node. Every operation is admitted under the \
            caller's agreement (mutual TLS), limited in persons, projected onto the fields the \
            agreement grants and audited. SOAP (D.S. 81) has the same operations: see the WSDLs.",
        license(name = "Apache-2.0")
    ),
    servers((url = "https://localhost:8443", description = "The agency listener (mutual TLS)")),
    security(("convenio" = [])),
    modifiers(&MutualTls),
    paths(rutas::ping, rutas::operaciones, rutas::openapi, rutas::ficha, rutas::lote,
          rutas::identidad, rutas::elegibilidad, rutas::accesos, rutas::certificados,
          rutas::solicitar, rutas::seguir, rutas::evento, rutas::cola, rutas::estadisticas,
          rutas::lotes, rutas::hogar, rutas::evento_hogar, rutas::postular, rutas::postulacion, rutas::evento_postulacion,
          rutas::postulaciones, rutas::fijar_cupos, rutas::cupos,
          rutas::emitir_decreto, rutas::decreto, rutas::decretos, rutas::suscribir,
          rutas::suscripciones, rutas::desuscribir, rutas::eventos),
    components(schemas(Problem, FichaFps, ComunaRef, IntegranteFicha, Lote, RespuestaLote,
        ResultadoLote, Afirmacion, ValidacionIdentidad, Coincidencias, Elegibilidad, DatosUsados,
        Accesos, Acceso, SolicitudCertificado, Emision, Datos, Encuestaje, Cola, EventoEntrada,
        Estadisticas, CeldaPublicada, Informe, Rechazo, OperacionesPermitidas, OperacionPermitida,
        Hogar, IntegranteHogar, EventoHogar, EventoHogarEntrada, Postulacion, CausantePostulacion, ChequeoPostulacion, Postulaciones, PedidoEntrada,
        CausanteEntrada, EventoPostulacion, Cupos, crate::rest::cupos::Cuerpo, Decreto,
        LineaDecreto, Decretos, PedidoDecreto, SuscripcionEntrada, Suscripcion, Suscripciones,
        Eventos, Notificacion))
)]
pub struct ApiDoc;

/// The document as JSON (built once).
pub fn document() -> &'static serde_json::Value {
    static DOC: std::sync::LazyLock<serde_json::Value> = std::sync::LazyLock::new(|| {
        // The modules' parts (`crate::modulos`), one line each.
        let doc = ApiDoc::openapi()
            .merge_from(super::chile_solidario::Doc::openapi())
            .merge_from(super::crece_contigo::Doc::openapi())
            .merge_from(super::emergencias::Doc::openapi());
        serde_json::to_value(doc).expect("the OpenAPI document serializes")
    });
    &DOC
}

/// `GET /api/v1/openapi.json` on the public listener.
pub async fn publico() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// `GET /api/v1/metaservicios/openapi` on the agency listener: getOpenAPI, through the broker.
pub async fn metaservicio(req: HttpRequest, core: web::Data<Core>) -> HttpResponse {
    let mut call = call(&req, Service::GetOpenApi);
    call.service = Service::GetOpenApi;
    let broker = core.into_inner().broker.clone();
    let reply = broker.call_local(call, |_| Ok(document().clone())).await;
    respond(&req, reply)
}

/// `GET /api/v1/docs` on the public listener: the operations, one line each, linking the
/// document. Server-made HTML, no script: it works on a ministry network with no way out.
pub async fn pagina() -> HttpResponse {
    let escape = |t: &str| quick_xml::escape::escape(t).into_owned();
    let mut rows = String::new();
    if let Some(paths) = document()["paths"].as_object() {
        for (path, methods) in paths {
            for (method, op) in methods.as_object().into_iter().flatten() {
                let tag = op["tags"][0].as_str().unwrap_or_default();
                let summary = op["responses"]["200"]["description"]
                    .as_str()
                    .unwrap_or_default();
                rows.push_str(&format!(
                    "<tr><td>{}</td><td><code>{} {}</code></td><td>{}</td></tr>\n",
                    escape(tag),
                    escape(&method.to_uppercase()),
                    escape(path),
                    escape(summary)
                ));
            }
        }
    }
    let html = format!(
        "<!doctype html>\n<html lang=\"es\"><head><meta charset=\"utf-8\"><title>SIIS: API REST</title>\
         <style>body{{font-family:sans-serif;margin:2em}}td{{padding:.3em .8em;border-bottom:1px solid #ddd}}</style></head>\
         <body><h1>SIIS: API REST para organismos con convenio</h1>\
         <p>Cada operación exige un certificado de cliente del convenio (TLS mutuo). \
         Documento completo: <a href=\"/api/v1/openapi.json\">openapi.json</a> (OpenAPI 3.1).</p>\
         <table><tr><th>operación</th><th>ruta</th><th>respuesta</th></tr>\n{rows}</table></body></html>"
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(html)
}

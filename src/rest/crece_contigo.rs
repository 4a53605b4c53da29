//! Chile Crece Contigo (docs/crece_contigo.md): `POST /api/v1/crece-contigo/seguimientos`,
//! `POST /api/v1/crece-contigo/seguimientos/{id}/eventos`,
//! `GET /api/v1/personas/{run}/crece-contigo`, `GET /api/v1/crece-contigo/derivaciones` and
//! `POST /api/v1/crece-contigo/derivaciones/{id}/eventos`.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, json_body, path_run, query_params, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::catalog::modulos::crece_contigo::{AlertaChCC, ControlChCC, DerivacionResumenChCC};
use crate::error::Problem;
use crate::http::read_body;
use crate::modulos::crece_contigo::{
    CONSULTAR, ConsultarSeguimiento, DerivacionChCC, DerivacionesChCC, EventoChCCEntrada,
    EventoPedido, FiltroEntrada, GESTIONAR, IngresarSeguimiento, IngresoChCCEntrada,
    ListarDerivaciones, REGISTRAR, RegistrarEventoSeguimiento, ResponderDerivacion,
    RespuestaDerivacionEntrada, RespuestaPedido, SeguimientoChCC,
};
use crate::ops::{self, Core};
use crate::respuestas::ComunaRef;

const REGISTRAR_OP: Service = Service::Op(Operation::Modulo(REGISTRAR));
const CONSULTAR_OP: Service = Service::Op(Operation::Modulo(CONSULTAR));
const GESTIONAR_OP: Service = Service::Op(Operation::Modulo(GESTIONAR));

/// The module's part of the OpenAPI document (merged into `openapi::document`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        doc::ingresar_seguimiento_chcc,
        doc::evento_seguimiento_chcc,
        doc::consultar_seguimiento_chcc,
        doc::listar_derivaciones_chcc,
        doc::responder_derivacion_chcc
    ),
    components(schemas(
        IngresoChCCEntrada,
        EventoChCCEntrada,
        SeguimientoChCC,
        ControlChCC,
        AlertaChCC,
        DerivacionResumenChCC,
        DerivacionChCC,
        DerivacionesChCC,
        RespuestaDerivacionEntrada,
        ComunaRef,
        Problem
    ))
)]
pub struct Doc;

/// The documented routes (the handlers below serve them).
mod doc {
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

    #[utoipa::path(post, path = "/api/v1/crece-contigo/seguimientos", tag = "RegistrarSeguimientoChCC",
        request_body = IngresoChCCEntrada,
        responses((status = 201, description = "The follow-up, with the alerts its entry raised", body = SeguimientoChCC),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    pub(super) fn ingresar_seguimiento_chcc() {}

    #[utoipa::path(post, path = "/api/v1/crece-contigo/seguimientos/{id}/eventos", tag = "RegistrarSeguimientoChCC",
        params(("id" = String, Path, description = "The follow-up's id (CCC-…)")),
        request_body = EventoChCCEntrada,
        responses((status = 200, description = "The follow-up after the event", body = SeguimientoChCC),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    pub(super) fn evento_seguimiento_chcc() {}

    #[utoipa::path(get, path = "/api/v1/personas/{run}/crece-contigo", tag = "ConsultarSeguimientoChCC",
        params(("run" = String, Path, description = "The RUN of a gestante or a child (12345678-5)")),
        responses((status = 200, description = "The latest follow-up in the agreement's scope naming the person", body = SeguimientoChCC),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    pub(super) fn consultar_seguimiento_chcc() {}

    #[utoipa::path(get, path = "/api/v1/crece-contigo/derivaciones", tag = "GestionarDerivacionChCC",
        params(("sector" = Option<String>, Query, description = "salud, educacion or municipio (a sector the grant lists; all of them when absent)"),
               ("estado" = Option<String>, Query, description = "enviada, recibida, atendida or rechazada"),
               ("comuna" = Option<String>, Query, description = "A comuna (CUT) within the agreement's scope"),
               ("pagina" = Option<u32>, Query, description = "Page from 1"),
               ("porPagina" = Option<u32>, Query, description = "1 to 200, default 50")),
        responses((status = 200, description = "One page of the tray, oldest first", body = DerivacionesChCC),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    pub(super) fn listar_derivaciones_chcc() {}

    #[utoipa::path(post, path = "/api/v1/crece-contigo/derivaciones/{id}/eventos", tag = "GestionarDerivacionChCC",
        params(("id" = String, Path, description = "The referral's id (DER-…)")),
        request_body = RespuestaDerivacionEntrada,
        responses((status = 200, description = "The referral after the answer", body = DerivacionChCC),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    pub(super) fn responder_derivacion_chcc() {}
}

/// The module's routes, inside the agency scope `/api/v1`.
pub(super) fn rutas(cfg: &mut web::ServiceConfig) {
    cfg.route("/crece-contigo/seguimientos", web::post().to(ingresar))
        .route(
            "/crece-contigo/seguimientos/{id}/eventos",
            web::post().to(evento),
        )
        .route("/personas/{run}/crece-contigo", web::get().to(consultar))
        .route("/crece-contigo/derivaciones", web::get().to(derivaciones))
        .route(
            "/crece-contigo/derivaciones/{id}/eventos",
            web::post().to(responder),
        );
}

async fn ingresar(req: HttpRequest, payload: web::Payload, core: web::Data<Core>) -> HttpResponse {
    let mut call = call(&req, REGISTRAR_OP);
    let body = read_body(payload, &mut call).await;
    let ingreso = json_body::<IngresoChCCEntrada>(&req, &body, &mut call)
        .and_then(|entrada| entrada.parse().map_err(|e| call.input_error = Some(e)).ok());
    let reply = ops::run::<IngresarSeguimiento>(core.into_inner(), call, ingreso).await;
    let location = reply
        .result
        .as_ref()
        .ok()
        .and_then(|s| s.id.as_ref())
        .and_then(|id| {
            HeaderValue::from_str(&format!("/api/v1/crece-contigo/seguimientos/{id}")).ok()
        });
    let mut response = respond(&req, reply);
    if let Some(location) = location {
        *response.status_mut() = StatusCode::CREATED;
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

async fn evento(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, REGISTRAR_OP);
    let body = read_body(payload, &mut call).await;
    let pedido = json_body::<EventoChCCEntrada>(&req, &body, &mut call).and_then(|entrada| {
        EventoPedido::parse(id.into_inner(), entrada)
            .map_err(|e| call.input_error = Some(e))
            .ok()
    });
    respond(
        &req,
        ops::run::<RegistrarEventoSeguimiento>(core.into_inner(), call, pedido).await,
    )
}

async fn consultar(
    req: HttpRequest,
    run: web::Path<String>,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, CONSULTAR_OP);
    let run = path_run(&mut call, &run);
    respond(
        &req,
        ops::run::<ConsultarSeguimiento>(core.into_inner(), call, run).await,
    )
}

async fn derivaciones(req: HttpRequest, core: web::Data<Core>) -> HttpResponse {
    let mut call = call(&req, GESTIONAR_OP);
    let filtro = query_params(&req, &["sector", "estado", "comuna", "pagina", "porPagina"])
        .and_then(|q| {
            let get = |k: &str| q.get(k).cloned();
            FiltroEntrada {
                sector: get("sector"),
                estado: get("estado"),
                comuna: get("comuna"),
                pagina: get("pagina"),
                por_pagina: get("porPagina"),
            }
            .parse()
        })
        .map_err(|e| call.input_error = Some(e))
        .ok();
    respond(
        &req,
        ops::run::<ListarDerivaciones>(core.into_inner(), call, filtro).await,
    )
}

async fn responder(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, GESTIONAR_OP);
    let body = read_body(payload, &mut call).await;
    let pedido = json_body::<RespuestaDerivacionEntrada>(&req, &body, &mut call).map(|entrada| {
        RespuestaPedido {
            id: id.into_inner(),
            entrada,
        }
    });
    respond(
        &req,
        ops::run::<ResponderDerivacion>(core.into_inner(), call, pedido).await,
    )
}

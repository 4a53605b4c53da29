//! The emergency registry (docs/emergencias.md): `POST/GET /api/v1/emergencias`,
//! `GET /api/v1/emergencias/{id}`, `POST /api/v1/emergencias/{id}/cierre`
//! (DeclararEmergencia); `POST/GET /api/v1/emergencias/{id}/hogares`,
//! `GET /api/v1/emergencias/{id}/hogares/{registro}`,
//! `POST /api/v1/emergencias/{id}/hogares/{registro}/ayudas` (RegistrarDamnificados);
//! `GET /api/v1/emergencias/{id}/informe` (InformeEmergencia).

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::web::resource;
use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, json_body, query_params, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::http::read_body;
use crate::modulos::emergencias::{
    self as em, AyudaEntrada, CerrarEmergencia, CierreEntrada, ClaveRegistro, ConsultarEmergencia,
    ConsultarRegistro, DeclaracionEntrada, Declarar, HogarEntrada, Informe, ListarEmergencias,
    ListarRegistros, PaginaRegistros, PedidoAyuda, PedidoCierre, PedidoHogar, PedidoInforme,
    RegistrarAyuda, RegistrarHogar,
};
use crate::ops::{self, Core};

const DECLARAR: Service = Service::Op(Operation::Modulo(em::DECLARAR));
const REGISTRAR: Service = Service::Op(Operation::Modulo(em::REGISTRAR));
const INFORME: Service = Service::Op(Operation::Modulo(em::INFORME));

/// The module's routes, inside the agency scope `/api/v1`.
pub(super) fn rutas(cfg: &mut web::ServiceConfig) {
    cfg.service(
        resource("/emergencias")
            .route(web::post().to(declarar))
            .route(web::get().to(listar)),
    )
    .service(resource("/emergencias/{id}").route(web::get().to(consultar)))
    .service(resource("/emergencias/{id}/cierre").route(web::post().to(cerrar)))
    .service(
        resource("/emergencias/{id}/hogares")
            .route(web::post().to(registrar_hogar))
            .route(web::get().to(listar_hogares)),
    )
    .service(resource("/emergencias/{id}/hogares/{registro}").route(web::get().to(hogar)))
    .service(
        resource("/emergencias/{id}/hogares/{registro}/ayudas")
            .route(web::post().to(registrar_ayuda)),
    )
    .service(resource("/emergencias/{id}/informe").route(web::get().to(informe)));
}

/// 201 with `Location` when the write created `path`.
fn creado(mut response: HttpResponse, path: Option<String>) -> HttpResponse {
    if let Some(location) = path.and_then(|p| HeaderValue::from_str(&p).ok()) {
        *response.status_mut() = StatusCode::CREATED;
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

async fn declarar(req: HttpRequest, payload: web::Payload, core: web::Data<Core>) -> HttpResponse {
    let mut call = call(&req, DECLARAR);
    let body = read_body(payload, &mut call).await;
    let entrada = json_body::<DeclaracionEntrada>(&req, &body, &mut call);
    let reply = ops::run::<Declarar>(core.into_inner(), call, entrada).await;
    let path = reply
        .result
        .as_ref()
        .ok()
        .and_then(|e| e.id.as_ref())
        .map(|id| format!("/api/v1/emergencias/{id}"));
    creado(respond(&req, reply), path)
}

async fn listar(req: HttpRequest, core: web::Data<Core>) -> HttpResponse {
    let mut call = call(&req, DECLARAR);
    let estado = query_params(&req, &["estado"])
        .and_then(|q| em::estado(q.get("estado").map(String::as_str)))
        .map_err(|e| call.input_error = Some(e))
        .ok();
    respond(
        &req,
        ops::run::<ListarEmergencias>(core.into_inner(), call, estado).await,
    )
}

async fn consultar(req: HttpRequest, id: web::Path<String>, core: web::Data<Core>) -> HttpResponse {
    let call = call(&req, DECLARAR);
    let reply = ops::run::<ConsultarEmergencia>(core.into_inner(), call, Some(id.into_inner()));
    respond(&req, reply.await)
}

async fn cerrar(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, DECLARAR);
    let body = read_body(payload, &mut call).await;
    // An empty body closes today.
    let entrada = if body.is_empty() && call.input_error.is_none() {
        Some(CierreEntrada::default())
    } else {
        json_body::<CierreEntrada>(&req, &body, &mut call)
    };
    let pedido = entrada.map(|entrada| PedidoCierre {
        id: id.into_inner(),
        entrada,
    });
    respond(
        &req,
        ops::run::<CerrarEmergencia>(core.into_inner(), call, pedido).await,
    )
}

async fn registrar_hogar(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, REGISTRAR);
    let body = read_body(payload, &mut call).await;
    let pedido = json_body::<HogarEntrada>(&req, &body, &mut call).and_then(|entrada| {
        PedidoHogar::parse(id.into_inner(), entrada)
            .map_err(|e| call.input_error = Some(e))
            .ok()
    });
    let reply = ops::run::<RegistrarHogar>(core.into_inner(), call, pedido).await;
    let path = reply.result.as_ref().ok().and_then(|r| {
        Some(format!(
            "/api/v1/emergencias/{}/hogares/{}",
            r.emergencia.as_ref()?,
            r.id.as_ref()?
        ))
    });
    creado(respond(&req, reply), path)
}

async fn listar_hogares(
    req: HttpRequest,
    id: web::Path<String>,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, REGISTRAR);
    let pagina = query_params(&req, &["pagina", "porPagina"])
        .and_then(|q| {
            em::pagina(
                q.get("pagina").map(String::as_str),
                q.get("porPagina").map(String::as_str),
            )
        })
        .map_err(|e| call.input_error = Some(e))
        .ok()
        .map(|pagina| PaginaRegistros {
            emergencia: id.into_inner(),
            pagina,
        });
    respond(
        &req,
        ops::run::<ListarRegistros>(core.into_inner(), call, pagina).await,
    )
}

async fn hogar(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    core: web::Data<Core>,
) -> HttpResponse {
    let (emergencia, registro) = path.into_inner();
    let call = call(&req, REGISTRAR);
    let clave = ClaveRegistro {
        emergencia,
        registro,
    };
    respond(
        &req,
        ops::run::<ConsultarRegistro>(core.into_inner(), call, Some(clave)).await,
    )
}

async fn registrar_ayuda(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let (emergencia, registro) = path.into_inner();
    let mut call = call(&req, REGISTRAR);
    let body = read_body(payload, &mut call).await;
    let pedido = json_body::<AyudaEntrada>(&req, &body, &mut call).map(|entrada| PedidoAyuda {
        emergencia,
        registro,
        entrada,
    });
    respond(
        &req,
        ops::run::<RegistrarAyuda>(core.into_inner(), call, pedido).await,
    )
}

async fn informe(req: HttpRequest, id: web::Path<String>, core: web::Data<Core>) -> HttpResponse {
    let mut call = call(&req, INFORME);
    let pedido = query_params(&req, &["nivel"])
        .and_then(|q| em::nivel(q.get("nivel").map(String::as_str)))
        .map_err(|e| call.input_error = Some(e))
        .ok()
        .map(|nivel| PedidoInforme {
            emergencia: id.into_inner(),
            nivel,
        });
    respond(
        &req,
        ops::run::<Informe>(core.into_inner(), call, pedido).await,
    )
}

/// The module's part of the OpenAPI document (merged into `openapi::document`).
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        doc::declarar_emergencia,
        doc::listar_emergencias,
        doc::consultar_emergencia,
        doc::cerrar_emergencia,
        doc::registrar_hogar_damnificado,
        doc::listar_hogares_damnificados,
        doc::hogar_damnificado,
        doc::registrar_ayuda_damnificado,
        doc::informe_emergencia
    ),
    components(schemas(
        DeclaracionEntrada,
        CierreEntrada,
        HogarEntrada,
        AyudaEntrada,
        em::Emergencia,
        em::Emergencias,
        em::RegistroDamnificado,
        em::Ayuda,
        em::RegistrosDamnificados,
        em::InformeEmergencia,
        em::CeldaEmergencia
    ))
)]
pub struct Doc;

mod doc {
    #![expect(
        dead_code,
        reason = "documentation of the routes; utoipa reads their attributes"
    )]
    use super::*;
    use crate::error::Problem;
    use crate::modulos::emergencias::{
        Emergencia, Emergencias, InformeEmergencia, RegistroDamnificado, RegistrosDamnificados,
    };

    macro_rules! problems {
        () => {
            "4XX: the request was refused (RFC 9457 problem details with a stable `code`: \
             docs/errores.md); 5XX: the node could not answer (NO_DISPONIBLE)"
        };
    }

    #[utoipa::path(post, path = "/api/v1/emergencias", tag = "DeclararEmergencia",
        request_body = DeclaracionEntrada,
        responses((status = 201, description = "The emergency declared", body = Emergencia),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn declarar_emergencia() {}

    #[utoipa::path(get, path = "/api/v1/emergencias", tag = "DeclararEmergencia",
        params(("estado" = Option<String>, Query, description = "activa or cerrada")),
        responses((status = 200, description = "The emergencies, the latest declared first", body = Emergencias),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn listar_emergencias() {}

    #[utoipa::path(get, path = "/api/v1/emergencias/{id}", tag = "DeclararEmergencia",
        params(("id" = String, Path, description = "The emergency's id")),
        responses((status = 200, description = "The emergency", body = Emergencia),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn consultar_emergencia() {}

    #[utoipa::path(post, path = "/api/v1/emergencias/{id}/cierre", tag = "DeclararEmergencia",
        params(("id" = String, Path, description = "The emergency's id")),
        request_body(content = Option<CierreEntrada>, description = "Optional: an empty body closes today"),
        responses((status = 200, description = "The emergency, closed", body = Emergencia),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn cerrar_emergencia() {}

    #[utoipa::path(post, path = "/api/v1/emergencias/{id}/hogares", tag = "RegistrarDamnificados",
        params(("id" = String, Path, description = "The emergency's id")),
        request_body = HogarEntrada,
        responses((status = 201, description = "The household registered", body = RegistroDamnificado),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn registrar_hogar_damnificado() {}

    #[utoipa::path(get, path = "/api/v1/emergencias/{id}/hogares", tag = "RegistrarDamnificados",
        params(("id" = String, Path, description = "The emergency's id"),
               ("pagina" = Option<u32>, Query, description = "Page from 1"),
               ("porPagina" = Option<u32>, Query, description = "1 to 100, default 20")),
        responses((status = 200, description = "One page of the records whose origin or destination lies within the agreement's scope", body = RegistrosDamnificados),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn listar_hogares_damnificados() {}

    #[utoipa::path(get, path = "/api/v1/emergencias/{id}/hogares/{registro}", tag = "RegistrarDamnificados",
        params(("id" = String, Path, description = "The emergency's id"),
               ("registro" = String, Path, description = "The record's id")),
        responses((status = 200, description = "The record with its aid", body = RegistroDamnificado),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn hogar_damnificado() {}

    #[utoipa::path(post, path = "/api/v1/emergencias/{id}/hogares/{registro}/ayudas", tag = "RegistrarDamnificados",
        params(("id" = String, Path, description = "The emergency's id"),
               ("registro" = String, Path, description = "The record's id")),
        request_body = AyudaEntrada,
        responses((status = 200, description = "The record with its aid, the new delivery included", body = RegistroDamnificado),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn registrar_ayuda_damnificado() {}

    #[utoipa::path(get, path = "/api/v1/emergencias/{id}/informe", tag = "InformeEmergencia",
        params(("id" = String, Path, description = "The emergency's id"),
               ("nivel" = Option<String>, Query, description = "comuna (default), provincia or region")),
        responses((status = 200, description = "Households and aid by territory of origin and aid type; cells under 10 reserved", body = InformeEmergencia),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn informe_emergencia() {}
}

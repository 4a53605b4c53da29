//! Chile Solidario (docs/chile_solidario.md): TrabajarParticipacionCHS at
//! `POST /api/v1/chile-solidario/participaciones`, `GET …/participaciones/{id}`,
//! `POST …/participaciones/{id}/eventos` and `GET /api/v1/municipios/{cut}/chile-solidario`;
//! ConsultarParticipacionCHS at `GET /api/v1/personas/{run}/chile-solidario`.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{self, call, json_body, path_run, query_params, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::catalog::modulos::chile_solidario::{
    BonoChs, CONSULTAR, CondicionChs, ParticipacionChs, SesionChs, TRABAJAR,
};
use crate::error::{ApiError, Problem};
use crate::http::read_body;
use crate::modulos::chile_solidario::{
    ConsultarParticipacionCHS, ConsultarParticipacionCHSPorId, EventoEntrada, EventoPedido, Filtro,
    IngresarFamiliaCHS, IngresoEntrada, ListaParticipacionesChs, ListarParticipacionesCHS,
    PaginaLista, ParticipacionesChs, RegistrarEventoCHS,
};
use crate::ops::{self, Core};

const TRABAJA: Service = Service::Op(Operation::Modulo(TRABAJAR));
const CONSULTA: Service = Service::Op(Operation::Modulo(CONSULTAR));

/// The module's routes, inside the agency's `/api/v1` scope.
pub(super) fn rutas(cfg: &mut web::ServiceConfig) {
    let resource =
        |path: &str| web::resource(path).default_service(web::to(support::method_not_allowed));
    cfg.service(resource("/chile-solidario/participaciones").route(web::post().to(ingresar)))
        .service(resource("/chile-solidario/participaciones/{id}").route(web::get().to(leer)))
        .service(
            resource("/chile-solidario/participaciones/{id}/eventos").route(web::post().to(evento)),
        )
        .service(resource("/municipios/{cut}/chile-solidario").route(web::get().to(listar)))
        .service(resource("/personas/{run}/chile-solidario").route(web::get().to(consultar)));
}

async fn ingresar(req: HttpRequest, payload: web::Payload, core: web::Data<Core>) -> HttpResponse {
    let mut call = call(&req, TRABAJA);
    let body = read_body(payload, &mut call).await;
    let ingreso = json_body::<IngresoEntrada>(&req, &body, &mut call).and_then(|entrada| {
        entrada
            .parse(&mut call.subjects)
            .map_err(|e| call.input_error = Some(e))
            .ok()
    });
    let reply = ops::run::<IngresarFamiliaCHS>(core.into_inner(), call, ingreso).await;
    let location = reply
        .result
        .as_ref()
        .ok()
        .and_then(|p| p.id.as_ref())
        .and_then(|id| {
            HeaderValue::from_str(&format!("/api/v1/chile-solidario/participaciones/{id}")).ok()
        });
    let mut response = respond(&req, reply);
    if let Some(location) = location {
        *response.status_mut() = StatusCode::CREATED;
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

async fn leer(req: HttpRequest, id: web::Path<String>, core: web::Data<Core>) -> HttpResponse {
    let call = call(&req, TRABAJA);
    let reply =
        ops::run::<ConsultarParticipacionCHSPorId>(core.into_inner(), call, Some(id.into_inner()))
            .await;
    respond(&req, reply)
}

async fn evento(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, TRABAJA);
    let body = read_body(payload, &mut call).await;
    let pedido = json_body::<EventoEntrada>(&req, &body, &mut call).map(|entrada| EventoPedido {
        id: id.into_inner(),
        entrada,
    });
    respond(
        &req,
        ops::run::<RegistrarEventoCHS>(core.into_inner(), call, pedido).await,
    )
}

/// The list's query string: `programa`, `estado`, `pagina`, `porPagina`; anything else is
/// refused.
fn filtro(req: &HttpRequest) -> Result<Filtro, ApiError> {
    let query = query_params(req, &["programa", "estado", "pagina", "porPagina"])?;
    let get = |k: &str| query.get(k).map(String::as_str);
    Filtro::parse(
        get("programa"),
        get("estado"),
        get("pagina"),
        get("porPagina"),
    )
}

async fn listar(req: HttpRequest, cut: web::Path<String>, core: web::Data<Core>) -> HttpResponse {
    let mut call = call(&req, TRABAJA);
    let pagina = filtro(&req)
        .map_err(|e| call.input_error = Some(e))
        .ok()
        .map(|filtro| PaginaLista {
            comuna: cut.into_inner(),
            filtro,
        });
    respond(
        &req,
        ops::run::<ListarParticipacionesCHS>(core.into_inner(), call, pagina).await,
    )
}

async fn consultar(
    req: HttpRequest,
    run: web::Path<String>,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, CONSULTA);
    let run = path_run(&mut call, &run);
    respond(
        &req,
        ops::run::<ConsultarParticipacionCHS>(core.into_inner(), call, run).await,
    )
}

/// The module's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        doc::chs_ingresar,
        doc::chs_leer,
        doc::chs_evento,
        doc::chs_listar,
        doc::chs_consultar
    ),
    components(schemas(
        IngresoEntrada,
        EventoEntrada,
        ParticipacionChs,
        CondicionChs,
        SesionChs,
        BonoChs,
        ParticipacionesChs,
        ListaParticipacionesChs,
    ))
)]
pub struct Doc;

/// The routes as the document describes them: functions that only carry utoipa's attributes.
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

    #[utoipa::path(post, path = "/api/v1/chile-solidario/participaciones", tag = "TrabajarParticipacionCHS",
        request_body = IngresoEntrada,
        responses((status = 201, description = "The new participation: 53 conditions a_trabajar, the bono de protección scheduled", body = ParticipacionChs),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn chs_ingresar() {}

    #[utoipa::path(get, path = "/api/v1/chile-solidario/participaciones/{id}", tag = "TrabajarParticipacionCHS",
        params(("id" = String, Path, description = "The participation's id (CHS-…)")),
        responses((status = 200, description = "The participation", body = ParticipacionChs),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn chs_leer() {}

    #[utoipa::path(post, path = "/api/v1/chile-solidario/participaciones/{id}/eventos", tag = "TrabajarParticipacionCHS",
        params(("id" = String, Path, description = "The participation's id (CHS-…)")),
        request_body = EventoEntrada,
        responses((status = 200, description = "The participation after the event", body = ParticipacionChs),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn chs_evento() {}

    #[utoipa::path(get, path = "/api/v1/municipios/{cut}/chile-solidario", tag = "TrabajarParticipacionCHS",
        params(("cut" = String, Path, description = "The comuna (CUT, five digits): the agreement's own"),
               ("programa" = Option<String>, Query, description = "puente or vinculos"),
               ("estado" = Option<String>, Query, description = "apoyo, egresada or interrumpida"),
               ("pagina" = Option<u32>, Query, description = "Page from 1"),
               ("porPagina" = Option<u32>, Query, description = "1 to 100, default 20")),
        responses((status = 200, description = "One page of the comuna's participations", body = ListaParticipacionesChs),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn chs_listar() {}

    #[utoipa::path(get, path = "/api/v1/personas/{run}/chile-solidario", tag = "ConsultarParticipacionCHS",
        params(("run" = String, Path, description = "The RUN of any member of the household (12345678-5)")),
        responses((status = 200, description = "The household's participations the agreement may see, newest first", body = ParticipacionesChs),
                  (status = "4XX", description = problems!(), body = Problem, content_type = "application/problem+json"),
                  (status = "5XX", description = problems!(), body = Problem, content_type = "application/problem+json")))]
    fn chs_consultar() {}
}

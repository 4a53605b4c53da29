//! Postulations (PostularBeneficio): `POST /api/v1/postulaciones`,
//! `GET /api/v1/postulaciones/{id}`, `POST /api/v1/postulaciones/{id}/eventos` and
//! `GET /api/v1/municipios/{cut}/postulaciones`.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, json_body, query_params, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::error::ApiError;
use crate::http::read_body;
use crate::ops::postulacion::{
    ConsultarPostulacion, EventoEntrada, EventoPedido, Filtro, ListarPostulaciones, PaginaLista,
    PedidoEntrada, Postular, RegistrarEventoPostulacion,
};
use crate::ops::{self, Core};

const POSTULAR: Service = Service::Op(Operation::PostularBeneficio);

pub async fn postular(
    req: HttpRequest,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, POSTULAR);
    let body = read_body(payload, &mut call).await;
    let pedido = json_body::<PedidoEntrada>(&req, &body, &mut call).and_then(|entrada| {
        entrada
            .parse(&mut call.subjects)
            .map_err(|e| call.input_error = Some(e))
            .ok()
    });
    let reply = ops::run::<Postular>(core.into_inner(), call, pedido).await;
    let location = reply
        .result
        .as_ref()
        .ok()
        .and_then(|p| p.id.as_ref())
        .and_then(|id| HeaderValue::from_str(&format!("/api/v1/postulaciones/{id}")).ok());
    let mut response = respond(&req, reply);
    if let Some(location) = location {
        *response.status_mut() = StatusCode::CREATED;
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

pub async fn consultar(
    req: HttpRequest,
    id: web::Path<String>,
    core: web::Data<Core>,
) -> HttpResponse {
    let call = call(&req, POSTULAR);
    let reply =
        ops::run::<ConsultarPostulacion>(core.into_inner(), call, Some(id.into_inner())).await;
    respond(&req, reply)
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

pub async fn listar(
    req: HttpRequest,
    cut: web::Path<String>,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, POSTULAR);
    let pagina = filtro(&req)
        .map_err(|e| call.input_error = Some(e))
        .ok()
        .map(|filtro| PaginaLista {
            comuna: cut.into_inner(),
            filtro,
        });
    respond(
        &req,
        ops::run::<ListarPostulaciones>(core.into_inner(), call, pagina).await,
    )
}

pub async fn evento(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, POSTULAR);
    let body = read_body(payload, &mut call).await;
    let pedido = json_body::<EventoEntrada>(&req, &body, &mut call).map(|entrada| EventoPedido {
        id: id.into_inner(),
        entrada,
    });
    respond(
        &req,
        ops::run::<RegistrarEventoPostulacion>(core.into_inner(), call, pedido).await,
    )
}

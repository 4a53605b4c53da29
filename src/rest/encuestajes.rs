//! Survey requests: `POST /api/v1/encuestajes` and `GET /api/v1/encuestajes/{id}`
//! (SolicitarEncuestaje), `GET /api/v1/municipios/{cut}/encuestajes` and
//! `POST /api/v1/encuestajes/{id}/eventos` (TrabajarEncuestaje).

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::support::{call, json_body, query_params, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::domain::Run;
use crate::error::ApiError;
use crate::http::read_body;
use crate::ops::encuestaje::estado::EventoEntrada;
use crate::ops::encuestaje::{
    self, ConsultarEncuestaje, EventoPedido, Filtro, ListarEncuestajes, PaginaCola,
    RegistrarEventoEncuestaje, SolicitarEncuestaje, Solicitud,
};
use crate::ops::{self, Core};

const SOLICITAR: Service = Service::Op(Operation::SolicitarEncuestaje);
const TRABAJAR: Service = Service::Op(Operation::TrabajarEncuestaje);

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Cuerpo {
    run: String,
    comuna: Option<String>,
}

pub async fn solicitar(
    req: HttpRequest,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, SOLICITAR);
    let body = read_body(payload, &mut call).await;
    let solicitud = json_body::<Cuerpo>(&req, &body, &mut call).and_then(|cuerpo| {
        let run = match Run::parse(&cuerpo.run) {
            Ok(run) => run,
            Err(e) => {
                call.input_error = Some(ApiError::run_invalido(e));
                return None;
            }
        };
        call.subjects.push(run);
        match cuerpo.comuna.as_deref().map(encuestaje::parse_comuna) {
            Some(Err(e)) => {
                call.input_error = Some(e);
                None
            }
            comuna => Some(Solicitud {
                run,
                comuna: comuna.and_then(Result::ok),
            }),
        }
    });
    let reply = ops::run::<SolicitarEncuestaje>(core.into_inner(), call, solicitud).await;
    let location = reply
        .result
        .as_ref()
        .ok()
        .and_then(|e| e.id.as_ref())
        .and_then(|id| HeaderValue::from_str(&format!("/api/v1/encuestajes/{id}")).ok());
    let mut response = respond(&req, reply);
    if let Some(location) = location {
        *response.status_mut() = StatusCode::CREATED;
        response.headers_mut().insert(LOCATION, location);
    }
    response
}

pub async fn seguir(
    req: HttpRequest,
    id: web::Path<String>,
    core: web::Data<Core>,
) -> HttpResponse {
    let call = call(&req, SOLICITAR);
    let reply =
        ops::run::<ConsultarEncuestaje>(core.into_inner(), call, Some(id.into_inner())).await;
    respond(&req, reply)
}

/// The queue's query string: `estado`, `pagina`, `porPagina`; anything else is refused.
fn filtro(req: &HttpRequest) -> Result<Filtro, ApiError> {
    let query = query_params(req, &["estado", "pagina", "porPagina"])?;
    let get = |k: &str| query.get(k).map(String::as_str);
    Filtro::parse(get("estado"), get("pagina"), get("porPagina"))
}

pub async fn cola(req: HttpRequest, cut: web::Path<String>, core: web::Data<Core>) -> HttpResponse {
    let mut call = call(&req, TRABAJAR);
    let pagina = filtro(&req)
        .map_err(|e| call.input_error = Some(e))
        .ok()
        .map(|filtro| PaginaCola {
            comuna: cut.into_inner(),
            filtro,
        });
    respond(
        &req,
        ops::run::<ListarEncuestajes>(core.into_inner(), call, pagina).await,
    )
}

pub async fn evento(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, TRABAJAR);
    let body = read_body(payload, &mut call).await;
    let pedido = json_body::<EventoEntrada>(&req, &body, &mut call).map(|entrada| EventoPedido {
        id: id.into_inner(),
        entrada,
    });
    respond(
        &req,
        ops::run::<RegistrarEventoEncuestaje>(core.into_inner(), call, pedido).await,
    )
}

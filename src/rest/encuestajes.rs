//! Survey requests: `POST /api/v1/encuestajes` and `GET /api/v1/encuestajes/{id}`
//! (SolicitarEncuestaje), `GET /api/v1/municipios/{cut}/encuestajes` and
//! `POST /api/v1/encuestajes/{id}/eventos` (TrabajarEncuestaje).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::support::{call, json_body, respond};
use crate::broker::{Broker, Service};
use crate::catalog::Operation;
use crate::domain::Run;
use crate::error::ApiError;
use crate::http::read_body;
use crate::ops::encuestaje::estado::EventoEntrada;
use crate::ops::encuestaje::{self, Filtro, Solicitud};

const SOLICITAR: Service = Service::Op(Operation::SolicitarEncuestaje);
const TRABAJAR: Service = Service::Op(Operation::TrabajarEncuestaje);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Cuerpo {
    run: String,
    comuna: Option<String>,
}

pub async fn solicitar(
    req: HttpRequest,
    payload: web::Payload,
    broker: web::Data<Broker>,
) -> HttpResponse {
    let mut call = call(&req, SOLICITAR);
    let body = read_body(payload, &mut call).await;
    let mut solicitud = None;
    if call.input_error.is_none()
        && let Some(cuerpo) = json_body::<Cuerpo>(&req, &body, &mut call)
    {
        match Run::parse(&cuerpo.run) {
            Ok(run) => {
                call.subjects.push(run);
                match cuerpo.comuna.as_deref().map(encuestaje::parse_comuna) {
                    Some(Err(e)) => call.input_error = Some(e),
                    comuna => {
                        solicitud = Some(Solicitud {
                            run,
                            comuna: comuna.and_then(Result::ok),
                        })
                    }
                }
            }
            Err(e) => call.input_error = Some(ApiError::run_invalido(e)),
        }
    }
    let plazo = broker.config.encuestaje.plazo_dias;
    let reply = broker
        .into_inner()
        .call_write(call, move |admission, conn| {
            let solicitud = solicitud.ok_or_else(ApiError::no_encontrado)?;
            encuestaje::solicitar(
                &admission.agreement,
                conn,
                &solicitud,
                plazo,
                admission.today,
            )
        })
        .await;
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
    broker: web::Data<Broker>,
) -> HttpResponse {
    let call = call(&req, SOLICITAR);
    let reply = broker
        .into_inner()
        .call(call, move |admission, conn| {
            encuestaje::seguir(&admission.agreement, conn, &id)
        })
        .await;
    respond(&req, reply)
}

/// The queue's query string: `estado`, `pagina`, `porPagina`; anything else is refused.
fn filtro(req: &HttpRequest) -> Result<Filtro, ApiError> {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map_err(|_| ApiError::solicitud_invalida("malformed query string"))?;
    if let Some(other) = query
        .keys()
        .find(|k| !["estado", "pagina", "porPagina"].contains(&k.as_str()))
    {
        let shown: String = other.chars().take(40).collect();
        return Err(ApiError::solicitud_invalida(format!(
            "unknown query parameter {shown:?}: use estado, pagina, porPagina"
        )));
    }
    let get = |k: &str| query.get(k).map(String::as_str);
    Filtro::parse(get("estado"), get("pagina"), get("porPagina"))
}

pub async fn cola(
    req: HttpRequest,
    cut: web::Path<String>,
    broker: web::Data<Broker>,
) -> HttpResponse {
    let mut call = call(&req, TRABAJAR);
    let filtro = filtro(&req).map_err(|e| call.input_error = Some(e)).ok();
    let reply = broker
        .into_inner()
        .call(call, move |admission, conn| {
            let filtro = filtro.ok_or_else(ApiError::unavailable)?;
            encuestaje::cola(&admission.agreement, conn, &cut, &filtro)
        })
        .await;
    respond(&req, reply)
}

pub async fn evento(
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    broker: web::Data<Broker>,
) -> HttpResponse {
    let mut call = call(&req, TRABAJAR);
    let body = read_body(payload, &mut call).await;
    let entrada = if call.input_error.is_none() {
        json_body::<EventoEntrada>(&req, &body, &mut call)
    } else {
        None
    };
    let reply = broker
        .into_inner()
        .call_write(call, move |admission, conn| {
            let entrada = entrada.ok_or_else(ApiError::unavailable)?;
            encuestaje::registrar(&admission.agreement, conn, &id, &entrada, admission.today)
        })
        .await;
    respond(&req, reply)
}

//! What every REST handler shares: building the broker's [`Call`] from the HTTP request and
//! rendering its [`Reply`].

use actix_web::http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::broker::{Broker, Call, Reply, Service, Transport};
use crate::error::ApiError;

pub const REQUEST_ID: &str = "x-request-id";
pub const XROAD_ID: &str = "x-road-id";
/// X-Road's REST headers besides the id: accepted, echoed and audited.
pub const XROAD_ECHOED: [&str; 2] = ["x-road-client", "x-road-userid"];

/// A call for `service` from this request: client identity from the TLS connection, message
/// id from `X-Request-Id` (or `X-Road-Id`).
pub fn call(req: &HttpRequest, service: Service) -> Call {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .map(|v| v.to_str().map(str::to_owned).unwrap_or_default())
    };
    Call {
        service,
        message_id: header(REQUEST_ID).or_else(|| header(XROAD_ID)),
        xroad: xroad_headers(req),
        ..crate::http::call(req, Transport::Rest)
    }
}

/// The X-Road headers present, as (name, value) for the audit log.
fn xroad_headers(req: &HttpRequest) -> Vec<(String, String)> {
    [("client", XROAD_ECHOED[0]), ("userId", XROAD_ECHOED[1])]
        .iter()
        .filter_map(|(name, header)| {
            let value = String::from_utf8_lossy(req.headers().get(*header)?.as_bytes());
            Some(((*name).to_owned(), value.into_owned()))
        })
        .collect()
}

/// Parses a RUN from the path into the call: a subject if valid, an input error if not.
pub use crate::http::run_into as path_run;

/// A request refused before it reached an operation (unknown path, wrong method), audited.
pub async fn refuse(req: HttpRequest, broker: web::Data<Broker>, error: ApiError) -> HttpResponse {
    let mut call = call(&req, Service::Desconocido);
    call.input_error = Some(error);
    let reply = broker
        .into_inner()
        .call_local(call, |_| Ok::<(), ApiError>(()))
        .await;
    respond(&req, reply)
}

pub async fn method_not_allowed(req: HttpRequest, broker: web::Data<Broker>) -> HttpResponse {
    refuse(req, broker, ApiError::metodo_no_permitido()).await
}

/// Decodes a JSON body; a wrong content type or malformed JSON becomes the call's input error.
pub fn json_body<T: DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
    call: &mut Call,
) -> Option<T> {
    // The body was not read (too large, broken): the call already says why.
    if call.input_error.is_some() {
        return None;
    }
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        call.input_error = Some(ApiError::tipo_no_soportado());
        return None;
    }
    match serde_json::from_slice(body) {
        Ok(value) => Some(value),
        Err(e) => {
            // serde_json's message names the position and what was expected, never the value.
            call.input_error = Some(ApiError::solicitud_invalida(format!(
                "malformed JSON body: {e}"
            )));
            None
        }
    }
}

/// Renders a reply: JSON on success, problem details otherwise; the message id always goes
/// back in `X-Request-Id` (and `X-Road-Id` when the caller used it).
pub fn respond<T: Serialize>(req: &HttpRequest, reply: Reply<T>) -> HttpResponse {
    let mut response = match &reply.result {
        Ok(value) => HttpResponse::Ok().json(value),
        Err(error) => error.error_response(),
    };
    if let Ok(id) = HeaderValue::from_str(&reply.message_id) {
        if req.headers().contains_key(XROAD_ID) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(XROAD_ID), id.clone());
        }
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), id);
    }
    for name in XROAD_ECHOED {
        if let Some(value) = req.headers().get(name) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value.clone());
        }
    }
    response
}

/// The query string's parameters, each one of `allowed`; any other is refused (a typo is not
/// silently ignored), and so is a malformed query string.
pub fn query_params(
    req: &HttpRequest,
    allowed: &[&str],
) -> Result<std::collections::HashMap<String, String>, ApiError> {
    let query =
        web::Query::<std::collections::HashMap<String, String>>::from_query(req.query_string())
            .map_err(|_| ApiError::solicitud_invalida("malformed query string"))?;
    if let Some(other) = query.keys().find(|k| !allowed.contains(&k.as_str())) {
        let shown: String = other.chars().take(40).collect();
        return Err(ApiError::solicitud_invalida(format!(
            "unknown query parameter {shown:?}: use {}",
            allowed.join(", ")
        )));
    }
    Ok(query.into_inner())
}

//! The error every transport renders: a stable machine code, an HTTP status and a message for
//! the caller. The internal cause is logged where the error is made, never sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct ApiError {
    pub code: &'static str,
    pub status: u16,
    pub title: &'static str,
    pub detail: String,
}

impl ApiError {
    /// The registry cannot be reached (pool exhausted, connection lost): 503.
    pub fn unavailable() -> ApiError {
        ApiError {
            code: "NO_DISPONIBLE",
            status: 503,
            title: "Servicio no disponible",
            detail: "the registry cannot be reached right now; retry later".into(),
        }
    }

    pub fn not_found_route() -> ApiError {
        ApiError {
            code: "RUTA_DESCONOCIDA",
            status: 404,
            title: "Ruta desconocida",
            detail: "no operation is published at this path".into(),
        }
    }
}

/// RFC 9457 problem details, with the stable `code` as an extension member.
#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        HttpResponse::build(self.status_code())
            .content_type("application/problem+json")
            .json(Problem {
                kind: format!("urn:siis:problema:{}", self.code),
                title: self.title,
                status: self.status,
                detail: &self.detail,
                code: self.code,
            })
    }
}

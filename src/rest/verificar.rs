//! `GET /verificar/{folio}?codigo=XXXXX-XXXXX` on the public listener (VerificarCertificado):
//! no client certificate, HTML for a person and JSON for a machine (`Accept:
//! application/json`). Decodes and renders only: the broker limits it per address and audits
//! every verification of a folio the node issued, with the person as its subject
//! (`ops::certificado::verificar`).

use actix_web::http::header::ACCEPT;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use crate::broker::{Call, Transport};
use crate::error::ApiError;
use crate::ops::Core;
use crate::ops::certificado::{self, Verificar};
use crate::ops::certificados::verificar::{Documento, Verificacion};
use crate::projection::Project;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Query {
    codigo: Option<String>,
}

fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|t| {
                let t = t.split(';').next().unwrap_or("").trim();
                t == "application/json" || t == "application/problem+json"
            })
        })
}

/// An error, as a problem for machines and as a page for people.
fn refuse(req: &HttpRequest, error: ApiError) -> HttpResponse {
    if wants_json(req) {
        return error.error_response();
    }
    let mut response = error.error_response();
    let page = super::verificar_html::error_page(&error);
    let mut builder = HttpResponse::build(response.status());
    if let Some(retry) = response
        .headers_mut()
        .remove(actix_web::http::header::RETRY_AFTER)
        .next()
    {
        builder.insert_header((actix_web::http::header::RETRY_AFTER, retry));
    }
    builder.content_type("text/html; charset=utf-8").body(page)
}

pub async fn verificar(
    req: HttpRequest,
    path: web::Path<String>,
    core: web::Data<Core>,
) -> HttpResponse {
    // No caller-chosen message id or X-Road headers: an anonymous caller writes nothing of its
    // own into an audit record.
    let mut call = crate::http::call(&req, Transport::Rest);
    let request = decode(&req, &path, &mut call);
    // Without a code, a person gets the form to type it in: static, it discloses nothing.
    if request.is_none() && call.input_error.is_none() {
        let folio = Documento::parse(&path)
            .map(|f| f.as_str().to_owned())
            .unwrap_or_default();
        return HttpResponse::Ok()
            .content_type("text/html; charset=utf-8")
            .body(super::verificar_html::form_page(&folio));
    }
    let reply = certificado::verificar(core.into_inner(), call, request).await;
    match reply.result {
        Ok(v) => render(&req, v.http_status(), &v),
        Err(e) => refuse(&req, e),
    }
}

/// The folio from the path and the code from the query string. A malformed one is the call's
/// input error; no code at all, for a person, is `None` without an error (the form).
fn decode(req: &HttpRequest, path: &str, call: &mut Call) -> Option<Verificar> {
    let mut refuse = |detail: &str| {
        call.input_error = Some(ApiError::solicitud_invalida(detail));
        None
    };
    // Read by hand, so a malformed query string is a problem with a stable code too.
    let Ok(query) = web::Query::<Query>::from_query(req.query_string()) else {
        return refuse("the query string holds only codigo=XXXXX-XXXXX");
    };
    let Some(folio) = Documento::parse(path) else {
        return refuse(
            "a folio looks like CFP-XXXX-XXXX-XXXX, CON-XXXX-XXXX-XXXX or DEC-XXXX-XXXX-XXXX",
        );
    };
    match query.codigo.as_deref().map(str::trim) {
        Some(c) if crate::ops::certificados::firma::normalize_code(c).is_some() => {
            Some(Verificar {
                folio,
                codigo: c.to_owned(),
            })
        }
        Some(_) => refuse("a verification code is 10 letters and digits (XXXXX-XXXXX)"),
        None if wants_json(req) => refuse("the codigo query parameter is required"),
        None => None,
    }
}

fn render(req: &HttpRequest, status: u16, v: &Verificacion) -> HttpResponse {
    let mut builder = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    );
    if wants_json(req) {
        builder.json(v)
    } else {
        builder
            .content_type("text/html; charset=utf-8")
            .body(super::verificar_html::result_page(v))
    }
}

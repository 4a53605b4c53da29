//! `GET /verificar/{folio}?codigo=XXXXX-XXXXX` on the public listener (VerificarCertificado):
//! no client certificate, rate limited per IP address, HTML for a person and JSON for a
//! machine (`Accept: application/json`). Every verification of a folio the node issued is
//! audited, with the person as its subject.

use actix_web::http::header::ACCEPT;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::Utc;

use crate::audit::AuditRecord;
use crate::broker::Broker;
use crate::certificados::verificar::{self, Online, Verificacion};
use crate::certificados::{Folio, Servicio};
use crate::error::ApiError;

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
    broker: web::Data<Broker>,
    servicio: web::Data<Servicio>,
) -> HttpResponse {
    let Some(ip) = req.peer_addr().map(|a| a.ip()) else {
        return refuse(&req, ApiError::unavailable());
    };
    if let Err(retry_after) = servicio.admit(ip) {
        let error = ApiError {
            detail: "too many verifications from this address; retry later".into(),
            ..ApiError::limite_excedido(retry_after)
        };
        return refuse(&req, error);
    }
    let started = std::time::Instant::now();
    // Read by hand, so a malformed query string is a problem with a stable code too.
    let Ok(query) = web::Query::<Query>::from_query(req.query_string()) else {
        return refuse(
            &req,
            ApiError::solicitud_invalida("the query string holds only codigo=XXXXX-XXXXX"),
        );
    };
    let Some(folio) = Folio::parse(&path) else {
        return refuse(
            &req,
            ApiError::solicitud_invalida(
                "a folio looks like CFP-XXXX-XXXX-XXXX or CON-XXXX-XXXX-XXXX",
            ),
        );
    };
    let codigo = match query.codigo.as_deref().map(str::trim) {
        Some(c) if crate::certificados::firma::normalize_code(c).is_some() => c.to_owned(),
        Some(_) => {
            return refuse(
                &req,
                ApiError::solicitud_invalida(
                    "a verification code is 10 letters and digits (XXXXX-XXXXX)",
                ),
            );
        }
        None if wants_json(&req) => {
            return refuse(
                &req,
                ApiError::solicitud_invalida("the codigo query parameter is required"),
            );
        }
        None => {
            return HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .body(super::verificar_html::form_page(folio.as_str()));
        }
    };
    let Some(keys) = servicio.keys.clone() else {
        tracing::error!("verification asked of a node without the document public key");
        return refuse(&req, ApiError::unavailable());
    };
    let pool = broker.pool.clone();
    let checked = web::block(move || {
        let mut conn = pool.get().map_err(|e| {
            tracing::error!(error = %e, "no registry connection");
            ApiError::unavailable()
        })?;
        verificar::online(&mut conn, keys.public(), &folio, &codigo).map_err(ApiError::from)
    })
    .await
    .unwrap_or_else(|_| Err(ApiError::unavailable()));
    let online = match checked {
        Ok(online) => online,
        Err(e) => return refuse(&req, e),
    };
    let status = match online.verificacion.motivo {
        "VALIDO" => 200,
        "FOLIO_DESCONOCIDO" => 404,
        _ => 422,
    };
    let latency_us = started.elapsed().as_micros() as u64;
    if let Err(e) = audit(&broker, &online, status, latency_us).await {
        return refuse(&req, e);
    }
    render(&req, status, &online.verificacion)
}

/// A verification of an issued folio is audited before it is answered.
async fn audit(
    broker: &Broker,
    online: &Online,
    status: u16,
    latency_us: u64,
) -> Result<(), ApiError> {
    let Some(run) = online.subject else {
        return Ok(());
    };
    let v = &online.verificacion;
    let record = AuditRecord {
        omitidos: None,
        personas: None,
        ts: Utc::now(),
        agreement: None,
        certificate: None,
        operation: "VerificarCertificado".into(),
        transport: "rest",
        message_id: uuid::Uuid::new_v4().to_string(),
        subjects: vec![run],
        undisclosed: Vec::new(),
        purpose: Some("Verificación pública de un certificado".into()),
        fields: v
            .certificado
            .as_ref()
            .map(|c| c.fields())
            .unwrap_or_default(),
        outcome: if v.valido {
            "OK".into()
        } else {
            v.motivo.into()
        },
        http_status: status,
        latency_us,
        xroad: None,
    };
    broker.audit.append(record).await.map(|_| ()).map_err(|e| {
        tracing::error!(error = %e, "audit record not written: verification withheld");
        ApiError::unavailable()
    })
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

//! `POST /api/v1/lotes/{tipo}` (RecepcionLotes): a provider sends a batch file as the body
//! (`text/csv` or `application/xml`), optionally naming it with `X-Lote-Id`. Once the broker
//! has admitted the request, the body is spooled to a temporary file (up to
//! `broker.lotes_max_bytes`), then applied.

use std::io::Write;

use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use super::support::{call, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::catalog::TipoLote;
use crate::error::ApiError;
use crate::ops::Core;
use crate::ops::lotes::Formato;
use crate::ops::recepcion::{self, Pedido};

const OP: Service = Service::Op(Operation::RecepcionLotes);
pub const LOTE_ID: &str = "x-lote-id";
pub const REPETIDO: &str = "x-lote-repetido";

pub async fn recibir(
    req: HttpRequest,
    tipo: web::Path<String>,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, OP);
    let tipo = TipoLote::from_request(&tipo)
        .map_err(|e| call.input_error = Some(e))
        .ok();
    let formato = formato(&req);
    if formato.is_none() && call.input_error.is_none() {
        call.input_error = Some(ApiError::new(
            crate::error::ErrorCode::TipoNoSoportado,
            "send a batch as text/csv or application/xml",
        ));
    }
    let max = core.broker.config.broker.lotes_max_bytes;
    if declared_length(&req).is_some_and(|n| n > max) && call.input_error.is_none() {
        call.input_error = Some(ApiError::demasiado_grande(max as usize));
    }
    let clave = req
        .headers()
        .get(LOTE_ID)
        .map(|v| v.to_str().map(str::to_owned).unwrap_or_default());
    let pedido = tipo.zip(formato).map(|(tipo, formato)| Pedido {
        tipo,
        formato,
        clave,
        transporte: "rest",
    });
    // The body is spooled only once the broker has admitted the batch (`ops::recepcion`).
    let reply = recepcion::recibir(core.into_inner(), call, pedido, spool(payload, max)).await;
    let repetido = matches!(&reply.result, Ok(informe) if informe.repetido);
    let mut response = respond(&req, reply);
    if repetido {
        response.headers_mut().insert(
            HeaderName::from_static(REPETIDO),
            HeaderValue::from_static("true"),
        );
    }
    response
}

/// The body's length as the client declared it (`Content-Length`), if it did.
fn declared_length(req: &HttpRequest) -> Option<u64> {
    req.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

fn formato(req: &HttpRequest) -> Option<Formato> {
    let value = req.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    let mime = value.split(';').next()?.trim().to_ascii_lowercase();
    match mime.as_str() {
        "text/csv" => Some(Formato::Csv),
        "application/xml" | "text/xml" => Some(Formato::Xml),
        _ => None,
    }
}

/// Writes the body to a temporary file (created 0600, removed when dropped); a body over `max`
/// bytes is refused without being read further.
async fn spool(mut payload: web::Payload, max: u64) -> Result<tempfile::NamedTempFile, ApiError> {
    let Ok(file) = tempfile::NamedTempFile::new() else {
        tracing::error!("cannot create a temporary file for a batch");
        return Err(ApiError::unavailable());
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, file);
    let mut size = 0u64;
    while let Some(chunk) = payload.next().await {
        let Ok(bytes) = chunk else {
            return Err(ApiError::solicitud_invalida("the body could not be read"));
        };
        size += bytes.len() as u64;
        if size > max {
            return Err(ApiError::demasiado_grande(max as usize));
        }
        if out.write_all(&bytes).is_err() {
            tracing::error!("cannot write a batch to its temporary file");
            return Err(ApiError::unavailable());
        }
    }
    out.into_inner().map_err(|_| {
        tracing::error!("cannot write a batch to its temporary file");
        ApiError::unavailable()
    })
}

//! What the HTTP transports (REST and SOAP) share below their own formats: reading a request
//! body within the agency listener's bound.

use actix_web::web;

use crate::broker::Call;
use crate::error::ApiError;

/// Largest request body read on the agency listener (a 500-RUN batch is about 10 KiB).
pub const MAX_BODY: usize = 1 << 20;

/// Reads the body up to [`MAX_BODY`]; a larger one becomes the call's input error (413) and is
/// not read further.
pub async fn read_body(mut payload: web::Payload, call: &mut Call) -> Vec<u8> {
    use futures_util::StreamExt;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(bytes) if body.len() + bytes.len() <= MAX_BODY => body.extend_from_slice(&bytes),
            Ok(_) => {
                call.input_error = Some(ApiError::demasiado_grande(MAX_BODY));
                return Vec::new();
            }
            Err(_) => {
                call.input_error = Some(ApiError::solicitud_invalida("the body could not be read"));
                return Vec::new();
            }
        }
    }
    body
}

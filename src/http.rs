//! What the HTTP transports (REST and SOAP) share below their own formats: the broker's call
//! for a request, and reading a request body within the agency listener's bound.

use std::sync::Arc;

use actix_web::{HttpRequest, web};

use crate::broker::{Call, Service, Transport};
use crate::domain::Run;
use crate::error::ApiError;
use crate::tls::ClientIdentity;

/// The broker's call for this request, before its transport reads what it asks: who sent it
/// (the TLS connection's client identity, the peer's address) and how.
pub fn call(req: &HttpRequest, transport: Transport) -> Call {
    Call {
        identity: req.conn_data::<Arc<ClientIdentity>>().cloned(),
        transport,
        service: Service::Desconocido,
        message_id: None,
        subjects: Vec::new(),
        input_error: None,
        xroad: Vec::new(),
        peer: req.peer_addr().map(|a| a.ip()),
        usuario: None,
        remitente: None,
        cobro_minimo: 0,
        entrega_a: None,
    }
}

/// Parses a RUN the request gave into the call: its subject if valid, its input error (refused
/// and audited by the broker) if not.
pub fn run_into(call: &mut Call, text: &str) -> Option<Run> {
    match Run::parse(text) {
        Ok(run) => {
            call.subjects.push(run);
            Some(run)
        }
        Err(e) => {
            call.input_error = Some(ApiError::run_invalido(e));
            None
        }
    }
}

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

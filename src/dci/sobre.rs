//! The DCI envelope (`signature`, `header`, `message`): decoding a request's into the broker's
//! call, and encoding answers and refusals.

use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse};
use chrono::SecondsFormat;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::broker::Call;
use crate::domain::ConvenioId;
use crate::error::ApiError;

/// The protocol version the node speaks (`header.version`).
pub const VERSION: &str = "1.0.0";
/// `data.reg_type` of every answer.
pub const REG_TYPE: &str = "ns:org:RegistryType:Social";

/// A request envelope. `signature` is accepted and not verified (`docs/dci.md`: the spec
/// gives no canonical form; mutual TLS gives origin and integrity).
#[derive(Deserialize)]
struct Envoltorio {
    header: Encabezado,
    message: Value,
}

/// `MsgHeader_V1.0.0`: what the node reads of it.
#[derive(Deserialize)]
pub struct Encabezado {
    #[serde(default)]
    version: Option<String>,
    pub message_id: String,
    #[serde(rename = "message_ts")]
    _message_ts: String,
    action: String,
    sender_id: String,
    #[serde(default)]
    receiver_id: Option<String>,
    /// Where the sender takes callbacks (async calls).
    #[serde(default)]
    sender_uri: Option<String>,
    pub total_count: u64,
    #[serde(default)]
    is_msg_encrypted: bool,
}

/// A request's message and what else of its header an operation needs.
pub struct Leido<M> {
    pub message: M,
    /// `header.sender_uri`, if given.
    pub sender_uri: Option<String>,
}

/// Decodes a request envelope whose header says `action`, into the call (its message id, the
/// agreement it claims to come from) and its message; `None` with the call's input error set
/// when it cannot be read (the broker refuses and audits it). `count` is how many requests the
/// message holds, which `header.total_count` must say.
pub fn leer<M: DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
    call: &mut Call,
    action: &str,
    receiver_id: &str,
    count: impl Fn(&M) -> usize,
) -> Option<Leido<M>> {
    let sobre: Envoltorio = crate::rest::support::json_body(req, body, call)?;
    let header = sobre.header;
    call.message_id = Some(header.message_id.clone());
    call.remitente = Some(header.sender_id.clone());
    let error = if header.is_msg_encrypted {
        Some(ApiError::cifrado_no_soportado())
    } else if header.version.as_deref().is_some_and(|v| v != VERSION) {
        Some(ApiError::solicitud_invalida(format!(
            "header.version: only {VERSION} is supported"
        )))
    } else if header.action != action {
        Some(ApiError::solicitud_invalida(format!(
            "header.action must be {action:?} on this path"
        )))
    } else if header
        .receiver_id
        .as_deref()
        .is_some_and(|r| r != receiver_id)
    {
        Some(ApiError::destinatario_invalido())
    } else {
        None
    };
    if let Some(error) = error {
        call.input_error = Some(error);
        return None;
    }
    let message: M = match serde_json::from_value(sobre.message) {
        Ok(m) => m,
        Err(e) => {
            call.input_error = Some(ApiError::solicitud_invalida(format!("message: {e}")));
            return None;
        }
    };
    if count(&message) as u64 != header.total_count {
        call.input_error = Some(ApiError::solicitud_invalida(
            "header.total_count is not the number of requests in the message",
        ));
        return None;
    }
    Some(Leido {
        message,
        sender_uri: header.sender_uri,
    })
}

/// Now, as DCI writes times (ISO 8601 with zone).
pub fn ahora() -> String {
    chrono::Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A time kept in microseconds, as DCI writes times.
pub fn fecha_us(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `MsgCallbackHeader_V1.0.0` of an answer from the node (`sender_id`, `dci.receiver_id`) to
/// the agreement, if known.
pub struct Cabecera<'a> {
    pub action: &'static str,
    pub sender_id: &'a str,
    pub receiver_id: Option<&'a ConvenioId>,
    pub total_count: usize,
}

impl Cabecera<'_> {
    /// The header of an answer: `succ`, every request completed.
    pub fn succ(&self) -> Value {
        let mut h = self.base("succ");
        h["completed_count"] = json!(self.total_count);
        h
    }

    /// The header of a refused message: `rjct`, with its reason code if DCI has one.
    pub fn rjct(&self, code: Option<&str>, message: &str) -> Value {
        let mut h = self.base("rjct");
        if let Some(code) = code {
            h["status_reason_code"] = json!(code);
        }
        h["status_reason_message"] = json!(message.chars().take(999).collect::<String>());
        h["completed_count"] = json!(0);
        h
    }

    fn base(&self, status: &str) -> Value {
        let mut h = json!({
            "version": VERSION,
            "message_id": uuid::Uuid::new_v4().to_string(),
            "message_ts": ahora(),
            "action": self.action,
            "status": status,
            "total_count": self.total_count,
            "sender_id": self.sender_id,
            "is_msg_encrypted": false,
        });
        if let Some(id) = self.receiver_id {
            h["receiver_id"] = json!(id.as_str());
        }
        h
    }
}

/// An answer envelope, HTTP 200. Unsigned (`docs/dci.md`).
pub fn responder(header: Value, message: Option<Value>) -> HttpResponse {
    let mut body = json!({ "header": header });
    if let Some(message) = message {
        body["message"] = message;
    }
    HttpResponse::Ok().json(body)
}

/// The acknowledgement of an async request (`components/responses/Response`): `ACK`, its
/// result to be asked with `txn/status` (`correlation_id` = the request's `message_id`).
pub fn ack(correlation_id: &str) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "message": { "ack_status": "ACK", "timestamp": ahora(), "correlation_id": correlation_id }
    }))
}

/// An async request refused whole with a reason DCI gives only in a header (a replay, a
/// message too large): `ERR`, `err.request.bad`, the message naming DCI's reason code and the
/// node's.
pub fn ack_err(correlation_id: &str, code: Option<&str>, error: &ApiError) -> HttpResponse {
    let message = match code {
        Some(code) => format!("{code}: {}: {}", error.code, error.detail),
        None => format!("{}: {}", error.code, error.detail),
    };
    HttpResponse::Ok().json(json!({
        "message": {
            "ack_status": "ERR",
            "timestamp": ahora(),
            "correlation_id": correlation_id,
            "error": { "code": "err.request.bad", "message": message.chars().take(999).collect::<String>() },
        }
    }))
}

/// An `HttpErrorResponse` with DCI's `code`, sent with the node code's own status (and its
/// `Retry-After`).
pub fn error_http(error: &ApiError, code: &str) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(error.status())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status).json(json!({
        "errors": [{ "code": code, "message": format!("{}: {}", error.code, error.detail) }]
    }));
    if let Some(secs) = error.retry_after
        && let Ok(value) = HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
    response
}

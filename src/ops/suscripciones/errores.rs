//! The errors of subscriptions. Their codes are declared with every other code in `error.rs`.
//! None names a person: a RUN of a list is named by its index in the request.

use crate::error::{ApiError, ErrorCode};

/// No subscription with that id for this agreement: also the answer for another agreement's
/// subscription, so that its existence is not disclosed.
pub fn no_encontrada() -> ApiError {
    ApiError::new(
        ErrorCode::NoEncontrado,
        "no subscription with that id for this agreement",
    )
}

/// A request whose shape a subscription does not take; `campo` names the field.
pub fn invalida(campo: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::SuscripcionInvalida, detail.into()).en_campo(campo)
}

pub fn evento_no_concedido(tipo: &str) -> ApiError {
    ApiError::new(
        ErrorCode::EventoNoConcedido,
        format!("the agreement does not grant events of kind {tipo}"),
    )
}

pub fn entrega_no_concedida(entrega: &str) -> ApiError {
    ApiError::new(
        ErrorCode::EntregaNoConcedida,
        format!("the agreement does not grant {entrega} subscriptions"),
    )
}

pub fn callback_no_permitido() -> ApiError {
    ApiError::new(
        ErrorCode::CallbackNoPermitido,
        "url is not one of the agreement's callbacks",
    )
    .en_campo("url")
}

pub fn lista_excedida(max: u32) -> ApiError {
    ApiError::new(
        ErrorCode::ListaExcedida,
        format!("runs: the agreement allows lists of at most {max} RUNs"),
    )
    .en_campo("runs")
}

pub fn cerrada() -> ApiError {
    ApiError::new(ErrorCode::SuscripcionCerrada, "the subscription is closed")
}

pub fn cursor_invalido(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::CursorInvalido, detail.into())
}

/// The events after the cursor were purged (retention): `desde` is the oldest cursor the
/// subscription may still be read after. It depends on the agency's own subscription only.
pub fn cursor_vencido(desde: i64) -> ApiError {
    ApiError::new(
        ErrorCode::CursorVencido,
        format!(
            "the events after this cursor are no longer kept (retention): read with despues={desde} or later"
        ),
    )
    .en_campo("despues")
}

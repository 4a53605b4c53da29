//! Chile Solidario's errors. Their codes are declared with every other code in `error.rs`
//! (section "Chile Solidario"). None names a person.

use crate::error::{ApiError, ErrorCode};

/// No participation with that id in the agreement's comuna: also the answer for another
/// comuna's participation, so that its existence is not disclosed.
pub fn no_encontrada() -> ApiError {
    ApiError::new(
        ErrorCode::NoEncontrado,
        "no Chile Solidario participation with that id in this agreement's comuna",
    )
}

/// No participation the agreement may see for a RUN: unknown person, no household, none
/// recorded, another program, or outside its scope (`fuera`, audited as `FUERA_DE_AMBITO`);
/// the caller is told the same for all.
pub fn sin_participacion(fuera: bool) -> ApiError {
    ApiError {
        audit_code: fuera.then_some(ErrorCode::FueraDeAmbito),
        ..ApiError::new(
            ErrorCode::NoEncontrado,
            "no Chile Solidario participation for that RUN",
        )
    }
}

/// An ingreso whose data the module does not take (the detail and `campo` name the field).
pub fn invalida(campo: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::ParticipacionInvalida, detail.into()).en_campo(campo)
}

/// The household already has an open participation (of either program).
pub fn en_curso() -> ApiError {
    ApiError::new(
        ErrorCode::ParticipacionEnCurso,
        "this household already has an open Chile Solidario participation",
    )
}

/// A comuna outside the agreement's (a comuna code is no personal data: said plainly).
pub fn fuera_de_ambito() -> ApiError {
    ApiError::new(
        ErrorCode::FueraDeAmbito,
        "the agreement only covers participations of its own comuna",
    )
}

pub fn evento_invalido(campo: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::EventoInvalido, detail.into()).en_campo(campo)
}

pub fn transicion_no_permitida(evento: &str, estado: &str) -> ApiError {
    ApiError::new(
        ErrorCode::TransicionNoPermitida,
        format!("a participation in state {estado} does not accept the event {evento}"),
    )
}

/// A pago_bono with no bono left `programado`.
pub fn sin_bono_programado() -> ApiError {
    ApiError::new(
        ErrorCode::TransicionNoPermitida,
        "the participation has no bono left to pay",
    )
}

/// The participation changed while the event was applied (it was never applied).
pub fn en_conflicto() -> ApiError {
    ApiError::new(
        ErrorCode::TransicionNoPermitida,
        "the participation changed while the event was applied; read it and try again",
    )
}

pub fn estado_desconocido(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::EstadoDesconocido, detail.into())
}

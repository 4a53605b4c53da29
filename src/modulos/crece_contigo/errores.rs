//! The module's errors. Their codes are declared with every other code in `error.rs`. None
//! names a person: a field is named by its path in the request.

use crate::error::{ApiError, ErrorCode};

/// A value of an entry or event that is missing, unknown or out of range (`campo` names it).
pub fn invalido(campo: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::SeguimientoInvalido, detail.into()).en_campo(campo)
}

/// The gestante already has a follow-up in gestation. Said only when that follow-up is within
/// the agreement's scope: one elsewhere is that territory's, and saying so would disclose it.
pub fn en_curso() -> ApiError {
    ApiError::new(
        ErrorCode::SeguimientoEnCurso,
        "this gestante already has a follow-up in gestation",
    )
}

/// No follow-up with that id within the agreement's scope: also the answer for another
/// territory's, so that its existence is not disclosed.
pub fn seguimiento_no_encontrado() -> ApiError {
    ApiError::new(
        ErrorCode::NoEncontrado,
        "no follow-up with that id within this agreement's scope",
    )
}

/// No referral with that id for the agreement's sectors and scope.
pub fn derivacion_no_encontrada() -> ApiError {
    ApiError::new(
        ErrorCode::NoEncontrado,
        "no referral with that id for this agreement's sectors and scope",
    )
}

/// A person of the registry the agreement may not see (unknown, or followed outside its
/// scope: audited `FUERA_DE_AMBITO`); the caller is told the same for both.
pub fn persona_no_encontrada(fuera: bool) -> ApiError {
    ApiError {
        audit_code: fuera.then_some(ErrorCode::FueraDeAmbito),
        ..ApiError::no_encontrado()
    }
}

/// A comuna outside the agreement's scope (a comuna code is no personal data: said plainly).
pub fn comuna_fuera_de_ambito() -> ApiError {
    ApiError::new(
        ErrorCode::FueraDeAmbito,
        "the comuna lies outside this agreement's scope",
    )
    .en_campo("comuna")
}

pub fn evento_invalido(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::EventoInvalido, detail.into()).en_campo("evento")
}

pub fn transicion(evento: &str, estado: &str, que: &str) -> ApiError {
    ApiError::new(
        ErrorCode::TransicionNoPermitida,
        format!("a {que} in state {estado} does not accept the event {evento}"),
    )
}

/// The record kept changing while the event was applied (it was never applied).
pub fn en_conflicto() -> ApiError {
    ApiError::new(
        ErrorCode::TransicionNoPermitida,
        "the record kept changing while the event was applied; read it and try again",
    )
}

/// A sector the agreement's grant does not list (the list of sectors is no personal data).
pub fn sector_no_concedido(sector: &str) -> ApiError {
    let shown: String = sector.chars().take(20).collect();
    ApiError::no_autorizado(format!(
        "the agreement's grant does not list the sector {shown:?}"
    ))
}

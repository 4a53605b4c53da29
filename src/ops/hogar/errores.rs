//! The errors of household upkeep. Their codes are declared with every other code in `error.rs`.
//! None depends on anything outside the household asked about (DESIGN, *Agreements*), except
//! `PERSONA_NO_INCORPORABLE` (see [`persona_no_incorporable`]).

use crate::error::{ApiError, ErrorCode};

/// An event whose data is missing, out of range or does not belong to it.
pub fn evento_invalido(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::EventoInvalido, detail)
}

/// `quitar_integrante` or `dividir` names a RUN that is not a member of this household:
/// whoever that RUN is (unknown, of another household, of another comuna), the same answer.
pub fn no_es_integrante() -> ApiError {
    ApiError::new(
        ErrorCode::NoEsIntegrante,
        "the event names a RUN that is not a member of this household",
    )
}

pub fn ya_es_integrante() -> ApiError {
    ApiError::new(
        ErrorCode::YaEsIntegrante,
        "the person is already a member of this household",
    )
}

/// The event would leave the household without members.
pub fn sin_integrantes() -> ApiError {
    ApiError::new(
        ErrorCode::HogarSinIntegrantes,
        "the event would leave the household without members: when the whole household moves \
         within the comuna, record cambiar_domicilio",
    )
}

pub fn con_jefe() -> ApiError {
    ApiError::new(
        ErrorCode::HogarConJefe,
        "the household already has a jefe: add the person with another parentesco",
    )
}

/// `agregar_integrante` of a RUN the registry holds no living person for: unknown or
/// deceased, one code for both. Like `PERSONA_NO_ENCUESTABLE`, this is the one answer that
/// depends on a person perhaps outside the comuna (whether the RUN is a living person on
/// record), learnt only by moving that person into a household of the comuna, which is audited
/// under their RUN (docs/hogar.md, *What a municipality learns*).
pub fn persona_no_incorporable() -> ApiError {
    ApiError::new(
        ErrorCode::PersonaNoIncorporable,
        "the registry holds no living person with this RUN: they cannot join the household",
    )
}

/// The household kept changing while the event was applied (it was never applied).
pub fn en_conflicto() -> ApiError {
    ApiError::new(
        ErrorCode::HogarEnConflicto,
        "the household kept changing while the event was applied; read it and try again",
    )
}

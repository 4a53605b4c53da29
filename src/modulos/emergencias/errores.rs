//! The emergency registry's errors. Their codes are declared with every other code in
//! `error.rs`. None names a person.

use crate::error::{ApiError, ErrorCode};

/// No emergency with that id (ids are random: an unknown one tells nothing).
pub fn emergencia_no_encontrada() -> ApiError {
    ApiError::new(ErrorCode::NoEncontrado, "no emergency with that id")
}

/// No household record with that id within the agreement's scope: also the answer for a
/// record whose origin and destination both lie outside it, so that its existence is not
/// disclosed.
pub fn registro_no_encontrado() -> ApiError {
    ApiError::new(
        ErrorCode::NoEncontrado,
        "no household record with that id in this emergency within the agreement's scope",
    )
}

/// A value missing or not one of its list; `campo` names the field.
pub fn invalida(campo: &str, detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::EmergenciaInvalida, detail.into()).en_campo(campo)
}

/// The household's origin is not one of the emergency's affected comunas.
pub fn comuna_no_afectada() -> ApiError {
    ApiError::new(
        ErrorCode::ComunaNoAfectada,
        "comunaOrigen is not one of the emergency's affected comunas",
    )
    .en_campo("comunaOrigen")
}

/// The emergency is closed: nothing is written under it any more.
pub fn cerrada() -> ApiError {
    ApiError::new(
        ErrorCode::EmergenciaCerrada,
        "the emergency is closed: its records can be read, not changed",
    )
}

/// The head of household is already registered in this emergency (where is not said).
pub fn ya_registrado() -> ApiError {
    ApiError::new(
        ErrorCode::DamnificadoYaRegistrado,
        "this head of household is already registered in this emergency",
    )
}

/// Neither the origin nor the destination lies within the agreement's scope (comuna codes are
/// no personal data: said plainly).
pub fn fuera_de_ambito() -> ApiError {
    ApiError::new(
        ErrorCode::FueraDeAmbito,
        "neither comunaOrigen nor comunaDestino lies within the agreement's scope",
    )
}

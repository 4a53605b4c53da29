//! The errors of postulations and cupos. Their codes are declared with every other code in
//! `error.rs`. None names a person: a causante is named by its index in the request.

use crate::error::{ApiError, ErrorCode};

/// No postulation with that id in the agreement's comuna: also the answer for another
/// comuna's postulation, so that its existence is not disclosed.
pub fn no_encontrada() -> ApiError {
    ApiError::new(
        ErrorCode::NoEncontrado,
        "no postulation with that id in this agreement's comuna",
    )
}

/// A causante the registry holds no person for in the comuna: unknown, or living elsewhere
/// (`fuera`, audited as `FUERA_DE_AMBITO`); the caller is told the same for both.
pub fn causante_no_encontrado(indice: usize, fuera: bool) -> ApiError {
    ApiError {
        audit_code: fuera.then_some(ErrorCode::FueraDeAmbito),
        ..ApiError::new(
            ErrorCode::NoEncontrado,
            format!("causantes[{indice}]: the registry holds no person with that RUN"),
        )
    }
}

/// A request whose shape the program does not take (its detail names the field).
pub fn invalida(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::PostulacionInvalida, detail.into())
}

/// The person already has an open postulation to the program in this comuna. One in another
/// comuna does not count: it is that comuna's, and saying so would disclose it.
pub fn en_curso() -> ApiError {
    ApiError::new(
        ErrorCode::PostulacionEnCurso,
        "this person already has an open postulation to this program in this comuna",
    )
}

/// A comuna outside the agreement's (a comuna code is no personal data: said plainly).
pub fn fuera_de_ambito() -> ApiError {
    ApiError::new(
        ErrorCode::FueraDeAmbito,
        "the agreement only covers postulations of its own comuna",
    )
}

pub fn transicion_no_permitida(evento: &str, estado: &str) -> ApiError {
    ApiError::new(
        ErrorCode::TransicionNoPermitida,
        format!("a postulation in state {estado} does not accept the event {evento}"),
    )
}

/// The postulation kept changing while an event was applied (it was never applied).
pub fn en_conflicto() -> ApiError {
    ApiError::new(
        ErrorCode::TransicionNoPermitida,
        "the postulation kept changing while the event was applied; read it and try again",
    )
}

pub fn evento_invalido(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::EventoInvalido, detail.into())
}

pub fn estado_desconocido(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::EstadoDesconocido, detail.into())
}

pub fn cupos_invalidos(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::CuposInvalidos, detail.into())
}

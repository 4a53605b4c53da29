//! The errors of survey requests. Their codes are declared with every other code in `error.rs`.

use crate::domain::Run;
use crate::error::{ApiError, ErrorCode};

fn error(code: ErrorCode, detail: String) -> ApiError {
    ApiError::new(code, detail)
}

/// No request with that id for this agreement: also the answer for another agency's request,
/// so that its existence is not disclosed.
pub fn no_encontrado() -> ApiError {
    error(
        ErrorCode::NoEncontrado,
        "no survey request with that id for this agreement".into(),
    )
}

/// The state machine does not allow that event in the request's current state.
pub fn transicion_no_permitida(evento: &str, estado: &str) -> ApiError {
    error(
        ErrorCode::TransicionNoPermitida,
        format!("a request in state {estado} does not accept the event {evento}"),
    )
}

/// The request kept changing while an event was being applied (it was never applied).
pub fn en_conflicto() -> ApiError {
    error(
        ErrorCode::TransicionNoPermitida,
        "the request kept changing while the event was applied; read it and try again".into(),
    )
}

/// The request already had its two failed visits.
pub fn visitas_agotadas() -> ApiError {
    error(
        ErrorCode::VisitasAgotadas,
        "the request already has 2 failed visits, the most allowed: survey the household or \
         annul the request"
            .into(),
    )
}

/// The person's household already has a ficha in force: nothing to request.
pub fn ficha_vigente() -> ApiError {
    error(
        ErrorCode::FichaVigente,
        "the person's household already has a Ficha de Protección Social in force".into(),
    )
}

/// The person already has an open request in this comuna (from whichever agency: which one is
/// not said). A request in another comuna does not count: it is that comuna's work, and saying
/// so would disclose it.
pub fn en_curso() -> ApiError {
    error(
        ErrorCode::EncuestajeEnCurso,
        "a survey request for this person is already open in this comuna; its municipality is \
         working it"
            .into(),
    )
}

/// A survey recorded for a RUN the registry holds no living person for: unknown or deceased,
/// one code for both, so that recording a survey is the only way a municipality learns it.
/// The refusal tells about `run`, so its audit record names them. `campo` names a member of
/// the questionnaire by index (`integrantes[2]`), never by RUN.
pub fn persona_no_encuestable(run: Option<Run>, campo: Option<String>) -> ApiError {
    let detail = match &campo {
        Some(campo) => format!(
            "{campo}: the registry holds no living person with this RUN: the survey cannot list \
             them"
        ),
        None => "the registry holds no living person with this RUN: the survey cannot be \
                 recorded; annul the request"
            .into(),
    };
    ApiError {
        audit_subject: run,
        campo,
        ..error(ErrorCode::PersonaNoEncuestable, detail)
    }
}

pub fn persona_fallecida() -> ApiError {
    error(
        ErrorCode::PersonaFallecida,
        "the registry records this person as deceased".into(),
    )
}

/// An event whose data is missing, out of range or does not belong to it.
pub fn evento_invalido(detail: impl Into<String>) -> ApiError {
    error(ErrorCode::EventoInvalido, detail.into())
}

/// A municipality reaching outside its own comuna (a comuna code or request id is no personal
/// data, so this is said plainly).
pub fn fuera_de_ambito() -> ApiError {
    error(
        ErrorCode::FueraDeAmbito,
        "the agreement only covers survey requests of its own comuna".into(),
    )
}

/// A queue filtered by a state that does not exist.
pub fn estado_desconocido(detail: impl Into<String>) -> ApiError {
    error(ErrorCode::EstadoDesconocido, detail.into())
}

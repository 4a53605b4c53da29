//! How the node's error codes travel in the DCI (spdci) transport (`src/dci/`,
//! `docs/dci.md#errors`): one table beside the REST status and the SOAP envelope mapping of
//! each code, so that the broker's audit record and the DCI answer agree on the HTTP status.

use super::{ApiError, ErrorCode};

/// How a refusal travels in DCI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clase {
    /// The search was answered and discloses nothing about the person: `succ` with no record
    /// (unknown RUN, no ficha, and outside the agreement's comuna alike). For `txn/status`, an
    /// unknown transaction: a `rjct` header without reason code.
    SinRegistros,
    /// The item is refused (`status: rjct`) with this `SearchStatusReasonCode`.
    Item(&'static str),
    /// The message is refused (header `status: rjct`, HTTP 200) with this
    /// `MsgHeaderStatusReasonCode`.
    Encabezado(&'static str),
    /// An HTTP error (the code's own status) with an `HttpErrorResponse` carrying this
    /// `Error.code`.
    Http(&'static str),
}

/// The one table from the node's codes to DCI's (`docs/dci.md#errors`).
pub const fn clase(code: ErrorCode) -> Clase {
    use ErrorCode as E;
    const BAD: Clase = Clase::Http("err.request.bad");
    const FORBIDDEN: Clase = Clase::Http("err.request.forbidden");
    const MANY: Clase = Clase::Http("err.request.too_many_requests");
    const UNAVAILABLE: Clase = Clase::Http("err.service.unavailable");
    match code {
        E::NoEncontrado | E::SinFicha | E::FueraDeAmbito => Clase::SinRegistros,
        E::RunInvalido => Clase::Item("rjct.search_criteria.invalid"),
        E::MensajeRepetido => Clase::Encabezado("rjct.message_id.duplicate"),
        E::LoteExcedido | E::LoteSuperaRafaga => {
            Clase::Encabezado("rjct.total_count.limit_exceeded")
        }
        E::RemitenteInvalido => Clase::Http("err.sender_id.invalid"),
        E::DestinatarioInvalido => Clase::Http("err.receiver_id.invalid"),
        E::CifradoNoSoportado => Clase::Http("err.encryption.invalid"),
        E::RutaDesconocida => Clase::Http("err.request.not_found"),
        // Subscriptions (`subscribe`, `unsubscribe`): an item refused with its
        // `SubscribeStatusReasonCode` / `UnSubscribeStatusReasonCode`.
        E::EventoNoConcedido | E::EntregaNoConcedida => Clase::Item("rjct.notify_types.invalid"),
        E::SuscripcionInvalida | E::ListaExcedida => Clase::Item("rjct.notify_details.invalid"),
        E::SuscripcionCerrada => Clase::Item("rjct.event.already_unsubscribed"),
        E::CallbackNoPermitido => Clase::Http("err.sender_uri.invalid"),
        E::NoAutorizado
        | E::ConvenioNoVigente
        | E::CampoNoPermitido
        | E::CertificadoRevocado
        | E::AdminNoPermitido => FORBIDDEN,
        E::LimiteExcedido | E::CuotaExcedida | E::LotesEnCurso | E::ValidacionesAgotadas => MANY,
        E::NoDisponible
        | E::RevocacionVencida
        | E::EstadisticasNoCalculadas
        | E::AuditoriaDetenida
        | E::WalExcedido => UNAVAILABLE,
        // The request's own form, and codes of operations DCI does not reach.
        E::SolicitudInvalida
        | E::XmlInvalido
        | E::OperacionDesconocida
        | E::DemasiadoGrande
        | E::TipoNoSoportado
        | E::MetodoNoPermitido
        | E::ProgramaDesconocido
        | E::TipoCertificadoDesconocido
        | E::NivelInvalido
        | E::RegionDesconocida
        | E::ComunaDesconocida
        | E::QuintilInvalido
        | E::TransicionNoPermitida
        | E::VisitasAgotadas
        | E::FichaVigente
        | E::EncuestajeEnCurso
        | E::PersonaNoEncuestable
        | E::PersonaFallecida
        | E::PaginacionInvalida
        | E::EventoInvalido
        | E::EncuestaInvalida
        | E::EstadoDesconocido
        | E::NoEsIntegrante
        | E::YaEsIntegrante
        | E::HogarSinIntegrantes
        | E::HogarConJefe
        | E::PersonaNoIncorporable
        | E::HogarEnConflicto
        | E::PostulacionInvalida
        | E::PostulacionEnCurso
        | E::ParticipacionInvalida
        | E::ParticipacionEnCurso
        | E::DecretoYaEmitido
        | E::DecretoSinOtorgables
        | E::CuposInvalidos
        | E::LoteTipoDesconocido
        | E::LoteEncabezadoInvalido
        | E::LoteRegistroDemasiadoGrande
        | E::LoteMalformado
        | E::LoteVacio
        | E::LoteClaveInvalida
        | E::LoteClaveReutilizada
        | E::ConveniosInvalidos
        | E::CrlInvalida
        | E::SeleccionInvalida
        | E::EntregaNoMuerta
        | E::CursorInvalido
        | E::CursorVencido
        // The emergency registry.
        | E::EmergenciaInvalida
        | E::ComunaNoAfectada
        | E::EmergenciaCerrada
        | E::DamnificadoYaRegistrado
        // Chile Crece Contigo.
        | E::SeguimientoInvalido
        | E::SeguimientoEnCurso => BAD,
    }
}

/// The HTTP status a DCI answer carrying `error` is sent with (and audited with): 200 when
/// it travels inside a DCI envelope, the code's own status for an `HttpErrorResponse`.
pub fn status_of(error: &ApiError) -> u16 {
    match clase(error.code) {
        Clase::Http(_) => error.status(),
        Clase::SinRegistros | Clase::Item(_) | Clase::Encabezado(_) => 200,
    }
}

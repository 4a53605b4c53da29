//! The DCI (spdci) Social Registry transport (`docs/dci.md`, contract in `schemas/dci/`):
//! `POST /dci/v1/registry/sync/search` and `/sync/txn/status` on the agency listener, under
//! mutual TLS like `/api/v1`. It decodes the DCI envelope, calls the same entry points as REST
//! (a ficha lookup, a batch of them, a transaction's status) and encodes the answer as DCI.
//! It never admits, limits or audits: the broker does, as for every transport.

mod buscar;
mod estado;
pub mod grupo;
mod sobre;

use actix_web::web;

use crate::error::{ApiError, ErrorCode};

/// The DCI route table (on the agency listener; the agency listener's 404 and 405 answer
/// anything else, audited).
pub fn routes(cfg: &mut web::ServiceConfig) {
    let resource = |path: &str| {
        web::resource(path).default_service(web::to(crate::rest::support::method_not_allowed))
    };
    cfg.service(
        web::scope("/dci/v1/registry")
            .service(resource("/sync/search").route(web::post().to(buscar::sync_search)))
            .service(resource("/sync/txn/status").route(web::post().to(estado::sync_txn_status))),
    );
}

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
        | E::CrlInvalida => BAD,
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

//! The error every transport renders: a stable machine code, an HTTP status and a message for
//! the caller. The internal cause is logged where the error is made, never sent.
//!
//! Every code the node answers with is one variant of [`ErrorCode`], declared once below with
//! its HTTP status, its title and how it travels in a D.S. 81 envelope; `docs/errores.md` lists
//! them all (a test holds the two together).

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

pub mod dci;

/// How a code travels in a D.S. 81 envelope: its `estadoSobre`, and whether it is a protocol
/// failure (a SOAP Fault) rather than an outcome of the operation (a normal answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sobre {
    pub estado: &'static str,
    pub fault: bool,
}

/// An outcome of the operation, in a normal answer with this `estadoSobre`.
const fn answer(estado: &'static str) -> Option<Sobre> {
    Some(Sobre {
        estado,
        fault: false,
    })
}

/// A protocol failure, a SOAP Fault with this `estadoSobre`.
const fn fault(estado: &'static str) -> Option<Sobre> {
    Some(Sobre {
        estado,
        fault: true,
    })
}

/// Answered on the admin listener only: never in an envelope.
const ADMIN: Option<Sobre> = None;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $status:literal, $sobre:expr, $title:literal;)*) => {
        /// A stable machine code sent to the caller. One declaration each: status, title and
        /// envelope mapping cannot drift apart.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant,)*
        }

        impl ErrorCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as the caller sees it (`RUN_INVALIDO`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $code,)*
                }
            }

            /// The HTTP status a REST answer carries.
            pub const fn status(self) -> u16 {
                match self {
                    $(ErrorCode::$variant => $status,)*
                }
            }

            /// The problem's title (RFC 9457), in Spanish.
            pub const fn title(self) -> &'static str {
                match self {
                    $(ErrorCode::$variant => $title,)*
                }
            }

            /// How the code travels in a D.S. 81 envelope; `None` for the admin listener's codes.
            pub const fn sobre(self) -> Option<Sobre> {
                match self {
                    $(ErrorCode::$variant => $sobre,)*
                }
            }
        }
    };
}

error_codes! {
    // The request itself.
    RunInvalido = "RUN_INVALIDO", 400, answer("03"), "RUN inválido";
    SolicitudInvalida = "SOLICITUD_INVALIDA", 400, fault("04"), "Solicitud inválida";
    /// Malformed or hostile XML: a DTD, an entity, too deep, not UTF-8, missing or doubled parts.
    XmlInvalido = "XML_INVALIDO", 400, fault("04"), "XML inválido";
    OperacionDesconocida = "OPERACION_DESCONOCIDA", 400, fault("04"), "Operación desconocida";
    DemasiadoGrande = "DEMASIADO_GRANDE", 413, fault("04"), "Mensaje demasiado grande";
    TipoNoSoportado = "TIPO_NO_SOPORTADO", 415, fault("04"), "Tipo de contenido no soportado";
    RutaDesconocida = "RUTA_DESCONOCIDA", 404, fault("04"), "Ruta desconocida";
    MetodoNoPermitido = "METODO_NO_PERMITIDO", 405, fault("04"), "Método no permitido";
    // Who asks, and under which agreement.
    /// Not granted; estadoSobre `01` instead when no agreement covers the certificate at all.
    NoAutorizado = "NO_AUTORIZADO", 403, fault("02"), "No autorizado";
    ConvenioNoVigente = "CONVENIO_NO_VIGENTE", 403, fault("02"), "Convenio no vigente";
    CampoNoPermitido = "CAMPO_NO_PERMITIDO", 403, fault("02"), "Campo no permitido";
    /// A municipality reaching outside its own comuna with a survey request.
    FueraDeAmbito = "FUERA_DE_AMBITO", 403, fault("02"), "Fuera de ámbito";
    CertificadoRevocado = "CERTIFICADO_REVOCADO", 403, fault("01"), "Certificado revocado";
    RevocacionVencida = "REVOCACION_VENCIDA", 503, fault("01"), "Revocación no verificable";
    MensajeRepetido = "MENSAJE_REPETIDO", 409, fault("03"), "Mensaje repetido";
    /// DCI: the message's `header.sender_id` is not the agreement the certificate acts under.
    RemitenteInvalido = "REMITENTE_INVALIDO", 403, fault("02"), "Remitente inválido";
    /// DCI: the message's `header.receiver_id` is not this node (`dci.receiver_id`).
    DestinatarioInvalido = "DESTINATARIO_INVALIDO", 400, fault("04"), "Destinatario inválido";
    /// DCI: an encrypted message (`is_msg_encrypted`), which the node does not take.
    CifradoNoSoportado = "CIFRADO_NO_SOPORTADO", 400, fault("04"), "Cifrado no soportado";
    // Limits.
    LimiteExcedido = "LIMITE_EXCEDIDO", 429, fault("02"), "Límite de tasa excedido";
    CuotaExcedida = "CUOTA_EXCEDIDA", 429, fault("02"), "Cuota diaria excedida";
    LoteSuperaRafaga = "LOTE_SUPERA_RAFAGA", 413, answer("03"), "Lote mayor que la ráfaga del convenio";
    LoteExcedido = "LOTE_EXCEDIDO", 413, answer("03"), "Lote demasiado grande";
    LotesEnCurso = "LOTES_EN_CURSO", 429, fault("02"), "Lotes en curso";
    ValidacionesAgotadas = "VALIDACIONES_AGOTADAS", 429, fault("02"), "Validaciones agotadas";
    // What the registry holds.
    NoEncontrado = "NO_ENCONTRADO", 404, answer("05"), "No encontrado";
    SinFicha = "SIN_FICHA", 404, answer("05"), "Sin ficha";
    ProgramaDesconocido = "PROGRAMA_DESCONOCIDO", 404, answer("03"), "Programa desconocido";
    TipoCertificadoDesconocido = "TIPO_CERTIFICADO_DESCONOCIDO", 400, answer("03"), "Tipo de certificado desconocido";
    // Territorial statistics.
    NivelInvalido = "NIVEL_INVALIDO", 400, answer("03"), "Nivel inválido";
    RegionDesconocida = "REGION_DESCONOCIDA", 400, answer("03"), "Región desconocida";
    /// Also for survey requests.
    ComunaDesconocida = "COMUNA_DESCONOCIDA", 400, answer("03"), "Comuna desconocida";
    QuintilInvalido = "QUINTIL_INVALIDO", 400, answer("03"), "Quintil inválido";
    EstadisticasNoCalculadas = "ESTADISTICAS_NO_CALCULADAS", 503, fault("07"), "Estadísticas no disponibles";
    // Survey requests (ops/encuestaje/errores.rs).
    TransicionNoPermitida = "TRANSICION_NO_PERMITIDA", 409, answer("03"), "Transición no permitida";
    VisitasAgotadas = "VISITAS_AGOTADAS", 409, answer("03"), "Visitas agotadas";
    FichaVigente = "FICHA_VIGENTE", 409, answer("03"), "Ficha vigente";
    EncuestajeEnCurso = "ENCUESTAJE_EN_CURSO", 409, answer("03"), "Encuestaje en curso";
    PersonaNoEncuestable = "PERSONA_NO_ENCUESTABLE", 409, answer("03"), "Persona no encuestable";
    PersonaFallecida = "PERSONA_FALLECIDA", 409, answer("03"), "Persona fallecida";
    PaginacionInvalida = "PAGINACION_INVALIDA", 400, answer("03"), "Paginación inválida";
    EventoInvalido = "EVENTO_INVALIDO", 400, answer("03"), "Evento inválido";
    /// A survey questionnaire with a missing, unknown or out-of-range value; `campo` names it.
    EncuestaInvalida = "ENCUESTA_INVALIDA", 400, answer("03"), "Encuesta inválida";
    EstadoDesconocido = "ESTADO_DESCONOCIDO", 400, answer("03"), "Estado desconocido";
    // Household upkeep (src/ops/hogar/errores.rs).
    NoEsIntegrante = "NO_ES_INTEGRANTE", 409, answer("03"), "No es integrante del hogar";
    YaEsIntegrante = "YA_ES_INTEGRANTE", 409, answer("03"), "Ya es integrante del hogar";
    HogarSinIntegrantes = "HOGAR_SIN_INTEGRANTES", 409, answer("03"), "El hogar quedaría sin integrantes";
    HogarConJefe = "HOGAR_CON_JEFE", 409, answer("03"), "El hogar ya tiene jefe";
    PersonaNoIncorporable = "PERSONA_NO_INCORPORABLE", 409, answer("03"), "Persona no incorporable";
    HogarEnConflicto = "HOGAR_EN_CONFLICTO", 409, answer("03"), "Hogar en conflicto";
    // Postulations and cupos (ops/postulacion/errores.rs).
    PostulacionInvalida = "POSTULACION_INVALIDA", 400, answer("03"), "Postulación inválida";
    PostulacionEnCurso = "POSTULACION_EN_CURSO", 409, answer("03"), "Postulación en curso";
    // Decrees (ops/decreto.rs).
    DecretoYaEmitido = "DECRETO_YA_EMITIDO", 409, answer("03"), "Decreto ya emitido";
    DecretoSinOtorgables = "DECRETO_SIN_OTORGABLES", 409, answer("03"), "Decreto sin postulaciones que otorgar";
    CuposInvalidos = "CUPOS_INVALIDOS", 400, answer("03"), "Cupos inválidos";
    // Subscriptions to events (src/ops/suscripciones/errores.rs).
    SuscripcionInvalida = "SUSCRIPCION_INVALIDA", 400, answer("03"), "Suscripción inválida";
    EventoNoConcedido = "EVENTO_NO_CONCEDIDO", 403, fault("02"), "Tipo de evento no concedido";
    EntregaNoConcedida = "ENTREGA_NO_CONCEDIDA", 403, fault("02"), "Modo de entrega no concedido";
    CallbackNoPermitido = "CALLBACK_NO_PERMITIDO", 403, fault("02"), "URL de entrega no permitida";
    ListaExcedida = "LISTA_EXCEDIDA", 413, answer("03"), "Lista de RUN demasiado grande";
    SuscripcionCerrada = "SUSCRIPCION_CERRADA", 409, answer("03"), "Suscripción cerrada";
    CursorInvalido = "CURSOR_INVALIDO", 400, answer("03"), "Cursor inválido";
    /// Reading after a cursor whose next events were purged (retention): the detail names the
    /// oldest cursor still readable.
    CursorVencido = "CURSOR_VENCIDO", 410, fault("03"), "Cursor vencido";
    // Provider feeds refused as a whole (src/ops/lotes.rs).
    LoteTipoDesconocido = "LOTE_TIPO_DESCONOCIDO", 404, answer("03"), "Tipo de lote desconocido";
    LoteEncabezadoInvalido = "LOTE_ENCABEZADO_INVALIDO", 400, answer("03"), "Encabezado del lote inválido";
    LoteRegistroDemasiadoGrande = "LOTE_REGISTRO_DEMASIADO_GRANDE", 400, answer("03"), "Registro demasiado grande";
    LoteMalformado = "LOTE_MALFORMADO", 400, answer("03"), "Lote malformado";
    LoteVacio = "LOTE_VACIO", 400, answer("03"), "Lote vacío";
    LoteClaveInvalida = "LOTE_CLAVE_INVALIDA", 400, answer("03"), "Identificador de lote inválido";
    LoteClaveReutilizada = "LOTE_CLAVE_REUTILIZADA", 409, answer("03"), "Identificador de lote reutilizado";
    // Chile Solidario (src/modulos/chile_solidario/errores.rs).
    /// An ingreso with an unknown `programa`, a malformed `apoyoFamiliar` or `fechaIngreso`;
    /// `campo` names it.
    ParticipacionInvalida = "PARTICIPACION_INVALIDA", 400, answer("03"), "Participación inválida";
    ParticipacionEnCurso = "PARTICIPACION_EN_CURSO", 409, answer("03"), "Participación en curso";
    // The emergency registry (src/modulos/emergencias/errores.rs).
    /// A declaration, close, household record or aid delivery with a missing or unknown
    /// value; `campo` names it.
    EmergenciaInvalida = "EMERGENCIA_INVALIDA", 400, answer("03"), "Emergencia inválida";
    /// A household's comuna of origin is not one of the emergency's affected comunas.
    ComunaNoAfectada = "COMUNA_NO_AFECTADA", 400, answer("03"), "Comuna no afectada";
    /// The emergency is closed: every write under it is refused, reads and the report stay.
    EmergenciaCerrada = "EMERGENCIA_CERRADA", 409, answer("03"), "Emergencia cerrada";
    DamnificadoYaRegistrado = "DAMNIFICADO_YA_REGISTRADO", 409, answer("03"), "Hogar damnificado ya registrado";
    // Chile Crece Contigo (src/modulos/crece_contigo/errores.rs).
    /// A follow-up's entry or event with a missing, unknown or out-of-range value; `campo`
    /// names it.
    SeguimientoInvalido = "SEGUIMIENTO_INVALIDO", 400, answer("03"), "Seguimiento inválido";
    SeguimientoEnCurso = "SEGUIMIENTO_EN_CURSO", 409, answer("03"), "Seguimiento en curso";
    // The node.
    /// The registry cannot be reached (pool exhausted, connection lost).
    NoDisponible = "NO_DISPONIBLE", 503, fault("07"), "Servicio no disponible";
    // The admin listener.
    ConveniosInvalidos = "CONVENIOS_INVALIDOS", 422, ADMIN, "Convenios inválidos";
    CrlInvalida = "CRL_INVALIDA", 422, ADMIN, "Lista de revocación inválida";
    /// `/readyz`: audit records wait with the writer making no progress, or the WAL
    /// checkpoint thread stopped.
    AuditoriaDetenida = "AUDITORIA_DETENIDA", 503, ADMIN, "Auditoría detenida";
    /// `/readyz`: a SQLite write-ahead log is past `database.wal_limit_mb`.
    WalExcedido = "WAL_EXCEDIDO", 503, ADMIN, "Registro de escritura anticipada excedido";
    /// A request to the admin listener from an address outside `listen.admin_allow`.
    AdminNoPermitido = "ADMIN_NO_PERMITIDO", 403, ADMIN, "Dirección no permitida";
    /// `/admin/entregas`: a selection of deliveries (subscription, agreement, secuencia,
    /// state) that is not one.
    SeleccionInvalida = "SELECCION_INVALIDA", 400, ADMIN, "Selección de entregas inválida";
    /// `/admin/entregas`: the one delivery named is not a dead letter.
    EntregaNoMuerta = "ENTREGA_NO_MUERTA", 409, ADMIN, "La entrega no está muerta";
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct ApiError {
    /// Stable machine code sent to the caller; it decides the status and the title.
    pub code: ErrorCode,
    pub detail: String,
    /// Seconds after which a refused request may be retried (429, and 503 `NO_DISPONIBLE`).
    pub retry_after: Option<u64>,
    /// What the audit log records when it differs from `code` (never sent).
    pub audit_code: Option<ErrorCode>,
    /// A person the refusal tells something about although the request did not name them (a
    /// survey refused for the RUN of the request it was recorded on): the audit record names
    /// them, so the refusal shows in their access report (never sent).
    pub audit_subject: Option<crate::domain::Run>,
    /// The client is not known at all (no agreement for its certificate): an authentication
    /// failure rather than an authorisation one.
    pub authentication: bool,
    /// The request's field at fault, as a path with indexes, never a RUN
    /// (`integrantes[2].ingresoTrabajo`, `vivienda.agua`): REST's problem member `campo`,
    /// SOAP's `campo` in the envelope's metadataOperacional or the Fault's detalle.
    pub campo: Option<String>,
}

impl ApiError {
    /// An error with this code and a message for the caller (no personal data in it).
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        ApiError {
            code,
            detail: detail.into(),
            retry_after: None,
            audit_code: None,
            audit_subject: None,
            authentication: false,
            campo: None,
        }
    }

    /// The same error naming the request's field at fault.
    pub fn en_campo(self, campo: impl Into<String>) -> ApiError {
        ApiError {
            campo: Some(campo.into()),
            ..self
        }
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    pub fn title(&self) -> &'static str {
        self.code.title()
    }

    /// Whether the error blames the request (4xx; a SOAP 1.1 `Client`, SOAP 1.2 `Sender`
    /// Fault) rather than the node (5xx; `Server`, `Receiver`).
    pub fn blames_request(&self) -> bool {
        self.status() < 500
    }

    /// The certificate acts under no agreement (SOAP estadoSobre 01).
    pub fn sin_convenio() -> ApiError {
        ApiError {
            authentication: true,
            ..Self::no_autorizado("no agreement covers this client certificate")
        }
    }

    /// How this error travels in a D.S. 81 envelope (see [`Sobre`]). One mapping for every
    /// transport and for the audit log.
    pub fn estado_sobre(&self) -> (&'static str, bool) {
        if self.authentication {
            return ("01", true);
        }
        match self.code.sobre() {
            Some(sobre) => (sobre.estado, sobre.fault),
            // The admin listener's codes never reach an envelope; were one to, it is the
            // node's failure.
            None => ("07", true),
        }
    }

    /// The outcome code written to the audit log.
    pub fn audit_outcome(&self) -> &'static str {
        self.audit_code.unwrap_or(self.code).as_str()
    }

    /// The registry cannot be reached (pool exhausted, connection lost, database down): 503
    /// with `Retry-After`, on every transport.
    pub fn unavailable() -> ApiError {
        ApiError {
            retry_after: Some(crate::outage::RETRY_AFTER_SECS),
            ..Self::new(
                ErrorCode::NoDisponible,
                "the registry cannot be reached right now; retry later",
            )
        }
    }

    pub fn not_found_route() -> ApiError {
        Self::new(
            ErrorCode::RutaDesconocida,
            "no operation is published at this path",
        )
    }

    pub fn metodo_no_permitido() -> ApiError {
        Self::new(
            ErrorCode::MetodoNoPermitido,
            "this path does not accept that HTTP method",
        )
    }

    pub fn run_invalido(reason: impl std::fmt::Display) -> ApiError {
        Self::new(ErrorCode::RunInvalido, format!("invalid RUN: {reason}"))
    }

    pub fn solicitud_invalida(reason: impl Into<String>) -> ApiError {
        Self::new(ErrorCode::SolicitudInvalida, reason)
    }

    /// Malformed or hostile XML: a DTD, an entity, too deep, not UTF-8, missing or doubled parts.
    pub fn xml_invalido(detail: impl Into<String>) -> ApiError {
        Self::new(ErrorCode::XmlInvalido, detail)
    }

    pub fn operacion_desconocida(detail: impl Into<String>) -> ApiError {
        Self::new(ErrorCode::OperacionDesconocida, detail)
    }

    pub fn demasiado_grande(max: usize) -> ApiError {
        Self::new(
            ErrorCode::DemasiadoGrande,
            format!("the body may hold at most {max} bytes"),
        )
    }

    pub fn tipo_no_soportado_soap() -> ApiError {
        Self::new(
            ErrorCode::TipoNoSoportado,
            "send SOAP 1.1 as text/xml or SOAP 1.2 as application/soap+xml",
        )
    }

    pub fn tipo_no_soportado() -> ApiError {
        Self::new(
            ErrorCode::TipoNoSoportado,
            "send the body as application/json",
        )
    }

    pub fn lote_excedido(max: usize) -> ApiError {
        Self::new(
            ErrorCode::LoteExcedido,
            format!("a batch may hold at most {max} RUNs"),
        )
    }

    pub fn no_encontrado() -> ApiError {
        Self::new(
            ErrorCode::NoEncontrado,
            "the registry holds no person with that RUN",
        )
    }

    /// A person outside a scoped agreement's comuna: answered as not found (existence is not
    /// disclosed), audited as `FUERA_DE_AMBITO`.
    pub fn fuera_de_ambito() -> ApiError {
        ApiError {
            audit_code: Some(ErrorCode::FueraDeAmbito),
            ..Self::no_encontrado()
        }
    }

    pub fn sin_ficha() -> ApiError {
        Self::new(
            ErrorCode::SinFicha,
            "the person has no Ficha de Protección Social in force",
        )
    }

    pub fn programa_desconocido(programa: &str) -> ApiError {
        let shown: String = programa.chars().take(40).collect();
        Self::new(
            ErrorCode::ProgramaDesconocido,
            format!("no eligibility rules for program {shown:?}"),
        )
    }

    pub fn tipo_certificado_desconocido() -> ApiError {
        Self::new(
            ErrorCode::TipoCertificadoDesconocido,
            "tipo must be \"constancia\" or \"certificado_fps\"",
        )
    }

    /// EstadisticasTerritoriales: `nivel` is not nacional, region or comuna, or does not fit
    /// the territory asked for.
    pub fn nivel_invalido(detail: impl Into<String>) -> ApiError {
        Self::new(ErrorCode::NivelInvalido, detail)
    }

    pub fn region_desconocida(detail: impl Into<String>) -> ApiError {
        Self::new(ErrorCode::RegionDesconocida, detail)
    }

    pub fn comuna_desconocida(detail: impl Into<String>) -> ApiError {
        Self::new(ErrorCode::ComunaDesconocida, detail)
    }

    pub fn quintil_invalido(detail: impl Into<String>) -> ApiError {
        Self::new(ErrorCode::QuintilInvalido, detail)
    }

    /// The territorial statistics have not been computed yet (`siis estadisticas recalcular`).
    pub fn estadisticas_no_calculadas() -> ApiError {
        Self::new(
            ErrorCode::EstadisticasNoCalculadas,
            "the territorial statistics have not been computed yet; retry later",
        )
    }

    pub fn no_autorizado(detail: impl Into<String>) -> ApiError {
        Self::new(ErrorCode::NoAutorizado, detail)
    }

    pub fn convenio_no_vigente() -> ApiError {
        Self::new(
            ErrorCode::ConvenioNoVigente,
            "the agreement this certificate acts under is not in force today",
        )
    }

    pub fn campo_no_permitido(field: &str) -> ApiError {
        Self::new(
            ErrorCode::CampoNoPermitido,
            format!("the agreement does not grant the field {field}"),
        )
    }

    pub fn limite_excedido(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                ErrorCode::LimiteExcedido,
                "the agreement's rate limit is exceeded; retry later",
            )
        }
    }

    pub fn cuota_excedida(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                ErrorCode::CuotaExcedida,
                "the agreement's daily quota is used up; it renews at midnight, Chile time",
            )
        }
    }

    /// A request about more persons than the agreement's burst: it could never be admitted
    /// whole, so it is refused rather than made to wait.
    pub fn lote_supera_rafaga(personas: u64, rafaga: u32) -> ApiError {
        Self::new(
            ErrorCode::LoteSuperaRafaga,
            format!(
                "this request is about at least {personas} persons and the agreement allows at \
                 most {rafaga} at once (its burst): send smaller batches"
            ),
        )
    }

    /// The agreement already has `broker.lotes_max_concurrent` provider batches in progress.
    pub fn lotes_en_curso() -> ApiError {
        ApiError {
            retry_after: Some(1),
            ..Self::new(
                ErrorCode::LotesEnCurso,
                "the agreement already has as many batches in progress as it may; send this one \
                 when one of them is answered",
            )
        }
    }

    /// ValidarIdentidad: the agreement used up today's comparisons that do not match for this
    /// person (`broker.failed_validations_per_day`).
    pub fn validaciones_agotadas(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                ErrorCode::ValidacionesAgotadas,
                "the agreement made today's allowed number of identity comparisons that did not \
                 match for this person; it may ask again after midnight, Chile time",
            )
        }
    }

    /// DCI: the message claims to come from another agreement than its certificate's.
    pub fn remitente_invalido() -> ApiError {
        Self::new(
            ErrorCode::RemitenteInvalido,
            "header.sender_id is not the agreement this client certificate acts under",
        )
    }

    /// DCI: the message is addressed to another node.
    pub fn destinatario_invalido() -> ApiError {
        Self::new(
            ErrorCode::DestinatarioInvalido,
            "header.receiver_id is not this node's id",
        )
    }

    /// DCI: encrypted messages are not taken (mutual TLS protects the channel).
    pub fn cifrado_no_soportado() -> ApiError {
        Self::new(
            ErrorCode::CifradoNoSoportado,
            "encrypted messages are not supported: send is_msg_encrypted false over mutual TLS",
        )
    }

    pub fn mensaje_repetido() -> ApiError {
        Self::new(
            ErrorCode::MensajeRepetido,
            "this message id was already used by this agreement within the replay window",
        )
    }

    /// The connection's client certificate was revoked after its handshake (a revocation list
    /// reloaded since): refused on every request, the connection then closed (src/tls/trust.rs).
    pub fn certificado_revocado() -> ApiError {
        Self::new(
            ErrorCode::CertificadoRevocado,
            "the client certificate has been revoked",
        )
    }

    /// The node's revocation list is past its nextUpdate: no certificate can be vouched for
    /// until a fresh list is loaded, so every agency request is refused (src/tls/trust.rs).
    pub fn revocacion_vencida() -> ApiError {
        Self::new(
            ErrorCode::RevocacionVencida,
            "the node cannot check certificate revocation right now; retry later",
        )
    }
}

/// RFC 9457 problem details, with the stable `code` as an extension member.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
    /// The request's field at fault (a path with indexes), when the error names one.
    #[serde(skip_serializing_if = "Option::is_none")]
    campo: Option<&'a str>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        if let Some(secs) = self.retry_after {
            response.insert_header((RETRY_AFTER, HeaderValue::from(secs)));
        }
        response
            .content_type("application/problem+json")
            .json(Problem {
                kind: format!("urn:siis:problema:{}", self.code),
                title: self.title(),
                status: self.status(),
                detail: &self.detail,
                code: self.code.as_str(),
                campo: self.campo.as_deref(),
            })
    }
}

/// A registry failure reaching a caller: logged here (no personal data), sent as 503.
impl From<crate::db::DbError> for ApiError {
    fn from(error: crate::db::DbError) -> ApiError {
        tracing::error!(error = %error, "registry error");
        ApiError::unavailable()
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(error: diesel::result::Error) -> ApiError {
        ApiError::from(crate::db::DbError::Query(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let mut seen = std::collections::BTreeSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} declared twice");
            assert!((400..600).contains(&code.status()), "{code}");
            // The estadoSobre values D.S. 81 defines for failures (06, timeout, is never sent).
            if let Some(sobre) = code.sobre() {
                assert!(["01", "02", "03", "04", "05", "07"].contains(&sobre.estado));
            }
        }
    }

    /// `docs/errores.md` has one row per code, `| `CODE` | status | estadoSobre | Fault |`,
    /// that agrees with the declaration; and no row names a code that does not exist.
    #[test]
    fn every_code_is_documented_as_declared() {
        let page = std::fs::read_to_string(root().join("docs/errores.md")).unwrap();
        let rows: Vec<Vec<&str>> = page
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| l.trim_matches('|').split('|').map(str::trim).collect())
            .collect();
        for code in ErrorCode::ALL {
            let name = format!("`{code}`");
            let row = rows
                .iter()
                .find(|r| r[0] == name)
                .unwrap_or_else(|| panic!("docs/errores.md has no row for {code}"));
            assert_eq!(row[1], code.status().to_string(), "{code}: HTTP status");
            let (estado, fault) = match code.sobre() {
                Some(s) => (s.estado, if s.fault { "yes" } else { "no" }),
                None => ("—", "—"),
            };
            // NO_AUTORIZADO is `01 / 02` (01 when no agreement covers the certificate).
            assert!(
                row[2].split('/').any(|e| e.trim() == estado),
                "{code}: estadoSobre {}",
                row[2]
            );
            assert_eq!(row[3], fault, "{code}: SOAP Fault");
        }
        let main_table = page.split("\n## ").nth(1).unwrap_or_default();
        for line in main_table.lines().filter(|l| l.starts_with("| `")) {
            let named = line.split('`').nth(1).unwrap();
            assert!(
                ErrorCode::ALL.iter().any(|c| c.as_str() == named),
                "docs/errores.md lists {named}, which the node never answers"
            );
        }
    }

    /// Test code: the integration tests, and each source file's test modules.
    fn test_sources(dir: &Path, out: &mut String) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                test_sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let whole = path.components().any(|c| c.as_os_str() == "tests")
                    || path.file_name().is_some_and(|n| n == "tests.rs");
                match text.find("#[cfg(test)]") {
                    _ if whole => out.push_str(&text),
                    Some(at) => out.push_str(&text[at..]),
                    None => {}
                }
            }
        }
    }

    /// Each code is named by at least one test, which makes the node answer it and checks it.
    #[test]
    fn every_code_is_named_by_a_test() {
        let mut tests = String::new();
        test_sources(&root().join("tests"), &mut tests);
        test_sources(&root().join("src"), &mut tests);
        // This module names every code in its own way; it must not count.
        let own = include_str!("error.rs");
        let own_tests = &own[own.rfind("#[cfg(test)]").unwrap()..];
        let tests = tests.replace(own_tests, "");
        let untested: Vec<&str> = ErrorCode::ALL
            .iter()
            .map(|c| c.as_str())
            .filter(|c| !tests.contains(&format!("\"{c}\"")))
            .collect();
        assert!(untested.is_empty(), "no test names {untested:?}");
    }
}

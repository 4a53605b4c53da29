//! The error every transport renders: a stable machine code, an HTTP status and a message for
//! the caller. The internal cause is logged where the error is made, never sent.

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct ApiError {
    /// Stable machine code sent to the caller (`RUN_INVALIDO`, `NO_AUTORIZADO`, …).
    pub code: &'static str,
    pub status: u16,
    pub title: &'static str,
    pub detail: String,
    /// Seconds after which a refused request may be retried (429).
    pub retry_after: Option<u64>,
    /// What the audit log records when it differs from `code` (never sent).
    pub audit_code: Option<&'static str>,
    /// A person the refusal tells something about although the request did not name them (a
    /// survey refused for the RUN of the request it was recorded on): the audit record names
    /// them, so the refusal shows in their access report (never sent).
    pub audit_subject: Option<crate::domain::Run>,
    /// The client is not known at all (no agreement for its certificate): an authentication
    /// failure rather than an authorisation one.
    pub authentication: bool,
}

impl ApiError {
    fn new(
        code: &'static str,
        status: u16,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        ApiError {
            code,
            status,
            title,
            detail: detail.into(),
            retry_after: None,
            audit_code: None,
            audit_subject: None,
            authentication: false,
        }
    }

    /// The certificate acts under no agreement (SOAP estadoSobre 01).
    pub fn sin_convenio() -> ApiError {
        ApiError {
            authentication: true,
            ..Self::no_autorizado("no agreement covers this client certificate")
        }
    }

    /// How this error travels in a D.S. 81 envelope: its estadoSobre, and whether it is a
    /// protocol failure (a SOAP Fault) rather than an outcome of the operation (a normal
    /// answer). One mapping for every transport and for the audit log.
    pub fn estado_sobre(&self) -> (&'static str, bool) {
        match self.code {
            "RUN_INVALIDO" | "LOTE_EXCEDIDO" | "PROGRAMA_DESCONOCIDO" => ("03", false),
            "TIPO_CERTIFICADO_DESCONOCIDO" => ("03", false),
            // Statistics (ops/estadisticas.rs); COMUNA_DESCONOCIDA also for survey requests.
            "NIVEL_INVALIDO" | "REGION_DESCONOCIDA" | "COMUNA_DESCONOCIDA" | "QUINTIL_INVALIDO" => {
                ("03", false)
            }
            "NO_ENCONTRADO" | "SIN_FICHA" => ("05", false),
            "XML_INVALIDO"
            | "OPERACION_DESCONOCIDA"
            | "DEMASIADO_GRANDE"
            | "SOLICITUD_INVALIDA"
            | "TIPO_NO_SOPORTADO"
            | "RUTA_DESCONOCIDA"
            | "METODO_NO_PERMITIDO" => ("04", true),
            "NO_AUTORIZADO" if self.authentication => ("01", true),
            "NO_AUTORIZADO"
            | "CAMPO_NO_PERMITIDO"
            | "CONVENIO_NO_VIGENTE"
            | "LIMITE_EXCEDIDO"
            | "CUOTA_EXCEDIDA" => ("02", true),
            "MENSAJE_REPETIDO" => ("03", true),
            "VALIDACIONES_AGOTADAS" | "LOTES_EN_CURSO" => ("02", true),
            // The client certificate's revocation (src/tls/trust.rs).
            "CERTIFICADO_REVOCADO" | "REVOCACION_VENCIDA" => ("01", true),
            // Survey requests (ops/encuestaje/errores.rs).
            "TRANSICION_NO_PERMITIDA"
            | "VISITAS_AGOTADAS"
            | "FICHA_VIGENTE"
            | "PERSONA_FALLECIDA"
            | "PAGINACION_INVALIDA"
            | "ESTADO_DESCONOCIDO"
            | "ENCUESTAJE_EN_CURSO"
            | "PERSONA_NO_ENCUESTABLE"
            | "EVENTO_INVALIDO" => ("03", false),
            "FUERA_DE_AMBITO" => ("02", true),
            code if code.starts_with("LOTE_") => ("03", false),
            // NO_DISPONIBLE, and any code added later until it is mapped here.
            _ => ("07", true),
        }
    }

    /// The outcome code written to the audit log.
    pub fn audit_outcome(&self) -> &'static str {
        self.audit_code.unwrap_or(self.code)
    }

    /// The registry cannot be reached (pool exhausted, connection lost): 503.
    pub fn unavailable() -> ApiError {
        Self::new(
            "NO_DISPONIBLE",
            503,
            "Servicio no disponible",
            "the registry cannot be reached right now; retry later",
        )
    }

    pub fn not_found_route() -> ApiError {
        Self::new(
            "RUTA_DESCONOCIDA",
            404,
            "Ruta desconocida",
            "no operation is published at this path",
        )
    }

    pub fn metodo_no_permitido() -> ApiError {
        Self::new(
            "METODO_NO_PERMITIDO",
            405,
            "Método no permitido",
            "this path does not accept that HTTP method",
        )
    }

    pub fn run_invalido(reason: impl std::fmt::Display) -> ApiError {
        Self::new(
            "RUN_INVALIDO",
            400,
            "RUN inválido",
            format!("invalid RUN: {reason}"),
        )
    }

    pub fn solicitud_invalida(reason: impl Into<String>) -> ApiError {
        Self::new("SOLICITUD_INVALIDA", 400, "Solicitud inválida", reason)
    }

    /// Malformed or hostile XML: a DTD, an entity, too deep, not UTF-8, missing or doubled parts.
    pub fn xml_invalido(detail: impl Into<String>) -> ApiError {
        Self::new("XML_INVALIDO", 400, "XML inválido", detail)
    }

    pub fn operacion_desconocida(detail: impl Into<String>) -> ApiError {
        Self::new(
            "OPERACION_DESCONOCIDA",
            400,
            "Operación desconocida",
            detail,
        )
    }

    pub fn demasiado_grande(max: usize) -> ApiError {
        Self::new(
            "DEMASIADO_GRANDE",
            413,
            "Mensaje demasiado grande",
            format!("the body may hold at most {max} bytes"),
        )
    }

    pub fn tipo_no_soportado_soap() -> ApiError {
        Self::new(
            "TIPO_NO_SOPORTADO",
            415,
            "Tipo de contenido no soportado",
            "send SOAP 1.1 as text/xml or SOAP 1.2 as application/soap+xml",
        )
    }

    pub fn tipo_no_soportado() -> ApiError {
        Self::new(
            "TIPO_NO_SOPORTADO",
            415,
            "Tipo de contenido no soportado",
            "send the body as application/json",
        )
    }

    /// A provider batch refused as a whole (`LOTE_…` codes, see `lotes::LoteError`).
    pub fn lote_rechazado(
        code: &'static str,
        status: u16,
        title: &'static str,
        detail: impl Into<String>,
    ) -> ApiError {
        Self::new(code, status, title, detail)
    }

    pub fn lote_excedido(max: usize) -> ApiError {
        Self::new(
            "LOTE_EXCEDIDO",
            413,
            "Lote demasiado grande",
            format!("a batch may hold at most {max} RUNs"),
        )
    }

    pub fn no_encontrado() -> ApiError {
        Self::new(
            "NO_ENCONTRADO",
            404,
            "No encontrado",
            "the registry holds no person with that RUN",
        )
    }

    /// A person outside a scoped agreement's comuna: answered as not found (existence is not
    /// disclosed), audited as `FUERA_DE_AMBITO`.
    pub fn fuera_de_ambito() -> ApiError {
        ApiError {
            audit_code: Some("FUERA_DE_AMBITO"),
            ..Self::no_encontrado()
        }
    }

    pub fn sin_ficha() -> ApiError {
        Self::new(
            "SIN_FICHA",
            404,
            "Sin ficha",
            "the person has no Ficha de Protección Social in force",
        )
    }

    pub fn programa_desconocido(programa: &str) -> ApiError {
        let shown: String = programa.chars().take(40).collect();
        Self::new(
            "PROGRAMA_DESCONOCIDO",
            404,
            "Programa desconocido",
            format!("no eligibility rules for program {shown:?}"),
        )
    }

    pub fn tipo_certificado_desconocido() -> ApiError {
        Self::new(
            "TIPO_CERTIFICADO_DESCONOCIDO",
            400,
            "Tipo de certificado desconocido",
            "tipo must be \"constancia\" or \"certificado_fps\"",
        )
    }

    /// EstadisticasTerritoriales: `nivel` is not nacional, region or comuna, or does not fit
    /// the territory asked for.
    pub fn nivel_invalido(detail: impl Into<String>) -> ApiError {
        Self::new("NIVEL_INVALIDO", 400, "Nivel inválido", detail)
    }

    pub fn region_desconocida(detail: impl Into<String>) -> ApiError {
        Self::new("REGION_DESCONOCIDA", 400, "Región desconocida", detail)
    }

    pub fn comuna_desconocida(detail: impl Into<String>) -> ApiError {
        Self::new("COMUNA_DESCONOCIDA", 400, "Comuna desconocida", detail)
    }

    pub fn quintil_invalido(detail: impl Into<String>) -> ApiError {
        Self::new("QUINTIL_INVALIDO", 400, "Quintil inválido", detail)
    }

    /// The territorial statistics have not been computed yet (`siis estadisticas recalcular`).
    pub fn estadisticas_no_calculadas() -> ApiError {
        Self::new(
            "ESTADISTICAS_NO_CALCULADAS",
            503,
            "Estadísticas no disponibles",
            "the territorial statistics have not been computed yet; retry later",
        )
    }

    pub fn no_autorizado(detail: impl Into<String>) -> ApiError {
        Self::new("NO_AUTORIZADO", 403, "No autorizado", detail)
    }

    pub fn convenio_no_vigente() -> ApiError {
        Self::new(
            "CONVENIO_NO_VIGENTE",
            403,
            "Convenio no vigente",
            "the agreement this certificate acts under is not in force today",
        )
    }

    pub fn campo_no_permitido(field: &str) -> ApiError {
        Self::new(
            "CAMPO_NO_PERMITIDO",
            403,
            "Campo no permitido",
            format!("the agreement does not grant the field {field}"),
        )
    }

    pub fn limite_excedido(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                "LIMITE_EXCEDIDO",
                429,
                "Límite de tasa excedido",
                "the agreement's rate limit is exceeded; retry later",
            )
        }
    }

    pub fn cuota_excedida(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                "CUOTA_EXCEDIDA",
                429,
                "Cuota diaria excedida",
                "the agreement's daily quota is used up; it renews at midnight, Chile time",
            )
        }
    }

    /// A request about more persons than the agreement's burst: it could never be admitted
    /// whole, so it is refused rather than made to wait.
    pub fn lote_supera_rafaga(personas: u64, rafaga: u32) -> ApiError {
        Self::new(
            "LOTE_SUPERA_RAFAGA",
            413,
            "Lote mayor que la ráfaga del convenio",
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
                "LOTES_EN_CURSO",
                429,
                "Lotes en curso",
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
                "VALIDACIONES_AGOTADAS",
                429,
                "Validaciones agotadas",
                "the agreement made today's allowed number of identity comparisons that did not \
                 match for this person; it may ask again after midnight, Chile time",
            )
        }
    }

    pub fn mensaje_repetido() -> ApiError {
        Self::new(
            "MENSAJE_REPETIDO",
            409,
            "Mensaje repetido",
            "this message id was already used by this agreement within the replay window",
        )
    }

    /// The connection's client certificate was revoked after its handshake (a revocation list
    /// reloaded since): refused on every request, the connection then closed (src/tls/trust.rs).
    pub fn certificado_revocado() -> ApiError {
        Self::new(
            "CERTIFICADO_REVOCADO",
            403,
            "Certificado revocado",
            "the client certificate has been revoked",
        )
    }

    /// The node's revocation list is past its nextUpdate: no certificate can be vouched for
    /// until a fresh list is loaded, so every agency request is refused (src/tls/trust.rs).
    pub fn revocacion_vencida() -> ApiError {
        Self::new(
            "REVOCACION_VENCIDA",
            503,
            "Revocación no verificable",
            "the node cannot check certificate revocation right now; retry later",
        )
    }
}

/// RFC 9457 problem details, with the stable `code` as an extension member.
#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: &'a str,
    code: &'a str,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
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
                title: self.title,
                status: self.status,
                detail: &self.detail,
                code: self.code,
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

//! Provider feeds (lotes): batches of records from the Registro Civil (SRCeI) and other
//! providers, applied exactly once and all together.
//!
//! A batch goes through three steps, whatever its transport (REST, SOAP, `siis ingest`):
//!
//! 1. **Fingerprint**: one pass over the file computes its SHA-256. The batch's key is the
//!    provider's own batch id, or `sha256:<hex>` when it gave none. A key already applied for
//!    this agreement returns the first report (`repetido: true`) and changes nothing.
//! 2. **Validate and stage**: the file is read as a stream (CSV or XML); each record is checked
//!    on its own (RUN check digit, dates, codes, duplicates within the batch) and the valid ones
//!    are written to a temporary staging table of this connection (on disk, not in memory).
//!    Rejections keep their line number and a stable code.
//! 3. **Apply**: one transaction runs the checks that need the registry (an unknown RUN, a death
//!    before the birth), writes the `lotes` row with the report, applies the staged records
//!    set-based and records their provenance. A crash before the commit leaves nothing applied,
//!    and resending the batch then applies it whole.

mod beneficios;
mod csv;
mod eventos;
mod feeds;
mod fichas;
mod generar;
mod lectura;
mod nacimientos;
mod recepcion;
mod registro;
mod xml;

/// The PostgreSQL statement that serialises new benefit ids with the feeds' (a decree's
/// grants take it too).
pub(crate) fn beneficio_bloqueo() -> String {
    beneficios::bloqueo()
}

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::catalog::TipoLote;
use crate::db::DbError;
use crate::projection::FieldSet;
use crate::projection::Project;

pub use generar::generar_personas;
pub use nacimientos::Revision;
pub use recepcion::{
    Contenido, Cupo, Preparado, Recepcion, SinCupo, aplicar, preparar, recibir, terminar,
};
pub use registro::{Procedencia, procedencia, registros_desde};

/// Rejections kept in full in a report; beyond this only their number is kept
/// (`rechazos_omitidos`), so a report stays small whatever the file.
pub const MAX_RECHAZOS: usize = 1_000;

/// Longest record read from a batch file (bytes): a record of any kind is well under 2 KiB, and
/// a longer one is not held in memory to find out.
pub const MAX_REGISTRO: u64 = 64 * 1024;

/// Records applied per statement inside the batch's transaction (and per progress step).
const APPLY_CHUNK: u64 = 50_000;

impl TipoLote {
    /// A kind from a request, or the error that names the kinds there are.
    pub fn from_request(text: &str) -> Result<TipoLote, crate::error::ApiError> {
        Self::parse(text).ok_or_else(|| {
            crate::error::ApiError::new(
                crate::error::ErrorCode::LoteTipoDesconocido,
                format!(
                    "the feed kinds are {}",
                    Self::ALL.map(TipoLote::as_str).join(", ")
                ),
            )
        })
    }

    /// The columns of this kind's CSV header (and the element names of its XML records), in
    /// order.
    pub fn columnas(self) -> &'static [&'static str] {
        feeds::columnas(self)
    }

    /// The fields of the registry a record of this kind sets (for provenance questions).
    pub fn campos(self) -> &'static [&'static str] {
        feeds::campos(self)
    }
}

/// The format of a batch file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Formato {
    /// UTF-8, comma-separated, a header row with the kind's columns.
    Csv,
    /// The kind's XML document (`schemas/lotes-v1.xsd`).
    Xml,
}

impl Formato {
    pub fn as_str(self) -> &'static str {
        match self {
            Formato::Csv => "csv",
            Formato::Xml => "xml",
        }
    }

    pub fn parse(text: &str) -> Option<Formato> {
        match text {
            "csv" => Some(Formato::Csv),
            "xml" => Some(Formato::Xml),
            _ => None,
        }
    }
}

/// Who sends a batch and how.
#[derive(Debug, Clone)]
pub struct Envio {
    /// The provider agreement it is sent under.
    pub convenio: String,
    pub tipo: TipoLote,
    pub formato: Formato,
    /// The provider's own batch id, if it gave one (1 to 128 visible ASCII characters).
    pub clave_proveedor: Option<String>,
    /// `rest`, `soap` or `cli`.
    pub transporte: &'static str,
    /// The request's message id (it names the batch's audit record).
    pub id_mensaje: Option<String>,
    /// The agreement's comuna (scope), if it has one: a scoped provider's records may only
    /// touch households of that comuna.
    pub alcance: Option<crate::domain::Ambito>,
    /// Which fichas a birth marks for review, by their model (from the node's models).
    pub revision: Revision,
}

impl Envio {
    /// A batch sent under `convenio` (its id and scope).
    pub fn de(
        convenio: &crate::convenios::Convenio,
        tipo: TipoLote,
        formato: Formato,
        clave_proveedor: Option<String>,
        transporte: &'static str,
        id_mensaje: Option<String>,
        revision: Revision,
    ) -> Envio {
        Envio {
            convenio: convenio.id.to_string(),
            tipo,
            formato,
            clave_proveedor,
            transporte,
            id_mensaje,
            alcance: convenio.ambito,
            revision,
        }
    }
}

/// Whether `convenio` may send batches of `tipo`: RecepcionLotes granted for that kind, or
/// `NO_AUTORIZADO`. Checked before a batch's body is read.
pub fn comprobar_tipo(
    convenio: &crate::convenios::Convenio,
    tipo: TipoLote,
) -> Result<(), crate::error::ApiError> {
    let grant = convenio.grant(crate::catalog::Operation::RecepcionLotes);
    if grant.is_some_and(|g| g.allows_tipo(tipo)) {
        Ok(())
    } else {
        Err(crate::error::ApiError::no_autorizado(format!(
            "the agreement does not grant RecepcionLotes for {tipo}"
        )))
    }
}

/// One record the batch could not take.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Rechazo {
    /// Line of the file where the record starts (the header is line 1 in CSV).
    pub linea: u64,
    /// Stable code (`RUN_INVALIDO`, `COMUNA_DESCONOCIDA`, …).
    pub codigo: String,
    pub motivo: String,
}

/// The report of a batch: what it read, applied and rejected.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Informe {
    pub lote: i64,
    pub convenio: String,
    pub tipo: String,
    pub formato: String,
    /// The provider's batch id, or `sha256:<hex>` of the content.
    pub clave: String,
    pub sha256: String,
    pub leidos: u64,
    pub aplicados: u64,
    pub rechazados: u64,
    /// The first [`MAX_RECHAZOS`] rejections, by line.
    pub rechazos: Vec<Rechazo>,
    /// Rejections counted but not listed.
    pub rechazos_omitidos: u64,
    /// What was accepted but worth knowing (a BOM, CRLF line ends).
    pub avisos: Vec<String>,
    pub recibido: DateTime<Utc>,
    pub aplicado: DateTime<Utc>,
    /// True when this batch had already been applied: nothing changed, this is the first
    /// report.
    #[serde(default)]
    pub repetido: bool,
    /// The persons named by lines refused against the registry, with each line's code (never
    /// sent nor stored in the report): the batch's audit record names them, so that each such
    /// line shows in its person's access report.
    #[serde(skip)]
    pub sujetos_rechazados: Vec<(crate::domain::Run, &'static str)>,
}

impl Project for Informe {
    fn project(&mut self, grant: &FieldSet) {
        if !grant.contains("rechazos") {
            self.rechazos.clear();
        }
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        crate::catalog::LOTES_FIELDS.iter().copied().collect()
    }

    fn undisclosed(&self) -> Vec<(crate::domain::Run, &'static str)> {
        self.sujetos_rechazados.clone()
    }
}

/// Why a batch was refused as a whole (nothing applied).
#[derive(Debug, thiserror::Error)]
pub enum LoteError {
    /// The header is not the kind's. What the file holds is not repeated back: `diferencia`
    /// says where it differs, in the node's words.
    #[error("the header of the file does not match a {tipo} batch ({expected}): {diferencia}")]
    Encabezado {
        tipo: TipoLote,
        expected: String,
        diferencia: String,
    },
    /// A record longer than [`MAX_REGISTRO`] bytes (a quote never closed, an endless text):
    /// the batch is refused whole rather than held in memory.
    #[error(
        "the record that starts near line {linea} is longer than {MAX_REGISTRO} bytes; no record of a batch is that long"
    )]
    RegistroDemasiadoGrande { linea: u64 },
    #[error("the file is not a valid {formato} batch: {detail}")]
    Formato {
        formato: &'static str,
        detail: String,
    },
    #[error("the file holds no record")]
    Vacio,
    #[error("a provider batch id is 1 to 128 visible ASCII characters")]
    ClaveInvalida,
    #[error(
        "batch id {0:?} was already used for a batch with different content; give each batch its own id"
    )]
    ClaveReutilizada(String),
    #[error("cannot read the batch file: {0}")]
    Io(#[from] std::io::Error),
    /// The sender's rate or quota cannot take the batch's records (or it is larger than the
    /// agreement's burst).
    #[error("{0}")]
    Cupo(crate::error::ApiError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for LoteError {
    fn from(e: diesel::result::Error) -> Self {
        LoteError::Db(DbError::Query(e))
    }
}

/// What a batch reports while it runs, for progress bars.
pub trait Progreso {
    /// Validation: bytes read of the total, records read so far.
    fn validando(&mut self, bytes: u64, total_bytes: u64, registros: u64);
    /// Application: records applied of the total (called once with 0 when it starts).
    fn aplicando(&mut self, aplicados: u64, total: u64);
}

/// No progress reporting.
pub struct SinProgreso;

impl Progreso for SinProgreso {
    fn validando(&mut self, _: u64, _: u64, _: u64) {}
    fn aplicando(&mut self, _: u64, _: u64) {}
}

impl From<LoteError> for crate::error::ApiError {
    fn from(e: LoteError) -> Self {
        use crate::error::ApiError;
        let detail = e.to_string();
        match e {
            LoteError::Encabezado { .. } => {
                ApiError::new(crate::error::ErrorCode::LoteEncabezadoInvalido, detail)
            }
            LoteError::RegistroDemasiadoGrande { .. } => {
                ApiError::new(crate::error::ErrorCode::LoteRegistroDemasiadoGrande, detail)
            }
            LoteError::Formato { .. } => {
                ApiError::new(crate::error::ErrorCode::LoteMalformado, detail)
            }
            LoteError::Vacio => ApiError::new(crate::error::ErrorCode::LoteVacio, detail),
            LoteError::ClaveInvalida => {
                ApiError::new(crate::error::ErrorCode::LoteClaveInvalida, detail)
            }
            LoteError::ClaveReutilizada(_) => {
                ApiError::new(crate::error::ErrorCode::LoteClaveReutilizada, detail)
            }
            LoteError::Cupo(error) => error,
            LoteError::Io(error) => {
                tracing::error!(error = %error, "batch file unreadable");
                ApiError::unavailable()
            }
            LoteError::Db(error) => {
                tracing::error!(error = %error, "batch not applied: database error");
                ApiError::unavailable()
            }
        }
    }
}

//! VerificarCertificado: online (folio + code against the node's record) and offline (a
//! payload or a PDF, with only the public key). Transport-free: `rest/verificar.rs` and the
//! command line only decode and render.

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use openssl::pkey::{PKey, Public};
use serde::Serialize;

use super::contenido::{Contenido, Folio};
use super::firma::{Invalid, Payload, code_matches};
use super::{pdf, store};
use crate::db::DbConnection;
use crate::domain::Run;
use crate::projection::Campos;

/// The answer of a verification, for people (HTML) and machines (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Campos)]
#[serde(rename_all = "camelCase")]
pub struct Verificacion {
    #[campos(siempre)]
    pub valido: bool,
    /// `VALIDO`, `FOLIO_DESCONOCIDO`, `CODIGO_INCORRECTO` or `FIRMA_INVALIDA`.
    #[campos(siempre)]
    pub motivo: &'static str,
    #[campos(siempre)]
    pub folio: String,
    /// Only when valid (the code matched and the signature checks).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub certificado: Option<Certificado>,
}

/// What a valid certificate says, as the verification page shows it: everything printed on
/// the document except the RUN, which is masked.
#[derive(Debug, Clone, PartialEq, Serialize, Campos)]
#[serde(rename_all = "camelCase")]
pub struct Certificado {
    #[campos(siempre)]
    pub tipo: &'static str,
    #[campos(siempre)]
    pub emitido: DateTime<Utc>,
    #[campos(siempre)]
    pub emisor: String,
    #[campos(siempre)]
    pub run: String,
    #[campos(siempre)]
    pub nombre: String,
    #[campos(siempre)]
    pub comuna: String,
    #[campos(siempre)]
    pub comuna_nombre: String,
    #[campos(siempre)]
    pub folio_ficha: i64,
    #[campos(siempre)]
    pub fecha_aplicacion: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub puntaje: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quintil: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrantes: Option<u32>,
}

impl Certificado {
    pub fn of(c: &Contenido) -> Certificado {
        Certificado {
            tipo: c.tipo.as_str(),
            emitido: c.emitido,
            emisor: c.emisor.clone(),
            run: c.run_enmascarado(),
            nombre: c.nombre.clone(),
            comuna: c.comuna.to_string(),
            comuna_nombre: c.comuna.comuna().nombre.clone(),
            folio_ficha: c.folio_ficha,
            fecha_aplicacion: c.fecha_aplicacion,
            puntaje: c.puntaje,
            quintil: c.quintil,
            integrantes: c.integrantes,
        }
    }
}

/// An online verification's outcome and the person it concerns (for the audit log).
pub struct Online {
    pub verificacion: Verificacion,
    pub subject: Option<Run>,
}

/// Checks `folio` and `codigo` against the node's record, and the record's signature.
pub fn online(
    conn: &mut DbConnection,
    key: &PKey<Public>,
    folio: &Folio,
    codigo: &str,
) -> diesel::QueryResult<Online> {
    let answer = |motivo, certificado: Option<Certificado>, subject| Online {
        verificacion: Verificacion {
            valido: certificado.is_some(),
            motivo,
            folio: folio.to_string(),
            certificado,
        },
        subject,
    };
    let Some(text) = store::payload_of(conn, folio.as_str())? else {
        return Ok(answer("FOLIO_DESCONOCIDO", None, None));
    };
    let payload = match Payload::verify(&text, key) {
        Ok(p) if p.contenido.folio == *folio => p,
        _ => {
            // The stored record does not verify: altered in the database, or another key.
            tracing::error!(folio = %folio, "stored certificate fails its signature check");
            return Ok(answer("FIRMA_INVALIDA", None, None));
        }
    };
    let run = payload.contenido.run;
    if !code_matches(&payload, codigo) {
        return Ok(answer("CODIGO_INCORRECTO", None, Some(run)));
    }
    Ok(answer(
        "VALIDO",
        Some(Certificado::of(&payload.contenido)),
        Some(run),
    ))
}

#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    Pdf(#[from] pdf::PdfError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl OfflineError {
    /// The stable reason printed by the command line.
    pub fn code(&self) -> &'static str {
        match self {
            OfflineError::Invalid(i) => i.code(),
            OfflineError::Pdf(_) => "PDF_SIN_CERTIFICADO",
            OfflineError::Io { .. } => "ARCHIVO_ILEGIBLE",
        }
    }
}

/// Offline verification of `input`: a PDF file's path (its QR code is read) or a payload.
pub fn offline(input: &str, key: &PKey<Public>) -> Result<Payload, OfflineError> {
    let path = Path::new(input);
    let text = if input.to_ascii_lowercase().ends_with(".pdf") || path.is_file() {
        let bytes = std::fs::read(path).map_err(|source| OfflineError::Io {
            path: input.to_owned(),
            source,
        })?;
        pdf::payload_from_pdf(&bytes)?
    } else {
        input.to_owned()
    };
    Ok(Payload::verify(&text, key)?)
}

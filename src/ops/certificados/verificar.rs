//! VerificarCertificado: online (folio + code against the node's record) and offline (a
//! payload or a PDF, with only the public key). Transport-free: `rest/verificar.rs` and the
//! command line only decode and render.

use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use openssl::pkey::{PKey, Public};
use serde::Serialize;

use super::contenido::{Contenido, Folio};
use super::firma::{Firmado, Invalid, Payload, code_matches, signature_code_matches};
use super::{pdf, store};
use crate::db::DbConnection;
use crate::domain::Run;
use crate::ops::decretos::{self, ContenidoDecreto, FolioDecreto};
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
    /// A valid decree (`DEC-` folio): what it is, never whom it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub decreto: Option<DecretoPublico>,
}

/// What the public verification of a valid decree shows: the decree's heading and how many
/// persons it grants. The persons themselves are personal data, shown only to the agencies
/// whose agreement grants `ConsultarDecreto`.
#[derive(Debug, Clone, PartialEq, Serialize, Campos)]
#[serde(rename_all = "camelCase")]
pub struct DecretoPublico {
    #[campos(siempre)]
    pub emitido: DateTime<Utc>,
    #[campos(siempre)]
    pub emisor: String,
    #[campos(siempre)]
    pub comuna: String,
    #[campos(siempre)]
    pub comuna_nombre: String,
    #[campos(siempre)]
    pub programa: String,
    #[campos(siempre)]
    pub periodo: String,
    #[campos(siempre)]
    pub numero: u32,
    #[campos(siempre)]
    pub otorgadas: u32,
}

/// A folio as the public verification takes it: a certificate's or a decree's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Documento {
    Certificado(Folio),
    Decreto(FolioDecreto),
}

impl Documento {
    pub fn parse(text: &str) -> Option<Documento> {
        Folio::parse(text)
            .map(Documento::Certificado)
            .or_else(|| FolioDecreto::parse(text).map(Documento::Decreto))
    }

    pub fn as_str(&self) -> &str {
        match self {
            Documento::Certificado(f) => f.as_str(),
            Documento::Decreto(f) => f.as_str(),
        }
    }
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
    documento: &Documento,
    codigo: &str,
) -> diesel::QueryResult<Online> {
    let folio = match documento {
        Documento::Certificado(folio) => folio,
        Documento::Decreto(folio) => return online_decreto(conn, key, folio, codigo),
    };
    let answer = |motivo, certificado: Option<Certificado>, subject| Online {
        verificacion: Verificacion {
            valido: certificado.is_some(),
            motivo,
            folio: folio.to_string(),
            certificado,
            decreto: None,
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

/// A decree's online verification: the stored payload's signature, its lines against the
/// hash it signs, and the code. Names nobody: the answer shows no person.
fn online_decreto(
    conn: &mut DbConnection,
    key: &PKey<Public>,
    folio: &FolioDecreto,
    codigo: &str,
) -> diesel::QueryResult<Online> {
    let answer = |motivo, decreto: Option<DecretoPublico>| Online {
        verificacion: Verificacion {
            valido: decreto.is_some(),
            motivo,
            folio: folio.to_string(),
            certificado: None,
            decreto,
        },
        subject: None,
    };
    let Some(registro) = decretos::store::registro(conn, folio.as_str())? else {
        return Ok(answer("FOLIO_DESCONOCIDO", None));
    };
    let firmado = Firmado::verify(&registro.payload, key).ok();
    let contenido = firmado
        .as_ref()
        .and_then(|f| ContenidoDecreto::parse(&f.text))
        .filter(|c| c.folio == *folio);
    let (Some(firmado), Some(c)) = (firmado, contenido) else {
        tracing::error!(folio = %folio, "stored decree fails its signature check");
        return Ok(answer("FIRMA_INVALIDA", None));
    };
    let lineas = decretos::store::lineas(conn, folio.as_str())?;
    if decretos::contenido::lineas_sha256(&lineas) != c.lineas_sha256 {
        tracing::error!(folio = %folio, "stored decree lines differ from the signed hash");
        return Ok(answer("FIRMA_INVALIDA", None));
    }
    if !signature_code_matches(&firmado.signature, codigo) {
        return Ok(answer("CODIGO_INCORRECTO", None));
    }
    Ok(answer(
        "VALIDO",
        Some(DecretoPublico {
            emitido: c.emitido,
            emisor: c.emisor.clone(),
            comuna: c.comuna.to_string(),
            comuna_nombre: c.comuna.comuna().nombre.clone(),
            programa: c.programa.clone(),
            periodo: c.periodo.to_string(),
            numero: c.numero,
            otorgadas: c.otorgadas,
        }),
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

/// A document that verified offline.
pub enum Verificado {
    Certificado(Payload),
    /// A decree's signed heading and its code; its lines are checked against
    /// `lineas_sha256` by whoever holds them (the PDF prints them).
    Decreto(ContenidoDecreto, String),
}

/// Offline verification of `input`: a PDF file's path (its QR code is read) or a payload, of
/// a certificate or a decree.
pub fn offline(input: &str, key: &PKey<Public>) -> Result<Verificado, OfflineError> {
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
    let firmado = Firmado::verify(&text, key)?;
    if let Some(decreto) = ContenidoDecreto::parse(&firmado.text) {
        return Ok(Verificado::Decreto(decreto, firmado.code()));
    }
    let contenido = Contenido::parse(&firmado.text).ok_or(Invalid::Malformed)?;
    Ok(Verificado::Certificado(Payload {
        contenido,
        signature: firmado.signature,
    }))
}

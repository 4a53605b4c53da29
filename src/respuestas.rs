//! The answers' shapes: every type an operation answers with, each field's name declared once
//! in its serde attributes. `#[derive(Campos)]` reads them for the catalogue's field paths
//! (what agreements grant), projection, the audit log and the SOAP encoder; the JSON is serde's.
//! Each type's `Project` (its subjects, its audit outcome) lives with its operation in `ops/`.
//!
//! `#[campos(run)]` marks a RUN (XML `t:Run`), `anidado` a nested answer type, `elemento` the
//! XML element of each item of a list (inside an element named after the field with
//! `envoltorio`), `etiqueta` a field only some operations carry (see `catalog`).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Serialize, Serializer};

use crate::domain::Run;
use crate::projection::Campos;

// ConsultarFichaFPS

#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FichaFps {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folio: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub puntaje: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quintil: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_aplicacion: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub comuna: Option<ComunaRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallecido: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "integrante")]
    pub integrantes: Option<Vec<IntegranteFicha>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
pub struct ComunaRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codigo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nombre: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegranteFicha {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nombres: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apellido_paterno: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apellido_materno: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_nacimiento: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sexo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parentesco: Option<String>,
}

// ValidarIdentidad

#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Coincidencias {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nombres: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apellido_paterno: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apellido_materno: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_nacimiento: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
pub struct ValidacionIdentidad {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub coincidencias: Option<Coincidencias>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vivo: Option<bool>,
}

// ConsultarElegibilidad

#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
pub struct Elegibilidad {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programa: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elegible: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regla: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motivo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub datos: Option<DatosUsados>,
}

/// The registry data the deciding rules read (only those).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DatosUsados {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub puntaje: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quintil: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edad: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallecido: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiene_ficha: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comuna: Option<String>,
}

// ConsultarAccesos

/// One page of a person's access report, newest first, with how many accesses there are in
/// all: the report never stops silently.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Accesos {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    /// Accesses in the whole report, on every page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagina: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub por_pagina: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, elemento = "acceso")]
    pub accesos: Option<Vec<Acceso>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
pub struct Acceso {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convenio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institucion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operacion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposito: Option<String>,
    /// `OK` when something was disclosed about the person, else why not (`NO_AUTORIZADO`,
    /// `FUERA_DE_AMBITO`, `NO_ENCONTRADO`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resultado: Option<String>,
    /// The fields disclosed about the person (empty when nothing was).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(elemento = "campo")]
    pub campos: Option<Vec<String>>,
}

// EmitirCertificado

/// The certified data, as the JSON/SOAP answer shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Datos {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nombre: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folio_ficha: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_aplicacion: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comuna: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub puntaje: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quintil: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrantes: Option<u32>,
}

/// An issued certificate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Emision {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tipo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emitido: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codigo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_verificacion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The PDF, base64 in JSON.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "base64_pdf")]
    #[schema(value_type = Option<String>, format = Byte)]
    pub pdf: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub datos: Option<Datos>,
}

fn base64_pdf<S: Serializer>(pdf: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    use base64::Engine;
    match pdf {
        Some(bytes) => s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes)),
        None => s.serialize_none(),
    }
}

// SolicitarEncuestaje and TrabajarEncuestaje (the fields tagged TrabajarEncuestaje are the
// municipality's only: who asked, and the survey's result)

/// A survey request as an answer carries it (projected onto the grant before it leaves).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Encuestaje {
    /// The person the request is about, for the audit log (never sent).
    #[serde(skip)]
    pub sujeto: Option<Run>,
    /// The members a questionnaire just recorded listed, for the audit log (never sent): each
    /// one's access report shows the survey.
    #[serde(skip)]
    #[schema(ignore)]
    pub encuestados: Vec<Run>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub comuna: Option<ComunaRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(etiqueta = "TrabajarEncuestaje")]
    pub solicitante: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_solicitud: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_vencimiento: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_visita: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visitas_fallidas: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motivo_anulacion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folio: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(etiqueta = "TrabajarEncuestaje")]
    pub puntaje: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(etiqueta = "TrabajarEncuestaje")]
    pub quintil: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(etiqueta = "TrabajarEncuestaje")]
    pub fecha_aplicacion: Option<NaiveDate>,
}

// EstadisticasTerritoriales

/// The answer: when the counts were computed, and the cells asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Estadisticas {
    /// When the summary was computed (RFC 3339, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calculado_en: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, elemento = "celda")]
    pub celdas: Option<Vec<CeldaPublicada>>,
}

/// One published cell. A suppressed one (`reservado`) carries no counts and no average.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CeldaPublicada {
    /// `nacional`, `region` or `comuna`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ambito: Option<&'static str>,
    /// Region code (`13`) or CUT (`13101`); none for the nation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codigo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nombre: Option<String>,
    /// `1` to `5`, or `total` for all quintiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quintil: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservado: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub personas: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hogares: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fichas: Option<u64>,
    /// Mean score of the cell's fichas, to one decimal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub puntaje_promedio: Option<f64>,
}

// EmitirDecreto and ConsultarDecreto

/// A decree: its heading, its signed payload and PDF, and the persons it grants (`lineas`).
/// The heading is no personal data; the lines and the PDF are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decreto {
    /// The persons its lines name, for the audit log (never sent).
    #[serde(skip)]
    pub sujetos: Vec<Run>,
    /// `DEC-XXXX-XXXX-XXXX`, random.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folio: Option<String>,
    /// The comuna's decree number in its year (`N° 15/2026`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numero: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anio: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub comuna: Option<ComunaRef>,
    /// `SUF`, `PASIS` or `SAP`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programa: Option<String>,
    /// The month granted, `YYYY-MM`: benefits are in force from its first day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub periodo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emitido: Option<DateTime<Utc>>,
    /// The agreement it was issued under.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emisor: Option<String>,
    /// How many postulations it grants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub otorgadas: Option<u32>,
    /// EmitirDecreto only: verified postulations left beyond the cupos (now `en_espera`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub en_espera: Option<u32>,
    /// SHA-256 of the lines, as the signed content names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineas_sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codigo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url_verificacion: Option<String>,
    /// The signed content and signature, as the QR code carries them (no persons).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The PDF, base64 in JSON; it prints every line.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "base64_pdf")]
    #[schema(value_type = Option<String>, format = Byte)]
    pub pdf: Option<Vec<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "linea")]
    pub lineas: Option<Vec<LineaDecreto>>,
}

/// One person a decree grants.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineaDecreto {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orden: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nombre: Option<String>,
    /// The score the waiting list ranked by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub puntaje: Option<u16>,
    /// SUF: the causantes paid for; 1 otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub causantes: Option<u32>,
    /// Monthly amount granted, CLP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monto: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postulacion: Option<String>,
}

/// The decrees of a program and month (headings only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decretos {
    pub decretos: Vec<Decreto>,
}

// ActualizarHogar (RegistrarEventoHogar and ConsultarHogar)

/// A household as its municipality keeps it: who lives in it, where, its ficha in force and
/// the history of its changes (src/ops/hogar.rs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Hogar {
    /// Every person the answer names (members, and those the history names), for the audit
    /// log (never sent).
    #[serde(skip)]
    pub sujetos: Vec<Run>,
    /// The member the household was asked by.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub comuna: Option<ComunaRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direccion: Option<String>,
    /// The folio of the household's ficha in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folio: Option<i64>,
    /// Whether that ficha is marked for review (the household changed since its survey).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub en_revision: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "integrante")]
    pub integrantes: Option<Vec<IntegranteHogar>>,
    /// Oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "evento")]
    pub eventos: Option<Vec<EventoHogar>>,
}

/// A member of a household, or a person an event moved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
pub struct IntegranteHogar {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parentesco: Option<String>,
}

/// One change of a household, with its reason and author.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventoHogar {
    /// The household's version after it (1, 2, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secuencia: Option<u32>,
    /// `agregar_integrante`, `quitar_integrante`, `cambiar_domicilio`, `dividir`, or
    /// `encuestar` (a survey's record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evento: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registrado: Option<DateTime<Utc>>,
    /// The persons it moved (in or out).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "integrante")]
    pub integrantes: Option<Vec<IntegranteHogar>>,
    /// The new address (`cambiar_domicilio`) or the new household's (`dividir`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direccion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motivo: Option<String>,
    /// The agreement that recorded it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convenio: Option<String>,
    /// The console user who recorded it (their RUN), when it came from the console.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usuario: Option<String>,
    /// Whether it marked the ficha in force for review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub marca_revision: Option<bool>,
}

// PostularBeneficio

/// A postulation to SUF, PASIS or SAP, with its checks as last run (projected onto the grant
/// before it leaves).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Postulacion {
    /// The applicant and the causantes, for the audit log (never sent).
    #[serde(skip)]
    pub sujetos: Vec<Run>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programa: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub comuna: Option<ComunaRef>,
    /// `postulada`, `verificada`, `rechazada`, `en_espera`, `otorgada`, `desistida`, `anulada`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_postulacion: Option<NaiveDate>,
    /// The applicant's FPS score at the last check (the waiting list's first key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub puntaje: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decreto_folio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motivo_cierre: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "causante")]
    pub causantes: Option<Vec<CausantePostulacion>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "chequeo")]
    pub chequeos: Option<Vec<ChequeoPostulacion>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
pub struct CausantePostulacion {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    /// `menor`, `invalido`, `madre` or `gestante`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tipo: Option<String>,
}

/// One automatic check, with the rule's id in the rules file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
pub struct ChequeoPostulacion {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regla: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cumple: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motivo: Option<String>,
    /// The registry datum the rule read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dato: Option<String>,
}

// FijarCupos

/// The cupos of a program in a comuna and year, and how many are in use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Cupos {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub comuna: Option<ComunaRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programa: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anio: Option<u16>,
    /// Benefits of the program that may be in force in the comuna (0 when never set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cupos: Option<u32>,
    /// Postulations `otorgada` now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usados: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disponibles: Option<u32>,
    /// The agreement that set them last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fijado_por: Option<String>,
}

// Suscripciones (docs/eventos.md)

/// One event as a subscriber receives it (pulled or pushed), projected onto the agreement's
/// grant of `Suscripciones` in force when it is read or sent. Which fields an event carries
/// depends on its `tipo` (docs/eventos.md); the others are absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Notificacion {
    /// Its idempotency key: the same for every delivery of this event to this subscription.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The subscription's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suscripcion: Option<String>,
    /// 1, 2, 3, … within the subscription, without gaps: the pull cursor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secuencia: Option<i64>,
    /// `defuncion`, `nacimiento`, `ficha_creada`, `ficha_reemplazada`, `comuna_cambiada`,
    /// `beneficio_otorgado` or `beneficio_terminado`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tipo: Option<String>,
    /// When the registry recorded the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registrado: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    /// A birth's mother; a benefit's payee when the person is a SUF causante.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run_relacionado: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_defuncion: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_nacimiento: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sexo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folio: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folio_anterior: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub puntaje: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quintil: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_aplicacion: Option<NaiveDate>,
    /// The comuna (CUT) of the person's household after the change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comuna: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comuna_anterior: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programa: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_inicio: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_termino: Option<NaiveDate>,
    /// The folio of the decree that granted the benefit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decreto: Option<String>,
}

//! The questionnaire an `encuestar` event carries: the household as surveyed (address, zone,
//! dwelling) and each member's facts the scoring model reads. Checked here against the model's
//! bounds before anything is read or written; every refusal is `ENCUESTA_INVALIDA` naming the
//! field as a path with indexes (`integrantes[2].ingresoTrabajo`), never a RUN.

use std::sync::Arc;

use serde::Deserialize;

use crate::domain::Run;
use crate::error::{ApiError, ErrorCode};
use crate::modelos::{Actividad, Modelo, Modelos, Salud};

/// Relationships to the household's head a member may have; exactly one member is `jefe`.
pub const PARENTESCOS: [&str; 8] = [
    "jefe",
    "conyuge",
    "hijo",
    "padre_madre",
    "hermano",
    "nieto",
    "otro_pariente",
    "no_pariente",
];
pub const ZONAS: [&str; 2] = ["urbana", "rural"];
pub const TENENCIAS: [&str; 4] = ["propia", "arrendada", "cedida", "otra"];
pub const AGUAS: [&str; 4] = ["red_publica", "pozo", "camion", "otra"];
pub const SANEAMIENTOS: [&str; 4] = ["alcantarillado", "fosa_septica", "pozo_negro", "ninguno"];
/// Longest address, in characters.
pub const MAX_DIRECCION: usize = 200;
pub const MAX_PIEZAS: i64 = 30;

/// The questionnaire as a transport decoded it, before any check.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncuestaEntrada {
    pub direccion: Option<String>,
    /// `urbana` or `rural`.
    pub zona: Option<String>,
    pub vivienda: Option<ViviendaEntrada>,
    /// In the order surveyed; error paths name members by their index from 0.
    #[serde(default)]
    pub integrantes: Vec<IntegranteEntrada>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ViviendaEntrada {
    /// `propia`, `arrendada`, `cedida` or `otra`.
    pub tenencia: Option<String>,
    /// `red_publica`, `pozo`, `camion` or `otra`.
    pub agua: Option<String>,
    /// `alcantarillado`, `fosa_septica`, `pozo_negro` or `ninguno`.
    pub saneamiento: Option<String>,
    /// Rooms, 1 to 30.
    pub piezas: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegranteEntrada {
    pub run: Option<String>,
    pub parentesco: Option<String>,
    pub escolaridad_anios: Option<i64>,
    pub asiste_educacion: Option<bool>,
    /// `ninguna`, `cronica`, `discapacidad_leve`, `discapacidad_moderada`, `discapacidad_severa`.
    pub salud: Option<String>,
    /// `ocupado`, `desocupado` or `inactivo`.
    pub actividad: Option<String>,
    /// CLP a month, 0 to the model's `ingreso_max`.
    pub ingreso_trabajo: Option<i64>,
    pub ingreso_pensiones: Option<i64>,
    pub ingreso_otros: Option<i64>,
}

/// A checked questionnaire with the model that will score it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cuestionario {
    pub modelo: Arc<Modelo>,
    pub direccion: String,
    pub zona: &'static str,
    pub tenencia: &'static str,
    pub agua: &'static str,
    pub saneamiento: &'static str,
    pub piezas: i32,
    pub integrantes: Vec<Integrante>,
}

/// One checked member.
#[derive(Debug, Clone, PartialEq)]
pub struct Integrante {
    pub run: Run,
    pub parentesco: &'static str,
    pub escolaridad_anios: u32,
    pub asiste_educacion: bool,
    pub salud: Salud,
    pub actividad: Actividad,
    pub ingreso_trabajo: i64,
    pub ingreso_pensiones: i64,
    pub ingreso_otros: i64,
}

/// `ENCUESTA_INVALIDA` at `campo`.
pub fn invalida(campo: impl Into<String>, detail: impl Into<String>) -> ApiError {
    let campo = campo.into();
    let detail = format!("{campo}: {}", detail.into());
    ApiError::new(ErrorCode::EncuestaInvalida, detail).en_campo(campo)
}

fn requerido<T>(value: Option<T>, campo: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| invalida(campo, "is required"))
}

/// One of `allowed`, by its text.
fn uno_de(
    value: Option<&str>,
    allowed: &[&'static str],
    campo: &str,
) -> Result<&'static str, ApiError> {
    let value = requerido(value, campo)?;
    allowed
        .iter()
        .find(|a| **a == value.trim())
        .copied()
        .ok_or_else(|| invalida(campo, format!("is one of {}", allowed.join(", "))))
}

fn entero(value: Option<i64>, lo: i64, hi: i64, campo: &str) -> Result<i64, ApiError> {
    let value = requerido(value, campo)?;
    if (lo..=hi).contains(&value) {
        Ok(value)
    } else {
        Err(invalida(
            campo,
            format!("is a whole number from {lo} to {hi}"),
        ))
    }
}

/// The model a survey names (`modelo`), or the one in force.
pub fn modelo<'a>(modelos: &'a Modelos, nombre: Option<&str>) -> Result<&'a Arc<Modelo>, ApiError> {
    match nombre.map(str::trim) {
        None | Some("") => Ok(modelos.vigente()),
        Some(n) => modelos.get(n).ok_or_else(|| {
            let shown: String = n.chars().take(40).collect();
            invalida(
                "modelo",
                format!(
                    "no scoring model {shown:?} (models: {})",
                    modelos
                        .iter()
                        .map(|c| c.modelo.nombre.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        }),
    }
}

/// Checks the questionnaire in its fields' order; the first problem is the one told.
pub fn validar(e: &EncuestaEntrada, modelo: &Arc<Modelo>) -> Result<Cuestionario, ApiError> {
    let v = modelo.validacion;
    let direccion = requerido(e.direccion.as_deref(), "direccion")?.trim();
    if direccion.is_empty() || direccion.chars().count() > MAX_DIRECCION {
        return Err(invalida(
            "direccion",
            format!("holds 1 to {MAX_DIRECCION} characters"),
        ));
    }
    let zona = uno_de(e.zona.as_deref(), &ZONAS, "zona")?;
    let vivienda = requerido(e.vivienda.as_ref(), "vivienda")?;
    let tenencia = uno_de(
        vivienda.tenencia.as_deref(),
        &TENENCIAS,
        "vivienda.tenencia",
    )?;
    let agua = uno_de(vivienda.agua.as_deref(), &AGUAS, "vivienda.agua")?;
    let saneamiento = uno_de(
        vivienda.saneamiento.as_deref(),
        &SANEAMIENTOS,
        "vivienda.saneamiento",
    )?;
    let piezas = entero(vivienda.piezas, 1, MAX_PIEZAS, "vivienda.piezas")? as i32;
    if e.integrantes.is_empty() || e.integrantes.len() > v.integrantes_max {
        return Err(invalida(
            "integrantes",
            format!(
                "lists 1 to {} members under the model {}",
                v.integrantes_max, modelo.nombre
            ),
        ));
    }
    let mut integrantes: Vec<Integrante> = Vec::with_capacity(e.integrantes.len());
    for (i, m) in e.integrantes.iter().enumerate() {
        let at = |campo: &str| format!("integrantes[{i}].{campo}");
        let run = requerido(m.run.as_deref(), &at("run"))?;
        let run = Run::parse(run).map_err(|e| invalida(at("run"), format!("invalid RUN: {e}")))?;
        if let Some(j) = integrantes.iter().position(|o| o.run == run) {
            return Err(invalida(
                at("run"),
                format!("the same person as integrantes[{j}]"),
            ));
        }
        let parentesco = uno_de(m.parentesco.as_deref(), &PARENTESCOS, &at("parentesco"))?;
        if parentesco == "jefe" && integrantes.iter().any(|o| o.parentesco == "jefe") {
            return Err(invalida(at("parentesco"), "a household has one jefe"));
        }
        let escolaridad = entero(
            m.escolaridad_anios,
            0,
            i64::from(v.escolaridad_max),
            &at("escolaridadAnios"),
        )?;
        let asiste = requerido(m.asiste_educacion, &at("asisteEducacion"))?;
        let salud = requerido(m.salud.as_deref(), &at("salud"))?;
        let salud = Salud::parse(salud.trim()).ok_or_else(|| {
            let all: Vec<_> = Salud::ALL.iter().map(|s| s.as_str()).collect();
            invalida(at("salud"), format!("is one of {}", all.join(", ")))
        })?;
        let actividad = requerido(m.actividad.as_deref(), &at("actividad"))?;
        let actividad = Actividad::parse(actividad.trim()).ok_or_else(|| {
            let all: Vec<_> = Actividad::ALL.iter().map(|a| a.as_str()).collect();
            invalida(at("actividad"), format!("is one of {}", all.join(", ")))
        })?;
        let ingreso = |value, campo: &str| entero(value, 0, v.ingreso_max, &at(campo));
        integrantes.push(Integrante {
            run,
            parentesco,
            escolaridad_anios: escolaridad as u32,
            asiste_educacion: asiste,
            salud,
            actividad,
            ingreso_trabajo: ingreso(m.ingreso_trabajo, "ingresoTrabajo")?,
            ingreso_pensiones: ingreso(m.ingreso_pensiones, "ingresoPensiones")?,
            ingreso_otros: ingreso(m.ingreso_otros, "ingresoOtros")?,
        });
    }
    if !integrantes.iter().any(|m| m.parentesco == "jefe") {
        return Err(invalida("integrantes", "a household has one jefe"));
    }
    Ok(Cuestionario {
        modelo: modelo.clone(),
        direccion: direccion.to_owned(),
        zona,
        tenencia,
        agua,
        saneamiento,
        piezas,
        integrantes,
    })
}

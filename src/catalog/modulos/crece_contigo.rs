//! Chile Crece Contigo's contract (docs/crece_contigo.md): what agreements can grant of it, and
//! the shapes of its answers. The operations themselves are in `src/modulos/crece_contigo`.

use chrono::NaiveDate;
use serde::Serialize;

use super::{Contrato, DefLista, DefOperacion, ExigeAmbito};
use crate::catalog::Rol;
use crate::domain::Run;
use crate::projection::Campos;
use crate::respuestas::ComunaRef;

/// Registers a follow-up: the entry of a gestante and its events (controls, alerts,
/// referrals, the birth, the exit).
pub const REGISTRAR: &str = "RegistrarSeguimientoChCC";
/// Reads the follow-up of a gestante or a child, by RUN.
pub const CONSULTAR: &str = "ConsultarSeguimientoChCC";
/// The receiving side of referrals: lists a sector's tray and answers each referral.
pub const GESTIONAR: &str = "GestionarDerivacionChCC";

/// Fields never granted to a sector that is not health's or the municipality's: the alert a
/// referral answers is health data (docs/crece_contigo.md, "Alerts and education").
pub const SOLO_SALUD: &[&str] = &["alerta"];

const SECTORES: DefLista = DefLista {
    clave: "sectores",
    valores: &["salud", "educacion", "municipio"],
    requerida: true,
};

pub const CONTRATO: Contrato = Contrato {
    nombre: "crece_contigo",
    operaciones: &[
        DefOperacion {
            nombre: REGISTRAR,
            campos: <SeguimientoChCC as Campos>::campos,
            ambito: ExigeAmbito::Alguno,
            roles: &[Rol::JefeComunal, Rol::Atencion, Rol::Operador],
            listas: &[],
            replica: false,
        },
        DefOperacion {
            nombre: CONSULTAR,
            campos: <SeguimientoChCC as Campos>::campos,
            ambito: ExigeAmbito::Alguno,
            roles: &[Rol::JefeComunal, Rol::Atencion, Rol::Operador],
            listas: &[],
            replica: false,
        },
        DefOperacion {
            nombre: GESTIONAR,
            campos: <DerivacionChCC as Campos>::campos,
            ambito: ExigeAmbito::Libre,
            roles: &[Rol::JefeComunal, Rol::Atencion, Rol::Operador],
            listas: &[SECTORES],
            replica: false,
        },
    ],
};

/// A follow-up of Chile Crece Contigo: the gestante's entry, her child once born, and what was
/// recorded on it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SeguimientoChCC {
    /// The gestante and the child, for the audit log (never sent).
    #[serde(skip)]
    pub sujetos: Vec<Run>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run_gestante: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run_nino: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub comuna: Option<ComunaRef>,
    /// `gestacion`, `nino` or `egresado`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_ingreso: Option<NaiveDate>,
    /// Weeks of gestation at entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semanas_ingreso: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_probable_parto: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_nacimiento: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motivo_egreso: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "control")]
    pub controles: Option<Vec<ControlChCC>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "alerta")]
    pub alertas: Option<Vec<AlertaChCC>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "derivacion")]
    pub derivaciones: Option<Vec<DerivacionResumenChCC>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
pub struct ControlChCC {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha: Option<NaiveDate>,
    /// `prenatal`, `nino_sano` or `desarrollo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tipo: Option<String>,
    /// `normal`, `rezago`, `riesgo` or `retraso`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resultado: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
pub struct AlertaChCC {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codigo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha: Option<NaiveDate>,
    /// `activa` or `resuelta`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
}

/// A referral as its follow-up lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DerivacionResumenChCC {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sector_destino: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prestacion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
}

/// A referral as the receiving sector sees it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DerivacionChCC {
    /// The gestante and the child, for the audit log (never sent).
    #[serde(skip)]
    pub sujetos: Vec<Run>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run_gestante: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run_nino: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nombres_nino: Option<String>,
    /// The child's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_nacimiento: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub comuna: Option<ComunaRef>,
    /// `salud`, `educacion` or `municipio`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sector_destino: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prestacion: Option<String>,
    /// `enviada`, `recibida`, `atendida` or `rechazada`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_derivacion: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_respuesta: Option<NaiveDate>,
    /// The code of the alert the referral answers: health data, never sent to education
    /// (a referral to `educacion` never carries it, whatever the grant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerta: Option<String>,
}

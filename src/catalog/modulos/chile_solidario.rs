//! Chile Solidario's contract (Ley 19.949; docs/chile_solidario.md): what an agreement may be
//! granted and the answer's fields. The operations themselves are `modulos::chile_solidario`.

use chrono::NaiveDate;
use serde::Serialize;

use super::{Contrato, DefLista, DefOperacion, ExigeAmbito};
use crate::catalog::Rol;
use crate::domain::Run;
use crate::projection::Campos;
use crate::respuestas::ComunaRef;

/// The municipality's work on its comuna's participations: ingreso, reading one, the list and
/// the events (sesion, condicion, pago_bono, egreso).
pub const TRABAJAR: &str = "TrabajarParticipacionCHS";
/// An agency's lookup of a household's participations by the RUN of any member.
pub const CONSULTAR: &str = "ConsultarParticipacionCHS";

/// The programs of the Sistema Chile Solidario this module keeps.
pub const PROGRAMAS: [&str; 2] = ["puente", "vinculos"];

pub const CONTRATO: Contrato = Contrato {
    nombre: "chile_solidario",
    operaciones: &[
        DefOperacion {
            nombre: TRABAJAR,
            campos: <ParticipacionChs as Campos>::campos,
            ambito: ExigeAmbito::Comuna,
            roles: &[Rol::JefeComunal, Rol::Atencion, Rol::Operador],
            listas: &[],
            replica: false,
        },
        DefOperacion {
            nombre: CONSULTAR,
            campos: <ParticipacionChs as Campos>::campos,
            ambito: ExigeAmbito::Libre,
            roles: &[
                Rol::Atencion,
                Rol::Supervisor,
                Rol::JefeComunal,
                Rol::Operador,
            ],
            // Which programs' participations the agreement sees (SENAMA: Vínculos only).
            listas: &[DefLista {
                clave: "programas",
                valores: &PROGRAMAS,
                requerida: true,
            }],
            replica: false,
        },
    ],
};

/// A household's participation in Puente or Vínculos, projected onto the grant before it
/// leaves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipacionChs {
    /// The persons the answer tells about (the titular, and the member asked about), for the
    /// audit log (never sent).
    #[serde(skip)]
    pub sujetos: Vec<Run>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The household's titular.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    /// `puente` or `vinculos`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programa: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub comuna: Option<ComunaRef>,
    /// `apoyo` (accompanied), `egresada` (left having met its conditions) or `interrumpida`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_ingreso: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_egreso: Option<NaiveDate>,
    /// `cumplimiento`, `no_cumplimiento`, `renuncia`, `traslado` or `fallecimiento`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motivo_egreso: Option<String>,
    /// The Apoyo Familiar's worker code (not a RUN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apoyo_familiar: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "condicion")]
    pub condiciones: Option<Vec<CondicionChs>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "sesion")]
    pub sesiones: Option<Vec<SesionChs>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "bono")]
    pub bonos: Option<Vec<BonoChs>>,
}

/// One condición mínima of a participation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
pub struct CondicionChs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codigo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dimension: Option<String>,
    /// `a_trabajar`, `cumplida` or `no_corresponde`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha: Option<NaiveDate>,
}

/// One session of the Apoyo Familiar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
pub struct SesionChs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numero: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha: Option<NaiveDate>,
    /// `domiciliaria` or `grupal`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tipo: Option<String>,
}

/// One month of the bono de protección or de egreso.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
pub struct BonoChs {
    /// `proteccion` or `egreso`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tipo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mes: Option<u32>,
    /// `YYYY-MM`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub periodo: Option<String>,
    /// Pesos.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monto: Option<u32>,
    /// `programado`, `pagado` or `suspendido`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
}

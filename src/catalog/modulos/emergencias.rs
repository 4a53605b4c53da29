//! The emergency registry's contract (docs/emergencias.md): what agreements can be granted
//! (DeclararEmergencia, RegistrarDamnificados, InformeEmergencia), each answer's fields and
//! scope rule. The operations are in `modulos::emergencias`.

use chrono::NaiveDate;
use serde::Serialize;

use super::{Contrato, DefOperacion, ExigeAmbito};
use crate::catalog::Rol;
use crate::domain::Run;
use crate::projection::Campos;
use crate::respuestas::ComunaRef;

/// The operator declares, reads, lists and closes emergencies (national: no scope).
pub const DECLARAR: &str = "DeclararEmergencia";
/// A municipality (or a region's or province's office) registers affected households and the
/// aid they receive, and reads those whose origin or destination lies within its scope.
pub const REGISTRAR: &str = "RegistrarDamnificados";
/// Households and aid by territory and aid type, small counts suppressed: names no person.
pub const INFORME: &str = "InformeEmergencia";

pub const CONTRATO: Contrato = Contrato {
    nombre: "emergencias",
    operaciones: &[
        DefOperacion {
            nombre: DECLARAR,
            campos: <Emergencia as Campos>::campos,
            ambito: ExigeAmbito::Nacional,
            roles: &[Rol::Operador],
            listas: &[],
            replica: false,
        },
        DefOperacion {
            nombre: REGISTRAR,
            campos: <RegistroDamnificado as Campos>::campos,
            ambito: ExigeAmbito::Alguno,
            roles: &[Rol::Atencion, Rol::JefeComunal, Rol::Operador],
            listas: &[],
            replica: false,
        },
        DefOperacion {
            nombre: INFORME,
            campos: <InformeEmergencia as Campos>::campos,
            ambito: ExigeAmbito::Libre,
            roles: &[Rol::Supervisor, Rol::JefeComunal, Rol::Operador],
            listas: &[],
            replica: false,
        },
    ],
};

/// An emergency: no personal data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Emergencia {
    /// `EMG-2026-XXXXXX`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nombre: Option<String>,
    /// `erupcion`, `terremoto`, `tsunami`, `incendio`, `inundacion` or `otra`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tipo: Option<String>,
    /// `activa` or `cerrada`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_inicio: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_termino: Option<NaiveDate>,
    /// The affected comunas.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "comuna")]
    pub comunas: Option<Vec<ComunaRef>>,
}

/// An affected household as registered, with the aid it received.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistroDamnificado {
    /// The head of household, for the audit log (never sent).
    #[serde(skip)]
    pub sujetos: Vec<Run>,
    /// `DAM-XXXX-XXXX-XXXX`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The emergency's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emergencia: Option<String>,
    /// The head of household.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(run)]
    pub run: Option<String>,
    /// Persons in the household, the head included.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrantes: Option<u32>,
    /// Where the household lived: one of the emergency's affected comunas.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub comuna_origen: Option<ComunaRef>,
    /// Where it is sheltered now.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado)]
    pub comuna_destino: Option<ComunaRef>,
    /// `albergue`, `familiares`, `propia`, `arriendo` or `otro`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alojamiento: Option<String>,
    /// `sin_dano`, `menor`, `mayor`, `inhabitable` or `destruida`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dano: Option<String>,
    /// Of agua, alimentos, abrigo, alojamiento, salud, enseres, vivienda.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(elemento = "necesidad")]
    pub necesidades: Option<Vec<String>>,
    /// The aid delivered, oldest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, envoltorio, elemento = "ayuda")]
    pub ayudas: Option<Vec<Ayuda>>,
}

/// One aid delivery.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
pub struct Ayuda {
    /// `alimentos`, `agua`, `abrigo`, `kit_higiene`, `colchones`, `enseres`, `bono`,
    /// `subsidio_arriendo` or `vivienda_emergencia`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tipo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cantidad: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha: Option<NaiveDate>,
}

/// The emergency's report: households and aid deliveries by territory and aid type, every
/// cell under 10 (and the cells that would give one away by subtraction) reserved.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InformeEmergencia {
    /// The emergency's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emergencia: Option<String>,
    /// When it was computed (RFC 3339, UTC): from the registry as it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub calculado_en: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[campos(anidado, elemento = "celda")]
    pub celdas: Option<Vec<CeldaEmergencia>>,
}

/// One cell of the report. A reserved one carries no counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Campos, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CeldaEmergencia {
    /// `nacional`, `region`, `provincia` or `comuna`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ambito: Option<String>,
    /// Region (`10`), province (`104`) or comuna (`10401`) code; none for the nation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codigo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nombre: Option<String>,
    /// The aid type, or `total` for the households registered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tipo_ayuda: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservado: Option<bool>,
    /// Households (registered, or that received this aid).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hogares: Option<u64>,
    /// Aid deliveries (of this type, or of every type).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entregas: Option<u64>,
}

//! The catalogue of what an agreement can grant: operations, the field paths each can
//! disclose, and the kinds of provider feeds (lotes).
//! Agreements name operations and fields from here; anything else is refused when they load.

pub mod modulos;

use std::fmt;
use std::sync::LazyLock;

pub use modulos::{Contrato, DefLista, DefOperacion, ExigeAmbito, MODULOS};

use crate::projection::Campos;
use crate::respuestas::{
    Accesos, Cupos, Decreto, Elegibilidad, Emision, Encuestaje, Estadisticas, FichaFps, Hogar,
    Notificacion, Postulacion, ValidacionIdentidad,
};

/// An operation of the service core, whatever the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Operation {
    /// "What is this RUN's FPS?" (single RUN or a batch of up to 500).
    ConsultarFichaFPS,
    /// "Is this person who they claim?": per-field match and alive/deceased.
    ValidarIdentidad,
    /// "Does this RUN qualify for program P?"
    ConsultarElegibilidad,
    /// "Who looked at this person's data?" (operators only).
    ConsultarAccesos,
    /// Issue a signed certificate (constancia or certificado FPS) with its PDF.
    EmitirCertificado,
    /// "This person has no FPS; please survey them", and following one's own requests.
    SolicitarEncuestaje,
    /// A municipality works the survey requests of its comuna.
    TrabajarEncuestaje,
    /// Persons, households and fichas by region, comuna and quintile (small cells suppressed).
    EstadisticasTerritoriales,
    /// A provider sends a batch (lote) of records to apply: persons, deaths, … (`tipos` granted).
    RecepcionLotes,
    /// A municipality keeps the households of its comuna: records a change (a member added or
    /// removed, a new address, a split) and reads a household with its history.
    ActualizarHogar,
    /// A municipality takes, follows, lists and closes postulations to SUF, PASIS and SAP of
    /// persons of its comuna (`programas` granted).
    PostularBeneficio,
    /// Set and read the cupos per comuna, program and year (the registry's operators).
    FijarCupos,
    /// A municipality issues the month's decree of a program: the verified postulations within
    /// its cupos granted, signed, with benefits in force (`programas` granted).
    EmitirDecreto,
    /// Read a decree (a municipality its comuna's; SUSESO and IPS those of their programs), or
    /// list a program's decrees of a month (`programas` granted).
    ConsultarDecreto,
    /// Subscribe to events of the kinds granted (`eventos`), read them (pull) or have them sent
    /// to one of the agreement's `callbacks` (push), and close a subscription.
    Suscripciones,
    /// An operation of a module (`crate::modulos`), by the name its contract
    /// ([`modulos::DefOperacion`]) gives it: only names of [`MODULOS`] are ever made.
    Modulo(&'static str),
}

/// Serialized by its name, as agreements and the audit log write it.
impl serde::Serialize for Operation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// Field paths of `RecepcionLotes` answers: the batch's report (`ops::lotes::Informe`, a
/// provider's account of its own batch; of its fields, only `rechazos` is ever withheld).
pub const LOTES_FIELDS: &[&str] = &[
    "lote",
    "tipo",
    "leidos",
    "aplicados",
    "rechazados",
    "rechazos",
];

impl Operation {
    /// The operations of the core (those of the modules: [`Operation::todas`]).
    pub const ALL: [Operation; 15] = [
        Operation::ConsultarFichaFPS,
        Operation::ValidarIdentidad,
        Operation::ConsultarElegibilidad,
        Operation::ConsultarAccesos,
        Operation::EmitirCertificado,
        Operation::SolicitarEncuestaje,
        Operation::TrabajarEncuestaje,
        Operation::EstadisticasTerritoriales,
        Operation::RecepcionLotes,
        Operation::ActualizarHogar,
        Operation::PostularBeneficio,
        Operation::FijarCupos,
        Operation::EmitirDecreto,
        Operation::ConsultarDecreto,
        Operation::Suscripciones,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::ConsultarFichaFPS => "ConsultarFichaFPS",
            Operation::ValidarIdentidad => "ValidarIdentidad",
            Operation::ConsultarElegibilidad => "ConsultarElegibilidad",
            Operation::ConsultarAccesos => "ConsultarAccesos",
            Operation::EmitirCertificado => "EmitirCertificado",
            Operation::SolicitarEncuestaje => "SolicitarEncuestaje",
            Operation::TrabajarEncuestaje => "TrabajarEncuestaje",
            Operation::EstadisticasTerritoriales => "EstadisticasTerritoriales",
            Operation::RecepcionLotes => "RecepcionLotes",
            Operation::ActualizarHogar => "ActualizarHogar",
            Operation::PostularBeneficio => "PostularBeneficio",
            Operation::FijarCupos => "FijarCupos",
            Operation::EmitirDecreto => "EmitirDecreto",
            Operation::ConsultarDecreto => "ConsultarDecreto",
            Operation::Suscripciones => "Suscripciones",
            Operation::Modulo(nombre) => nombre,
        }
    }

    /// Every operation an agreement can grant: the core's, then each module's.
    pub fn todas() -> impl Iterator<Item = Operation> {
        Self::ALL.into_iter().chain(
            MODULOS
                .iter()
                .flat_map(|m| m.operaciones)
                .map(|d| Operation::Modulo(d.nombre)),
        )
    }

    pub fn parse(name: &str) -> Option<Operation> {
        Self::todas().find(|op| op.name() == name)
    }

    /// A module operation's contract (`None` for the core's).
    pub fn modulo(self) -> Option<&'static DefOperacion> {
        match self {
            Operation::Modulo(nombre) => modulos::definicion(nombre),
            _ => None,
        }
    }

    /// The scope an agreement granting this operation must have: a municipality's work needs
    /// its comuna, access reports are national; a module's contract says for its own.
    pub fn exige_ambito(self) -> ExigeAmbito {
        match self {
            Operation::TrabajarEncuestaje
            | Operation::ActualizarHogar
            | Operation::EmitirDecreto => ExigeAmbito::Comuna,
            Operation::ConsultarAccesos => ExigeAmbito::Nacional,
            Operation::Modulo(_) => self.modulo().map_or(ExigeAmbito::Libre, |d| d.ambito),
            _ => ExigeAmbito::Libre,
        }
    }

    /// Every field path this operation's response can carry: its answer type's fields, as
    /// that type declares them (`src/respuestas.rs`), less those tagged for another operation.
    /// `integrantes.*`, `accesos.*`, `celdas.*` apply to each item of the list.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Operation::ConsultarFichaFPS => FichaFps::campos(),
            Operation::ValidarIdentidad => ValidacionIdentidad::campos(),
            Operation::ConsultarElegibilidad => Elegibilidad::campos(),
            Operation::ConsultarAccesos => Accesos::campos(),
            Operation::EmitirCertificado => Emision::campos(),
            Operation::SolicitarEncuestaje => {
                static CAMPOS: LazyLock<Vec<&'static str>> =
                    LazyLock::new(|| sin_etiqueta::<Encuestaje>("TrabajarEncuestaje"));
                &CAMPOS
            }
            Operation::TrabajarEncuestaje => Encuestaje::campos(),
            Operation::EstadisticasTerritoriales => Estadisticas::campos(),
            Operation::RecepcionLotes => LOTES_FIELDS,
            Operation::ActualizarHogar => Hogar::campos(),
            Operation::PostularBeneficio => Postulacion::campos(),
            Operation::FijarCupos => Cupos::campos(),
            Operation::EmitirDecreto | Operation::ConsultarDecreto => Decreto::campos(),
            Operation::Suscripciones => Notificacion::campos(),
            Operation::Modulo(_) => self.modulo().map_or(&[], |d| (d.campos)()),
        }
    }
}

/// `T`'s paths less the leaves tagged `etiqueta` (the fields only that operation carries).
fn sin_etiqueta<T: Campos>(etiqueta: &str) -> Vec<&'static str> {
    let tagged = T::etiquetas();
    T::campos()
        .iter()
        .copied()
        .filter(|c| !tagged.contains(&(c, etiqueta)))
        .collect()
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a console user does, which narrows what their agreement grants (never widens it): a
/// request is admitted only when the agreement grants the operation and the role includes it.
/// Officials hold one of the first five (`consola_usuarios.rol`); `Persona` is a person signed
/// in about themself, under the agreement for persons (`personas = true`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rol {
    /// A counter clerk (ORASMI, a municipality's front desk): lookups, asking for a survey, and
    /// taking postulations.
    Atencion,
    /// A surveyor: works their comuna's survey requests and keeps its households.
    Encuestador,
    /// A comuna's head of social services: the queue, certificates, statistics, and the
    /// agreement's users.
    JefeComunal,
    /// An agency's supervisor: lookups and statistics.
    Supervisor,
    /// The registry's operator: everything the agreement grants, and the users of every agreement.
    Operador,
    /// A person about themself: their ficha, who consulted it, their constancia.
    Persona,
}

impl Rol {
    /// The roles an official may hold.
    pub const FUNCIONARIOS: [Rol; 5] = [
        Rol::Atencion,
        Rol::Encuestador,
        Rol::JefeComunal,
        Rol::Supervisor,
        Rol::Operador,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rol::Atencion => "atencion",
            Rol::Encuestador => "encuestador",
            Rol::JefeComunal => "jefe_comunal",
            Rol::Supervisor => "supervisor",
            Rol::Operador => "operador",
            Rol::Persona => "persona",
        }
    }

    /// What the console shows for it.
    pub fn nombre(self) -> &'static str {
        match self {
            Rol::Atencion => "Atención de público",
            Rol::Encuestador => "Encuestador",
            Rol::JefeComunal => "Jefe comunal",
            Rol::Supervisor => "Supervisor",
            Rol::Operador => "Operador del registro",
            Rol::Persona => "Persona",
        }
    }

    pub fn parse(text: &str) -> Option<Rol> {
        [Rol::Persona]
            .into_iter()
            .chain(Rol::FUNCIONARIOS)
            .find(|rol| rol.as_str() == text)
    }

    /// The core operations this role may use, of those its agreement grants (a module's
    /// contract names the roles of each of its operations).
    pub fn operaciones(self) -> &'static [Operation] {
        use Operation::*;
        match self {
            Rol::Atencion => &[
                ConsultarFichaFPS,
                ValidarIdentidad,
                ConsultarElegibilidad,
                SolicitarEncuestaje,
                PostularBeneficio,
            ],
            Rol::Encuestador => &[ConsultarFichaFPS, TrabajarEncuestaje, ActualizarHogar],
            Rol::JefeComunal => &[
                ConsultarFichaFPS,
                ValidarIdentidad,
                ConsultarElegibilidad,
                EmitirCertificado,
                SolicitarEncuestaje,
                TrabajarEncuestaje,
                EstadisticasTerritoriales,
                ActualizarHogar,
                PostularBeneficio,
                EmitirDecreto,
                ConsultarDecreto,
            ],
            Rol::Supervisor => &[
                ConsultarFichaFPS,
                ValidarIdentidad,
                ConsultarElegibilidad,
                EstadisticasTerritoriales,
            ],
            Rol::Operador => &[
                ConsultarFichaFPS,
                ValidarIdentidad,
                ConsultarElegibilidad,
                ConsultarAccesos,
                EmitirCertificado,
                SolicitarEncuestaje,
                TrabajarEncuestaje,
                EstadisticasTerritoriales,
                ActualizarHogar,
                PostularBeneficio,
                FijarCupos,
                EmitirDecreto,
                ConsultarDecreto,
            ],
            Rol::Persona => &[ConsultarFichaFPS, ConsultarAccesos, EmitirCertificado],
        }
    }

    pub fn permite(self, op: Operation) -> bool {
        match op.modulo() {
            Some(def) => def.roles.contains(&self),
            None => self.operaciones().contains(&op),
        }
    }

    /// Whether the role manages the console's officials: a comuna head those of their own
    /// agreement (below operador), the operator those of every agreement.
    pub fn administra_usuarios(self) -> bool {
        matches!(self, Rol::JefeComunal | Rol::Operador)
    }
}

impl fmt::Display for Rol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A feed kind: what the records of a batch are and what applying them changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TipoLote {
    /// SRCeI: new persons and changes of name (upsert by RUN).
    Personas,
    /// SRCeI: deaths (the person's death date; their benefits end that day).
    Defunciones,
    /// SRCeI: births (a new person, linked to the mother's household as `hijo`).
    Nacimientos,
    /// Municipalities: survey results, each the new ficha in force of a household of the
    /// comuna (the previous one becomes `reemplazada`).
    Fichas,
    /// SUSESO: grants and suspensions of the Subsidio Único Familiar.
    Suf,
    /// IPS: grants and suspensions of pensions (PASIS, PBS, APS).
    Pensiones,
}

impl TipoLote {
    pub const ALL: [TipoLote; 6] = [
        TipoLote::Personas,
        TipoLote::Defunciones,
        TipoLote::Nacimientos,
        TipoLote::Fichas,
        TipoLote::Suf,
        TipoLote::Pensiones,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TipoLote::Personas => "personas",
            TipoLote::Defunciones => "defunciones",
            TipoLote::Nacimientos => "nacimientos",
            TipoLote::Fichas => "fichas",
            TipoLote::Suf => "suf",
            TipoLote::Pensiones => "pensiones",
        }
    }

    pub fn parse(text: &str) -> Option<TipoLote> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

impl fmt::Display for TipoLote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of event of the outbox (`eventos.tipo`, docs/eventos.md) an agreement may
/// subscribe to (`eventos` of its grant of `Suscripciones`).
pub const TIPOS_EVENTO: [&str; 7] = crate::domain::TipoEvento::NOMBRES;

/// How a subscription's events reach the agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Entrega {
    /// The node sends each event to one of the agreement's `callbacks`.
    Push,
    /// The agency reads its events by cursor.
    Pull,
}

impl Entrega {
    pub const ALL: [Entrega; 2] = [Entrega::Push, Entrega::Pull];

    pub fn as_str(self) -> &'static str {
        match self {
            Entrega::Push => "push",
            Entrega::Pull => "pull",
        }
    }

    pub fn parse(text: &str) -> Option<Entrega> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Household upkeep is for those who work the comuna's households, never a counter clerk,
    /// a supervisor or a person.
    #[test]
    fn household_upkeep_belongs_to_those_who_work_the_comuna() {
        let with: Vec<Rol> = [Rol::Persona]
            .into_iter()
            .chain(Rol::FUNCIONARIOS)
            .filter(|r| r.permite(Operation::ActualizarHogar))
            .collect();
        assert_eq!(with, [Rol::Encuestador, Rol::JefeComunal, Rol::Operador]);
    }
}

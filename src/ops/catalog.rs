//! The catalogue of operations an agreement can grant, and the field paths each can disclose.
//! Agreements name operations and fields from here; anything else is refused when they load.

use std::fmt;

/// An operation of the service core, whatever the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub enum Operation {
    /// "What is this RUN's FPS?" (single RUN or a batch of up to 500).
    ConsultarFichaFPS,
    /// "Is this person who they claim?": per-field match and alive/deceased.
    ValidarIdentidad,
    /// "Does this RUN qualify for program P?"
    ConsultarElegibilidad,
    /// "Who looked at this person's data?" (operators only).
    ConsultarAccesos,
    /// A provider sends a batch (lote) of records to apply: persons, deaths, … (`tipos` granted).
    RecepcionLotes,
}

/// Field paths of `ConsultarFichaFPS` responses (`integrantes.*` apply to each member).
pub const FICHA_FIELDS: &[&str] = &[
    "run",
    "folio",
    "puntaje",
    "quintil",
    "fechaAplicacion",
    "comuna.codigo",
    "comuna.nombre",
    "estado",
    "fallecido",
    "integrantes.run",
    "integrantes.nombres",
    "integrantes.apellidoPaterno",
    "integrantes.apellidoMaterno",
    "integrantes.fechaNacimiento",
    "integrantes.sexo",
    "integrantes.parentesco",
];

/// Field paths of `ValidarIdentidad` responses: whether each claimed value matches, and whether
/// the person is alive. Registry values themselves are never returned.
pub const IDENTIDAD_FIELDS: &[&str] = &[
    "run",
    "coincidencias.nombres",
    "coincidencias.apellidoPaterno",
    "coincidencias.apellidoMaterno",
    "coincidencias.fechaNacimiento",
    "vivo",
];

/// Field paths of `ConsultarElegibilidad` responses: the decision, the rule that decided it and
/// the data the rule used.
pub const ELEGIBILIDAD_FIELDS: &[&str] = &[
    "run",
    "programa",
    "elegible",
    "regla",
    "motivo",
    "datos.puntaje",
    "datos.quintil",
    "datos.edad",
    "datos.fallecido",
    "datos.tieneFicha",
    "datos.comuna",
];

/// Field paths of `ConsultarAccesos` responses (one entry per audited access).
pub const ACCESOS_FIELDS: &[&str] = &[
    "run",
    "accesos.fecha",
    "accesos.convenio",
    "accesos.institucion",
    "accesos.operacion",
    "accesos.proposito",
    "accesos.campos",
];

/// Field paths of `RecepcionLotes` answers: the batch's report.
pub const LOTES_FIELDS: &[&str] = &[
    "lote",
    "tipo",
    "leidos",
    "aplicados",
    "rechazados",
    "rechazos",
];

impl Operation {
    pub const ALL: [Operation; 5] = [
        Operation::ConsultarFichaFPS,
        Operation::ValidarIdentidad,
        Operation::ConsultarElegibilidad,
        Operation::ConsultarAccesos,
        Operation::RecepcionLotes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::ConsultarFichaFPS => "ConsultarFichaFPS",
            Operation::ValidarIdentidad => "ValidarIdentidad",
            Operation::ConsultarElegibilidad => "ConsultarElegibilidad",
            Operation::ConsultarAccesos => "ConsultarAccesos",
            Operation::RecepcionLotes => "RecepcionLotes",
        }
    }

    pub fn parse(name: &str) -> Option<Operation> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// Every field path this operation's response can carry.
    pub fn fields(self) -> &'static [&'static str] {
        match self {
            Operation::ConsultarFichaFPS => FICHA_FIELDS,
            Operation::ValidarIdentidad => IDENTIDAD_FIELDS,
            Operation::ConsultarElegibilidad => ELEGIBILIDAD_FIELDS,
            Operation::ConsultarAccesos => ACCESOS_FIELDS,
            Operation::RecepcionLotes => LOTES_FIELDS,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

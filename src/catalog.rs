//! The catalogue of what an agreement can grant: operations, the field paths each can
//! disclose, and the kinds of provider feeds (lotes).
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
    "accesos.resultado",
    "accesos.campos",
];

/// Field paths of `EmitirCertificado` responses: the certificate's identity, its payload and
/// PDF (which carry the certified data), and the certified data itself (`datos.*`).
pub const CERTIFICADO_FIELDS: &[&str] = &[
    "folio",
    "tipo",
    "emitido",
    "codigo",
    "urlVerificacion",
    "payload",
    "pdf",
    "datos.run",
    "datos.nombre",
    "datos.folioFicha",
    "datos.fechaAplicacion",
    "datos.comuna",
    "datos.puntaje",
    "datos.quintil",
    "datos.integrantes",
];

/// Field paths of `SolicitarEncuestaje` responses: the request as its requester follows it
/// (in a queue, each listed request carries the same paths).
pub const SOLICITUD_ENCUESTAJE_FIELDS: &[&str] = &[
    "id",
    "run",
    "comuna.codigo",
    "comuna.nombre",
    "estado",
    "fechaSolicitud",
    "fechaVencimiento",
    "fechaVisita",
    "visitasFallidas",
    "motivoAnulacion",
    "folio",
];

/// Field paths of `TrabajarEncuestaje` responses: the request as its municipality works it,
/// with who asked for it and the survey result.
pub const TRABAJO_ENCUESTAJE_FIELDS: &[&str] = &[
    "id",
    "run",
    "comuna.codigo",
    "comuna.nombre",
    "estado",
    "solicitante",
    "fechaSolicitud",
    "fechaVencimiento",
    "fechaVisita",
    "visitasFallidas",
    "motivoAnulacion",
    "folio",
    "puntaje",
    "quintil",
    "fechaAplicacion",
];

/// Field paths of `EstadisticasTerritoriales` responses (`celdas.*` apply to each cell).
pub const ESTADISTICAS_FIELDS: &[&str] = &[
    "calculadoEn",
    "celdas.ambito",
    "celdas.codigo",
    "celdas.nombre",
    "celdas.quintil",
    "celdas.reservado",
    "celdas.personas",
    "celdas.hogares",
    "celdas.fichas",
    "celdas.puntajePromedio",
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
    pub const ALL: [Operation; 9] = [
        Operation::ConsultarFichaFPS,
        Operation::ValidarIdentidad,
        Operation::ConsultarElegibilidad,
        Operation::ConsultarAccesos,
        Operation::EmitirCertificado,
        Operation::SolicitarEncuestaje,
        Operation::TrabajarEncuestaje,
        Operation::EstadisticasTerritoriales,
        Operation::RecepcionLotes,
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
            Operation::EmitirCertificado => CERTIFICADO_FIELDS,
            Operation::SolicitarEncuestaje => SOLICITUD_ENCUESTAJE_FIELDS,
            Operation::TrabajarEncuestaje => TRABAJO_ENCUESTAJE_FIELDS,
            Operation::EstadisticasTerritoriales => ESTADISTICAS_FIELDS,
            Operation::RecepcionLotes => LOTES_FIELDS,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
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

//! The checks of a postulation ([`Rules::verificar`]): every rule of the program's
//! `[postulaciones]` section runs, and each gives its own outcome (unlike eligibility, where the
//! first failing rule decides). The snapshot holds only facts the postulation's municipality may
//! read: what it says about persons outside the comuna is fixed (see `ops/postulacion`).

use std::collections::BTreeMap;

use super::{Condicion, Programa, Rules, Snapshot};
use crate::domain::{Cut, Puntaje};

/// What the registry knows, at the time of the check, about a postulation's applicant and
/// causantes.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotPostulacion {
    /// The applicant (`comuna` is the postulation's).
    pub persona: Snapshot,
    /// The applicant's household is in the postulation's comuna. When it is not, the other
    /// facts are read as unknown (no ficha, not deceased, no benefits).
    pub en_comuna: bool,
    /// The programs of the applicant's benefits in force.
    pub beneficios: Vec<String>,
    pub causantes: Vec<Causante>,
    /// The household's income per head, CLP a month; `None` while the registry holds no
    /// survey with incomes (a rule that needs it then fails, saying so).
    pub ingreso_per_capita: Option<i64>,
}

/// A causante of a SUF postulation. Outside the applicant's household, only their age (fixed
/// by their birth date) is read.
#[derive(Debug, Clone, PartialEq)]
pub struct Causante {
    pub edad: u32,
    pub fallecido: bool,
    pub mismo_hogar: bool,
    pub beneficios: Vec<String>,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chequeo {
    /// The rule's id in the file.
    pub regla: String,
    pub cumple: bool,
    /// Why it failed (the rule's motivo; a causante's index, never their RUN, when it was
    /// theirs), or `Cumple`.
    pub motivo: String,
    /// The datum read (`fallecido`, `comuna`, `tieneFicha`, `puntaje`, `quintil`, `edad`,
    /// `beneficios`, `causantes.edad`, `causantes.hogar`, `ingresoPerCapita`).
    pub dato: &'static str,
}

/// A key of the waiting list's order, each ascending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prioridad {
    Puntaje,
    FechaPostulacion,
    Id,
}

impl Prioridad {
    pub const ALL: [Prioridad; 3] = [
        Prioridad::Puntaje,
        Prioridad::FechaPostulacion,
        Prioridad::Id,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Prioridad::Puntaje => "puntaje",
            Prioridad::FechaPostulacion => "fecha_postulacion",
            Prioridad::Id => "id",
        }
    }
}

/// A program's score cut-offs where there is no national one (SAP): a comuna's own, else its
/// region's, else the default.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Cortes {
    pub defecto: Option<Puntaje>,
    /// By two-digit region code.
    pub regiones: BTreeMap<String, Puntaje>,
    /// By CUT.
    pub comunas: BTreeMap<String, Puntaje>,
}

impl Cortes {
    /// The cut-off that applies in `cut`.
    pub fn de(&self, cut: Option<Cut>) -> Option<Puntaje> {
        let Some(cut) = cut else {
            return self.defecto;
        };
        self.comunas
            .get(cut.as_str())
            .or_else(|| self.regiones.get(cut.region()))
            .copied()
            .or(self.defecto)
    }
}

const CUMPLE: &str = "Cumple";

impl Rules {
    /// The programs with postulation checks, in the order of [`super::POSTULABLES`].
    pub fn postulables(&self) -> impl Iterator<Item = &str> {
        self.postulaciones.iter().map(|p| p.codigo)
    }

    /// Runs every postulation check of `programa`, in file order; `None` when the program has
    /// no `[postulaciones]` section.
    pub fn verificar(&self, programa: &str, s: &SnapshotPostulacion) -> Option<Vec<Chequeo>> {
        let programa = self.postulacion(programa)?;
        Some(
            programa
                .reglas
                .iter()
                .map(|regla| {
                    let fallo = falla(&regla.condicion, programa, s);
                    Chequeo {
                        regla: regla.id.clone(),
                        cumple: fallo.is_none(),
                        motivo: match fallo {
                            None => CUMPLE.to_owned(),
                            Some(Fallo::Persona) => regla.motivo.clone(),
                            Some(Fallo::Causante(i)) => format!("causantes[{i}]: {}", regla.motivo),
                            Some(Fallo::Corte(corte)) => regla
                                .motivo
                                .replace("{valor}", &super::carga::miles(corte.into())),
                            Some(Fallo::SinDato(texto)) => format!("{} ({texto})", regla.motivo),
                        },
                        dato: regla.condicion.dato(),
                    }
                })
                .collect(),
        )
    }

    /// The waiting list's order of `programa` (by default score, then date, then id).
    pub fn prioridad(&self, programa: &str) -> &[Prioridad] {
        self.postulacion(programa)
            .map(|p| p.prioridad.as_slice())
            .filter(|p| !p.is_empty())
            .unwrap_or(&Prioridad::ALL)
    }

    /// The cut-offs of a program's `puntaje_corte` rule, if it has one.
    /// The monthly amount a decree of `programa` grants (CLP; SUF: per causante).
    pub fn monto(&self, programa: &str) -> Option<i64> {
        self.postulacion(programa)?.monto
    }

    pub fn cortes(&self, programa: &str) -> Option<&Cortes> {
        self.postulacion(programa)?.cortes.as_ref()
    }

    fn postulacion(&self, codigo: &str) -> Option<&Programa> {
        self.postulaciones.iter().find(|p| p.codigo == codigo)
    }
}

/// Why a check failed.
enum Fallo {
    /// The applicant does not meet it.
    Persona,
    /// The causante with this index does not.
    Causante(usize),
    /// The score is over this cut-off.
    Corte(u16),
    /// The datum is not in the registry.
    SinDato(&'static str),
}

fn falla(condicion: &Condicion, programa: &Programa, s: &SnapshotPostulacion) -> Option<Fallo> {
    let persona = &s.persona;
    let primero =
        |malo: &dyn Fn(&Causante) -> bool| s.causantes.iter().position(malo).map(Fallo::Causante);
    let tiene = |beneficios: &[String], programas: &[&str]| {
        beneficios.iter().any(|b| programas.contains(&b.as_str()))
    };
    match condicion {
        Condicion::Vivo if persona.fallecido => Some(Fallo::Persona),
        Condicion::Vivo => primero(&|c| c.fallecido),
        Condicion::EnComuna => (!s.en_comuna).then_some(Fallo::Persona),
        Condicion::SinBeneficio(programas) if tiene(&s.beneficios, programas) => {
            Some(Fallo::Persona)
        }
        Condicion::SinBeneficio(programas) => primero(&|c| tiene(&c.beneficios, programas)),
        Condicion::CausanteEdadMax(max) => primero(&|c| c.edad > *max),
        Condicion::MismoHogar => primero(&|c| !c.mismo_hogar),
        Condicion::IngresoPcMax(max) => match s.ingreso_per_capita {
            None => Some(Fallo::SinDato("sin encuesta con ingresos")),
            Some(ingreso) => (ingreso > *max).then_some(Fallo::Persona),
        },
        Condicion::PuntajeCorte => {
            let corte = programa
                .cortes
                .as_ref()
                .and_then(|c| c.de(persona.comuna))?;
            match persona.puntaje {
                None => Some(Fallo::Corte(corte.value())),
                Some(p) => (p > corte).then_some(Fallo::Corte(corte.value())),
            }
        }
        eligibility => (!eligibility.cumple(persona)).then_some(Fallo::Persona),
    }
}

#[cfg(test)]
mod tests;

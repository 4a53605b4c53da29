//! The rules of `ConsultarElegibilidad`: per program, an ordered list of conditions read from
//! `conf/elegibilidad.toml` (the thresholds are configuration, not code). The first condition
//! that fails decides, and the answer names that rule; when all pass, the person is eligible.
//! The file format is documented at the top of `conf/elegibilidad.toml`.
//!
//! The same file holds, under `[postulaciones]`, the checks of a postulation to SUF, PASIS and
//! SAP ([`Rules::verificar`], `verificar.rs`): every rule is run and each gives its own outcome.
//! `evaluate` reads only `[programas]`, so ConsultarElegibilidad's answers do not depend on them.

use std::path::Path;

use crate::domain::{Cut, Puntaje, Quintil};

mod carga;
mod verificar;

pub use verificar::{Causante, Chequeo, Cortes, Prioridad, SnapshotPostulacion};

/// The programs the rules may describe. Any other name in the file is an error.
pub const PROGRAMAS: [&str; 8] = [
    "PBS",
    "APS",
    "PASIS",
    "SUF",
    "FSV1",
    "FSV2",
    "BBNN_GRATUIDAD",
    "SAP",
];

/// The programs a municipality takes postulations to (`[postulaciones]` of the rules file).
pub const POSTULABLES: [&str; 3] = ["SUF", "PASIS", "SAP"];

/// What the registry knows about a person, as far as eligibility is concerned.
/// The person has a ficha exactly when `puntaje` is `Some`.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub puntaje: Option<Puntaje>,
    /// Age in whole years.
    pub edad: u32,
    pub fallecido: bool,
    pub comuna: Option<Cut>,
}

/// The answer for one person and one program.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decision {
    pub programa: String,
    pub elegible: bool,
    /// The id of the first failing rule, or the program's name when every rule passed.
    pub regla: String,
    /// Why, in Spanish, for the agency's officer.
    pub motivo: String,
    /// The snapshot data read up to the decision, in reading order, among `puntaje`, `quintil`,
    /// `edad`, `fallecido`, `tieneFicha` and `comuna`.
    pub datos_usados: Vec<&'static str>,
}

/// The checked rules of every configured program.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// In the order of [`PROGRAMAS`].
    programas: Vec<Programa>,
    /// The postulation checks, in the order of [`POSTULABLES`].
    postulaciones: Vec<Programa>,
}

#[derive(Debug, Clone, PartialEq)]
struct Programa {
    codigo: &'static str,
    nombre: String,
    reglas: Vec<Regla>,
    /// The waiting list's order (postulations only; empty for eligibility).
    prioridad: Vec<Prioridad>,
    /// The score cut-offs of a `puntaje_corte` rule (postulations only).
    cortes: Option<Cortes>,
    /// The monthly amount a decree grants, CLP (postulations only; SUF: per causante).
    monto: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
struct Regla {
    id: String,
    condicion: Condicion,
    /// Already has `{valor}` replaced.
    motivo: String,
}

/// One condition; holds when the person meets it. Thresholds are inclusive. The last six are
/// postulation checks only (the loader refuses them under `[programas]`).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Condicion {
    Vivo,
    TieneFicha,
    PuntajeMax(Puntaje),
    PuntajeMin(Puntaje),
    QuintilMax(Quintil),
    EdadMin(u32),
    EdadMax(u32),
    /// The person lives in the postulation's comuna.
    EnComuna,
    /// No person named holds a benefit in force of these programs.
    SinBeneficio(Vec<&'static str>),
    /// Every causante is at most this old.
    CausanteEdadMax(u32),
    /// Every causante lives in the applicant's household.
    MismoHogar,
    /// The household's income per head (CLP a month) is at most this.
    IngresoPcMax(i64),
    /// The score is at most the program's cut-off for the postulation's comuna ([`Cortes`]).
    PuntajeCorte,
}

/// A rules file that could not be read or is wrong; the message names the file, the line (when
/// known) and the problem.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("eligibility rules {origin}: cannot read the file: {source}")]
    Read {
        origin: String,
        source: std::io::Error,
    },
    #[error("eligibility rules {origin}{}: {problem}", at_line(.line))]
    Invalid {
        origin: String,
        line: Option<usize>,
        problem: String,
    },
}

fn at_line(line: &Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

impl RulesError {
    /// The 1-based line of the problem, when it has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            RulesError::Read { .. } => None,
            RulesError::Invalid { line, .. } => *line,
        }
    }
}

impl Rules {
    /// Reads and checks a rules file.
    pub fn load(path: &Path) -> Result<Rules, RulesError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| RulesError::Read {
            origin: origin.clone(),
            source,
        })?;
        Self::from_toml(&text, &origin)
    }

    /// Checks rules given as TOML text; `origin` names the text in error messages.
    pub fn from_toml(text: &str, origin: &str) -> Result<Rules, RulesError> {
        carga::parse(text, origin)
    }

    /// The configured programs, in the order of [`PROGRAMAS`].
    pub fn programs(&self) -> impl Iterator<Item = &str> {
        self.programas.iter().map(|p| p.codigo)
    }

    /// The official name of a configured program.
    pub fn nombre(&self, programa: &str) -> Option<&str> {
        self.programa(programa).map(|p| p.nombre.as_str())
    }

    /// Evaluates the program's rules in file order; `None` when the program is not configured.
    pub fn evaluate(&self, programa: &str, snapshot: &Snapshot) -> Option<Decision> {
        let programa = self.programa(programa)?;
        let mut datos_usados = Vec::new();
        for regla in &programa.reglas {
            let dato = regla.condicion.dato();
            if !datos_usados.contains(&dato) {
                datos_usados.push(dato);
            }
            if !regla.condicion.cumple(snapshot) {
                return Some(Decision {
                    programa: programa.codigo.to_owned(),
                    elegible: false,
                    regla: regla.id.clone(),
                    motivo: regla.motivo.clone(),
                    datos_usados,
                });
            }
        }
        Some(Decision {
            programa: programa.codigo.to_owned(),
            elegible: true,
            regla: programa.codigo.to_owned(),
            motivo: format!("Cumple todos los requisitos de {}", programa.codigo),
            datos_usados,
        })
    }

    /// The inclusive highest score of a program's puntaje_max rule, if any (used by the
    /// synthetic data generator). A `quintil_max` rule counts as its quintile's top score; with
    /// several such rules, the strictest wins.
    pub fn puntaje_max(&self, programa: &str) -> Option<u16> {
        self.programa(programa)?
            .reglas
            .iter()
            .filter_map(|r| match r.condicion {
                Condicion::PuntajeMax(p) => Some(p.value()),
                Condicion::QuintilMax(q) => Some(q.range().1),
                _ => None,
            })
            .min()
    }

    /// The highest `edad_min` rule of a program, if any (used by the synthetic data generator).
    pub fn edad_min(&self, programa: &str) -> Option<u32> {
        self.programa(programa)?
            .reglas
            .iter()
            .filter_map(|r| match r.condicion {
                Condicion::EdadMin(a) => Some(a),
                _ => None,
            })
            .max()
    }

    fn programa(&self, codigo: &str) -> Option<&Programa> {
        self.programas.iter().find(|p| p.codigo == codigo)
    }
}

impl Condicion {
    /// Whether an eligibility condition holds. The postulation conditions never appear under
    /// `[programas]` (the loader refuses them there), so they never hold here.
    fn cumple(&self, s: &Snapshot) -> bool {
        match *self {
            Condicion::Vivo => !s.fallecido,
            Condicion::TieneFicha => s.puntaje.is_some(),
            // Without a ficha there is no score to meet a threshold.
            Condicion::PuntajeMax(max) => s.puntaje.is_some_and(|p| p <= max),
            Condicion::PuntajeMin(min) => s.puntaje.is_some_and(|p| p >= min),
            Condicion::QuintilMax(max) => s.puntaje.is_some_and(|p| p.quintil() <= max),
            Condicion::EdadMin(min) => s.edad >= min,
            Condicion::EdadMax(max) => s.edad <= max,
            Condicion::EnComuna
            | Condicion::SinBeneficio(_)
            | Condicion::CausanteEdadMax(_)
            | Condicion::MismoHogar
            | Condicion::IngresoPcMax(_)
            | Condicion::PuntajeCorte => false,
        }
    }

    /// The snapshot datum the condition reads (a `Decision::datos_usados` name).
    fn dato(&self) -> &'static str {
        match self {
            Condicion::Vivo => "fallecido",
            Condicion::TieneFicha => "tieneFicha",
            Condicion::PuntajeMax(_) | Condicion::PuntajeMin(_) | Condicion::PuntajeCorte => {
                "puntaje"
            }
            Condicion::QuintilMax(_) => "quintil",
            Condicion::EdadMin(_) | Condicion::EdadMax(_) => "edad",
            Condicion::EnComuna => "comuna",
            Condicion::SinBeneficio(_) => "beneficios",
            Condicion::CausanteEdadMax(_) => "causantes.edad",
            Condicion::MismoHogar => "causantes.hogar",
            Condicion::IngresoPcMax(_) => "ingresoPerCapita",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SHIPPED: &str = include_str!("../conf/elegibilidad.toml");

    fn shipped() -> Rules {
        Rules::from_toml(SHIPPED, "conf/elegibilidad.toml").unwrap()
    }

    fn persona(puntaje: Option<u16>, edad: u32) -> Snapshot {
        Snapshot {
            puntaje: puntaje.map(|p| Puntaje::new(p.into()).unwrap()),
            edad,
            fallecido: false,
            comuna: None,
        }
    }

    fn decide(rules: &Rules, programa: &str, puntaje: Option<u16>, edad: u32) -> Decision {
        rules.evaluate(programa, &persona(puntaje, edad)).unwrap()
    }

    #[test]
    fn the_shipped_file_loads_from_disk_with_the_seven_programs_and_their_thresholds() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/elegibilidad.toml");
        let rules = Rules::load(&path).unwrap();
        assert_eq!(rules, shipped());
        assert_eq!(
            rules.programs().collect::<Vec<_>>(),
            PROGRAMAS[..7],
            "SAP has postulation checks only"
        );
        for (programa, max) in [
            ("PASIS", 8_500),
            ("PBS", 11_734),
            ("APS", 11_734),
            ("SUF", 11_734),
            ("FSV1", 8_500),
            ("FSV2", 11_734),
            ("BBNN_GRATUIDAD", 13_484),
        ] {
            assert_eq!(rules.puntaje_max(programa), Some(max), "{programa}");
            assert!(rules.nombre(programa).is_some_and(|n| !n.is_empty()));
        }
        assert_eq!(rules.puntaje_max("ORASMI"), None);
        assert_eq!(rules.nombre("ORASMI"), None);
    }

    #[test]
    fn score_boundaries_are_inclusive() {
        let rules = shipped();
        for (programa, max, edad) in [
            ("PASIS", 8_500, 70),
            ("FSV1", 8_500, 30),
            ("PBS", 11_734, 70),
            ("APS", 11_734, 70),
            ("SUF", 11_734, 10),
            ("FSV2", 11_734, 30),
            ("BBNN_GRATUIDAD", 13_484, 30),
        ] {
            let at = decide(&rules, programa, Some(max), edad);
            assert!(at.elegible, "{programa} at {max}: {at:?}");
            assert_eq!(at.regla, programa);
            assert_eq!(
                at.motivo,
                format!("Cumple todos los requisitos de {programa}")
            );
            let over = decide(&rules, programa, Some(max + 1), edad);
            assert!(!over.elegible, "{programa} at {}", max + 1);
            assert_eq!(over.regla, format!("{programa}-PUNTAJE"));
        }
        let motivo = decide(&rules, "PBS", Some(11_735), 70).motivo;
        assert_eq!(
            motivo,
            "Puntaje FPS sobre 11.734 (fuera del 40% más vulnerable)"
        );
    }

    #[test]
    fn age_boundaries() {
        let rules = shipped();
        for programa in ["PBS", "APS", "PASIS"] {
            assert!(
                decide(&rules, programa, Some(5_000), 65).elegible,
                "{programa}"
            );
            let young = decide(&rules, programa, Some(5_000), 64);
            assert!(!young.elegible);
            assert_eq!(young.regla, format!("{programa}-EDAD"));
            assert_eq!(young.motivo, "Menor de 65 años");
        }
        assert!(decide(&rules, "SUF", Some(5_000), 17).elegible);
        assert!(decide(&rules, "SUF", Some(5_000), 0).elegible);
        assert_eq!(decide(&rules, "SUF", Some(5_000), 18).regla, "SUF-EDAD");
        for programa in ["FSV1", "FSV2", "BBNN_GRATUIDAD"] {
            assert!(
                decide(&rules, programa, Some(5_000), 18).elegible,
                "{programa}"
            );
            assert_eq!(
                decide(&rules, programa, Some(5_000), 17).regla,
                format!("{programa}-EDAD")
            );
        }
    }

    #[test]
    fn the_deceased_and_those_without_a_ficha_are_refused_by_the_first_rules() {
        let rules = shipped();
        for programa in rules.programs() {
            let muerto = Snapshot {
                fallecido: true,
                ..persona(Some(5_000), 70)
            };
            let d = rules.evaluate(programa, &muerto).unwrap();
            assert!(!d.elegible);
            assert_eq!(d.regla, format!("{programa}-VIVO"));
            assert_eq!(d.motivo, "La persona registra fecha de defunción");
            assert_eq!(d.datos_usados, ["fallecido"]);

            let d = decide(&rules, programa, None, 70);
            assert!(!d.elegible);
            assert_eq!(d.regla, format!("{programa}-FICHA"));
            assert_eq!(d.datos_usados, ["fallecido", "tieneFicha"]);
        }
    }

    #[test]
    fn the_answer_lists_the_data_read_until_the_decision() {
        let rules = shipped();
        let d = decide(&rules, "PBS", Some(5_000), 70);
        assert_eq!(d.programa, "PBS");
        assert_eq!(
            d.datos_usados,
            ["fallecido", "tieneFicha", "puntaje", "edad"]
        );
        let d = decide(&rules, "PBS", Some(12_000), 70);
        assert_eq!(d.datos_usados, ["fallecido", "tieneFicha", "puntaje"]);
        assert_eq!(rules.evaluate("ORASMI", &persona(Some(5_000), 70)), None);
    }

    #[test]
    fn quintil_and_minimum_score_conditions() {
        let rules = Rules::from_toml(
            r#"
            [programas.BBNN_GRATUIDAD]
            nombre = "Gratuidad"
            reglas = [
                { id = "B-FICHA", condicion = "tiene_ficha", motivo = "Sin ficha" },
                { id = "B-MIN", condicion = "puntaje_min", valor = 3000, motivo = "Bajo {valor}" },
                { id = "B-Q", condicion = "quintil_max", valor = 3, motivo = "Sobre el quintil {valor}" },
                { id = "B-MAX", condicion = "puntaje_max", valor = 13000, motivo = "Sobre {valor}" },
            ]
            "#,
            "test",
        )
        .unwrap();
        assert_eq!(rules.puntaje_max("BBNN_GRATUIDAD"), Some(13_000));
        let d = decide(&rules, "BBNN_GRATUIDAD", Some(2_999), 40);
        assert_eq!(
            (d.regla.as_str(), d.motivo.as_str()),
            ("B-MIN", "Bajo 3.000")
        );
        let d = decide(&rules, "BBNN_GRATUIDAD", Some(13_485), 40);
        assert_eq!(
            (d.regla.as_str(), d.motivo.as_str()),
            ("B-Q", "Sobre el quintil 3")
        );
        assert_eq!(d.datos_usados, ["tieneFicha", "puntaje", "quintil"]);
        assert_eq!(
            decide(&rules, "BBNN_GRATUIDAD", Some(13_001), 40).regla,
            "B-MAX"
        );
        assert!(decide(&rules, "BBNN_GRATUIDAD", Some(13_000), 40).elegible);
        assert_eq!(rules.programs().collect::<Vec<_>>(), ["BBNN_GRATUIDAD"]);
    }

    proptest! {
        #[test]
        fn pbs_is_alive_with_ficha_poorest_40_percent_and_65_or_older(
            puntaje in proptest::option::of(0u16..=20_000),
            edad in 0u32..=120,
            fallecido in any::<bool>(),
        ) {
            let snapshot = Snapshot { fallecido, ..persona(puntaje, edad) };
            let d = shipped().evaluate("PBS", &snapshot).unwrap();
            let expected = !fallecido && puntaje.is_some_and(|p| p <= 11_734) && edad >= 65;
            prop_assert_eq!(d.elegible, expected);
            let regla = if fallecido {
                "PBS-VIVO"
            } else if puntaje.is_none() {
                "PBS-FICHA"
            } else if puntaje > Some(11_734) {
                "PBS-PUNTAJE"
            } else if edad < 65 {
                "PBS-EDAD"
            } else {
                "PBS"
            };
            prop_assert_eq!(d.regla, regla);
        }
    }
}

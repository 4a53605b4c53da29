//! Scoring models: how a surveyed household's facts become an FPS score. Each model is a file
//! `conf/modelos/<nombre>.toml` (its coefficients and cut-points are configuration, not code;
//! the format is documented at the top of the shipped files and in docs/modelos.md). A ficha
//! names the model that scored it (`fichas.modelo`), and the node refuses to start when a
//! model file no longer matches the digest recorded for its name ([`registro`]): a changed
//! model takes a new name, so an old ficha is never rescored silently.
//!
//! [`puntuar`] is pure integer arithmetic, the same on every machine:
//!
//! 1. Each member's *capacity* (CLP a month): for a member of working age who does not attend
//!    education, `(base + por_anio_escolaridad × min(años, escolaridad_tope))`, times the
//!    health and activity factors (thousandths); plus, for everyone, `trabajo` thousandths of
//!    the declared income from work.
//! 2. *Resources* = Σ capacity + Σ (pensions × `pensiones` + other incomes × `otros`) / 1000.
//! 3. *Needs* (thousandths) = Σ (weight of the member's age band + the health condition's
//!    added need); the needs index is its square root scaled to thousandths
//!    (`isqrt(needs × 1000)`: one adult 1000, four adults 2000).
//! 4. *Equivalent income* = resources × 1000 / index.
//! 5. The score is read off the model's `tramos` (income → score points, linear between
//!    them, rounded down) and clamped to `[min, max]`.
//!
//! Every division rounds down (toward zero: every quantity is non-negative).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::domain::Puntaje;

mod carga;
pub mod registro;

/// The events of household upkeep a model may list in `[revision] eventos`.
pub const EVENTOS_HOGAR: [&str; 4] = [
    "agregar_integrante",
    "quitar_integrante",
    "cambiar_domicilio",
    "dividir",
];

/// A member's health or disability condition, as surveyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Salud {
    Ninguna,
    Cronica,
    DiscapacidadLeve,
    DiscapacidadModerada,
    DiscapacidadSevera,
}

impl Salud {
    pub const ALL: [Salud; 5] = [
        Salud::Ninguna,
        Salud::Cronica,
        Salud::DiscapacidadLeve,
        Salud::DiscapacidadModerada,
        Salud::DiscapacidadSevera,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Salud::Ninguna => "ninguna",
            Salud::Cronica => "cronica",
            Salud::DiscapacidadLeve => "discapacidad_leve",
            Salud::DiscapacidadModerada => "discapacidad_moderada",
            Salud::DiscapacidadSevera => "discapacidad_severa",
        }
    }

    pub fn parse(text: &str) -> Option<Salud> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A member's activity, as surveyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actividad {
    Ocupado,
    Desocupado,
    Inactivo,
}

impl Actividad {
    pub const ALL: [Actividad; 3] = [
        Actividad::Ocupado,
        Actividad::Desocupado,
        Actividad::Inactivo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Actividad::Ocupado => "ocupado",
            Actividad::Desocupado => "desocupado",
            Actividad::Inactivo => "inactivo",
        }
    }

    pub fn parse(text: &str) -> Option<Actividad> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// What a model reads of one surveyed member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegranteEncuesta {
    /// Whole years on the date of application.
    pub edad: u32,
    pub escolaridad_anios: u32,
    pub asiste_educacion: bool,
    pub salud: Salud,
    pub actividad: Actividad,
    /// CLP a month.
    pub ingreso_trabajo: i64,
    pub ingreso_pensiones: i64,
    pub ingreso_otros: i64,
}

/// What a model reads of a surveyed household: its members (at least one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encuesta {
    pub integrantes: Vec<IntegranteEncuesta>,
}

/// A per-condition table of thousandths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PorSalud([i64; 5]);

impl PorSalud {
    pub fn get(&self, salud: Salud) -> i64 {
        self.0[salud as usize]
    }
}

/// One checked scoring model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Modelo {
    pub nombre: String,
    pub descripcion: String,
    pub min: Puntaje,
    pub max: Puntaje,
    /// (equivalent income, score): incomes strictly increasing, scores not decreasing.
    tramos: Vec<(i64, i64)>,
    /// (from age, weight in thousandths), ages strictly increasing, the first 0.
    pesos_edad: Vec<(u32, i64)>,
    necesidad_salud: PorSalud,
    capacidad: Capacidad,
    pensiones: i64,
    otros: i64,
    pub validacion: Validacion,
    revision: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Capacidad {
    edad_min: u32,
    edad_max: u32,
    base: i64,
    por_anio_escolaridad: i64,
    escolaridad_tope: u32,
    salud: PorSalud,
    /// Ocupado, desocupado, inactivo.
    actividad: [i64; 3],
    trabajo: i64,
}

/// The bounds a questionnaire must keep under this model (checked before scoring).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validacion {
    /// Most CLP a month in any one income of a member.
    pub ingreso_max: i64,
    pub escolaridad_max: u32,
    pub integrantes_max: usize,
}

impl Modelo {
    /// Whether a household upkeep event (`agregar_integrante`, …) marks a ficha scored by this
    /// model for review: the event is listed in the file's `[revision] eventos`.
    pub fn marca_revision(&self, evento: &str) -> bool {
        self.revision.iter().any(|e| e == evento)
    }

    fn peso_edad(&self, edad: u32) -> i64 {
        self.pesos_edad
            .iter()
            .rev()
            .find(|(desde, _)| *desde <= edad)
            .map_or(0, |(_, peso)| *peso)
    }

    fn capacidad(&self, i: &IntegranteEncuesta) -> i64 {
        let c = &self.capacidad;
        let trabajo = i.ingreso_trabajo * c.trabajo / 1000;
        if i.asiste_educacion || i.edad < c.edad_min || i.edad > c.edad_max {
            return trabajo;
        }
        let anios = i64::from(i.escolaridad_anios.min(c.escolaridad_tope));
        let estimada = (c.base + c.por_anio_escolaridad * anios) * c.salud.get(i.salud) / 1000
            * c.actividad[i.actividad as usize]
            / 1000;
        estimada + trabajo
    }

    /// The equivalent income (CLP a month) the score is read from.
    pub fn ingreso_equivalente(&self, encuesta: &Encuesta) -> i64 {
        let recursos: i64 = encuesta
            .integrantes
            .iter()
            .map(|i| {
                self.capacidad(i)
                    + (i.ingreso_pensiones * self.pensiones + i.ingreso_otros * self.otros) / 1000
            })
            .sum();
        let necesidades: i64 = encuesta
            .integrantes
            .iter()
            .map(|i| self.peso_edad(i.edad) + self.necesidad_salud.get(i.salud))
            .sum();
        let indice = (necesidades.max(1) * 1000).isqrt().max(1);
        recursos * 1000 / indice
    }
}

/// The score `modelo` gives the household `encuesta` (see the module's documentation).
pub fn puntuar(modelo: &Modelo, encuesta: &Encuesta) -> Puntaje {
    let ingreso = modelo.ingreso_equivalente(encuesta);
    let tramos = &modelo.tramos;
    let puntaje = match tramos.iter().position(|(x, _)| *x > ingreso) {
        // Below the first point: its score; beyond the last: the last's.
        Some(0) => tramos[0].1,
        None => tramos[tramos.len() - 1].1,
        Some(k) => {
            let ((x0, y0), (x1, y1)) = (tramos[k - 1], tramos[k]);
            let y = i128::from(y0)
                + i128::from(y1 - y0) * i128::from(ingreso - x0) / i128::from(x1 - x0);
            i64::try_from(y).unwrap_or(y1)
        }
    };
    let puntaje = puntaje.clamp(i64::from(modelo.min.value()), i64::from(modelo.max.value()));
    // In range: the loader keeps min and max within the score's bounds.
    Puntaje::new(puntaje).unwrap_or(modelo.max)
}

/// A model file (or folder) that could not be read, is wrong, or no longer matches the digest
/// recorded for its name; the message names the file, the line (when known) and the problem.
#[derive(Debug, thiserror::Error)]
pub enum ModeloError {
    #[error("scoring model {origin}: cannot read: {source}")]
    Read {
        origin: String,
        source: std::io::Error,
    },
    #[error("scoring model {origin}{}: {problem}", at_line(.line))]
    Invalid {
        origin: String,
        line: Option<usize>,
        problem: String,
    },
    #[error(
        "scoring model {origin}: the model {nombre} was registered with SHA-256 {registrado} and \
         this file's is {archivo}: a changed model must take a new name (modelo = \"...\" and \
         the file's name), so that fichas scored by {nombre} keep meaning what they meant"
    )]
    Cambiado {
        origin: String,
        nombre: String,
        registrado: String,
        archivo: String,
    },
    #[error("scoring models: cannot record them in the registry: {0}")]
    Db(#[from] crate::db::DbError),
}

fn at_line(line: &Option<usize>) -> String {
    line.map(|l| format!(":{l}")).unwrap_or_default()
}

impl ModeloError {
    /// The 1-based line of the problem, when it has one.
    pub fn line(&self) -> Option<usize> {
        match self {
            ModeloError::Invalid { line, .. } => *line,
            _ => None,
        }
    }
}

/// One loaded model with where it came from.
#[derive(Debug, Clone)]
pub struct Cargado {
    pub modelo: Arc<Modelo>,
    pub origen: String,
    /// Hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// Every model of the folder, and which one new surveys use.
#[derive(Debug, Clone)]
pub struct Modelos {
    vigente: String,
    por_nombre: BTreeMap<String, Cargado>,
}

impl Modelos {
    /// Reads every `*.toml` of `dir` (each named after its model) and checks that `vigente`
    /// is one of them.
    pub fn load(dir: &Path, vigente: &str) -> Result<Modelos, ModeloError> {
        let origin = dir.display().to_string();
        let read = |source| ModeloError::Read {
            origin: origin.clone(),
            source,
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(read)? {
            let path = entry.map_err(read)?.path();
            if path.extension().is_some_and(|e| e == "toml") {
                paths.push(path);
            }
        }
        paths.sort();
        let mut por_nombre = BTreeMap::new();
        for path in paths {
            let cargado = Self::load_file(&path)?;
            por_nombre.insert(cargado.modelo.nombre.clone(), cargado);
        }
        Self::from_cargados(por_nombre, vigente, &origin)
    }

    /// Reads and checks one model file.
    pub fn load_file(path: &Path) -> Result<Cargado, ModeloError> {
        use sha2::Digest;
        let origen = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ModeloError::Read {
            origin: origen.clone(),
            source,
        })?;
        let text = String::from_utf8(bytes.clone()).map_err(|_| ModeloError::Invalid {
            origin: origen.clone(),
            line: None,
            problem: "not UTF-8 text".into(),
        })?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        let modelo = carga::parse(&text, &origen, Some(stem))?;
        Ok(Cargado {
            modelo: Arc::new(modelo),
            origen,
            sha256: hex::encode(sha2::Sha256::digest(&bytes)),
        })
    }

    /// Checks a model given as TOML text; `origin` names it in error messages.
    pub fn parse(text: &str, origin: &str) -> Result<Modelo, ModeloError> {
        carga::parse(text, origin, None)
    }

    fn from_cargados(
        por_nombre: BTreeMap<String, Cargado>,
        vigente: &str,
        origin: &str,
    ) -> Result<Modelos, ModeloError> {
        if !por_nombre.contains_key(vigente) {
            return Err(ModeloError::Invalid {
                origin: origin.to_owned(),
                line: None,
                problem: format!(
                    "encuesta.vigente names the model {vigente:?}, which has no file {vigente}.toml \
                     here (models found: {})",
                    por_nombre.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            });
        }
        Ok(Modelos {
            vigente: vigente.to_owned(),
            por_nombre,
        })
    }

    /// The model new surveys use when they name none.
    pub fn vigente(&self) -> &Arc<Modelo> {
        &self.por_nombre[&self.vigente].modelo
    }

    pub fn get(&self, nombre: &str) -> Option<&Arc<Modelo>> {
        self.por_nombre.get(nombre).map(|c| &c.modelo)
    }

    /// Every model with its file and digest, by name.
    pub fn iter(&self) -> impl Iterator<Item = &Cargado> {
        self.por_nombre.values()
    }
}

#[cfg(test)]
mod tests;

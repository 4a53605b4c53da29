//! Writing a new agreement from a template (`siis convenios nuevo`): a municipality's for any of
//! the 346 comunas (`templates/convenios/municipal.toml`), an Intendencia's ORASMI agreement for
//! any of the 15 regions (`templates/convenios/intendencia.toml`). The text is checked as
//! `convenios check` would before anyone writes it: the generator never writes an invalid file.

use std::path::{Path, PathBuf};

use askama::Template;
use chrono::NaiveDate;

use super::ConvenioIssue;
use crate::domain::{Ambito, Cut, Nivel};

#[derive(Template)]
#[template(path = "convenios/municipal.toml", escape = "none")]
struct Municipal<'a> {
    id: &'a str,
    cut: &'a str,
    comuna: &'a str,
    region: &'a str,
    desde: NaiveDate,
    hasta: NaiveDate,
}

#[derive(Template)]
#[template(path = "convenios/intendencia.toml", escape = "none")]
struct Intendencia<'a> {
    id: &'a str,
    codigo: &'a str,
    region: &'a str,
    desde: NaiveDate,
    hasta: NaiveDate,
}

/// What to write: the agreement of a comuna's municipality, or of a region's Intendencia.
#[derive(Debug, Clone, Copy)]
pub enum Plantilla {
    Municipal(Cut),
    Intendencia(Ambito),
}

/// A new agreement's text, and the file name it must have.
#[derive(Debug)]
pub struct Nuevo {
    pub id: String,
    pub texto: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NuevoError {
    #[error("{0}")]
    Codigo(String),
    #[error("valid_until {hasta} is before valid_from {desde}")]
    Fechas { desde: NaiveDate, hasta: NaiveDate },
    #[error("the template wrote an agreement that does not pass the checks: {0:?}")]
    Invalido(Vec<ConvenioIssue>),
    #[error("the template could not be rendered: {0}")]
    Plantilla(#[from] askama::Error),
}

impl Plantilla {
    /// `--comuna 13101`.
    pub fn comuna(codigo: &str) -> Result<Plantilla, NuevoError> {
        Cut::parse(codigo)
            .map(Plantilla::Municipal)
            .map_err(|e| NuevoError::Codigo(format!("--comuna {codigo:?}: {e}")))
    }

    /// `--region 10`.
    pub fn region(codigo: &str) -> Result<Plantilla, NuevoError> {
        Ambito::parse(Nivel::Region, codigo)
            .map(Plantilla::Intendencia)
            .map_err(|e| NuevoError::Codigo(format!("--region {codigo:?}: {e}")))
    }

    /// The agreement's id (and file name without `.toml`).
    pub fn id(&self) -> String {
        match self {
            Plantilla::Municipal(cut) => format!("muni-{cut}"),
            Plantilla::Intendencia(region) => format!("orasmi-{}", region.prefijo()),
        }
    }

    /// The agreement's text, in force from `desde` to `hasta`, checked.
    pub fn escribir(&self, desde: NaiveDate, hasta: NaiveDate) -> Result<Nuevo, NuevoError> {
        if hasta < desde {
            return Err(NuevoError::Fechas { desde, hasta });
        }
        let id = self.id();
        let texto = match self {
            Plantilla::Municipal(cut) => {
                let comuna = cut.comuna();
                Municipal {
                    id: &id,
                    cut: cut.as_str(),
                    comuna: &titulo(&comuna.nombre),
                    region: &nombre_region(&comuna.region),
                    desde,
                    hasta,
                }
                .render()?
            }
            Plantilla::Intendencia(region) => Intendencia {
                id: &id,
                codigo: region.prefijo(),
                region: &nombre_region(region.prefijo()),
                desde,
                hasta,
            }
            .render()?,
        };
        let checked = super::file::check(Path::new(&format!("{id}.toml")), &texto);
        if !checked.issues.is_empty() {
            return Err(NuevoError::Invalido(checked.issues));
        }
        Ok(Nuevo { id, texto })
    }
}

impl Nuevo {
    /// Where it goes in `dir`.
    pub fn ruta(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.toml", self.id))
    }
}

/// `PUERTO MONTT` → `Puerto Montt`, `LA UNIÓN` → `La Unión` (Spanish particles stay lower case
/// inside a name).
fn titulo(nombre: &str) -> String {
    nombre
        .split(' ')
        .enumerate()
        .map(|(i, palabra)| {
            let lower = palabra.to_lowercase();
            if i > 0 && ["de", "del", "la", "las", "los", "y", "el"].contains(&lower.as_str()) {
                return lower;
            }
            // Upper case after the start and an apostrophe (`O'Higgins`).
            let mut out = String::new();
            let mut mayuscula = true;
            for c in lower.chars() {
                match mayuscula {
                    true => out.extend(c.to_uppercase()),
                    false => out.push(c),
                }
                mayuscula = c == '\'';
            }
            out
        })
        .collect::<Vec<String>>()
        .join(" ")
}

/// The region's name as a sentence says it: `Región de Los Lagos`, `Región de Tarapaca`.
fn nombre_region(codigo: &str) -> String {
    let nombre = crate::domain::regiones()
        .iter()
        .find(|r| r.codigo == codigo)
        .map_or(codigo, |r| r.nombre.as_str());
    let nombre = titulo(nombre);
    match nombre.strip_prefix("Region ") {
        Some(resto) => format!("Región {resto}"),
        None => format!("Región de {nombre}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{comunas, regiones};

    fn fechas() -> (NaiveDate, NaiveDate) {
        (
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2028, 12, 31).unwrap(),
        )
    }

    /// Every comuna's municipality and every region's Intendencia get an agreement that loads,
    /// scoped to exactly their territory.
    #[test]
    fn every_comuna_and_every_region_gets_a_valid_agreement() {
        let (desde, hasta) = fechas();
        for c in comunas() {
            let nuevo = Plantilla::Municipal(c.cut).escribir(desde, hasta).unwrap();
            assert_eq!(nuevo.id, format!("muni-{}", c.cut));
            let file = format!("{}.toml", nuevo.id);
            let checked = super::super::file::check(Path::new(&file), &nuevo.texto);
            let convenio = checked.convenio.unwrap_or_else(|| panic!("{}", c.cut));
            assert_eq!(convenio.comuna(), Some(&c.cut));
        }
        for r in regiones() {
            let nuevo = Plantilla::region(&r.codigo)
                .unwrap()
                .escribir(desde, hasta)
                .unwrap();
            let file = format!("{}.toml", nuevo.id);
            let checked = super::super::file::check(Path::new(&file), &nuevo.texto);
            let convenio = checked.convenio.unwrap();
            assert_eq!(convenio.ambito.map(|a| a.nivel()), Some(Nivel::Region));
            assert_eq!(convenio.ambito_prefijo(), Some(r.codigo.as_str()));
        }
    }

    /// The template and the shipped files say the same: a shipped agreement regenerated with its
    /// dates is the file as shipped (so neither drifts from the other).
    #[test]
    fn the_shipped_files_are_what_the_templates_write() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("convenios");
        let orasmi = (
            NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
        );
        for r in regiones() {
            let nuevo = Plantilla::region(&r.codigo).unwrap();
            let nuevo = nuevo.escribir(orasmi.0, orasmi.1).unwrap();
            let shipped = std::fs::read_to_string(nuevo.ruta(&dir)).unwrap();
            assert_eq!(nuevo.texto, shipped, "{}", nuevo.id);
        }
        // The municipalities the demo's emergency needs were written by the generator as they
        // are; the older ones, written by hand, grant exactly what the template grants (their
        // texts and limits are their own).
        let (desde, hasta) = fechas();
        for cut in ["10401", "10101"] {
            let nuevo = Plantilla::comuna(cut)
                .unwrap()
                .escribir(desde, hasta)
                .unwrap();
            let shipped = std::fs::read_to_string(nuevo.ruta(&dir)).unwrap();
            assert_eq!(nuevo.texto, shipped, "{}", nuevo.id);
        }
        for cut in ["13101", "05101"] {
            let nuevo = Plantilla::comuna(cut)
                .unwrap()
                .escribir(desde, hasta)
                .unwrap();
            let file = format!("{}.toml", nuevo.id);
            let generated = super::super::file::check(Path::new(&file), &nuevo.texto);
            let shipped_text = std::fs::read_to_string(nuevo.ruta(&dir)).unwrap();
            let shipped = super::super::file::check(Path::new(&file), &shipped_text);
            assert_eq!(
                generated.convenio.unwrap().grants,
                shipped.convenio.unwrap().grants,
                "{file}"
            );
        }
    }

    #[test]
    fn unknown_codes_and_reversed_dates_are_refused() {
        let (desde, hasta) = fechas();
        let e = Plantilla::comuna("99999").unwrap_err().to_string();
        assert!(e.contains("no comuna has that code"), "{e}");
        let e = Plantilla::region("16").unwrap_err().to_string();
        assert!(e.contains("region"), "{e}");
        let e = Plantilla::comuna("13101").unwrap().escribir(hasta, desde);
        assert!(matches!(e, Err(NuevoError::Fechas { .. })));
    }

    #[test]
    fn names_read_as_a_sentence_says_them() {
        assert_eq!(titulo("PUERTO MONTT"), "Puerto Montt");
        assert_eq!(titulo("LA UNIÓN"), "La Unión");
        assert_eq!(titulo("SAN PEDRO DE ATACAMA"), "San Pedro de Atacama");
        assert_eq!(nombre_region("10"), "Región de los Lagos");
        assert_eq!(
            nombre_region("06"),
            "Región del Libertador Gral. Bernardo O'Higgins"
        );
        assert_eq!(nombre_region("01"), "Región de Tarapaca");
    }
}

//! The Código Único Territorial (CUT) and the catalogue of the 346 comunas, 54 provinces and 15
//! regions of the FPS era, embedded from `data/comunas.csv`, `data/provincias.csv` and
//! `data/regiones.csv`. A comuna's code starts with its province's (`RRP`), which starts with its
//! region's (`RR`).

use std::fmt;
use std::sync::OnceLock;

/// A comuna code `RRPCC` that names one of the catalogue's comunas (leading zero kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cut([u8; 5]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CutError {
    #[error("a comuna code has five digits (RRPCC), for example 01101")]
    Format,
    #[error("no comuna has that code")]
    Unknown,
}

/// One comuna of the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comuna {
    pub cut: Cut,
    pub nombre: String,
    pub provincia: String,
    pub region: String,
}

/// One region of the catalogue, with its approximate population (used to weight synthetic data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub codigo: String,
    pub nombre: String,
    pub poblacion_aprox: u32,
}

/// One province of the catalogue (a Gobernación's territory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provincia {
    pub codigo: String,
    pub nombre: String,
    pub region: String,
}

const PROVINCIAS_CSV: &str = include_str!("../../data/provincias.csv");
const COMUNAS_CSV: &str = include_str!("../../data/comunas.csv");
const REGIONES_CSV: &str = include_str!("../../data/regiones.csv");
const POBLACION_CSV: &str = include_str!("../../data/poblacion_regiones.csv");

impl Cut {
    /// Parses a five-digit code and checks that the catalogue holds it.
    pub fn parse(input: &str) -> Result<Cut, CutError> {
        let bytes: [u8; 5] = input
            .trim()
            .as_bytes()
            .try_into()
            .map_err(|_| CutError::Format)?;
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(CutError::Format);
        }
        let cut = Cut(bytes);
        if comunas().binary_search_by(|c| c.cut.cmp(&cut)).is_err() {
            return Err(CutError::Unknown);
        }
        Ok(cut)
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("00000")
    }

    /// The two-digit region code (`13` for the Región Metropolitana).
    pub fn region(&self) -> &str {
        &self.as_str()[..2]
    }

    /// The three-digit province code (`104` for Palena).
    pub fn provincia(&self) -> &str {
        &self.as_str()[..3]
    }

    /// The catalogue entry for this code.
    pub fn comuna(&self) -> &'static Comuna {
        let all = comunas();
        let at = all.binary_search_by(|c| c.cut.cmp(self)).unwrap_or(0);
        &all[at]
    }
}

impl fmt::Display for Cut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The 346 comunas, sorted by code.
pub fn comunas() -> &'static [Comuna] {
    static COMUNAS: OnceLock<Vec<Comuna>> = OnceLock::new();
    COMUNAS.get_or_init(|| {
        let mut all: Vec<Comuna> = data_rows(COMUNAS_CSV)
            .filter_map(|f| match f.as_slice() {
                [cut, nombre, provincia, region] => Some(Comuna {
                    cut: Cut(cut.as_bytes().try_into().ok()?),
                    nombre: nombre.to_string(),
                    provincia: provincia.to_string(),
                    region: region.to_string(),
                }),
                _ => None,
            })
            .collect();
        all.sort_by_key(|c| c.cut);
        all
    })
}

/// The 15 regions, sorted by code.
pub fn regiones() -> &'static [Region] {
    static REGIONES: OnceLock<Vec<Region>> = OnceLock::new();
    REGIONES.get_or_init(|| {
        let poblacion: Vec<(String, u32)> = data_rows(POBLACION_CSV)
            .filter_map(|f| Some((f.first()?.to_string(), f.get(1)?.parse().ok()?)))
            .collect();
        let mut all: Vec<Region> = data_rows(REGIONES_CSV)
            .filter_map(|f| {
                let codigo = f.first()?.to_string();
                let poblacion_aprox = poblacion.iter().find(|(c, _)| *c == codigo)?.1;
                Some(Region {
                    nombre: f.get(1)?.to_string(),
                    codigo,
                    poblacion_aprox,
                })
            })
            .collect();
        all.sort_by(|a, b| a.codigo.cmp(&b.codigo));
        all
    })
}

/// The 54 provinces, sorted by code.
pub fn provincias() -> &'static [Provincia] {
    static PROVINCIAS: OnceLock<Vec<Provincia>> = OnceLock::new();
    PROVINCIAS.get_or_init(|| {
        let mut all: Vec<Provincia> = data_rows(PROVINCIAS_CSV)
            .filter_map(|f| match f.as_slice() {
                [codigo, nombre, region] => Some(Provincia {
                    codigo: codigo.to_string(),
                    nombre: nombre.to_string(),
                    region: region.to_string(),
                }),
                _ => None,
            })
            .collect();
        all.sort_by(|a, b| a.codigo.cmp(&b.codigo));
        all
    })
}

/// The data rows of an embedded CSV (no quoting in these files; the header is skipped).
fn data_rows(csv: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    csv.lines()
        .skip(1)
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn five_digits_parse_exactly_when_the_catalogue_has_them(code in "[0-9]{5}") {
            let known = comunas().iter().any(|c| c.cut.as_str() == code);
            match Cut::parse(&code) {
                Ok(cut) => {
                    prop_assert!(known);
                    prop_assert_eq!(cut.to_string(), code);
                }
                Err(e) => {
                    prop_assert!(!known);
                    prop_assert_eq!(e, CutError::Unknown);
                }
            }
        }

        #[test]
        fn every_catalogue_code_round_trips(i in 0usize..346) {
            let c = &comunas()[i];
            prop_assert_eq!(Cut::parse(c.cut.as_str()), Ok(c.cut));
            prop_assert_eq!(c.cut.comuna(), c);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,8}") {
            let _ = Cut::parse(&s);
        }
    }

    #[test]
    fn catalogue_holds_the_fps_era_territory() {
        assert_eq!(comunas().len(), 346);
        assert_eq!(regiones().len(), 15);
        assert_eq!(provincias().len(), 54);
        for c in comunas() {
            assert_eq!(c.cut.region(), c.region, "{}", c.cut);
            assert_eq!(c.cut.provincia(), c.provincia, "{}", c.cut);
            assert!(regiones().iter().any(|r| r.codigo == c.region), "{}", c.cut);
            let p = provincias().iter().find(|p| p.codigo == c.provincia);
            assert_eq!(
                p.map(|p| p.region.as_str()),
                Some(c.region.as_str()),
                "{}",
                c.cut
            );
        }
        for p in provincias() {
            assert!(
                comunas().iter().any(|c| c.provincia == p.codigo),
                "{}",
                p.codigo
            );
        }
    }

    #[test]
    fn parses_known_codes_and_keeps_the_leading_zero() {
        let iquique = Cut::parse("01101").unwrap();
        assert_eq!(iquique.to_string(), "01101");
        assert_eq!(iquique.comuna().nombre, "IQUIQUE");
        assert_eq!(Cut::parse(" 13101 ").unwrap().comuna().nombre, "SANTIAGO");
    }

    #[test]
    fn rejects_malformed_and_unknown_codes() {
        assert_eq!(Cut::parse("1101"), Err(CutError::Format));
        assert_eq!(Cut::parse("011010"), Err(CutError::Format));
        assert_eq!(Cut::parse("0110a"), Err(CutError::Format));
        assert_eq!(Cut::parse("99999"), Err(CutError::Unknown));
        assert_eq!(Cut::parse("16101"), Err(CutError::Unknown));
    }
}

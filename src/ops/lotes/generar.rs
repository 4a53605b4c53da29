//! Synthetic SRCeI person feeds, for trials and for the ingestion benchmark: `n` valid records
//! with consecutive RUNs from `desde`, deterministic for a given seed.

use std::io::{self, Write};

use chrono::{Days, NaiveDate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Formato;
use crate::domain::Run;
use crate::seed::names::{APELLIDOS, NOMBRES_F, NOMBRES_M};

/// Writes `n` person records (RUNs `desde`, `desde + 1`, …) as a CSV or XML batch.
pub fn generar_personas(
    out: &mut dyn Write,
    formato: Formato,
    n: u64,
    desde: u32,
    seed: u64,
) -> io::Result<()> {
    if u64::from(desde) + n > u64::from(Run::MAX) + 1 || desde == 0 {
        return Err(io::Error::other(format!(
            "the RUNs {desde}..{} do not fit between 1 and {}",
            u64::from(desde) + n,
            Run::MAX
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let origin = NaiveDate::from_ymd_opt(1930, 1, 1).unwrap_or_default();
    match formato {
        Formato::Csv => writeln!(out, "{}", super::TipoLote::Personas.columnas().join(","))?,
        Formato::Xml => writeln!(
            out,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<lote xmlns=\"{}\" tipo=\"personas\">",
            super::xml::NAMESPACE
        )?,
    }
    for i in 0..n {
        let run = Run::from_numero(desde + i as u32).map_err(io::Error::other)?;
        let female = rng.random_bool(0.5);
        let pick =
            |rng: &mut ChaCha8Rng, list: &[&'static str]| list[rng.random_range(0..list.len())];
        let nombres = if female {
            pick(&mut rng, NOMBRES_F)
        } else {
            pick(&mut rng, NOMBRES_M)
        };
        let (paterno, materno) = (pick(&mut rng, APELLIDOS), pick(&mut rng, APELLIDOS));
        let nacimiento = origin + Days::new(rng.random_range(0..34_000));
        let sexo = if female { "F" } else { "M" };
        match formato {
            Formato::Csv => writeln!(
                out,
                "{run},{nombres},{paterno},{materno},{nacimiento},{sexo},CL"
            )?,
            Formato::Xml => writeln!(
                out,
                "  <registro><run>{run}</run><nombres>{nombres}</nombres><apellido_paterno>{paterno}</apellido_paterno><apellido_materno>{materno}</apellido_materno><fecha_nacimiento>{nacimiento}</fecha_nacimiento><sexo>{sexo}</sexo><nacionalidad>CL</nacionalidad></registro>"
            )?,
        }
    }
    if formato == Formato::Xml {
        writeln!(out, "</lote>")?;
    }
    out.flush()
}

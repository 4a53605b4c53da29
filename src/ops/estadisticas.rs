//! EstadisticasTerritoriales: persons, households and fichas in force, and the average score,
//! by territory (nation, region or comuna) and quintile, from the precomputed summary
//! ([`resumen`]). Every cell under 10 persons, 10 households or 10 fichas is suppressed whole,
//! and so is every cell that would let a suppressed one (any of its counts), or a sum of
//! suppressed ones under 10, be recovered by subtraction ([`supresion`]); the pattern is
//! computed over the whole national table ([`tabla`]), so every answer is a subset of the same
//! table.
//!
//! Every agreement that is granted the operation sees the national table: once suppressed the
//! aggregates are not personal data, and a comuna-scoped agreement gains nothing a narrower
//! view would withhold (the suppression does not depend on who asks).

pub mod resumen;
pub mod supresion;
pub mod tabla;

use std::collections::BTreeSet;

use crate::db::DbConnection;
use crate::domain::{Cut, CutError, comunas, regiones};
use crate::error::ApiError;
use crate::projection::FieldSet;
use crate::projection::{Project, recortar, revelados};
pub use crate::respuestas::{CeldaPublicada, Estadisticas};
use tabla::{Ambito, Celda};

/// The territorial level of the cells asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nivel {
    Nacional,
    Region,
    Comuna,
}

impl Nivel {
    pub fn name(self) -> &'static str {
        match self {
            Nivel::Nacional => "nacional",
            Nivel::Region => "region",
            Nivel::Comuna => "comuna",
        }
    }
}

/// A valid request: the level, an optional territory filter and the quintiles asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consulta {
    pub nivel: Nivel,
    /// Only this region (its own cells at `region` level, its comunas' at `comuna` level).
    pub region: Option<String>,
    /// Only this comuna (level `comuna`).
    pub comuna: Option<Cut>,
    /// The quintile cells wanted (1 to 5); the total cells always come.
    pub quintiles: BTreeSet<u8>,
}

/// The parts of a request as text, whatever the transport.
#[derive(Debug, Clone, Default)]
pub struct Parametros<'a> {
    pub nivel: Option<&'a str>,
    pub region: Option<&'a str>,
    pub comuna: Option<&'a str>,
    /// A comma-separated list of quintiles, such as `1,2`.
    pub quintil: Option<&'a str>,
}

fn shown(text: &str) -> String {
    text.chars().take(20).collect()
}

impl Consulta {
    /// Checks the parameters. Without `nivel`, the level is that of the finest territory given
    /// (`nacional` when none).
    pub fn parse(p: &Parametros<'_>) -> Result<Consulta, ApiError> {
        let region = match p.region.map(str::trim).filter(|r| !r.is_empty()) {
            None => None,
            Some(r) if regiones().iter().any(|x| x.codigo == r) => Some(r.to_owned()),
            Some(r) => {
                return Err(ApiError::region_desconocida(format!(
                    "no region has code {:?} (two digits, 01 to 15)",
                    shown(r)
                )));
            }
        };
        let comuna = match p.comuna.map(str::trim).filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(Cut::parse(c).map_err(|e| {
                ApiError::comuna_desconocida(match e {
                    CutError::Format => e.to_string(),
                    CutError::Unknown => format!("no comuna has code {:?}", shown(c)),
                })
            })?),
        };
        if let (Some(r), Some(c)) = (&region, &comuna)
            && c.region() != r
        {
            return Err(ApiError::comuna_desconocida(format!(
                "comuna {c} is not in region {r}"
            )));
        }
        let nivel = match p.nivel.map(str::trim).filter(|n| !n.is_empty()) {
            None if comuna.is_some() => Nivel::Comuna,
            None if region.is_some() => Nivel::Region,
            None | Some("nacional") => Nivel::Nacional,
            Some("region") => Nivel::Region,
            Some("comuna") => Nivel::Comuna,
            Some(other) => {
                return Err(ApiError::nivel_invalido(format!(
                    "nivel is nacional, region or comuna, not {:?}",
                    shown(other)
                )));
            }
        };
        let finest = if comuna.is_some() {
            Some(Nivel::Comuna)
        } else if region.is_some() {
            Some(Nivel::Region)
        } else {
            None
        };
        match (nivel, finest) {
            (Nivel::Nacional, Some(f)) | (Nivel::Region, Some(f @ Nivel::Comuna)) => {
                return Err(ApiError::nivel_invalido(format!(
                    "nivel {} cannot be narrowed to one {}",
                    nivel.name(),
                    f.name()
                )));
            }
            _ => {}
        }
        let quintiles = match p.quintil.map(str::trim) {
            None | Some("") => tabla::QUINTILES.into_iter().collect(),
            Some(list) => list
                .split(',')
                .map(|q| match q.trim().parse::<u8>() {
                    Ok(n @ 1..=5) => Ok(n),
                    _ => Err(ApiError::quintil_invalido(format!(
                        "quintil is a comma-separated list of 1 to 5, not {:?}",
                        shown(q)
                    ))),
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Consulta {
            nivel,
            region,
            comuna,
            quintiles,
        })
    }

    /// Whether a cell of the national table is part of this answer.
    fn wants(&self, celda: &Celda) -> bool {
        let territorio = match (&celda.ambito, self.nivel) {
            (Ambito::Nacional, Nivel::Nacional) => true,
            (Ambito::Region(r), Nivel::Region) => self.region.as_ref().is_none_or(|x| x == r),
            (Ambito::Comuna(c), Nivel::Comuna) => {
                self.region
                    .as_ref()
                    .is_none_or(|x| c.starts_with(x.as_str()))
                    && self.comuna.is_none_or(|x| x.as_str() == c)
            }
            _ => false,
        };
        territorio && celda.quintil.is_none_or(|q| self.quintiles.contains(&q))
    }
}

impl Project for Estadisticas {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }
}

/// The published form of a cell of the suppressed table.
fn publicada(celda: &Celda) -> CeldaPublicada {
    let (ambito, codigo, nombre) = match &celda.ambito {
        Ambito::Nacional => ("nacional", None, "CHILE".to_owned()),
        Ambito::Region(r) => (
            "region",
            Some(r.clone()),
            regiones()
                .iter()
                .find(|x| &x.codigo == r)
                .map(|x| x.nombre.clone())
                .unwrap_or_default(),
        ),
        Ambito::Comuna(c) => (
            "comuna",
            Some(c.clone()),
            Cut::parse(c)
                .map(|cut| cut.comuna().nombre.clone())
                .unwrap_or_default(),
        ),
    };
    let visible = |n: u64| (!celda.reservada).then_some(n);
    let k = &celda.conteo;
    CeldaPublicada {
        ambito: Some(ambito),
        codigo,
        nombre: Some(nombre),
        quintil: Some(celda.quintil.map_or("total".to_owned(), |q| q.to_string())),
        reservado: Some(celda.reservada),
        personas: visible(k.personas),
        hogares: visible(k.hogares),
        fichas: visible(k.fichas),
        puntaje_promedio: (!celda.reservada && k.fichas > 0)
            .then(|| (k.suma_puntaje as f64 / k.fichas as f64 * 10.0).round() / 10.0),
    }
}

/// Answers `consulta` from the stored summary.
pub fn responder(conn: &mut DbConnection, consulta: &Consulta) -> Result<Estadisticas, ApiError> {
    let Some(resumen) = resumen::cargar(conn)? else {
        return Err(ApiError::estadisticas_no_calculadas());
    };
    let territorio: Vec<(String, String)> = comunas()
        .iter()
        .map(|c| (c.region.clone(), c.cut.to_string()))
        .collect();
    let tabla = tabla::publicar(&territorio, &resumen.conteos);
    let celdas = tabla
        .celdas
        .iter()
        .filter(|c| consulta.wants(c))
        .map(publicada)
        .collect();
    Ok(Estadisticas {
        calculado_en: Some(
            resumen
                .calculado_en
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        celdas: Some(celdas),
    })
}

/// EstadisticasTerritoriales (REST `GET /api/v1/estadisticas`, SOAP EstadisticasTerritoriales):
/// counts by territory, small cells suppressed; it names no person.
pub struct EstadisticasTerritoriales;

impl super::Op for EstadisticasTerritoriales {
    const OPERATION: crate::catalog::Operation =
        crate::catalog::Operation::EstadisticasTerritoriales;
    type Request = Consulta;
    type Response = Estadisticas;

    fn subjects(_: &Consulta) -> Vec<crate::domain::Run> {
        Vec::new()
    }

    fn handle(
        _: &super::Core,
        _: &crate::broker::Admission,
        conn: &mut DbConnection,
        consulta: Consulta,
    ) -> Result<Estadisticas, ApiError> {
        responder(conn, &consulta)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    fn parse(
        nivel: Option<&str>,
        region: Option<&str>,
        comuna: Option<&str>,
        quintil: Option<&str>,
    ) -> Result<Consulta, &'static str> {
        Consulta::parse(&Parametros {
            nivel,
            region,
            comuna,
            quintil,
        })
        .map_err(|e| e.code.as_str())
    }

    #[test]
    fn the_level_defaults_to_the_finest_territory_given() {
        assert_eq!(
            parse(None, None, None, None).unwrap().nivel,
            Nivel::Nacional
        );
        assert_eq!(
            parse(None, Some("13"), None, None).unwrap().nivel,
            Nivel::Region
        );
        let c = parse(None, None, Some("13101"), Some("2, 1")).unwrap();
        assert_eq!(c.nivel, Nivel::Comuna);
        assert_eq!(c.quintiles, BTreeSet::from([1, 2]));
        let c = parse(Some("comuna"), Some("05"), None, None).unwrap();
        assert_eq!((c.nivel, c.region.as_deref()), (Nivel::Comuna, Some("05")));
        assert_eq!(c.quintiles.len(), 5);
    }

    #[test]
    fn bad_parameters_have_their_own_codes() {
        assert_eq!(
            parse(None, Some("16"), None, None),
            Err("REGION_DESCONOCIDA")
        );
        assert_eq!(
            parse(None, None, Some("13999"), None),
            Err("COMUNA_DESCONOCIDA")
        );
        assert_eq!(
            parse(None, None, Some("abc"), None),
            Err("COMUNA_DESCONOCIDA")
        );
        assert_eq!(
            parse(None, Some("13"), Some("05101"), None),
            Err("COMUNA_DESCONOCIDA")
        );
        assert_eq!(
            parse(None, None, None, Some("1,6")),
            Err("QUINTIL_INVALIDO")
        );
        assert_eq!(parse(None, None, None, Some("V")), Err("QUINTIL_INVALIDO"));
        assert_eq!(
            parse(Some("provincia"), None, None, None),
            Err("NIVEL_INVALIDO")
        );
        assert_eq!(
            parse(Some("region"), None, Some("13101"), None),
            Err("NIVEL_INVALIDO")
        );
        assert_eq!(
            parse(Some("nacional"), Some("13"), None, None),
            Err("NIVEL_INVALIDO")
        );
    }

    fn leaves(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(v, &path, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| leaves(v, prefix, out)),
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }

    fn answer() -> Estadisticas {
        let full = CeldaPublicada {
            ambito: Some("comuna"),
            codigo: Some("13101".into()),
            nombre: Some("SANTIAGO".into()),
            quintil: Some("1".into()),
            reservado: Some(false),
            personas: Some(40),
            hogares: Some(12),
            fichas: Some(12),
            puntaje_promedio: Some(7012.5),
        };
        let reserved = CeldaPublicada {
            quintil: Some("2".into()),
            reservado: Some(true),
            personas: None,
            hogares: None,
            fichas: None,
            puntaje_promedio: None,
            ..full.clone()
        };
        Estadisticas {
            calculado_en: Some("2026-11-28T10:00:00Z".into()),
            celdas: Some(vec![full, reserved]),
        }
    }

    proptest! {
        /// Projection never leaks a field outside the grant, keeps every granted one, and the
        /// audit log is told exactly what remains.
        #[test]
        fn projection_keeps_exactly_the_granted_fields(
            mask in prop::collection::vec(any::<bool>(), crate::catalog::Operation::EstadisticasTerritoriales.fields().len())
        ) {
            let grant: Vec<&str> = crate::catalog::Operation::EstadisticasTerritoriales.fields()
                .iter()
                .zip(&mask)
                .filter(|(_, keep)| **keep)
                .map(|(f, _)| *f)
                .collect();
            let mut value = answer();
            value.project(&FieldSet::new(grant.iter().copied()));
            let mut after = BTreeSet::new();
            leaves(&serde_json::to_value(&value).unwrap(), "", &mut after);
            let granted: BTreeSet<String> = grant.iter().map(|s| s.to_string()).collect();
            prop_assert_eq!(&after, &granted);
            let reported: BTreeSet<String> = value.disclosed().iter().map(|s| s.to_string()).collect();
            prop_assert_eq!(reported, after);
        }
    }
}

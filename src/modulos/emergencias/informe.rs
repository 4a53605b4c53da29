//! InformeEmergencia's table: households and aid deliveries by territory of origin and aid
//! type, with the statistics' disclosure control
//! ([`crate::ops::estadisticas::supresion`], threshold [`UMBRAL`]).
//!
//! A cell is `(territory, column)` with counts `[hogares, entregas]`; the columns are `total`
//! (households registered, deliveries of every kind) and one per aid type (households that
//! received it, its deliveries). The territories are the affected comunas, or their provinces
//! (CUT[0..3]) or regions (CUT[0..2]), plus the nation. The additive relations:
//! - for each column, the nation = Σ territories (a household has one origin);
//! - for each territory, `entregas` of `total` = Σ types. Households are not additive across
//!   types (one household receives several), so for them the relation only makes suppression
//!   more cautious, never less.
//!
//! The pattern does not depend on who asks: the report is the same for every agreement.

use std::collections::{BTreeMap, BTreeSet};

use super::catalogo::AYUDAS;
use crate::ops::estadisticas::supresion::{Relacion, suprimir};
pub use crate::ops::estadisticas::tabla::UMBRAL;

pub use crate::domain::Nivel;

/// One cell, suppressed or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Celda {
    /// `None` for the nation.
    pub territorio: Option<String>,
    /// `None` for the total column.
    pub tipo: Option<&'static str>,
    pub hogares: u64,
    pub entregas: u64,
    pub reservada: bool,
}

/// The table with its relations (kept for the tests' checks).
#[derive(Debug, Clone)]
pub struct Tabla {
    pub celdas: Vec<Celda>,
    pub relaciones: Vec<Relacion>,
}

/// The table for an emergency whose affected comunas are `afectadas`, from each record's
/// `(id, origin)` and each delivery's `(record, type)`: every level at once (the comunas, their
/// provinces and regions, the nation), suppressed together, so that no level's published cells
/// recover a cell another level reserves (a province published beside its comunas would give away
/// a reserved one by subtraction). A request reads one level of it ([`Tabla::del_nivel`]).
pub fn tabla(
    afectadas: &[String],
    registros: &[(String, String)],
    entregas: &[(String, String)],
) -> Tabla {
    let territorios: Vec<&str> = Nivel::TODOS
        .iter()
        .flat_map(|n| afectadas.iter().map(|c| n.codigo_de(c)))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let columnas: Vec<Option<&'static str>> = std::iter::once(None)
        .chain(AYUDAS.iter().copied().map(Some))
        .collect();
    // Rows: each territory, then the nation; cell index = fila * columnas + columna.
    let filas = territorios.len() + 1;
    let nacion = territorios.len();
    let fila_de = |t: &str| territorios.iter().position(|x| *x == t);
    // The rows a record of origin `cut` counts in: its comuna's, province's and region's, and
    // the nation's; none when its origin is not an affected comuna.
    let filas_de = |cut: &str| -> Option<[usize; 4]> {
        Some([
            fila_de(Nivel::Comuna.codigo_de(cut)).filter(|_| cut.len() == 5)?,
            fila_de(Nivel::Provincia.codigo_de(cut))?,
            fila_de(Nivel::Region.codigo_de(cut))?,
            nacion,
        ])
    };
    let origen: BTreeMap<&str, [usize; 4]> = registros
        .iter()
        .filter_map(|(id, cut)| Some((id.as_str(), filas_de(cut)?)))
        .collect();
    let ancho = columnas.len();
    let mut conteos = vec![[0u64; 2]; filas * ancho];
    let mut recibieron: BTreeSet<(usize, usize, &str)> = BTreeSet::new();
    for fila in origen.values().flatten() {
        conteos[fila * ancho][0] += 1;
    }
    for (registro, tipo) in entregas {
        let (Some(filas_registro), Some(c)) = (
            origen.get(registro.as_str()),
            columnas.iter().position(|x| *x == Some(tipo.as_str())),
        ) else {
            continue;
        };
        for &fila in filas_registro {
            conteos[fila * ancho][1] += 1;
            conteos[fila * ancho + c][1] += 1;
            if recibieron.insert((fila, c, registro.as_str())) {
                conteos[fila * ancho + c][0] += 1;
            }
        }
    }
    // The additive relations: in each column, a territory is the sum of the territories one
    // level below it (a province of its comunas, a region of its provinces, the nation of the
    // regions); in each row, the total's deliveries are the sum of each type's.
    let mut relaciones = Vec::new();
    let debajo = |total: Option<&str>, nivel: Nivel| -> Vec<usize> {
        territorios
            .iter()
            .enumerate()
            .filter(|(_, t)| t.len() == nivel.largo() && total.is_none_or(|p| t.starts_with(p)))
            .map(|(f, _)| f)
            .collect()
    };
    for c in 0..ancho {
        for (f, t) in territorios.iter().enumerate() {
            let nivel = match t.len() {
                3 => Nivel::Comuna,
                2 => Nivel::Provincia,
                _ => continue,
            };
            relaciones.push(Relacion {
                total: f * ancho + c,
                partes: debajo(Some(t), nivel)
                    .iter()
                    .map(|p| p * ancho + c)
                    .collect(),
            });
        }
        relaciones.push(Relacion {
            total: nacion * ancho + c,
            partes: debajo(None, Nivel::Region)
                .iter()
                .map(|p| p * ancho + c)
                .collect(),
        });
    }
    for f in 0..filas {
        relaciones.push(Relacion {
            total: f * ancho,
            partes: (1..ancho).map(|c| f * ancho + c).collect(),
        });
    }
    let reservadas = suprimir(&conteos, &relaciones, UMBRAL);
    let celdas = (0..filas * ancho)
        .map(|i| Celda {
            territorio: territorios.get(i / ancho).map(|t| (*t).to_owned()),
            tipo: columnas[i % ancho],
            hogares: conteos[i][0],
            entregas: conteos[i][1],
            reservada: reservadas[i],
        })
        .collect();
    Tabla { celdas, relaciones }
}

impl Tabla {
    /// The cells of one level and the nation's, in the table's order.
    pub fn del_nivel(&self, nivel: Nivel) -> impl Iterator<Item = &Celda> {
        self.celdas.iter().filter(move |c| {
            c.territorio
                .as_deref()
                .is_none_or(|t| t.len() == nivel.largo())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::estadisticas::supresion::{recuperables, sumas_reveladas};

    /// `(id, text)` pairs: records with their origin, deliveries with their kind.
    type Pares = Vec<(String, String)>;

    /// `n` records of origin `cut`, named `cut-i`, each given `alimentos` once (and `agua`
    /// for the first `agua`).
    fn hogares(cut: &str, n: usize, agua: usize) -> (Pares, Pares) {
        let registros: Vec<(String, String)> = (0..n)
            .map(|i| (format!("{cut}-{i}"), cut.to_owned()))
            .collect();
        let mut entregas: Vec<(String, String)> = registros
            .iter()
            .map(|(id, _)| (id.clone(), "alimentos".to_owned()))
            .collect();
        entregas.extend(
            registros
                .iter()
                .take(agua)
                .map(|(id, _)| (id.clone(), "agua".to_owned())),
        );
        (registros, entregas)
    }

    fn chaiten() -> (Vec<String>, Pares, Pares) {
        let afectadas = vec!["10401".to_owned(), "10402".to_owned(), "10404".to_owned()];
        let mut registros = Vec::new();
        let mut entregas = Vec::new();
        for (cut, n, agua) in [("10401", 30, 20), ("10402", 15, 12), ("10404", 3, 0)] {
            let (r, e) = hogares(cut, n, agua);
            registros.extend(r);
            entregas.extend(e);
        }
        (afectadas, registros, entregas)
    }

    fn celda<'a>(t: &'a Tabla, territorio: Option<&str>, tipo: Option<&str>) -> &'a Celda {
        t.celdas
            .iter()
            .find(|c| c.territorio.as_deref() == territorio && c.tipo == tipo)
            .unwrap()
    }

    fn conteos(t: &Tabla) -> Vec<[u64; 2]> {
        t.celdas.iter().map(|c| [c.hogares, c.entregas]).collect()
    }

    #[test]
    fn counts_households_and_deliveries_by_origin_and_type() {
        let (afectadas, registros, entregas) = chaiten();
        let t = tabla(&afectadas, &registros, &entregas);
        // Three comunas of one province and region, and the nation, at the comuna level.
        assert_eq!(t.del_nivel(Nivel::Comuna).count(), 4 * (AYUDAS.len() + 1));
        let total = celda(&t, Some("10401"), None);
        assert_eq!((total.hogares, total.entregas), (30, 50));
        let agua = celda(&t, Some("10401"), Some("agua"));
        assert_eq!((agua.hogares, agua.entregas), (20, 20));
        let nacion = celda(&t, None, None);
        assert_eq!((nacion.hogares, nacion.entregas), (48, 80));
        assert!(!total.reservada && !nacion.reservada);
    }

    #[test]
    fn a_comuna_of_three_households_is_reserved_and_nothing_recovers_it() {
        let (afectadas, registros, entregas) = chaiten();
        let t = tabla(&afectadas, &registros, &entregas);
        let palena = celda(&t, Some("10404"), None);
        assert_eq!(palena.hogares, 3);
        assert!(palena.reservada, "3 households are under {UMBRAL}");
        // Its complement in the total column: the smallest other comuna.
        assert!(celda(&t, Some("10402"), None).reservada);
        let reservadas: Vec<bool> = t.celdas.iter().map(|c| c.reservada).collect();
        assert!(recuperables(&reservadas, &t.relaciones).is_empty());
        assert!(sumas_reveladas(&conteos(&t), &reservadas, &t.relaciones, UMBRAL).is_empty());
        // Every published cell is at least the threshold on both counts.
        for c in t.celdas.iter().filter(|c| !c.reservada) {
            assert!(c.hogares >= UMBRAL && c.entregas >= UMBRAL, "{c:?}");
        }
        // And by hand: the nation less the published comunas of the total column is the sum of
        // the reserved ones, never under the threshold.
        let publicadas: u64 = t
            .del_nivel(Nivel::Comuna)
            .filter(|c| c.territorio.is_some() && c.tipo.is_none() && !c.reservada)
            .map(|c| c.hogares)
            .sum();
        let diferencia = celda(&t, None, None).hogares - publicadas;
        assert!(diferencia >= UMBRAL, "{diferencia}");
    }

    /// A reserved comuna cannot be recovered from another level of the same report: with
    /// Futaleufú at 3 households, Palena's province published beside Chaitén and Palena would
    /// give it away (34 - 16 - 15), so the levels are suppressed as one table.
    #[test]
    fn no_level_recovers_a_cell_another_level_reserves() {
        let afectadas: Vec<String> = ["10401", "10402", "10404", "10101"]
            .map(str::to_owned)
            .to_vec();
        let (mut registros, mut entregas) = (Vec::new(), Vec::new());
        for (cut, n) in [("10401", 16), ("10402", 3), ("10404", 15), ("10101", 11)] {
            let (r, e) = hogares(cut, n, 0);
            registros.extend(r);
            entregas.extend(e);
        }
        let t = tabla(&afectadas, &registros, &entregas);
        assert!(celda(&t, Some("10402"), None).reservada);
        let reservadas: Vec<bool> = t.celdas.iter().map(|c| c.reservada).collect();
        assert!(recuperables(&reservadas, &t.relaciones).is_empty());
        assert!(sumas_reveladas(&conteos(&t), &reservadas, &t.relaciones, UMBRAL).is_empty());
        // By hand, the attack: the province less its published comunas is never a single
        // reserved comuna under the threshold.
        let provincia = celda(&t, Some("104"), None);
        if !provincia.reservada {
            let publicadas: u64 = ["10401", "10402", "10404"]
                .iter()
                .map(|c| celda(&t, Some(c), None))
                .filter(|c| !c.reservada)
                .map(|c| c.hogares)
                .sum();
            assert!(provincia.hogares - publicadas >= UMBRAL);
        }
    }

    #[test]
    fn provinces_and_regions_group_by_the_cut_prefix() {
        let afectadas = vec!["10401".to_owned(), "10402".to_owned(), "10101".to_owned()];
        let (mut registros, mut entregas) = hogares("10401", 12, 0);
        let (r, e) = hogares("10402", 4, 0);
        registros.extend(r);
        entregas.extend(e);
        let (r, e) = hogares("10101", 20, 0);
        registros.extend(r);
        entregas.extend(e);
        let p = tabla(&afectadas, &registros, &entregas);
        assert_eq!(celda(&p, Some("104"), None).hogares, 16);
        assert_eq!(celda(&p, Some("101"), None).hogares, 20);
        assert!(!celda(&p, Some("104"), None).reservada);
        let r = tabla(&afectadas, &registros, &entregas);
        assert_eq!(celda(&r, Some("10"), None).hogares, 36);
        assert_eq!(r.del_nivel(Nivel::Region).count(), 2 * (AYUDAS.len() + 1));
    }

    #[test]
    fn an_empty_emergency_publishes_nothing() {
        let t = tabla(&["10401".to_owned()], &[], &[]);
        assert!(t.celdas.iter().all(|c| c.reservada));
    }
}

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
/// `(id, origin)` and each delivery's `(record, type)`.
pub fn tabla(
    nivel: Nivel,
    afectadas: &[String],
    registros: &[(String, String)],
    entregas: &[(String, String)],
) -> Tabla {
    let territorios: Vec<&str> = afectadas
        .iter()
        .map(|c| nivel.codigo_de(c))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let columnas: Vec<Option<&'static str>> = std::iter::once(None)
        .chain(AYUDAS.iter().copied().map(Some))
        .collect();
    let origen: BTreeMap<&str, &str> = registros
        .iter()
        .map(|(id, cut)| (id.as_str(), nivel.codigo_de(cut)))
        .collect();
    // Rows: each territory, then the nation; cell index = fila * columnas + columna.
    let filas = territorios.len() + 1;
    let nacion = territorios.len();
    let fila_de = |t: &str| territorios.iter().position(|x| *x == t);
    let ancho = columnas.len();
    let mut conteos = vec![[0u64; 2]; filas * ancho];
    let mut recibieron: BTreeSet<(usize, usize, &str)> = BTreeSet::new();
    for (id, _) in registros {
        if let Some(f) = origen.get(id.as_str()).and_then(|t| fila_de(t)) {
            conteos[f * ancho][0] += 1;
            conteos[nacion * ancho][0] += 1;
        }
    }
    for (registro, tipo) in entregas {
        let (Some(f), Some(c)) = (
            origen.get(registro.as_str()).and_then(|t| fila_de(t)),
            columnas.iter().position(|x| *x == Some(tipo.as_str())),
        ) else {
            continue;
        };
        for fila in [f, nacion] {
            conteos[fila * ancho][1] += 1;
            conteos[fila * ancho + c][1] += 1;
            if recibieron.insert((fila, c, registro.as_str())) {
                conteos[fila * ancho + c][0] += 1;
            }
        }
    }
    let mut relaciones = Vec::new();
    for c in 0..ancho {
        relaciones.push(Relacion {
            total: nacion * ancho + c,
            partes: (0..territorios.len()).map(|f| f * ancho + c).collect(),
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
        let t = tabla(Nivel::Comuna, &afectadas, &registros, &entregas);
        assert_eq!(t.celdas.len(), 4 * (AYUDAS.len() + 1));
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
        let t = tabla(Nivel::Comuna, &afectadas, &registros, &entregas);
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
            .celdas
            .iter()
            .filter(|c| c.territorio.is_some() && c.tipo.is_none() && !c.reservada)
            .map(|c| c.hogares)
            .sum();
        let diferencia = celda(&t, None, None).hogares - publicadas;
        assert!(diferencia >= UMBRAL, "{diferencia}");
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
        let p = tabla(Nivel::Provincia, &afectadas, &registros, &entregas);
        assert_eq!(celda(&p, Some("104"), None).hogares, 16);
        assert_eq!(celda(&p, Some("101"), None).hogares, 20);
        assert!(!celda(&p, Some("104"), None).reservada);
        let r = tabla(Nivel::Region, &afectadas, &registros, &entregas);
        assert_eq!(celda(&r, Some("10"), None).hogares, 36);
        assert_eq!(r.celdas.len(), 2 * (AYUDAS.len() + 1));
    }

    #[test]
    fn an_empty_emergency_publishes_nothing() {
        let t = tabla(Nivel::Comuna, &["10401".to_owned()], &[], &[]);
        assert!(t.celdas.iter().all(|c| c.reservada));
    }

    #[test]
    fn levels_parse() {}
}

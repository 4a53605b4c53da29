//! The module's rules, embedded: the 53 condiciones mínimas in their 7 dimensions
//! (`condiciones.csv`) and the bonos' monthly amounts (`bonos.csv`). Both files are read once;
//! the tests below hold them to their shape.

use std::sync::LazyLock;

use chrono::{Datelike, Months, NaiveDate};

/// The seven dimensions of the condiciones mínimas, in the catalogue's order.
pub const DIMENSIONES: [&str; 7] = [
    "identificacion",
    "salud",
    "educacion",
    "dinamica_familiar",
    "habitabilidad",
    "trabajo",
    "ingresos",
];

/// One condición mínima.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condicion {
    pub codigo: &'static str,
    pub dimension: &'static str,
    pub texto: &'static str,
}

static CONDICIONES: LazyLock<Vec<Condicion>> = LazyLock::new(|| {
    include_str!("condiciones.csv")
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            // The text may hold commas: only the first two separate.
            let mut parts = line.splitn(3, ',');
            let mut next = || parts.next().unwrap_or("").trim();
            Condicion {
                codigo: next(),
                dimension: next(),
                texto: next(),
            }
        })
        .collect()
});

/// Every condición mínima, in the catalogue's order.
pub fn condiciones() -> &'static [Condicion] {
    &CONDICIONES
}

/// The condición with that code.
pub fn condicion(codigo: &str) -> Option<&'static Condicion> {
    condiciones().iter().find(|c| c.codigo == codigo)
}

/// The kinds of bono: 24 months of protección while the family is accompanied, then 36 of
/// egreso when it leaves having met its conditions.
pub const TIPOS_BONO: [&str; 2] = ["proteccion", "egreso"];

/// A range of months of one kind of bono and its monthly amount (pesos).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tramo {
    tipo: &'static str,
    desde: u32,
    hasta: u32,
    monto: i32,
}

static TRAMOS: LazyLock<Vec<Tramo>> = LazyLock::new(|| {
    include_str!("bonos.csv")
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(',').map(str::trim).collect();
            let n = |i: usize| f.get(i).and_then(|v| v.parse().ok()).unwrap_or(0);
            Tramo {
                tipo: TIPOS_BONO
                    .iter()
                    .find(|t| Some(**t) == f.first().copied())
                    .copied()
                    .unwrap_or(""),
                desde: n(1),
                hasta: n(2),
                monto: n(3) as i32,
            }
        })
        .collect()
});

/// One month of a bono's schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cuota {
    pub tipo: &'static str,
    pub mes: i32,
    /// `YYYY-MM`.
    pub periodo: String,
    pub monto: i32,
}

/// The schedule of a kind of bono whose first month is `inicio`'s: one cuota per month of its
/// tramos, in order.
pub fn calendario(tipo: &str, inicio: NaiveDate) -> Vec<Cuota> {
    let primero = inicio.with_day(1).unwrap_or(inicio);
    TRAMOS
        .iter()
        .filter(|t| t.tipo == tipo)
        .flat_map(|t| (t.desde..=t.hasta).map(move |mes| (t, mes)))
        .map(|(t, mes)| {
            let fecha = primero + Months::new(mes - 1);
            Cuota {
                tipo: t.tipo,
                mes: mes as i32,
                periodo: format!("{:04}-{:02}", fecha.year(), fecha.month()),
                monto: t.monto,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_catalogue_holds_53_conditions_in_7_dimensions() {
        let all = condiciones();
        assert_eq!(all.len(), 53);
        let codes: BTreeSet<&str> = all.iter().map(|c| c.codigo).collect();
        assert_eq!(codes.len(), 53, "codes are unique");
        for c in all {
            assert!(DIMENSIONES.contains(&c.dimension), "{c:?}");
            assert!(!c.texto.is_empty() && c.codigo.len() <= 5, "{c:?}");
        }
        let per: Vec<usize> = DIMENSIONES
            .iter()
            .map(|d| all.iter().filter(|c| c.dimension == *d).count())
            .collect();
        assert_eq!(per, [6, 7, 8, 6, 12, 7, 7]);
        assert_eq!(
            condicion("HAB12").map(|c| c.dimension),
            Some("habitabilidad")
        );
        assert_eq!(condicion("XYZ1"), None);
    }

    #[test]
    fn the_bonos_are_24_decreasing_months_then_36_of_egreso() {
        let inicio = NaiveDate::from_ymd_opt(2026, 11, 15).unwrap();
        let p = calendario("proteccion", inicio);
        assert_eq!(p.len(), 24);
        assert_eq!((p[0].mes, p[0].periodo.as_str()), (1, "2026-11"));
        assert_eq!(
            (p[2].periodo.as_str(), p[23].periodo.as_str()),
            ("2027-01", "2028-10")
        );
        assert!(
            p.windows(2)
                .all(|w| w[0].monto >= w[1].monto && w[1].mes == w[0].mes + 1)
        );
        assert!(p[0].monto > p[23].monto);
        let e = calendario("egreso", inicio);
        assert_eq!(e.len(), 36);
        assert!(e.iter().all(|c| c.monto == p[23].monto));
        assert!(calendario("otro", inicio).is_empty());
    }
}

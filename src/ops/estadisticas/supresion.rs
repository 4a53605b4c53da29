//! Statistical disclosure control for the territorial tables: primary suppression of every cell
//! with any count under the threshold, then complementary suppression until subtracting
//! published cells from a published total reveals neither a suppressed cell nor a sum of
//! suppressed cells under the threshold.
//!
//! A table is a list of cells (each with its counts: persons, households, fichas) and a list of
//! additive relations `total = part₁ + part₂ + …` (a row, a column, a region over its comunas,
//! the nation over its regions), which hold for every count. A cell is suppressed whole, all
//! its counts at once, when any of them is under the threshold: a cell of 30 persons in 3
//! households would otherwise publish the 3. Then each relation is checked:
//! - one suppressed member alone gives that cell away, every count of it;
//! - with the total published, the total minus the published parts is the sum of the
//!   suppressed parts, for each count: it must be 0 (nothing is hidden) or at least the
//!   threshold, or two cells of 3 and 4 persons would publish their 7 (and their average).
//!
//! Either way another cell of the relation is suppressed: the smallest published part (fewest
//! persons, so the least information is lost), or the total when every part is already
//! suppressed. Since whole cells are suppressed, the suppressed members of a relation are the
//! same for every count, and one pattern protects them all. Suppression only grows, so the
//! loop ends; it stops when every relation passes both checks. With the total suppressed a
//! relation reveals only a difference (the total less its suppressed parts), never a sum.

/// One additive relation of the table, by cell index: `total = Σ partes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relacion {
    pub total: usize,
    pub partes: Vec<usize>,
}

impl Relacion {
    /// Every cell of the relation, the total first.
    pub fn miembros(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.total).chain(self.partes.iter().copied())
    }
}

/// Whether subtraction in `relacion` yields a sum of suppressed parts between 1 and
/// `umbral − 1` on any count: with the total published, the total minus the published parts is
/// exactly the sum of the suppressed ones.
fn revela_suma<const N: usize>(
    conteos: &[[u64; N]],
    suprimida: &[bool],
    relacion: &Relacion,
    umbral: u64,
) -> bool {
    !suprimida[relacion.total]
        && (0..N).any(|k| {
            let suma: u64 = relacion
                .partes
                .iter()
                .filter(|&&i| suprimida[i])
                .map(|&i| conteos[i][k])
                .sum();
            (1..umbral).contains(&suma)
        })
}

/// Which cells to suppress: those with any count under `umbral`, and the complementary cells
/// that protect them. `conteos[i]` holds cell `i`'s counts, persons first (the complement is
/// chosen by it); the answer has one flag per cell.
pub fn suprimir<const N: usize>(
    conteos: &[[u64; N]],
    relaciones: &[Relacion],
    umbral: u64,
) -> Vec<bool> {
    let mut suprimida: Vec<bool> = conteos
        .iter()
        .map(|c| c.iter().any(|&n| n < umbral))
        .collect();
    let personas = |i: usize| conteos[i].first().copied().unwrap_or(0);
    loop {
        let mut cambio = false;
        for relacion in relaciones {
            let ocultas = relacion.miembros().filter(|&i| suprimida[i]).count();
            if ocultas != 1 && !revela_suma(conteos, &suprimida, relacion, umbral) {
                continue;
            }
            let complemento = relacion
                .partes
                .iter()
                .copied()
                .filter(|&i| !suprimida[i])
                .min_by_key(|&i| (personas(i), i))
                .unwrap_or(relacion.total);
            if !suprimida[complemento] {
                suprimida[complemento] = true;
                cambio = true;
            }
        }
        if !cambio {
            return suprimida;
        }
    }
}

/// The cells a differencing attack recovers: a suppressed cell whose relation publishes every
/// other member (its value is then the total minus the published parts, or the sum of the
/// parts). Empty for any answer of [`suprimir`]; used by the tests and kept beside it as the
/// statement of what suppression guarantees.
pub fn recuperables(suprimida: &[bool], relaciones: &[Relacion]) -> Vec<usize> {
    let mut out: Vec<usize> = relaciones
        .iter()
        .filter_map(|r| {
            let mut ocultas = r.miembros().filter(|&i| suprimida[i]);
            match (ocultas.next(), ocultas.next()) {
                (Some(i), None) => Some(i),
                _ => None,
            }
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The relations (by index) whose subtraction yields a sum of suppressed parts between 1 and
/// `umbral − 1` on some count. Empty for any answer of [`suprimir`]; the statement, beside
/// [`recuperables`], of the second thing suppression guarantees.
pub fn sumas_reveladas<const N: usize>(
    conteos: &[[u64; N]],
    suprimida: &[bool],
    relaciones: &[Relacion],
    umbral: u64,
) -> Vec<usize> {
    relaciones
        .iter()
        .enumerate()
        .filter(|(_, r)| revela_suma(conteos, suprimida, r, umbral))
        .map(|(k, _)| k)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cells counted by persons alone.
    fn solo(personas: &[u64]) -> Vec<[u64; 1]> {
        personas.iter().map(|&n| [n]).collect()
    }

    /// A 2×2 table with row, column and grand totals: cells 0..4 inner (r0c0, r0c1, r1c0,
    /// r1c1), 4,5 row totals, 6,7 column totals, 8 the grand total.
    fn dos_por_dos(inner: [u64; 4]) -> (Vec<u64>, Vec<Relacion>) {
        let [a, b, c, d] = inner;
        let cells = vec![a, b, c, d, a + b, c + d, a + c, b + d, a + b + c + d];
        let rel = |total, partes: &[usize]| Relacion {
            total,
            partes: partes.to_vec(),
        };
        let relaciones = vec![
            rel(4, &[0, 1]),
            rel(5, &[2, 3]),
            rel(6, &[0, 2]),
            rel(7, &[1, 3]),
            rel(8, &[4, 5]),
            rel(8, &[6, 7]),
        ];
        (cells, relaciones)
    }

    #[test]
    fn nothing_small_nothing_suppressed() {
        let (cells, rel) = dos_por_dos([10, 20, 30, 40]);
        assert_eq!(suprimir(&solo(&cells), &rel, 10), vec![false; 9]);
    }

    #[test]
    fn one_small_cell_takes_a_rectangle_with_it() {
        // r0c0 = 3 is primary; its row and column each need a second cell, and the cell that
        // closes the rectangle (r1c1) protects the others' row and column.
        let (cells, rel) = dos_por_dos([3, 50, 40, 60]);
        let s = suprimir(&solo(&cells), &rel, 10);
        assert_eq!(&s[..4], &[true, true, true, true]);
        assert_eq!(&s[4..], &[false; 5], "totals stay published");
        assert!(recuperables(&s, &rel).is_empty());
    }

    #[test]
    fn the_smallest_other_part_is_the_complement() {
        // One row of five quintiles plus its total: 4 is primary, 12 (the smallest other) goes
        // with it, the larger ones stay.
        let cells = vec![40, 4, 12, 90, 33, 179];
        let rel = vec![Relacion {
            total: 5,
            partes: vec![0, 1, 2, 3, 4],
        }];
        let s = suprimir(&solo(&cells), &rel, 10);
        assert_eq!(s, vec![false, true, true, false, false, false]);
    }

    #[test]
    fn zero_is_under_the_threshold_too() {
        let cells = vec![0, 25, 25];
        let rel = vec![Relacion {
            total: 2,
            partes: vec![0, 1],
        }];
        assert_eq!(suprimir(&solo(&cells), &rel, 10), vec![true, true, false]);
    }

    #[test]
    fn a_small_total_hides_its_parts() {
        // A total of 9 is primary; one published part would give away the other.
        let cells = vec![4, 5, 9];
        let rel = vec![Relacion {
            total: 2,
            partes: vec![0, 1],
        }];
        assert_eq!(suprimir(&solo(&cells), &rel, 10), vec![true, true, true]);
    }

    #[test]
    fn a_part_rather_than_the_total_is_the_complement() {
        // The total is published whenever a part can carry the protection instead.
        let cells = vec![12, 15, 27];
        let rel = vec![Relacion {
            total: 2,
            partes: vec![0, 1],
        }];
        assert_eq!(suprimir(&solo(&cells), &rel, 13), vec![true, true, false]);
    }

    #[test]
    fn a_single_part_relation_suppresses_its_total() {
        let cells = vec![5, 5];
        let rel = vec![Relacion {
            total: 1,
            partes: vec![0],
        }];
        assert_eq!(suprimir(&solo(&cells), &rel, 10), vec![true, true]);
    }

    #[test]
    fn recuperables_names_what_differencing_reveals() {
        let (_, rel) = dos_por_dos([3, 50, 40, 60]);
        let mut only_primary = vec![false; 9];
        only_primary[0] = true;
        assert_eq!(recuperables(&only_primary, &rel), vec![0]);
    }

    #[test]
    fn few_households_among_many_persons_are_suppressed_with_a_complement() {
        // A territory's five quintiles and total, as (persons, households, fichas): quintile 1
        // has 30 persons in 3 households; quintile 2, 40 persons in 20 households but 9 fichas.
        let cells = vec![
            [30, 3, 3],
            [40, 20, 9],
            [50, 25, 25],
            [60, 30, 30],
            [70, 35, 35],
            [250, 113, 102],
        ];
        let rel = vec![Relacion {
            total: 5,
            partes: vec![0, 1, 2, 3, 4],
        }];
        let s = suprimir(&cells, &rel, 10);
        assert_eq!(s, vec![true, true, false, false, false, false]);
        // Suppressing quintile 1 alone would give its 3 households away by subtraction.
        let only_primary = [true, false, false, false, false, false];
        assert_eq!(recuperables(&only_primary, &rel), vec![0]);
        assert!(recuperables(&s, &rel).is_empty());
    }

    #[test]
    fn reserved_parts_that_sum_under_the_threshold_take_another_part_with_them() {
        // A comuna's quintiles and total, as (persons, households, fichas): IV has 3 persons
        // and V has 4, both reserved. With I to III and the total published, IV + V = 7 (and
        // their average score) would follow by subtraction, so the smallest of I to III (by
        // persons: II) is reserved too, and the reserved parts then sum to 32.
        let cells = vec![
            [40, 20, 20],
            [25, 12, 12],
            [30, 15, 15],
            [3, 2, 2],
            [4, 2, 2],
            [102, 51, 51],
        ];
        let rel = vec![Relacion {
            total: 5,
            partes: vec![0, 1, 2, 3, 4],
        }];
        let s = suprimir(&cells, &rel, 10);
        assert_eq!(s, vec![false, true, false, true, true, false]);
        assert_eq!(
            sumas_reveladas(&cells, &[false, false, false, true, true, false], &rel, 10),
            vec![0]
        );
        assert!(sumas_reveladas(&cells, &s, &rel, 10).is_empty());
    }

    #[test]
    fn a_small_sum_of_households_alone_takes_another_part() {
        // IV and V are reserved for their households (3 and 4), with plenty of persons: the
        // 55 persons they hide together are safe, their 7 households are not.
        let cells = vec![
            [40, 20, 20],
            [25, 12, 12],
            [30, 15, 15],
            [30, 3, 3],
            [25, 4, 4],
            [150, 54, 54],
        ];
        let rel = vec![Relacion {
            total: 5,
            partes: vec![0, 1, 2, 3, 4],
        }];
        let s = suprimir(&cells, &rel, 10);
        assert_eq!(s, vec![false, true, false, true, true, false]);
    }

    #[test]
    fn a_reserved_total_reveals_no_sum_of_its_reserved_parts() {
        // A total of 7 with every part reserved: subtraction gives nothing, and there is no
        // published part left to reserve (the total is protected in its own relations).
        let cells = vec![[3, 1, 1], [4, 2, 2], [7, 3, 3]];
        let rel = vec![Relacion {
            total: 2,
            partes: vec![0, 1],
        }];
        let s = suprimir(&cells, &rel, 10);
        assert_eq!(s, vec![true, true, true]);
        assert!(sumas_reveladas(&cells, &s, &rel, 10).is_empty());
    }

    #[test]
    fn a_count_under_the_threshold_suppresses_the_cell_and_its_complement() {
        // Persons are plenty everywhere; one cell's fichas (9) decide, and its smallest
        // sibling by persons goes with it.
        let cells = vec![[50, 12, 9], [20, 10, 10], [35, 15, 15], [105, 37, 34]];
        let rel = vec![Relacion {
            total: 3,
            partes: vec![0, 1, 2],
        }];
        assert_eq!(suprimir(&cells, &rel, 10), vec![true, true, false, false]);
    }
}

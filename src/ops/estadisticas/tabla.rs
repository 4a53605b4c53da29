//! The published table: nation ⊃ region ⊃ comuna, each by quintile and in total, built from the
//! counts per comuna and quintile, with its additive relations and its suppression pattern
//! (over persons, households and fichas alike).
//!
//! The pattern is always computed over the whole national table, whatever a request asks for,
//! so that two requests (say one region's comunas, and then the region itself) never publish
//! cells that one suppressed and the other did not: every answer is a subset of one table.

use std::collections::{BTreeMap, HashMap};
use std::ops::Add;

use super::supresion::{Relacion, suprimir};

/// Cells with fewer persons, households or fichas than this are suppressed.
pub const UMBRAL: u64 = 10;

/// The quintiles, as their numbers.
pub const QUINTILES: [u8; 5] = [1, 2, 3, 4, 5];

/// What is counted in a cell. `suma_puntaje` is the sum of the cell's fichas' scores, so that
/// averages add up like the counts do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Conteo {
    /// Living members of the households counted.
    pub personas: u64,
    /// Households with a ficha in force and at least one living member.
    pub hogares: u64,
    /// Fichas in force.
    pub fichas: u64,
    pub suma_puntaje: u64,
}

impl Add for Conteo {
    type Output = Conteo;
    fn add(self, o: Conteo) -> Conteo {
        Conteo {
            personas: self.personas + o.personas,
            hogares: self.hogares + o.hogares,
            fichas: self.fichas + o.fichas,
            suma_puntaje: self.suma_puntaje + o.suma_puntaje,
        }
    }
}

/// The territory a cell covers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ambito {
    Nacional,
    /// A region by its two-digit code.
    Region(String),
    /// A comuna by its CUT.
    Comuna(String),
}

/// One cell: a territory, a quintile (`None`: all quintiles), its counts and whether it is
/// suppressed.
#[derive(Debug, Clone, PartialEq)]
pub struct Celda {
    pub ambito: Ambito,
    pub quintil: Option<u8>,
    pub conteo: Conteo,
    pub reservada: bool,
}

/// The whole table and the relations its suppression protects.
#[derive(Debug, Clone)]
pub struct Tabla {
    pub celdas: Vec<Celda>,
    pub relaciones: Vec<Relacion>,
}

/// Cells per territory: the five quintiles, then their total.
const ANCHO: usize = 6;

/// Appends a territory's row and its relation (total = Σ quintiles); returns the row's first
/// cell index. A territory's cells are consecutive: quintiles 1 to 5 at offsets 0 to 4, the
/// total at offset 5.
fn fila(
    celdas: &mut Vec<Celda>,
    relaciones: &mut Vec<Relacion>,
    ambito: Ambito,
    por_quintil: [Conteo; 5],
) -> usize {
    let inicio = celdas.len();
    for (q, conteo) in QUINTILES.into_iter().zip(por_quintil) {
        celdas.push(Celda {
            ambito: ambito.clone(),
            quintil: Some(q),
            conteo,
            reservada: false,
        });
    }
    celdas.push(Celda {
        ambito,
        quintil: None,
        conteo: por_quintil.into_iter().fold(Conteo::default(), Add::add),
        reservada: false,
    });
    relaciones.push(Relacion {
        total: inicio + 5,
        partes: (inicio..inicio + 5).collect(),
    });
    inicio
}

/// Each column (quintiles and total) of the rows starting at `total` is the sum of the same
/// column of the rows starting at `partes`.
fn columnas(relaciones: &mut Vec<Relacion>, total: usize, partes: &[usize]) {
    for offset in 0..ANCHO {
        relaciones.push(Relacion {
            total: total + offset,
            partes: partes.iter().map(|i| i + offset).collect(),
        });
    }
}

fn sumar(a: [Conteo; 5], b: [Conteo; 5]) -> [Conteo; 5] {
    let mut out = a;
    for (o, c) in out.iter_mut().zip(b) {
        *o = *o + c;
    }
    out
}

/// Builds and suppresses the table. `comunas` lists every comuna as (region code, CUT), so that
/// comunas without any ficha still appear (as suppressed zeros); `conteos` holds the counts by
/// (CUT, quintile), and counts of comunas not listed are ignored.
pub fn publicar(comunas: &[(String, String)], conteos: &HashMap<(String, u8), Conteo>) -> Tabla {
    let mut regiones: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (region, cut) in comunas {
        regiones.entry(region).or_default().push(cut);
    }
    let mut celdas = Vec::new();
    let mut relaciones = Vec::new();
    let mut nacional = [Conteo::default(); 5];
    let mut filas_regiones = Vec::new();
    for (region, cuts) in &mut regiones {
        cuts.sort_unstable();
        cuts.dedup();
        let mut suma = [Conteo::default(); 5];
        let mut filas_comunas = Vec::new();
        for cut in cuts.iter() {
            let por_quintil = QUINTILES.map(|q| {
                conteos
                    .get(&((*cut).to_owned(), q))
                    .copied()
                    .unwrap_or_default()
            });
            suma = sumar(suma, por_quintil);
            let ambito = Ambito::Comuna((*cut).to_owned());
            filas_comunas.push(fila(&mut celdas, &mut relaciones, ambito, por_quintil));
        }
        nacional = sumar(nacional, suma);
        let ambito = Ambito::Region((*region).to_owned());
        let inicio = fila(&mut celdas, &mut relaciones, ambito, suma);
        columnas(&mut relaciones, inicio, &filas_comunas);
        filas_regiones.push(inicio);
    }
    let inicio = fila(&mut celdas, &mut relaciones, Ambito::Nacional, nacional);
    columnas(&mut relaciones, inicio, &filas_regiones);

    // Every count a cell publishes: a cell with any of them under the threshold is reserved.
    let conteos: Vec<[u64; 3]> = celdas
        .iter()
        .map(|c| [c.conteo.personas, c.conteo.hogares, c.conteo.fichas])
        .collect();
    for (celda, reservada) in celdas
        .iter_mut()
        .zip(suprimir(&conteos, &relaciones, UMBRAL))
    {
        celda.reservada = reservada;
    }
    Tabla { celdas, relaciones }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::supresion::recuperables;
    use super::*;

    fn personas(n: u64) -> Conteo {
        Conteo {
            personas: n,
            hogares: n.div_ceil(3),
            fichas: n.div_ceil(3),
            suma_puntaje: n.div_ceil(3) * 9_000,
        }
    }

    /// `n` persons in households of `por_hogar` living members, plus `sin_vivos` households
    /// whose members have all died (a ficha still in force, no person and no household).
    fn hogares(n: u64, por_hogar: u64, sin_vivos: u64) -> Conteo {
        let hogares = n.div_ceil(por_hogar);
        Conteo {
            personas: n,
            hogares,
            fichas: hogares + sin_vivos,
            suma_puntaje: (hogares + sin_vivos) * 9_000,
        }
    }

    fn celda<'a>(t: &'a Tabla, ambito: &Ambito, quintil: Option<u8>) -> &'a Celda {
        t.celdas
            .iter()
            .find(|c| &c.ambito == ambito && c.quintil == quintil)
            .expect("cell")
    }

    /// Every relation holds for every measure, every cell with a count (persons, households,
    /// fichas) under the threshold is suppressed, every published count is at least the
    /// threshold, and no suppressed cell is the only one of its relation (differencing reveals
    /// none of its counts: cells are suppressed whole, so the hidden members of a relation are
    /// the same for each count).
    fn check(t: &Tabla) -> Result<(), TestCaseError> {
        for r in &t.relaciones {
            let suma = r
                .partes
                .iter()
                .fold(Conteo::default(), |s, &i| s + t.celdas[i].conteo);
            prop_assert_eq!(suma, t.celdas[r.total].conteo);
        }
        for c in &t.celdas {
            let k = c.conteo;
            let menor = k.personas.min(k.hogares).min(k.fichas);
            prop_assert_eq!(c.reservada || menor >= UMBRAL, true, "{:?} is published", c);
        }
        let flags: Vec<bool> = t.celdas.iter().map(|c| c.reservada).collect();
        prop_assert_eq!(recuperables(&flags, &t.relaciones), Vec::<usize>::new());
        // The attack itself: total minus published parts, for each relation with one hidden cell.
        for r in &t.relaciones {
            let hidden: Vec<usize> = r.miembros().filter(|&i| flags[i]).collect();
            prop_assert!(
                hidden.len() != 1,
                "cell {} recoverable from {r:?}",
                hidden[0]
            );
        }
        check_sums(t)
    }

    /// The attack on several reserved cells at once: in a relation whose total is published,
    /// the total minus the published parts is the sum of the reserved parts, for persons,
    /// households and fichas; none of them may come out between 1 and 9.
    fn check_sums(t: &Tabla) -> Result<(), TestCaseError> {
        for r in t.relaciones.iter().filter(|r| !t.celdas[r.total].reservada) {
            let publicadas = r
                .partes
                .iter()
                .filter(|&&i| !t.celdas[i].reservada)
                .fold(Conteo::default(), |s, &i| s + t.celdas[i].conteo);
            let total = t.celdas[r.total].conteo;
            for (count, derived) in [
                ("personas", total.personas - publicadas.personas),
                ("hogares", total.hogares - publicadas.hogares),
                ("fichas", total.fichas - publicadas.fichas),
            ] {
                prop_assert!(
                    derived == 0 || derived >= UMBRAL,
                    "{derived} {count} derivable from {r:?}"
                );
            }
        }
        Ok(())
    }

    fn territorio(regiones: usize, por_region: usize) -> Vec<(String, String)> {
        (0..regiones)
            .flat_map(|r| {
                (0..por_region).map(move |c| (format!("{r:02}"), format!("{r:02}{c:03}")))
            })
            .collect()
    }

    proptest! {
        #[test]
        fn random_tables_never_leak_a_small_cell(
            regiones in 1usize..4,
            por_region in 1usize..5,
            counts in prop::collection::vec(
                (prop_oneof![0u64..12, 0u64..40, 0u64..400], 1u64..8, 0u64..4), 60
            ),
        ) {
            let comunas = territorio(regiones, por_region);
            let mut conteos = HashMap::new();
            for (k, (_, cut)) in comunas.iter().enumerate() {
                for q in QUINTILES {
                    let (n, por_hogar, sin_vivos) = counts[(k * 5 + usize::from(q) - 1) % 60];
                    conteos.insert((cut.clone(), q), hogares(n, por_hogar, sin_vivos));
                }
            }
            let t = publicar(&comunas, &conteos);
            prop_assert_eq!(t.celdas.len(), (regiones * por_region + regiones + 1) * 6);
            check(&t)?;
            // Published cells carry the exact counts (nothing is perturbed).
            for c in t.celdas.iter().filter(|c| !c.reservada) {
                if let (Ambito::Comuna(cut), Some(q)) = (&c.ambito, c.quintil) {
                    prop_assert_eq!(c.conteo, conteos[&(cut.clone(), q)]);
                }
            }
        }
    }

    proptest! {
        /// Tables of many small cells among large ones: no relation lets subtraction recover a
        /// sum of reserved cells under the threshold, on any count, and no published count is
        /// under it.
        #[test]
        fn random_tables_never_reveal_a_small_sum_of_reserved_cells(
            regiones in 1usize..4,
            por_region in 1usize..5,
            counts in prop::collection::vec(
                (prop_oneof![3 => 0u64..10, 1 => 10u64..60], 1u64..4, 0u64..3), 60
            ),
        ) {
            let comunas = territorio(regiones, por_region);
            let mut conteos = HashMap::new();
            for (k, (_, cut)) in comunas.iter().enumerate() {
                for q in QUINTILES {
                    let (n, por_hogar, sin_vivos) = counts[(k * 5 + usize::from(q) - 1) % 60];
                    conteos.insert((cut.clone(), q), hogares(n, por_hogar, sin_vivos));
                }
            }
            let t = publicar(&comunas, &conteos);
            check_sums(&t)?;
            check(&t)?;
        }
    }

    #[test]
    fn two_reserved_quintiles_of_seven_persons_take_a_third_with_them() {
        // Comuna 00000: quintiles I to III hold 40, 33 and 45 persons, IV 3 and V 4. IV + V = 7
        // would follow from the comuna's total less I to III; II (the smallest) is reserved too.
        let comunas = territorio(1, 2);
        let mut conteos = HashMap::new();
        for (q, n) in QUINTILES.into_iter().zip([40, 33, 45, 3, 4]) {
            conteos.insert(("00000".to_owned(), q), personas(n));
            conteos.insert(("00001".to_owned(), q), personas(60));
        }
        let t = publicar(&comunas, &conteos);
        check_ok(&t);
        let c0 = Ambito::Comuna("00000".into());
        let row: Vec<bool> = QUINTILES
            .iter()
            .map(|q| celda(&t, &c0, Some(*q)).reservada)
            .collect();
        assert_eq!(row, [false, true, false, true, true]);
        assert!(!celda(&t, &c0, None).reservada, "the comuna's total stays");
    }

    #[test]
    fn a_comuna_without_small_cells_is_published_whole() {
        let comunas = territorio(1, 2);
        let mut conteos = HashMap::new();
        for (_, cut) in &comunas {
            for q in QUINTILES {
                conteos.insert((cut.clone(), q), personas(100 + u64::from(q)));
            }
        }
        let t = publicar(&comunas, &conteos);
        assert!(t.celdas.iter().all(|c| !c.reservada));
        let nacional = celda(&t, &Ambito::Nacional, None);
        assert_eq!(nacional.conteo.personas, 2 * (101 + 102 + 103 + 104 + 105));
    }

    #[test]
    fn a_small_cell_is_hidden_with_its_complements_across_the_hierarchy() {
        // Region 00 with comunas 00000 and 00001; one region, so the nation equals it.
        let comunas = territorio(1, 2);
        let mut conteos = HashMap::new();
        for q in QUINTILES {
            conteos.insert(("00000".to_owned(), q), personas(50));
            conteos.insert(("00001".to_owned(), q), personas(60));
        }
        conteos.insert(("00000".to_owned(), 3), personas(4));
        let t = publicar(&comunas, &conteos);
        check_ok(&t);
        let c0 = Ambito::Comuna("00000".into());
        let c1 = Ambito::Comuna("00001".into());
        // Primary.
        assert!(celda(&t, &c0, Some(3)).reservada);
        // Its row needs a second cell, its column (quintile 3 over the region) too.
        let row: Vec<bool> = QUINTILES
            .iter()
            .map(|q| celda(&t, &c0, Some(*q)).reservada)
            .collect();
        assert!(row.iter().filter(|r| **r).count() >= 2, "{row:?}");
        assert!(celda(&t, &c1, Some(3)).reservada, "column complement");
        // The comuna and region totals stay published.
        assert!(!celda(&t, &c0, None).reservada);
        assert!(!celda(&t, &Ambito::Region("00".into()), None).reservada);
        assert!(!celda(&t, &Ambito::Region("00".into()), Some(3)).reservada);
    }

    #[test]
    fn a_small_comuna_is_hidden_and_protected_in_its_region() {
        let comunas = territorio(2, 3);
        let mut conteos = HashMap::new();
        for (_, cut) in &comunas {
            for q in QUINTILES {
                conteos.insert((cut.clone(), q), personas(30));
            }
        }
        // Comuna 01002 has 7 persons in all.
        for q in QUINTILES {
            conteos.insert(("01002".to_owned(), q), personas(if q > 3 { 3 } else { 0 }));
        }
        let t = publicar(&comunas, &conteos);
        check_ok(&t);
        let small = Ambito::Comuna("01002".into());
        assert!(celda(&t, &small, None).reservada, "its total is under 10");
        let others_hidden = ["01000", "01001"]
            .iter()
            .filter(|c| celda(&t, &Ambito::Comuna((*c).to_string()), None).reservada)
            .count();
        assert!(
            others_hidden >= 1,
            "another comuna total hides it within region 01"
        );
        assert!(!celda(&t, &Ambito::Region("01".into()), None).reservada);
        assert!(!celda(&t, &Ambito::Nacional, None).reservada);
    }

    #[test]
    fn many_persons_in_few_households_are_reserved_and_protected_across_the_hierarchy() {
        // Two regions of two comunas, 40 persons in 20 households in every cell, except
        // comuna 00000's quintile 1: 30 persons in 3 households (3 fichas), and comuna 01001's
        // quintile 4: 16 persons in 8 households, with 12 fichas.
        let comunas = territorio(2, 2);
        let mut conteos = HashMap::new();
        for (_, cut) in &comunas {
            for q in QUINTILES {
                conteos.insert((cut.clone(), q), hogares(40, 2, 0));
            }
        }
        conteos.insert(("00000".to_owned(), 1), hogares(30, 10, 0));
        conteos.insert(("01001".to_owned(), 4), hogares(16, 2, 4));
        let t = publicar(&comunas, &conteos);
        check_ok(&t);
        let few = celda(&t, &Ambito::Comuna("00000".into()), Some(1));
        assert!(few.reservada, "3 households: {few:?}");
        let few = celda(&t, &Ambito::Comuna("01001".into()), Some(4));
        assert!(few.reservada, "8 households: {few:?}");
        // Its row and its column each hide a second cell.
        let c0 = Ambito::Comuna("00000".into());
        let row = QUINTILES
            .iter()
            .filter(|q| celda(&t, &c0, Some(**q)).reservada)
            .count();
        assert!(row >= 2, "row of 00000");
        assert!(celda(&t, &Ambito::Comuna("00001".into()), Some(1)).reservada);
        // Large aggregates stay published.
        assert!(!celda(&t, &Ambito::Nacional, None).reservada);
        assert!(!celda(&t, &Ambito::Region("00".into()), Some(1)).reservada);
    }

    #[test]
    fn comunas_without_fichas_appear_as_suppressed() {
        let comunas = territorio(1, 3);
        let conteos = HashMap::new();
        let t = publicar(&comunas, &conteos);
        assert!(t.celdas.iter().all(|c| c.reservada));
    }

    fn check_ok(t: &Tabla) {
        if let Err(e) = check(t) {
            panic!("{e}");
        }
    }
}

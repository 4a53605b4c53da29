//! A deterministic stream of synthetic households: the same seed always yields the same registry.
//! Memory stays flat: households are made a batch at a time and forgotten once sent.

use chrono::{Datelike, Days, NaiveDate};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Umbrales;
use super::names::{APELLIDOS, CALLES, NACIONALIDADES_EXTRANJERAS, NOMBRES_F, NOMBRES_M};
use crate::db::models::{Beneficio, Ficha, Hogar, Integrante, Persona};
use crate::domain::{Cut, Quintil, Run, comunas, regiones};

/// The date the synthetic registry describes ("as of"), fixed so that output is deterministic.
pub const FECHA_CORTE: NaiveDate = match NaiveDate::from_ymd_opt(2026, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// Household sizes 1–10 and their weights (mean ≈ 3.6 persons).
const TAMANOS: [(usize, f64); 10] = [
    (1, 0.12),
    (2, 0.18),
    (3, 0.22),
    (4, 0.21),
    (5, 0.13),
    (6, 0.07),
    (7, 0.04),
    (8, 0.02),
    (9, 0.006),
    (10, 0.004),
];

/// Share of households by quintile of their FPS score (the registry leans to the poorest).
const PESO_QUINTIL: [f64; 5] = [0.30, 0.25, 0.18, 0.14, 0.13];
/// The lowest and highest score actually given (about 2,072 to 16,316).
const PUNTAJE_MIN: u16 = 2_072;
const PUNTAJE_MAX: u16 = 16_316;
/// Share of households with no ficha (their members are "sin ficha").
const SIN_FICHA: f64 = 0.05;
/// RUN numbers are a scrambled permutation of the person's index within this many values.
const RUN_SPACE_BITS: u32 = 25;
pub const MAX_PERSONS: u64 = 1 << RUN_SPACE_BITS;
const RUN_BASE: u32 = 1_000_000;

/// The category of a person in the sample file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Categoria {
    ConFicha,
    SinFicha,
    Fallecido,
}

impl Categoria {
    pub const ALL: [Categoria; 3] = [
        Categoria::ConFicha,
        Categoria::SinFicha,
        Categoria::Fallecido,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Categoria::ConFicha => "con_ficha",
            Categoria::SinFicha => "sin_ficha",
            Categoria::Fallecido => "fallecido",
        }
    }
}

/// Rows for a run of households, ready to load.
#[derive(Debug, Default)]
pub struct Batch {
    pub hogares: Vec<Hogar>,
    pub personas: Vec<Persona>,
    pub integrantes: Vec<Integrante>,
    pub fichas: Vec<Ficha>,
    pub beneficios: Vec<Beneficio>,
    /// Each person's RUN and category, in the order of `personas`.
    pub categorias: Vec<(Run, Categoria)>,
}

pub struct Generator {
    rng: ChaCha8Rng,
    total: u64,
    made: u64,
    next_hogar: i64,
    next_folio: i64,
    next_beneficio: i64,
    run_key: (u32, u32, u32),
    comunas: Vec<Cut>,
    comuna_weights: WeightedIndex<f64>,
    sizes: WeightedIndex<f64>,
    quintiles: WeightedIndex<f64>,
    umbrales: Umbrales,
}

impl Generator {
    /// A generator of `persons` persons (at most [`MAX_PERSONS`]) from `seed`.
    pub fn new(seed: u64, persons: u64, umbrales: Umbrales) -> Generator {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let run_key = (
            rng.random::<u32>() | 1,
            rng.random(),
            rng.random::<u32>() | 1,
        );
        let (comunas, weights) = comuna_weights(&mut rng);
        Generator {
            total: persons.min(MAX_PERSONS),
            made: 0,
            next_hogar: 1,
            next_folio: 1_000_001,
            next_beneficio: 1,
            run_key,
            comunas,
            comuna_weights: WeightedIndex::new(weights).expect("positive weights"),
            sizes: WeightedIndex::new(TAMANOS.iter().map(|t| t.1)).expect("positive weights"),
            quintiles: WeightedIndex::new(PESO_QUINTIL).expect("positive weights"),
            umbrales,
            rng,
        }
    }

    pub fn persons_made(&self) -> u64 {
        self.made
    }

    /// The next batch of about `persons` persons (whole households), or `None` when done.
    pub fn next_batch(&mut self, persons: usize) -> Option<Batch> {
        if self.made >= self.total {
            return None;
        }
        let mut batch = Batch::default();
        while batch.personas.len() < persons && self.made < self.total {
            self.household(&mut batch);
        }
        Some(batch)
    }

    /// The RUN of the k-th person: a bijection on [0, 2^25) (multiply by odd, add, xor-shift),
    /// so every person gets a distinct, scattered RUN without remembering any.
    fn run_for(&self, k: u64) -> Run {
        let mask = (1u32 << RUN_SPACE_BITS) - 1;
        let (a, b, c) = self.run_key;
        let mut x = (k as u32).wrapping_mul(a).wrapping_add(b) & mask;
        x ^= x >> 12;
        x = x.wrapping_mul(c) & mask;
        x ^= x >> 11;
        Run::from_numero(RUN_BASE + x).expect("RUN space is within the valid range")
    }

    fn household(&mut self, batch: &mut Batch) {
        let remaining = (self.total - self.made) as usize;
        let size = TAMANOS[self.sizes.sample(&mut self.rng)].0.min(remaining);
        let hogar_id = self.next_hogar;
        self.next_hogar += 1;
        let cut = self.comunas[self.comuna_weights.sample(&mut self.rng)];
        let calle = CALLES.choose(&mut self.rng).copied().unwrap_or("CALLE");
        let numero: u32 = self.rng.random_range(1..4000);
        batch.hogares.push(Hogar {
            id: hogar_id,
            cut: cut.to_string(),
            direccion: format!("{calle} {numero}"),
        });

        let ficha = if self.rng.random_bool(1.0 - SIN_FICHA) {
            let quintil = Quintil::ALL[self.quintiles.sample(&mut self.rng)];
            let (lo, hi) = quintil.range();
            let puntaje = self
                .rng
                .random_range(lo.max(PUNTAJE_MIN)..=hi.min(PUNTAJE_MAX));
            let fecha = FECHA_CORTE - Days::new(self.rng.random_range(30..6 * 365));
            let ficha = Ficha {
                folio: self.next_folio,
                hogar_id,
                puntaje: i32::from(puntaje),
                fecha_aplicacion: fecha,
                cut: cut.to_string(),
                estado: "vigente".into(),
            };
            self.next_folio += 1;
            batch.fichas.push(ficha.clone());
            Some(ficha)
        } else {
            None
        };

        let extranjero = self.rng.random_bool(0.025);
        let nacionalidad_hogar = if extranjero {
            NACIONALIDADES_EXTRANJERAS
                .choose(&mut self.rng)
                .copied()
                .unwrap_or("PE")
        } else {
            "CL"
        };
        let head_age: u32 = self.rng.random_range(20..=92);
        let head_female = self.rng.random_bool(0.45);
        let head_surnames = (self.apellido(), self.apellido());
        let spouse = size >= 2 && head_age < 85 && self.rng.random_bool(0.7);
        let spouse_surnames = (self.apellido(), self.apellido());

        for position in 0..size {
            let (parentesco, female, age, paterno, materno) = match position {
                0 => (
                    "jefe",
                    head_female,
                    head_age,
                    head_surnames.0,
                    head_surnames.1,
                ),
                1 if spouse => {
                    let age =
                        (head_age as i32 + self.rng.random_range(-6..=6)).clamp(18, 95) as u32;
                    (
                        "conyuge",
                        !head_female,
                        age,
                        spouse_surnames.0,
                        spouse_surnames.1,
                    )
                }
                _ => self.relative(
                    head_age,
                    head_female,
                    spouse,
                    head_surnames,
                    spouse_surnames,
                ),
            };
            let k = self.made;
            self.made += 1;
            let run = self.run_for(k);
            let nacimiento = birth_date(&mut self.rng, age);
            let fallecimiento = self.death(age, nacimiento);
            let nacionalidad = if extranjero && age < 10 && self.rng.random_bool(0.5) {
                "CL"
            } else {
                nacionalidad_hogar
            };
            let nombres = self.nombres(female);
            batch.personas.push(Persona {
                run: run.numero() as i32,
                nombres,
                apellido_paterno: paterno.to_string(),
                apellido_materno: materno.to_string(),
                fecha_nacimiento: nacimiento,
                sexo: if female { "F" } else { "M" }.into(),
                nacionalidad: nacionalidad.into(),
                fecha_defuncion: fallecimiento,
            });
            batch.integrantes.push(Integrante {
                run: run.numero() as i32,
                hogar_id,
                parentesco: parentesco.into(),
            });
            let categoria = match (&fallecimiento, &ficha) {
                (Some(_), _) => Categoria::Fallecido,
                (None, Some(_)) => Categoria::ConFicha,
                (None, None) => Categoria::SinFicha,
            };
            batch.categorias.push((run, categoria));
            if let Some(ficha) = &ficha {
                let persona = Beneficiario {
                    run,
                    age,
                    nacimiento,
                    fallecimiento,
                    jefe: position == 0,
                };
                self.benefits(&persona, ficha, batch);
            }
        }
    }

    /// A member who is neither head nor spouse: mostly children, sometimes a parent or other.
    fn relative(
        &mut self,
        head_age: u32,
        head_female: bool,
        spouse: bool,
        head: (&'static str, &'static str),
        spouse_names: (&'static str, &'static str),
    ) -> (&'static str, bool, u32, &'static str, &'static str) {
        let female = self.rng.random_bool(0.5);
        let roll: f64 = self.rng.random();
        if roll < 0.78 && head_age >= 17 {
            let age = self.rng.random_range(0..=(head_age - 16).min(45));
            let (father, mother) = match (spouse, head_female) {
                (true, true) => (spouse_names.0, head.0),
                (true, false) => (head.0, spouse_names.0),
                (false, _) => (head.0, self.apellido()),
            };
            ("hijo", female, age, father, mother)
        } else if roll < 0.88 && head_age <= 75 {
            let age = (head_age + self.rng.random_range(18..=32)).min(104);
            let paterno = if female { self.apellido() } else { head.0 };
            ("padre_madre", female, age, paterno, self.apellido())
        } else if roll < 0.96 {
            let age = self.rng.random_range(0..=80);
            ("otro_pariente", female, age, head.0, self.apellido())
        } else {
            let age = self.rng.random_range(15..=80);
            ("no_pariente", female, age, self.apellido(), self.apellido())
        }
    }

    fn apellido(&mut self) -> &'static str {
        APELLIDOS
            .choose(&mut self.rng)
            .copied()
            .unwrap_or("GONZÁLEZ")
    }

    fn nombres(&mut self, female: bool) -> String {
        let list = if female { NOMBRES_F } else { NOMBRES_M };
        let first = list.choose(&mut self.rng).copied().unwrap_or("MARÍA");
        if self.rng.random_bool(0.8) {
            let second = list.choose(&mut self.rng).copied().unwrap_or("JOSÉ");
            format!("{first} {second}")
        } else {
            first.to_string()
        }
    }

    /// About 1% of persons are deceased, far more often the old than the young.
    fn death(&mut self, age: u32, nacimiento: NaiveDate) -> Option<NaiveDate> {
        let p = if age >= 65 { 0.06 } else { 0.004 };
        if !self.rng.random_bool(p) {
            return None;
        }
        let back = self.rng.random_range(1..5 * 365);
        let fecha = FECHA_CORTE - Days::new(back);
        Some(fecha.max(nacimiento + Days::new(1)))
    }

    /// Benefits that agree with the thresholds in `umbrales`, ended at death when deceased.
    fn benefits(&mut self, p: &Beneficiario, ficha: &Ficha, batch: &mut Batch) {
        let u = &self.umbrales;
        let puntaje = ficha.puntaje;
        let vejez = p.age >= u32::from(u.edad_vejez);
        let pilar = NaiveDate::from_ymd_opt(2008, 7, 1).expect("valid date");
        let cumple_vejez = add_years(p.nacimiento, u32::from(u.edad_vejez));
        let mut grants: Vec<(
            &'static str,
            i32,
            NaiveDate,
            Option<NaiveDate>,
            &'static str,
        )> = Vec::new();
        if vejez
            && puntaje <= i32::from(u.pasis)
            && cumple_vejez < pilar
            && self.rng.random_bool(0.6)
        {
            let fin = pilar - Days::new(1);
            grants.push(("PASIS", 48_000, cumple_vejez, Some(fin), "IPS"));
        }
        if vejez && puntaje <= i32::from(u.pbs_aps) {
            let inicio = cumple_vejez.max(pilar);
            let roll: f64 = self.rng.random();
            if roll < 0.55 {
                grants.push(("PBS", 110_201, inicio, None, "IPS"));
            } else if roll < 0.85 {
                let monto = self.rng.random_range(15_000..100_000);
                grants.push(("APS", monto, inicio, None, "IPS"));
            }
        }
        if p.age < 18 && puntaje <= i32::from(u.suf) && self.rng.random_bool(0.7) {
            let inicio = p.nacimiento.max(ficha.fecha_aplicacion);
            grants.push(("SUF", 13_155, inicio, None, "SUSESO"));
        }
        if p.jefe && self.rng.random_bool(0.06) {
            let inicio = ficha.fecha_aplicacion + Days::new(self.rng.random_range(60..700));
            if puntaje <= i32::from(u.fsv1) {
                grants.push(("FSV1", 9_800_000, inicio, None, "MINVU"));
            } else if puntaje <= i32::from(u.fsv2) {
                grants.push(("FSV2", 7_400_000, inicio, None, "MINVU"));
            }
        }
        for (programa, monto, inicio, fin, fuente) in grants {
            if inicio >= FECHA_CORTE {
                continue;
            }
            let (estado, fin) = match (p.fallecimiento, fin) {
                (Some(muerte), _) if muerte <= inicio => continue,
                (Some(muerte), Some(fin)) if fin < muerte => ("extinguido", Some(fin)),
                (Some(muerte), _) => ("extinguido", Some(muerte)),
                (None, Some(fin)) => ("extinguido", Some(fin)),
                (None, None) => ("vigente", None),
            };
            batch.beneficios.push(Beneficio {
                id: self.next_beneficio,
                run: p.run.numero() as i32,
                programa: programa.into(),
                estado: estado.into(),
                monto,
                fecha_inicio: inicio,
                fecha_termino: fin,
                fuente: fuente.into(),
                decreto_folio: None,
            });
            self.next_beneficio += 1;
        }
    }
}

struct Beneficiario {
    run: Run,
    age: u32,
    nacimiento: NaiveDate,
    fallecimiento: Option<NaiveDate>,
    jefe: bool,
}

fn birth_date(rng: &mut ChaCha8Rng, age: u32) -> NaiveDate {
    let year = FECHA_CORTE.year() - age as i32 - 1;
    let start = NaiveDate::from_ymd_opt(year, 1, 2).expect("valid date");
    start + Days::new(rng.random_range(0..365))
}

fn add_years(date: NaiveDate, years: u32) -> NaiveDate {
    let year = date.year() + years as i32;
    NaiveDate::from_ymd_opt(year, date.month(), date.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, date.month(), 28))
        .expect("valid date")
}

/// Each comuna's weight: its region's population shared among the region's comunas, with
/// regional and provincial capitals heavier and a deterministic spread among the rest.
fn comuna_weights(rng: &mut ChaCha8Rng) -> (Vec<Cut>, Vec<f64>) {
    let all = comunas();
    let mut cuts = Vec::with_capacity(all.len());
    let mut raw = Vec::with_capacity(all.len());
    for c in all {
        let code = c.cut.as_str();
        // Regional capitals (RR101) are the largest comunas, provincial capitals (RRP01) next.
        let (base, spread) = if code.ends_with("101") {
            (20.0, rng.random_range(0.8..1.5))
        } else if code.ends_with("01") {
            (6.0, rng.random_range(0.6..1.5))
        } else {
            (1.0, rng.random_range(0.2..2.0))
        };
        cuts.push(c.cut);
        raw.push(base * spread * spread);
    }
    let mut weights = vec![0.0; all.len()];
    for region in regiones() {
        let members: Vec<usize> = (0..all.len())
            .filter(|&i| all[i].region == region.codigo)
            .collect();
        let total: f64 = members.iter().map(|&i| raw[i]).sum();
        for i in members {
            weights[i] = f64::from(region.poblacion_aprox) * raw[i] / total;
        }
    }
    (cuts, weights)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn umbrales() -> Umbrales {
        let rules = crate::reglas::Rules::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/conf/elegibilidad.toml"
        )))
        .unwrap();
        Umbrales::from_rules(&rules).unwrap()
    }

    #[test]
    fn thresholds_come_from_the_shipped_rules() {
        let u = umbrales();
        assert_eq!(
            (u.pasis, u.pbs_aps, u.suf, u.fsv1, u.fsv2, u.edad_vejez),
            (8_500, 11_734, 11_734, 8_500, 11_734, 65)
        );
    }

    fn all(seed: u64, persons: u64) -> Vec<Batch> {
        let mut g = Generator::new(seed, persons, umbrales());
        std::iter::from_fn(|| g.next_batch(1000)).collect()
    }

    #[test]
    fn same_seed_same_registry_other_seed_other_registry() {
        let runs = |seed| -> Vec<i32> {
            all(seed, 5_000)
                .iter()
                .flat_map(|b| b.personas.iter().map(|p| p.run))
                .collect()
        };
        assert_eq!(runs(7), runs(7));
        assert_ne!(runs(7), runs(8));
    }

    #[test]
    fn makes_exactly_the_persons_asked_with_distinct_valid_runs() {
        let batches = all(1, 20_001);
        let runs: Vec<i32> = batches
            .iter()
            .flat_map(|b| b.personas.iter().map(|p| p.run))
            .collect();
        assert_eq!(runs.len(), 20_001);
        assert_eq!(runs.iter().collect::<HashSet<_>>().len(), runs.len());
        assert!(runs.iter().all(|&r| Run::from_numero(r as u32).is_ok()));
    }

    #[test]
    fn the_run_permutation_is_a_bijection() {
        let g = Generator::new(3, 10, umbrales());
        let seen: HashSet<u32> = (0..MAX_PERSONS)
            .step_by(3)
            .map(|k| g.run_for(k).numero())
            .collect();
        assert_eq!(seen.len() as u64, MAX_PERSONS.div_ceil(3));
    }
}

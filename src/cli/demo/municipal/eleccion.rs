//! Which households of the demo registry the municipal loop works on: read from the synthetic
//! population, deterministically (households in id order, persons by RUN; ages on the day the
//! demo runs). Only households without a ficha in force (a municipality surveys those: a
//! request for a household with one is `FICHA_VIGENTE`), whose members are all alive, with one
//! head, and none of whose members holds a benefit in force, so that every outcome the demo
//! shows comes from the survey and the rules, not from the generator's chance.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{beneficios, fichas, hogares, integrantes, personas};
use crate::domain::Run;
use crate::ops::elegibilidad::age_on;

/// A member of a chosen household.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Miembro {
    pub run: Run,
    pub parentesco: String,
    pub edad: u32,
}

/// A chosen household: its members, the head first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hogar {
    pub direccion: String,
    pub miembros: Vec<Miembro>,
}

impl Eleccion {
    /// The households surveyed in Santiago.
    pub fn santiago(&self) -> impl Iterator<Item = &Hogar> {
        self.familias
            .iter()
            .chain([&self.readme, &self.anciano, &self.casi_anciano])
    }
}

impl Hogar {
    pub fn jefe(&self) -> &Miembro {
        &self.miembros[0]
    }

    /// The members other than the head.
    pub fn otros(&self) -> &[Miembro] {
        &self.miembros[1..]
    }

    /// The children under 18 (the causantes of a SUF).
    pub fn hijos(&self) -> impl Iterator<Item = &Miembro> {
        self.otros()
            .iter()
            .filter(|m| m.parentesco == "hijo" && m.edad <= 17)
    }
}

/// The households of Santiago (13101) and Valparaíso (05101) the demo works on.
#[derive(Debug, Clone)]
pub struct Eleccion {
    /// Families of a head of working age with children under 18 (and at most one more
    /// person), who postulate to SUF: the first has two children, the others one.
    pub familias: Vec<Hogar>,
    /// A family with one child left for the README's postulation.
    pub readme: Hogar,
    /// A person of 65 or more living alone (PASIS, verified).
    pub anciano: Hogar,
    /// A person just under 65 living alone (PASIS, refused by age).
    pub casi_anciano: Hogar,
    /// Households of Valparaíso, surveyed there.
    pub valparaiso: Vec<Hogar>,
}

/// SUF families that postulate (more than the cupos), and surveys, besides the README's.
pub const FAMILIAS: usize = 5;
/// Households surveyed in Valparaíso.
pub const VALPARAISO: usize = 2;

/// The households of comuna `cut` without a ficha in force whose members are all alive and
/// hold no benefit in force, with exactly one head, in household id order; ages on `hoy`.
fn hogares_de(conn: &mut DbConnection, cut: &str, hoy: NaiveDate) -> QueryResult<Vec<Hogar>> {
    let filas: Vec<(i64, String, i32, String, NaiveDate, Option<NaiveDate>)> = integrantes::table
        .inner_join(hogares::table)
        .inner_join(personas::table)
        .filter(hogares::cut.eq(cut))
        .select((
            integrantes::hogar_id,
            hogares::direccion,
            integrantes::run,
            integrantes::parentesco,
            personas::fecha_nacimiento,
            personas::fecha_defuncion,
        ))
        .order((integrantes::hogar_id, integrantes::run))
        .load(conn)?;
    let con_ficha: HashSet<i64> = fichas::table
        .filter(fichas::cut.eq(cut))
        .filter(fichas::estado.eq("vigente"))
        .select(fichas::hogar_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let filas: Vec<_> = filas
        .into_iter()
        .filter(|f| !con_ficha.contains(&f.0))
        .collect();
    let runs: Vec<i32> = filas.iter().map(|f| f.2).collect();
    let mut con_beneficio = HashSet::new();
    for chunk in runs.chunks(1_000) {
        let tienen: Vec<i32> = beneficios::table
            .filter(beneficios::run.eq_any(chunk))
            .filter(beneficios::estado.eq("vigente"))
            .select(beneficios::run)
            .load(conn)?;
        con_beneficio.extend(tienen);
    }
    let mut por_hogar: BTreeMap<i64, (bool, String, Vec<Miembro>)> = BTreeMap::new();
    for (hogar, direccion, run, parentesco, nacimiento, defuncion) in filas {
        let entry = por_hogar
            .entry(hogar)
            .or_insert_with(|| (true, direccion, Vec::new()));
        let apto = defuncion.is_none() && !con_beneficio.contains(&run);
        match Run::from_numero(run as u32) {
            Ok(run) if apto => entry.2.push(Miembro {
                run,
                parentesco,
                edad: age_on(nacimiento, hoy),
            }),
            _ => entry.0 = false,
        }
    }
    Ok(por_hogar
        .into_values()
        .filter(|(apto, _, _)| *apto)
        .filter_map(|(_, direccion, mut miembros)| {
            if miembros.iter().filter(|m| m.parentesco == "jefe").count() != 1 {
                return None;
            }
            miembros.sort_by_key(|m| (m.parentesco != "jefe", m.run.numero()));
            Some(Hogar {
                direccion,
                miembros,
            })
        })
        .collect())
}

/// A head of working age with `hijos` children under 18, in a household of at most `max`.
fn es_familia(h: &Hogar, hijos: usize, max: usize) -> bool {
    (18..=64).contains(&h.jefe().edad) && h.hijos().count() == hijos && h.miembros.len() <= max
}

/// Someone living alone whose age `edad` accepts.
fn solo(h: &Hogar, edad: impl Fn(u32) -> bool) -> bool {
    h.miembros.len() == 1 && edad(h.jefe().edad)
}

/// Chooses the demo's households, or says which kind the registry lacks.
pub fn elegir(conn: &mut DbConnection, hoy: NaiveDate) -> Result<Eleccion, String> {
    let leer = |e: diesel::result::Error| format!("the registry could not be read: {e}");
    let santiago = hogares_de(conn, "13101", hoy).map_err(leer)?;
    let falta = |que: &str| format!("the registry has no {que} in Santiago (13101)");
    let mut familias = Vec::with_capacity(FAMILIAS + 1);
    familias.push(
        santiago
            .iter()
            .find(|h| es_familia(h, 2, 4))
            .cloned()
            .ok_or_else(|| falta("family with two children"))?,
    );
    familias.extend(
        santiago
            .iter()
            .filter(|h| es_familia(h, 1, 3))
            .take(FAMILIAS)
            .cloned(),
    );
    let readme = match familias.len() {
        n if n == FAMILIAS + 1 => familias.pop(),
        _ => None,
    }
    .ok_or_else(|| falta("five families with one child"))?;
    let anciano = santiago
        .iter()
        .find(|h| solo(h, |e| (65..=90).contains(&e)))
        .cloned()
        .ok_or_else(|| falta("person of 65 to 90 living alone"))?;
    // The oldest under 65 (the first of them in household order).
    let casi_anciano = santiago
        .iter()
        .filter(|h| solo(h, |e| (55..65).contains(&e)))
        .fold(None::<&Hogar>, |best, h| match best {
            Some(b) if b.jefe().edad >= h.jefe().edad => Some(b),
            _ => Some(h),
        })
        .cloned()
        .ok_or_else(|| falta("person of 55 to 64 living alone"))?;
    let valparaiso: Vec<Hogar> = hogares_de(conn, "05101", hoy)
        .map_err(leer)?
        .into_iter()
        .filter(|h| (2..=3).contains(&h.miembros.len()) && h.jefe().edad >= 18)
        .take(VALPARAISO)
        .collect();
    if valparaiso.len() < VALPARAISO {
        return Err("the registry has too few households in Valparaíso (05101)".into());
    }
    Ok(Eleccion {
        familias,
        readme,
        anciano,
        casi_anciano,
        valparaiso,
    })
}

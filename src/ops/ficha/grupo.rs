//! Single lookups read together: the broker hands the lookups that waited for a registry
//! connection at the same time to one connection, which reads them here. On PostgreSQL a
//! statement for four RUNs costs about what three statements for one RUN do (the load benchmark's
//! history: `git show dc52f25:README.md`), and the group makes one round trip instead of one per lookup.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use super::{
    FilaHogar, HogarConFicha, HogarLeido, Reading, columnas_hogar, columnas_integrantes,
    fila_hogar_con_ficha, hogares_leidos, lookup_join, read as read_one, sin_hogar,
};
use crate::db::models::Ficha;
use crate::db::schema::integrantes;
use crate::db::{DbConnection, DbError, on_backend};
use crate::domain::Run;

/// Reads `runs` (members too if `con_integrantes`), in their order. On PostgreSQL one statement
/// reads them all, whatever their number: it binds the RUNs as one array (`= ANY($1)`), so it
/// stays prepared, and a second one runs only if some RUN has no household. On SQLite, inside
/// the node's own process, each RUN goes through the single lookup's prepared statement
/// ([`read_one`]): an `IN (…)` list would be prepared again at every call, and there is no
/// round trip to save.
pub fn read_many(
    conn: &mut DbConnection,
    runs: &[Run],
    con_integrantes: bool,
) -> Result<Vec<Reading>, DbError> {
    if runs.len() > 1 && matches!(conn, DbConnection::Pg(_)) {
        return read_together(conn, runs, con_integrantes);
    }
    runs.iter()
        .map(|run| read_one(conn, *run, con_integrantes))
        .collect()
}

/// The one statement for all of `runs` (PostgreSQL's plan for it is a join per RUN, as for
/// one), then the persons without a household if any. [`read_many`] uses it on PostgreSQL;
/// it answers alike on SQLite (tests run it on both).
pub fn read_together(
    conn: &mut DbConnection,
    runs: &[Run],
    con_integrantes: bool,
) -> Result<Vec<Reading>, DbError> {
    let keys: Vec<i32> = runs.iter().map(|r| r.numero() as i32).collect();
    let (found, members) = if con_integrantes {
        let propio = diesel::alias!(integrantes as propio);
        let of_the_persons = propio
            .filter(propio.field(integrantes::run).eq_any(&keys))
            .select(propio.field(integrantes::hogar_id));
        let query = lookup_join()
            .filter(integrantes::hogar_id.eq_any(of_the_persons))
            .order(integrantes::run)
            .select(columnas_integrantes());
        let rows: Vec<FilaHogar> = on_backend!(conn, |c| query.load(c))?;
        let asked: HashSet<i32> = keys.iter().copied().collect();
        hogares_leidos(rows, |run| asked.contains(&run))
    } else {
        let query = lookup_join()
            .filter(integrantes::run.eq_any(&keys))
            .select((integrantes::run, columnas_hogar()));
        let rows: Vec<(i32, HogarConFicha)> = on_backend!(conn, |c| query.load(c))?;
        let found = rows
            .into_iter()
            .map(|(run, row)| {
                let (household, ficha) = fila_hogar_con_ficha(row);
                (run, household, ficha)
            })
            .collect();
        (found, Default::default())
    };
    let found: HashMap<i32, (HogarLeido, Option<Ficha>)> = found
        .into_iter()
        .map(|(run, household, ficha)| (run, (household, ficha)))
        .collect();
    let existing = sin_hogar(conn, &keys, |k| found.contains_key(k))?;
    Ok(keys
        .iter()
        .map(|key| match found.get(key) {
            None if existing.contains(key) => Reading::SinHogar,
            None => Reading::Unknown,
            // The same RUN, or two of one household, may be asked by two lookups of a group.
            Some((household, ficha)) => Reading::HogarLeido((
                household.clone(),
                ficha.clone(),
                members
                    .get(&household.hogar_id)
                    .cloned()
                    .unwrap_or_default(),
            )),
        })
        .collect())
}

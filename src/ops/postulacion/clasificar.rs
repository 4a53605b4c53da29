//! The waiting list and the cupos, for the decree: a program's declared `prioridad` (by default
//! score, then date of postulation, then id, each ascending: the most vulnerable first, then
//! the earliest) over the verified postulations, cut at the cupos left.

use std::cmp::Ordering;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::{store, verificacion};
use crate::db::DbConnection;
use crate::db::models::{CupoFila, PostulacionFila};
use crate::db::schema::{cupos, postulaciones};
use crate::reglas::{Prioridad, Rules};

/// Sorts postulations by `prioridad`; one without a score goes after those with one.
pub fn ordenar(filas: &mut [PostulacionFila], prioridad: &[Prioridad]) {
    filas.sort_by(|a, b| {
        prioridad
            .iter()
            .map(|p| match p {
                Prioridad::Puntaje => match (a.puntaje, b.puntaje) {
                    (Some(x), Some(y)) => x.cmp(&y),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                },
                Prioridad::FechaPostulacion => a.fecha_postulacion.cmp(&b.fecha_postulacion),
                Prioridad::Id => a.id.cmp(&b.id),
            })
            .find(|o| o.is_ne())
            // Ids are unique: the order is total whatever the file declares.
            .unwrap_or_else(|| a.id.cmp(&b.id))
    });
}

/// The verified postulations of a comuna and program for a decree: those the cupos left can
/// grant, and the rest (the waiting list), each in priority order.
#[derive(Debug, Clone, PartialEq)]
pub struct Clasificacion {
    pub otorgables: Vec<PostulacionFila>,
    pub en_espera: Vec<PostulacionFila>,
    /// The year's cupos (0 when never set) and how many are `otorgada` now.
    pub cupos: u32,
    pub usados: u32,
}

/// Runs every open postulation's checks of `programa` in `cut` again (storing a new run where
/// an outcome changed), then ranks the verified ones (`verificada` and `en_espera`) by the
/// program's priority and cuts the list at the cupos left for `anio`. For the decree, inside
/// its write transaction; it changes no state beyond what the checks give.
pub fn clasificar(
    conn: &mut DbConnection,
    rules: &Rules,
    cut: &str,
    programa: &str,
    anio: i32,
    hoy: NaiveDate,
) -> QueryResult<Clasificacion> {
    let mut verificadas = Vec::new();
    for fila in store::de_comuna(conn, cut, &[programa], Some(&store::ABIERTAS))? {
        let (fila, _) = verificacion::reverificar(conn, rules, fila, hoy)?;
        if matches!(fila.estado.as_str(), "verificada" | "en_espera") {
            verificadas.push(fila);
        }
    }
    ordenar(&mut verificadas, rules.prioridad(programa));
    let cupos = cupos_de(conn, cut, programa, anio)?.map_or(0, |c| c.total.max(0) as u32);
    let usados = store::otorgadas(conn, cut, programa, anio)? as u32;
    let libres = cupos.saturating_sub(usados) as usize;
    let en_espera = verificadas.split_off(libres.min(verificadas.len()));
    Ok(Clasificacion {
        otorgables: verificadas,
        en_espera,
        cupos,
        usados,
    })
}

/// The states a decree may set.
const MARCAS: [&str; 2] = ["otorgada", "en_espera"];

/// Sets the postulations `ids` that are still open to `estado` (`otorgada` or `en_espera`)
/// with the decree's folio; returns how many changed. For the decree, after [`clasificar`] in
/// the same transaction.
pub fn marcar(
    conn: &mut DbConnection,
    ids: &[String],
    estado: &str,
    decreto_folio: Option<&str>,
) -> QueryResult<usize> {
    if !MARCAS.contains(&estado) {
        return Err(diesel::result::Error::QueryBuilderError(
            format!("a decree sets a postulation otorgada or en_espera, not {estado}").into(),
        ));
    }
    diesel::update(
        postulaciones::table
            .filter(postulaciones::id.eq_any(ids))
            .filter(postulaciones::estado.eq_any(store::ABIERTAS)),
    )
    .set((
        postulaciones::estado.eq(estado),
        postulaciones::decreto_folio.eq(decreto_folio),
        postulaciones::version.eq(postulaciones::version + 1),
        postulaciones::actualizada_us.eq(store::now_us()),
    ))
    .execute(conn)
}

/// The cupos of a program in a comuna and year, if they were ever set.
pub fn cupos_de(
    conn: &mut DbConnection,
    cut: &str,
    programa: &str,
    anio: i32,
) -> QueryResult<Option<CupoFila>> {
    cupos::table
        .find((cut.to_owned(), programa.to_owned(), anio))
        .select(CupoFila::as_select())
        .first(conn)
        .optional()
}

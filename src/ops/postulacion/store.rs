//! Postulations in the registry. A change is applied by an UPDATE guarded by the version it was
//! decided on, so two concurrent changes never both apply.

use chrono::Utc;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::models::{CausanteFila, ChequeoFila, PostulacionFila};
use crate::db::schema::{postulacion_causantes, postulacion_chequeos, postulaciones};

pub fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

/// The states whose checks run again on every read (the others are closed or granted).
pub const ABIERTAS: [&str; 4] = ["postulada", "verificada", "rechazada", "en_espera"];

/// Stores a new postulation with its causantes and its first check run.
pub fn insertar(
    conn: &mut DbConnection,
    fila: &PostulacionFila,
    causantes: &[CausanteFila],
    chequeos: &[ChequeoFila],
) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::insert_into(postulaciones::table)
            .values(fila)
            .execute(conn)?;
        // One row at a time: the two-backend connection takes no multi-row INSERT (a
        // postulation has a handful).
        for causante in causantes {
            diesel::insert_into(postulacion_causantes::table)
                .values(causante)
                .execute(conn)?;
        }
        insertar_chequeos(conn, chequeos)
    })
}

pub fn leer(conn: &mut DbConnection, id: &str) -> QueryResult<Option<PostulacionFila>> {
    postulaciones::table
        .find(id)
        .select(PostulacionFila::as_select())
        .first(conn)
        .optional()
}

pub fn causantes(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<CausanteFila>> {
    postulacion_causantes::table
        .filter(postulacion_causantes::postulacion_id.eq(id.to_owned()))
        .order(postulacion_causantes::orden.asc())
        .select(CausanteFila::as_select())
        .load(conn)
}

/// The checks of one run, in the rules file's order.
pub fn chequeos(conn: &mut DbConnection, id: &str, corrida: i32) -> QueryResult<Vec<ChequeoFila>> {
    postulacion_chequeos::table
        .filter(postulacion_chequeos::postulacion_id.eq(id.to_owned()))
        .filter(postulacion_chequeos::corrida.eq(corrida))
        .order(postulacion_chequeos::orden.asc())
        .select(ChequeoFila::as_select())
        .load(conn)
}

/// A comuna's postulations, of the programs given and, when given, in one of `estados`.
pub fn de_comuna(
    conn: &mut DbConnection,
    cut: &str,
    programas: &[&str],
    estados: Option<&[&str]>,
) -> QueryResult<Vec<PostulacionFila>> {
    let mut q = postulaciones::table
        .filter(postulaciones::cut.eq(cut.to_owned()))
        .filter(postulaciones::programa.eq_any(programas.iter().map(|p| p.to_string())))
        .into_boxed();
    if let Some(estados) = estados {
        q = q.filter(postulaciones::estado.eq_any(estados.iter().map(|e| e.to_string())));
    }
    q.order((
        postulaciones::fecha_postulacion.asc(),
        postulaciones::id.asc(),
    ))
    .select(PostulacionFila::as_select())
    .load(conn)
}

/// Applies `despues` over the postulation at `version`; false (nothing changed) when it is no
/// longer at that version.
pub fn actualizar(
    conn: &mut DbConnection,
    version: i32,
    despues: &PostulacionFila,
) -> QueryResult<bool> {
    let changed = diesel::update(
        postulaciones::table
            .filter(postulaciones::id.eq(&despues.id))
            .filter(postulaciones::version.eq(version)),
    )
    .set((
        postulaciones::estado.eq(&despues.estado),
        postulaciones::puntaje.eq(despues.puntaje),
        postulaciones::decreto_folio.eq(&despues.decreto_folio),
        postulaciones::motivo_cierre.eq(&despues.motivo_cierre),
        postulaciones::corrida.eq(despues.corrida),
        postulaciones::version.eq(despues.version),
        postulaciones::actualizada_us.eq(despues.actualizada_us),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn insertar_chequeos(conn: &mut DbConnection, chequeos: &[ChequeoFila]) -> QueryResult<()> {
    for chequeo in chequeos {
        diesel::insert_into(postulacion_chequeos::table)
            .values(chequeo)
            .execute(conn)?;
    }
    Ok(())
}

/// How many postulations of a program a decree of `anio` granted in a comuna (the year's cupos in use).
pub fn otorgadas(
    conn: &mut DbConnection,
    cut: &str,
    programa: &str,
    anio: i32,
) -> QueryResult<i64> {
    use crate::db::schema::decretos;
    // The year's decrees of the comuna and program (one a month at most).
    let folios: Vec<String> = decretos::table
        .filter(decretos::cut.eq(cut.to_owned()))
        .filter(decretos::programa.eq(programa.to_owned()))
        .filter(decretos::anio.eq(anio))
        .select(decretos::folio)
        .load(conn)?;
    postulaciones::table
        .filter(postulaciones::cut.eq(cut.to_owned()))
        .filter(postulaciones::programa.eq(programa.to_owned()))
        .filter(postulaciones::estado.eq("otorgada"))
        .filter(postulaciones::decreto_folio.eq_any(folios))
        .count()
        .get_result(conn)
}

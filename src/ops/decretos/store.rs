//! The `decretos` and `decreto_lineas` tables.

use diesel::prelude::*;

use super::contenido::{ContenidoDecreto, Linea};
use crate::db::DbConnection;
use crate::db::schema::{decreto_lineas, decretos};
use crate::domain::Run;

/// Records an issued decree and its lines (inside the caller's transaction).
pub fn insert(
    conn: &mut DbConnection,
    contenido: &ContenidoDecreto,
    lineas: &[Linea],
    payload: &str,
    usuario: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(decretos::table)
        .values((
            decretos::folio.eq(contenido.folio.as_str()),
            decretos::cut.eq(contenido.comuna.as_str()),
            decretos::programa.eq(&contenido.programa),
            decretos::periodo.eq(contenido.periodo.to_string()),
            decretos::anio.eq(contenido.periodo.anio),
            decretos::numero.eq(contenido.numero as i32),
            decretos::otorgadas.eq(contenido.otorgadas as i32),
            decretos::lineas_sha256.eq(&contenido.lineas_sha256),
            decretos::payload.eq(payload),
            decretos::convenio.eq(&contenido.emisor),
            decretos::usuario.eq(usuario),
            decretos::emitido_us.eq(contenido.emitido.timestamp_micros()),
        ))
        .execute(conn)?;
    // One statement per line: a decree holds at most its comuna's cupos.
    for l in lineas {
        diesel::insert_into(decreto_lineas::table)
            .values((
                decreto_lineas::folio.eq(contenido.folio.as_str()),
                decreto_lineas::orden.eq(l.orden as i32),
                decreto_lineas::postulacion_id.eq(&l.postulacion),
                decreto_lineas::run.eq(l.run.numero() as i32),
                decreto_lineas::nombre.eq(&l.nombre),
                decreto_lineas::puntaje.eq(l.puntaje.map(i32::from)),
                decreto_lineas::causantes.eq(l.causantes as i32),
                decreto_lineas::monto.eq(l.monto),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The next decree number of `cut` in `anio` (1 for its first).
pub fn siguiente_numero(conn: &mut DbConnection, cut: &str, anio: i32) -> QueryResult<u32> {
    let max: Option<i32> = decretos::table
        .filter(decretos::cut.eq(cut).and(decretos::anio.eq(anio)))
        .select(diesel::dsl::max(decretos::numero))
        .first(conn)?;
    Ok(max.map_or(1, |n| n.max(0) as u32 + 1))
}

/// The folio of the decree of `cut`, `programa` and `periodo`, if one was issued.
pub fn folio_de(
    conn: &mut DbConnection,
    cut: &str,
    programa: &str,
    periodo: &str,
) -> QueryResult<Option<String>> {
    decretos::table
        .filter(
            decretos::cut
                .eq(cut)
                .and(decretos::programa.eq(programa))
                .and(decretos::periodo.eq(periodo)),
        )
        .select(decretos::folio)
        .first(conn)
        .optional()
}

/// A stored decree: its payload, and the comuna and program it is for (read before its
/// signature is checked, to answer a folio out of scope as unknown).
pub struct Registro {
    pub payload: String,
    pub cut: String,
    pub programa: String,
}

pub fn registro(conn: &mut DbConnection, folio: &str) -> QueryResult<Option<Registro>> {
    decretos::table
        .filter(decretos::folio.eq(folio))
        .select((decretos::payload, decretos::cut, decretos::programa))
        .first::<(String, String, String)>(conn)
        .optional()
        .map(|r| {
            r.map(|(payload, cut, programa)| Registro {
                payload,
                cut,
                programa,
            })
        })
}

/// A decree's lines in order. A line whose stored RUN no longer parses is an error the caller
/// answers as unavailable (the record was altered).
pub fn lineas(conn: &mut DbConnection, folio: &str) -> QueryResult<Vec<Linea>> {
    /// orden, postulacion, run, nombre, puntaje, causantes, monto.
    type Fila = (i32, String, i32, String, Option<i32>, i32, i64);
    let rows: Vec<Fila> = decreto_lineas::table
        .filter(decreto_lineas::folio.eq(folio))
        .order(decreto_lineas::orden.asc())
        .select((
            decreto_lineas::orden,
            decreto_lineas::postulacion_id,
            decreto_lineas::run,
            decreto_lineas::nombre,
            decreto_lineas::puntaje,
            decreto_lineas::causantes,
            decreto_lineas::monto,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(
            |(orden, postulacion, run, nombre, puntaje, causantes, monto)| {
                Ok(Linea {
                    orden: orden as u32,
                    run: Run::from_numero(run as u32)
                        .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?,
                    nombre,
                    puntaje: puntaje.map(|p| p as u16),
                    causantes: causantes as u32,
                    monto,
                    postulacion,
                })
            },
        )
        .collect()
}

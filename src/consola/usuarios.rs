//! The console's officials (`consola_usuarios`): each RUN acts under one agreement in one role.

use diesel::prelude::*;

use crate::catalog::Rol;
use crate::db::schema::consola_usuarios;
use crate::db::{DbConnection, DbError};
use crate::domain::{ConvenioId, Run};

/// The agreement and role of an official, if `run` is one. A row this node cannot read (an
/// unknown role or agreement id) makes no official.
pub fn buscar(conn: &mut DbConnection, run: Run) -> Result<Option<(ConvenioId, Rol)>, DbError> {
    let key = i32::try_from(run.numero()).unwrap_or(i32::MAX);
    let row: Option<(String, String)> = consola_usuarios::table
        .find(key)
        .select((consola_usuarios::convenio, consola_usuarios::rol))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(convenio, rol)| {
        let rol = Rol::parse(&rol).filter(|r| *r != Rol::Persona)?;
        Some((ConvenioId::parse(&convenio).ok()?, rol))
    }))
}

/// Makes `run` an official of `convenio` in `rol` (or changes theirs).
pub fn alta(
    conn: &mut DbConnection,
    run: Run,
    convenio: &ConvenioId,
    rol: Rol,
) -> Result<(), DbError> {
    let key = i32::try_from(run.numero()).unwrap_or(i32::MAX);
    let now = chrono::Utc::now().timestamp_micros();
    diesel::delete(consola_usuarios::table.find(key)).execute(conn)?;
    diesel::insert_into(consola_usuarios::table)
        .values((
            consola_usuarios::run.eq(key),
            consola_usuarios::convenio.eq(convenio.as_str()),
            consola_usuarios::rol.eq(rol.as_str()),
            consola_usuarios::alta_us.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

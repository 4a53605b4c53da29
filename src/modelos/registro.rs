//! The registry's memory of scoring models (`modelos_puntaje`): the SHA-256 of each model's
//! file the first time a node started with it. A file whose digest differs from the recorded
//! one for the same name is refused, so changing a model means giving it a new name.

use diesel::prelude::*;

use super::{ModeloError, Modelos};
use crate::db::schema::modelos_puntaje;
use crate::db::{DbConnection, DbError};

/// Records every model not seen before and checks every other against its recorded digest.
/// Nodes starting together over one database agree: the first to insert a name wins, and the
/// others compare with what it wrote.
pub fn registrar(conn: &mut DbConnection, modelos: &Modelos) -> Result<(), ModeloError> {
    let now = chrono::Utc::now().timestamp_micros();
    for cargado in modelos.iter() {
        let nombre = cargado.modelo.nombre.as_str();
        let registrado = match leer(conn, nombre)? {
            Some(sha) => sha,
            None => {
                let fila = (
                    modelos_puntaje::nombre.eq(nombre),
                    modelos_puntaje::sha256.eq(&cargado.sha256),
                    modelos_puntaje::registrado_us.eq(now),
                );
                let inserted = match conn {
                    DbConnection::Sqlite(c) => {
                        diesel::insert_or_ignore_into(modelos_puntaje::table)
                            .values(fila)
                            .execute(c)
                    }
                    DbConnection::Pg(c) => diesel::insert_into(modelos_puntaje::table)
                        .values(fila)
                        .on_conflict_do_nothing()
                        .execute(c),
                };
                if inserted.map_err(DbError::from)? == 1 {
                    tracing::info!(modelo = nombre, "scoring model registered");
                }
                leer(conn, nombre)?.unwrap_or_else(|| cargado.sha256.clone())
            }
        };
        if registrado != cargado.sha256 {
            return Err(ModeloError::Cambiado {
                origin: cargado.origen.clone(),
                nombre: nombre.to_owned(),
                registrado,
                archivo: cargado.sha256.clone(),
            });
        }
    }
    Ok(())
}

/// The digest recorded for `nombre`, if any.
pub fn leer(conn: &mut DbConnection, nombre: &str) -> Result<Option<String>, DbError> {
    Ok(modelos_puntaje::table
        .find(nombre)
        .select(modelos_puntaje::sha256)
        .first(conn)
        .optional()?)
}

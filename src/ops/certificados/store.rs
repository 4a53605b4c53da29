//! The `certificados` table: one row per issued folio.

use diesel::prelude::*;

use super::contenido::Contenido;
use crate::db::DbConnection;
use crate::db::schema::certificados;

/// Records an issued certificate.
pub fn insert(conn: &mut DbConnection, contenido: &Contenido, payload: &str) -> QueryResult<usize> {
    diesel::insert_into(certificados::table)
        .values((
            certificados::folio.eq(contenido.folio.as_str()),
            certificados::tipo.eq(contenido.tipo.as_str()),
            certificados::run.eq(contenido.run.numero() as i32),
            certificados::convenio.eq(&contenido.emisor),
            certificados::emitido_us.eq(contenido.emitido.timestamp_micros()),
            certificados::payload.eq(payload),
        ))
        .execute(conn)
}

/// The payload issued under `folio`, if any.
pub fn payload_of(conn: &mut DbConnection, folio: &str) -> QueryResult<Option<String>> {
    certificados::table
        .filter(certificados::folio.eq(folio))
        .select(certificados::payload)
        .first(conn)
        .optional()
}

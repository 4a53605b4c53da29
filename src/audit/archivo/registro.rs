//! `auditoria_archivos`: the archives the database knows of, and the deletion of what they hold.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::db::schema::{
    auditoria, auditoria_archivos, auditoria_sujetos, auditoria_sujetos_archivados,
};
use crate::db::{DbConnection, DbError};

/// Ids deleted per transaction: each one holds the audit file's write lock (SQLite) for about
/// 10 ms, so the node's writer, which commits every request's record, waits that long at
/// most, not for the whole deletion (steps of 10,000 held it 50-80 ms).
const DELETE_STEP: i64 = 2_000;
/// SQLite: a pause after each step. A writer waiting for a lock polls (SQLite's busy handler
/// sleeps and tries again); steps one right after another took the lock back before it woke,
/// and a writer waited up to 280 ms at the 99th percentile, against 36 ms with this pause
/// (docs/benchmarks.md, *Archiving the audit log*).
const SQLITE_PAUSE: std::time::Duration = std::time::Duration::from_millis(10);

/// One registered archive file: records `desde..=hasta` left the database for it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = auditoria_archivos)]
pub struct Archivo {
    /// The file's last record.
    pub hasta: i64,
    /// The file's first record.
    pub desde: i64,
    pub registros: i64,
    /// The hash of record `hasta`, which the next record links to.
    pub hash_final: String,
    /// The hash before record `desde`: the previous archive's `hash_final`, or GENESIS.
    pub hash_anterior: String,
    /// The file's name (no folder).
    pub archivo: String,
    pub sha256: String,
    pub bytes: i64,
    /// When it was registered (µs since the Unix epoch).
    pub creado_us: i64,
}

/// Whether the database has `auditoria_archivos` (migration 000012). A copy taken before it
/// (an old backup, checked or restored by this version) has none, and no archive.
pub(super) fn registry_exists(conn: &mut DbConnection) -> Result<bool, DbError> {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT count(*) AS n FROM pragma_table_list WHERE name = 'auditoria_archivos'"
        }
        DbConnection::Pg(_) => {
            "SELECT count(*) AS n FROM information_schema.tables \
             WHERE table_name = 'auditoria_archivos' AND table_schema = current_schema()"
        }
    };
    Ok(crate::db::count(conn, sql)? > 0)
}

/// Every registered archive, in chain order (none in a database from before migration 000012).
pub fn archivos(conn: &mut DbConnection) -> Result<Vec<Archivo>, DbError> {
    if !registry_exists(conn)? {
        return Ok(Vec::new());
    }
    Ok(auditoria_archivos::table
        .order(auditoria_archivos::hasta.asc())
        .select(Archivo::as_select())
        .load(conn)?)
}

/// The last registered archive, if any (none in a database from before migration 000012).
pub fn ultimo(conn: &mut DbConnection) -> Result<Option<Archivo>, DbError> {
    if !registry_exists(conn)? {
        return Ok(None);
    }
    Ok(auditoria_archivos::table
        .order(auditoria_archivos::hasta.desc())
        .select(Archivo::as_select())
        .first(conn)
        .optional()?)
}

/// Registers a written archive, flushed to disk before it returns: no record may be deleted
/// on the strength of a registration a power loss could take back (on SQLite the index rows
/// are deleted in another file, with a write-ahead log of its own). The table's own trigger
/// refuses an archive that does not start right after the last (another run registered first).
pub(super) fn registrar(conn: &mut DbConnection, archivo: &Archivo) -> Result<(), DbError> {
    let durable = match conn {
        DbConnection::Sqlite(_) => "PRAGMA audit.synchronous = FULL;",
        DbConnection::Pg(_) => "SET synchronous_commit = on;",
    };
    conn.batch_execute(durable)?;
    conn.transaction(|c| {
        diesel::insert_into(auditoria_archivos::table)
            .values(archivo)
            .execute(c)
    })?;
    Ok(())
}

/// Deletes the records up to `hasta` (and their index rows) still in the database, a step of
/// ids per transaction. Only records an archive holds may be deleted (the tables' triggers
/// refuse the others). Returns the records deleted; nothing left, nothing done.
pub(super) fn delete_archived(conn: &mut DbConnection, hasta: i64) -> Result<u64, DbError> {
    if hasta < 1 {
        return Ok(0);
    }
    // The index keeps its own mark of what may be deleted (on SQLite its file's triggers
    // cannot read `auditoria_archivos`, in another file): raised to what is registered.
    diesel::update(auditoria_sujetos_archivados::table)
        .filter(auditoria_sujetos_archivados::hasta.lt(hasta))
        .set(auditoria_sujetos_archivados::hasta.eq(hasta))
        .execute(conn)?;
    let mut deleted = 0;
    // Steps start at the first id still there, so the loop runs as often as there are
    // records to delete, not as the ids span.
    while let Some(from) = first_left(conn, hasta)? {
        let to = from.saturating_add(DELETE_STEP - 1).min(hasta);
        // Index rows first: on PostgreSQL they refer to their record.
        deleted += conn.transaction(|c| {
            diesel::delete(
                auditoria_sujetos::table.filter(auditoria_sujetos::auditoria_id.between(from, to)),
            )
            .execute(c)?;
            diesel::delete(auditoria::table.filter(auditoria::id.between(from, to))).execute(c)
        })? as u64;
        if matches!(conn, DbConnection::Sqlite(_)) && to < hasta {
            std::thread::sleep(SQLITE_PAUSE);
        }
    }
    Ok(deleted)
}

/// The first id up to `hasta` that still has a record or index rows.
fn first_left(conn: &mut DbConnection, hasta: i64) -> Result<Option<i64>, DbError> {
    let first_record: Option<i64> = auditoria::table
        .filter(auditoria::id.le(hasta))
        .select(diesel::dsl::min(auditoria::id))
        .first(conn)?;
    let first_index: Option<i64> = auditoria_sujetos::table
        .filter(auditoria_sujetos::auditoria_id.le(hasta))
        .select(diesel::dsl::min(auditoria_sujetos::auditoria_id))
        .first(conn)?;
    Ok(first_record.into_iter().chain(first_index).min())
}

/// Whether the registration `archivo` belongs to the chain in the database: the record after
/// it is there and links to its final hash, and its own last record, if not deleted yet,
/// carries that hash. [`ArchiveError::Broken`] naming the record that does not hold otherwise.
pub(super) fn check_registration(
    conn: &mut DbConnection,
    archivo: &Archivo,
) -> Result<(), super::ArchiveError> {
    let last: Option<String> = auditoria::table
        .find(archivo.hasta)
        .select(auditoria::hash)
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    if last.is_some_and(|hash| hash != archivo.hash_final) {
        return Err(super::ArchiveError::Broken { id: archivo.hasta });
    }
    let next: Option<(i64, String)> = auditoria::table
        .filter(auditoria::id.gt(archivo.hasta))
        .order(auditoria::id.asc())
        .select((auditoria::id, auditoria::hash_anterior))
        .first(conn)
        .optional()
        .map_err(DbError::from)?;
    match next {
        Some((id, anterior)) if id == archivo.hasta + 1 && anterior == archivo.hash_final => Ok(()),
        _ => Err(super::ArchiveError::Broken {
            id: archivo.hasta + 1,
        }),
    }
}

//! Archiving old audit records (`siis audit archive --out DIR --antes FECHA`): the records
//! before a day leave the database for a compressed file, and the hash chain goes on across
//! files.
//!
//! 1. Archived records an earlier, interrupted run left in the database are deleted first.
//! 2. The cut: the last record before the first one of the day `antes` (ids follow commit
//!    order, so a record that arrived before that day but committed after a newer one stays),
//!    no further than the by-person index has reached, and never the newest record (the
//!    writer and the signed checkpoints read the head from the table).
//! 3. The records after the last archive up to the cut are read a page at a time, their chain
//!    checked from the last archive's final hash (or GENESIS): a broken chain is not archived.
//!    They are written as gzip JSON lines ([`formato`]) under a temporary name, flushed to
//!    disk, given their name (`auditoria-{desde:012}-{hasta:012}.jsonl.gz`, mode 0600), and the
//!    folder flushed.
//! 4. The file is registered in `auditoria_archivos` (name, SHA-256, size, first and last
//!    record, the hashes it starts from and ends with).
//! 5. The records and their index rows are deleted, [`registro`]'s step of ids per transaction,
//!    while the node goes on serving. The tables' triggers refuse to delete a record no
//!    registered archive holds.
//!
//! [`super::verify`] starts after the last archive; [`verify_files`] checks the files.

mod formato;
mod registro;
mod verificar;

pub use formato::digest;

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use diesel::prelude::*;

use super::index::indexed_upto;
use super::row::{AuditRow, GENESIS_HASH};
use crate::db::schema::auditoria;
use crate::db::{DbConnection, DbError};

pub use formato::{Cabecera, FORMATO};
pub use registro::{Archivo, archivos, ultimo};
pub use verificar::{ArchivosReport, verify_files};

/// Records read per query while archiving: memory stays flat whatever the range.
const READ_PAGE: i64 = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// Today's and yesterday's records stay: daily quotas and failed identity comparisons are
    /// restored from them at start-up.
    #[error(
        "--antes {antes}: records from the start of yesterday on stay in the database (the daily quotas are restored from them); give a day no later than {ultimo} (Chile time)"
    )]
    TooRecent { antes: String, ultimo: NaiveDate },
    /// The chain does not hold at this record: nothing is archived.
    #[error("the audit chain is broken at record {id}: nothing archived (see `siis audit verify`)")]
    Broken { id: i64 },
    /// The database has no `auditoria_archivos` yet (migration 000012).
    #[error(
        "the database has no table auditoria_archivos yet: run `siis migrate` (or start the node) first"
    )]
    NotMigrated,
    /// Another run holds the folder's lock.
    #[error("{0}: another `siis audit archive` is running with this folder; nothing done")]
    Busy(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Db(#[from] DbError),
}

/// What [`archive`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveReport {
    /// Archived records an earlier run had left in the database, deleted first.
    pub finished: u64,
    /// The archive written now, if there was anything to archive.
    pub archivo: Option<Archivo>,
    /// Where it was written.
    pub path: Option<PathBuf>,
}

/// The start of a civil day in Chile (America/Santiago), when daily quotas renew: 00:00, or
/// 01:00 on the day the clocks spring forward (00:00 does not exist then).
pub fn start_of_day(fecha: NaiveDate) -> DateTime<Utc> {
    let santiago = chrono_tz::America::Santiago;
    [0, 1]
        .into_iter()
        .find_map(|hour| {
            santiago
                .from_local_datetime(&fecha.and_hms_opt(hour, 0, 0)?)
                .earliest()
        })
        .map_or_else(
            || fecha.and_time(chrono::NaiveTime::MIN).and_utc(),
            |t| t.with_timezone(&Utc),
        )
}

/// The last day [`archive`] accepts as `antes` at `now`: yesterday in Chile, so that
/// yesterday's and today's records stay.
pub fn last_day(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::America::Santiago)
        .date_naive()
        - chrono::Days::new(1)
}

/// Archives the records from before the day `antes` (Chile time) into a new file in `out`,
/// registers it, and deletes them from the database. `antes` may be yesterday at the latest.
pub fn archive(
    conn: &mut DbConnection,
    out: &Path,
    antes: NaiveDate,
) -> Result<ArchiveReport, ArchiveError> {
    let ultimo_dia = last_day(Utc::now());
    if antes > ultimo_dia {
        return Err(ArchiveError::TooRecent {
            antes: antes.to_string(),
            ultimo: ultimo_dia,
        });
    }
    if !registro::registry_exists(conn)? {
        return Err(ArchiveError::NotMigrated);
    }
    if !out.exists() {
        // The files name persons: a folder the node's user made is that user's alone.
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(out).map_err(io(out))?;
        std::fs::set_permissions(out, std::fs::Permissions::from_mode(0o700)).map_err(io(out))?;
    }
    // One run at a time: two would read records the other is deleting.
    let _lock = lock(out)?;
    let previous = registro::ultimo(conn)?;
    if let Some(previous) = &previous {
        // Deleting what an archive holds is safe only if the registration is the chain's:
        // the record after it links to its final hash, and its last record, if still here,
        // carries that hash. A forged registration would otherwise delete the log.
        registro::check_registration(conn, previous)?;
    }
    let (after, hash_anterior) =
        previous.map_or((0, GENESIS_HASH.to_owned()), |a| (a.hasta, a.hash_final));
    let finished = registro::delete_archived(conn, after)?;
    let Some(hasta) = cut(conn, after, start_of_day(antes))? else {
        return Ok(ArchiveReport {
            finished,
            archivo: None,
            path: None,
        });
    };
    let desde = after + 1;
    let cabecera = Cabecera {
        formato: FORMATO.to_owned(),
        desde,
        hasta,
        hash_anterior: hash_anterior.clone(),
        registros: hasta - desde + 1,
    };
    let (path, bytes, sha256, hash_final) = write(conn, out, &cabecera)?;
    let archivo = Archivo {
        hasta,
        desde,
        registros: cabecera.registros,
        hash_final,
        hash_anterior,
        archivo: formato::nombre(desde, hasta),
        sha256,
        bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
        creado_us: Utc::now().timestamp_micros(),
    };
    registro::registrar(conn, &archivo)?;
    registro::delete_archived(conn, hasta)?;
    Ok(ArchiveReport {
        finished,
        archivo: Some(archivo),
        path: Some(path),
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The name of the lock file in the archives' folder.
const LOCK: &str = ".siis-audit-archive.lock";

/// Takes the folder's lock (released when the file is dropped, or when the process ends).
fn lock(out: &Path) -> Result<std::fs::File, ArchiveError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = out.join(LOCK);
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(io(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(ArchiveError::Busy(out.to_owned())),
        Err(std::fs::TryLockError::Error(e)) => Err(io(&path)(e)),
    }
}

/// The last record to archive after record `after`, if any: before the first record at or
/// after `antes`, indexed, and not the newest.
fn cut(conn: &mut DbConnection, after: i64, antes: DateTime<Utc>) -> Result<Option<i64>, DbError> {
    let Some(head) = auditoria::table
        .select(diesel::dsl::max(auditoria::id))
        .first::<Option<i64>>(conn)?
    else {
        return Ok(None);
    };
    let mut hasta = (head - 1).min(indexed_upto(conn)?);
    // Read in id order from the last archive on: stops at the first record of the day.
    let newer: Option<i64> = auditoria::table
        .filter(auditoria::id.gt(after))
        .filter(auditoria::ts_us.ge(antes.timestamp_micros()))
        .order(auditoria::id.asc())
        .select(auditoria::id)
        .first(conn)
        .optional()?;
    if let Some(newer) = newer {
        hasta = hasta.min(newer - 1);
    }
    Ok((hasta > after).then_some(hasta))
}

/// Writes records `desde..=hasta` into their file, checking their chain as they are read.
/// Returns the file's path, size and SHA-256, and the last record's hash.
fn write(
    conn: &mut DbConnection,
    out: &Path,
    cabecera: &Cabecera,
) -> Result<(PathBuf, u64, String, String), ArchiveError> {
    let target = out.join(formato::nombre(cabecera.desde, cabecera.hasta));
    let mut escritor = formato::Escritor::crear(out, cabecera).map_err(io(&target))?;
    let mut previous_id = cabecera.desde - 1;
    let mut previous_hash = cabecera.hash_anterior.clone();
    while previous_id < cabecera.hasta {
        let page: Vec<AuditRow> = auditoria::table
            .filter(auditoria::id.gt(previous_id))
            .filter(auditoria::id.le(cabecera.hasta))
            .order(auditoria::id.asc())
            .limit(READ_PAGE)
            .select(AuditRow::as_select())
            .load(conn)
            .map_err(DbError::from)?;
        if page.is_empty() {
            return Err(ArchiveError::Broken {
                id: previous_id + 1,
            });
        }
        for row in &page {
            let holds = row.id == previous_id + 1
                && row.hash_anterior == previous_hash
                && row.hash == row.chain_hash();
            if !holds {
                // As `verify` names it: a removed record by the record after it.
                return Err(ArchiveError::Broken { id: row.id });
            }
            escritor.registro(row).map_err(io(&target))?;
            previous_id = row.id;
            previous_hash.clone_from(&row.hash);
        }
    }
    let (path, bytes, sha256) = escritor.terminar().map_err(io(&target))?;
    Ok((path, bytes, sha256, previous_hash))
}

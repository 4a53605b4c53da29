//! SQLite: keeps each write-ahead log (registry, audit, by-person index) within
//! `database.wal_limit_mb`, on a thread and a connection of its own.
//!
//! SQLite writes each commit at the end of a file's WAL and copies the WAL into the file at a
//! checkpoint, but it starts the WAL over from its beginning only when a writer begins at a
//! moment when everything in it is already copied. The audit writer commits a group about every
//! millisecond under load, and its checkpoints (`PASSIVE`, which never waits for the writer,
//! see [`run`]) always found new frames written meanwhile: the log never started over, and
//! grew at the audit's full write rate (14 GB in 15 minutes at 2,000 lookups/s) and kept that
//! size after the load stopped.
//!
//! Each second the thread copies each WAL (`PASSIVE`). A WAL whose log reaches half the bound
//! is then checkpointed with `RESTART`: it holds off writers while it copies the few frames
//! the `PASSIVE` step left, waits for readers still on the old frames, and leaves the log to
//! start over at the next commit; the file keeps its size and is written over from its
//! beginning. A file past the bound (a reader held the log, or one transaction was larger than
//! the bound) is cut back with `TRUNCATE`, as is a log that saw no commit for a whole tick (the
//! load stopped). The two wait at most [`WAIT_FOR_READERS`] for a reader: a reader that holds a
//! snapshot longer makes the step fail, the writer goes on, and the step is tried again at the
//! next tick. Nothing is lost: a checkpoint copies only committed frames, flushes the file,
//! and only then lets the log start over.
//!
//! The audit file's `RESTART` and `TRUNCATE` under load run on the audit writer's own
//! connection, between two groups ([`if_asked`]): this thread only asks. Run here, they first
//! had to take the writer's lock, which the writer, committing back to back, holds most of the
//! time; in the first 15-minute run one in a few failed to get it within the wait, and the log
//! went on growing for another second.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use crate::db::{ConnectionManager, DatabaseUrl, DbConnection, DbError};

/// How often the thread checkpoints each WAL.
pub(super) const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// How long a `RESTART` or `TRUNCATE` waits for the writer's lock and for readers on older
/// frames (the thread's `busy_timeout`). The writer waits for it meanwhile, so this bounds the
/// stall a step that fails can add to the answers waiting for an audit commit.
pub(super) const WAIT_FOR_READERS: Duration = Duration::from_millis(100);

/// The bound on each SQLite WAL file, and how often it is enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalLimit {
    /// Most bytes a WAL file may hold.
    pub bytes: u64,
    /// How often the checkpoint thread looks (a second outside tests).
    pub every: Duration,
}

impl WalLimit {
    /// The default bound (`database.wal_limit_mb`).
    pub const DEFAULT_MB: u64 = 64;

    pub fn megabytes(mb: u64) -> WalLimit {
        WalLimit {
            bytes: mb.saturating_mul(1 << 20),
            every: CHECKPOINT_EVERY,
        }
    }
}

impl Default for WalLimit {
    fn default() -> Self {
        WalLimit::megabytes(WalLimit::DEFAULT_MB)
    }
}

/// One WAL as the checkpoint thread last saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalFile {
    /// The schema on the node's connections: `main` (registry), `audit` or `indice`.
    pub schema: &'static str,
    /// The WAL file's size in bytes after the last step (0 when absent).
    pub bytes: u64,
    /// `RESTART` or `TRUNCATE` steps that gave up because a reader or the writer held on
    /// longer than [`WAIT_FOR_READERS`].
    pub refused: u64,
}

/// What a readiness check needs: each WAL's size against the bound. Empty on PostgreSQL,
/// whose `pg_wal` is the server's (`max_wal_size`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalStatus {
    pub limit: u64,
    pub files: Vec<WalFile>,
    /// When the checkpoint thread last finished a tick (`None` before its first, and on
    /// PostgreSQL, which has no such thread).
    pub ticked: Option<std::time::SystemTime>,
}

impl WalStatus {
    /// Whether a WAL is past the bound (a reader holds it back, or checkpoints fail).
    pub fn over_limit(&self) -> bool {
        self.files.iter().any(|f| f.bytes > self.limit)
    }
}

/// Shared between the checkpoint thread, the audit writer and [`super::AuditLog::wal`].
#[derive(Debug, Default)]
pub(super) struct Gauge {
    limit: AtomicU64,
    bytes: [AtomicU64; 3],
    refused: [AtomicU64; 3],
    /// The checkpoint the audit writer is asked to run between two groups: [`NONE`],
    /// [`RESTART`] or [`TRUNCATE`].
    asked: AtomicU8,
    /// When the checkpoint thread last finished a tick (milliseconds since the Unix epoch; 0
    /// before its first), for readiness: a thread that stopped ticking no longer bounds a WAL.
    ticked_ms: AtomicU64,
}

const NONE: u8 = 0;
const RESTART: u8 = 1;
const TRUNCATE: u8 = 2;
/// The audit file's place in [`DatabaseUrl::wal_files`].
const AUDIT: usize = 1;

/// Run by the audit writer between two groups: the checkpoint of the audit file the checkpoint
/// thread asked for, if any, waiting at most [`WAIT_FOR_READERS`] for readers.
pub(super) fn if_asked(conn: &mut DbConnection, gauge: &Gauge) -> Result<(), DbError> {
    let mode = match gauge.asked.swap(NONE, Ordering::Relaxed) {
        RESTART => "RESTART",
        TRUNCATE => "TRUNCATE",
        _ => return Ok(()),
    };
    let waits: BusyTimeout = diesel::sql_query("PRAGMA busy_timeout").get_result(conn)?;
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {};",
        WAIT_FOR_READERS.as_millis()
    ))?;
    let done = checkpoint(conn, "audit", mode);
    conn.batch_execute(&format!("PRAGMA busy_timeout = {};", waits.timeout))?;
    if done?.busy != 0 {
        gauge.refused[AUDIT].fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct BusyTimeout {
    #[diesel(sql_type = BigInt)]
    timeout: i64,
}

impl Gauge {
    pub(super) fn new(limit: WalLimit) -> Gauge {
        let gauge = Gauge::default();
        gauge.limit.store(limit.bytes, Ordering::Relaxed);
        gauge
    }

    pub(super) fn status(&self, url: &DatabaseUrl) -> WalStatus {
        let files = url
            .wal_files()
            .into_iter()
            .enumerate()
            .map(|(n, (schema, _))| WalFile {
                schema,
                bytes: self.bytes[n].load(Ordering::Relaxed),
                refused: self.refused[n].load(Ordering::Relaxed),
            })
            .collect();
        let ticked = match self.ticked_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(std::time::UNIX_EPOCH + Duration::from_millis(ms)),
        };
        WalStatus {
            limit: self.limit.load(Ordering::Relaxed),
            files,
            ticked,
        }
    }

    fn ticked(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.ticked_ms.store(now, Ordering::Relaxed);
    }
}

/// The row `PRAGMA schema.wal_checkpoint(MODE)` returns.
#[derive(Debug, diesel::QueryableByName)]
struct Checkpointed {
    /// 1 when a `RESTART` or `TRUNCATE` could not finish (a reader or writer held on).
    #[diesel(sql_type = BigInt)]
    busy: i64,
    /// Frames in the log (-1 when the file is not in WAL mode).
    #[diesel(sql_type = BigInt)]
    log: i64,
}

fn checkpoint(conn: &mut DbConnection, schema: &str, mode: &str) -> Result<Checkpointed, DbError> {
    Ok(diesel::sql_query(format!("PRAGMA {schema}.wal_checkpoint({mode})")).get_result(conn)?)
}

#[derive(diesel::QueryableByName)]
struct PageSize {
    #[diesel(sql_type = BigInt)]
    page_size: i64,
}

/// One WAL and what the thread remembers of it between ticks.
struct Wal {
    schema: &'static str,
    path: PathBuf,
    /// Bytes of a frame: a page and its 24-byte header.
    frame: u64,
    /// The log's frame count at the previous tick.
    last_log: i64,
}

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The thread: one tick per `limit.every` until `stop` says so (or is dropped), and one last
/// tick then.
pub(super) fn run(
    manager: ConnectionManager,
    limit: WalLimit,
    gauge: Arc<Gauge>,
    stop: mpsc::Receiver<()>,
) {
    let mut conn: Option<DbConnection> = None;
    let mut wals: Vec<Wal> = Vec::new();
    loop {
        let stopping = !matches!(
            stop.recv_timeout(limit.every),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        let done = match &mut conn {
            Some(c) => Ok(c),
            none => open(&manager, &mut wals).map(|c| none.insert(c)),
        }
        .and_then(|c| tick(c, &mut wals, limit, &gauge));
        if done.is_ok() {
            gauge.ticked();
        }
        if let Err(error) = done {
            tracing::warn!(error = %error, "WAL checkpoint failed; retried at the next tick");
            conn = None;
        }
        if stopping {
            return;
        }
    }
}

/// The thread's connection, which waits at most [`WAIT_FOR_READERS`] for a lock, and the WALs
/// it looks after.
fn open(manager: &ConnectionManager, wals: &mut Vec<Wal>) -> Result<DbConnection, DbError> {
    let mut conn = manager.open()?;
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {};",
        WAIT_FOR_READERS.as_millis()
    ))?;
    wals.clear();
    for (schema, path) in manager.url().wal_files() {
        let page: PageSize =
            diesel::sql_query(format!("PRAGMA {schema}.page_size")).get_result(&mut conn)?;
        wals.push(Wal {
            schema,
            path,
            frame: u64::try_from(page.page_size).unwrap_or(4096) + 24,
            last_log: -1,
        });
    }
    Ok(conn)
}

/// Copies each WAL into its file, then starts over or cuts back those that need it.
fn tick(
    conn: &mut DbConnection,
    wals: &mut [Wal],
    limit: WalLimit,
    gauge: &Gauge,
) -> Result<(), DbError> {
    for (n, wal) in wals.iter_mut().enumerate() {
        let passive = checkpoint(conn, wal.schema, "PASSIVE")?;
        let size = file_len(&wal.path);
        let logged = u64::try_from(passive.log.max(0)).unwrap_or(0) * wal.frame;
        let idle = passive.log > 0 && passive.log == wal.last_log;
        let mode = if size > limit.bytes || (idle && size > 0) {
            Some("TRUNCATE")
        } else if logged >= limit.bytes / 2 {
            Some("RESTART")
        } else {
            None
        };
        wal.last_log = passive.log;
        // Under load the audit writer runs its file's step itself (see the module's comment);
        // an idle log is cut back here, where no writer waits for it.
        if n == AUDIT && !idle {
            let asked = match mode {
                Some("TRUNCATE") => TRUNCATE,
                Some(_) => RESTART,
                None => NONE,
            };
            gauge.asked.store(asked, Ordering::Relaxed);
            if asked != NONE && size > limit.bytes {
                tracing::warn!(
                    wal.schema = wal.schema,
                    wal.bytes = size,
                    wal.limit = limit.bytes,
                    "WAL past its bound: a reader holds an old snapshot, or the writer is behind"
                );
            }
        } else if let Some(mode) = mode {
            let done = checkpoint(conn, wal.schema, mode)?;
            if done.busy != 0 {
                gauge.refused[n].fetch_add(1, Ordering::Relaxed);
                if size > limit.bytes {
                    tracing::warn!(
                        wal.schema = wal.schema,
                        wal.bytes = size,
                        wal.limit = limit.bytes,
                        "WAL past its bound: a reader holds an old snapshot; retried at the next tick"
                    );
                }
            } else {
                wal.last_log = done.log;
            }
        }
        gauge.bytes[n].store(file_len(&wal.path), Ordering::Relaxed);
    }
    Ok(())
}

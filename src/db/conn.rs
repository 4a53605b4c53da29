//! The connection type over both backends and the r2d2 manager that opens it.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{InstrumentationEvent, SimpleConnection};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;

use super::DatabaseUrl;

/// One connection to the registry, on whichever backend the URL chose.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

/// Runs `$body` with `$c` bound to the backend's own connection (`&mut SqliteConnection` or
/// `&mut PgConnection`); the body is compiled once for each backend. Through Diesel's
/// `MultiConnection` every execution writes the statement's SQL out again, even for a
/// statement kept prepared: about 11 µs of the node's 154 µs per REST lookup on PostgreSQL.
/// The lookups' queries (`ops::ficha`) go straight to the backend with this; the rarer
/// operations and the audit threads still go through `MultiConnection`.
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Sqlite($c) => $body,
            $crate::db::DbConnection::Pg($c) => $body,
        }
    };
}
pub(crate) use on_backend;

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConnection = r2d2::PooledConnection<ConnectionManager>;

/// How long after its last use a pooled PostgreSQL connection is handed out again without a
/// `SELECT 1` first (HikariCP's `aliveBypassWindowMs` has the same default). Under load every
/// connection is back within milliseconds, and the test was one of a lookup's three round
/// trips: REST lookups ran at 0.20 x ping with it and 0.23 without (`git show dc52f25:README.md`, *Load benchmark*).
/// A connection idle for longer, as after a server restart, is still tested before use.
pub const RECENTLY_USED: Duration = Duration::from_millis(500);

/// A connection as the pool holds it: the connection, when it last went back to the pool,
/// and whether a query on it found the server gone. Derefs to [`DbConnection`]
/// (`&mut **pooled` where a function is generic over the connection).
pub struct Pooled {
    conn: DbConnection,
    returned: Instant,
    /// Set by the connection's own instrumentation ([`ConnectionManager::connect`]) when a
    /// query fails because the server connection is lost, whoever ran the query.
    gone: Arc<AtomicBool>,
}

/// Whether a query error says the server connection is lost: closed by the server, or a
/// command that could not be sent.
fn server_gone(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        error,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        )
    )
}

impl Deref for Pooled {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// A database failure with the backend's own message kept.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to {url}: {source}")]
    Connect {
        url: String,
        source: diesel::ConnectionError,
    },
    #[error("{0}")]
    Query(#[from] diesel::result::Error),
    #[error("migrations failed: {0}")]
    Migration(String),
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
}

/// SQLite settings applied to every connection. `busy_timeout` comes first, so that several
/// connections opening at once wait for each other instead of failing with "database is locked".
/// The memory map covers up to 2 GiB (SQLite's compiled maximum, `SQLITE_MAX_MMAP_SIZE`): the
/// whole 11-million-person registry (1.4 GB), read without copying pages into each
/// connection's cache. A 500-RUN batch took 26 ms of CPU with the map at 2 GiB against 36 ms
/// at 1 GiB (`git show dc52f25:README.md`, *Benchmarks*).
pub(crate) const SQLITE_PRAGMAS: &str = "\
    PRAGMA busy_timeout = 10000;\
    PRAGMA journal_mode = WAL;\
    PRAGMA synchronous = NORMAL;\
    PRAGMA foreign_keys = ON;\
    PRAGMA temp_store = MEMORY;\
    PRAGMA cache_size = -65536;\
    PRAGMA mmap_size = 2147418112;";

/// Attaches the audit log's own file as schema `audit` and its by-person index's as schema
/// `indice` (both created if missing). Unqualified names (`auditoria`, `auditoria_sujetos`)
/// resolve to them because the registry file holds no tables of those names (migrations
/// `000008_audit_file` and `000009_audit_index` moved them there).
fn attach_audit(
    conn: &mut SqliteConnection,
    audit: &std::path::Path,
    index: &std::path::Path,
) -> QueryResult<()> {
    use diesel::sql_types::Text;
    for (path, schema) in [(audit, "audit"), (index, "indice")] {
        let path = path.to_string_lossy();
        diesel::sql_query(format!("ATTACH DATABASE ? AS {schema}"))
            .bind::<Text, _>(path.as_ref())
            .execute(conn)?;
        conn.batch_execute(&format!(
            "PRAGMA {schema}.journal_mode = WAL; PRAGMA {schema}.synchronous = NORMAL;"
        ))?;
    }
    Ok(())
}

/// Opens connections for the pool, choosing the backend from the URL's scheme.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        ConnectionManager { url }
    }

    /// The database this manager opens.
    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    pub fn open(&self) -> Result<DbConnection, DbError> {
        let connect_error = |source| DbError::Connect {
            url: self.url.redacted(),
            source,
        };
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let text = path.to_str().ok_or_else(|| {
                    connect_error(diesel::ConnectionError::InvalidConnectionUrl(
                        "the path is not UTF-8".into(),
                    ))
                })?;
                let mut conn = SqliteConnection::establish(text).map_err(connect_error)?;
                let setup =
                    |e| connect_error(diesel::ConnectionError::CouldntSetupConfiguration(e));
                conn.batch_execute(SQLITE_PRAGMAS).map_err(setup)?;
                if let (Some(audit), Some(index)) =
                    (self.url.audit_file(), self.url.audit_index_file())
                {
                    attach_audit(&mut conn, &audit, &index).map_err(setup)?;
                }
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Pg(
                PgConnection::establish(&super::url::with_connect_timeout(
                    url,
                    super::url::CONNECT_TIMEOUT_SECS,
                ))
                .map_err(connect_error)?,
            )),
        }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = Pooled;
    type Error = DbError;

    /// Opens a connection. On PostgreSQL, its instrumentation notes a query that finds the
    /// server gone, so that [`Self::has_broken`] drops the connection when it comes back
    /// instead of handing it to the next request. (A caller that sets its own instrumentation,
    /// as some tests do, replaces this one.)
    fn connect(&self) -> Result<Pooled, DbError> {
        let mut conn = self.open()?;
        let gone = Arc::new(AtomicBool::new(false));
        if let DbConnection::Pg(pg) = &mut conn {
            let flag = Arc::clone(&gone);
            pg.set_instrumentation(move |event: InstrumentationEvent<'_>| {
                if let InstrumentationEvent::FinishQuery {
                    error: Some(error), ..
                } = event
                    && server_gone(error)
                {
                    flag.store(true, Ordering::Relaxed);
                }
            });
        }
        Ok(Pooled {
            conn,
            returned: Instant::now(),
            gone,
        })
    }

    /// Called at checkout (PostgreSQL only, see [`open_pool`]): a connection back from a
    /// request within [`RECENTLY_USED`] is taken as alive; an older one is tested.
    fn is_valid(&self, conn: &mut Pooled) -> Result<(), DbError> {
        if conn.returned.elapsed() < RECENTLY_USED {
            return Ok(());
        }
        conn.conn.batch_execute("SELECT 1").map_err(DbError::from)
    }

    /// Called when a connection goes back to the pool: notes the time, and drops the
    /// connection if a query found its server gone.
    fn has_broken(&self, conn: &mut Pooled) -> bool {
        conn.returned = Instant::now();
        conn.gone.load(Ordering::Relaxed)
    }
}

/// Removes SQLite's STAT4 samples (kept: the `sqlite_stat1` figures the planner needs).
/// The bundled SQLite is built with STAT4; with samples present, binding a new value to a
/// parameter the samples could plan differently expires the statement, so every lookup of a
/// new RUN was prepared again: 19% of a lookup's CPU went to re-preparing, and REST lookups
/// ran at 2,717 req/s instead of 3,620 (`git show dc52f25:README.md`, *Benchmarks*). Our queries are key lookups,
/// planned the same whatever the value.
pub(crate) fn forget_stat4_samples(conn: &mut DbConnection) -> Result<(), DbError> {
    if let DbConnection::Sqlite(_) = conn {
        let samples = count(
            conn,
            "SELECT count(*) AS n FROM main.sqlite_master WHERE name = 'sqlite_stat4'",
        )?;
        if samples > 0 {
            conn.batch_execute("DELETE FROM main.sqlite_stat4;")?;
        }
    }
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// Runs a query that returns one row with a `BIGINT` column `n` and returns `n`.
pub(crate) fn count(conn: &mut DbConnection, sql: &str) -> QueryResult<i64> {
    Ok(diesel::sql_query(sql).get_result::<Count>(conn)?.n)
}

/// Whether the SQLite this binary runs on keeps every connection's page cache in one shared
/// pool (compiled with `SQLITE_ENABLE_MEMORY_MANAGEMENT`, as libsqlite3-sys bundles it). In that
/// pool a connection at its `cache_size` takes the oldest page of another connection, which
/// then allocates a new one, so under load the audit writer's cache grew far past its own size
/// and the node's memory with it, toward the sum of every connection's `cache_size`. This
/// checkout's `.cargo/config.toml` builds SQLite without the option. `false` on PostgreSQL.
pub fn shared_page_cache(conn: &mut DbConnection) -> Result<bool, DbError> {
    if let DbConnection::Pg(_) = conn {
        return Ok(false);
    }
    let found = count(
        conn,
        "SELECT count(*) AS n FROM pragma_compile_options \
         WHERE compile_options = 'ENABLE_MEMORY_MANAGEMENT'",
    )?;
    Ok(found > 0)
}

/// Opens one connection first (so a failure reports the backend's real error, not a pool
/// timeout), runs pending migrations and the reference-data sync on it, then builds the pool.
pub fn open_pool(url: &DatabaseUrl, size: u32, timeout: Duration) -> Result<Pool, DbError> {
    let manager = ConnectionManager::new(url.clone());
    let mut first = manager.open()?;
    super::run_migrations(&mut first)?;
    super::sync_reference(&mut first)?;
    forget_stat4_samples(&mut first)?;
    if shared_page_cache(&mut first)? {
        tracing::warn!(
            "this build's SQLite shares one page cache among connections \
             (SQLITE_ENABLE_MEMORY_MANAGEMENT): memory can grow under load up to the sum of \
             every connection's cache_size; build from the project's checkout, whose \
             .cargo/config.toml leaves the option out"
        );
    }
    drop(first);
    // A PostgreSQL connection can break with the server (restart, network); a checkout tests
    // one that has been idle with `SELECT 1` ([`RECENTLY_USED`]). A SQLite connection is a
    // file handle that does not break, and the test was a statement prepared and run at every
    // lookup.
    let test_on_check_out = matches!(url, DatabaseUrl::Postgres(_));
    Ok(r2d2::Pool::builder()
        .max_size(size)
        .min_idle(Some(1))
        .test_on_check_out(test_on_check_out)
        .connection_timeout(timeout)
        .build_unchecked(manager))
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::{DatabaseErrorKind, Error};

    fn database_error(kind: DatabaseErrorKind) -> Error {
        Error::DatabaseError(kind, Box::new("x".to_string()))
    }

    #[test]
    fn a_lost_server_connection_is_told_from_other_failures() {
        assert!(server_gone(&database_error(
            DatabaseErrorKind::ClosedConnection
        )));
        assert!(server_gone(&database_error(
            DatabaseErrorKind::UnableToSendCommand
        )));
        assert!(!server_gone(&Error::NotFound));
        assert!(!server_gone(&database_error(
            DatabaseErrorKind::UniqueViolation
        )));
        assert!(!server_gone(&database_error(
            DatabaseErrorKind::SerializationFailure
        )));
    }
}

//! The "database down" flag: while PostgreSQL cannot be reached, admissions answer 503
//! `NO_DISPONIBLE` (with `Retry-After`) at once instead of each waiting
//! `database.pool_timeout_secs` for a connection that will not come.
//!
//! The flag is set when the pool cannot open a connection, when the audit writer cannot reach
//! its database, or when the probe's own query fails; the probe (a thread with a connection of
//! its own) asks the database every [`PROBE_EVERY`] and clears the flag as soon as it answers,
//! so a node recovers on its own when the database comes back. SQLite, a file the node opens
//! itself, is never "down": there the flag stays clear and no probe runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use diesel::connection::SimpleConnection;

use crate::db::{ConnectionManager, DatabaseUrl, DbConnection, DbError};

/// How often the probe asks the database.
pub const PROBE_EVERY: Duration = Duration::from_millis(500);

/// Seconds a client is told to wait before retrying a 503 `NO_DISPONIBLE` (`Retry-After`): a
/// few probes, so that a retry finds the flag cleared when the database is back.
pub const RETRY_AFTER_SECS: u64 = 1;

/// Whether the node can reach its database right now (shared by the broker, the audit
/// hooks and the probe).
#[derive(Debug)]
pub struct Outage {
    down: AtomicBool,
    /// PostgreSQL only: a flag nobody could clear stays unset on SQLite.
    watched: bool,
}

impl Outage {
    pub fn new(url: &DatabaseUrl) -> Outage {
        Outage {
            down: AtomicBool::new(false),
            watched: matches!(url, DatabaseUrl::Postgres(_)),
        }
    }

    /// Whether admissions must answer 503 at once.
    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Relaxed)
    }

    /// The database could not be reached (`cause` is logged once, when the flag turns on).
    pub fn mark_down(&self, cause: &dyn std::fmt::Display) {
        if self.watched && !self.down.swap(true, Ordering::Relaxed) {
            tracing::error!(error = %cause, "database unreachable: requests answered 503 until it answers again");
        }
    }

    fn mark_up(&self) {
        if self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("database reachable again: serving");
        }
    }

    /// Marks the database down when `error` says it cannot be reached (a connection that
    /// could not be opened or was lost), not for a query that merely failed.
    pub fn note(&self, error: &DbError) {
        if unreachable(error) {
            self.mark_down(error);
        }
    }

    /// Starts the probe (PostgreSQL only); it ends at its next tick once the [`Probe`] is
    /// dropped.
    pub fn spawn_probe(self: &Arc<Self>, manager: ConnectionManager) -> Option<Probe> {
        if !self.watched {
            return None;
        }
        let outage = Arc::clone(self);
        let (stop, stopped) = mpsc::channel();
        std::thread::Builder::new()
            .name("siis-db-probe".into())
            .spawn(move || probe(&outage, &manager, &stopped))
            .map_err(|error| tracing::error!(error = %error, "database probe not started"))
            .ok()
            .map(|_| Probe { _stop: stop })
    }
}

/// The running probe: it stops when this is dropped.
pub struct Probe {
    _stop: mpsc::Sender<()>,
}

/// Whether a database error means the server cannot be reached.
pub fn unreachable(error: &DbError) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        DbError::Connect { .. } => true,
        DbError::Query(Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        )) => true,
        DbError::Query(_) | DbError::Migration(_) => false,
        // r2d2 keeps the last error of the connections it tried to open; a pool merely
        // exhausted (every connection busy) has none.
        DbError::Pool(error) => pool_could_not_connect(error),
    }
}

/// Whether a pool timeout came with a failed connection attempt (r2d2 names it after a colon).
pub fn pool_could_not_connect(error: &r2d2::Error) -> bool {
    error.to_string() != "timed out waiting for connection"
}

fn probe(outage: &Outage, manager: &ConnectionManager, stop: &mpsc::Receiver<()>) {
    let mut conn: Option<DbConnection> = None;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(PROBE_EVERY) {
        // Down, the probe opens a connection as the pool would: one kept open may outlive a
        // server that accepts no new ones.
        if outage.is_down() {
            conn = None;
        }
        let answered = match &mut conn {
            Some(c) => c.batch_execute("SELECT 1").map_err(DbError::from),
            None => manager.open().and_then(|mut c| {
                c.batch_execute("SELECT 1")?;
                conn = Some(c);
                Ok(())
            }),
        };
        match answered {
            Ok(()) => outage.mark_up(),
            Err(error) => {
                conn = None;
                outage.mark_down(&error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_is_never_down() {
        let outage = Outage::new(&DatabaseUrl::Sqlite("x.db".into()));
        outage.mark_down(&"gone");
        assert!(!outage.is_down());
    }

    #[test]
    fn only_an_unreachable_server_marks_postgres_down() {
        let url = DatabaseUrl::parse("postgres://u@127.0.0.1:1/x").unwrap();
        let outage = Outage::new(&url);
        outage.note(&DbError::Query(diesel::result::Error::NotFound));
        assert!(!outage.is_down());
        let refused = ConnectionManager::new(url).open().err().unwrap();
        outage.note(&refused);
        assert!(outage.is_down());
        outage.mark_up();
        assert!(!outage.is_down());
    }
}

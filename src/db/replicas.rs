//! Lookups read from PostgreSQL streaming replicas while they are close enough to the primary
//! (`database.replicas`).
//!
//! A thread measures every `database.replica_check_ms` how far behind each replica is. The
//! usual measures do not say it: `pg_stat_replication.replay_lag` keeps its last value once a
//! replica has caught up, and `now() - pg_last_xact_replay_timestamp()` grows while the primary
//! is idle. So the thread keeps samples of the primary's WAL position (`pg_current_wal_lsn()`)
//! with the time each was taken; a replica that has replayed up to position P holds everything
//! the primary had at the time of the newest sample at or below P, and is that old at most. A
//! replica serves lookups while that age is at most `database.replica_max_lag_ms`; an
//! unreachable one, one no longer in recovery, or one further behind than the samples reach is
//! out of reads until it is back.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use super::{ConnectionManager, DatabaseUrl, DbConnection, DbError, Pool, PooledConnection};

/// The longest a lookup waits for a connection to a replica before it reads the primary: a
/// new connection on a busy machine can take a few hundred milliseconds.
const REPLICA_WAIT: Duration = Duration::from_secs(1);

/// The replicas a node reads lookups from, and whether each may serve them now.
pub struct Replicas {
    primary: Pool,
    primary_url: DatabaseUrl,
    replicas: Vec<Replica>,
    next: AtomicUsize,
    max_lag: Duration,
    check_every: Duration,
    stop: AtomicBool,
    epoch: Instant,
}

/// One replica: its pool and what the last measure said.
pub struct Replica {
    /// Host, port and database, for logs and metric labels (no user, no password).
    pub name: String,
    pool: Pool,
    manager: ConnectionManager,
    usable: AtomicBool,
    /// How far behind the primary it was at the last measure, in microseconds (`u64::MAX`:
    /// unknown, unreachable or beyond the samples).
    lag_us: AtomicU64,
    /// When that measure was taken, in microseconds since [`Replicas::epoch`].
    measured_us: AtomicU64,
}

/// A replica's state as the last measure left it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicaState {
    pub name: String,
    pub usable: bool,
    /// `None`: unreachable, not a replica, or further behind than the samples reach.
    pub lag: Option<Duration>,
}

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = BigInt)]
    lsn: i64,
}

#[derive(QueryableByName)]
struct ReplayPosition {
    #[diesel(sql_type = Bool)]
    recovery: bool,
    #[diesel(sql_type = BigInt)]
    lsn: i64,
}

/// The name a replica goes by in logs and labels: `host:port/database`.
fn name_of(url: &DatabaseUrl) -> String {
    let DatabaseUrl::Postgres(text) = url else {
        return url.redacted();
    };
    match ::url::Url::parse(text) {
        Ok(u) => format!(
            "{}:{}{}",
            u.host_str().unwrap_or(""),
            u.port().unwrap_or(5432),
            u.path()
        ),
        Err(_) => "(unreadable)".into(),
    }
}

impl Replicas {
    /// Pools for `urls` beside the primary's. Nothing is connected yet: every replica is out
    /// of reads until the first measure finds it close enough ([`Replicas::watch`]).
    pub fn new(
        primary: Pool,
        primary_url: &DatabaseUrl,
        urls: &[DatabaseUrl],
        pool_size: u32,
        max_lag: Duration,
        check_every: Duration,
    ) -> Replicas {
        let replicas = urls
            .iter()
            .map(|url| {
                let manager = ConnectionManager::new(url.clone());
                // A replica that stops answering is taken out of reads by the next measure; a
                // lookup meanwhile waits no longer than [`REPLICA_WAIT`] for its connection,
                // then reads the primary.
                let pool = r2d2::Pool::builder()
                    .max_size(pool_size)
                    .min_idle(Some(0))
                    .test_on_check_out(true)
                    .connection_timeout(REPLICA_WAIT)
                    .build_unchecked(manager.clone());
                Replica {
                    name: name_of(url),
                    pool,
                    manager,
                    usable: AtomicBool::new(false),
                    lag_us: AtomicU64::new(u64::MAX),
                    measured_us: AtomicU64::new(0),
                }
            })
            .collect();
        Replicas {
            primary,
            primary_url: primary_url.clone(),
            replicas,
            next: AtomicUsize::new(0),
            max_lag,
            check_every,
            stop: AtomicBool::new(false),
            epoch: Instant::now(),
        }
    }

    /// Whether any replica is configured.
    pub fn is_empty(&self) -> bool {
        self.replicas.is_empty()
    }

    /// The pool a lookup reads from: the next usable replica in turn, or the primary when none
    /// is usable.
    pub fn for_lookup(&self) -> &Pool {
        let n = self.replicas.len();
        if n == 0 {
            return &self.primary;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|i| &self.replicas[(start + i) % n])
            .find(|r| self.close_enough(r))
            .map_or(&self.primary, |r| &r.pool)
    }

    /// Whether `replica` may serve a lookup now: found close enough at its last measure, and
    /// no further behind than the documented bound however long ago that measure was (a
    /// monitor held up by a host that stopped answering does not leave a replica in reads).
    fn close_enough(&self, replica: &Replica) -> bool {
        if !replica.usable.load(Ordering::Relaxed) {
            return false;
        }
        let now_us = self.epoch.elapsed().as_micros();
        let measured_us = u128::from(replica.measured_us.load(Ordering::Relaxed));
        let lag_us = u128::from(replica.lag_us.load(Ordering::Relaxed));
        let bound_us = (self.max_lag + self.check_every).as_micros();
        lag_us + now_us.saturating_sub(measured_us) <= bound_us
    }

    /// A connection for a lookup: from the next usable replica, or the primary. A replica that
    /// gives none within `wait` is taken out of reads and the primary is asked, within what is
    /// left of `wait`.
    pub fn checkout(&self, wait: Duration) -> Result<PooledConnection, r2d2::Error> {
        let started = Instant::now();
        let pool = self.for_lookup();
        if std::ptr::eq(pool, &self.primary) {
            return pool.get_timeout(wait);
        }
        match pool.get_timeout(wait.min(REPLICA_WAIT)) {
            Ok(conn) => Ok(conn),
            Err(error) => {
                tracing::warn!(error = %error, "no connection from a replica: reading the primary");
                self.set_aside(pool);
                self.primary
                    .get_timeout(wait.saturating_sub(started.elapsed()))
            }
        }
    }

    /// Takes the replica whose pool is `pool` out of reads (a lookup could not get a
    /// connection from it); the next measure puts it back if it is reachable and close enough.
    pub fn set_aside(&self, pool: &Pool) {
        for replica in &self.replicas {
            if std::ptr::eq(&replica.pool, pool) && replica.usable.swap(false, Ordering::Relaxed) {
                tracing::warn!(replica = %replica.name, "replica out of reads: no connection");
            }
        }
    }

    /// Each replica's state at the last measure.
    pub fn states(&self) -> Vec<ReplicaState> {
        self.replicas
            .iter()
            .map(|r| ReplicaState {
                name: r.name.clone(),
                usable: self.close_enough(r),
                lag: match r.lag_us.load(Ordering::Relaxed) {
                    u64::MAX => None,
                    us => Some(Duration::from_micros(us)),
                },
            })
            .collect()
    }

    /// Ends the thread [`Replicas::watch`] started, at its next measure.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Starts the thread that measures the replicas (none when there is no replica).
    pub fn watch(self: &Arc<Self>) -> Option<std::thread::JoinHandle<()>> {
        if self.replicas.is_empty() {
            return None;
        }
        let this = Arc::downgrade(self);
        std::thread::Builder::new()
            .name("replicas".into())
            .spawn(move || run(&this))
            .inspect_err(|e| tracing::error!(error = %e, "cannot start the replica monitor"))
            .ok()
    }

    fn record(&self, replica: &Replica, lag: Result<Option<Duration>, DbError>) {
        let lag = lag.unwrap_or_else(|e| {
            tracing::debug!(replica = %replica.name, error = %e, "replica not measured");
            None
        });
        let usable = lag.is_some_and(|lag| lag <= self.max_lag);
        replica.measured_us.store(
            u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        replica.lag_us.store(
            lag.map_or(u64::MAX, |l| {
                u64::try_from(l.as_micros()).unwrap_or(u64::MAX)
            }),
            Ordering::Relaxed,
        );
        let was = replica.usable.swap(usable, Ordering::Relaxed);
        match (was, usable) {
            (false, true) => tracing::info!(replica = %replica.name, "replica serves lookups"),
            (true, false) => tracing::warn!(
                replica = %replica.name,
                lag_ms = lag.map(|l| l.as_millis()),
                "replica out of reads: too far behind the primary, or unreachable"
            ),
            _ => {}
        }
    }
}

/// The monitor's loop: measures until the node lets go of its [`Replicas`] or stops them.
fn run(replicas: &std::sync::Weak<Replicas>) {
    let Some(url) = replicas.upgrade().map(|r| r.primary_url.clone()) else {
        return;
    };
    let primary = ConnectionManager::new(url);
    let mut on_primary: Option<DbConnection> = None;
    let mut on_replicas: Vec<Option<DbConnection>> = Vec::new();
    let mut samples: VecDeque<(Instant, i64)> = VecDeque::new();
    loop {
        let Some(this) = replicas.upgrade() else {
            return;
        };
        if this.stop.load(Ordering::Relaxed) {
            return;
        }
        let started = Instant::now();
        match sample(&primary, &mut on_primary) {
            Ok(lsn) => samples.push_back((Instant::now(), lsn)),
            Err(e) => tracing::warn!(error = %e, "replica monitor: primary unreachable"),
        }
        // Samples reach back four times the largest lag allowed: a replica further behind is
        // out of reads whatever its exact distance.
        let keep = this.max_lag * 4;
        while samples.len() > 1 && samples.front().is_some_and(|(at, _)| at.elapsed() > keep) {
            samples.pop_front();
        }
        on_replicas.resize_with(this.replicas.len(), || None);
        for (replica, conn) in this.replicas.iter().zip(on_replicas.iter_mut()) {
            let lag = measure(replica, conn, &samples);
            this.record(replica, lag);
        }
        let pause = this.check_every.saturating_sub(started.elapsed());
        drop(this);
        std::thread::sleep(pause);
    }
}

/// The primary's WAL position, opening the monitor's own connection when it has none.
fn sample(manager: &ConnectionManager, conn: &mut Option<DbConnection>) -> Result<i64, DbError> {
    with_conn(manager, conn, |c| {
        diesel::sql_query("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS lsn")
            .get_result::<Position>(c)
            .map(|p| p.lsn)
    })
}

/// How far behind `replica` is: the age of the newest primary sample it has replayed past.
fn measure(
    replica: &Replica,
    conn: &mut Option<DbConnection>,
    samples: &VecDeque<(Instant, i64)>,
) -> Result<Option<Duration>, DbError> {
    let position = with_conn(&replica.manager, conn, |c| {
        diesel::sql_query(
            "SELECT pg_is_in_recovery() AS recovery, \
             COALESCE(pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0'), -1)::bigint AS lsn",
        )
        .get_result::<ReplayPosition>(c)
    })?;
    if !position.recovery {
        // Promoted, or not a replica at all: what it holds is not the primary's.
        return Ok(None);
    }
    Ok(staleness(samples, position.lsn))
}

/// The age of the newest sample at or below `replayed`: `None` when every sample is ahead of
/// it (further behind than the samples reach).
fn staleness(samples: &VecDeque<(Instant, i64)>, replayed: i64) -> Option<Duration> {
    samples
        .iter()
        .rev()
        .find(|(_, lsn)| *lsn <= replayed)
        .map(|(at, _)| at.elapsed())
}

/// Runs `query` on the kept connection, opening it first if needed and dropping it when the
/// query fails (the next round opens a new one).
fn with_conn<T>(
    manager: &ConnectionManager,
    conn: &mut Option<DbConnection>,
    query: impl FnOnce(&mut DbConnection) -> QueryResult<T>,
) -> Result<T, DbError> {
    if conn.is_none() {
        let mut opened = manager.open()?;
        // A measure that hangs would hold every replica's state as it was.
        opened.batch_execute("SET statement_timeout = 1000")?;
        *conn = Some(opened);
    }
    let Some(c) = conn.as_mut() else {
        unreachable!("opened above")
    };
    query(c).map_err(|e| {
        *conn = None;
        DbError::from(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staleness_is_the_age_of_the_newest_sample_replayed() {
        let now = Instant::now();
        let samples: VecDeque<(Instant, i64)> = [
            (now - Duration::from_millis(900), 100),
            (now - Duration::from_millis(600), 200),
            (now - Duration::from_millis(300), 200),
            (now, 300),
        ]
        .into();
        // Caught up: the newest sample.
        assert!(staleness(&samples, 300).unwrap() < Duration::from_millis(100));
        assert!(staleness(&samples, 350).unwrap() < Duration::from_millis(100));
        // Between two positions: the primary was at 200 until 300 ms ago.
        let lag = staleness(&samples, 250).unwrap();
        assert!(lag >= Duration::from_millis(300) && lag < Duration::from_millis(400));
        // Behind every sample: unknown, so out of reads.
        assert_eq!(staleness(&samples, 99), None);
        assert_eq!(staleness(&VecDeque::new(), 1), None);
    }

    #[test]
    fn a_replica_not_measured_for_longer_than_the_bound_leaves_reads() {
        let dir = tempfile::TempDir::new().unwrap();
        let primary =
            r2d2::Pool::builder()
                .min_idle(Some(0))
                .build_unchecked(ConnectionManager::new(DatabaseUrl::Sqlite(
                    dir.path().join("siis.db"),
                )));
        let replica = DatabaseUrl::parse("postgres://siis@127.0.0.1:1/siis").unwrap();
        let every = Duration::from_millis(20);
        let replicas = Replicas::new(
            primary,
            &replica,
            std::slice::from_ref(&replica),
            1,
            every,
            every,
        );
        assert!(std::ptr::eq(replicas.for_lookup(), &replicas.primary));
        replicas.record(&replicas.replicas[0], Ok(Some(Duration::from_millis(5))));
        assert!(!std::ptr::eq(replicas.for_lookup(), &replicas.primary));
        assert!(replicas.states()[0].usable);
        // No measure since: once its age plus the time since passes the bound, it is out.
        std::thread::sleep(Duration::from_millis(60));
        assert!(std::ptr::eq(replicas.for_lookup(), &replicas.primary));
        assert!(!replicas.states()[0].usable);
    }

    #[test]
    fn a_replica_is_named_without_its_credentials() {
        let url = DatabaseUrl::parse("postgres://siis:secret@replica.example:5433/siis").unwrap();
        assert_eq!(name_of(&url), "replica.example:5433/siis");
    }
}

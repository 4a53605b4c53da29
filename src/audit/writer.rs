//! The single audit writer: group commit over its own connection. A node alone keeps the chain's
//! head in memory; nodes sharing one PostgreSQL database read it under a lock (`shared.rs`).

mod shared;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge as PromGauge};
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use tokio::sync::oneshot;

use super::checkpoint::{self, Gauge, WalLimit, WalStatus};
use super::index::{self, Committed};
use super::row::{AuditRow, GENESIS_HASH, Pending};
use super::{AuditError, AuditId, AuditRecord};
use crate::db::lider::{self, Lider};
use crate::db::schema::auditoria;
use crate::db::{ConnectionManager, DatabaseUrl, DbConnection, DbError};

/// Most records committed in one transaction.
pub const MAX_GROUP: usize = 1_000;
/// Rows per multi-row INSERT on PostgreSQL (16 columns × 1,000 stay under its 65,535
/// parameters).
const RECORDS_PER_INSERT: usize = 1_000;

type Reply = oneshot::Sender<Result<AuditId, AuditError>>;

enum Message {
    Append(Box<Pending>, Reply),
    Stop,
}

/// The handle every request uses to append to the audit log. Cheap to clone.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

struct Inner {
    queue: mpsc::Sender<Message>,
    thread: Mutex<Option<JoinHandle<()>>>,
    commits: Arc<AtomicU64>,
    index_commits: Arc<AtomicU64>,
    url: DatabaseUrl,
    wal: Arc<Gauge>,
    wal_every: std::time::Duration,
    progress: Arc<Progress>,
    /// `cluster.nodo`: written into every record; set, the chain is shared with other nodes.
    nodo: Option<String>,
    lider: Lider,
}

/// How far the writer has got, for `/metrics` and readiness.
struct Progress {
    /// Records queued and not yet committed (or failed).
    queued: AtomicU64,
    /// When the writer last took a group or finished one (ms since the Unix epoch).
    moved_ms: AtomicU64,
    /// How long each group's transaction took.
    commit_seconds: Histogram,
    /// When the log was opened (ms since the Unix epoch).
    started_ms: u64,
    /// When the signed checkpoint task last finished a tick (ms since the Unix epoch; 0 before
    /// its first): `audit::signed::spawn` marks it.
    signed_ms: AtomicU64,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            queued: AtomicU64::new(0),
            moved_ms: AtomicU64::new(now_ms()),
            // 0.1 ms to about 3 s.
            commit_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
            started_ms: now_ms(),
            signed_ms: AtomicU64::new(0),
        }
    }

    fn started_ms(&self) -> u64 {
        self.started_ms
    }

    fn moved(&self) {
        self.moved_ms.store(now_ms(), Ordering::Relaxed);
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// What readiness asks of the audit log ([`AuditLog::health`]).
#[derive(Debug, Clone)]
pub struct AuditHealth {
    /// Records waiting for their commit.
    pub queued: u64,
    /// How long records have waited with the writer making no progress (`None` when none
    /// waits).
    pub writer_stalled_for: Option<std::time::Duration>,
    /// How long since the WAL checkpoint thread last finished a tick, when it is late: more
    /// than ten of its periods (SQLite only; `None` on time or on PostgreSQL).
    pub checkpoints_late_by: Option<std::time::Duration>,
    /// How long since the signed checkpoint task last finished a tick (wrote the head, or found
    /// it already signed); `None` before its first.
    pub signed_age: Option<std::time::Duration>,
    pub wal: WalStatus,
}

impl AuditLog {
    /// Opens the writer's own connection (`synchronous = FULL` on SQLite, `synchronous_commit
    /// = on` on PostgreSQL), reads the chain head and starts the writer thread. The audit tables
    /// must exist (run the migrations first).
    pub fn start(url: &DatabaseUrl) -> Result<AuditLog, AuditError> {
        Self::start_with(url, Durability::Fsync, WalLimit::default())
    }

    /// [`start`](Self::start) with the durability of each commit and the bound on each SQLite
    /// WAL chosen (`audit.durability`, `database.wal_limit_mb`).
    pub fn start_with(
        url: &DatabaseUrl,
        durability: Durability,
        wal_limit: WalLimit,
    ) -> Result<AuditLog, AuditError> {
        Self::start_as(url, durability, wal_limit, None)
    }

    /// [`start_with`](Self::start_with) for a node named `nodo` (`cluster.nodo`) among several
    /// over one PostgreSQL database: every record names it, each group is chained after the head
    /// the database holds under a lock (ids stay contiguous across nodes), and the by-person
    /// index runs on the leader only ([`Lider`]). `None`: a node alone, head in memory.
    pub fn start_as(
        url: &DatabaseUrl,
        durability: Durability,
        wal_limit: WalLimit,
        nodo: Option<String>,
    ) -> Result<AuditLog, AuditError> {
        Self::open(url, durability, wal_limit, true, nodo)
    }

    /// A log whose by-person index is not written (records stay in the unindexed tail), to
    /// test the readers and a later catch-up.
    #[cfg(test)]
    pub(super) fn start_unindexed(url: &DatabaseUrl) -> Result<AuditLog, AuditError> {
        Self::open(url, Durability::Fsync, WalLimit::default(), false, None)
    }

    /// [`start_unindexed`](Self::start_unindexed) with durability and WAL bound chosen.
    #[cfg(test)]
    pub(super) fn start_unindexed_with(
        url: &DatabaseUrl,
        durability: Durability,
        wal_limit: WalLimit,
    ) -> Result<AuditLog, AuditError> {
        Self::open(url, durability, wal_limit, false, None)
    }

    fn open(
        url: &DatabaseUrl,
        durability: Durability,
        wal_limit: WalLimit,
        indexed: bool,
        nodo: Option<String>,
    ) -> Result<AuditLog, AuditError> {
        let shared = nodo.is_some();
        if shared && !matches!(url, DatabaseUrl::Postgres(_)) {
            return Err(AuditError::Invalid(
                "a node among several (cluster.nodo) needs PostgreSQL",
            ));
        }
        let manager = ConnectionManager::new(url.clone());
        let mut conn = open_writer_shared(&manager, durability, shared)?;
        let head = read_head(&mut conn)?;
        tracing::info!(
            audit.head = head.id,
            audit.shared = shared,
            "audit log opened"
        );
        let thread_error = |e| AuditError::Thread(Arc::new(e));
        let lider = match shared {
            true => Lider::start(manager.clone(), lider::PERIODO).map_err(thread_error)?,
            false => Lider::solo(),
        };
        let index_commits = Arc::new(AtomicU64::new(0));
        let index = match (indexed, shared) {
            (false, _) => None,
            (true, false) => Some(
                index::start(manager.clone(), head.id, Arc::clone(&index_commits))
                    .map_err(thread_error)?,
            ),
            (true, true) => Some(
                index::start_shared(manager.clone(), lider.clone(), Arc::clone(&index_commits))
                    .map_err(thread_error)?,
            ),
        };
        let (queue, inbox) = mpsc::channel();
        let commits = Arc::new(AtomicU64::new(0));
        let wal = Arc::new(Gauge::new(wal_limit));
        let progress = Arc::new(Progress::new());
        let writer = Writer {
            progress: Arc::clone(&progress),
            manager,
            durability,
            wal_limit,
            wal: Arc::clone(&wal),
            conn: Some(conn),
            head: (!shared).then_some(head),
            shared,
            inbox,
            commits: Arc::clone(&commits),
            index,
        };
        let thread = std::thread::Builder::new()
            .name("siis-audit".into())
            .spawn(move || writer.run())
            .map_err(|e| AuditError::Thread(Arc::new(e)))?;
        Ok(AuditLog {
            inner: Arc::new(Inner {
                queue,
                thread: Mutex::new(Some(thread)),
                commits,
                index_commits,
                url: url.clone(),
                wal,
                wal_every: wal_limit.every,
                progress,
                nodo,
                lider,
            }),
        })
    }

    /// Appends one record and waits, without blocking the executor, until it is committed.
    /// If the future is dropped the record is still written.
    pub async fn append(&self, record: AuditRecord) -> Result<AuditId, AuditError> {
        let reply = self.submit(record)?;
        reply.await.map_err(|_| AuditError::Closed)?
    }

    /// [`append`](Self::append) for synchronous code. Must not be called on an async executor
    /// thread (it would block it; tokio panics).
    pub fn append_blocking(&self, record: AuditRecord) -> Result<AuditId, AuditError> {
        let reply = self.submit(record)?;
        reply.blocking_recv().map_err(|_| AuditError::Closed)?
    }

    /// Queues a record; the receiver answers once its group is committed (or failed).
    pub(super) fn submit(
        &self,
        record: AuditRecord,
    ) -> Result<oneshot::Receiver<Result<AuditId, AuditError>>, AuditError> {
        let pending = Pending::new(record, self.inner.nodo.as_deref())?;
        let (reply, answer) = oneshot::channel();
        self.inner.progress.queued.fetch_add(1, Ordering::Relaxed);
        self.inner
            .queue
            .send(Message::Append(Box::new(pending), reply))
            .map_err(|_| {
                self.inner.progress.queued.fetch_sub(1, Ordering::Relaxed);
                AuditError::Closed
            })?;
        Ok(answer)
    }

    /// Stops the writer after committing everything queued before this call, and waits for it.
    /// Later appends fail with [`AuditError::Closed`]. Blocks for one group commit and for the
    /// by-person index to take in what was committed (usually the last few groups; after a
    /// long outage of the index, its whole backlog). A node among several then lets the
    /// leader's role go.
    pub fn shutdown(&self) {
        let _ = self.inner.queue.send(Message::Stop);
        let thread = match self.inner.thread.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(thread) = thread
            && thread.join().is_err()
        {
            tracing::error!("the audit writer thread panicked");
        }
        // After the index's last pass: another node may lead now.
        self.inner.lider.soltar();
    }

    /// Whether this node leads the nodes sharing its database (always, for a node alone): the
    /// by-person index runs on the leader only, and other work may ask the same.
    pub fn lider(&self) -> &Lider {
        &self.inner.lider
    }

    /// Transactions committed so far by this log's writer (each holds one group of records).
    pub fn commits(&self) -> u64 {
        self.inner.commits.load(Ordering::Relaxed)
    }

    /// Transactions committed so far by this log's by-person index thread.
    pub fn index_commits(&self) -> u64 {
        self.inner.index_commits.load(Ordering::Relaxed)
    }

    /// Each SQLite WAL's size as the checkpoint thread last saw it, against the bound (for a
    /// readiness check: [`WalStatus::over_limit`]). No files on PostgreSQL.
    pub fn wal(&self) -> WalStatus {
        self.inner.wal.status(&self.inner.url)
    }

    /// Whether the writer and the checkpoint thread keep up: records waiting with no progress
    /// for a while, or a checkpoint thread that stopped ticking, make the node not ready.
    pub fn health(&self) -> AuditHealth {
        let progress = &self.inner.progress;
        let queued = progress.queued.load(Ordering::Relaxed);
        let since = |ms: u64| std::time::Duration::from_millis(now_ms().saturating_sub(ms));
        let wal = self.wal();
        let checkpoints_late_by = match (self.inner.url.wal_files().is_empty(), wal.ticked) {
            (true, _) => None,
            (false, ticked) => {
                let age = ticked
                    .and_then(|t| t.elapsed().ok())
                    .unwrap_or_else(|| since(progress.started_ms()));
                (age > self.inner.wal_every * 10).then_some(age)
            }
        };
        AuditHealth {
            queued,
            writer_stalled_for: (queued > 0)
                .then(|| since(progress.moved_ms.load(Ordering::Relaxed))),
            checkpoints_late_by,
            signed_age: match progress.signed_ms.load(Ordering::Relaxed) {
                0 => None,
                ms => Some(since(ms)),
            },
            wal,
        }
    }

    /// The signed checkpoint task finished a tick: the head is signed (now or before).
    pub fn mark_signed(&self) {
        self.inner
            .progress
            .signed_ms
            .store(now_ms(), Ordering::Relaxed);
    }

    /// How long since the log was opened.
    pub fn age(&self) -> std::time::Duration {
        std::time::Duration::from_millis(now_ms().saturating_sub(self.inner.progress.started_ms))
    }

    /// Adds the audit log's measures to a scrape's `registry`.
    pub fn register_metrics(&self, registry: &mut Registry) {
        let progress = &self.inner.progress;
        registry.register(
            "siis_audit_queue",
            "Audit records waiting for their group commit",
            ConstGauge::new(
                i64::try_from(progress.queued.load(Ordering::Relaxed)).unwrap_or(i64::MAX),
            ),
        );
        registry.register_with_unit(
            "siis_audit_commit_duration",
            "Time each audit group commit took (one transaction, fsync included)",
            Unit::Seconds,
            progress.commit_seconds.clone(),
        );
        registry.register(
            "siis_audit_commits",
            "Audit group commits since start",
            ConstCounter::new(self.commits()),
        );
        registry.register(
            "siis_lider",
            "1 while this node leads the nodes sharing its database (always 1 for a node alone)",
            ConstGauge::new(i64::from(self.inner.lider.es_lider())),
        );
        registry.register(
            "siis_audit_index_commits",
            "Commits of the audit log's by-person index since start",
            ConstCounter::new(self.index_commits()),
        );
        let wal: Family<Vec<(&'static str, String)>, PromGauge> = Family::default();
        for file in self.wal().files {
            wal.get_or_create(&vec![("schema", file.schema.to_owned())])
                .set(i64::try_from(file.bytes).unwrap_or(i64::MAX));
        }
        registry.register_with_unit(
            "siis_wal_size",
            "Size of each SQLite write-ahead log as the checkpoint thread last saw it",
            Unit::Bytes,
            wal,
        );
    }
}

/// The last committed record: the next one gets `id + 1` and links to `hash`.
struct Head {
    id: i64,
    hash: String,
}

struct Writer {
    progress: Arc<Progress>,
    manager: ConnectionManager,
    durability: Durability,
    wal_limit: WalLimit,
    /// What the checkpoint thread last saw of each WAL.
    wal: Arc<Gauge>,
    /// `None` after a failure: reopened for the next group.
    conn: Option<DbConnection>,
    /// `None` after a failure (the commit may or may not have happened): re-read from the
    /// database before the next group. Always `None` in a shared chain.
    head: Option<Head>,
    /// The chain is shared with other nodes: the head is read under the lock at every group.
    shared: bool,
    inbox: mpsc::Receiver<Message>,
    commits: Arc<AtomicU64>,
    /// The by-person index thread, handed each committed group's rows (`None` in tests that
    /// leave the index behind).
    index: Option<(mpsc::Sender<Committed>, JoinHandle<()>)>,
}

impl Writer {
    fn run(mut self) {
        // SQLite: the writer's connection has automatic checkpoints off (run inside a commit, a
        // checkpoint and its flush held up every request waiting for that commit, tens of
        // milliseconds at a time); a thread of its own checkpoints every WAL and keeps each
        // within its bound (`checkpoint.rs`).
        let checkpoints = match self.conn {
            Some(DbConnection::Sqlite(_)) => {
                let (stop, stopped) = mpsc::channel::<()>();
                let (manager, limit, gauge) =
                    (self.manager.clone(), self.wal_limit, Arc::clone(&self.wal));
                std::thread::Builder::new()
                    .name("siis-audit-checkpoint".into())
                    .spawn(move || checkpoint::run(manager, limit, gauge, stopped))
                    .ok()
                    .map(|thread| (stop, thread))
            }
            _ => None,
        };
        self.serve();
        // The index thread writes what it was sent, then stops.
        if let Some((sender, thread)) = self.index.take() {
            drop(sender);
            if thread.join().is_err() {
                tracing::error!("the audit index thread panicked");
            }
        }
        if let Some((stop, thread)) = checkpoints {
            drop(stop);
            let _ = thread.join();
        }
    }

    fn serve(&mut self) {
        // Blocks for the first message; stops when every AuditLog is dropped.
        while let Ok(first) = self.inbox.recv() {
            self.progress.moved();
            let mut group = Vec::new();
            let mut stop = false;
            match first {
                Message::Append(pending, reply) => group.push((pending, reply)),
                Message::Stop => stop = true,
            }
            while !stop && group.len() < MAX_GROUP {
                match self.inbox.try_recv() {
                    Ok(Message::Append(pending, reply)) => group.push((pending, reply)),
                    Ok(Message::Stop) => stop = true,
                    Err(_) => break,
                }
            }
            if !group.is_empty() {
                self.commit(group);
            }
            if stop {
                break;
            }
            // Between two groups the writer holds no lock: a checkpoint the checkpoint thread
            // asked for runs here, without waiting for the writer's lock.
            if let Some(conn) = &mut self.conn
                && let Err(error) = checkpoint::if_asked(conn, &self.wal)
            {
                tracing::warn!(error = %error, "audit checkpoint failed; asked again at the next tick");
            }
        }
    }

    /// Writes one group and answers its waiters: every one gets its id, or every one an error.
    /// Then hands the group's index rows to the index thread.
    fn commit(&mut self, group: Vec<(Box<Pending>, Reply)>) {
        let started = std::time::Instant::now();
        let written = self.write(group.iter().map(|(pending, _)| &**pending));
        self.progress
            .commit_seconds
            .observe(started.elapsed().as_secs_f64());
        self.progress
            .queued
            .fetch_sub(group.len() as u64, Ordering::Relaxed);
        self.progress.moved();
        match written {
            Ok(committed) => {
                self.commits.fetch_add(1, Ordering::Relaxed);
                for (id, (_, reply)) in (committed.first..).zip(group) {
                    let _ = reply.send(Ok(AuditId(id)));
                }
                if let Some((sender, _)) = &self.index {
                    // Fails only if the thread died; the records stay readable unindexed.
                    let _ = sender.send(committed);
                }
            }
            Err(error) => {
                tracing::error!(
                    audit.group = group.len(),
                    error = %error,
                    "audit group not committed; its requests fail"
                );
                self.conn = None;
                self.head = None;
                let error = AuditError::Storage(Arc::new(error));
                for (_, reply) in group {
                    let _ = reply.send(Err(error.clone()));
                }
            }
        }
    }

    /// Chains the group after the head, inserts it in one transaction and commits; advances the
    /// head only then. Returns the ids written and the group's index rows.
    fn write<'a>(
        &mut self,
        group: impl Iterator<Item = &'a Pending>,
    ) -> Result<Committed, DbError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            none => none.insert(open_writer_shared(
                &self.manager,
                self.durability,
                self.shared,
            )?),
        };
        if self.shared {
            return shared::write(conn, group);
        }
        let head = match &mut self.head {
            Some(head) => head,
            none => none.insert(read_head(conn)?),
        };
        let (rows, committed) = chain(head, group);
        let Some(last) = rows.last() else {
            return Ok(committed);
        };
        let new_head = Head {
            id: last.id,
            hash: last.hash.clone(),
        };
        insert_group(conn, &rows)?;
        *head = new_head;
        Ok(committed)
    }
}

/// Gives each record of the group its place after `head`: the rows to insert, and what the
/// index thread is handed once they are committed.
fn chain<'a>(head: &Head, group: impl Iterator<Item = &'a Pending>) -> (Vec<AuditRow>, Committed) {
    let mut rows = Vec::new();
    let mut subjects = Vec::new();
    let mut previous = head.hash.clone();
    for (id, pending) in (head.id + 1..).zip(group) {
        let (row, index) = pending.chain(id, &previous);
        subjects.extend(index);
        previous.clone_from(&row.hash);
        rows.push(row);
    }
    let committed = Committed {
        first: head.id + 1,
        last: rows.last().map_or(head.id, |row| row.id),
        rows: subjects,
    };
    (rows, committed)
}

/// Inserts the records in one transaction. Their index rows are written afterwards, by the
/// index thread.
///
/// SQLite: one single-row INSERT per record, a statement prepared once per connection. A
/// multi-row INSERT is new SQL for every group size, and Diesel prepares such statements again
/// at each call: SQLite's parser and code generator ran for every record. PostgreSQL:
/// multi-row INSERTs, one round trip per thousand records; a group of up to a thousand is one
/// statement outside an explicit transaction (a statement commits or fails whole).
pub(super) fn insert_group(conn: &mut DbConnection, rows: &[AuditRow]) -> Result<(), DbError> {
    match conn {
        // A deferred transaction whose first statement writes: it takes the write lock of the
        // audit file only (the first statement is an INSERT, so there is no read lock to
        // upgrade). IMMEDIATE would also lock the registry file, and a long registry write (a
        // provider batch) would then stall every request's audit record.
        DbConnection::Sqlite(c) => c.transaction(|c| {
            for row in rows {
                diesel::insert_into(auditoria::table)
                    .values(row)
                    .execute(c)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?,
        // One statement is a transaction of its own: a group that fits one INSERT is written
        // without BEGIN and COMMIT, two round trips fewer for every group.
        DbConnection::Pg(c) if rows.len() <= RECORDS_PER_INSERT => {
            diesel::insert_into(auditoria::table)
                .values(rows)
                .execute(c)?;
        }
        DbConnection::Pg(c) => c.transaction(|c| {
            for chunk in rows.chunks(RECORDS_PER_INSERT) {
                diesel::insert_into(auditoria::table)
                    .values(chunk)
                    .execute(c)?;
            }
            Ok::<_, diesel::result::Error>(())
        })?,
    }
    Ok(())
}

/// How far a committed group of audit records is written before its requests are answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// Flushed to the disk (fsync) at every commit: an acknowledged record survives a power
    /// loss. Each answer waits for one disk flush (SQLite `synchronous = FULL`, PostgreSQL
    /// `synchronous_commit = on`).
    #[default]
    Fsync,
    /// Handed to the operating system at every commit and flushed at checkpoints: a record
    /// survives the node's crash (even `kill -9`) but the last moments before a power loss or
    /// kernel crash may be lost (the chain stays intact, only shorter). Answers do not wait for
    /// the disk (SQLite `synchronous = NORMAL`, PostgreSQL `synchronous_commit = off`).
    Os,
}

/// The writer's connection with every commit flushed to disk ([`Durability::Fsync`]).
#[cfg(test)]
pub(super) fn open_writer(manager: &ConnectionManager) -> Result<DbConnection, DbError> {
    open_writer_with(manager, Durability::Fsync)
}

/// The writer's connection, with its durability set whatever the pool's settings (SQLite's
/// pool runs with `synchronous = NORMAL`). On SQLite the audit tables live in the attached
/// `audit` file, whose setting is the one that counts.
#[cfg(test)]
pub(super) fn open_writer_with(
    manager: &ConnectionManager,
    durability: Durability,
) -> Result<DbConnection, DbError> {
    open_writer_shared(manager, durability, false)
}

/// [`open_writer_with`], with the session settings of a shared chain
/// ([`shared::SESSION`]) when `shared`.
pub(super) fn open_writer_shared(
    manager: &ConnectionManager,
    durability: Durability,
    shared: bool,
) -> Result<DbConnection, DbError> {
    let mut conn = manager.open()?;
    if shared {
        conn.batch_execute(shared::SESSION)?;
        conn.batch_execute(lider::KEEPALIVES)?;
    }
    let setting = match (&conn, durability) {
        // Checkpoints run on their own thread (`checkpoint.rs`), not inside commits.
        (DbConnection::Sqlite(_), Durability::Fsync) => {
            "PRAGMA audit.synchronous = FULL; PRAGMA wal_autocheckpoint = 0;"
        }
        (DbConnection::Sqlite(_), Durability::Os) => {
            "PRAGMA audit.synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;"
        }
        (DbConnection::Pg(_), Durability::Fsync) => "SET synchronous_commit = on;",
        (DbConnection::Pg(_), Durability::Os) => "SET synchronous_commit = off;",
    };
    conn.batch_execute(setting)?;
    Ok(conn)
}

/// The chain's head as [`super::signed::head`] reads it: the last record, or the last archive's
/// when every record was archived.
fn read_head(conn: &mut DbConnection) -> Result<Head, DbError> {
    Ok(match super::signed::head(conn)? {
        Some((id, hash)) => Head { id, hash },
        None => Head {
            id: 0,
            hash: GENESIS_HASH.to_owned(),
        },
    })
}

//! The by-person index (`auditoria_sujetos`), written after the answer.
//!
//! The writer commits a group of records and answers its requests; only then does it hand the
//! group's index rows to this thread, which writes them with the mark `auditoria_sujetos_hasta`
//! (the last record indexed) in one transaction of its own. A 500-RUN batch no longer puts 500
//! random keys into the commit every request waits for. Until the index catches up, readers
//! take the records after the mark from their own `sujetos` column ([`super::accesses`],
//! [`super::verify`]), so nothing is missing from a person's report in between.
//!
//! The rows are derived data: if a group's rows are lost (the thread's commit failed, the node
//! stopped between the writer's commit and this one, a power loss took the index file's last
//! commits), the next group does not follow the mark and the records after the mark are read
//! back from `auditoria` and indexed from their `sujetos`. The same happens at start-up.
//!
//! Several nodes over one database (`cluster.nodo`): their groups interleave, so no node's
//! groups follow the mark. The thread runs on every node but works on the leader only
//! ([`Lider`]), always in catch-up: it reads the records after the mark from `auditoria`, at
//! most every [`GATHER_FOR`] while its own node commits and every [`SHARED_POLL`] otherwise.
//! Two nodes that both believe they lead for a moment write the same rows (left as they are)
//! and the same mark.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::row::{SubjectRow, parse_subjects};
use crate::db::lider::Lider;
use crate::db::schema::{auditoria, auditoria_sujetos, auditoria_sujetos_hasta};
use crate::db::{ConnectionManager, DbConnection, DbError};

/// Rows per multi-row INSERT on PostgreSQL (2 columns × 5,000, under its 65,535 parameters).
const SUBJECTS_PER_INSERT: usize = 5_000;
/// Records read back per transaction when catching up from `auditoria`.
const CATCH_UP_PAGE: i64 = 10_000;
/// The thread gathers what the writer sends for this long after the first group arrives, then
/// writes it in one transaction. Under load the writer commits a group of one or two records
/// about every millisecond, and a transaction for each also rewrote the mark's page and the
/// last page of the `auditoria_id` index: two pages for a row or two, beside each row's own.
/// Records wait this much longer in the unindexed tail, which readers take from `auditoria`.
const GATHER_FOR: std::time::Duration = std::time::Duration::from_millis(50);
/// ...or until this many rows are gathered. Each row lands on a page of its own, and a
/// transaction's pages are checkpointed together, so a transaction stays near the checkpoint
/// step ([`INDEX_CHECKPOINT_PAGES`]); one large group (a 500-RUN batch) is written alone.
const ROWS_PER_COMMIT: usize = 300;
/// After a failure, how long the thread waits before trying again (groups that arrive
/// meanwhile are caught up from `auditoria` then), and how often it retries while behind.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
/// Several nodes: how often the leader looks for records after the mark when its own node
/// commits nothing (the other nodes' records).
const SHARED_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// One committed group: records `first..=last` and their index rows.
pub(super) struct Committed {
    pub first: i64,
    pub last: i64,
    pub rows: Vec<SubjectRow>,
}

/// Starts the index thread. It first indexes whatever an earlier run left behind up to
/// `head` (the writer's last committed record), then each group the writer sends, and stops
/// once every sender is dropped and what they sent is written.
pub(super) fn start(
    manager: ConnectionManager,
    head: i64,
    commits: Arc<AtomicU64>,
) -> std::io::Result<(mpsc::Sender<Committed>, JoinHandle<()>)> {
    spawn(manager, commits, move |indexer, inbox| {
        indexer.run(head, inbox)
    })
}

/// Starts the index thread of a node among several: it works while `lider` says this node
/// leads, reading every record after the mark from `auditoria`; what the writer sends only wakes
/// it. Stops once every sender is dropped, after a last pass if it leads.
pub(super) fn start_shared(
    manager: ConnectionManager,
    lider: Lider,
    commits: Arc<AtomicU64>,
) -> std::io::Result<(mpsc::Sender<Committed>, JoinHandle<()>)> {
    spawn(manager, commits, move |indexer, inbox| {
        indexer.run_shared(&lider, inbox)
    })
}

/// The thread of an indexer that `run` drives with what the writer sends.
fn spawn(
    manager: ConnectionManager,
    commits: Arc<AtomicU64>,
    run: impl FnOnce(Indexer, mpsc::Receiver<Committed>) + Send + 'static,
) -> std::io::Result<(mpsc::Sender<Committed>, JoinHandle<()>)> {
    let (sender, inbox) = mpsc::channel();
    let indexer = Indexer {
        manager,
        commits,
        conn: None,
        upto: None,
        resting_until: None,
    };
    let thread = std::thread::Builder::new()
        .name("siis-audit-index".into())
        .spawn(move || run(indexer, inbox))?;
    Ok((sender, thread))
}

/// How far the index goes: every record up to the returned id has its rows. 0 when the mark
/// is missing (nothing indexed).
pub(crate) fn indexed_upto(conn: &mut DbConnection) -> Result<i64, DbError> {
    let upto: Option<i64> = auditoria_sujetos_hasta::table
        .select(auditoria_sujetos_hasta::hasta)
        .get_result(conn)
        .optional()?;
    Ok(upto.unwrap_or(0))
}

struct Indexer {
    manager: ConnectionManager,
    /// Transactions written (read by [`super::AuditLog::index_commits`]).
    commits: Arc<AtomicU64>,
    /// `None` after a failure: reopened for the next group.
    conn: Option<DbConnection>,
    /// The mark as last written; `None` until read (again, after a failure).
    upto: Option<i64>,
    /// After a failure, no attempt before this time: a failure that repeats (a full disk, a
    /// broken file) must not cost a read of the unindexed records at every commit.
    resting_until: Option<std::time::Instant>,
}

impl Indexer {
    fn run(mut self, head: i64, inbox: mpsc::Receiver<Committed>) {
        let mut last_seen = head;
        self.index(Vec::new(), head);
        loop {
            match inbox.recv_timeout(RETRY_AFTER) {
                Ok(first) => {
                    let until = std::time::Instant::now() + GATHER_FOR;
                    let mut rows = first.rows.len();
                    let mut groups = vec![first];
                    let mut stopping = false;
                    while rows < ROWS_PER_COMMIT {
                        let left = until.saturating_duration_since(std::time::Instant::now());
                        match inbox.recv_timeout(left) {
                            Ok(group) => {
                                rows += group.rows.len();
                                groups.push(group);
                            }
                            Err(mpsc::RecvTimeoutError::Timeout) => break,
                            Err(mpsc::RecvTimeoutError::Disconnected) => {
                                stopping = true;
                                break;
                            }
                        }
                    }
                    last_seen = last_seen.max(groups.last().map_or(0, |g| g.last));
                    self.index(groups, last_seen);
                    if stopping {
                        break;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if self.upto.is_none_or(|upto| upto < last_seen) {
                        self.index(Vec::new(), last_seen);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        // Stopping: one last attempt for whatever is left, whatever the last failure.
        if self.upto.is_none_or(|upto| upto < last_seen) {
            self.resting_until = None;
            self.index(Vec::new(), last_seen);
        }
    }

    fn run_shared(mut self, lider: &Lider, inbox: mpsc::Receiver<Committed>) {
        loop {
            let mut stopping = matches!(
                inbox.recv_timeout(SHARED_POLL),
                Err(mpsc::RecvTimeoutError::Disconnected)
            );
            if !stopping {
                // One pass per GATHER_FOR at most while this node commits, as alone.
                std::thread::sleep(GATHER_FOR);
                loop {
                    match inbox.try_recv() {
                        Ok(_) => {}
                        Err(mpsc::TryRecvError::Empty) => break,
                        Err(mpsc::TryRecvError::Disconnected) => {
                            stopping = true;
                            break;
                        }
                    }
                }
            }
            if stopping {
                self.resting_until = None;
            }
            if lider.es_lider() {
                // No upper bound: every record committed so far, whichever node wrote it.
                self.index(Vec::new(), i64::MAX);
            } else {
                // Another node indexes: the mark read now would be stale when leading again.
                self.upto = None;
            }
            if stopping {
                return;
            }
        }
    }

    /// Indexes every record up to `last`: from `groups` when they follow the mark without a
    /// gap, else read back from `auditoria`. A failure is logged and left for a later call.
    fn index(&mut self, groups: Vec<Committed>, last: i64) {
        if self
            .resting_until
            .is_some_and(|until| std::time::Instant::now() < until)
        {
            return;
        }
        self.resting_until = None;
        if let Err(error) = self.try_index(groups, last) {
            tracing::error!(
                error = %error,
                "audit index not written; retried in a second (accesses still read the unindexed records)"
            );
            self.conn = None;
            self.upto = None;
            self.resting_until = Some(std::time::Instant::now() + RETRY_AFTER);
        }
    }

    fn try_index(&mut self, groups: Vec<Committed>, last: i64) -> Result<(), DbError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            none => none.insert(open_indexer(&self.manager)?),
        };
        let mut upto = match self.upto {
            Some(upto) => upto,
            None => indexed_upto(conn)?,
        };
        let follows = groups.first().is_some_and(|g| g.first == upto + 1)
            && groups.windows(2).all(|w| w[1].first == w[0].last + 1);
        if follows {
            let rows: Vec<SubjectRow> = groups.into_iter().flat_map(|g| g.rows).collect();
            write(conn, &rows, last)?;
            self.commits.fetch_add(1, Ordering::Relaxed);
            upto = last;
        }
        // Anything else (a gap, an earlier failure, start-up): read the records back.
        while upto < last {
            let page: Vec<(i64, String)> = auditoria::table
                .filter(auditoria::id.gt(upto))
                .filter(auditoria::id.le(last))
                .order(auditoria::id.asc())
                .limit(CATCH_UP_PAGE)
                .select((auditoria::id, auditoria::sujetos))
                .load(conn)?;
            let Some(&(end, _)) = page.last() else {
                break;
            };
            // A `sujetos` that does not parse was edited: `verify` names that record.
            let rows: Vec<SubjectRow> = page
                .iter()
                .flat_map(|(id, sujetos)| {
                    parse_subjects(sujetos)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|run| SubjectRow {
                            run,
                            auditoria_id: *id,
                        })
                })
                .collect();
            write(conn, &rows, end)?;
            self.commits.fetch_add(1, Ordering::Relaxed);
            upto = end;
        }
        self.upto = Some(upto);
        Ok(())
    }
}

/// The thread's own connection. Commits are not flushed to disk one by one (SQLite `synchronous
/// = NORMAL`, the attach default; PostgreSQL `synchronous_commit = off`): rows lost to a power
/// loss are rebuilt from `auditoria`, which is flushed.
fn open_indexer(manager: &ConnectionManager) -> Result<DbConnection, DbError> {
    let mut conn = manager.open()?;
    match conn {
        DbConnection::Pg(_) => conn.batch_execute("SET synchronous_commit = off;")?,
        DbConnection::Sqlite(_) => conn.batch_execute(&format!(
            "PRAGMA wal_autocheckpoint = {INDEX_CHECKPOINT_PAGES};"
        ))?,
    }
    Ok(conn)
}

/// SQLite: the index's WAL is copied into its file every this many pages (SQLite's default is
/// 1,000). Index rows land on random pages, so each checkpoint writes that many scattered pages
/// and flushes them, and the audit writer's flush of its own WAL, which every answer waits
/// for, waits for the disk meanwhile. In smaller steps no one flush is long: REST lookups at a
/// fixed 1,000 req/s gave p99 4.84 and 3.87 ms against 6.05 and 6.79 ms at 1,000 pages,
/// alternating on the same hour's machine (`git show dc52f25:README.md`, *Load benchmark*).
const INDEX_CHECKPOINT_PAGES: u32 = 100;

/// Inserts the rows and moves the mark to `upto`, in one transaction. On SQLite the first
/// statement writes the index file, so the transaction locks that file only, never the audit
/// file the writer commits to.
pub(super) fn write(
    conn: &mut DbConnection,
    rows: &[SubjectRow],
    upto: i64,
) -> Result<(), DbError> {
    // Rows already there (another node on the same database indexed them, or a node of an
    // earlier version wrote them with their record) are left as they are: INSERT OR IGNORE on
    // SQLite, ON CONFLICT DO NOTHING on PostgreSQL.
    macro_rules! mark {
        ($c:expr) => {
            diesel::update(auditoria_sujetos_hasta::table)
                .set(auditoria_sujetos_hasta::hasta.eq(upto))
                .execute($c)
        };
    }
    match conn {
        // One single-row INSERT per row, a statement prepared once: a multi-row INSERT is new
        // SQL for every size, prepared again (parsed, planned) at each call.
        DbConnection::Sqlite(c) => c.transaction(|c| {
            for row in rows {
                diesel::insert_or_ignore_into(auditoria_sujetos::table)
                    .values(row)
                    .execute(c)?;
            }
            mark!(c)
        })?,
        DbConnection::Pg(c) => c.transaction(|c| {
            for chunk in rows.chunks(SUBJECTS_PER_INSERT) {
                diesel::insert_into(auditoria_sujetos::table)
                    .values(chunk)
                    .on_conflict_do_nothing()
                    .execute(c)?;
            }
            mark!(c)
        })?,
    };
    Ok(())
}

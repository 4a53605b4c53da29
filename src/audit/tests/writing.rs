//! Writing: group commit, failures, restarts, shutdown, durability.

use super::*;
use crate::audit::writer::open_writer;

#[test]
fn concurrent_appends_are_committed_in_groups_with_no_gap() {
    for db in databases() {
        let log = AuditLog::start(&db.url).unwrap();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(4)
            .build()
            .unwrap();
        // 1,000 records from 40 async tasks and 1,000 from 20 threads, all at once.
        let mut answered: Vec<(i64, String)> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..20u32)
                .map(|t| {
                    let log = log.clone();
                    scope.spawn(move || {
                        (0..50u32)
                            .map(|i| {
                                let r = record(1_000 + t * 50 + i, &[2_000_000 + t]);
                                let message = r.message_id.clone();
                                (log.append_blocking(r).unwrap().get(), message)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let mut all = runtime.block_on(async {
                let mut tasks = tokio::task::JoinSet::new();
                for t in 0..40u32 {
                    let log = log.clone();
                    tasks.spawn(async move {
                        let mut answered = Vec::new();
                        for i in 0..25u32 {
                            let r = record(t * 25 + i, &[1_000_000 + t, 3_000_000]);
                            let message = r.message_id.clone();
                            answered.push((log.append(r).await.unwrap().get(), message));
                        }
                        answered
                    });
                }
                let mut all = Vec::new();
                while let Some(part) = tasks.join_next().await {
                    all.extend(part.unwrap());
                }
                all
            });
            for thread in threads {
                all.extend(thread.join().unwrap());
            }
            all
        });
        let commits = log.commits();
        log.shutdown();

        answered.sort();
        let ids: Vec<i64> = answered.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, (1..=2_000).collect::<Vec<_>>());
        // Each waiter got the id of its own record.
        let mut conn = db.conn();
        let stored: Vec<(i64, String)> = stored_rows(&mut conn)
            .into_iter()
            .map(|r| (r.id, r.id_mensaje))
            .collect();
        assert_eq!(stored, answered);
        assert_eq!(verify(&mut conn).unwrap(), report(2_000, None));
        assert!(
            commits < 2_000,
            "{commits} commits for 2,000 records: no grouping"
        );
        assert!(commits >= 2, "at least the first record commits alone");
    }
}

#[test]
fn records_queued_while_the_writer_waits_form_one_group() {
    let db = TestDb::sqlite();
    let log = AuditLog::start(&db.url).unwrap();
    let mut blocker = ConnectionManager::new(db.url.clone()).open().unwrap();
    blocker.batch_execute("BEGIN IMMEDIATE").unwrap();
    // The writer may take the first record alone, but cannot commit it while the lock is held.
    let answers: Vec<_> = (0..100)
        .map(|i| log.submit(record(i, &[])).unwrap())
        .collect();
    blocker.batch_execute("COMMIT").unwrap();
    let ids: Vec<i64> = answers
        .into_iter()
        .map(|a| a.blocking_recv().unwrap().unwrap().get())
        .collect();
    assert_eq!(ids, (1..=100).collect::<Vec<_>>());
    assert!(log.commits() <= 2, "{} commits", log.commits());
    log.shutdown();
}

#[test]
fn a_new_log_continues_the_chain() {
    for db in databases() {
        let log = AuditLog::start(&db.url).unwrap();
        for i in 0..5 {
            log.append_blocking(record(i, &[7_000_000])).unwrap();
        }
        log.shutdown();
        let log = AuditLog::start(&db.url).unwrap();
        let ids: Vec<i64> = (5..10)
            .map(|i| log.append_blocking(record(i, &[7_000_000])).unwrap().get())
            .collect();
        log.shutdown();
        assert_eq!(ids, vec![6, 7, 8, 9, 10]);
        assert_eq!(verify(&mut db.conn()).unwrap(), report(10, None));
    }
}

#[test]
fn a_failed_group_fails_every_waiter_and_keeps_the_chain() {
    for db in databases() {
        let log = AuditLog::start(&db.url).unwrap();
        for i in 0..3 {
            log.append_blocking(record(i, &[])).unwrap();
        }
        refuse_inserts(&mut db.conn(), "auditoria", true);
        let answers: Vec<_> = (10..30)
            .map(|i| log.submit(record(i, &[8_000_000])).unwrap())
            .collect();
        for answer in answers {
            let result = answer.blocking_recv().unwrap();
            assert!(matches!(result, Err(AuditError::Storage(_))), "{result:?}");
        }
        // Nothing of the failed groups is left, and the head did not move.
        assert_eq!(stored_rows(&mut db.conn()).len(), 3);
        refuse_inserts(&mut db.conn(), "auditoria", false);
        let next = log.append_blocking(record(40, &[8_000_000])).unwrap();
        log.shutdown();
        assert_eq!(next.get(), 4);
        assert_eq!(verify(&mut db.conn()).unwrap(), report(4, None));
    }
}

#[test]
fn a_missing_table_is_an_error_not_a_success() {
    for db in databases() {
        let log = AuditLog::start(&db.url).unwrap();
        db.conn()
            .batch_execute("DROP TABLE auditoria_sujetos; DROP TABLE auditoria;")
            .unwrap();
        let result = log.append_blocking(record(1, &[]));
        assert!(matches!(result, Err(AuditError::Storage(_))), "{result:?}");
        log.shutdown();
        assert!(AuditLog::start(&db.url).is_err());
    }
}

#[test]
fn shutdown_commits_what_was_queued_then_refuses() {
    let db = TestDb::sqlite();
    let log = AuditLog::start(&db.url).unwrap();
    let answers: Vec<_> = (0..50)
        .map(|i| log.submit(record(i, &[])).unwrap())
        .collect();
    log.shutdown();
    for (expected, answer) in (1..).zip(answers) {
        assert_eq!(answer.blocking_recv().unwrap().unwrap().get(), expected);
    }
    assert!(matches!(
        log.append_blocking(record(99, &[])),
        Err(AuditError::Closed)
    ));
    assert_eq!(verify(&mut db.conn()).unwrap(), report(50, None));
}

#[test]
fn awkward_values_are_stored_or_refused_never_half_written() {
    for db in databases() {
        let log = AuditLog::start(&db.url).unwrap();
        let mut comma = record(1, &[]);
        comma.fields = vec!["a,b".into()];
        assert!(matches!(
            log.append_blocking(comma),
            Err(AuditError::Invalid(_))
        ));
        // A NUL from the client (PostgreSQL text cannot hold it) must not fail the group.
        let mut nul = record(2, &[]);
        nul.message_id = "id\0x".into();
        assert_eq!(log.append_blocking(nul).unwrap().get(), 1);
        log.shutdown();
        let mut conn = db.conn();
        assert_eq!(stored_rows(&mut conn)[0].id_mensaje, "id\u{FFFD}x");
        assert_eq!(verify(&mut conn).unwrap(), report(1, None));
    }
}

#[test]
fn the_writer_connection_is_durable() {
    for db in databases() {
        let mut conn = open_writer(&ConnectionManager::new(db.url.clone())).unwrap();
        #[derive(QueryableByName)]
        struct Setting {
            #[diesel(sql_type = diesel::sql_types::Text)]
            value: String,
        }
        let query = if db.is_sqlite() {
            // The audit tables live in the attached `audit` file: its setting is the one
            // that counts.
            "SELECT CAST(synchronous AS TEXT) AS value FROM pragma_synchronous \
             WHERE schema = 'audit'"
        } else {
            "SELECT current_setting('synchronous_commit') AS value"
        };
        let found: Vec<Setting> = diesel::sql_query(query).load(&mut conn).unwrap();
        // SQLite: 2 is FULL (the pool's connections run NORMAL, 1).
        let expected = if db.is_sqlite() { "2" } else { "on" };
        assert_eq!(found[0].value, expected);
        // `durability = "os"`: handed to the operating system, flushed at checkpoints.
        let mut relaxed = crate::audit::writer::open_writer_with(
            &ConnectionManager::new(db.url.clone()),
            crate::audit::Durability::Os,
        )
        .unwrap();
        let found: Vec<Setting> = diesel::sql_query(query).load(&mut relaxed).unwrap();
        let expected = if db.is_sqlite() { "1" } else { "off" };
        assert_eq!(found[0].value, expected);
    }
}

/// SQLite: the writer commits with automatic checkpoints off, and a thread of its own copies
/// the WAL into the audit file: records reach the file itself without a commit doing it.
#[test]
fn sqlite_checkpoints_run_beside_the_writer() {
    let db = TestDb::sqlite();
    let file = db.url.audit_file().unwrap();
    let before = std::fs::metadata(&file).unwrap().len();
    let log = AuditLog::start(&db.url).unwrap();
    for n in 0..2_000u32 {
        log.append_blocking(record(n, &[5_000_000 + n])).unwrap();
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::metadata(&file).unwrap().len() < before + 200_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the audit file did not grow: no checkpoint ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    log.shutdown();
    let mut conn = db.conn();
    assert_eq!(crate::audit::verify(&mut conn).unwrap().records, 2_000);
}

/// SQLite: the by-person index is checkpointed in small steps, so its WAL (the scattered pages
/// one checkpoint writes and flushes) stays small while many rows are indexed. Here, at
/// SQLite's default of 1,000 pages it reached 5.4 MB; at 100 pages, 1.4 MB (a checkpoint
/// follows the commit that crosses the mark, and one 500-subject record dirties a few hundred
/// pages).
#[test]
fn sqlite_index_checkpoints_in_small_steps() {
    use rand::{Rng, SeedableRng};
    let db = TestDb::sqlite();
    let wal = {
        let mut name = db.url.audit_index_file().unwrap().into_os_string();
        name.push("-wal");
        std::path::PathBuf::from(name)
    };
    let log = AuditLog::start(&db.url).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    // Read while the index's connection is open: SQLite removes the WAL when it closes.
    let mut largest = 0;
    for n in 0..300u32 {
        let subjects: Vec<u32> = (0..500).map(|_| rng.random_range(1..99_999_999)).collect();
        let id = log.append_blocking(record(n, &subjects)).unwrap().get();
        wait_indexed(&db, id);
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
    }
    log.shutdown();
    // Three quarters of what 1,000 pages came to: the test's own reads of the index (to wait
    // for each record) can hold one checkpoint back on a busy machine (a CI run reached 2.6 MB
    // against half, 2.1 MB), while SQLite's default still goes far past it.
    let limit = 750 * (4096 + 24);
    assert!(largest > 0, "the index wrote no WAL");
    assert!(
        largest <= limit,
        "the index WAL reached {largest} bytes, more than {limit}"
    );
}

/// The by-person index gathers the writer's groups into transactions of its own: records
/// appended one by one (each its own group, committed and flushed apart) are indexed in a
/// fraction of the transactions the writer needed.
#[test]
fn the_index_gathers_many_groups_per_transaction() {
    for db in databases() {
        let log = AuditLog::start(&db.url).unwrap();
        let mut last = 0;
        for n in 0..200u32 {
            last = log
                .append_blocking(record(n, &[4_000_000 + n]))
                .unwrap()
                .get();
        }
        wait_indexed(&db, last);
        let (groups, transactions) = (log.commits(), log.index_commits());
        log.shutdown();
        assert_eq!(groups, 200, "one group per record appended alone");
        assert!(
            transactions <= 40,
            "{transactions} index transactions for {groups} groups"
        );
        assert_eq!(index_rows(&mut db.conn()).len(), 200);
    }
}

/// SQLite: the writer's and the index's INSERTs are prepared once per connection, whatever the
/// number of records in a group. A multi-row INSERT is new SQL for every group size, which
/// Diesel prepares again at each call: SQLite parsed and planned the writer's INSERT for every
/// group, 1.8% of the node's CPU under REST lookups. (Diesel reports each statement it caches.)
#[test]
fn sqlite_audit_inserts_are_prepared_once() {
    use diesel::connection::InstrumentationEvent;
    use std::sync::{Arc, Mutex};
    let db = TestDb::sqlite();
    let mut conn = open_writer(&ConnectionManager::new(db.url.clone())).unwrap();
    let prepared: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = Arc::clone(&prepared);
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::CacheQuery { sql, .. } = event {
            log.lock().unwrap().push(sql.to_owned());
        }
    });
    let mut chain = Chain::new();
    for size in [1, 3, 7] {
        let (rows, subjects) = chain.next(size);
        crate::audit::writer::insert_group(&mut conn, &rows).unwrap();
        crate::audit::index::write(&mut conn, &subjects, chain.id).unwrap();
    }
    let inserts: Vec<String> = prepared
        .lock()
        .unwrap()
        .iter()
        .filter(|sql| sql.starts_with("INSERT"))
        .map(|sql| sql.split(" (").next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        inserts,
        [
            "INSERT INTO `auditoria`",
            "INSERT OR IGNORE INTO `auditoria_sujetos`"
        ],
        "each INSERT prepared once over three groups of 1, 3 and 7 records"
    );
    assert_eq!(stored_rows(&mut conn).len(), 11);
    assert_eq!(index_rows(&mut conn).len(), 11);
}

/// Records chained one after another from the start of an empty log, as the writer chains them.
struct Chain {
    id: i64,
    previous: String,
}

impl Chain {
    fn new() -> Chain {
        Chain {
            id: 0,
            previous: GENESIS_HASH.to_owned(),
        }
    }

    /// The next `size` records and their index rows.
    fn next(&mut self, size: usize) -> (Vec<AuditRow>, Vec<crate::audit::row::SubjectRow>) {
        let mut rows = Vec::new();
        let mut subjects = Vec::new();
        for _ in 0..size {
            self.id += 1;
            let id = self.id;
            let pending =
                crate::audit::row::Pending::new(record(id as u32, &[10_000 + id as u32]), None)
                    .unwrap();
            let (row, index) = pending.chain(id, &self.previous);
            subjects.extend(index);
            self.previous.clone_from(&row.hash);
            rows.push(row);
        }
        (rows, subjects)
    }
}

/// PostgreSQL: a group of up to a thousand records is one INSERT, which commits on its own,
/// without the BEGIN and COMMIT round trips around it.
/// A larger group is several INSERTs in one transaction: all of it is written, or none.
#[test]
fn postgres_audit_groups_are_one_statement() {
    use diesel::connection::InstrumentationEvent;
    use std::sync::{Arc, Mutex};
    for db in databases().into_iter().filter(|db| !db.is_sqlite()) {
        let mut conn = open_writer(&ConnectionManager::new(db.url.clone())).unwrap();
        let seen: Arc<Mutex<Vec<String>>> = Arc::default();
        let log = Arc::clone(&seen);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            let what = match event {
                InstrumentationEvent::StartQuery { query, .. } => query.to_string(),
                InstrumentationEvent::BeginTransaction { .. } => "BEGIN".into(),
                InstrumentationEvent::CommitTransaction { .. } => "COMMIT".into(),
                _ => return,
            };
            log.lock().unwrap().push(what);
        });
        let mut chain = Chain::new();
        for size in [1, 7] {
            let (rows, _) = chain.next(size);
            crate::audit::writer::insert_group(&mut conn, &rows).unwrap();
            let statements = std::mem::take(&mut *seen.lock().unwrap());
            assert_eq!(statements.len(), 1, "{statements:#?}");
            assert!(statements[0].starts_with("INSERT"), "{statements:#?}");
        }
        let (rows, _) = chain.next(1_001);
        crate::audit::writer::insert_group(&mut conn, &rows).unwrap();
        let statements = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!(statements.first().map(String::as_str), Some("BEGIN"));
        assert_eq!(statements.last().map(String::as_str), Some("COMMIT"));
        assert_eq!(stored_rows(&mut conn).len(), 1_009);
        assert_eq!(verify(&mut conn).unwrap().records, 1_009);
    }
}

fn operations(conn: &mut DbConnection, who: u32, which: Which, limit: i64) -> Vec<String> {
    accesses(conn, run(who), which, limit)
        .unwrap()
        .into_iter()
        .map(|a| a.operation)
        .collect()
}

fn index_rows(conn: &mut DbConnection) -> Vec<(i32, i64)> {
    use crate::db::schema::auditoria_sujetos;
    auditoria_sujetos::table
        .select((auditoria_sujetos::run, auditoria_sujetos::auditoria_id))
        .order((auditoria_sujetos::auditoria_id, auditoria_sujetos::run))
        .load(conn)
        .unwrap()
}

/// Waits until the index thread has reached `id`.
fn wait_indexed(db: &TestDb, id: i64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while crate::audit::index::indexed_upto(&mut db.conn()).unwrap() < id {
        assert!(
            std::time::Instant::now() < deadline,
            "not indexed up to {id}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A person's report and `verify` read the records the by-person index has not reached from
/// their own `sujetos`; a later log indexes them, and nothing is listed twice.
#[test]
fn records_not_yet_indexed_are_still_reported_and_indexed_later() {
    let (a, b) = (12_345_678, 9_876_543);
    for db in databases() {
        let log = AuditLog::start_unindexed(&db.url).unwrap();
        let mut refused = record(3, &[a]);
        refused.outcome = "NO_AUTORIZADO".into();
        refused.http_status = 403;
        for r in [record(1, &[a]), record(2, &[a, b]), refused] {
            log.append_blocking(r).unwrap();
        }
        log.shutdown();
        let mut conn = db.conn();
        assert!(index_rows(&mut conn).is_empty());
        assert_eq!(
            operations(&mut conn, a, Which::All, 10),
            ["op-3", "op-2", "op-1"]
        );
        assert_eq!(
            operations(&mut conn, a, Which::Answered, 10),
            ["op-2", "op-1"]
        );
        assert_eq!(operations(&mut conn, a, Which::All, 1), ["op-3"]);
        assert_eq!(operations(&mut conn, b, Which::All, 10), ["op-2"]);
        let found = verify(&mut conn).unwrap();
        assert_eq!(
            (found.records, found.first_broken, found.unindexed),
            (3, None, 3)
        );

        // The next log indexes what the last one left, then its own records.
        let log = AuditLog::start(&db.url).unwrap();
        log.append_blocking(record(4, &[a])).unwrap();
        log.shutdown();
        let (ka, kb) = (i32::try_from(a).unwrap(), i32::try_from(b).unwrap());
        assert_eq!(
            index_rows(&mut conn),
            [(ka, 1), (kb, 2), (ka, 2), (ka, 3), (ka, 4)]
        );
        assert_eq!(verify(&mut conn).unwrap(), report(4, None));
        assert_eq!(
            operations(&mut conn, a, Which::All, 10),
            ["op-4", "op-3", "op-2", "op-1"]
        );

        // Half indexed, half not: one list, newest first, the limit across both.
        let log = AuditLog::start_unindexed(&db.url).unwrap();
        log.append_blocking(record(5, &[a])).unwrap();
        log.shutdown();
        assert_eq!(
            operations(&mut conn, a, Which::All, 10),
            ["op-5", "op-4", "op-3", "op-2", "op-1"]
        );
        assert_eq!(
            operations(&mut conn, a, Which::Answered, 3),
            ["op-5", "op-4", "op-2"]
        );
    }
}

/// The answer does not wait for the by-person index: with its writes failing, requests are
/// still answered and reported, and the index catches up once it can write again.
#[test]
fn a_failing_index_delays_the_index_and_loses_nothing() {
    let (a, b) = (12_345_678, 9_876_543);
    for db in databases() {
        let log = AuditLog::start(&db.url).unwrap();
        log.append_blocking(record(1, &[a])).unwrap();
        wait_indexed(&db, 1);
        refuse_inserts(&mut db.conn(), "auditoria_sujetos", true);
        assert_eq!(log.append_blocking(record(2, &[a])).unwrap().get(), 2);
        assert_eq!(log.append_blocking(record(3, &[b])).unwrap().get(), 3);
        let mut conn = db.conn();
        assert_eq!(operations(&mut conn, a, Which::All, 10), ["op-2", "op-1"]);
        refuse_inserts(&mut conn, "auditoria_sujetos", false);
        log.append_blocking(record(4, &[a])).unwrap();
        wait_indexed(&db, 4);
        log.shutdown();
        let (ka, kb) = (i32::try_from(a).unwrap(), i32::try_from(b).unwrap());
        assert_eq!(index_rows(&mut conn), [(ka, 1), (ka, 2), (kb, 3), (ka, 4)]);
        assert_eq!(verify(&mut conn).unwrap(), report(4, None));
    }
}

/// Index rows already present past the mark (another node on the same database, or a node of
/// an earlier version that wrote them with their record) do not stop the index.
#[test]
fn index_rows_already_present_do_not_stop_the_index() {
    let a = 12_345_678;
    for db in databases() {
        let log = AuditLog::start(&db.url).unwrap();
        log.append_blocking(record(1, &[a])).unwrap();
        log.shutdown();
        // Record 2 committed past the mark, its row written by someone else.
        let log = AuditLog::start_unindexed(&db.url).unwrap();
        log.append_blocking(record(2, &[a])).unwrap();
        log.shutdown();
        db.conn()
            .batch_execute("INSERT INTO auditoria_sujetos (run, auditoria_id) VALUES (12345678, 2)")
            .unwrap();
        let log = AuditLog::start(&db.url).unwrap();
        log.append_blocking(record(3, &[a])).unwrap();
        wait_indexed(&db, 3);
        log.shutdown();
        let mut conn = db.conn();
        let ka = i32::try_from(a).unwrap();
        assert_eq!(index_rows(&mut conn), [(ka, 1), (ka, 2), (ka, 3)]);
        assert_eq!(verify(&mut conn).unwrap(), report(3, None));
    }
}

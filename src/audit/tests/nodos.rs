//! Several nodes over one PostgreSQL database (`cluster.nodo`): one chain, ordered by the
//! database under a lock (`audit/writer/shared.rs`), the by-person index on the leader only.
//! PostgreSQL only, but for the refusal on SQLite.

use std::time::Instant;

use diesel::sql_types::{BigInt, Integer, Text};

use super::*;
use crate::audit::archivo::{self, archive, verify_files};
use crate::db::AUDIT_CHAIN_LOCK;

fn node(db: &TestDb, nodo: &str) -> AuditLog {
    AuditLog::start_as(
        &db.url,
        Durability::Fsync,
        crate::audit::WalLimit::default(),
        Some(nodo.to_owned()),
    )
    .unwrap()
}

/// A connection of the test's own (not the pool's), to hold locks and watch sessions.
fn own(db: &TestDb) -> DbConnection {
    ConnectionManager::new(db.url.clone()).open().unwrap()
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[derive(QueryableByName)]
struct Pid {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

/// The backend of the session waiting for the chain's lock (a writer inside its transaction).
fn waiting_for_the_chain(conn: &mut DbConnection) -> Option<i32> {
    diesel::sql_query(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() \
         AND wait_event_type = 'Lock' AND wait_event = 'advisory' \
         AND query LIKE '%pg_advisory_xact_lock%'",
    )
    .load::<Pid>(conn)
    .unwrap()
    .first()
    .map(|p| p.pid)
}

fn terminate(conn: &mut DbConnection, pid: i32) {
    diesel::sql_query("SELECT pg_terminate_backend($1)")
        .bind::<Integer, _>(pid)
        .execute(conn)
        .unwrap();
}

fn hold_the_chain(conn: &mut DbConnection) {
    conn.batch_execute(&format!(
        "BEGIN; SELECT pg_advisory_xact_lock({AUDIT_CHAIN_LOCK});"
    ))
    .unwrap();
}

fn my_pid(conn: &mut DbConnection) -> i32 {
    diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Pid>(conn)
        .unwrap()
        .pid
}

#[test]
fn a_node_among_several_needs_postgres() {
    let db = TestDb::sqlite();
    let refused = AuditLog::start_as(
        &db.url,
        Durability::Fsync,
        crate::audit::WalLimit::default(),
        Some("n1".into()),
    );
    assert!(matches!(refused, Err(AuditError::Invalid(_))));
}

#[test]
fn two_nodes_writing_at_once_keep_one_chain() {
    let Some(db) = postgres_db() else { return };
    let (n1, n2) = (node(&db, "n1"), node(&db, "n2"));
    // Four threads per node, 150 records each: the nodes' groups interleave.
    let writers: Vec<_> = (0..8u32)
        .map(|t| {
            let log = if t % 2 == 0 { n1.clone() } else { n2.clone() };
            std::thread::spawn(move || {
                (0..150)
                    .map(|i| {
                        log.append_blocking(record(t * 1_000 + i, &[5_000_000 + t]))
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut given: Vec<i64> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .map(AuditId::get)
        .collect();
    given.sort_unstable();
    assert_eq!(
        given,
        (1..=1_200).collect::<Vec<i64>>(),
        "ids contiguous, each given once"
    );
    let mut conn = db.conn();
    let rows = stored_rows(&mut conn);
    let nodos: Vec<&str> = rows.iter().map(|r| r.nodo.as_deref().unwrap()).collect();
    let switches = nodos.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        switches > 2,
        "the nodes' groups did not interleave ({switches} switches)"
    );
    // Only the first node to start leads: the index is written by its thread alone.
    assert!(n1.lider().es_lider() && !n2.lider().es_lider());
    wait_until("the leader to index every record", || {
        crate::audit::index::indexed_upto(&mut conn).unwrap() == 1_200
    });
    assert_eq!(
        n2.index_commits(),
        0,
        "a node that does not lead wrote the index"
    );
    let report = verify(&mut conn).unwrap();
    assert_eq!(
        (report.records, report.first_broken, report.unindexed),
        (1_200, None, 0)
    );
    assert_eq!(
        report.por_nodo.into_iter().collect::<Vec<_>>(),
        [("n1".to_owned(), 600), ("n2".to_owned(), 600)]
    );
    n1.shutdown();
    n2.shutdown();
}

#[test]
fn a_stalled_holder_fails_the_group_after_the_lock_timeout_and_the_chain_goes_on() {
    let Some(db) = postgres_db() else { return };
    let (n1, n2) = (node(&db, "n1"), node(&db, "n2"));
    n1.append_blocking(record(1, &[1])).unwrap();
    // Another session holds the chain's lock and does nothing (a node frozen mid-group).
    let mut holder = own(&db);
    hold_the_chain(&mut holder);
    let started = Instant::now();
    let failed = n2.append_blocking(record(2, &[2]));
    let waited = started.elapsed();
    assert!(matches!(failed, Err(AuditError::Storage(_))), "{failed:?}");
    assert!(
        waited >= Duration::from_millis(1_900) && waited < Duration::from_secs(10),
        "the group waited {waited:?}, not about lock_timeout"
    );
    holder.batch_execute("COMMIT;").unwrap();
    // The failed group left nothing; the next ones follow the head.
    assert_eq!(n2.append_blocking(record(3, &[3])).unwrap().get(), 2);
    assert_eq!(n1.append_blocking(record(4, &[4])).unwrap().get(), 3);
    let report = verify(&mut db.conn()).unwrap();
    assert_eq!((report.records, report.first_broken), (3, None));
    n1.shutdown();
    n2.shutdown();
}

#[test]
fn a_writer_killed_mid_transaction_fails_its_group_and_the_other_node_goes_on() {
    let Some(db) = postgres_db() else { return };
    let (n1, n2) = (node(&db, "n1"), node(&db, "n2"));
    let mut holder = own(&db);
    hold_the_chain(&mut holder);
    // n1's writer is inside its transaction, waiting for the lock, when its session is killed.
    let waiting = {
        let n1 = n1.clone();
        std::thread::spawn(move || n1.append_blocking(record(1, &[1])))
    };
    let mut watch = own(&db);
    let mut pid = None;
    wait_until("n1's writer to wait for the chain", || {
        pid = waiting_for_the_chain(&mut watch);
        pid.is_some()
    });
    terminate(&mut watch, pid.unwrap());
    let killed = waiting.join().unwrap();
    assert!(matches!(killed, Err(AuditError::Storage(_))), "{killed:?}");
    // Now the holder dies mid-transaction: its lock goes with its session, at once, and n2's
    // writer, waiting for it, goes on well before the lock timeout.
    let waiting = {
        let n2 = n2.clone();
        std::thread::spawn(move || n2.append_blocking(record(2, &[2])))
    };
    wait_until("n2's writer to wait for the chain", || {
        waiting_for_the_chain(&mut watch).is_some()
    });
    let started = Instant::now();
    terminate(&mut watch, my_pid(&mut holder));
    assert_eq!(waiting.join().unwrap().unwrap().get(), 1);
    assert!(started.elapsed() < Duration::from_millis(1_500));
    // n1 reconnects for its next group.
    assert_eq!(n1.append_blocking(record(3, &[3])).unwrap().get(), 2);
    let report = verify(&mut db.conn()).unwrap();
    assert_eq!((report.records, report.first_broken), (2, None));
    n1.shutdown();
    n2.shutdown();
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

#[test]
fn the_shared_writer_session_cannot_stall_the_others() {
    let Some(db) = postgres_db() else { return };
    let manager = ConnectionManager::new(db.url.clone());
    let show = |conn: &mut DbConnection, name: &str| {
        diesel::sql_query(format!("SELECT current_setting('{name}') AS value"))
            .get_result::<Setting>(conn)
            .unwrap()
            .value
    };
    let mut shared =
        crate::audit::writer::open_writer_shared(&manager, Durability::Fsync, true).unwrap();
    assert_eq!(show(&mut shared, "lock_timeout"), "2s");
    assert_eq!(
        show(&mut shared, "idle_in_transaction_session_timeout"),
        "5s"
    );
    assert_eq!(show(&mut shared, "tcp_keepalives_idle"), "10");
    // A node alone keeps the server's defaults.
    let mut alone =
        crate::audit::writer::open_writer_shared(&manager, Durability::Fsync, false).unwrap();
    assert_eq!(show(&mut alone, "lock_timeout"), "0");
}

#[test]
fn when_the_leader_goes_another_node_takes_the_index_over() {
    let Some(db) = postgres_db() else { return };
    let (n1, n2) = (node(&db, "n1"), node(&db, "n2"));
    assert!(n1.lider().es_lider() && !n2.lider().es_lider());
    n1.append_blocking(record(1, &[1])).unwrap();
    // Stopped, not dropped (its Lider may have other holders): the role goes all the same.
    n1.shutdown();
    assert!(!n1.lider().es_lider());
    wait_until("n2 to lead", || n2.lider().es_lider());
    n2.append_blocking(record(2, &[2])).unwrap();
    let mut conn = db.conn();
    wait_until("n2 to index record 2", || {
        crate::audit::index::indexed_upto(&mut conn).unwrap() == 2
    });
    assert!(n2.index_commits() > 0);
    assert_eq!(verify(&mut conn).unwrap().first_broken, None);
    n2.shutdown();
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[test]
fn archives_carry_each_records_node() {
    let Some(db) = postgres_db() else { return };
    let (n1, n2) = (node(&db, "n1"), node(&db, "n2"));
    for (n, log) in (1..=4).zip([&n1, &n2, &n1, &n2]) {
        let mut r = record(n, &[6_000_000 + n]);
        r.ts = Utc::now() - chrono::Duration::days(10);
        log.append_blocking(r).unwrap();
    }
    n1.append_blocking(record(5, &[6_000_005])).unwrap();
    let mut pooled = db.conn();
    let conn: &mut DbConnection = &mut pooled;
    wait_until("the index", || {
        crate::audit::index::indexed_upto(conn).unwrap() == 5
    });
    let dir = db._dir.path().join("archivos");
    let yesterday = archivo::last_day(Utc::now());
    let done = archive(conn, &dir, yesterday).unwrap();
    let path = done.path.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()),
        &mut text,
    )
    .unwrap();
    let nodos: Vec<Option<String>> = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<AuditRow>(l).unwrap().nodo)
        .collect();
    assert_eq!(nodos, ["n1", "n2", "n1", "n2"].map(|n| Some(n.to_owned())));
    let found = verify_files(conn, &dir, &Default::default()).unwrap();
    assert!(found.problems.is_empty(), "{:?}", found.problems);
    let left: Count = diesel::sql_query("SELECT count(*) AS n FROM auditoria")
        .get_result(conn)
        .unwrap();
    assert_eq!(left.n, 1);
    // The chain goes on from the archive, on either node.
    n2.append_blocking(record(6, &[1])).unwrap();
    let report = verify(conn).unwrap();
    assert_eq!(
        (report.first_broken, report.archived, report.records),
        (None, 4, 2)
    );
    n1.shutdown();
    n2.shutdown();
}

#[test]
fn when_the_leaders_session_ends_another_node_leads() {
    let Some(db) = postgres_db() else { return };
    let (n1, n2) = (node(&db, "n1"), node(&db, "n2"));
    assert!(n1.lider().es_lider() && !n2.lider().es_lider());
    // The session holding the leader's lock (a bigint key: classid high, objid low 32 bits).
    let mut watch = own(&db);
    let holder: Pid = diesel::sql_query(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 0 \
         AND objid = $1 AND objsubid = 1 AND granted",
    )
    .bind::<BigInt, _>(crate::db::lider::LIDER_LOCK)
    .get_result(&mut watch)
    .unwrap();
    terminate(&mut watch, holder.pid);
    wait_until("n2 to take the role over", || n2.lider().es_lider());
    wait_until("n1 to notice it lost it", || !n1.lider().es_lider());
    n2.append_blocking(record(1, &[1])).unwrap();
    let mut conn = db.conn();
    wait_until("n2 to index record 1", || {
        crate::audit::index::indexed_upto(&mut conn).unwrap() == 1
    });
    n1.shutdown();
    n2.shutdown();
}

//! Archiving: old records leave the database for files whose chain goes on from file to file
//! and into the table (`audit/archivo.rs`).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::*;
use crate::audit::archivo::{self, ArchiveError, archive, verify_files};
use crate::audit::signed::{self, SignedCheckpoint};
use crate::db::schema::{auditoria_archivos, auditoria_sujetos};

/// Appends one record per entry of `days`, that many days before now, naming person
/// 6,000,000 + its number (numbers from `first`), and stops the log (its index is then
/// written up to the last record).
fn append_aged(db: &TestDb, first: u32, days: &[i64]) {
    let log = AuditLog::start(&db.url).unwrap();
    for (n, days) in (first..).zip(days) {
        let mut r = record(n, &[6_000_000 + n]);
        r.ts = Utc::now() - chrono::Duration::days(*days);
        log.append_blocking(r).unwrap();
    }
    log.shutdown();
}

/// `n` days before today, in Chile.
fn days_ago(n: u64) -> NaiveDate {
    archivo::last_day(Utc::now()) + chrono::Days::new(1) - chrono::Days::new(n)
}

fn archives_dir(db: &TestDb) -> PathBuf {
    db._dir.path().join("archivos")
}

/// The archive files in the folder, finished or not (not the lock).
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".jsonl.gz") || n.ends_with(".parcial"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn ids(conn: &mut DbConnection) -> Vec<i64> {
    stored_rows(conn).iter().map(|r| r.id).collect()
}

fn index_rows_up_to(conn: &mut DbConnection, id: i64) -> i64 {
    auditoria_sujetos::table
        .filter(auditoria_sujetos::auditoria_id.le(id))
        .count()
        .get_result(conn)
        .unwrap()
}

fn verified(conn: &mut DbConnection) -> (u64, Option<i64>, u64, u64) {
    let r = verify(conn).unwrap();
    (r.records, r.first_broken, r.archived, r.archived_left)
}

fn gunzip(path: &Path) -> Vec<String> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines().map(str::to_owned).collect()
}

fn gzip(path: &Path, lines: &[String]) {
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::default(),
    );
    for line in lines {
        writeln!(gz, "{line}").unwrap();
    }
    gz.finish().unwrap();
}

/// Makes every DELETE on `auditoria` fail (as a crash in the middle would leave it), or stops.
fn refuse_deletes(conn: &mut DbConnection, refuse: bool) {
    let sql = match (&*conn, refuse) {
        (DbConnection::Sqlite(_), true) => {
            "CREATE TRIGGER audit.test_refuse_delete BEFORE DELETE ON auditoria
             BEGIN SELECT RAISE(ABORT, 'test: delete refused'); END;"
        }
        (DbConnection::Sqlite(_), false) => "DROP TRIGGER audit.test_refuse_delete;",
        (DbConnection::Pg(_), true) => {
            "CREATE FUNCTION test_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'test: delete refused'; END $$;
             CREATE TRIGGER test_refuse_delete BEFORE DELETE ON auditoria
             FOR EACH STATEMENT EXECUTE FUNCTION test_refuse_delete();"
        }
        (DbConnection::Pg(_), false) => {
            "DROP TRIGGER test_refuse_delete ON auditoria; DROP FUNCTION test_refuse_delete();"
        }
    };
    conn.batch_execute(sql).unwrap();
}

per_backend!(
    fn archives_continue_the_chain_from_file_to_file_and_into_the_table(db) {
        // Records 1-20 ten days old, 21-30 five days old, 31-35 from today.
        let days: Vec<i64> = [10; 20].into_iter().chain([5; 10]).chain([0; 5]).collect();
        append_aged(&db, 1, &days);
        let dir = archives_dir(&db);
        let mut conn = db.conn();
        let c: &mut DbConnection = &mut conn;

        let first = archive(c, &dir, days_ago(7)).unwrap();
        let a = first.archivo.clone().expect("an archive");
        assert_eq!((a.desde, a.hasta, a.registros), (1, 20, 20));
        assert_eq!(a.archivo, "auditoria-000000000001-000000000020.jsonl.gz");
        let path = first.path.unwrap();
        assert_eq!(path, dir.join(&a.archivo));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "an archive holds RUNs: its owner's only");
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "a folder it made is its owner's only");
        assert_eq!(ids(c).first(), Some(&21));
        assert_eq!(index_rows_up_to(c, 20), 0, "the index rows went with them");
        assert_eq!(verified(c), (15, None, 20, 0));
        // The file: a header, then the records as they were, each with its hash.
        let lines = gunzip(&path);
        assert_eq!(lines.len(), 21);
        let header: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(header["formato"], archivo::FORMATO);
        assert_eq!((header["desde"].as_i64(), header["hasta"].as_i64()), (Some(1), Some(20)));
        assert_eq!(header["hash_anterior"], GENESIS_HASH);
        let twentieth: AuditRow = serde_json::from_str(&lines[20]).unwrap();
        assert_eq!((twentieth.id, &twentieth.hash), (20, &a.hash_final));

        // A second archive takes up where the first ended.
        let second = archive(c, &dir, days_ago(1)).unwrap();
        let b = second.archivo.expect("a second archive");
        assert_eq!((b.desde, b.hasta), (21, 30));
        assert_eq!(b.hash_anterior, a.hash_final);
        assert_eq!(verified(c), (5, None, 30, 0));
        let files = verify_files(c, &dir, &BTreeSet::new()).unwrap();
        assert_eq!(
            (files.archivos, files.records, files.problems.clone(), files.unregistered.clone()),
            (2, 30, Vec::<String>::new(), Vec::<String>::new())
        );

        // The writer goes on from the table's head, and the chain with it.
        append_aged(&db, 36, &[0, 0]);
        assert_eq!(ids(c), (31..=37).collect::<Vec<_>>());
        assert_eq!(verified(c), (7, None, 30, 0));
        assert!(verify_files(c, &dir, &BTreeSet::new()).unwrap().problems.is_empty());
        // Archived accesses are no longer listed; the others are.
        assert!(accesses(c, run(6_000_003), Which::All, 10).unwrap().is_empty());
        assert_eq!(accesses(c, run(6_000_033), Which::All, 10).unwrap().len(), 1);

        // Nothing older than yesterday is left: nothing to archive, and no file.
        let third = archive(c, &dir, days_ago(1)).unwrap();
        assert_eq!((third.finished, third.archivo, third.path), (0, None, None));
        assert_eq!(files_in(&dir), [a.archivo, b.archivo]);
    }
);

per_backend!(
    fn a_changed_reordered_or_missing_archive_is_named_with_its_record(db) {
        let days: Vec<i64> = [10; 20].into_iter().chain([0; 2]).collect();
        append_aged(&db, 1, &days);
        let dir = archives_dir(&db);
        let mut conn = db.conn();
        let c: &mut DbConnection = &mut conn;
        let a = archive(c, &dir, days_ago(1)).unwrap().archivo.unwrap();
        let path = dir.join(&a.archivo);
        let original = std::fs::read(&path).unwrap();
        let lines = gunzip(&path);
        let problems = |c: &mut DbConnection| verify_files(c, &dir, &BTreeSet::new()).unwrap().problems;
        assert!(problems(c).is_empty());

        // One field of record 5 changed, the file compressed again.
        let mut changed = lines.clone();
        changed[5] = changed[5].replace("\"op-5\"", "\"ConsultarAccesos\"");
        assert_ne!(changed[5], lines[5]);
        gzip(&path, &changed);
        let found = problems(c);
        assert!(
            found.iter().any(|p| p.starts_with(&a.archivo) && p.contains("SHA-256")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|p| p.starts_with(&a.archivo)
                && p.contains("record 5: its hash does not match")),
            "{found:?}"
        );

        // Records 7 and 8 swapped.
        let mut reordered = lines.clone();
        reordered.swap(7, 8);
        gzip(&path, &reordered);
        let found = problems(c);
        assert!(
            found.iter().any(|p| p.starts_with(&a.archivo) && p.contains("record 8: comes after record 6")),
            "{found:?}"
        );

        // The last record cut off.
        gzip(&path, &lines[..20]);
        let found = problems(c);
        assert!(
            found.iter().any(|p| p.contains("ends at record 19")),
            "{found:?}"
        );

        // Gone.
        std::fs::remove_file(&path).unwrap();
        let found = problems(c);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].starts_with(&a.archivo) && found[0].contains("missing"), "{found:?}");

        // Put back as it was: whole again. The database's side never saw any of it.
        std::fs::write(&path, &original).unwrap();
        assert!(problems(c).is_empty());
        assert_eq!(verified(c), (2, None, 20, 0));
    }
);

per_backend!(
    fn only_archived_records_may_be_deleted(db) {
        let days: Vec<i64> = [10; 5].into_iter().chain([0; 2]).collect();
        append_aged(&db, 1, &days);
        let mut conn = db.conn();
        let c: &mut DbConnection = &mut conn;
        assert!(c.batch_execute("DELETE FROM auditoria WHERE id = 1").is_err());
        let a = archive(c, &archives_dir(&db), days_ago(1)).unwrap().archivo.unwrap();
        assert_eq!(a.hasta, 5);
        let h5 = a.hash_final.clone();
        for refused in [
            "DELETE FROM auditoria WHERE id = 6",
            "DELETE FROM auditoria_sujetos WHERE auditoria_id = 6",
            "DELETE FROM auditoria",
            "UPDATE auditoria SET resultado = 'NO_AUTORIZADO' WHERE id = 6",
            "UPDATE auditoria_archivos SET sha256 = 'otro'",
            "DELETE FROM auditoria_archivos",
            // An archive that does not start right after the last one.
            "INSERT INTO auditoria_archivos VALUES (9, 7, 3, 'h', 'g', 'x.jsonl.gz', 's', 1, 0)",
        ] {
            assert!(c.batch_execute(refused).is_err(), "not refused: {refused}");
        }
        // A registration claiming records it did not archive: it would let them be deleted.
        let hash = |c: &mut DbConnection, id: i64| -> String {
            auditoria::table.find(id).select(auditoria::hash).first(c).unwrap()
        };
        let (h6, h7) = (hash(c, 6), hash(c, 7));
        for (hasta, hash_final) in [
            (7, h7.as_str()),     // the newest record
            (6, "0".repeat(64).as_str()), // not the hash of record 6
            (1_000_000, h6.as_str()),     // past the newest record
        ] {
            let forged = format!(
                "INSERT INTO auditoria_archivos VALUES ({hasta}, 6, {}, '{hash_final}', '{h5}', 'f.jsonl.gz', 's', 1, 0)",
                hasta - 5
            );
            assert!(c.batch_execute(&forged).is_err(), "not refused: {forged}");
        }
        assert_eq!(ids(c), [6, 7]);
        assert_eq!(verified(c), (2, None, 5, 0));
    }
);

per_backend!(
    /// With the guard dropped (as only a database owner can), a forged registration covering
    /// the newest record is named by `verify`, and `archive` refuses to delete on its word.
    fn a_forged_registration_is_caught_and_deletes_nothing(db) {
        let days: Vec<i64> = [10; 5].into_iter().chain([0; 2]).collect();
        append_aged(&db, 1, &days);
        let dir = archives_dir(&db);
        let mut conn = db.conn();
        let c: &mut DbConnection = &mut conn;
        let h5 = archive(c, &dir, days_ago(1)).unwrap().archivo.unwrap().hash_final;
        let guard = match c {
            DbConnection::Sqlite(_) => "DROP TRIGGER audit.auditoria_archivos_presentes",
            DbConnection::Pg(_) => {
                "ALTER TABLE auditoria_archivos DISABLE TRIGGER auditoria_archivos_seguidos"
            }
        };
        c.batch_execute(guard).unwrap();
        let hash = |c: &mut DbConnection, id: i64| -> String {
            auditoria::table.find(id).select(auditoria::hash).first(c).unwrap()
        };
        let h7 = hash(c, 7);
        c.batch_execute(&format!(
            "INSERT INTO auditoria_archivos VALUES (7, 6, 2, '{h7}', '{h5}', 'f.jsonl.gz', 's', 1, 0)"
        ))
        .unwrap();
        assert_eq!(verified(c).1, Some(8), "nothing follows the last registration");
        let error = archive(c, &dir, days_ago(1)).unwrap_err();
        assert!(matches!(error, ArchiveError::Broken { id: 8 }), "{error}");
        assert_eq!(ids(c), [6, 7], "nothing was deleted on the forged registration's word");
    }
);

per_backend!(
    fn an_interrupted_archive_is_finished_by_the_next_run(db) {
        let days: Vec<i64> = [10; 30].into_iter().chain([0; 2]).collect();
        append_aged(&db, 1, &days);
        let dir = archives_dir(&db);
        let mut conn = db.conn();
        let c: &mut DbConnection = &mut conn;
        // Registered, then stopped before any record was deleted.
        refuse_deletes(c, true);
        let error = archive(c, &dir, days_ago(1)).unwrap_err();
        assert!(matches!(error, ArchiveError::Db(_)), "{error}");
        refuse_deletes(c, false);
        let registered: i64 = auditoria_archivos::table.count().get_result(c).unwrap();
        assert_eq!(registered, 1);
        assert_eq!(ids(c).len(), 32);
        assert_eq!(verified(c), (2, None, 30, 30), "what is left after the archive verifies");
        assert!(verify_files(c, &dir, &BTreeSet::new()).unwrap().problems.is_empty());

        // The next run deletes them first, then finds nothing new.
        let again = archive(c, &dir, days_ago(1)).unwrap();
        assert_eq!((again.finished, again.archivo), (30, None));
        assert_eq!(ids(c), [31, 32]);
        assert_eq!(index_rows_up_to(c, 30), 0);
        assert_eq!(verified(c), (2, None, 30, 0));
    }
);

per_backend!(
    fn archive_keeps_yesterday_and_today(db) {
        let days: Vec<i64> = [10; 3].into_iter().chain([0]).collect();
        append_aged(&db, 1, &days);
        let dir = archives_dir(&db);
        let mut conn = db.conn();
        let c: &mut DbConnection = &mut conn;
        for antes in [days_ago(0), days_ago(0) + chrono::Days::new(1)] {
            let error = archive(c, &dir, antes).unwrap_err();
            assert!(matches!(error, ArchiveError::TooRecent { .. }), "{error}");
            assert!(error.to_string().contains(&days_ago(1).to_string()), "{error}");
        }
        assert!(!dir.exists(), "nothing written");
        assert_eq!(ids(c).len(), 4);
        // Yesterday at the latest: the three old records go, today's stays.
        let a = archive(c, &dir, days_ago(1)).unwrap().archivo.unwrap();
        assert_eq!((a.desde, a.hasta), (1, 3));
    }
);

per_backend!(
    fn the_newest_record_stays_and_nothing_to_archive_writes_nothing(db) {
        append_aged(&db, 1, &[10, 10, 10]);
        let dir = archives_dir(&db);
        let mut conn = db.conn();
        let c: &mut DbConnection = &mut conn;
        // Every record is from after that day.
        let none = archive(c, &dir, days_ago(11)).unwrap();
        assert_eq!((none.finished, none.archivo), (0, None));
        assert_eq!(files_in(&dir), Vec::<String>::new());
        // Every record old: all but the newest go (the writer reads its head from the table).
        let a = archive(c, &dir, days_ago(1)).unwrap().archivo.unwrap();
        assert_eq!((a.desde, a.hasta), (1, 2));
        assert_eq!(ids(c), [3]);
        assert_eq!(signed::head(c).unwrap().map(|h| h.0), Some(3));
        assert_eq!(archive(c, &dir, days_ago(1)).unwrap().archivo, None);
        append_aged(&db, 4, &[0]);
        assert_eq!(verified(c), (2, None, 2, 0));
    }
);

per_backend!(
    fn a_broken_chain_is_not_archived(db) {
        let days: Vec<i64> = [10; 10].into_iter().chain([0]).collect();
        append_aged(&db, 1, &days);
        let dir = archives_dir(&db);
        let mut conn = db.conn();
        let c: &mut DbConnection = &mut conn;
        allow_tampering(c);
        c.batch_execute("UPDATE auditoria SET resultado = 'NO_AUTORIZADO' WHERE id = 4")
            .unwrap();
        let error = archive(c, &dir, days_ago(1)).unwrap_err();
        assert!(matches!(error, ArchiveError::Broken { id: 4 }), "{error}");
        assert_eq!(files_in(&dir), Vec::<String>::new(), "no file, not even a partial one");
        assert_eq!(archivo::archivos(c).unwrap(), []);
        assert_eq!(ids(c).len(), 11);
    }
);

per_backend!(
    fn checkpoints_of_archived_records_are_checked_against_the_archive_files(db) {
        let (private, public) = {
            let (private, public) = crate::pki::generate_pem().unwrap();
            (
                openssl::pkey::PKey::private_key_from_pem(private.as_bytes()).unwrap(),
                openssl::pkey::PKey::public_key_from_pem(public.as_bytes()).unwrap(),
            )
        };
        let days: Vec<i64> = [10; 15].into_iter().chain([0]).collect();
        append_aged(&db, 1, &days);
        let rows = stored_rows(&mut db.conn());
        let sign = |id: i64| {
            SignedCheckpoint::sign(&private, id, &rows[id as usize - 1].hash, Utc::now()).unwrap()
        };
        let lines = vec![sign(5), sign(10), sign(15), sign(16)];
        let dir = archives_dir(&db);
        let mut conn = db.conn();
        let c: &mut DbConnection = &mut conn;
        let a = archive(c, &dir, days_ago(1)).unwrap().archivo.unwrap();
        assert_eq!(a.hasta, 15);

        // Without the files: record 15 is the archive's last (its final hash is registered),
        // 16 is in the table; 5 and 10 cannot be checked, and are not passed.
        let found = signed::verify(c, &lines, &public, None).unwrap();
        assert_eq!(found.checked, 4);
        assert_eq!(found.problems.len(), 2, "{:?}", found.problems);
        for (problem, id) in found.problems.iter().zip([5, 10]) {
            assert!(
                problem.contains(&format!("record {id} "))
                    && problem.contains("was not checked")
                    && problem.contains(&a.archivo),
                "{problem}"
            );
        }
        // With them: every line checked.
        let wanted = lines.iter().map(|cp| cp.id).collect();
        let files = verify_files(c, &dir, &wanted).unwrap();
        assert!(files.problems.is_empty(), "{:?}", files.problems);
        let found = signed::verify(c, &lines, &public, Some(&files.hashes)).unwrap();
        assert!(found.problems.is_empty(), "{:?}", found.problems);
        // An archive that holds another record 10 than the one signed.
        let mut other = files.hashes.clone();
        other.insert(10, "ab".repeat(32));
        let found = signed::verify(c, &lines, &public, Some(&other)).unwrap();
        assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
        assert!(found.problems[0].starts_with("line 2: record 10 (archived in"), "{:?}", found.problems);
    }
);

per_backend!(
    fn reverting_the_migration_puts_the_append_only_guards_back(db) {
        let days: Vec<i64> = [10; 3].into_iter().chain([0; 2]).collect();
        append_aged(&db, 1, &days);
        let mut conn = db.conn();
        let c: &mut DbConnection = &mut conn;
        archive(c, &archives_dir(&db), days_ago(1)).unwrap();
        // The shared tables' and the console's migrations came after it: reverted first.
        assert_eq!(crate::db::revert_last_migration(c).unwrap(), "20261207000015");
        assert_eq!(crate::db::revert_last_migration(c).unwrap(), "20261206000013");
        let reverted = crate::db::revert_last_migration(c).unwrap();
        assert_eq!(reverted, "20261205000012");
        assert_eq!(archivo::archivos(c).unwrap(), [], "the registry is gone");
        for refused in [
            "DELETE FROM auditoria WHERE id = 4",
            "DELETE FROM auditoria_sujetos WHERE auditoria_id = 4",
            "UPDATE auditoria SET resultado = 'NO_AUTORIZADO' WHERE id = 4",
        ] {
            assert!(c.batch_execute(refused).is_err(), "not refused: {refused}");
        }
        assert_eq!(
            crate::db::run_migrations(c).unwrap(),
            ["20261205000012", "20261206000013", "20261207000015"]
        );
        // Without the registry (migrated again, it is empty) the walk starts from record 1,
        // which is in a file now.
        assert_eq!(archivo::archivos(c).unwrap(), []);
        assert_eq!(verify(c).unwrap().first_broken, Some(4));
    }
);

per_backend!(
    fn one_run_at_a_time(db) {
        let days: Vec<i64> = [10; 3].into_iter().chain([0]).collect();
        append_aged(&db, 1, &days);
        let dir = archives_dir(&db);
        std::fs::create_dir_all(&dir).unwrap();
        let held = std::fs::File::create(dir.join(".siis-audit-archive.lock")).unwrap();
        held.lock().unwrap();
        let error = archive(&mut db.conn(), &dir, days_ago(1)).unwrap_err();
        assert!(matches!(error, ArchiveError::Busy(_)), "{error}");
        assert_eq!(ids(&mut db.conn()).len(), 4);
        drop(held);
        assert!(archive(&mut db.conn(), &dir, days_ago(1)).unwrap().archivo.is_some());
    }
);

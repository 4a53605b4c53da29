//! Persons with an outcome of their own (version 2 of `sujetos`): stored after a colon, covered
//! by the hash, indexed like any subject, and shown in their access report with that outcome
//! and no field, indexed or not.

use super::*;

/// A batch that disclosed `found` and nothing about `probed` (out of scope).
fn batch(n: u32, found: u32, probed: u32) -> AuditRecord {
    let mut r = record(n, &[found]);
    r.undisclosed = vec![(run(probed), "FUERA_DE_AMBITO")];
    r
}

fn outcomes(conn: &mut DbConnection, who: u32, which: Which) -> Vec<(String, String, usize)> {
    accesses(conn, run(who), which, 10)
        .unwrap()
        .into_iter()
        .map(|a| (a.operation, a.outcome, a.fields.len()))
        .collect()
}

#[test]
fn a_person_a_batch_did_not_disclose_is_reported_with_their_own_outcome() {
    let (found, probed) = (12_345_678, 9_876_543);
    for db in databases() {
        // Unindexed first (read from `sujetos`), then indexed by the next log.
        for indexed in [false, true] {
            let log = if indexed {
                AuditLog::start(&db.url).unwrap()
            } else {
                AuditLog::start_unindexed(&db.url).unwrap()
            };
            let n = if indexed { 2 } else { 1 };
            log.append_blocking(batch(n, found, probed)).unwrap();
            log.shutdown();
            let mut conn = db.conn();
            let rows = stored_rows(&mut conn);
            assert_eq!(
                rows.last().unwrap().sujetos,
                "12345678-5,9876543-3:FUERA_DE_AMBITO"
            );
            let probes: Vec<_> = (1..=n)
                .rev()
                .map(|i| (format!("op-{i}"), "FUERA_DE_AMBITO".to_owned(), 0))
                .collect();
            assert_eq!(outcomes(&mut conn, probed, Which::All), probes);
            assert_eq!(outcomes(&mut conn, probed, Which::Unanswered), probes);
            assert!(outcomes(&mut conn, probed, Which::Answered).is_empty());
            let answered: Vec<_> = (1..=n)
                .rev()
                .map(|i| (format!("op-{i}"), "OK".to_owned(), 2))
                .collect();
            assert_eq!(outcomes(&mut conn, found, Which::Answered), answered);
            assert!(outcomes(&mut conn, found, Which::Unanswered).is_empty());
        }
        let mut conn = db.conn();
        assert_eq!(verify(&mut conn).unwrap(), report(2, None));

        // The person's outcome is covered by the hash.
        allow_tampering(&mut conn);
        conn.batch_execute(
            "UPDATE auditoria SET sujetos = '12345678-5,9876543-3:NO_ENCONTRADO' WHERE id = 1",
        )
        .unwrap();
        assert_eq!(verify(&mut conn).unwrap(), report(2, Some(1)));
    }
}

#[test]
fn a_subject_outcome_that_is_not_a_code_is_refused() {
    let db = TestDb::sqlite();
    let log = AuditLog::start(&db.url).unwrap();
    for code in ["", "fuera", "A,B", "A:B", "NO ENCONTRADO"] {
        let mut r = record(1, &[]);
        r.undisclosed = vec![(run(9_876_543), code)];
        assert!(
            matches!(log.append_blocking(r), Err(AuditError::Invalid(_))),
            "{code:?}"
        );
    }
    log.shutdown();
    assert!(stored_rows(&mut db.conn()).is_empty());
}

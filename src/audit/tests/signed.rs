//! Signed checkpoints catch what the hash chain alone cannot: a rewrite with every hash after
//! it recomputed, and a tail cut off (`audit/signed.rs`).

use super::*;
use crate::audit::signed::{self, SignedCheckpoint};

fn keys() -> (
    openssl::pkey::PKey<openssl::pkey::Private>,
    openssl::pkey::PKey<openssl::pkey::Public>,
) {
    let (private, public) = crate::pki::generate_pem().unwrap();
    (
        openssl::pkey::PKey::private_key_from_pem(private.as_bytes()).unwrap(),
        openssl::pkey::PKey::public_key_from_pem(public.as_bytes()).unwrap(),
    )
}

/// Rewrites record `id` and recomputes the hash of every record from it on: the chain is
/// intact again, as a tamperer with write access would leave it.
fn rewrite_and_rechain(conn: &mut DbConnection, id: i64) {
    allow_tampering(conn);
    let rows = stored_rows(conn);
    let mut previous = rows[(id - 2) as usize].hash.clone();
    for mut row in rows.into_iter().filter(|r| r.id >= id) {
        if row.id == id {
            row.operacion = "ConsultarAccesos".into();
        }
        row.hash_anterior = previous;
        row.hash = row.chain_hash();
        previous = row.hash.clone();
        diesel::update(auditoria::table.filter(auditoria::id.eq(row.id)))
            .set((
                auditoria::operacion.eq(&row.operacion),
                auditoria::hash_anterior.eq(&row.hash_anterior),
                auditoria::hash.eq(&row.hash),
            ))
            .execute(conn)
            .unwrap();
    }
}

#[test]
fn a_checkpoint_signs_exactly_its_head() {
    let (private, public) = keys();
    let cp = SignedCheckpoint::sign(&private, 7, "ab", Utc::now()).unwrap();
    assert!(cp.verifies(&public));
    for edited in [
        SignedCheckpoint {
            id: 8,
            ..cp.clone()
        },
        SignedCheckpoint {
            hash: "ac".into(),
            ..cp.clone()
        },
        SignedCheckpoint {
            ts: cp.ts + chrono::Duration::seconds(1),
            ..cp.clone()
        },
        SignedCheckpoint {
            firma: "no es base64".into(),
            ..cp.clone()
        },
    ] {
        assert!(!edited.verifies(&public), "{edited:?}");
    }
    let (_, other) = keys();
    assert!(!cp.verifies(&other), "another key");
}

#[test]
fn checkpoints_catch_a_rewrite_with_recomputed_hashes_and_a_truncation() {
    for db in databases() {
        let (private, public) = keys();
        let file = db._dir.path().join("checkpoints.jsonl");
        let log = AuditLog::start(&db.url).unwrap();
        let mut last = None;
        for i in 0..6 {
            log.append_blocking(record(i, &[7_000_000])).unwrap();
            if i == 3 || i == 5 {
                signed::checkpoint(&mut db.conn(), &private, &file, &mut last).unwrap();
            }
        }
        // Nothing new: no new line.
        assert!(
            signed::checkpoint(&mut db.conn(), &private, &file, &mut last)
                .unwrap()
                .is_none()
        );
        log.shutdown();
        let lines = signed::read_file(&file).unwrap();
        assert_eq!(lines.iter().map(|c| c.id).collect::<Vec<_>>(), [4, 6]);
        let found = signed::verify(&mut db.conn(), &lines, &public, None).unwrap();
        assert_eq!(
            (found.checked, found.problems.len()),
            (2, 0),
            "{:?}",
            found.problems
        );

        rewrite_and_rechain(&mut db.conn(), 3);
        assert_eq!(
            verify(&mut db.conn()).unwrap().first_broken,
            None,
            "the chain alone is fooled"
        );
        let found = signed::verify(&mut db.conn(), &lines, &public, None).unwrap();
        assert_eq!(found.problems.len(), 2, "{:?}", found.problems);
        assert!(found.problems[0].starts_with("line 1: record 4 is not the one signed"));

        let conn: &mut DbConnection = &mut db.conn();
        use crate::db::schema::auditoria_sujetos as sujetos;
        diesel::delete(sujetos::table.filter(sujetos::auditoria_id.gt(5)))
            .execute(conn)
            .unwrap();
        diesel::delete(auditoria::table.filter(auditoria::id.gt(5)))
            .execute(conn)
            .unwrap();
        let found = signed::verify(&mut db.conn(), &lines, &public, None).unwrap();
        assert!(
            found.problems[1].contains("the log has no record 6")
                && found.problems[1].contains("truncated"),
            "{:?}",
            found.problems
        );
    }
}

#[test]
fn a_line_that_is_not_a_checkpoint_is_named() {
    let dir = TempDir::new().unwrap();
    let file = dir.path().join("c.jsonl");
    std::fs::write(&file, "{\"id\":1}\n").unwrap();
    let error = signed::read_file(&file).unwrap_err().to_string();
    assert!(error.contains("c.jsonl:1: not a checkpoint"), "{error}");
}

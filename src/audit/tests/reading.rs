//! Reading: verification against tampering, accesses by RUN, quota counts, the hash encoding.

use std::collections::BTreeSet;

use chrono::TimeZone;
use sha2::{Digest, Sha256};

use super::*;

#[test]
fn tampering_is_named_by_record() {
    for db in databases() {
        let log = AuditLog::start(&db.url).unwrap();
        for i in 1..=10 {
            let subjects: &[u32] = if i % 2 == 0 { &[5_000_000 + i] } else { &[] };
            let mut r = record(i, subjects);
            if i == 4 {
                r.outcome = "NO_AUTORIZADO".into();
                r.http_status = 403;
            }
            log.append_blocking(r).unwrap();
        }
        log.shutdown();
        let mut conn = db.conn();
        let c: &mut DbConnection = &mut conn;
        assert_eq!(verify(c).unwrap(), report(10, None));

        let edit = "UPDATE auditoria SET resultado = 'OK' WHERE id = 4";
        assert!(
            c.batch_execute(edit).is_err(),
            "the table must refuse UPDATE"
        );
        assert!(c.batch_execute("DELETE FROM auditoria_sujetos").is_err());
        allow_tampering(c);

        c.batch_execute(edit).unwrap();
        assert_eq!(verify(c).unwrap(), report(10, Some(4)));
        c.batch_execute("UPDATE auditoria SET resultado = 'NO_AUTORIZADO' WHERE id = 4")
            .unwrap();
        assert_eq!(verify(c).unwrap(), report(10, None));

        // Rewriting the hash too moves the break to the next link.
        let mut row = stored_rows(c).remove(3);
        row.resultado = "OK".into();
        row.hash = row.chain_hash();
        diesel::update(auditoria::table.find(4))
            .set((
                auditoria::resultado.eq(&row.resultado),
                auditoria::hash.eq(&row.hash),
            ))
            .execute(c)
            .unwrap();
        assert_eq!(verify(c).unwrap(), report(10, Some(5)));
        let original = stored_rows(c)[4].hash_anterior.clone();
        diesel::update(auditoria::table.find(4))
            .set((
                auditoria::resultado.eq("NO_AUTORIZADO"),
                auditoria::hash.eq(original),
            ))
            .execute(c)
            .unwrap();
        assert_eq!(verify(c).unwrap(), report(10, None));

        // Hiding an access from the person's view.
        c.batch_execute("DELETE FROM auditoria_sujetos WHERE auditoria_id = 6")
            .unwrap();
        assert_eq!(verify(c).unwrap(), report(10, Some(6)));
        c.batch_execute("INSERT INTO auditoria_sujetos (run, auditoria_id) VALUES (5000006, 6)")
            .unwrap();
        assert_eq!(verify(c).unwrap(), report(10, None));

        // Removing a record in the middle is seen at the next one.
        c.batch_execute("DELETE FROM auditoria WHERE id = 7")
            .unwrap();
        assert_eq!(verify(c).unwrap(), report(9, Some(8)));
    }
}

#[test]
fn accesses_lists_the_records_naming_a_run_newest_first() {
    let (a, b, c) = (12_345_678, 9_876_543, 15_000_000);
    for db in databases() {
        let log = AuditLog::start(&db.url).unwrap();
        let mut refused = record(3, &[a, b]);
        refused.outcome = "NO_AUTORIZADO".into();
        refused.http_status = 403;
        refused.fields.clear();
        refused.convenio = None;
        refused.purpose = None;
        refused.transport = "soap";
        let expected_refused = Access {
            ts: Utc.timestamp_micros(refused.ts.timestamp_micros()).unwrap(),
            convenio: None,
            operation: "op-3".into(),
            purpose: None,
            fields: vec![],
            outcome: "NO_AUTORIZADO".into(),
            transport: "soap".into(),
        };
        for r in [
            record(1, &[a]),
            record(2, &[b]),
            refused,
            record(4, &[]),
            record(5, &[a, a]),
        ] {
            log.append_blocking(r).unwrap();
        }
        log.shutdown();
        let mut conn = db.conn();
        let seen = accesses(&mut conn, run(a), Which::All, 10).unwrap();
        let operations: Vec<&str> = seen.iter().map(|x| x.operation.as_str()).collect();
        assert_eq!(operations, ["op-5", "op-3", "op-1"]);
        assert_eq!(seen[1], expected_refused);
        assert_eq!(seen[0].fields, ["puntaje", "hogar.integrantes"]);
        assert_eq!(seen[0].convenio.as_deref(), Some("minvu"));
        let latest: Vec<String> = accesses(&mut conn, run(a), Which::All, 2)
            .unwrap()
            .into_iter()
            .map(|x| x.operation)
            .collect();
        assert_eq!(latest, ["op-5", "op-3"]);
        let for_b: Vec<String> = accesses(&mut conn, run(b), Which::All, 10)
            .unwrap()
            .into_iter()
            .map(|x| x.operation)
            .collect();
        assert_eq!(for_b, ["op-3", "op-2"]);
        assert!(
            accesses(&mut conn, run(c), Which::All, 10)
                .unwrap()
                .is_empty()
        );
        assert_eq!(verify(&mut conn).unwrap(), report(5, None));
    }
}

#[test]
fn count_since_counts_one_convenio_from_a_time() {
    for db in databases() {
        let log = AuditLog::start(&db.url).unwrap();
        let midnight = Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap();
        for (i, (convenio, minutes)) in [("minvu", -5), ("minvu", 0), ("minvu", 30), ("ips", 10)]
            .into_iter()
            .enumerate()
        {
            let mut r = record(u32::try_from(i).unwrap(), &[]);
            r.convenio = Some(convenio.into());
            r.ts = midnight + chrono::Duration::minutes(minutes);
            log.append_blocking(r).unwrap();
        }
        let mut anonymous = record(9, &[]);
        anonymous.convenio = None;
        log.append_blocking(anonymous).unwrap();
        log.shutdown();
        let mut conn = db.conn();
        let since = midnight.timestamp_micros();
        assert_eq!(count_since(&mut conn, "minvu", since).unwrap(), 2);
        assert_eq!(count_since(&mut conn, "ips", since).unwrap(), 1);
        assert_eq!(count_since(&mut conn, "suseso", since).unwrap(), 0);
        assert_eq!(count_since(&mut conn, "minvu", i64::MIN).unwrap(), 3);
    }
}

#[test]
fn the_hash_follows_the_documented_encoding() {
    let row = AuditRow {
        id: 1,
        ts_us: 1_764_288_000_000_000,
        convenio: Some("minvu".into()),
        certificado: None,
        operacion: "ConsultarFichaFPS".into(),
        transporte: "rest".into(),
        id_mensaje: "m-1".into(),
        sujetos: "12345678-5".into(),
        proposito: Some(String::new()),
        campos: "puntaje,quintil".into(),
        resultado: "OK".into(),
        estado_http: 200,
        latencia_us: 1_500,
        hash_anterior: GENESIS_HASH.into(),
        hash: String::new(),
        xroad: None,
        omitidos: None,
        personas: None,
        usuario: None,
        nodo: None,
    };
    let mut bytes = Vec::new();
    let text = |bytes: &mut Vec<u8>, s: &str| {
        bytes.extend((s.len() as u64).to_be_bytes());
        bytes.extend(s.as_bytes());
    };
    text(&mut bytes, GENESIS_HASH);
    bytes.extend(1i64.to_be_bytes());
    bytes.extend(1_764_288_000_000_000i64.to_be_bytes());
    bytes.push(1);
    text(&mut bytes, "minvu");
    bytes.push(0);
    for s in ["ConsultarFichaFPS", "rest", "m-1", "12345678-5"] {
        text(&mut bytes, s);
    }
    bytes.push(1);
    text(&mut bytes, "");
    text(&mut bytes, "puntaje,quintil");
    text(&mut bytes, "OK");
    bytes.extend(200i64.to_be_bytes());
    bytes.extend(1_500i64.to_be_bytes());
    assert_eq!(row.chain_hash(), hex::encode(Sha256::digest(&bytes)));

    // X-Road headers, when present, follow as one more nullable text.
    let with_xroad = AuditRow {
        xroad: Some("userId=CL1".into()),
        ..row.clone()
    };
    let mut more = bytes.clone();
    more.push(1);
    text(&mut more, "userId=CL1");
    assert_eq!(with_xroad.chain_hash(), hex::encode(Sha256::digest(&more)));

    // A refusal summary's count follows as the byte 2 and the integer, with or without X-Road.
    let summary = AuditRow {
        omitidos: Some(41),
        ..row.clone()
    };
    let mut counted = bytes.clone();
    counted.push(2);
    counted.extend(41i64.to_be_bytes());
    assert_eq!(summary.chain_hash(), hex::encode(Sha256::digest(&counted)));
    let both = AuditRow {
        omitidos: Some(41),
        ..with_xroad.clone()
    };
    more.push(2);
    more.extend(41i64.to_be_bytes());
    assert_eq!(both.chain_hash(), hex::encode(Sha256::digest(&more)));

    // The persons a request was charged follow as the byte 3 and the integer.
    let charged = AuditRow {
        personas: Some(500),
        ..row.clone()
    };
    let mut cost = bytes.clone();
    cost.push(3);
    cost.extend(500i64.to_be_bytes());
    assert_eq!(charged.chain_hash(), hex::encode(Sha256::digest(&cost)));

    // The console user who asked follows as the byte 4 and the text.
    let official = AuditRow {
        usuario: Some("44444444-4".into()),
        ..charged.clone()
    };
    let mut named = cost.clone();
    named.push(4);
    text(&mut named, "44444444-4");
    assert_eq!(official.chain_hash(), hex::encode(Sha256::digest(&named)));

    // The node that wrote it (several over one database) follows as the byte 5 and the text;
    // a record without one hashes as before it existed.
    let noded = AuditRow {
        nodo: Some("n-1".into()),
        ..official.clone()
    };
    let mut by_node = named.clone();
    by_node.push(5);
    text(&mut by_node, "n-1");
    assert_eq!(noded.chain_hash(), hex::encode(Sha256::digest(&by_node)));
    let mut other_node = named.clone();
    other_node.push(5);
    text(&mut other_node, "n-2");
    assert_ne!(noded.chain_hash(), hex::encode(Sha256::digest(&other_node)));

    // Every column counts, NULL is not empty, and moving a boundary changes the hash.
    let variants: Vec<AuditRow> = vec![
        AuditRow {
            proposito: None,
            ..row.clone()
        },
        AuditRow {
            operacion: "ConsultarFichaFP".into(),
            transporte: "Srest".into(),
            ..row.clone()
        },
        AuditRow {
            estado_http: 201,
            ..row.clone()
        },
        AuditRow {
            id: 2,
            ..row.clone()
        },
        AuditRow {
            hash_anterior: "1".repeat(64),
            ..row.clone()
        },
        AuditRow {
            hash: "ignored".into(),
            ..row.clone()
        },
    ];
    let base = row.chain_hash();
    let (ignored, counted) = variants.split_last().unwrap();
    assert_eq!(ignored.chain_hash(), base, "`hash` itself is left out");
    let distinct: BTreeSet<String> = counted.iter().map(AuditRow::chain_hash).collect();
    assert_eq!(distinct.len(), counted.len());
    assert!(!distinct.contains(&base));
}

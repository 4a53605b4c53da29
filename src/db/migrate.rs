//! Embedded migrations, one tree per backend with identical migration names.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{DbConnection, DbError};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// The migration names every backend must carry, in order (checked by a test).
pub const MIGRATION_NAMES: &[&str] = &[
    "2026-11-28-000001_registry",
    "2026-11-28-000002_audit",
    "2026-11-28-000003_audit_xroad",
    "2026-11-28-000004_encuestajes",
    "2026-11-28-000005_certificados",
    "2026-11-28-000006_estadisticas",
    "2026-11-28-000007_lotes",
    "2026-11-28-000008_audit_file",
    "2026-11-28-000009_audit_index",
    "2026-11-28-000010_encuestaje_ambito",
    "2026-12-04-000011_audit_cuentas",
    "2026-12-05-000012_audit_archivos",
    "2026-12-06-000013_consola",
    "2026-12-07-000014_audit_nodo",
    "2026-12-07-000015_compartido",
    "2026-12-07-000016_recargas",
    "2026-12-08-000017_encuestas",
    "2026-12-08-000018_hogar_eventos",
    "2026-12-08-000019_postulaciones",
    "2026-12-08-000020_decretos",
    "2026-12-09-000021_eventos",
    "2026-12-09-000022_suscripciones",
    "2026-12-09-000023_dci",
    "2026-12-10-000024_dci_async",
    "2026-12-11-000025_retencion",
    "2026-12-11-000026_dci_callbacks",
    "2026-12-11-000027_entregas_cola",
    "2026-12-12-000028_chile_solidario",
    "2026-12-12-000029_crece_contigo",
    "2026-12-12-000030_emergencias",
];

/// The versions Diesel records for [`MIGRATION_NAMES`] in `__diesel_schema_migrations`
/// (`2026-11-28-000001_registry` is `20261128000001`), oldest first.
pub fn migration_versions() -> Vec<String> {
    MIGRATION_NAMES
        .iter()
        .map(|name| {
            let date = name.split('_').next().unwrap_or(name);
            date.replace('-', "")
        })
        .collect()
}

/// Applies pending migrations and returns the names of those applied now.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE),
        DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES),
    }
    .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Reverts the last applied migration (its `down.sql`), to test that it puts back what it
/// replaced.
#[cfg(test)]
pub(crate) fn revert_last_migration(conn: &mut DbConnection) -> Result<String, DbError> {
    let reverted = match conn {
        DbConnection::Sqlite(c) => c.revert_last_migration(SQLITE),
        DbConnection::Pg(c) => c.revert_last_migration(POSTGRES),
    }
    .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(reverted.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::connection::SimpleConnection;
    use diesel::migration::MigrationSource;
    use diesel::pg::Pg;
    use diesel::sqlite::Sqlite;

    fn names<DB: diesel::backend::Backend>(source: &impl MigrationSource<DB>) -> Vec<String> {
        let mut names: Vec<String> = source
            .migrations()
            .unwrap()
            .iter()
            .map(|m| m.name().to_string())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn both_trees_hold_the_same_migrations() {
        let sqlite = names::<Sqlite>(&SQLITE);
        let postgres = names::<Pg>(&POSTGRES);
        assert_eq!(
            sqlite, postgres,
            "migrations/sqlite and migrations/postgres drifted"
        );
        assert_eq!(sqlite, MIGRATION_NAMES);
    }

    /// A registry from before the audit log had its own file keeps every record, chained as
    /// before, and the registry file is left without audit tables.
    #[test]
    fn sqlite_audit_records_move_to_their_own_file_intact() {
        use crate::audit::{AuditLog, AuditRecord, verify};
        use crate::db::{ConnectionManager, DatabaseUrl};
        use diesel::prelude::*;
        use diesel::sql_types::BigInt;

        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let dir = tempfile::TempDir::new().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("siis.db"));
        let manager = ConnectionManager::new(url.clone());
        let mut conn = manager.open().unwrap();
        // The layout before 000008: audit tables inside the registry file.
        let DbConnection::Sqlite(c) = &mut conn else {
            unreachable!()
        };
        for _ in 0..3 {
            c.run_next_migration(SQLITE).unwrap();
        }
        // The records, chained by today's writer in a registry of its own and copied into the
        // old layout: a record without the columns added later hashes as it always did.
        let source = DatabaseUrl::Sqlite(dir.path().join("fuente.db"));
        run_migrations(&mut ConnectionManager::new(source.clone()).open().unwrap()).unwrap();
        let log = AuditLog::start(&source).unwrap();
        for n in 0..5u32 {
            log.append_blocking(AuditRecord {
                ts: chrono::Utc::now(),
                convenio: Some("minvu".into()),
                certificate: None,
                operation: format!("op-{n}"),
                transport: "rest",
                message_id: format!("m-{n}"),
                subjects: vec![crate::domain::Run::from_numero(5_000_000 + n).unwrap()],
                undisclosed: Vec::new(),
                purpose: None,
                fields: vec!["puntaje".into()],
                outcome: "OK".into(),
                http_status: 200,
                latency_us: 10,
                xroad: (n == 4).then(|| "{}".into()),
                omitidos: None,
                personas: None,
                usuario: None,
            })
            .unwrap();
        }
        log.shutdown();
        let columns = "id, ts_us, convenio, certificado, operacion, transporte, id_mensaje, \
                       sujetos, proposito, campos, resultado, estado_http, latencia_us, \
                       hash_anterior, hash, xroad";
        conn.batch_execute(&format!(
            "ATTACH '{}' AS fuente; \
             INSERT INTO main.auditoria ({columns}) SELECT {columns} FROM fuente.auditoria; \
             DETACH fuente;",
            source.audit_file().unwrap().display()
        ))
        .unwrap();
        // The writer of that time put each record's index rows in the same commit.
        conn.batch_execute(
            "INSERT INTO auditoria_sujetos (run, auditoria_id) SELECT 4999999 + id, id FROM auditoria",
        )
        .unwrap();
        let in_main = |conn: &mut DbConnection| {
            diesel::sql_query(
                "SELECT count(*) AS n FROM main.sqlite_master WHERE name LIKE 'auditoria%'",
            )
            .get_result::<Count>(conn)
            .unwrap()
            .n
        };
        assert!(in_main(&mut conn) > 0);

        let applied = run_migrations(&mut conn).unwrap();
        assert!(applied.iter().any(|v| v == "20261128000008"), "{applied:?}");
        assert!(applied.iter().any(|v| v == "20261128000009"), "{applied:?}");
        assert_eq!(
            in_main(&mut conn),
            0,
            "the registry file keeps no audit table"
        );
        let report = verify(&mut conn).unwrap();
        assert_eq!(
            (report.records, report.first_broken, report.unindexed),
            (5, None, 0)
        );
        assert!(url.audit_file().unwrap().exists());
        // 000009: the by-person index moved on to its own file, complete up to the last record.
        assert!(url.audit_index_file().unwrap().exists());
        let count = |conn: &mut DbConnection, sql: &str| {
            diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
        };
        assert_eq!(
            count(
                &mut conn,
                "SELECT count(*) AS n FROM indice.auditoria_sujetos"
            ),
            5
        );
        assert_eq!(
            count(
                &mut conn,
                "SELECT hasta AS n FROM indice.auditoria_sujetos_hasta"
            ),
            5
        );
        assert_eq!(
            count(
                &mut conn,
                "SELECT count(*) AS n FROM audit.sqlite_master WHERE name LIKE 'auditoria_sujetos%'"
            ),
            0
        );
        assert_eq!(
            crate::audit::accesses(
                &mut conn,
                crate::domain::Run::from_numero(5_000_002).unwrap(),
                crate::audit::Which::All,
                10
            )
            .unwrap()
            .len(),
            1
        );

        // The log goes on from the moved chain, in the audit file.
        let log = AuditLog::start(&url).unwrap();
        let mut record = AuditRecord {
            omitidos: None,
            personas: None,
            usuario: None,
            ts: chrono::Utc::now(),
            convenio: None,
            certificate: None,
            operation: "after".into(),
            transport: "rest",
            message_id: "after".into(),
            subjects: Vec::new(),
            undisclosed: Vec::new(),
            purpose: None,
            fields: Vec::new(),
            outcome: "OK".into(),
            http_status: 200,
            latency_us: 1,
            xroad: None,
        };
        assert_eq!(log.append_blocking(record.clone()).unwrap().get(), 6);
        record.message_id = "after-2".into();
        log.append_blocking(record).unwrap();
        log.shutdown();
        let report = verify(&mut conn).unwrap();
        assert_eq!(
            (report.records, report.first_broken, report.unindexed),
            (7, None, 0)
        );
        // Append-only still holds in the new file.
        assert!(
            conn.batch_execute("DELETE FROM auditoria WHERE id = 1")
                .is_err()
        );
    }

    /// The shape of a registry: every table, column, type, default and index, as text.
    fn shape(conn: &mut DbConnection) -> Vec<String> {
        use diesel::prelude::*;
        use diesel::sql_types::Text;

        #[derive(QueryableByName)]
        struct Line {
            #[diesel(sql_type = Text)]
            line: String,
        }
        let sql = match conn {
            DbConnection::Sqlite(_) => {
                // `sqlite_sequence` is SQLite's own, made by the first AUTOINCREMENT table
                // (`eventos`); it cannot be dropped, and holds no shape of ours.
                "SELECT type || ' ' || name || ' ' || coalesce(sql, '') AS line \
                 FROM main.sqlite_master WHERE name <> 'sqlite_sequence' ORDER BY type, name"
            }
            DbConnection::Pg(_) => {
                "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || \
                 is_nullable || ' ' || coalesce(column_default, '') AS line \
                 FROM information_schema.columns WHERE table_schema = 'public' \
                 UNION ALL SELECT indexdef AS line FROM pg_indexes WHERE schemaname = 'public' \
                 UNION ALL SELECT conrelid::regclass::text || ' ' || pg_get_constraintdef(oid) \
                 AS line FROM pg_constraint WHERE connamespace = 'public'::regnamespace \
                 ORDER BY line"
            }
        };
        diesel::sql_query(sql)
            .load::<Line>(conn)
            .unwrap()
            .into_iter()
            .map(|l| l.line)
            .collect()
    }

    /// Migrates a fresh registry up to just before 000018, then all the way, then back down
    /// past 000018: the shape is what it was (each `down.sql` restores exactly what its
    /// `up.sql` changed).
    fn hogar_eventos_reverts_exactly(url: crate::db::DatabaseUrl) {
        use crate::db::ConnectionManager;
        let mut conn = ConnectionManager::new(url).open().unwrap();
        let before = MIGRATION_NAMES
            .iter()
            .position(|n| *n == "2026-12-08-000018_hogar_eventos")
            .unwrap();
        for _ in 0..before {
            match &mut conn {
                DbConnection::Sqlite(c) => c.run_next_migration(SQLITE).map(|_| ()),
                DbConnection::Pg(c) => c.run_next_migration(POSTGRES).map(|_| ()),
            }
            .unwrap();
        }
        let antes = shape(&mut conn);
        run_migrations(&mut conn).unwrap();
        let con = shape(&mut conn);
        assert!(con.iter().any(|l| l.contains("hogar_eventos")), "{con:?}");
        for _ in before..MIGRATION_NAMES.len() {
            revert_last_migration(&mut conn).unwrap();
        }
        assert_eq!(shape(&mut conn), antes);
    }

    #[test]
    fn sqlite_hogar_eventos_reverts_exactly() {
        let dir = tempfile::TempDir::new().unwrap();
        hogar_eventos_reverts_exactly(crate::db::DatabaseUrl::Sqlite(dir.path().join("siis.db")));
    }

    #[test]
    fn postgres_hogar_eventos_reverts_exactly() {
        use diesel::prelude::*;
        let Ok(admin) = std::env::var("SIIS_TEST_POSTGRES_URL") else {
            return;
        };
        let name = format!("siis_migrate_{}", std::process::id());
        let mut server = diesel::pg::PgConnection::establish(&admin).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut server)
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        let outcome = std::panic::catch_unwind(|| {
            hogar_eventos_reverts_exactly(crate::db::DatabaseUrl::parse(url.as_str()).unwrap())
        });
        diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
            .execute(&mut server)
            .unwrap();
        outcome.unwrap();
    }

    /// 000010 rebuilds the survey tables on SQLite (a foreign key cannot be dropped there):
    /// requests and their events made before it are all kept, and after it a request may name
    /// a RUN the registry does not hold and a person may have one open request per comuna.
    #[test]
    fn sqlite_survey_requests_made_before_000010_are_kept() {
        use crate::db::{ConnectionManager, DatabaseUrl};
        use diesel::prelude::*;
        use diesel::sql_types::BigInt;

        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        let count = |conn: &mut DbConnection, sql: &str| {
            diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
        };
        let dir = tempfile::TempDir::new().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("siis.db"));
        let mut conn = ConnectionManager::new(url).open().unwrap();
        let DbConnection::Sqlite(c) = &mut conn else {
            unreachable!()
        };
        for _ in 0..9 {
            c.run_next_migration(SQLITE).unwrap();
        }
        crate::db::sync_reference(&mut conn).unwrap();
        let open = "('solicitada', 'visita_programada', 'visita_fallida')";
        let request = |id: &str, run: u32, cut: &str, estado: &str| {
            format!(
                "INSERT INTO encuestajes VALUES ('{id}', {run}, '{cut}', 'minvu', '{estado}', 0, \
                 '2026-11-01', '2026-12-01', NULL, NULL, NULL, NULL, NULL, 0, 1, 1); \
                 INSERT INTO encuestaje_eventos VALUES ('{id}', 0, 'solicitar', '{estado}', NULL, \
                 NULL, 'minvu', 1);"
            )
        };
        conn.batch_execute(&format!(
            "INSERT INTO personas VALUES (5000000, 'ANA', 'SOTO', 'PÉREZ', '1960-05-17', 'F', \
             'CL', NULL); {} {}",
            request("a", 5_000_000, "13101", "solicitada"),
            request("b", 5_000_000, "05101", "anulada"),
        ))
        .unwrap();
        // Before: one open request per person, a RUN the registry holds.
        assert!(
            conn.batch_execute(&request("c", 5_000_000, "05101", "solicitada"))
                .is_err()
        );
        assert!(
            conn.batch_execute(&request("d", 6_000_000, "13101", "solicitada"))
                .is_err()
        );

        let applied = run_migrations(&mut conn).unwrap();
        assert!(applied.iter().any(|v| v == "20261128000010"), "{applied:?}");
        assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM encuestajes"), 2);
        assert_eq!(
            count(&mut conn, "SELECT count(*) AS n FROM encuestaje_eventos"),
            2
        );
        conn.batch_execute(&request("c", 5_000_000, "05101", "solicitada"))
            .unwrap();
        conn.batch_execute(&request("d", 6_000_000, "13101", "solicitada"))
            .unwrap();
        // Still one open request per person and comuna, and events of existing requests only.
        assert!(
            conn.batch_execute(&request("e", 5_000_000, "13101", "solicitada"))
                .is_err()
        );
        assert!(
            conn.batch_execute(
                "INSERT INTO encuestaje_eventos VALUES ('z', 0, 'solicitar', 'solicitada', NULL, \
                 NULL, 'minvu', 1)"
            )
            .is_err()
        );
        assert_eq!(
            count(
                &mut conn,
                &format!("SELECT count(*) AS n FROM encuestajes WHERE estado IN {open}")
            ),
            3
        );
    }
}

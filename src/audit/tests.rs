//! The audit log against real databases: SQLite always, PostgreSQL when
//! `SIIS_TEST_POSTGRES_URL` names a server (each test creates and drops its own database).

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use tempfile::TempDir;

use super::row::AuditRow;
use super::*;
use crate::db::schema::auditoria;
use crate::db::{ConnectionManager, DatabaseUrl, DbConnection, Pool, PooledConnection, open_pool};

mod nodos;
mod reading;
mod signed;
mod sujetos;
mod wal;
mod writing;

struct TestDb {
    url: DatabaseUrl,
    pool: Option<Pool>,
    /// (admin URL, database name) of a PostgreSQL database to drop at the end.
    postgres: Option<(String, String)>,
    _dir: TempDir,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl TestDb {
    fn sqlite() -> TestDb {
        let dir = TempDir::new().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("siis.db"));
        TestDb::migrated(url, None, dir)
    }

    fn postgres(admin: &str) -> TestDb {
        let name = format!(
            "siis_audit_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = PgConnection::establish(admin).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .unwrap();
        let mut url = url::Url::parse(admin).unwrap();
        url.set_path(&name);
        let url = DatabaseUrl::parse(url.as_str()).unwrap();
        TestDb::migrated(url, Some((admin.to_owned(), name)), TempDir::new().unwrap())
    }

    fn migrated(url: DatabaseUrl, postgres: Option<(String, String)>, dir: TempDir) -> TestDb {
        let mut db = TestDb {
            url,
            pool: None,
            postgres,
            _dir: dir,
        };
        db.pool = Some(open_pool(&db.url, 2, Duration::from_secs(5)).unwrap());
        db
    }

    fn conn(&self) -> PooledConnection {
        self.pool.as_ref().unwrap().get().unwrap()
    }

    fn is_sqlite(&self) -> bool {
        matches!(self.url, DatabaseUrl::Sqlite(_))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        drop(self.pool.take());
        if let Some((admin, name)) = &self.postgres
            && let Ok(mut conn) = PgConnection::establish(admin)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

/// SQLite always; PostgreSQL too when `SIIS_TEST_POSTGRES_URL` is set.
fn databases() -> Vec<TestDb> {
    let mut all = vec![TestDb::sqlite()];
    if let Ok(admin) = std::env::var("SIIS_TEST_POSTGRES_URL")
        && !admin.is_empty()
    {
        all.push(TestDb::postgres(&admin));
    }
    all
}

/// PostgreSQL for a test case of that backend, when `SIIS_TEST_POSTGRES_URL` names a server;
/// otherwise `None`, said on stderr, and the case passes without running.
fn postgres_db() -> Option<TestDb> {
    match std::env::var("SIIS_TEST_POSTGRES_URL") {
        Ok(admin) if !admin.is_empty() => Some(TestDb::postgres(&admin)),
        _ => {
            eprintln!("SIIS_TEST_POSTGRES_URL is not set: the PostgreSQL case did not run");
            None
        }
    }
}

/// One test case per backend (`name::sqlite`, `name::postgres`), so that one backend's
/// failure never hides the other's result: `per_backend!(fn name(db) { ... });`.
macro_rules! per_backend {
    ($(#[$meta:meta])* fn $name:ident($db:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            use super::*;

            fn case($db: TestDb) $body

            #[test]
            fn sqlite() {
                case(TestDb::sqlite())
            }

            #[test]
            fn postgres() {
                if let Some(db) = postgres_db() {
                    case(db)
                }
            }
        }
    };
}

// After the macro: `macro_rules!` is seen only by the code that follows it.
mod archivo;

fn run(numero: u32) -> Run {
    Run::from_numero(numero).unwrap()
}

fn record(n: u32, subjects: &[u32]) -> AuditRecord {
    AuditRecord {
        omitidos: None,
        personas: None,
        usuario: None,
        xroad: None,
        ts: Utc::now(),
        convenio: Some("minvu".into()),
        certificate: Some("ab".repeat(32)),
        operation: format!("op-{n}"),
        transport: "rest",
        message_id: format!("msg-{n}"),
        subjects: subjects.iter().map(|&s| run(s)).collect(),
        undisclosed: Vec::new(),
        purpose: Some("postulación DS49".into()),
        fields: vec!["puntaje".into(), "hogar.integrantes".into()],
        outcome: "OK".into(),
        http_status: 200,
        latency_us: 1_500,
    }
}

fn stored_rows(conn: &mut DbConnection) -> Vec<AuditRow> {
    auditoria::table
        .order(auditoria::id.asc())
        .select(AuditRow::as_select())
        .load(conn)
        .unwrap()
}

fn report(records: u64, first_broken: Option<i64>) -> VerifyReport {
    VerifyReport {
        records,
        first_broken,
        unindexed: 0,
        archived: 0,
        archived_left: 0,
        por_nodo: Default::default(),
    }
}

/// Removes the append-only guard, as someone tampering with the database would.
fn allow_tampering(conn: &mut DbConnection) {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "DROP TRIGGER auditoria_solo_insercion_u; DROP TRIGGER auditoria_solo_insercion_d;
             DROP TRIGGER auditoria_sujetos_solo_insercion_u;
             DROP TRIGGER auditoria_sujetos_solo_insercion_d;"
        }
        DbConnection::Pg(_) => {
            "ALTER TABLE auditoria DISABLE TRIGGER USER;
             ALTER TABLE auditoria_sujetos DISABLE TRIGGER USER;"
        }
    };
    conn.batch_execute(sql).unwrap();
}

/// Makes every insert into `table` (`auditoria` or `auditoria_sujetos`) fail, or stops doing so.
fn refuse_inserts(conn: &mut DbConnection, table: &str, refuse: bool) {
    let sql = match (&*conn, refuse) {
        (DbConnection::Sqlite(_), true) => {
            let schema = if table == "auditoria" {
                "audit"
            } else {
                "indice"
            };
            format!(
                "CREATE TRIGGER {schema}.test_refuse BEFORE INSERT ON {table}
                 BEGIN SELECT RAISE(ABORT, 'test: insert refused'); END;"
            )
        }
        (DbConnection::Sqlite(_), false) => "DROP TRIGGER test_refuse;".to_owned(),
        (DbConnection::Pg(_), true) => format!(
            "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'test: insert refused'; END $$;
             CREATE TRIGGER test_refuse BEFORE INSERT ON {table}
             FOR EACH ROW EXECUTE FUNCTION test_refuse();"
        ),
        (DbConnection::Pg(_), false) => {
            format!("DROP TRIGGER test_refuse ON {table}; DROP FUNCTION test_refuse();")
        }
    };
    conn.batch_execute(&sql).unwrap();
}

//! Storage: migrations on both backends, the territory catalogue, and schema parity.

use diesel::prelude::*;
use diesel::sql_types::Text;
use siis::db::schema::{comunas, regiones};
use siis::db::{ConnectionManager, DbConnection, open_pool};
use std::time::Duration;
use tempfile::TempDir;

use crate::per_backend;
use crate::support::{Backend, TestDb, postgres_only};

per_backend!(
    fn migrations_apply_once_and_load_the_territory(backend) {
        let dir = TempDir::new().unwrap();
        let db = TestDb::new(backend, dir.path());
        open_pool(&db.url, 2, Duration::from_secs(5)).unwrap();
        // A second start applies nothing and duplicates nothing.
        let pool = open_pool(&db.url, 2, Duration::from_secs(5)).unwrap();
        let mut conn = pool.get().unwrap();
        assert!(siis::db::run_migrations(&mut conn).unwrap().is_empty());
        let n_comunas: i64 = comunas::table.count().get_result(&mut **conn).unwrap();
        let n_regiones: i64 = regiones::table.count().get_result(&mut **conn).unwrap();
        assert_eq!((n_comunas, n_regiones), (346, 15), "{backend:?}");
        let iquique: String = comunas::table
            .find("01101")
            .select(comunas::nombre)
            .first(&mut **conn)
            .unwrap();
        assert_eq!(iquique, "IQUIQUE");
    }
);

#[derive(QueryableByName, PartialEq, Debug)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn columns(conn: &mut DbConnection) -> Vec<(String, String)> {
    let query = match conn {
        DbConnection::Sqlite(_) => {
            // The registry file, the audit log's own file (attached as `audit`) and its
            // by-person index's (attached as `indice`).
            "SELECT m.name AS table_name, p.name AS column_name \
             FROM (SELECT name, type FROM main.sqlite_master \
                   UNION ALL SELECT name, type FROM audit.sqlite_master \
                   UNION ALL SELECT name, type FROM indice.sqlite_master) m, \
                  pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
             AND m.name <> '__diesel_schema_migrations'"
        }
        DbConnection::Pg(_) => {
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns WHERE table_schema = 'public' \
             AND table_name <> '__diesel_schema_migrations'"
        }
    };
    let mut all: Vec<(String, String)> = diesel::sql_query(query)
        .load::<Column>(conn)
        .unwrap()
        .into_iter()
        .map(|c| (c.table_name, c.column_name))
        .collect();
    all.sort();
    all
}

/// The tables and columns a fresh registry of the backend has.
fn shape(backend: Backend) -> Vec<(String, String)> {
    let dir = TempDir::new().unwrap();
    let db = TestDb::new(backend, dir.path());
    drop(open_pool(&db.url, 1, Duration::from_secs(5)).unwrap());
    let mut conn = ConnectionManager::new(db.url.clone()).open().unwrap();
    let found = columns(&mut conn);
    assert!(found.contains(&("personas".into(), "run".into())));
    found
}

// The PostgreSQL case compares its shape with SQLite's.
per_backend!(
    fn both_backends_have_the_same_tables_and_columns(backend) {
        let found = shape(backend);
        if backend == Backend::Postgres {
            let (sqlite, postgres) = (shape(Backend::Sqlite), found);
            assert_eq!(
                sqlite, postgres,
                "migrations/sqlite and migrations/postgres drifted"
            );
        }
    }
);

/// A pool over a fresh SQLite registry in a folder that lives as long as the returned guard.
fn sqlite_pool() -> (TempDir, siis::db::Pool) {
    let dir = TempDir::new().unwrap();
    let db = TestDb::new(Backend::Sqlite, dir.path());
    let pool = open_pool(&db.url, 2, Duration::from_secs(5)).unwrap();
    (dir, pool)
}

/// Each connection's page cache is held to its own `cache_size`. With SQLite's shared pool
/// (`SQLITE_ENABLE_MEMORY_MANAGEMENT`, libsqlite3-sys's default) the audit writer took pages
/// from the index thread's cache and the node grew ~9 MiB a minute under the benchmark's mix;
/// `.cargo/config.toml` builds SQLite without it. Fails if that setting is lost.
#[test]
fn sqlite_page_caches_are_held_per_connection() {
    let (_dir, pool) = sqlite_pool();
    let mut conn = pool.get().unwrap();
    assert!(
        !siis::db::shared_page_cache(&mut conn).unwrap(),
        "SQLite was built with SQLITE_ENABLE_MEMORY_MANAGEMENT (see .cargo/config.toml)"
    );
}

#[test]
fn sqlite_runs_in_wal_mode_with_foreign_keys() {
    let (_dir, pool) = sqlite_pool();
    let mut conn = pool.get().unwrap();
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }
    let mode: Vec<Mode> = diesel::sql_query("PRAGMA journal_mode")
        .load(&mut **conn)
        .unwrap();
    assert_eq!(mode[0].journal_mode, "wal");
    // Foreign keys are enforced: a household in an unknown comuna is refused.
    let refused =
        diesel::sql_query("INSERT INTO hogares (id, cut, direccion) VALUES (1, '99999', 'x')")
            .execute(&mut **conn);
    assert!(refused.is_err());
}

#[derive(QueryableByName)]
struct BackendPid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

fn backend_pid(conn: &mut DbConnection) -> Result<i32, siis::db::DbError> {
    Ok(diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<BackendPid>(conn)?
        .pid)
}

/// Ends the server side of connection `pid` from outside, as a PostgreSQL restart or an
/// administrator would, and waits until the server has let it go.
fn terminate(url: &siis::db::DatabaseUrl, pid: i32) {
    let mut admin = ConnectionManager::new(url.clone()).open().unwrap();
    diesel::sql_query(format!("SELECT pg_terminate_backend({pid})"))
        .execute(&mut admin)
        .unwrap();
    for _ in 0..100 {
        let alive = diesel::sql_query(format!(
            "SELECT pid FROM pg_stat_activity WHERE pid = {pid}"
        ))
        .load::<BackendPid>(&mut admin)
        .unwrap();
        if alive.is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("backend {pid} still alive");
}

/// A PostgreSQL connection whose server side ended is not handed out again. One used within
/// the last `RECENTLY_USED` is given out untested: its request fails (503) and the connection
/// is dropped, so the next request gets a new one. One idle for longer is tested at checkout
/// and replaced before any request sees it. A query error that is not about the connection
/// keeps it. Code that takes a connection from the pool itself gets the same.
#[actix_web::test]
async fn postgres_connections_the_server_closed_are_replaced() {
    use siis::state::AppState;
    let Some(backend) = postgres_only() else {
        return;
    };
    let dir = TempDir::new().unwrap();
    let db = TestDb::new(backend, dir.path());
    let pool = open_pool(&db.url, 1, Duration::from_secs(5)).unwrap();
    let state = AppState {
        config: std::sync::Arc::new(siis::config::Config::default()),
        pool,
    };
    let pid = || state.with_db(|conn| backend_pid(conn));

    let first = pid().await.unwrap();
    let failing = state
        .with_db(|conn| Ok(diesel::sql_query("SELECT 1 / 0").execute(&mut ***conn)?))
        .await;
    assert!(failing.is_err());
    assert_eq!(
        pid().await.unwrap(),
        first,
        "a failed query kept its connection"
    );

    terminate(&db.url, first);
    let error = pid().await.unwrap_err();
    assert_eq!(
        actix_web::ResponseError::status_code(&error),
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE
    );
    let second = pid().await.unwrap();
    assert_ne!(second, first);

    terminate(&db.url, second);
    std::thread::sleep(siis::db::RECENTLY_USED + Duration::from_millis(100));
    let third = pid()
        .await
        .expect("an idle connection is tested before use");
    assert_ne!(third, second);

    // The same outside a request: the connection notes the failure itself.
    terminate(&db.url, third);
    let mut conn = state.pool.get().unwrap();
    assert!(backend_pid(&mut conn).is_err());
    drop(conn);
    let fourth = backend_pid(&mut state.pool.get().unwrap()).unwrap();
    assert_ne!(fourth, third);
}

//! Storage: one Diesel connection type over SQLite and PostgreSQL, chosen by the database URL,
//! an r2d2 pool that keeps the real connection error, embedded migrations, and the registry model.
//!
//! Backend-specific SQL (pragmas, bulk loading) lives in this module only.

mod conn;
pub mod lider;
mod migrate;
pub mod models;
mod reference;
pub mod replicas;
pub mod schema;
mod url;
mod write;

pub use conn::{
    ConnectionManager, DbConnection, DbError, Pool, Pooled, PooledConnection, RECENTLY_USED,
    open_pool, shared_page_cache,
};
pub(crate) use conn::{SQLITE_PRAGMAS, count, forget_stat4_samples, on_backend};
#[cfg(test)]
pub(crate) use migrate::revert_last_migration;
pub use migrate::{MIGRATION_NAMES, migration_versions, run_migrations};
pub use reference::sync_reference;
pub use url::{CONNECT_TIMEOUT_SECS, DatabaseUrl, DatabaseUrlError, with_connect_timeout};
pub use write::{AUDIT_CHAIN_LOCK, FOLIO_LOCK, write_transaction};

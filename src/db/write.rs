//! The transaction a request's write runs in, so that the broker can commit it together with
//! its audit record (README, *Audit*).

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};

use super::DbConnection;

/// Runs `work` in a transaction that holds the registry's write lock from its first statement,
/// commits it when `work` succeeds and rolls it back when it fails.
///
/// On SQLite a deferred transaction that reads before it writes fails with `SQLITE_BUSY` when
/// another connection committed in between, and `BEGIN IMMEDIATE` would also lock the audit
/// files attached to every connection (the audit writer, which this transaction waits for,
/// would then wait for it). So the transaction begins with an `UPDATE` that matches no row: it
/// takes the registry file's write lock, and only that file's. PostgreSQL needs none.
///
/// On SQLite the transaction's temporary tables live in a file (`temp_store = FILE`, which
/// SQLite cannot change inside a transaction): a provider batch stages its records in one, and
/// memory stays flat whatever its size. Serving connections keep them in memory otherwise.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(c) => {
            c.batch_execute("PRAGMA temp_store = FILE")?;
            AnsiTransactionManager::begin_transaction(c)?;
            if let Err(error) = c.batch_execute("UPDATE regiones SET nombre = nombre WHERE 0") {
                let _ = AnsiTransactionManager::rollback_transaction(c);
                return Err(error.into());
            }
        }
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    let result = match work(conn) {
        Ok(value) => <DbConnection as TransactionManager<DbConnection>>::commit_transaction(conn)
            .map(|()| value)
            .map_err(E::from),
        Err(error) => {
            if let Err(rollback) =
                <DbConnection as TransactionManager<DbConnection>>::rollback_transaction(conn)
            {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(error)
        }
    };
    if let DbConnection::Sqlite(c) = conn {
        // Back to the serving setting of `db::conn` (which drops the temporary tables).
        c.batch_execute("PRAGMA temp_store = MEMORY")?;
    }
    result
}

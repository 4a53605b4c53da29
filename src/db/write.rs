//! The transaction a request's write runs in, so that the broker can commit it together with
//! its audit record (docs/audit.md).

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
/// A panic in `work` rolls the transaction back before it goes on unwinding: the connection
/// goes back to its pool, and must not hold the write lock there.
pub fn write_transaction<T, E>(
    conn: &mut DbConnection,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConnection::Sqlite(c) => {
            AnsiTransactionManager::begin_transaction(c)?;
            if let Err(error) = c.batch_execute("UPDATE regiones SET nombre = nombre WHERE 0") {
                let _ = AnsiTransactionManager::rollback_transaction(c);
                return Err(error.into());
            }
        }
        DbConnection::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    let worked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(conn)));
    let worked = match worked {
        Ok(worked) => worked,
        Err(panic) => {
            let _ = <DbConnection as TransactionManager<DbConnection>>::rollback_transaction(conn);
            std::panic::resume_unwind(panic);
        }
    };
    match worked {
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
    }
}

/// Key of the PostgreSQL advisory lock that serialises new folios (and households) within
/// their transactions, whoever writes them (a survey's result, a municipal feed). SQLite needs
/// none: the guarded UPDATE already holds its only writer lock.
pub const FOLIO_LOCK: i64 = 0x5115_0004;

/// Key of the PostgreSQL advisory lock that serialises the audit groups of several nodes over
/// one database (`cluster.nodo`): each group's transaction takes it, reads the chain's head and
/// appends after it (`audit/writer/shared.rs`), so ids stay contiguous and in commit order.
pub const AUDIT_CHAIN_LOCK: i64 = 0x5115_0010;

//! One chain shared by several nodes over one PostgreSQL database (`cluster.nodo`; docs/audit.md,
//! *Several nodes*). A node cannot keep the head in memory when others append too: each group is
//! one transaction that takes [`AUDIT_CHAIN_LOCK`], reads the head from the table, chains the
//! group after it, inserts it and commits, which releases the lock. Ids stay contiguous and in
//! commit order, so `verify`, the archive cut, the index mark, checkpoints and exports keep
//! their meaning. There is no head row: reading the last record of an append-only table leaves
//! no dead tuples, where a row updated at every group would.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::{Head, chain, insert_group, read_head};
use crate::audit::index::Committed;
use crate::audit::row::Pending;
use crate::db::{AUDIT_CHAIN_LOCK, DbConnection, DbError};

/// The writer's session settings in a shared chain, on top of its durability:
///
/// - `lock_timeout`: a group that waits this long for the lock (another node's writer stalled
///   while holding it) fails, and its requests with it (503), instead of hanging every request;
/// - `idle_in_transaction_session_timeout`: a writer that stops inside its transaction (its
///   process frozen, its host gone) loses its session, and the lock with it, after this long;
/// - TCP keepalives, so that the server notices a host that vanished without closing its socket
///   ([`crate::db::lider::KEEPALIVES`]).
pub(super) const SESSION: &str =
    "SET lock_timeout = '2s'; SET idle_in_transaction_session_timeout = '5s';";

/// Writes one group after the head as the database holds it now, in one transaction under the
/// chain's lock.
pub(super) fn write<'a>(
    conn: &mut DbConnection,
    group: impl Iterator<Item = &'a Pending>,
) -> Result<Committed, DbError> {
    conn.transaction::<_, DbError, _>(|conn| {
        // Its own statement, before the head's: in READ COMMITTED each statement reads a new
        // snapshot, so the head is read after the lock is held and sees the last holder's commit.
        conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({AUDIT_CHAIN_LOCK})"))?;
        let head: Head = read_head(conn)?;
        let (rows, committed) = chain(&head, group);
        if !rows.is_empty() {
            insert_group(conn, &rows)?;
        }
        Ok(committed)
    })
}

//! The hash-chained audit log (Ley 19.628, D.S. 160): one record per request, allowed or refused,
//! durable before the response leaves.
//!
//! - [`AuditLog`] owns one writer thread with its own connection. Requests queue their record
//!   and wait; the writer takes everything queued (up to 1,000 records), chains and
//!   inserts it in one transaction, commits, and only then answers each waiter (group commit).
//! - Each record holds the hash of the previous one (`audit/row.rs` defines the encoding), so
//!   [`verify`] can name the first record that was edited, removed or reordered.
//! - `auditoria_sujetos` indexes records by RUN for [`accesses`] ("who looked at me"). A
//!   thread of its own writes it after the answer (`audit/index.rs`); readers take the records
//!   it has not reached yet from their `sujetos` column.
//!
//! - Old records may be archived (`audit/archivo.rs`): written to compressed files whose chain
//!   goes on from file to file and into the table, registered, then deleted.
//!
//! The tables refuse UPDATE, and DELETE of any record no registered archive holds (triggers in
//! the migrations); the chain catches whoever removes the triggers first. The RUN appears here
//! and nowhere in the application logs.

pub mod archivo;
mod checkpoint;
mod index;
mod read;
mod row;
pub mod signed;
mod writer;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::db::DbError;
use crate::domain::Run;

pub use archivo::{ArchiveError, ArchiveReport, ArchivosReport, archive, verify_files};
pub use checkpoint::{WalFile, WalLimit, WalStatus};
pub use read::{
    ANSWERED, Access, NO_COINCIDE, NOT_COUNTED, VerifyReport, Which, accesses, count_since,
    failed_validations_since, usuarios_since, verify,
};
pub use row::GENESIS_HASH;
pub use writer::{AuditHealth, AuditLog, Durability};

/// What happened in one request, as the transport and operation layers saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When the request arrived.
    pub ts: DateTime<Utc>,
    /// The agreement (convenio) the caller acted under, when one was identified.
    pub convenio: Option<String>,
    /// SHA-256 (hex) of the client certificate, when one was presented.
    pub certificate: Option<String>,
    pub operation: String,
    /// `rest`, `soap`, `admin`, …
    pub transport: &'static str,
    pub message_id: String,
    /// The persons the request was about (may be empty), whose outcome is the record's.
    pub subjects: Vec<Run>,
    /// Persons the request named whose own outcome differs from the record's, each with it
    /// (`NO_ENCONTRADO`, `FUERA_DE_AMBITO`, …): those of an answered batch it disclosed
    /// nothing about, the lines of a feed it refused. Nothing was disclosed about them, so
    /// their access shows no field. A code is upper-case ASCII letters, digits and `_`.
    pub undisclosed: Vec<(Run, &'static str)>,
    pub purpose: Option<String>,
    /// Field paths disclosed in the answer (none when refused). A path may not hold a comma.
    pub fields: Vec<String>,
    /// `OK`, or the stable error code (`NO_AUTORIZADO`, …).
    pub outcome: String,
    pub http_status: u16,
    pub latency_us: u64,
    /// The X-Road headers of the request, as `name=value` pairs joined by `; `.
    pub xroad: Option<String>,
    /// A summary of refusals answered without a record of their own (a flood beyond
    /// `broker.refusals_per_second`): how many this record stands for. `None` otherwise.
    pub omitidos: Option<u64>,
    /// The units of its agreement's daily quota the request took (the persons it named; a
    /// feed's records when they are charged to that budget). `None` when not known (records
    /// written before it was kept); the quota is restored from it at start-up.
    pub personas: Option<u64>,
    /// The console user (an official, or a person about themself) who made the request, by
    /// the RUN they signed in with; `None` for a machine call.
    pub usuario: Option<Run>,
}

/// The position of a committed record in the chain (1, 2, 3, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuditId(i64);

impl AuditId {
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for AuditId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why a record was not committed. Whoever gets one must not answer as if it had been.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AuditError {
    /// The audit database failed (opening it, or committing the group this record was in).
    #[error("audit storage failed: {0}")]
    Storage(#[source] Arc<DbError>),
    /// The writer has stopped (after [`AuditLog::shutdown`], or it died).
    #[error("the audit writer has stopped")]
    Closed,
    /// The record cannot be stored unambiguously (a programming error in the caller).
    #[error("invalid audit record: {0}")]
    Invalid(&'static str),
    #[error("cannot start the audit writer thread: {0}")]
    Thread(#[source] Arc<std::io::Error>),
}

impl From<DbError> for AuditError {
    fn from(error: DbError) -> Self {
        AuditError::Storage(Arc::new(error))
    }
}

//! What `siis` exits with, so that a script can tell a "no" from a mistake and from an outage:
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | done; for a check, the answer is yes |
//! | 1 | the answer is no (a broken chain, a damaged backup, an invalid certificate, agreements with problems), or the command failed for a reason of its own (the message says which) |
//! | 2 | usage or configuration: a bad argument, an unknown or bad configuration key, a backup asked to overwrite |
//! | 3 | a dependency is unavailable: the database cannot be reached, `pg_dump` or `pg_restore` cannot be run, the node's admin listener does not answer |

use crate::backup::BackupError;
use crate::config::ConfigError;
use crate::db::DbError;

pub const NEGATIVE: u8 = 1;
pub const USAGE: u8 = 2;
pub const UNAVAILABLE: u8 = 3;

/// A check that ran and answered no.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Negative(pub String);

/// An argument the command cannot take.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Usage(pub String);

/// A dependency the command needs did not answer (the node's admin listener, …).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unavailable(pub String);

/// The exit code of a failed command: the first cause that says which kind it is.
pub fn code_of(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.is::<Negative>() {
            return NEGATIVE;
        }
        if cause.is::<Usage>() || cause.is::<ConfigError>() {
            return USAGE;
        }
        if cause.is::<Unavailable>() {
            return UNAVAILABLE;
        }
        if let Some(DbError::Connect { .. } | DbError::Pool(_)) = cause.downcast_ref::<DbError>() {
            return UNAVAILABLE;
        }
        match cause.downcast_ref::<BackupError>() {
            Some(BackupError::ToolMissing(..)) => return UNAVAILABLE,
            Some(
                BackupError::NotEmpty(_)
                | BackupError::TargetExists(_)
                | BackupError::DatabaseNotEmpty(_)
                | BackupError::Schema(_),
            ) => return USAGE,
            Some(BackupError::Damaged { .. }) => return NEGATIVE,
            _ => {}
        }
    }
    NEGATIVE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_failure_has_its_code() {
        let negative = anyhow::Error::new(Negative("broken".into()));
        assert_eq!(code_of(&negative), 1);
        let usage = anyhow::Error::new(Usage("RUN".into())).context("seed");
        assert_eq!(code_of(&usage), 2, "found through the context");
        let unreachable = crate::db::ConnectionManager::new(
            crate::db::DatabaseUrl::parse("postgres://nadie@127.0.0.1:1/x").unwrap(),
        );
        let down = anyhow::Error::new(unreachable.open().err().unwrap()).context("migrate");
        assert_eq!(code_of(&down), 3);
        let node_down = anyhow::Error::new(Unavailable("admin listener".into()));
        assert_eq!(code_of(&node_down), 3);
        let backup_down = anyhow::Error::new(BackupError::Db(unreachable.open().err().unwrap()));
        assert_eq!(code_of(&backup_down), 3, "through BackupError::Db");
        let missing = anyhow::Error::new(BackupError::ToolMissing("pg_dump", "not found".into()));
        assert_eq!(code_of(&missing), 3);
        let failed = anyhow::Error::new(BackupError::ToolFailed("pg_restore", "error".into()));
        assert_eq!(code_of(&failed), 1);
        assert_eq!(code_of(&anyhow::anyhow!("disk full")), 1);
    }
}

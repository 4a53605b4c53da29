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
    "2026-11-28-000007_lotes",
];

/// Applies pending migrations and returns the names of those applied now.
pub fn run_migrations(conn: &mut DbConnection) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE),
        DbConnection::Pg(c) => c.run_pending_migrations(POSTGRES),
    }
    .map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(applied.iter().map(ToString::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
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
}

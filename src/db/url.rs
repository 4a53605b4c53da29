//! The database URL, parsed once at start-up. The backend is chosen by the scheme, never by
//! trying one backend after another.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An SQLite database file (created if missing).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL. It may carry a password: it is never printed whole.
    Postgres(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    #[error("the database URL is empty")]
    Empty,
    #[error("unsupported database scheme {0:?}: use sqlite://PATH or postgres://…")]
    Scheme(String),
    #[error("a libpq key=value string is not accepted: write it as postgres://USER@HOST:PORT/DB")]
    KeyValue,
    #[error("malformed PostgreSQL URL: {0}")]
    Postgres(String),
    #[error("sqlite:// needs a file path")]
    NoPath,
}

/// Seconds a new PostgreSQL connection may take before it fails, unless the URL names its own
/// `connect_timeout`: a host that drops packets (rather than refusing them) would otherwise
/// hold a connection attempt for the system's TCP timeout, about two minutes, and with it a
/// node's stop, its probe of a database coming back, or its replica monitor.
pub const CONNECT_TIMEOUT_SECS: u64 = 5;

/// A PostgreSQL URL with `connect_timeout=secs` added when it names none (and unchanged when it
/// is not a URL libpq would read as one).
pub fn with_connect_timeout(text: &str, secs: u64) -> String {
    match ::url::Url::parse(text) {
        Ok(mut parsed) if !parsed.query_pairs().any(|(k, _)| k == "connect_timeout") => {
            parsed
                .query_pairs_mut()
                .append_pair("connect_timeout", &secs.to_string());
            parsed.to_string()
        }
        _ => text.to_owned(),
    }
}

impl DatabaseUrl {
    pub fn parse(input: &str) -> Result<DatabaseUrl, DatabaseUrlError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        if let Some((scheme, rest)) = text.split_once("://") {
            return match scheme.to_ascii_lowercase().as_str() {
                "sqlite" | "file" if rest.is_empty() => Err(DatabaseUrlError::NoPath),
                "sqlite" | "file" => Ok(DatabaseUrl::Sqlite(PathBuf::from(rest))),
                "postgres" | "postgresql" => {
                    let parsed = ::url::Url::parse(text)
                        .map_err(|e| DatabaseUrlError::Postgres(e.to_string()))?;
                    if parsed.host_str().is_none_or(str::is_empty) {
                        return Err(DatabaseUrlError::Postgres("no host".into()));
                    }
                    if parsed.query_pairs().any(|(k, _)| k == "password") {
                        return Err(DatabaseUrlError::Postgres(
                            "put the password in the user part (postgres://USER:PASSWORD@HOST/DB), not in the query".into(),
                        ));
                    }
                    Ok(DatabaseUrl::Postgres(text.to_owned()))
                }
                other => Err(DatabaseUrlError::Scheme(other.to_owned())),
            };
        }
        if let Some(path) = text.strip_prefix("sqlite:") {
            return if path.is_empty() {
                Err(DatabaseUrlError::NoPath)
            } else {
                Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
            };
        }
        if text.contains('=') && text.contains(' ') || text.starts_with("host=") {
            return Err(DatabaseUrlError::KeyValue);
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(text)))
    }

    pub fn backend(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgres",
        }
    }

    /// Where the audit log lives. On SQLite a file of its own beside the registry
    /// (`siis.db` → `siis-auditoria.db`), attached to every connection as schema `audit`: the
    /// registry file then changes only when registry data does, so readers keep their page
    /// cache and memory map between requests instead of dropping them at every audit commit.
    /// On PostgreSQL the audit tables stay in the registry database (`None`).
    pub fn audit_file(&self) -> Option<PathBuf> {
        self.beside("auditoria")
    }

    /// Where the audit log's by-person index lives on SQLite (`siis.db` →
    /// `siis-auditoria-indice.db`, attached as schema `indice`): written after the answer by a
    /// thread of its own, it needs a file of its own, since SQLite has one writer per file. On
    /// PostgreSQL it stays in the registry database (`None`).
    pub fn audit_index_file(&self) -> Option<PathBuf> {
        self.beside("auditoria-indice")
    }

    /// Each SQLite write-ahead log with the schema its file is attached as on the node's
    /// connections: the registry's (`main`), the audit log's (`audit`) and its index's
    /// (`indice`). None on PostgreSQL.
    pub fn wal_files(&self) -> Vec<(&'static str, PathBuf)> {
        let DatabaseUrl::Sqlite(registry) = self else {
            return Vec::new();
        };
        let wal = |file: PathBuf| {
            let mut name = file.into_os_string();
            name.push("-wal");
            PathBuf::from(name)
        };
        let mut files = vec![("main", wal(registry.clone()))];
        files.extend(self.audit_file().map(|f| ("audit", wal(f))));
        files.extend(self.audit_index_file().map(|f| ("indice", wal(f))));
        files
    }

    /// A SQLite file beside the registry, its name the registry's stem plus `-{suffix}`.
    fn beside(&self, suffix: &str) -> Option<PathBuf> {
        match self {
            DatabaseUrl::Sqlite(path) => {
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                let name = match (stem, path.extension()) {
                    (Some(stem), Some(ext)) => {
                        format!("{stem}-{suffix}.{}", ext.to_string_lossy())
                    }
                    (Some(stem), None) => format!("{stem}-{suffix}"),
                    (None, _) => format!("{suffix}.db"),
                };
                Some(path.with_file_name(name))
            }
            DatabaseUrl::Postgres(_) => None,
        }
    }

    /// The URL with any password replaced by `***`, safe for logs and messages.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
            DatabaseUrl::Postgres(text) => match ::url::Url::parse(text) {
                Ok(mut url) if url.password().is_some() => {
                    let _ = url.set_password(Some("***"));
                    url.to_string()
                }
                Ok(url) => url.to_string(),
                Err(_) => "postgres://(unreadable)".into(),
            },
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::str::FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatabaseUrl::parse(s)
    }
}

impl Serialize for DatabaseUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            DatabaseUrl::Sqlite(path) => {
                serializer.serialize_str(&format!("sqlite://{}", path.display()))
            }
            DatabaseUrl::Postgres(text) => serializer.serialize_str(text),
        }
    }
}

impl<'de> Deserialize<'de> for DatabaseUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        DatabaseUrl::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_audit_file_sits_beside_the_registry() {
        let audit = |url: &str| DatabaseUrl::parse(url).unwrap().audit_file();
        assert_eq!(
            audit("sqlite:///srv/siis/siis.db"),
            Some(PathBuf::from("/srv/siis/siis-auditoria.db"))
        );
        assert_eq!(
            audit("var/registro"),
            Some(PathBuf::from("var/registro-auditoria"))
        );
        assert_eq!(audit("postgres://siis@db.example/siis"), None);
        let index = |url: &str| DatabaseUrl::parse(url).unwrap().audit_index_file();
        assert_eq!(
            index("sqlite:///srv/siis/siis.db"),
            Some(PathBuf::from("/srv/siis/siis-auditoria-indice.db"))
        );
        assert_eq!(index("postgres://siis@db.example/siis"), None);
        let wals = |url: &str| DatabaseUrl::parse(url).unwrap().wal_files();
        assert_eq!(
            wals("sqlite:///srv/siis/siis.db"),
            [
                ("main", PathBuf::from("/srv/siis/siis.db-wal")),
                ("audit", PathBuf::from("/srv/siis/siis-auditoria.db-wal")),
                (
                    "indice",
                    PathBuf::from("/srv/siis/siis-auditoria-indice.db-wal")
                ),
            ]
        );
        assert!(wals("postgres://siis@db.example/siis").is_empty());
    }

    #[test]
    fn chooses_the_backend_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://var/siis.db"),
            Ok(DatabaseUrl::Sqlite("var/siis.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///srv/siis.db"),
            Ok(DatabaseUrl::Sqlite("/srv/siis.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("var/siis.db"),
            Ok(DatabaseUrl::Sqlite("var/siis.db".into()))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://siis@localhost:5432/siis"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://siis@localhost/siis"),
            Ok(DatabaseUrl::Postgres(_))
        ));
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        assert_eq!(DatabaseUrl::parse(" "), Err(DatabaseUrlError::Empty));
        assert_eq!(
            DatabaseUrl::parse("mysql://x/y"),
            Err(DatabaseUrlError::Scheme("mysql".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("host=localhost dbname=siis"),
            Err(DatabaseUrlError::KeyValue)
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::NoPath)
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://"),
            Err(DatabaseUrlError::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@host:notaport/db"),
            Err(DatabaseUrlError::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@host/db?password=s3cret"),
            Err(DatabaseUrlError::Postgres(m)) if !m.contains("s3cret")
        ));
    }

    #[test]
    fn never_prints_the_password() {
        let url = DatabaseUrl::parse("postgres://siis:s3cret@db:5432/siis").unwrap();
        assert!(!format!("{url} {url:?}").contains("s3cret"));
        assert!(url.redacted().contains("***"));
    }
}

//! Files that hold personal data belong to the node's user alone (mode 0600): the SQLite
//! registry, its audit log and by-person index (with their `-wal`, `-shm` and `-journal`
//! files), the sample RUNs of `siis seed --sample`, and the reports and feeds the commands
//! write. The node is one user on a shared machine; nobody else on it may read a RUN.
//!
//! SQLite gives a new `-wal`, `-shm` or `-journal` file the mode of its database file (even
//! against the umask: `os_unix.c` sets it with `fchmod`), so creating the database files 0600
//! before SQLite first opens them is enough for the files SQLite makes later.

use std::fs::{File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::db::DatabaseUrl;

/// Read and write for the owner, nothing for anyone else.
pub const PRIVATE: u32 = 0o600;

/// A file that could not be made private.
#[derive(Debug, thiserror::Error)]
#[error("cannot make {path} readable by its owner only (mode 0600): {source}")]
pub struct PrivateFileError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

fn failed(path: &Path) -> impl FnOnce(io::Error) -> PrivateFileError + '_ {
    move |source| PrivateFileError {
        path: path.to_owned(),
        source,
    }
}

/// Creates `path` (or empties an existing file) for writing, readable and writable by its
/// owner only. An existing file keeps its inode and is set to 0600 before anything is written.
pub fn create_private(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(PRIVATE)
        .open(path)?;
    // `mode` applies only to a file this call created; and the umask may have narrowed it.
    file.set_permissions(Permissions::from_mode(PRIVATE))?;
    Ok(file)
}

/// Writes `contents` to a private file (see [`create_private`]).
pub fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let mut file = create_private(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Sets `path` to 0600 if anyone but its owner may read or write it, with a warning that
/// names the file (and holds nothing else of it). A missing file is left missing. Returns
/// whether the mode was changed.
pub fn tighten(path: &Path) -> Result<bool, PrivateFileError> {
    let mode = match std::fs::metadata(path) {
        Ok(meta) => meta.permissions().mode() & 0o777,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(failed(path)(e)),
    };
    if mode & 0o077 == 0 {
        return Ok(false);
    }
    std::fs::set_permissions(path, Permissions::from_mode(PRIVATE)).map_err(failed(path))?;
    tracing::warn!(
        file = %path.display(),
        was = %format_args!("{mode:04o}"),
        "a private file (personal data or a key) was open to other users of this machine: set to 0600"
    );
    Ok(true)
}

/// The SQLite files a registry URL names: the registry, the audit log and its index (none
/// on PostgreSQL, whose files are the server's).
pub fn database_files(url: &DatabaseUrl) -> Vec<PathBuf> {
    match url {
        DatabaseUrl::Sqlite(path) => [Some(path.clone()), url.audit_file(), url.audit_index_file()]
            .into_iter()
            .flatten()
            .collect(),
        DatabaseUrl::Postgres(_) => Vec::new(),
    }
}

/// The files SQLite keeps beside a database file.
fn sidecars(database: &Path) -> [PathBuf; 3] {
    ["-wal", "-shm", "-journal"].map(|suffix| {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    })
}

/// For a command that only reads (`siis audit`, which an auditor may run as another user on a
/// copy): warns about each database file of `url` open to other users, and changes nothing.
/// Returns those files.
pub fn warn_if_open(url: &DatabaseUrl) -> Vec<PathBuf> {
    let mut open = Vec::new();
    for database in database_files(url) {
        for file in std::iter::once(database.clone()).chain(sidecars(&database)) {
            if let Ok(meta) = std::fs::metadata(&file)
                && meta.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(
                    file = %file.display(),
                    mode = %format_args!("{:04o}", meta.permissions().mode() & 0o777),
                    "a file holding personal data is open to other users of this machine (set it to 0600)"
                );
                open.push(file);
            }
        }
    }
    open
}

/// Before SQLite opens them: creates each missing database file of `url` empty and 0600 (an
/// empty file is a new SQLite database), and sets any existing one, and its `-wal`, `-shm`
/// and `-journal` files, to 0600 with a warning if it was open to others. Nothing on
/// PostgreSQL. Returns the files whose mode was changed.
pub fn secure_database(url: &DatabaseUrl) -> Result<Vec<PathBuf>, PrivateFileError> {
    let mut tightened = Vec::new();
    for database in database_files(url) {
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PRIVATE)
            .open(&database)
        {
            Ok(file) => file
                .set_permissions(Permissions::from_mode(PRIVATE))
                .map_err(failed(&database))?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(failed(&database)(e)),
        }
        for file in std::iter::once(database.clone()).chain(sidecars(&database)) {
            if tighten(&file)? {
                tightened.push(file);
            }
        }
    }
    Ok(tightened)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_private_file_is_0600_new_or_old() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("nuevo.csv");
        write_private(&new, b"categoria,run\n").unwrap();
        assert_eq!(mode(&new), 0o600);
        let old = dir.path().join("viejo.csv");
        std::fs::write(&old, b"a long previous content").unwrap();
        std::fs::set_permissions(&old, Permissions::from_mode(0o644)).unwrap();
        write_private(&old, b"x").unwrap();
        assert_eq!(
            (mode(&old), std::fs::read(&old).unwrap()),
            (0o600, b"x".to_vec())
        );
    }

    #[test]
    fn database_files_are_created_private_and_loose_ones_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("siis.db"));
        // The audit log exists already, readable by all, with a WAL readable by its group.
        let audit = dir.path().join("siis-auditoria.db");
        std::fs::write(&audit, b"").unwrap();
        std::fs::set_permissions(&audit, Permissions::from_mode(0o644)).unwrap();
        let wal = dir.path().join("siis-auditoria.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, Permissions::from_mode(0o640)).unwrap();
        let tightened = secure_database(&url).unwrap();
        assert_eq!(tightened, vec![audit.clone(), wal.clone()]);
        for name in ["siis.db", "siis-auditoria.db", "siis-auditoria-indice.db"] {
            assert_eq!(mode(&dir.path().join(name)), 0o600, "{name}");
        }
        assert_eq!(mode(&wal), 0o600);
        assert!(!dir.path().join("siis.db-wal").exists(), "SQLite's to make");
        // A second time finds nothing to do.
        assert_eq!(secure_database(&url).unwrap(), Vec::<PathBuf>::new());
    }

    #[test]
    fn postgres_has_no_files_of_ours() {
        let url = DatabaseUrl::parse("postgres://siis@localhost/siis").unwrap();
        assert!(database_files(&url).is_empty());
        assert!(secure_database(&url).unwrap().is_empty());
    }

    #[test]
    fn sqlite_gives_its_wal_and_shm_the_database_files_mode() {
        use diesel::connection::SimpleConnection;
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(dir.path().join("siis.db"));
        secure_database(&url).unwrap();
        let mut conn = crate::db::ConnectionManager::new(url).open().unwrap();
        conn.batch_execute(
            "CREATE TABLE t (x INTEGER); CREATE TABLE audit.t (x INTEGER); \
             CREATE TABLE indice.t (x INTEGER);",
        )
        .unwrap();
        let mut seen = 0;
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            assert_eq!(format!("{:o}", mode(&path)), "600", "{}", path.display());
            seen += 1;
        }
        // Three databases, each with its -wal and -shm while the connection is open.
        assert_eq!(seen, 9);
    }

    #[test]
    fn tempfile_spools_are_private() {
        // The feed spools of `rest/lotes.rs` and `soap/handler/lotes.rs`.
        let spool = tempfile::NamedTempFile::new().unwrap();
        assert_eq!(mode(spool.path()), 0o600);
    }
}

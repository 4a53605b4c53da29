//! `siis backup`, `siis backup verify` and `siis restore`: a consistent copy of the registry
//! and its audit log, taken while the node serves, with a manifest that says what it holds.
//!
//! SQLite: each file is copied with `VACUUM … INTO` (a snapshot of that file, taken while
//! writers go on), in the order by-person index, registry, audit log. Every write commits with
//! its audit record, so every write the registry copy holds has its record in the audit copy,
//! which is taken last; the index copy never runs ahead of the audit copy (the node indexes
//! what is missing at start-up). Copying the files by hand while the node runs is not safe:
//! their write-ahead logs hold the latest commits. PostgreSQL: one `pg_dump` (one snapshot of
//! the whole database, the very snapshot the manifest's counts were read in), custom format.

mod export;

pub use export::{
    ExportManifest, ImportReport, TablaExportada, export, import, read_export_manifest,
};

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::audit::signed::head;
use crate::db::schema::personas;
use crate::db::{ConnectionManager, DatabaseUrl, DbConnection, DbError};

#[derive(diesel::QueryableByName)]
struct Tally {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct Snapshot {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
}

/// The manifest's file name inside a backup folder.
pub const MANIFEST: &str = "manifest.json";
/// The dump's file name in a PostgreSQL backup.
pub const PG_DUMP: &str = "siis.pgdump";

/// PostgreSQL tables whose rows a backup leaves out (their definitions stay): what several
/// nodes share while they run (migration `000015_compartido`). `siis export` leaves them out
/// too, as it reads only the tables it lists.
pub const NO_RESPALDADAS: [&str; 3] = ["replay", "limites", "validaciones_fallidas"];
const FORMAT: u32 = 1;

/// What a backup holds: each file with its size and digest, and what the registry and audit
/// log held when it was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// `sqlite` or `postgres`.
    pub backend: String,
    pub created: DateTime<Utc>,
    /// The node's version that took it.
    pub version: String,
    pub files: Vec<BackupFile>,
    /// The audit chain's head in the copy.
    pub audit_head: Option<AuditHead>,
    /// Persons in the registry copy.
    pub personas: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupFile {
    pub name: String,
    /// What the file holds: `registro`, `auditoria`, `indice` (SQLite) or `pg_dump`.
    pub role: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditHead {
    pub id: i64,
    pub hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0} already exists and is not an empty folder: a backup never overwrites")]
    NotEmpty(PathBuf),
    #[error("{0} exists: restore into a registry that is not there yet (move it aside first)")]
    TargetExists(PathBuf),
    #[error("{0}: not a backup manifest ({1})")]
    Manifest(PathBuf, String),
    #[error("{name}: {problem}")]
    Damaged { name: String, problem: String },
    #[error("{0} cannot be run ({1}); is it installed?")]
    ToolMissing(&'static str, String),
    #[error("{0} failed: {1}")]
    ToolFailed(&'static str, String),
    #[error("{0} is not an empty database: restore or import into a new one (createdb first)")]
    DatabaseNotEmpty(String),
    #[error("{0}")]
    Schema(String),
    #[error("database: {0}")]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for BackupError {
    fn from(error: diesel::result::Error) -> Self {
        BackupError::Db(DbError::from(error))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::Io(path.to_owned(), e)
}

/// The files of a SQLite registry, each with the schema it is attached as and its role, in
/// the order a backup copies them (index, registry, audit log).
fn sqlite_files(url: &DatabaseUrl) -> Vec<(&'static str, &'static str, PathBuf)> {
    let DatabaseUrl::Sqlite(registry) = url else {
        return Vec::new();
    };
    let mut files = Vec::new();
    files.extend(url.audit_index_file().map(|f| ("indice", "indice", f)));
    files.push(("main", "registro", registry.clone()));
    files.extend(url.audit_file().map(|f| ("audit", "auditoria", f)));
    files
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The copies hold personal data: the folder and its files are the node user's alone.
fn set_mode(path: &Path, mode: u32) -> Result<(), BackupError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io(path))
}

fn digest(path: &Path) -> Result<(u64, String), BackupError> {
    crate::audit::archivo::digest(path).map_err(io(path))
}

fn counts(conn: &mut DbConnection) -> Result<(Option<AuditHead>, i64), DbError> {
    let head = head(conn)?.map(|(id, hash)| AuditHead { id, hash });
    let personas = personas::table.count().get_result(conn)?;
    Ok((head, personas))
}

/// Makes `out` a new (or empty) folder only the node user can open: a copy never overwrites.
fn prepare_out(out: &Path) -> Result<(), BackupError> {
    if out.exists() {
        let empty = std::fs::read_dir(out).map_err(io(out))?.next().is_none();
        if !empty {
            return Err(BackupError::NotEmpty(out.to_owned()));
        }
    } else {
        std::fs::create_dir_all(out).map_err(io(out))?;
    }
    set_mode(out, 0o700)
}

/// Takes a backup of the registry `url` into the new (or empty) folder `out`.
pub fn backup(url: &DatabaseUrl, out: &Path) -> Result<Manifest, BackupError> {
    prepare_out(out)?;
    let mut conn = ConnectionManager::new(url.clone()).open()?;
    let (names, audit_head, personas) = match url {
        DatabaseUrl::Sqlite(_) => {
            let mut names = Vec::new();
            for (schema, role, path) in sqlite_files(url) {
                let copy = out.join(file_name(&path));
                let quoted = copy.to_string_lossy().replace('\'', "''");
                conn.batch_execute(&format!("VACUUM {schema} INTO '{quoted}'"))
                    .map_err(DbError::from)?;
                names.push((file_name(&path), role));
            }
            let copy = DatabaseUrl::Sqlite(out.join(file_name(&sqlite_files(url)[1].2)));
            let (head, personas) = with_copy(&copy, counts)?;
            (names, head, personas)
        }
        DatabaseUrl::Postgres(pg) => {
            // The manifest's counts and the dump read one snapshot: this transaction's,
            // exported to pg_dump and held until it is done.
            conn.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .map_err(DbError::from)?;
            let snapshot: Snapshot = diesel::sql_query("SELECT pg_export_snapshot() AS id")
                .get_result(&mut conn)
                .map_err(DbError::from)?;
            let (head, personas) = counts(&mut conn)?;
            let dump = out.join(PG_DUMP);
            let dumped = run(
                "pg_dump",
                std::process::Command::new("pg_dump")
                    .args(["--format=custom", "--no-owner", "--snapshot", &snapshot.id])
                    // What the nodes share (replay memory, leases, failed comparisons) is
                    // not a record: a restore starts without it, as a restart does.
                    .args(
                        NO_RESPALDADAS
                            .iter()
                            .map(|t| format!("--exclude-table-data={t}")),
                    )
                    .arg("--file")
                    .arg(&dump)
                    .arg(pg),
            );
            conn.batch_execute("COMMIT").map_err(DbError::from)?;
            dumped?;
            (vec![(PG_DUMP.to_owned(), "pg_dump")], head, personas)
        }
    };
    let mut files = Vec::new();
    for (name, role) in names {
        let path = out.join(&name);
        set_mode(&path, 0o600)?;
        let (bytes, sha256) = digest(&path)?;
        files.push(BackupFile {
            name,
            role: role.to_owned(),
            bytes,
            sha256,
        });
    }
    let manifest = Manifest {
        format: FORMAT,
        backend: url.backend().to_owned(),
        created: Utc::now(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        files,
        audit_head,
        personas,
    };
    let text = serde_json::to_string_pretty(&manifest).expect("a manifest serializes");
    let path = out.join(MANIFEST);
    crate::fsperm::write_private(&path, text.as_bytes()).map_err(io(&path))?;
    Ok(manifest)
}

/// Opens a SQLite copy (registry with its audit files beside it, as a backup holds them) on a
/// scratch copy, so that opening it changes nothing in the backup.
fn with_copy<T>(
    url: &DatabaseUrl,
    read: impl FnOnce(&mut DbConnection) -> Result<T, DbError>,
) -> Result<T, BackupError> {
    let scratch = tempfile::TempDir::new().map_err(io(Path::new("(temporary folder)")))?;
    let mut copied = None;
    for (schema, _, path) in sqlite_files(url) {
        let to = scratch.path().join(file_name(&path));
        std::fs::copy(&path, &to).map_err(io(&path))?;
        if schema == "main" {
            copied = Some(to);
        }
    }
    let registry = copied.expect("a SQLite backup has its registry");
    let mut conn = ConnectionManager::new(DatabaseUrl::Sqlite(registry)).open()?;
    Ok(read(&mut conn)?)
}

fn run(tool: &'static str, command: &mut std::process::Command) -> Result<(), BackupError> {
    let out = command
        .output()
        .map_err(|e| BackupError::ToolMissing(tool, e.to_string()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BackupError::ToolFailed(
            tool,
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ))
    }
}

pub fn read_manifest(dir: &Path) -> Result<Manifest, BackupError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| BackupError::Manifest(path.clone(), e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(BackupError::Manifest(
            path,
            format!("format {} (this node reads {FORMAT})", manifest.format),
        ));
    }
    Ok(manifest)
}

/// Checks a backup: every file is there with its size and digest; for SQLite, the audit
/// copy's chain verifies and ends at the manifest's head, and the registry copy holds the
/// manifest's persons.
pub fn verify(dir: &Path) -> Result<Manifest, BackupError> {
    let manifest = read_manifest(dir)?;
    for file in &manifest.files {
        let damaged = |problem: String| BackupError::Damaged {
            name: file.name.clone(),
            problem,
        };
        let path = dir.join(&file.name);
        if !path.is_file() {
            return Err(damaged("missing".into()));
        }
        let (bytes, sha256) = digest(&path)?;
        if bytes != file.bytes || sha256 != file.sha256 {
            return Err(damaged(format!(
                "{bytes} bytes, SHA-256 {sha256}; the manifest says {} bytes, {}",
                file.bytes, file.sha256
            )));
        }
    }
    if manifest.backend == "sqlite" {
        let registry = manifest
            .files
            .iter()
            .find(|f| f.role == "registro")
            .ok_or_else(|| BackupError::Manifest(dir.join(MANIFEST), "no registry file".into()))?;
        let url = DatabaseUrl::Sqlite(dir.join(&registry.name));
        let (report, (head, personas)) = with_copy(&url, |conn| {
            Ok((crate::audit::verify(conn)?, counts(conn)?))
        })?;
        let damaged = |problem: String| BackupError::Damaged {
            name: "audit".into(),
            problem,
        };
        if let Some(id) = report.first_broken {
            return Err(damaged(format!("the chain is broken at record {id}")));
        }
        if head != manifest.audit_head || personas != manifest.personas {
            return Err(damaged(format!(
                "the copy ends at {head:?} with {personas} persons; the manifest says {:?} and {}",
                manifest.audit_head, manifest.personas
            )));
        }
    }
    Ok(manifest)
}

/// Restores a verified backup into the registry `url`, which must not exist yet (SQLite) or
/// be an empty database (PostgreSQL: create it first).
pub fn restore(dir: &Path, url: &DatabaseUrl) -> Result<Manifest, BackupError> {
    let manifest = verify(dir)?;
    if manifest.backend != url.backend() {
        return Err(BackupError::Manifest(
            dir.join(MANIFEST),
            format!(
                "a {} backup cannot be restored into {}",
                manifest.backend,
                url.redacted()
            ),
        ));
    }
    match url {
        DatabaseUrl::Sqlite(_) => {
            let targets = sqlite_files(url);
            // A file, or a write-ahead log or shared-memory file left beside one (SQLite would
            // replay it onto the restored file).
            let leftovers = targets.iter().flat_map(|(_, _, p)| {
                ["", "-wal", "-shm"].map(|suffix| {
                    let mut name = p.clone().into_os_string();
                    name.push(suffix);
                    PathBuf::from(name)
                })
            });
            if let Some(existing) = leftovers.into_iter().find(|p| p.exists()) {
                return Err(BackupError::TargetExists(existing));
            }
            for (_, role, target) in &targets {
                if let Some(folder) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(folder).map_err(io(folder))?;
                }
                let from = manifest
                    .files
                    .iter()
                    .find(|f| f.role == *role)
                    .map(|f| dir.join(&f.name))
                    .ok_or_else(|| {
                        BackupError::Manifest(dir.join(MANIFEST), format!("no {role} file"))
                    })?;
                let partial = target.with_extension("restaurando");
                std::fs::copy(&from, &partial).map_err(io(&from))?;
                set_mode(&partial, 0o600)?;
                std::fs::rename(&partial, target).map_err(io(target))?;
            }
        }
        DatabaseUrl::Postgres(pg) => {
            let mut conn = ConnectionManager::new(url.clone()).open()?;
            let tables: Tally = diesel::sql_query(
                "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .get_result(&mut conn)
            .map_err(DbError::from)?;
            if tables.n > 0 {
                return Err(BackupError::DatabaseNotEmpty(url.redacted()));
            }
            drop(conn);
            run(
                "pg_restore",
                std::process::Command::new("pg_restore")
                    .args(["--exit-on-error", "--no-owner", "--dbname"])
                    .arg(pg)
                    .arg(dir.join(PG_DUMP)),
            )?;
        }
    }
    // What was restored is what the manifest says: the chain verifies and ends at its head.
    let mut conn = ConnectionManager::new(url.clone()).open()?;
    let report = crate::audit::verify(&mut conn)?;
    let (head, personas) = counts(&mut conn)?;
    if report.first_broken.is_some() || head != manifest.audit_head || personas != manifest.personas
    {
        return Err(BackupError::Damaged {
            name: "restored registry".into(),
            problem: format!(
                "ends at {head:?} with {personas} persons (chain broken at {:?}); the manifest says {:?} and {}",
                report.first_broken, manifest.audit_head, manifest.personas
            ),
        });
    }
    Ok(manifest)
}

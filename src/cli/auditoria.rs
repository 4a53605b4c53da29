//! `siis audit verify`, `siis audit accesos` and `siis audit archive`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use super::exit;
use crate::audit::{self, ArchiveError};
use crate::config::Config;
use crate::db::{self, DbConnection};
use crate::domain::Run;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Walk the hash chain and name the first broken record; with --checkpoints, also check
    /// that the log still holds every record a signed checkpoint covers (a rewrite or a
    /// truncation before the last checkpoint is caught); with --archivos, also check the
    /// archive files (`siis audit archive`) and that the chain runs through them. Prints the
    /// records each node wrote when several share the database (`cluster.nodo`).
    Verify {
        /// A checkpoint file (`audit.checkpoints`, or a copy shipped elsewhere), optionally
        /// followed by `:KEY`, the public key that file's lines are signed with. Repeat it for
        /// the file of each node sharing the database, each signed with its own key.
        #[arg(long, value_name = "FILE[:KEY]")]
        checkpoints: Vec<String>,
        /// The public key of the checkpoint files given without `:KEY` (default: beside
        /// audit.clave_checkpoints, `tls.dir/auditoria.pem`).
        #[arg(long, value_name = "FILE")]
        clave_publica: Option<PathBuf>,
        /// The folder holding the archive files: each registered archive is checked (size,
        /// SHA-256, every record's hash and link from record 1), and checkpoints of archived
        /// records are checked against them.
        #[arg(long, value_name = "DIR")]
        archivos: Option<PathBuf>,
    },
    /// Who consulted this person's data, when, under which agreement and purpose (records
    /// archived with `siis audit archive` are no longer listed).
    Accesos {
        /// The person's RUN (12.345.678-5, 12345678-5 or 123456785).
        run: String,
    },
    /// Move the records from before a day (Chile time) out of the database into a compressed
    /// file in --out, whose hash chain goes on from the previous archive into the database;
    /// the file is registered, then the records deleted while the node serves. Keep every
    /// archive file: `siis audit verify --archivos DIR` needs them all.
    Archive {
        /// The folder for the archive files (created if missing); the same one each time.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Archive the records before this day (YYYY-MM-DD, its start in Chile); yesterday at
        /// the latest, since the daily quotas are restored from today's records.
        #[arg(long, value_name = "YYYY-MM-DD")]
        antes: chrono::NaiveDate,
    },
}

pub fn run(config: &Config, command: AuditCommand) -> anyhow::Result<()> {
    // An auditor may point `verify` and `accesos` at a replica or a copy, as another user or
    // with a read-only role; a file open to others is named, not changed.
    crate::fsperm::warn_if_open(&config.database.url);
    let mut conn = db::ConnectionManager::new(config.database.url.clone()).open()?;
    match command {
        AuditCommand::Verify {
            checkpoints,
            clave_publica,
            archivos,
        } => {
            let key = clave_publica.unwrap_or_else(|| config.clave_publica_checkpoints());
            let checkpoints = checkpoints
                .iter()
                .map(|arg| checkpoint_arg(arg, &key))
                .collect::<Vec<_>>();
            verify(&mut conn, &checkpoints, archivos.as_deref())
        }
        AuditCommand::Accesos { run } => accesos(&mut conn, &run),
        AuditCommand::Archive { out, antes } => archive(&mut conn, &out, antes),
    }
}

/// `FILE[:KEY]`: a file that exists is taken whole (its name may hold a colon); otherwise what
/// follows the last colon is the key. Without a key, `default`.
fn checkpoint_arg(arg: &str, default: &Path) -> (PathBuf, PathBuf) {
    match arg.rsplit_once(':') {
        Some((file, key)) if !Path::new(arg).exists() && !file.is_empty() && !key.is_empty() => {
            (PathBuf::from(file), PathBuf::from(key))
        }
        _ => (PathBuf::from(arg), default.to_owned()),
    }
}

fn verify(
    conn: &mut DbConnection,
    checkpoints: &[(PathBuf, PathBuf)],
    archivos: Option<&Path>,
) -> anyhow::Result<()> {
    let report = audit::verify(conn)?;
    if let Some(id) = report.first_broken {
        return Err(exit::Negative(format!(
            "audit chain broken at record {id} ({} record(s) before it verified)",
            report.records
        ))
        .into());
    }
    println!("audit chain intact: {} record(s) verified", report.records);
    if !report.por_nodo.is_empty() {
        let named: u64 = report.por_nodo.values().sum();
        let mut line = report
            .por_nodo
            .iter()
            .map(|(nodo, n)| format!("{nodo} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        if named < report.records {
            line.push_str(&format!(
                "; {} by a node running alone",
                report.records - named
            ));
        }
        println!("record(s) per node: {line}");
    }
    if report.unindexed > 0 {
        println!(
            "{} record(s) not yet in the by-person index (the node indexes them after answering; their chain was checked)",
            report.unindexed
        );
    }
    if report.archived > 0 {
        println!(
            "records 1 to {} are archived: the chain was taken up from the last archive's final hash{}",
            report.archived,
            if archivos.is_some() {
                ""
            } else {
                " (check the files with --archivos DIR)"
            }
        );
    }
    if report.archived_left > 0 {
        println!(
            "{} archived record(s) are still in the database: `siis audit archive` deletes them first",
            report.archived_left
        );
    }
    let mut files = Vec::new();
    for (file, key) in checkpoints {
        let lines = audit::signed::read_file(file)?;
        if lines.is_empty() {
            return Err(exit::Negative(format!(
                "{}: no checkpoint to check the log against",
                file.display()
            ))
            .into());
        }
        files.push((file, key, lines));
    }
    let hashes = match archivos {
        Some(dir) => {
            let wanted: BTreeSet<i64> = files
                .iter()
                .flat_map(|(_, _, lines)| lines.iter().map(|cp| cp.id))
                .collect();
            let found = audit::verify_files(conn, dir, &wanted)?;
            for name in &found.unregistered {
                println!(
                    "{name}: named like an archive but not registered (a run that stopped before registering it): not part of the chain"
                );
            }
            if !found.problems.is_empty() {
                for problem in &found.problems {
                    eprintln!("{}: {problem}", dir.display());
                }
                return Err(exit::Negative(format!(
                    "{} problem(s) in the archives of {}",
                    found.problems.len(),
                    dir.display()
                ))
                .into());
            }
            println!(
                "{} archive(s) verified: {} record(s), chained from record 1 into the database",
                found.archivos, found.records
            );
            Some(found.hashes)
        }
        None => None,
    };
    // Every file is checked and reported before the verdict: one node's bad file does not
    // hide another's.
    let (mut problems, mut checked) = (0, 0);
    for (file, key, lines) in &files {
        let key = audit::signed::read_public_key(key)?;
        let found = audit::signed::verify(conn, lines, &key, hashes.as_ref())?;
        checked += found.checked;
        problems += found.problems.len();
        for problem in &found.problems {
            eprintln!("{}: {problem}", file.display());
        }
        if found.problems.is_empty() {
            println!(
                "{}: {} checkpoint(s) verified: the log holds every record they signed",
                file.display(),
                found.checked
            );
        }
    }
    if problems > 0 {
        return Err(exit::Negative(format!(
            "{problems} of {checked} checkpoint(s) do not match the audit log or were not checked"
        ))
        .into());
    }
    Ok(())
}

fn accesos(conn: &mut DbConnection, run: &str) -> anyhow::Result<()> {
    let run = Run::parse(run).map_err(|e| exit::Usage(format!("RUN: {e}")))?;
    let accesses = audit::accesses(conn, run, audit::Which::All, i64::MAX)?;
    // RFC 4180 through the csv crate: a purpose with a comma or a quote stays one field,
    // written as it is.
    let mut out = csv::Writer::from_writer(std::io::stdout().lock());
    out.write_record([
        "fecha",
        "convenio",
        "operacion",
        "resultado",
        "proposito",
        "campos",
    ])?;
    for a in &accesses {
        out.write_record([
            a.ts.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .as_str(),
            a.convenio.as_deref().unwrap_or("-"),
            a.operation.as_str(),
            a.outcome.as_str(),
            a.purpose.as_deref().unwrap_or(""),
            a.fields.join(" ").as_str(),
        ])?;
    }
    out.flush()?;
    eprintln!("{} access(es) to {run}", accesses.len());
    Ok(())
}

fn archive(conn: &mut DbConnection, out: &Path, antes: chrono::NaiveDate) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let report = audit::archive(conn, out, antes).map_err(|e| match e {
        ArchiveError::TooRecent { .. } | ArchiveError::NotMigrated => {
            anyhow::Error::new(exit::Usage(e.to_string()))
        }
        ArchiveError::Broken { .. } => anyhow::Error::new(exit::Negative(e.to_string())),
        ArchiveError::Busy(_) | ArchiveError::Io { .. } | ArchiveError::Db(_) => {
            anyhow::Error::new(e)
        }
    })?;
    let seconds = started.elapsed().as_secs_f64();
    if report.finished > 0 {
        println!(
            "{} archived record(s) left by an earlier run deleted from the database",
            report.finished
        );
    }
    match (report.archivo, report.path) {
        (Some(a), Some(path)) => println!(
            "{} record(s) archived (records {} to {}) into {}, {} bytes, in {seconds:.1} s ({:.0} records/s); deleted from the database",
            a.registros,
            a.desde,
            a.hasta,
            path.display(),
            a.bytes,
            a.registros as f64 / seconds.max(1e-6)
        ),
        _ => println!(
            "nothing to archive before {antes}: the records left are from that day or later, not yet indexed, or the newest"
        ),
    }
    Ok(())
}

//! Signed checkpoints of the audit chain. The hash chain shows a record changed in place, but
//! anyone who can write the database can rewrite a record and recompute every hash after it, or
//! cut the tail off: the chain is intact again. Every `audit.checkpoint_secs` the node signs
//! the head of the chain (the last record's id and hash, and the time) with its own Ed25519 key
//! (`audit.clave_checkpoints`) and appends it, one JSON line, to a file meant to be shipped
//! elsewhere (`audit.checkpoints`). `siis audit verify --checkpoints FILE` then checks each
//! line's signature and that the log still holds that record with that hash: a rewrite or a
//! truncation before any checkpoint is caught.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use diesel::prelude::*;
use openssl::pkey::{PKey, Private, Public};
use openssl::sign::{Signer, Verifier};
use serde::{Deserialize, Serialize};

use crate::db::schema::auditoria;
use crate::db::{DbConnection, DbError, Pool};

/// What a signature covers, first: a checkpoint's signature cannot be taken for a
/// certificate's, nor the reverse.
const DOMAIN: &str = "siis-auditoria-checkpoint-v1";

/// One line of the checkpoint file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCheckpoint {
    /// The last record's id: the log then held this many records (ids start at 1, no gaps).
    pub id: i64,
    /// That record's hash.
    pub hash: String,
    pub ts: DateTime<Utc>,
    /// Ed25519 over [`DOMAIN`], id, hash and time; base64.
    pub firma: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("{path}: {detail}")]
    Key { path: PathBuf, detail: String },
    #[error("{path}: {error}")]
    File {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}:{line}: not a checkpoint ({detail})")]
    Line {
        path: PathBuf,
        line: usize,
        detail: String,
    },
    #[error("signing failed: {0}")]
    Sign(#[from] openssl::error::ErrorStack),
    #[error(transparent)]
    Db(#[from] DbError),
}

fn message(id: i64, hash: &str, ts: &DateTime<Utc>) -> String {
    format!(
        "{DOMAIN}\n{id}\n{hash}\n{}",
        ts.to_rfc3339_opts(SecondsFormat::Micros, true)
    )
}

impl SignedCheckpoint {
    pub fn sign(
        key: &PKey<Private>,
        id: i64,
        hash: &str,
        ts: DateTime<Utc>,
    ) -> Result<SignedCheckpoint, openssl::error::ErrorStack> {
        let mut signer = Signer::new_without_digest(key)?;
        let firma = signer.sign_oneshot_to_vec(message(id, hash, &ts).as_bytes())?;
        Ok(SignedCheckpoint {
            id,
            hash: hash.to_owned(),
            ts,
            firma: base64::engine::general_purpose::STANDARD.encode(firma),
        })
    }

    /// Whether `key` signed exactly this id, hash and time.
    pub fn verifies(&self, key: &PKey<Public>) -> bool {
        let Ok(firma) = base64::engine::general_purpose::STANDARD.decode(&self.firma) else {
            return false;
        };
        Verifier::new_without_digest(key)
            .and_then(|mut v| {
                v.verify_oneshot(&firma, message(self.id, &self.hash, &self.ts).as_bytes())
            })
            .unwrap_or(false)
    }
}

pub fn read_private_key(path: &Path) -> Result<PKey<Private>, CheckpointError> {
    let key = |detail: String| CheckpointError::Key {
        path: path.to_owned(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|e| {
        key(format!(
            "cannot read the audit checkpoint key ({e}); `siis pki dev` writes a development one"
        ))
    })?;
    PKey::private_key_from_pem(&pem)
        .map_err(|e| key(format!("not a PEM private key ({e})")))
        .and_then(|k| {
            (k.id() == openssl::pkey::Id::ED25519)
                .then_some(k)
                .ok_or_else(|| key("not an Ed25519 key".into()))
        })
}

pub fn read_public_key(path: &Path) -> Result<PKey<Public>, CheckpointError> {
    let pem = std::fs::read(path).map_err(|e| CheckpointError::Key {
        path: path.to_owned(),
        detail: format!("cannot read the audit checkpoint public key ({e})"),
    })?;
    PKey::public_key_from_pem(&pem).map_err(|e| CheckpointError::Key {
        path: path.to_owned(),
        detail: format!("not a PEM public key ({e})"),
    })
}

/// The chain's head: the last record's id and hash, or the last archive's when the table holds
/// no record (`siis audit archive` always leaves the newest; `None` while the log is empty).
pub fn head(conn: &mut DbConnection) -> Result<Option<(i64, String)>, DbError> {
    let last = auditoria::table
        .order(auditoria::id.desc())
        .select((auditoria::id, auditoria::hash))
        .first(conn)
        .optional()?;
    match last {
        Some(last) => Ok(Some(last)),
        None => Ok(super::archivo::ultimo(conn)?.map(|a| (a.hasta, a.hash_final))),
    }
}

/// Appends one line and flushes it to disk before returning.
pub fn append(path: &Path, checkpoint: &SignedCheckpoint) -> Result<(), CheckpointError> {
    let file_error = |error| CheckpointError::File {
        path: path.to_owned(),
        error,
    };
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(folder).map_err(file_error)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(file_error)?;
    let mut line = serde_json::to_string(checkpoint).expect("a checkpoint serializes");
    line.push('\n');
    file.write_all(line.as_bytes()).map_err(file_error)?;
    file.sync_data().map_err(file_error)
}

/// Every checkpoint of a file, in order; a line that is not one is an error naming it.
pub fn read_file(path: &Path) -> Result<Vec<SignedCheckpoint>, CheckpointError> {
    let file = std::fs::File::open(path).map_err(|error| CheckpointError::File {
        path: path.to_owned(),
        error,
    })?;
    let mut out = Vec::new();
    for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|error| CheckpointError::File {
            path: path.to_owned(),
            error,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        out.push(
            serde_json::from_str(&line).map_err(|e| CheckpointError::Line {
                path: path.to_owned(),
                line: n + 1,
                detail: e.to_string(),
            })?,
        );
    }
    Ok(out)
}

/// What `siis audit verify --checkpoints` found: how many checkpoints it checked, and each
/// problem (`line N: …`). No problem: the log holds every record each checkpoint signed.
#[derive(Debug, Default)]
pub struct CheckpointReport {
    pub checked: usize,
    pub problems: Vec<String>,
}

/// Checks each checkpoint's signature, their order, and that the log still holds the record
/// each one signed, with that hash. A record archived since is checked against `archived`, the
/// hashes read from the archive files ([`super::verify_files`]) when they were read; without
/// them, only a checkpoint of an archive's last record can be checked (against its registered
/// final hash), and any other is a problem: it was not checked, so it is not a pass.
pub fn verify(
    conn: &mut DbConnection,
    checkpoints: &[SignedCheckpoint],
    key: &PKey<Public>,
    archived: Option<&BTreeMap<i64, String>>,
) -> Result<CheckpointReport, DbError> {
    let archivos = super::archivo::archivos(conn)?;
    let archived_upto = archivos.last().map_or(0, |a| a.hasta);
    let mut report = CheckpointReport::default();
    let mut previous: Option<&SignedCheckpoint> = None;
    for (n, cp) in checkpoints.iter().enumerate() {
        let line = n + 1;
        report.checked += 1;
        if !cp.verifies(key) {
            report.problems.push(format!(
                "line {line}: the signature does not verify (not this node's key, or the line was edited)"
            ));
            continue;
        }
        if let Some(p) = previous
            && (cp.id < p.id || cp.ts < p.ts)
        {
            report.problems.push(format!(
                "line {line}: record {} at {} comes after record {} at {}: the file was reordered",
                cp.id, cp.ts, p.id, p.ts
            ));
        }
        previous = Some(cp);
        if cp.id <= archived_upto {
            let archivo = &archivos[archivos.partition_point(|a| a.hasta < cp.id)];
            let held = match archived {
                Some(hashes) => hashes.get(&cp.id),
                None => (cp.id == archivo.hasta).then_some(&archivo.hash_final),
            };
            match held {
                Some(hash) if *hash == cp.hash => {}
                Some(_) => report.problems.push(format!(
                    "line {line}: record {} (archived in {}) is not the one signed at {}: the log was rewritten",
                    cp.id, archivo.archivo, cp.ts
                )),
                None if archived.is_some() => report.problems.push(format!(
                    "line {line}: record {} (signed at {}) is not readable in {}",
                    cp.id, cp.ts, archivo.archivo
                )),
                None => report.problems.push(format!(
                    "line {line}: record {} (signed at {}) is archived in {} and was not checked: give the archives with --archivos DIR",
                    cp.id, cp.ts, archivo.archivo
                )),
            }
            continue;
        }
        let held: Option<String> = auditoria::table
            .filter(auditoria::id.eq(cp.id))
            .select(auditoria::hash)
            .first(conn)
            .optional()?;
        match held {
            None => report.problems.push(format!(
                "line {line}: the log has no record {} (signed at {}): it was truncated",
                cp.id, cp.ts
            )),
            Some(hash) if hash != cp.hash => report.problems.push(format!(
                "line {line}: record {} is not the one signed at {}: the log was rewritten",
                cp.id, cp.ts
            )),
            Some(_) => {}
        }
    }
    Ok(report)
}

/// Signs the head now, unless it is the one last signed; returns what it appended.
pub fn checkpoint(
    conn: &mut DbConnection,
    key: &PKey<Private>,
    path: &Path,
    last: &mut Option<i64>,
) -> Result<Option<SignedCheckpoint>, CheckpointError> {
    let Some((id, hash)) = head(conn)? else {
        return Ok(None);
    };
    if *last == Some(id) {
        return Ok(None);
    }
    let signed = SignedCheckpoint::sign(key, id, &hash, Utc::now())?;
    append(path, &signed)?;
    *last = Some(id);
    Ok(Some(signed))
}

/// The node's checkpoint task: one every `every`, and a last one when `stop` fires (after the
/// listeners stopped, so it covers every answered request). Each tick that ends well is marked
/// on the log ([`super::AuditLog::mark_signed`]): readiness fails when they stop.
pub fn spawn(
    pool: Pool,
    log: super::AuditLog,
    key: PKey<Private>,
    path: PathBuf,
    every: Duration,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<()> {
    let key = std::sync::Arc::new(key);
    tokio::spawn(async move {
        let mut last = None;
        loop {
            let stopping = tokio::select! {
                _ = tokio::time::sleep(every) => false,
                _ = &mut stop => true,
            };
            let (pool, key, path) = (pool.clone(), key.clone(), path.clone());
            let done = tokio::task::spawn_blocking(move || {
                let mut conn = pool.get().map_err(|e| CheckpointError::Db(e.into()))?;
                checkpoint(&mut conn, &key, &path, &mut last).map(|_| last)
            })
            .await;
            match done {
                Ok(Ok(now)) => {
                    last = now;
                    log.mark_signed();
                }
                Ok(Err(error)) => {
                    tracing::error!(error = %error, "audit checkpoint not written; tried again at the next tick")
                }
                Err(error) => tracing::error!(error = %error, "audit checkpoint task failed"),
            }
            if stopping {
                return;
            }
        }
    })
}

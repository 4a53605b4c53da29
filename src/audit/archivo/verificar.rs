//! `siis audit verify --archivos DIR`: every registered archive is in the folder with its
//! registered size and SHA-256, its records chain from GENESIS across the files (each hash
//! computed again from the record's columns, ids one after another), each file ends at its
//! registered final hash, and the database's first record goes on from the last file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use diesel::prelude::*;

use super::formato::{self, Cabecera, FORMATO, Lector, Linea};
use super::registro::{Archivo, archivos};
use crate::audit::row::{AuditRow, GENESIS_HASH};
use crate::db::schema::auditoria;
use crate::db::{DbConnection, DbError};

/// What [`verify_files`] found. No problem: the archives hold the chain from record 1 to the
/// database's first record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ArchivosReport {
    /// Registered archives checked.
    pub archivos: usize,
    /// Records read from them.
    pub records: u64,
    /// Each problem, naming the file and the record (`auditoria-….jsonl.gz: record 17: …`).
    pub problems: Vec<String>,
    /// Files in the folder named like an archive that no registered archive is (a run that
    /// stopped before registering its file): not part of the chain, not read.
    pub unregistered: Vec<String>,
    /// The hash each record asked for holds in the archives (for the signed checkpoints).
    pub hashes: BTreeMap<i64, String>,
}

/// Checks every registered archive against the files in `dir`; `wanted` are records whose
/// hash to take from the files ([`ArchivosReport::hashes`]).
pub fn verify_files(
    conn: &mut DbConnection,
    dir: &Path,
    wanted: &BTreeSet<i64>,
) -> Result<ArchivosReport, DbError> {
    let registered = archivos(conn)?;
    let mut report = ArchivosReport {
        archivos: registered.len(),
        ..ArchivosReport::default()
    };
    let mut previous: Option<&Archivo> = None;
    for archivo in &registered {
        let (desde, hash_anterior) =
            previous.map_or((1, GENESIS_HASH), |p| (p.hasta + 1, p.hash_final.as_str()));
        if archivo.desde != desde || archivo.hash_anterior != hash_anterior {
            report.problems.push(format!(
                "{}: record {}: registered as following record {} with hash {}, which is not where the previous archive ends",
                archivo.archivo,
                archivo.desde,
                archivo.desde - 1,
                archivo.hash_anterior
            ));
        }
        check_file(&dir.join(&archivo.archivo), archivo, wanted, &mut report);
        previous = Some(archivo);
    }
    if let Some(last) = previous {
        let first: Option<(i64, String)> = auditoria::table
            .filter(auditoria::id.gt(last.hasta))
            .order(auditoria::id.asc())
            .select((auditoria::id, auditoria::hash_anterior))
            .first(conn)
            .optional()?;
        match first {
            Some((id, hash)) if id != last.hasta + 1 || hash != last.hash_final => {
                report.problems.push(format!(
                    "the database's first record {id} does not go on from record {} of {}",
                    last.hasta, last.archivo
                ));
            }
            _ => {}
        }
    }
    let names: BTreeSet<&str> = registered.iter().map(|a| a.archivo.as_str()).collect();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if formato::es_nombre(&name) && !names.contains(name.as_str()) {
                report.unregistered.push(name);
            }
        }
        report.unregistered.sort();
    } else {
        report
            .problems
            .push(format!("{}: not a folder that can be read", dir.display()));
    }
    Ok(report)
}

/// Checks one file: size and SHA-256, header, every record's link and hash, its end.
fn check_file(path: &Path, archivo: &Archivo, wanted: &BTreeSet<i64>, report: &mut ArchivosReport) {
    let name = &archivo.archivo;
    let mut problem = |what: String| report.problems.push(format!("{name}: {what}"));
    if !path.is_file() {
        problem(format!(
            "missing (records {} to {})",
            archivo.desde, archivo.hasta
        ));
        return;
    }
    match formato::digest(path) {
        Ok((bytes, sha256))
            if i64::try_from(bytes).ok() != Some(archivo.bytes) || sha256 != archivo.sha256 =>
        {
            problem(format!(
                "{bytes} bytes, SHA-256 {sha256}; registered as {} bytes, {}: the file was changed or replaced",
                archivo.bytes, archivo.sha256
            ));
        }
        Ok(_) => {}
        Err(e) => {
            problem(format!("cannot be read ({e})"));
            return;
        }
    }
    let expected = Cabecera {
        formato: FORMATO.to_owned(),
        desde: archivo.desde,
        hasta: archivo.hasta,
        hash_anterior: archivo.hash_anterior.clone(),
        registros: archivo.registros,
    };
    let mut lector = match Lector::abrir(path) {
        Ok(lector) => lector,
        Err(e) => {
            problem(format!("cannot be read ({e})"));
            return;
        }
    };
    match lector.siguiente::<Cabecera>() {
        Ok(Linea::Leida(cabecera)) if cabecera == expected => {}
        Ok(Linea::Leida(cabecera)) => problem(format!(
            "its header says records {} to {} after hash {}; registered as records {} to {} after {}",
            cabecera.desde,
            cabecera.hasta,
            cabecera.hash_anterior,
            archivo.desde,
            archivo.hasta,
            archivo.hash_anterior
        )),
        Ok(Linea::Ilegible(e)) => problem(format!("line 1 is not an archive header ({e})")),
        Ok(Linea::Fin) => problem("empty".into()),
        Err(e) => problem(format!("not a readable gzip file ({e})")),
    }
    let mut previous_id = archivo.desde - 1;
    let mut previous_hash = archivo.hash_anterior.clone();
    let broken = loop {
        let row = match lector.siguiente::<AuditRow>() {
            Ok(Linea::Leida(row)) => row,
            Ok(Linea::Fin) => break None,
            Ok(Linea::Ilegible(e)) => {
                break Some(format!(
                    "line {}, after record {previous_id}: not a record ({e})",
                    lector.numero
                ));
            }
            Err(e) => {
                break Some(format!("cannot be read after record {previous_id} ({e})"));
            }
        };
        let id = row.id;
        if id != previous_id + 1 || id > archivo.hasta {
            break Some(format!(
                "record {id}: comes after record {previous_id} (records missing, reordered or added)"
            ));
        }
        if row.hash_anterior != previous_hash {
            break Some(format!(
                "record {id}: does not link to record {previous_id} (hash_anterior)"
            ));
        }
        let hash = row.chain_hash();
        if row.hash != hash {
            break Some(format!(
                "record {id}: its hash does not match its columns (the record was changed)"
            ));
        }
        if wanted.contains(&id) {
            report.hashes.insert(id, hash.clone());
        }
        report.records += 1;
        previous_id = id;
        previous_hash = hash;
    };
    let mut problem = |what: String| report.problems.push(format!("{name}: {what}"));
    match broken {
        Some(what) => problem(what),
        None if previous_id != archivo.hasta => problem(format!(
            "ends at record {previous_id}; registered as ending at record {}",
            archivo.hasta
        )),
        None if previous_hash != archivo.hash_final => problem(format!(
            "record {}: its hash is not the registered final hash",
            archivo.hasta
        )),
        None => {}
    }
}

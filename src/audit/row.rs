//! One audit record as stored, and the hash that chains it to the previous one.
//!
//! `hash` = SHA-256 over every other column of the row, in this order, each encoded so that no
//! two different rows give the same bytes:
//!
//! `hash_anterior, id, ts_us, convenio, certificado, operacion, transporte, id_mensaje, sujetos,
//! proposito, campos, resultado, estado_http, latencia_us`, then the columns added later, each
//! only when present (so records written before it still verify): `xroad` as nullable text
//! (its marker byte `1`), then `omitidos` as the byte `2` followed by the integer, then
//! `personas` as the byte `3` followed by the integer, then `usuario` (the console user's RUN)
//! as the byte `4` followed by the text, then `nodo` (the node that wrote it, `cluster.nodo`)
//! as the byte `5` followed by the text.
//!
//! - text: its length in bytes (8 bytes, big-endian) then its UTF-8 bytes;
//! - nullable text: one byte `0` for NULL, or `1` followed by the text as above;
//! - integer: 8 bytes, big-endian two's complement (`estado_http` widened to 64 bits).
//!
//! `hash_anterior` is the previous record's `hash` (lower-case hex), or [`GENESIS_HASH`] for
//! record 1, so the hash covers the previous hash followed by the record's own columns.
//!
//! `sujetos` lists the persons a request named, comma-separated, each as its RUN
//! (`12345678-5`). Version 2 of that column (the release of migration 000010; the hash is
//! computed as before): a person whose own outcome differs from the record's carries it after a
//! colon, `12345678-5:FUERA_DE_AMBITO` (the persons of a batch it did not disclose, the refused
//! lines of a feed). A RUN never holds a colon, so a version-1 column reads the same under
//! version 2, and the hash, computed over the column's text as before, covers each person's
//! outcome. No column changed, so no migration: a node older than version 2 would take such a
//! record for a broken link (`parse_subjects` fails), never for a different person.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{AuditError, AuditRecord};
use crate::db::schema::{auditoria, auditoria_sujetos};
use crate::domain::Run;

/// The `hash_anterior` of the first record: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A row of `auditoria`; in an archive file, one JSON line with these names
/// (`audit/archivo/formato.rs`).
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, Serialize, Deserialize,
)]
#[diesel(table_name = auditoria, treat_none_as_default_value = false)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditRow {
    pub id: i64,
    pub ts_us: i64,
    pub convenio: Option<String>,
    pub certificado: Option<String>,
    pub operacion: String,
    pub transporte: String,
    pub id_mensaje: String,
    pub sujetos: String,
    pub proposito: Option<String>,
    pub campos: String,
    pub resultado: String,
    pub estado_http: i32,
    pub latencia_us: i64,
    pub hash_anterior: String,
    pub hash: String,
    pub xroad: Option<String>,
    pub omitidos: Option<i64>,
    pub personas: Option<i64>,
    /// Absent from archive files and exports written before the console: `None`.
    pub usuario: Option<String>,
    /// The node that wrote the record (`cluster.nodo`); `None` for a node running alone, and
    /// absent from archive files and exports written before several nodes.
    pub nodo: Option<String>,
}

/// A row of `auditoria_sujetos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Insertable)]
#[diesel(table_name = auditoria_sujetos)]
pub(crate) struct SubjectRow {
    pub run: i32,
    pub auditoria_id: i64,
}

impl AuditRow {
    /// The hash this row should carry, computed from its other columns.
    pub fn chain_hash(&self) -> String {
        let mut h = Sha256::new();
        text(&mut h, &self.hash_anterior);
        int(&mut h, self.id);
        int(&mut h, self.ts_us);
        nullable(&mut h, self.convenio.as_deref());
        nullable(&mut h, self.certificado.as_deref());
        text(&mut h, &self.operacion);
        text(&mut h, &self.transporte);
        text(&mut h, &self.id_mensaje);
        text(&mut h, &self.sujetos);
        nullable(&mut h, self.proposito.as_deref());
        text(&mut h, &self.campos);
        text(&mut h, &self.resultado);
        int(&mut h, i64::from(self.estado_http));
        int(&mut h, self.latencia_us);
        // Added later: covered when present, so records written before it still verify.
        if let Some(xroad) = &self.xroad {
            nullable(&mut h, Some(xroad));
        }
        if let Some(omitidos) = self.omitidos {
            h.update([2]);
            int(&mut h, omitidos);
        }
        if let Some(personas) = self.personas {
            h.update([3]);
            int(&mut h, personas);
        }
        if let Some(usuario) = &self.usuario {
            h.update([4]);
            text(&mut h, usuario);
        }
        if let Some(nodo) = &self.nodo {
            h.update([5]);
            text(&mut h, nodo);
        }
        hex::encode(h.finalize())
    }
}

fn int(h: &mut Sha256, value: i64) {
    h.update(value.to_be_bytes());
}

fn text(h: &mut Sha256, value: &str) {
    h.update((value.len() as u64).to_be_bytes());
    h.update(value.as_bytes());
}

fn nullable(h: &mut Sha256, value: Option<&str>) {
    match value {
        None => h.update([0]),
        Some(value) => {
            h.update([1]);
            text(h, value);
        }
    }
}

/// The RUN as stored in `auditoria_sujetos.run`.
pub(crate) fn run_key(run: Run) -> i32 {
    // A Run is at most 99,999,999, well inside i32.
    i32::try_from(run.numero()).unwrap_or(i32::MAX)
}

/// A record turned into columns, waiting for its id and previous hash (known only to the writer).
#[derive(Debug)]
pub(crate) struct Pending {
    row: AuditRow,
    /// Distinct RUN numbers, for `auditoria_sujetos`.
    runs: Vec<i32>,
}

impl Pending {
    /// Checks and encodes a record on the caller's thread, so the writer only chains and writes.
    /// `nodo` is the writing node's `cluster.nodo`, if it has one.
    pub fn new(record: AuditRecord, nodo: Option<&str>) -> Result<Pending, AuditError> {
        if record
            .fields
            .iter()
            .any(|f| f.is_empty() || f.contains(','))
        {
            return Err(AuditError::Invalid(
                "a field path is empty or holds a comma",
            ));
        }
        if record
            .undisclosed
            .iter()
            .any(|(_, code)| !is_outcome_code(code))
        {
            return Err(AuditError::Invalid(
                "a subject's outcome is not an upper-case code",
            ));
        }
        let mut runs: Vec<i32> = record
            .subjects
            .iter()
            .chain(record.undisclosed.iter().map(|(run, _)| run))
            .map(|r| run_key(*r))
            .collect();
        runs.sort_unstable();
        runs.dedup();
        let subjects: Vec<String> = record
            .subjects
            .iter()
            .map(Run::to_string)
            .chain(
                record
                    .undisclosed
                    .iter()
                    .map(|(run, code)| format!("{run}:{code}")),
            )
            .collect();
        let row = AuditRow {
            id: 0,
            ts_us: record.ts.timestamp_micros(),
            convenio: record.convenio.map(clean),
            certificado: record.certificate.map(clean),
            operacion: clean(record.operation),
            transporte: clean(record.transport.to_owned()),
            id_mensaje: clean(record.message_id),
            sujetos: subjects.join(","),
            proposito: record.purpose.map(clean),
            campos: clean(record.fields.join(",")),
            resultado: clean(record.outcome),
            estado_http: i32::from(record.http_status),
            latencia_us: i64::try_from(record.latency_us).unwrap_or(i64::MAX),
            hash_anterior: String::new(),
            hash: String::new(),
            xroad: record.xroad.map(clean),
            omitidos: record
                .omitidos
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            personas: record
                .personas
                .map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
            usuario: record.usuario.map(|run| run.to_string()),
            nodo: nodo.map(str::to_owned),
        };
        Ok(Pending { row, runs })
    }

    /// Gives the record its place in the chain; returns its row and its index rows.
    pub fn chain(&self, id: i64, previous: &str) -> (AuditRow, impl Iterator<Item = SubjectRow>) {
        let mut row = self.row.clone();
        row.id = id;
        row.hash_anterior = previous.to_owned();
        row.hash = row.chain_hash();
        let index = self.runs.iter().map(move |&run| SubjectRow {
            run,
            auditoria_id: id,
        });
        (row, index)
    }
}

/// PostgreSQL text cannot hold NUL. Values that come from the client (message id, purpose)
/// could, and one such record must not make its whole group fail: NUL becomes U+FFFD.
fn clean(value: String) -> String {
    if value.contains('\0') {
        value.replace('\0', "\u{FFFD}")
    } else {
        value
    }
}

/// Whether `code` may stand as a subject's outcome in `sujetos` (no comma, no colon).
fn is_outcome_code(code: &str) -> bool {
    !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// One entry of a stored `sujetos` column: the RUN and, if it has one, its own outcome.
fn parse_entry(entry: &str) -> Option<(Run, Option<&str>)> {
    match entry.split_once(':') {
        None => Some((Run::parse(entry).ok()?, None)),
        Some((run, code)) if is_outcome_code(code) => Some((Run::parse(run).ok()?, Some(code))),
        Some(_) => None,
    }
}

/// The distinct RUN numbers a stored `sujetos` column names, sorted; `None` if an entry is not
/// a RUN (with its outcome code, in version 2).
pub(crate) fn parse_subjects(sujetos: &str) -> Option<Vec<i32>> {
    if sujetos.is_empty() {
        return Some(Vec::new());
    }
    let mut runs = sujetos
        .split(',')
        .map(|s| parse_entry(s).map(|(run, _)| run_key(run)))
        .collect::<Option<Vec<i32>>>()?;
    runs.sort_unstable();
    runs.dedup();
    Some(runs)
}

/// How a stored `sujetos` column names the person `key`: `None` if it does not; `Some(None)`
/// if the record's outcome is theirs; `Some(Some(code))` if they have their own.
pub(crate) fn subject_outcome(sujetos: &str, key: i32) -> Option<Option<String>> {
    if sujetos.is_empty() {
        return None;
    }
    sujetos
        .split(',')
        .filter_map(parse_entry)
        .find(|(run, _)| run_key(*run) == key)
        .map(|(_, code)| code.map(str::to_owned))
}

/// The stored `campos` column back as field paths.
pub(crate) fn split_fields(campos: &str) -> Vec<String> {
    if campos.is_empty() {
        Vec::new()
    } else {
        campos.split(',').map(str::to_owned).collect()
    }
}

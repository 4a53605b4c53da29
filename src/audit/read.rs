//! Reading the audit log: chain verification, accesses to a person, quota counts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::index::indexed_upto;
use super::row::{AuditRow, GENESIS_HASH, parse_subjects, run_key, split_fields};
use crate::db::schema::{auditoria, auditoria_sujetos};
use crate::db::{DbConnection, DbError};
use crate::domain::Run;

/// Records read per query while verifying: memory stays flat whatever the log's size.
const VERIFY_PAGE: i64 = 10_000;

/// The result of walking the whole chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Records read.
    pub records: u64,
    /// The id of the first record that does not hold: its id does not follow the previous one,
    /// its `hash_anterior` is not the previous record's hash, its `hash` does not match its
    /// columns, or (once indexed) its `auditoria_sujetos` rows differ from its `sujetos`. A
    /// removed record is named by the record after it; removing the last records cannot be
    /// seen from the chain.
    pub first_broken: Option<i64>,
    /// Records the by-person index had not reached when the walk began (written after the
    /// answer; a running node keeps this near zero). Their chain is checked, their index rows
    /// are not yet.
    pub unindexed: u64,
}

/// Walks the chain in id order, a page at a time, recomputing every hash and link.
pub fn verify(conn: &mut DbConnection) -> Result<VerifyReport, DbError> {
    let mut report = VerifyReport {
        records: 0,
        first_broken: None,
        unindexed: 0,
    };
    let indexed = indexed_upto(conn)?;
    let mut previous_id = 0;
    let mut previous_hash = GENESIS_HASH.to_owned();
    loop {
        let page: Vec<AuditRow> = auditoria::table
            .filter(auditoria::id.gt(previous_id))
            .order(auditoria::id.asc())
            .limit(VERIFY_PAGE)
            .select(AuditRow::as_select())
            .load(conn)?;
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            return Ok(report);
        };
        let mut index: Vec<(i64, i32)> = auditoria_sujetos::table
            .filter(auditoria_sujetos::auditoria_id.between(first.id, last.id))
            .select((auditoria_sujetos::auditoria_id, auditoria_sujetos::run))
            .load(conn)?;
        index.sort_unstable();
        let mut index = index.as_slice();
        for row in &page {
            let split = index.partition_point(|(id, _)| *id <= row.id);
            let (own, rest) = index.split_at(split);
            index = rest;
            let own_rows: Vec<i32> = own
                .iter()
                .filter(|(id, _)| *id == row.id)
                .map(|(_, run)| *run)
                .collect();
            let subjects = parse_subjects(&row.sujetos);
            let index_holds = if row.id <= indexed {
                subjects.is_some_and(|runs| runs == own_rows)
            } else {
                report.unindexed += 1;
                subjects.is_some()
            };
            let holds = row.id == previous_id + 1
                && row.hash_anterior == previous_hash
                && row.hash == row.chain_hash()
                && index_holds;
            if !holds && report.first_broken.is_none() {
                report.first_broken = Some(row.id);
            }
            report.records += 1;
            previous_id = row.id;
            previous_hash.clone_from(&row.hash);
        }
    }
}

/// One audited request about a person, as shown to that person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub ts: DateTime<Utc>,
    pub agreement: Option<String>,
    pub operation: String,
    pub purpose: Option<String>,
    pub fields: Vec<String>,
    pub outcome: String,
    pub transport: String,
}

/// Which records of a person [`accesses`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Every record naming the person, refused ones included (operators).
    All,
    /// Only answered requests: what was actually disclosed (the person's own report). Filtered
    /// before the limit, so refused requests cannot push real accesses out of the list.
    Answered,
}

/// The latest `limit` records naming `run`, newest first: the indexed ones through
/// `auditoria_sujetos`, the ones the index has not reached yet from their own `sujetos`.
pub fn accesses(
    conn: &mut DbConnection,
    run: Run,
    which: Which,
    limit: i64,
) -> Result<Vec<Access>, DbError> {
    let limit = limit.max(0);
    let key = run_key(run);
    // Read the mark first: rows indexed after this read belong to records the tail below
    // reads anyway, so the bound keeps each record in one of the two lists.
    let indexed = indexed_upto(conn)?;
    let tail: Vec<AuditRow> = auditoria::table
        .filter(auditoria::id.gt(indexed))
        .order(auditoria::id.desc())
        .select(AuditRow::as_select())
        .load(conn)?;
    let mut rows: Vec<AuditRow> = tail
        .into_iter()
        .filter(|row| which == Which::All || ANSWERED.contains(&row.resultado.as_str()))
        .filter(|row| parse_subjects(&row.sujetos).is_some_and(|runs| runs.contains(&key)))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    let wanted = limit.saturating_sub(i64::try_from(rows.len()).unwrap_or(i64::MAX));
    if wanted > 0 {
        let mut query = auditoria_sujetos::table
            .inner_join(auditoria::table)
            .filter(auditoria_sujetos::run.eq(key))
            .filter(auditoria_sujetos::auditoria_id.le(indexed))
            .into_boxed();
        if which == Which::Answered {
            query = query.filter(auditoria::resultado.eq_any(ANSWERED));
        }
        rows.extend(
            query
                .order(auditoria_sujetos::auditoria_id.desc())
                .limit(wanted)
                .select(AuditRow::as_select())
                .load::<AuditRow>(conn)?,
        );
    }
    rows.into_iter()
        .map(|row| {
            let ts = DateTime::from_timestamp_micros(row.ts_us).ok_or_else(|| {
                DbError::Query(diesel::result::Error::DeserializationError(
                    format!("audit record {} has an impossible time", row.id).into(),
                ))
            })?;
            Ok(Access {
                ts,
                agreement: row.convenio,
                operation: row.operacion,
                purpose: row.proposito,
                fields: split_fields(&row.campos),
                outcome: row.resultado,
                transport: row.transporte,
            })
        })
        .collect()
}

/// Outcomes decided before a request reaches the daily quota: they did not use it up.
pub const NOT_COUNTED: [&str; 4] = [
    "NO_AUTORIZADO",
    "CONVENIO_NO_VIGENTE",
    "LIMITE_EXCEDIDO",
    "CUOTA_EXCEDIDA",
];

/// How many persons an agreement's records at or after `since_us` (microseconds since the
/// epoch) counted against its daily quota, for restoring the count at start-up: each record
/// counts the persons it names, and at least one.
pub fn count_since(
    conn: &mut DbConnection,
    agreement: &str,
    since_us: i64,
) -> Result<u64, DbError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Nullable};
    // `sujetos` holds RUNs separated by commas: its commas plus one ("" counts as one).
    let persons: Option<i64> = auditoria::table
        .filter(auditoria::convenio.eq(agreement))
        .filter(auditoria::ts_us.ge(since_us))
        .filter(auditoria::resultado.ne_all(NOT_COUNTED))
        .select(sql::<Nullable<BigInt>>(
            "SUM(LENGTH(sujetos) - LENGTH(REPLACE(sujetos, ',', '')) + 1)",
        ))
        .get_result(conn)?;
    Ok(persons.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

/// The persons whom an agreement's identity comparisons at or after `since_us` did not match
/// (records of ValidarIdentidad with outcome `NO_COINCIDE`), one entry per comparison, for
/// restoring the day's limit at start-up.
pub fn failed_validations_since(
    conn: &mut DbConnection,
    agreement: &str,
    since_us: i64,
) -> Result<Vec<Run>, DbError> {
    let rows: Vec<String> = auditoria::table
        .filter(auditoria::convenio.eq(agreement))
        .filter(auditoria::ts_us.ge(since_us))
        .filter(auditoria::operacion.eq("ValidarIdentidad"))
        .filter(auditoria::resultado.eq(NO_COINCIDE))
        .select(auditoria::sujetos)
        .load(conn)?;
    Ok(rows
        .iter()
        .flat_map(|s| s.split(','))
        .filter_map(|r| Run::parse(r).ok())
        .collect())
}

/// The outcome of an identity comparison that was answered but did not match.
pub const NO_COINCIDE: &str = "NO_COINCIDE";

/// The outcomes of requests that were answered (what a person's access report lists).
pub const ANSWERED: [&str; 2] = ["OK", NO_COINCIDE];

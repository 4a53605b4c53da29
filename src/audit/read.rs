//! Reading the audit log: chain verification, accesses to a person, quota counts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::archivo::archivos;
use super::index::indexed_upto;
use super::row::{AuditRow, GENESIS_HASH, parse_subjects, run_key, split_fields, subject_outcome};
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
    /// Records archived (`siis audit archive`): the walk starts after the last archive, from
    /// its final hash. The files themselves are checked by [`super::verify_files`].
    pub archived: u64,
    /// Archived records still in the database (a run stopped while deleting them; the next
    /// `siis audit archive` deletes them). Not read.
    pub archived_left: u64,
    /// Records read, per node that wrote them (`cluster.nodo`); records of a node running alone
    /// name none and are not counted here.
    pub por_nodo: std::collections::BTreeMap<String, u64>,
}

/// Walks the chain in id order, a page at a time, recomputing every hash and link. With
/// archives, the walk starts after the last one, from its final hash; the archives'
/// registrations must follow one another from record 1 (the first that does not is named by
/// its first record).
pub fn verify(conn: &mut DbConnection) -> Result<VerifyReport, DbError> {
    let mut report = VerifyReport {
        records: 0,
        first_broken: None,
        unindexed: 0,
        archived: 0,
        archived_left: 0,
        por_nodo: Default::default(),
    };
    let indexed = indexed_upto(conn)?;
    let mut previous_id = 0;
    let mut previous_hash = GENESIS_HASH.to_owned();
    for archivo in archivos(conn)? {
        if archivo.desde != previous_id + 1 || archivo.hash_anterior != previous_hash {
            report.first_broken.get_or_insert(archivo.desde);
        }
        previous_id = archivo.hasta;
        previous_hash = archivo.hash_final;
    }
    if previous_id > 0 {
        report.archived = u64::try_from(previous_id).unwrap_or(0);
        let left: i64 = auditoria::table
            .filter(auditoria::id.le(previous_id))
            .count()
            .get_result(conn)?;
        report.archived_left = u64::try_from(left).unwrap_or(0);
    }
    loop {
        let page: Vec<AuditRow> = auditoria::table
            .filter(auditoria::id.gt(previous_id))
            .order(auditoria::id.asc())
            .limit(VERIFY_PAGE)
            .select(AuditRow::as_select())
            .load(conn)?;
        let (Some(first), Some(last)) = (page.first(), page.last()) else {
            // An archive never takes the newest record: archives with nothing after them are
            // a registration that claims records it did not archive (or a log cut after one).
            if report.archived > 0 && report.records == 0 {
                report.first_broken.get_or_insert(previous_id + 1);
            }
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
            if let Some(nodo) = &row.nodo {
                *report.por_nodo.entry(nodo.clone()).or_insert(0) += 1;
            }
            previous_id = row.id;
            previous_hash.clone_from(&row.hash);
        }
    }
}

/// One audited request about a person, as shown to that person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub ts: DateTime<Utc>,
    pub convenio: Option<String>,
    pub operation: String,
    pub purpose: Option<String>,
    /// The fields disclosed about this person (none when their outcome is not `OK`).
    pub fields: Vec<String>,
    /// What happened to this person's part of the request: `OK` (answered), or why not (the
    /// record's code, or the person's own in a batch or feed, e.g. `FUERA_DE_AMBITO`).
    pub outcome: String,
    pub transport: String,
}

/// Which records of a person [`accesses`] lists, by that person's own outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Every record naming the person.
    All,
    /// Only where something was disclosed about the person (outcome `OK`, or `NO_COINCIDE`:
    /// an identity comparison that was answered).
    Answered,
    /// Only where nothing was: refused requests, and the persons of an answered batch or feed
    /// it did not disclose (probes).
    Unanswered,
}

impl Which {
    fn keeps(self, access: &Access) -> bool {
        match self {
            Which::All => true,
            Which::Answered => ANSWERED.contains(&access.outcome.as_str()),
            Which::Unanswered => !ANSWERED.contains(&access.outcome.as_str()),
        }
    }
}

/// Records read per query from the index when some of them may be left out (a page of
/// `Answered` holds records where the person's own outcome is not `OK`).
const ACCESS_PAGE: i64 = 256;

/// The latest `limit` records naming `run` that `which` keeps, newest first, each with the
/// person's own outcome: the indexed ones through `auditoria_sujetos`, the ones the index has
/// not reached yet from their own `sujetos`. Filtered before the limit, so that (for the
/// person's own report) refusals cannot push real accesses out of the list, nor the reverse.
pub fn accesses(
    conn: &mut DbConnection,
    run: Run,
    which: Which,
    limit: i64,
) -> Result<Vec<Access>, DbError> {
    let limit = usize::try_from(limit.max(0)).unwrap_or(usize::MAX);
    let key = run_key(run);
    // Read the mark first: rows indexed after this read belong to records the tail below
    // reads anyway, so the bound keeps each record in one of the two lists.
    let indexed = indexed_upto(conn)?;
    let tail: Vec<AuditRow> = auditoria::table
        .filter(auditoria::id.gt(indexed))
        .order(auditoria::id.desc())
        .select(AuditRow::as_select())
        .load(conn)?;
    let mut out = Vec::new();
    keep(&mut out, tail, key, which, limit)?;
    let mut below = indexed.saturating_add(1);
    while out.len() < limit {
        let want = i64::try_from(limit - out.len())
            .unwrap_or(i64::MAX)
            .max(ACCESS_PAGE);
        let mut query = auditoria_sujetos::table
            .inner_join(auditoria::table)
            .filter(auditoria_sujetos::run.eq(key))
            .filter(auditoria_sujetos::auditoria_id.lt(below))
            .into_boxed();
        // What SQL can tell from the record alone; the person's own outcome is read below.
        query = match which {
            Which::All => query,
            Which::Answered => query.filter(auditoria::resultado.eq_any(ANSWERED)),
            Which::Unanswered => query.filter(
                auditoria::resultado
                    .ne_all(ANSWERED)
                    .or(auditoria::sujetos.like("%:%")),
            ),
        };
        let page: Vec<AuditRow> = query
            .order(auditoria_sujetos::auditoria_id.desc())
            .limit(want)
            .select(AuditRow::as_select())
            .load(conn)?;
        let read = page.len();
        match page.last() {
            Some(last) => below = last.id,
            None => break,
        }
        keep(&mut out, page, key, which, limit)?;
        if i64::try_from(read).unwrap_or(i64::MAX) < want {
            break;
        }
    }
    Ok(out)
}

/// Appends to `out` (up to `limit`) the accesses to `key` of `rows` that `which` keeps.
fn keep(
    out: &mut Vec<Access>,
    rows: Vec<AuditRow>,
    key: i32,
    which: Which,
    limit: usize,
) -> Result<(), DbError> {
    for row in rows {
        if out.len() >= limit {
            break;
        }
        let Some(own) = subject_outcome(&row.sujetos, key) else {
            continue;
        };
        let access = access(row, own)?;
        if which.keeps(&access) {
            out.push(access);
        }
    }
    Ok(())
}

/// A record as one of its subjects sees it: with their own outcome (`own`) when they have one.
fn access(row: AuditRow, own: Option<String>) -> Result<Access, DbError> {
    let ts = DateTime::from_timestamp_micros(row.ts_us).ok_or_else(|| {
        DbError::Query(diesel::result::Error::DeserializationError(
            format!("audit record {} has an impossible time", row.id).into(),
        ))
    })?;
    let (outcome, fields) = match own {
        Some(code) => (code, Vec::new()),
        None => (row.resultado, split_fields(&row.campos)),
    };
    Ok(Access {
        ts,
        convenio: row.convenio,
        operation: row.operacion,
        purpose: row.proposito,
        fields,
        outcome,
        transport: row.transporte,
    })
}

/// Outcomes decided before a request reaches the daily quota: they did not use it up.
/// Records that say what their request took (`personas`) need none of this list.
pub const NOT_COUNTED: [&str; 7] = [
    "NO_AUTORIZADO",
    "CONVENIO_NO_VIGENTE",
    "LIMITE_EXCEDIDO",
    "CUOTA_EXCEDIDA",
    "LOTE_SUPERA_RAFAGA",
    "CERTIFICADO_REVOCADO",
    "REVOCACION_VENCIDA",
];

/// How many persons an agreement's records at or after `since_us` (microseconds since the
/// epoch) counted against its daily quota, for restoring the count at start-up: what each
/// record says its request took (`personas`), or, for a record written before that was kept,
/// the persons it names and at least one.
pub fn count_since(conn: &mut DbConnection, convenio: &str, since_us: i64) -> Result<u64, DbError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Nullable};
    // `sujetos` holds RUNs separated by commas: its commas plus one ("" counts as one).
    let persons: Option<i64> = auditoria::table
        .filter(auditoria::convenio.eq(convenio))
        .filter(auditoria::ts_us.ge(since_us))
        .filter(auditoria::resultado.ne_all(NOT_COUNTED))
        .select(sql::<Nullable<BigInt>>(
            // CAST: PostgreSQL sums a BIGINT into a NUMERIC.
            "CAST(SUM(COALESCE(personas, LENGTH(sujetos) - LENGTH(REPLACE(sujetos, ',', '')) + 1)) AS BIGINT)",
        ))
        .get_result(conn)?;
    Ok(persons.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

/// The persons each console user (by RUN number) asked about at or after `since_us`, counted
/// as [`count_since`] counts an agreement's, for restoring their own quotas at start-up.
pub fn usuarios_since(
    conn: &mut DbConnection,
    since_us: i64,
) -> Result<std::collections::HashMap<u32, u64>, DbError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{BigInt, Nullable};
    let rows: Vec<(Option<String>, Option<i64>)> = auditoria::table
        .filter(auditoria::usuario.is_not_null())
        .filter(auditoria::ts_us.ge(since_us))
        .filter(auditoria::resultado.ne_all(NOT_COUNTED))
        .group_by(auditoria::usuario)
        .select((
            auditoria::usuario,
            sql::<Nullable<BigInt>>(
                "CAST(SUM(COALESCE(personas, LENGTH(sujetos) - LENGTH(REPLACE(sujetos, ',', '')) + 1)) AS BIGINT)",
            ),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(usuario, persons)| {
            let run: Run = usuario?.parse().ok()?;
            Some((run.numero(), u64::try_from(persons?).ok()?))
        })
        .collect())
}

/// The persons whom an agreement's identity comparisons at or after `since_us` did not match
/// (records of ValidarIdentidad with outcome `NO_COINCIDE`), one entry per comparison, for
/// restoring the day's limit at start-up.
pub fn failed_validations_since(
    conn: &mut DbConnection,
    convenio: &str,
    since_us: i64,
) -> Result<Vec<Run>, DbError> {
    let rows: Vec<String> = auditoria::table
        .filter(auditoria::convenio.eq(convenio))
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

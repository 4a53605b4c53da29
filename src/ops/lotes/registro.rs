//! The `lotes` and `procedencia` tables: finding a batch already applied, applying a staged one
//! in one transaction, and answering "which batch set this value?".

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::BigInt;
use serde::Serialize;

use super::eventos;
use super::feeds::{self, Cruce};
use super::lectura::{Huella, Lectura};
use super::{APPLY_CHUNK, Envio, Informe, LoteError, MAX_RECHAZOS, Progreso, TipoLote};
use crate::db::schema::{lotes, procedencia as procedencia_t};
use crate::db::{DbConnection, count};
use crate::domain::Run;

/// The report of the batch `clave` of agreement `convenio`, if it was applied.
pub(super) fn find(
    conn: &mut DbConnection,
    convenio: &str,
    clave: &str,
) -> Result<Option<Informe>, LoteError> {
    let informe: Option<String> = lotes::table
        .filter(lotes::convenio.eq(convenio))
        .filter(lotes::clave.eq(clave))
        .select(lotes::informe)
        .first(conn)
        .optional()?;
    informe
        .map(|text| {
            serde_json::from_str(&text).map_err(|e| {
                LoteError::Db(crate::db::DbError::Query(
                    DieselError::DeserializationError(Box::new(e)),
                ))
            })
        })
        .transpose()
}

pub(super) enum Aplicado {
    Nuevo(Informe),
    /// Another sender applied the same batch first.
    Previo(Informe),
}

#[derive(QueryableByName)]
struct Linea {
    #[diesel(sql_type = BigInt)]
    linea: i64,
}

#[derive(QueryableByName)]
struct RunFila {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    run: i32,
}

/// Applies the staged records of a batch in one transaction, with its `lotes` row.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site, each argument a distinct part"
)]
pub(super) fn aplicar(
    conn: &mut DbConnection,
    tipo: TipoLote,
    envio: &Envio,
    clave: &str,
    huella: &Huella,
    mut lectura: Lectura,
    recibido: DateTime<Utc>,
    progreso: &mut dyn Progreso,
) -> Result<Aplicado, LoteError> {
    let stage = feeds::stage_name(tipo);
    diesel::sql_query(format!("CREATE INDEX {stage}_run ON {stage} (run)")).execute(conn)?;
    // A duplicate's earlier line is the one staged with its RUN.
    for (at, run) in std::mem::take(&mut lectura.duplicados) {
        let first: Option<Linea> =
            diesel::sql_query(format!("SELECT linea FROM {stage} WHERE run = {run}"))
                .get_result(conn)
                .optional()?;
        if let (Some(first), Some(r)) = (first, lectura.rechazos.kept.get_mut(at)) {
            r.motivo = format!(
                "the RUN appears earlier in this batch, at line {}",
                first.linea
            );
        }
    }
    let result = conn.transaction(|conn| {
        // The batch's row first: a batch applied meanwhile by another sender shows as a unique
        // violation here (the caller's write transaction holds SQLite's write lock already).
        let now = Utc::now();
        diesel::insert_into(lotes::table)
            .values((
                lotes::convenio.eq(&envio.convenio),
                lotes::tipo.eq(tipo.as_str()),
                lotes::clave.eq(clave),
                lotes::sha256.eq(&huella.sha256),
                lotes::formato.eq(envio.formato.as_str()),
                lotes::transporte.eq(envio.transporte),
                lotes::id_mensaje.eq(envio.id_mensaje.as_deref()),
                lotes::leidos.eq(0i64),
                lotes::aplicados.eq(0i64),
                lotes::rechazados.eq(0i64),
                lotes::informe.eq("{}"),
                lotes::recibido_us.eq(recibido.timestamp_micros()),
                lotes::aplicado_us.eq(now.timestamp_micros()),
            ))
            .execute(conn)?;
        let id: i64 = lotes::table
            .filter(lotes::convenio.eq(&envio.convenio))
            .filter(lotes::clave.eq(clave))
            .select(lotes::id)
            .first(conn)?;
        for cruce in &feeds::cruces(tipo, envio.alcance) {
            cruzar(conn, stage, cruce, &mut lectura)?;
        }
        if let (Some(bloqueo), DbConnection::Pg(_)) = (feeds::bloqueo(tipo), &*conn) {
            // New folios / benefit ids are numbered under a lock (SQLite needs none: the
            // batch's transaction already holds its only write lock).
            diesel::sql_query(bloqueo).execute(conn)?;
        }
        let sql = crate::eventos::Sql::de(conn);
        let aplicados = count(conn, &format!("SELECT COUNT(*) AS n FROM {stage}"))? as u64;
        progreso.aplicando(0, aplicados);
        let mut from = 0u64;
        let mut done = 0u64;
        while from < lectura.ultima_linea {
            let to = from + APPLY_CHUNK;
            let range = format!("s.linea > {from} AND s.linea <= {to}");
            let (antes, despues) = eventos::sentencias(tipo, sql, &range);
            let statements = antes
                .into_iter()
                .chain(feeds::aplicar(tipo, envio, id, &range))
                .chain(despues);
            for statement in statements {
                diesel::sql_query(statement).execute(conn)?;
            }
            done += count(
                conn,
                &format!(
                    "SELECT COUNT(*) AS n FROM {stage} WHERE linea > {from} AND linea <= {to}"
                ),
            )? as u64;
            progreso.aplicando(done, aplicados);
            from = to;
        }
        if eventos::escribe(tipo) {
            // Last, after every row the batch changes (`lotes::eventos`).
            crate::eventos::bloquear(conn)?;
            diesel::sql_query(eventos::registrar(sql, id, now.timestamp_micros())).execute(conn)?;
        }
        let mut rechazos = std::mem::take(&mut lectura.rechazos.kept);
        rechazos.sort_by_key(|r| r.linea);
        let total_rechazos = lectura.rechazos.total;
        let informe = Informe {
            lote: id,
            convenio: envio.convenio.clone(),
            tipo: tipo.as_str().to_owned(),
            formato: envio.formato.as_str().to_owned(),
            clave: clave.to_owned(),
            sha256: huella.sha256.clone(),
            leidos: lectura.leidos,
            aplicados,
            rechazados: total_rechazos,
            rechazos_omitidos: total_rechazos - rechazos.len() as u64,
            rechazos,
            avisos: std::mem::take(&mut lectura.avisos),
            recibido,
            aplicado: now,
            repetido: false,
            sujetos_rechazados: std::mem::take(&mut lectura.rechazos.sujetos),
        };
        let text = serde_json::to_string(&informe)
            .map_err(|e| DieselError::SerializationError(Box::new(e)))?;
        diesel::update(lotes::table.find(id))
            .set((
                lotes::leidos.eq(informe.leidos as i64),
                lotes::aplicados.eq(informe.aplicados as i64),
                lotes::rechazados.eq(informe.rechazados as i64),
                lotes::informe.eq(text),
            ))
            .execute(conn)?;
        Ok::<_, DieselError>(informe)
    });
    match result {
        Ok(informe) => Ok(Aplicado::Nuevo(informe)),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            match find(conn, &envio.convenio, clave)? {
                Some(previo) => Ok(Aplicado::Previo(previo)),
                None => Err(DieselError::RollbackTransaction.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Rejects the staged records that fail a check against the registry, and unstages them.
fn cruzar(
    conn: &mut DbConnection,
    stage: &str,
    cruce: &Cruce,
    lectura: &mut Lectura,
) -> QueryResult<()> {
    let matching = format!(
        "FROM {stage} s LEFT JOIN personas p ON p.run = s.run WHERE {}",
        cruce.condicion
    );
    let n = count(conn, &format!("SELECT COUNT(*) AS n {matching}"))?;
    if n == 0 {
        return Ok(());
    }
    let room = MAX_RECHAZOS.saturating_sub(lectura.rechazos.kept.len());
    let lineas: Vec<Linea> = diesel::sql_query(format!(
        "SELECT s.linea AS linea {matching} ORDER BY s.linea LIMIT {room}"
    ))
    .load(conn)?;
    for l in &lineas {
        lectura
            .rechazos
            .push(l.linea as u64, cruce.codigo, cruce.motivo.to_owned());
    }
    // Those beyond the kept ones are counted only; every one is named in the audit record.
    lectura.rechazos.total += n as u64 - lineas.len() as u64;
    let runs: Vec<RunFila> =
        diesel::sql_query(format!("SELECT s.run AS run {matching}")).load(conn)?;
    lectura.rechazos.sujetos.extend(
        runs.into_iter()
            .filter_map(|r| Run::from_numero(u32::try_from(r.run).ok()?).ok())
            .map(|run| (run, cruce.codigo)),
    );
    diesel::sql_query(format!(
        "DELETE FROM {stage} WHERE linea IN (SELECT s.linea {matching})"
    ))
    .execute(conn)?;
    Ok(())
}

/// One batch that set values of a person: which, when, from whom.
#[derive(Debug, Clone, Serialize)]
pub struct Procedencia {
    pub lote: i64,
    pub convenio: String,
    pub tipo: String,
    pub clave: String,
    pub sha256: String,
    pub transporte: String,
    pub recibido: DateTime<Utc>,
    pub aplicado: DateTime<Utc>,
    /// The fields the batch set for this person.
    pub campos: Vec<&'static str>,
    /// The values it set (as the record carried them, checked).
    pub valores: serde_json::Value,
}

/// The batches that set values of `run`, newest first; only those that set `campo` when given.
pub fn procedencia(
    conn: &mut DbConnection,
    run: Run,
    campo: Option<&str>,
) -> QueryResult<Vec<Procedencia>> {
    type Row = (
        i64,
        String,
        String,
        String,
        String,
        String,
        i64,
        i64,
        String,
    );
    let rows: Vec<Row> = procedencia_t::table
        .inner_join(lotes::table)
        .filter(procedencia_t::run.eq(run.numero() as i32))
        .order(lotes::id.desc())
        .select((
            lotes::id,
            lotes::convenio,
            lotes::tipo,
            lotes::clave,
            lotes::sha256,
            lotes::transporte,
            lotes::recibido_us,
            lotes::aplicado_us,
            procedencia_t::valores,
        ))
        .load(conn)?;
    let ts = |us: i64| DateTime::from_timestamp_micros(us).unwrap_or_default();
    Ok(rows
        .into_iter()
        .filter_map(
            |(lote, convenio, tipo, clave, sha256, transporte, r, a, valores)| {
                let campos = TipoLote::parse(&tipo)
                    .map(TipoLote::campos)
                    .unwrap_or_default();
                if campo.is_some_and(|c| !campos.contains(&c)) {
                    return None;
                }
                Some(Procedencia {
                    lote,
                    convenio,
                    tipo,
                    clave,
                    sha256,
                    transporte,
                    recibido: ts(r),
                    aplicado: ts(a),
                    campos: campos.to_vec(),
                    valores: serde_json::from_str(&valores).unwrap_or(serde_json::Value::Null),
                })
            },
        )
        .collect())
}

/// Records of the batches an agreement sent over REST or SOAP (not `siis ingest`) received at
/// or after `since_us`, for restoring its batches' budget (`[limits.lotes]`) at start-up.
pub fn registros_desde(
    conn: &mut DbConnection,
    convenio: &str,
    since_us: i64,
) -> Result<u64, crate::db::DbError> {
    use diesel::sql_types::{BigInt, Nullable};
    // CAST: PostgreSQL sums a BIGINT into a NUMERIC.
    let total: Option<i64> = lotes::table
        .filter(lotes::convenio.eq(convenio))
        .filter(lotes::recibido_us.ge(since_us))
        .filter(lotes::transporte.ne("cli"))
        .select(diesel::dsl::sql::<Nullable<BigInt>>(
            "CAST(SUM(leidos) AS BIGINT)",
        ))
        .get_result(conn)?;
    Ok(total.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

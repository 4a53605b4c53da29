//! The precomputed summary EstadisticasTerritoriales answers from: counts per comuna and
//! quintile in `estadisticas_celdas`, and when they were computed in `estadisticas_calculo`.
//!
//! Counting 11 million persons takes about a minute, so it is never done per request. The
//! summary is recomputed by `siis estadisticas recalcular`, at the end of `siis seed`, and by a
//! running node when it starts with a missing or stale summary and then on its interval
//! (`estadisticas.recalcular_cada_secs`). Answers carry `calculadoEn`, the moment the counts
//! were read. The counting is a read; only the replacement of the ~1,700 summary rows is a
//! (short) write transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Text};

use super::tabla::Conteo;
use crate::config::Config;
use crate::db::schema::{estadisticas_calculo, estadisticas_celdas};
use crate::db::{DbConnection, DbError, Pool};
use crate::domain::Quintil;

/// The counts and when they were computed.
#[derive(Debug, Clone)]
pub struct Resumen {
    pub calculado_en: DateTime<Utc>,
    pub conteos: HashMap<(String, u8), Conteo>,
}

/// What a recomputation did.
#[derive(Debug, Clone, PartialEq)]
pub struct Recalculo {
    /// Comuna × quintile rows written (only non-empty ones are stored).
    pub celdas: usize,
    pub calculado_en: DateTime<Utc>,
    pub duracion: Duration,
    /// False when a computation that started later had already been stored: nothing written.
    pub aplicado: bool,
}

#[derive(QueryableByName)]
struct Fila {
    #[diesel(sql_type = Text)]
    cut: String,
    #[diesel(sql_type = Integer)]
    quintil: i32,
    #[diesel(sql_type = BigInt)]
    personas: i64,
    #[diesel(sql_type = BigInt)]
    hogares: i64,
    #[diesel(sql_type = BigInt)]
    fichas: i64,
    #[diesel(sql_type = BigInt)]
    suma_puntaje: i64,
}

#[derive(Insertable, Queryable)]
#[diesel(table_name = estadisticas_celdas)]
struct CeldaRow {
    cut: String,
    quintil: i32,
    personas: i64,
    hogares: i64,
    fichas: i64,
    suma_puntaje: i64,
}

/// The counting query, one statement for both backends. Persons are the living members of
/// each household with a ficha in force, by the household's comuna and the ficha's quintile
/// (cut-points from [`Quintil::range`], so the SQL cannot drift from the domain).
fn consulta() -> String {
    let mut caso = String::from("CASE");
    for q in &Quintil::ALL[..4] {
        caso += &format!(" WHEN f.puntaje <= {} THEN {}", q.range().1, q.number());
    }
    caso += " ELSE 5 END";
    format!(
        "SELECT h.cut AS cut, {caso} AS quintil, \
           CAST(SUM(COALESCE(v.vivos, 0)) AS BIGINT) AS personas, \
           CAST(SUM(CASE WHEN v.vivos > 0 THEN 1 ELSE 0 END) AS BIGINT) AS hogares, \
           CAST(COUNT(*) AS BIGINT) AS fichas, \
           CAST(SUM(f.puntaje) AS BIGINT) AS suma_puntaje \
         FROM fichas f \
         JOIN hogares h ON h.id = f.hogar_id \
         LEFT JOIN (SELECT i.hogar_id AS hogar_id, COUNT(*) AS vivos \
                    FROM integrantes i JOIN personas p ON p.run = i.run \
                    WHERE p.fecha_defuncion IS NULL GROUP BY i.hogar_id) v \
           ON v.hogar_id = f.hogar_id \
         WHERE f.estado = 'vigente' \
         GROUP BY h.cut, {caso}"
    )
}

fn as_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Counts the registry and replaces the summary, unless a computation that started later has
/// been stored meanwhile (then the newer one stays).
pub fn recalcular(conn: &mut DbConnection) -> Result<Recalculo, DbError> {
    let calculado_en = Utc::now();
    let started = Instant::now();
    let filas: Vec<Fila> = diesel::sql_query(consulta()).load(conn)?;
    let rows: Vec<CeldaRow> = filas
        .into_iter()
        .map(|f| CeldaRow {
            cut: f.cut,
            quintil: f.quintil,
            personas: f.personas,
            hogares: f.hogares,
            fichas: f.fichas,
            suma_puntaje: f.suma_puntaje,
        })
        .collect();
    let duracion = started.elapsed();
    let stamp = calculado_en.timestamp_micros();
    let aplicado = conn.transaction(|conn| {
        let previo: Option<i64> = estadisticas_calculo::table
            .select(estadisticas_calculo::calculado_en_us)
            .first(conn)
            .optional()?;
        if previo.is_some_and(|p| p >= stamp) {
            return Ok::<_, diesel::result::Error>(false);
        }
        diesel::delete(estadisticas_celdas::table).execute(conn)?;
        // Batch inserts need the concrete backend (MultiConnection has no multi-row VALUES).
        for chunk in rows.chunks(500) {
            let insert = diesel::insert_into(estadisticas_celdas::table).values(chunk);
            match conn {
                DbConnection::Sqlite(c) => insert.execute(c)?,
                DbConnection::Pg(c) => insert.execute(c)?,
            };
        }
        diesel::delete(estadisticas_calculo::table).execute(conn)?;
        diesel::insert_into(estadisticas_calculo::table)
            .values((
                estadisticas_calculo::id.eq(1),
                estadisticas_calculo::calculado_en_us.eq(stamp),
                estadisticas_calculo::duracion_ms.eq(duracion.as_millis() as i64),
            ))
            .execute(conn)?;
        Ok(true)
    })?;
    Ok(Recalculo {
        celdas: rows.len(),
        calculado_en,
        duracion,
        aplicado,
    })
}

/// When the summary was computed, if ever.
pub fn calculado_en(conn: &mut DbConnection) -> Result<Option<DateTime<Utc>>, DbError> {
    let us: Option<i64> = estadisticas_calculo::table
        .select(estadisticas_calculo::calculado_en_us)
        .first(conn)
        .optional()?;
    Ok(us.and_then(DateTime::from_timestamp_micros))
}

/// The stored summary, if it was ever computed. Read in one transaction, so that the counts
/// and their time belong together.
pub fn cargar(conn: &mut DbConnection) -> Result<Option<Resumen>, DbError> {
    Ok(conn.transaction(|conn| {
        let us: Option<i64> = estadisticas_calculo::table
            .select(estadisticas_calculo::calculado_en_us)
            .first(conn)
            .optional()?;
        let Some(calculado_en) = us.and_then(DateTime::from_timestamp_micros) else {
            return Ok::<_, diesel::result::Error>(None);
        };
        let rows: Vec<CeldaRow> = estadisticas_celdas::table
            .select((
                estadisticas_celdas::cut,
                estadisticas_celdas::quintil,
                estadisticas_celdas::personas,
                estadisticas_celdas::hogares,
                estadisticas_celdas::fichas,
                estadisticas_celdas::suma_puntaje,
            ))
            .load(conn)?;
        let conteos = rows
            .into_iter()
            .filter_map(|r| {
                let q = u8::try_from(r.quintil).ok()?;
                let conteo = Conteo {
                    personas: as_u64(r.personas),
                    hogares: as_u64(r.hogares),
                    fichas: as_u64(r.fichas),
                    suma_puntaje: as_u64(r.suma_puntaje),
                };
                Some(((r.cut, q), conteo))
            })
            .collect();
        Ok(Some(Resumen {
            calculado_en,
            conteos,
        }))
    })?)
}

/// Keeps a running node's summary fresh: recomputes at start when it is missing or older than
/// the interval, then every interval. An interval of 0 leaves it to the operator (`siis
/// estadisticas recalcular`, `siis seed`). Runs on the node's runtime; the counting itself
/// runs on a blocking thread with a connection of the pool. Among several nodes only the leader
/// recomputes (`lider`); the others look again every minute, to take over when it goes.
pub fn programar(config: &Arc<Config>, pool: Pool, lider: crate::db::lider::Lider) {
    let every = config.estadisticas.recalcular_cada_secs;
    if every == 0 {
        return;
    }
    let every = Duration::from_secs(every);
    tokio::spawn(async move {
        loop {
            if !lider.es_lider() {
                tokio::time::sleep(every.min(Duration::from_secs(60))).await;
                continue;
            }
            let pool2 = pool.clone();
            let due = tokio::task::spawn_blocking(move || -> Result<Duration, DbError> {
                let mut conn = pool2.get()?;
                let edad =
                    calculado_en(&mut conn)?.map(|t| (Utc::now() - t).to_std().unwrap_or_default());
                match edad {
                    Some(edad) if edad < every => Ok(every - edad),
                    _ => {
                        let r = recalcular(&mut conn)?;
                        tracing::info!(
                            estadisticas.celdas = r.celdas,
                            estadisticas.duracion_ms = r.duracion.as_millis() as u64,
                            "territorial statistics recomputed"
                        );
                        Ok(every)
                    }
                }
            })
            .await;
            let wait = match due {
                Ok(Ok(wait)) => wait,
                Ok(Err(error)) => {
                    tracing::error!(error = %error, "territorial statistics not recomputed");
                    every.min(Duration::from_secs(60))
                }
                Err(error) => {
                    tracing::error!(error = %error, "territorial statistics task failed");
                    every.min(Duration::from_secs(60))
                }
            };
            tokio::time::sleep(wait).await;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Puntaje;

    #[test]
    fn the_sql_cut_points_are_the_domains() {
        let sql = consulta();
        for q in &Quintil::ALL[..4] {
            let (_, hi) = q.range();
            assert!(sql.contains(&format!("<= {hi} THEN {}", q.number())));
            let p = Puntaje::new(i64::from(hi)).unwrap();
            assert_eq!(p.quintil(), *q);
            assert_eq!(
                Puntaje::new(i64::from(hi) + 1).unwrap().quintil().number(),
                q.number() + 1
            );
        }
    }
}

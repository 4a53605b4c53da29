//! Retention (docs/eventos.md, *Retention*): the purge of final `entregas` rows, of events no
//! subscription needs any more, and of async DCI answers (`dci_transacciones.resultado`) past
//! their time. It runs on the leader only, every `retencion.cada_secs`, in short transactions
//! of at most `retencion.lote` rows with a pause between them, so that it never holds SQLite's
//! write lock for long. The audit log is not touched (it has its own archive).
//!
//! Rules, each kept by the statement that deletes:
//! - an `entregas` row goes when it is final (`entregada`, `descartada`, `revocada`) and older
//!   than `entregas_dias` (since `entregada_us`, or its event's recording without one); rows
//!   not yet delivered (`disponible`, `pendiente`, `en_curso`) and dead letters (`muerta`) stay
//!   however old. Each subscription's rows go **in order, from its first**: a row that stays
//!   keeps every later one, so the rows left are always `secuencia > n` for some `n`, the
//!   oldest cursor a pull may read after (`store::purgada_hasta`; older is `CURSOR_VENCIDO`);
//! - an event goes when the fan-out has passed it (`despacho.hasta`), it is older than
//!   `eventos_dias`, and no `entregas` row names it (so never while one is undelivered);
//! - an async search's answer is set to NULL after `dci_resultado_dias`: the row and its items'
//!   statuses stay, and `sync/txn/status` answers the statuses without records.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::suscripciones::cola::placeholders;
use super::suscripciones::store::now_us;
use crate::broker::Broker;
use crate::config::RetencionConfig;
use crate::db::lider::Lider;
use crate::db::schema::{dci_transacciones, despacho, entregas, eventos, suscripciones};
use crate::db::{DbConnection, write_transaction};

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purgadas {
    pub entregas: u64,
    pub eventos: u64,
    /// Async DCI answers dropped (their rows stay).
    pub dci_resultado: u64,
}

/// The first row of `[desde, hasta]` of subscription `?` that must stay: not final, or final
/// since `limite` or later. A row whose event is missing cannot be read anyway: it goes.
const GUARDA: &str = "SELECT MIN(e.secuencia) AS s FROM entregas e \
     LEFT JOIN eventos v ON v.id = e.evento_id \
     WHERE e.suscripcion_id = ? AND e.secuencia BETWEEN ? AND ? \
       AND NOT (e.estado IN ('entregada', 'descartada', 'revocada') \
                AND COALESCE(e.entregada_us, v.registrado_us, 0) < ?)";

/// Events of `[desde, hasta]` recorded before `limite` that no entrega names.
const PURGABLES: &str = "FROM eventos WHERE id BETWEEN ? AND ? AND registrado_us < ? \
     AND NOT EXISTS (SELECT 1 FROM entregas e WHERE e.evento_id = eventos.id)";

/// Async answers kept since before `limite`, oldest first, at most `?`.
const DCI: &str = "UPDATE dci_transacciones SET resultado = NULL \
     WHERE resultado IS NOT NULL AND registrada_us < ? \
       AND (convenio, correlation_id) IN (SELECT convenio, correlation_id \
            FROM dci_transacciones WHERE resultado IS NOT NULL AND registrada_us < ? \
            ORDER BY registrada_us LIMIT ?)";

#[derive(QueryableByName)]
struct Minimo {
    #[diesel(sql_type = Nullable<BigInt>)]
    s: Option<i64>,
}

#[derive(QueryableByName)]
struct Cuenta {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Runs one purge as of `ahora_us`. `seguir` is asked between transactions: `false` (the node
/// stops, or no longer leads) ends the purge there; what was purged stays purged.
pub fn purgar(
    conn: &mut DbConnection,
    config: &RetencionConfig,
    ahora_us: i64,
    seguir: &dyn Fn() -> bool,
) -> QueryResult<Purgadas> {
    let pausa = || {
        if config.pausa_ms > 0 {
            std::thread::sleep(Duration::from_millis(config.pausa_ms));
        }
    };
    let lote = i64::from(config.lote);
    let limite = |dias| ahora_us.saturating_sub(RetencionConfig::micros(dias));
    let (entregas_hasta, eventos_hasta, dci_hasta) = (
        limite(config.entregas_dias),
        limite(config.eventos_dias),
        limite(config.dci_resultado_dias),
    );
    let mut hecho = Purgadas::default();
    // Entregas first: events they free go in the same purge.
    let ids: Vec<String> = suscripciones::table
        .select(suscripciones::id)
        .order(suscripciones::id)
        .load(conn)?;
    for id in ids {
        while seguir() {
            // A look without the write lock first: most subscriptions have nothing to purge.
            if tramo(conn, &id, entregas_hasta, lote)?.is_none() {
                break;
            }
            let paso: QueryResult<_> =
                write_transaction(conn, |conn| match tramo(conn, &id, entregas_hasta, lote)? {
                    None => Ok((0, false)),
                    Some(t) => {
                        let n = diesel::delete(
                            entregas::table
                                .filter(entregas::suscripcion_id.eq(&id))
                                .filter(entregas::secuencia.between(t.desde, t.hasta)),
                        )
                        .execute(conn)?;
                        Ok((n as u64, t.sigue))
                    }
                });
            let (n, sigue) = paso?;
            hecho.entregas += n;
            if !sigue {
                break;
            }
            pausa();
        }
    }
    hecho.eventos = purgar_eventos(conn, eventos_hasta, lote, seguir, &pausa)?;
    while seguir() {
        let hay = dci_transacciones::table
            .filter(dci_transacciones::resultado.is_not_null())
            .filter(dci_transacciones::registrada_us.lt(dci_hasta))
            .select(dci_transacciones::registrada_us)
            .first::<i64>(conn)
            .optional()?;
        if hay.is_none() {
            break;
        }
        let sql = placeholders(conn, DCI);
        let n = write_transaction(conn, |conn| -> QueryResult<usize> {
            diesel::sql_query(sql)
                .bind::<BigInt, _>(dci_hasta)
                .bind::<BigInt, _>(dci_hasta)
                .bind::<BigInt, _>(lote)
                .execute(conn)
        })?;
        hecho.dci_resultado += n as u64;
        if (n as i64) < lote {
            break;
        }
        pausa();
    }
    Ok(hecho)
}

/// The rows of a subscription one transaction deletes: `[desde, hasta]`, all final and past
/// `limite`, starting at its first row; `sigue` when rows after them may go too.
struct Tramo {
    desde: i64,
    hasta: i64,
    sigue: bool,
}

fn tramo(conn: &mut DbConnection, id: &str, limite: i64, lote: i64) -> QueryResult<Option<Tramo>> {
    let desde: Option<i64> = entregas::table
        .filter(entregas::suscripcion_id.eq(id))
        .select(diesel::dsl::min(entregas::secuencia))
        .first(conn)?;
    let Some(desde) = desde else {
        return Ok(None);
    };
    // Rows past the subscription's last number are a fan-out round committing now (on
    // PostgreSQL): never looked at, since its rows and that number commit together.
    let ultima: i64 = suscripciones::table
        .filter(suscripciones::id.eq(id))
        .select(suscripciones::ultima_secuencia)
        .first(conn)?;
    let tope = ultima.min(desde.saturating_add(lote - 1));
    let guarda = diesel::sql_query(placeholders(conn, GUARDA))
        .bind::<Text, _>(id)
        .bind::<BigInt, _>(desde)
        .bind::<BigInt, _>(tope)
        .bind::<BigInt, _>(limite)
        .get_result::<Minimo>(conn)?
        .s;
    let hasta = guarda.map_or(tope, |g| g - 1);
    Ok((hasta >= desde).then_some(Tramo {
        desde,
        hasta,
        sigue: guarda.is_none() && hasta < ultima,
    }))
}

/// Events the fan-out has passed, older than `limite`, that no entrega names; walked by id
/// from the oldest, a range of `lote` ids per transaction, up to the first range that holds an
/// event recorded since `limite` (ids follow commit order, so later ones are newer still).
fn purgar_eventos(
    conn: &mut DbConnection,
    limite: i64,
    lote: i64,
    seguir: &dyn Fn() -> bool,
    pausa: &dyn Fn(),
) -> QueryResult<u64> {
    let hasta: i64 = despacho::table
        .filter(despacho::id.eq(1))
        .select(despacho::hasta)
        .first(conn)?;
    let mut total = 0;
    let mut desde: Option<i64> = eventos::table
        .select(diesel::dsl::min(eventos::id))
        .first(conn)?;
    while let Some(d) = desde.filter(|d| *d <= hasta)
        && seguir()
    {
        let tope = hasta.min(d.saturating_add(lote - 1));
        let contar = placeholders(conn, &format!("SELECT COUNT(*) AS n {PURGABLES}"));
        let purgables = diesel::sql_query(contar)
            .bind::<BigInt, _>(d)
            .bind::<BigInt, _>(tope)
            .bind::<BigInt, _>(limite)
            .get_result::<Cuenta>(conn)?
            .n;
        if purgables > 0 {
            let borrar = placeholders(conn, &format!("DELETE {PURGABLES}"));
            let n = write_transaction(conn, |conn| -> QueryResult<usize> {
                diesel::sql_query(borrar)
                    .bind::<BigInt, _>(d)
                    .bind::<BigInt, _>(tope)
                    .bind::<BigInt, _>(limite)
                    .execute(conn)
            })?;
            total += n as u64;
        }
        let reciente = eventos::table
            .filter(eventos::id.between(d, tope))
            .filter(eventos::registrado_us.ge(limite))
            .select(eventos::id)
            .first::<i64>(conn)
            .optional()?;
        if reciente.is_some() {
            break;
        }
        desde = eventos::table
            .filter(eventos::id.gt(tope))
            .select(diesel::dsl::min(eventos::id))
            .first(conn)?;
        if purgables > 0 {
            pausa();
        }
    }
    Ok(total)
}

/// Starts the purge on the node's runtime: every `retencion.cada_secs` while this node leads
/// and the database answers. Ends when `stop` fires (a purge under way stops after its
/// current transaction).
pub fn arrancar(
    broker: Arc<Broker>,
    lider: Lider,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<()> {
    let cada = Duration::from_secs(broker.config.retencion.cada_secs);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stop => return,
                () = tokio::time::sleep(cada) => {}
            }
            if !lider.es_lider() || broker.outage.is_down() {
                continue;
            }
            let parar = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let (pool, config, lider) = (broker.pool.clone(), broker.config.clone(), lider.clone());
            let parada = parar.clone();
            let mut tarea =
                tokio::task::spawn_blocking(move || -> Result<Purgadas, crate::db::DbError> {
                    let mut conn = pool.get()?;
                    let seguir =
                        || !parada.load(std::sync::atomic::Ordering::Relaxed) && lider.es_lider();
                    Ok(purgar(&mut conn, &config.retencion, now_us(), &seguir)?)
                });
            let hecho = tokio::select! {
                hecho = &mut tarea => hecho,
                _ = &mut stop => {
                    parar.store(true, std::sync::atomic::Ordering::Relaxed);
                    let _ = tarea.await;
                    return;
                }
            };
            match hecho {
                Ok(Ok(p)) => {
                    let m = &broker.retencion;
                    m.purgadas("entregas", p.entregas);
                    m.purgadas("eventos", p.eventos);
                    m.purgadas("dci_resultado", p.dci_resultado);
                    m.terminada(now_us() / 1_000_000);
                    if p != Purgadas::default() {
                        tracing::info!(
                            retencion.entregas = p.entregas,
                            retencion.eventos = p.eventos,
                            retencion.dci_resultado = p.dci_resultado,
                            "retention purge"
                        );
                    }
                }
                Ok(Err(error)) => {
                    tracing::error!(error = %error, "retention purge failed; trying at the next period")
                }
                Err(error) => tracing::error!(error = %error, "retention purge task failed"),
            }
        }
    })
}

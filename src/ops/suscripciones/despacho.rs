//! The fan-out: moves the events after the cursor `despacho.hasta` into `entregas`, one row per
//! event per active subscription that matches it, each with the next number of that
//! subscription's sequence (gap-free: the pull cursor). A subscription matches an event when
//! its agreement, as in force now, is in force and grants the kind (`eventos`), the event's
//! comuna is the agreement's `ambito` (when it has one), and, with a RUN list, the event's
//! person or related person is on it.
//!
//! One round is one transaction: the rows, the subscriptions' last numbers and the cursor
//! commit together, so a round cut short (a crash, `kill -9`) is repeated whole and nothing is
//! fanned out twice (the unique keys of `entregas` would refuse it). On PostgreSQL the round
//! locks the cursor row and the active subscriptions (a closing one waits for it, and a round
//! started after the close does not see it); among several nodes only the leader fans out.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::store::{SuscripcionFila, now_us};
use crate::broker::{Broker, local_today};
use crate::catalog::{Entrega, Operation};
use crate::convenios::ConvenioSet;
use crate::db::lider::Lider;
use crate::db::schema::{despacho, entregas, eventos, suscripcion_runs, suscripciones};
use crate::db::{DbConnection, on_backend};
use crate::domain::ConvenioId;

/// An event as the fan-out matches it.
#[derive(Debug, Clone, Queryable)]
struct Evento {
    id: i64,
    tipo: String,
    run: i32,
    run_relacionado: Option<i32>,
    cut: Option<String>,
}

#[derive(QueryableByName)]
struct Hasta {
    #[diesel(sql_type = BigInt)]
    hasta: i64,
}

/// One subscription's share of a round: who it is and which events it takes.
struct Destino {
    fila: SuscripcionFila,
    tipos: Vec<String>,
    ambito: Option<crate::domain::Ambito>,
    runs: Option<HashSet<i32>>,
}

impl Destino {
    fn toma(&self, e: &Evento) -> bool {
        self.tipos.contains(&e.tipo)
            && self
                .ambito
                .as_ref()
                .is_none_or(|a| e.cut.as_deref().is_some_and(|c| a.contiene(c)))
            && self.runs.as_ref().is_none_or(|runs| {
                runs.contains(&e.run) || e.run_relacionado.is_some_and(|r| runs.contains(&r))
            })
    }
}

/// The subscriptions a round fans out to, with what their agreement grants now. A subscription
/// whose agreement is gone, out of force or no longer grants `Suscripciones` takes nothing
/// (those events are never delivered to it, even if the agreement comes back).
fn destinos(
    conn: &mut DbConnection,
    convenios: &ConvenioSet,
    hoy: NaiveDate,
) -> QueryResult<Vec<Destino>> {
    if let DbConnection::Pg(_) = conn {
        diesel::sql_query(
            "SELECT id FROM suscripciones WHERE estado = 'activa' ORDER BY id FOR UPDATE",
        )
        .execute(conn)?;
    }
    let filas: Vec<SuscripcionFila> = suscripciones::table
        .filter(suscripciones::estado.eq("activa"))
        .order(suscripciones::id)
        .select(SuscripcionFila::as_select())
        .load(conn)?;
    let mut out = Vec::new();
    for fila in filas {
        let Some(convenio) = ConvenioId::parse(&fila.convenio)
            .ok()
            .and_then(|id| convenios.get(&id))
            .filter(|c| c.is_in_force(hoy))
        else {
            continue;
        };
        let Some(grant) = convenio.grant(Operation::Suscripciones) else {
            continue;
        };
        let tipos: Vec<String> = fila
            .tipos()
            .into_iter()
            .filter(|t| grant.allows_evento(t))
            .collect();
        let runs = match fila.con_lista {
            false => None,
            true => Some(
                suscripcion_runs::table
                    .filter(suscripcion_runs::suscripcion_id.eq(&fila.id))
                    .select(suscripcion_runs::run)
                    .load::<i32>(conn)?
                    .into_iter()
                    .collect(),
            ),
        };
        out.push(Destino {
            ambito: convenio.ambito,
            fila,
            tipos,
            runs,
        });
    }
    Ok(out)
}

/// One round: fans out up to `por_ronda` events after the cursor. Returns how many events it
/// took (fewer than `por_ronda`: none are left).
pub fn ronda(
    conn: &mut DbConnection,
    convenios: &ConvenioSet,
    hoy: NaiveDate,
    por_ronda: u32,
) -> QueryResult<usize> {
    // A look without the write lock first: most rounds find nothing new, and on SQLite a round
    // would otherwise wait behind a feed holding the registry's write lock.
    let hasta: i64 = despacho::table
        .filter(despacho::id.eq(1))
        .select(despacho::hasta)
        .first(conn)?;
    let ultimo: Option<i64> = eventos::table
        .select(diesel::dsl::max(eventos::id))
        .first(conn)?;
    if ultimo.is_none_or(|u| u <= hasta) {
        return Ok(0);
    }
    crate::db::write_transaction(conn, |conn| {
        let hasta = match conn {
            DbConnection::Pg(_) => {
                diesel::sql_query("SELECT hasta FROM despacho WHERE id = 1 FOR UPDATE")
                    .get_result::<Hasta>(conn)?
                    .hasta
            }
            DbConnection::Sqlite(_) => despacho::table
                .filter(despacho::id.eq(1))
                .select(despacho::hasta)
                .first(conn)?,
        };
        let nuevos: Vec<Evento> = eventos::table
            .filter(eventos::id.gt(hasta))
            .order(eventos::id)
            .limit(i64::from(por_ronda))
            .select((
                eventos::id,
                eventos::tipo,
                eventos::run,
                eventos::run_relacionado,
                eventos::cut,
            ))
            .load(conn)?;
        let Some(ultimo) = nuevos.last().map(|e| e.id) else {
            return Ok(0);
        };
        let ahora = now_us();
        for destino in destinos(conn, convenios, hoy)? {
            let estado = match destino.fila.entrega.as_str() {
                e if e == Entrega::Push.as_str() => "pendiente",
                _ => "disponible",
            };
            let mut secuencia = destino.fila.ultima_secuencia;
            let mut filas = Vec::new();
            for e in nuevos.iter().filter(|e| destino.toma(e)) {
                secuencia += 1;
                filas.push((
                    entregas::suscripcion_id.eq(destino.fila.id.clone()),
                    entregas::secuencia.eq(secuencia),
                    entregas::evento_id.eq(e.id),
                    entregas::run.eq(e.run),
                    entregas::estado.eq(estado),
                    entregas::proximo_us.eq(ahora),
                ));
            }
            if filas.is_empty() {
                continue;
            }
            // Multi-row inserts, on the backend's own connection (the two-backend one takes
            // none).
            for chunk in filas.chunks(500) {
                on_backend!(&mut *conn, |c| diesel::insert_into(entregas::table)
                    .values(chunk)
                    .execute(c))?;
            }
            diesel::update(suscripciones::table.filter(suscripciones::id.eq(&destino.fila.id)))
                .set(suscripciones::ultima_secuencia.eq(secuencia))
                .execute(conn)?;
        }
        diesel::update(despacho::table.filter(despacho::id.eq(1)))
            .set(despacho::hasta.eq(ultimo))
            .execute(conn)?;
        Ok(nuevos.len())
    })
}

/// Events fanned out at once past which PostgreSQL's statistics of `entregas` are refreshed
/// there and then. The push worker's claim is planned from them, and autovacuum refreshes
/// them only a minute or more after a burst: planned from a queue it believes empty, each
/// claim sorted every pending row (0.3 s a claim with 100,000 pending, against 0.3 ms along
/// `entregas_cola`; docs/benchmarks.md, *Push delivery*).
const ANALIZAR_DESDE: usize = 10_000;

/// Fans out every event not yet fanned out, round after round.
pub fn al_dia(
    conn: &mut DbConnection,
    convenios: &ConvenioSet,
    por_ronda: u32,
) -> QueryResult<usize> {
    let mut total = 0;
    loop {
        let n = ronda(conn, convenios, local_today(), por_ronda)?;
        total += n;
        if n < por_ronda as usize {
            return Ok(total);
        }
    }
}

/// Starts the fan-out on the node's runtime: a round as soon as a write that recorded events
/// signals [`Broker::eventos_nuevos`], and every `notificaciones.sondeo_ms` otherwise (events
/// written by `siis ingest` or another node), while this node leads. Ends when `stop` fires.
pub fn arrancar(
    broker: Arc<Broker>,
    lider: Lider,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> tokio::task::JoinHandle<()> {
    let sondeo = Duration::from_millis(broker.config.notificaciones.sondeo_ms);
    let por_ronda = broker.config.notificaciones.por_ronda;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = &mut stop => return,
                () = broker.eventos_nuevos.notified() => {}
                () = tokio::time::sleep(sondeo) => {}
            }
            if !lider.es_lider() || broker.outage.is_down() {
                continue;
            }
            let (pool, policy) = (broker.pool.clone(), broker.policy());
            let hecho =
                tokio::task::spawn_blocking(move || -> Result<usize, crate::db::DbError> {
                    let mut conn = pool.get()?;
                    let n = al_dia(&mut conn, &policy.convenios, por_ronda)?;
                    if n >= ANALIZAR_DESDE && matches!(**conn, DbConnection::Pg(_)) {
                        diesel::sql_query("ANALYZE entregas").execute(&mut **conn)?;
                    }
                    Ok(n)
                })
                .await;
            match hecho {
                Ok(Ok(0)) => {}
                Ok(Ok(n)) => {
                    tracing::debug!(eventos = n, "events fanned out to the subscriptions");
                    broker.entregas_nuevas.notify_one();
                }
                Ok(Err(error)) => {
                    tracing::error!(error = %error, "events not fanned out; trying again")
                }
                Err(error) => tracing::error!(error = %error, "fan-out task failed"),
            }
        }
    })
}

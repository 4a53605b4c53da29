//! The coordination thread: one PostgreSQL connection, the requests that queued since its last
//! round answered together, the ids and places given back kept until the database takes
//! them, and the expired ids deleted every few seconds.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Date, Integer, Text};
use tokio::sync::oneshot;

use super::{Ajustes, Pedido, SinBase, Toma, Tomado, Vencibles};

/// Most requests answered in one round (and ids claimed in one statement).
const LOTE: usize = 256;
/// How long after a failed connection the next is tried: until then requests are refused at
/// once instead of each waiting for a connect timeout.
const REINTENTO: Duration = Duration::from_millis(500);
/// How often expired leases are looked for (a lease lasts 100 ms).
const BARRIDO: Duration = Duration::from_millis(100);

/// The coordination connection, opened again when lost.
pub(super) struct Conexion {
    url: String,
    ajustes: String,
    pg: Option<PgConnection>,
    fallo: Option<Instant>,
}

impl Conexion {
    /// `url` with a `connect_timeout` of `ajustes.espera_maxima` (rounded up to a second)
    /// unless it names one.
    /// `application_name` names it `siis-coordinacion-NODO` in `pg_stat_activity`.
    pub(super) fn new(url: &str, nodo: &str, ajustes: &Ajustes) -> Conexion {
        let segundos = ajustes.espera_maxima.as_secs_f64().ceil().max(1.0) as u64;
        let url = crate::db::with_connect_timeout(url, segundos);
        // Asynchronous commit is safe here: a claim or a lease is only acted on by a request
        // whose audit record commits synchronously afterwards, and that commit flushes the
        // write-ahead log up to and including the claim.
        let nodo: String = nodo
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect();
        let ajustes = format!(
            "SET statement_timeout = {ms}; SET lock_timeout = {ms}; \
             SET idle_in_transaction_session_timeout = {ms}; SET synchronous_commit = off; \
             SET application_name = 'siis-coordinacion-{nodo}';",
            ms = ajustes.espera_maxima.as_millis().max(1)
        );
        Conexion {
            url,
            ajustes,
            pg: None,
            fallo: None,
        }
    }

    /// The connection, opened if it is not (not sooner than [`REINTENTO`] after a failure).
    pub(super) fn abrir(&mut self) -> Result<&mut PgConnection, diesel::ConnectionError> {
        if self.pg.is_none() {
            if let Some(fallo) = self.fallo
                && fallo.elapsed() < REINTENTO
            {
                return Err(diesel::ConnectionError::BadConnection(
                    "the coordination connection failed a moment ago".into(),
                ));
            }
            let abierta = PgConnection::establish(&self.url).and_then(|mut pg| {
                pg.batch_execute(&self.ajustes)
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(pg)
            });
            match abierta {
                Ok(pg) => {
                    self.fallo = None;
                    self.pg = Some(pg);
                }
                Err(error) => {
                    self.fallo = Some(Instant::now());
                    return Err(error);
                }
            }
        }
        self.pg
            .as_mut()
            .ok_or(diesel::ConnectionError::BadConnection(
                "no coordination connection".into(),
            ))
    }

    /// Drops the connection after a failed statement: the next round opens a new one.
    fn perder(&mut self, error: &diesel::result::Error) {
        tracing::warn!(error = %error, "coordination statement failed; reconnecting");
        self.pg = None;
        self.fallo = Some(Instant::now());
    }
}

/// Something given back, waiting until the database takes it.
enum Devolucion {
    Id {
        convenio: String,
        id: String,
    },
    Validacion {
        convenio: String,
        run: i32,
        dia: NaiveDate,
    },
}

pub(super) struct Hilo {
    conexion: Conexion,
    nodo: Arc<str>,
    ajustes: Ajustes,
    entrada: mpsc::Receiver<Pedido>,
    /// What was given back and not yet written, with when.
    devoluciones: VecDeque<(Instant, Devolucion)>,
    limpiado: Instant,
    sentencias: Arc<AtomicU64>,
    vencibles: Vencibles,
    barrido: Instant,
    /// Answered at the end of a round, after what was given back was written.
    contar: Vec<oneshot::Sender<u64>>,
}

#[derive(QueryableByName)]
struct FilaTomada {
    #[diesel(sql_type = BigInt)]
    concedido: i64,
    #[diesel(sql_type = BigInt)]
    espera_us: i64,
}

#[derive(QueryableByName)]
struct Fallidas {
    #[diesel(sql_type = Integer)]
    #[expect(
        dead_code,
        reason = "a row back is the answer; its value is not needed"
    )]
    fallidas: i32,
}

type Reclamo = (String, String, oneshot::Sender<Result<bool, SinBase>>);

impl Hilo {
    pub(super) fn new(
        conexion: Conexion,
        nodo: Arc<str>,
        ajustes: Ajustes,
        entrada: mpsc::Receiver<Pedido>,
        vencibles: Vencibles,
        sentencias: Arc<AtomicU64>,
    ) -> Hilo {
        Hilo {
            conexion,
            nodo,
            ajustes,
            entrada,
            devoluciones: VecDeque::new(),
            limpiado: Instant::now(),
            sentencias,
            vencibles,
            barrido: Instant::now(),
            contar: Vec::new(),
        }
    }

    pub(super) fn run(mut self) {
        let tick = Duration::from_millis(50);
        loop {
            let mut pedidos = Vec::new();
            match self.entrada.recv_timeout(tick) {
                Ok(pedido) => pedidos.push(pedido),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    self.devolver();
                    return;
                }
            }
            while pedidos.len() < LOTE
                && let Ok(pedido) = self.entrada.try_recv()
            {
                pedidos.push(pedido);
            }
            self.ronda(pedidos);
            self.devolver();
            if self.barrido.elapsed() >= BARRIDO {
                self.barrer();
            }
            for respuesta in self.contar.drain(..) {
                let _ = respuesta.send(self.sentencias.load(Ordering::Relaxed));
            }
            if self.limpiado.elapsed() >= self.ajustes.limpieza {
                self.limpiar();
            }
        }
    }

    /// Answers one round's requests: the claims in one statement, the rest one by one.
    fn ronda(&mut self, pedidos: Vec<Pedido>) {
        let mut reclamos: Vec<Reclamo> = Vec::new();
        for pedido in pedidos {
            match pedido {
                Pedido::Reclamar {
                    convenio,
                    id,
                    respuesta,
                } => reclamos.push((convenio, id, respuesta)),
                Pedido::Olvidar { convenio, id } => self
                    .devoluciones
                    .push_back((Instant::now(), Devolucion::Id { convenio, id })),
                Pedido::LiberarValidacion { convenio, run, dia } => self.devoluciones.push_back((
                    Instant::now(),
                    Devolucion::Validacion { convenio, run, dia },
                )),
                Pedido::Tomar { toma, respuesta } => {
                    let _ = respuesta.send(self.tomar(&toma));
                }
                Pedido::Validacion {
                    convenio,
                    run,
                    dia,
                    max,
                    respuesta,
                } => {
                    let _ = respuesta.send(self.validacion(&convenio, run, dia, max));
                }
                Pedido::Contar { respuesta } => self.contar.push(respuesta),
            }
        }
        if !reclamos.is_empty() {
            self.reclamar(reclamos);
        }
    }

    /// Runs `sentencia` on the connection; a failure drops the connection.
    fn con<T>(
        &mut self,
        sentencia: impl FnOnce(&mut PgConnection) -> QueryResult<T>,
    ) -> Result<T, SinBase> {
        let pg = self.conexion.abrir().map_err(|error| {
            tracing::warn!(error = %error, "no coordination connection");
            SinBase
        })?;
        self.sentencias.fetch_add(1, Ordering::Relaxed);
        match sentencia(pg) {
            Ok(value) => Ok(value),
            Err(error) => {
                self.conexion.perder(&error);
                Err(SinBase)
            }
        }
    }

    /// Claims the ids in one statement. An id named twice in the round is claimed once: the
    /// second is a replay of the first.
    fn reclamar(&mut self, reclamos: Vec<Reclamo>) {
        let mut vistos = HashSet::new();
        let (mut unicos, mut repetidos) = (Vec::new(), Vec::new());
        for reclamo in reclamos {
            if vistos.insert((reclamo.0.clone(), reclamo.1.clone())) {
                unicos.push(reclamo);
            } else {
                repetidos.push(reclamo);
            }
        }
        let convenios: Vec<&str> = unicos.iter().map(|r| r.0.as_str()).collect();
        let ids: Vec<&str> = unicos.iter().map(|r| r.1.as_str()).collect();
        let ventana = i64::try_from(self.ajustes.ventana.as_micros()).unwrap_or(i64::MAX / 4);
        let nodo = Arc::clone(&self.nodo);
        // First use, or use again after the window (whether or not the clean-up has run).
        let reclamados = self.con(|pg| {
            diesel::sql_query(
                "INSERT INTO replay AS r (convenio, id_mensaje, expira_us, nodo) \
                 SELECT c, m, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint + $3, $4 \
                   FROM unnest($1::text[], $2::text[]) AS u(c, m) \
                 ON CONFLICT (convenio, id_mensaje) DO UPDATE \
                   SET expira_us = EXCLUDED.expira_us, nodo = EXCLUDED.nodo \
                 WHERE r.expira_us < EXCLUDED.expira_us - $3 \
                 RETURNING r.convenio, r.id_mensaje",
            )
            .bind::<Array<Text>, _>(&convenios)
            .bind::<Array<Text>, _>(&ids)
            .bind::<BigInt, _>(ventana)
            .bind::<Text, _>(&*nodo)
            .load::<ReclamadoFila>(pg)
        });
        match reclamados {
            Ok(filas) => {
                let hechos: HashSet<(String, String)> = filas
                    .into_iter()
                    .map(|f| (f.convenio, f.id_mensaje))
                    .collect();
                for (convenio, id, respuesta) in unicos {
                    let _ = respuesta.send(Ok(hechos.contains(&(convenio, id))));
                }
                for (_, _, respuesta) in repetidos {
                    let _ = respuesta.send(Ok(false));
                }
            }
            Err(SinBase) => {
                for (_, _, respuesta) in unicos.into_iter().chain(repetidos) {
                    let _ = respuesta.send(Err(SinBase));
                }
            }
        }
    }

    fn tomar(&mut self, toma: &Toma) -> Result<Tomado, SinBase> {
        let fila = self.con(|pg| {
            diesel::sql_query(
                "SELECT concedido, espera_us FROM limites_tomar($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind::<Text, _>(&toma.convenio)
            .bind::<Text, _>(&toma.presupuesto)
            .bind::<BigInt, _>(toma.devolver)
            .bind::<Date, _>(toma.dia_devuelto)
            .bind::<BigInt, _>(toma.min)
            .bind::<BigInt, _>(toma.max)
            .bind::<BigInt, _>(toma.t_us)
            .bind::<BigInt, _>(toma.tau_us)
            .bind::<BigInt, _>(toma.cupo)
            .bind::<Date, _>(toma.dia)
            .get_result::<FilaTomada>(pg)
        })?;
        Ok(Tomado {
            concedido: fila.concedido,
            espera_us: fila.espera_us,
        })
    }

    fn validacion(
        &mut self,
        convenio: &str,
        run: i32,
        dia: NaiveDate,
        max: i32,
    ) -> Result<bool, SinBase> {
        if max <= 0 {
            return Ok(false);
        }
        let fila = self.con(|pg| {
            diesel::sql_query(
                "INSERT INTO validaciones_fallidas AS v (convenio, run, dia, fallidas) \
                 VALUES ($1, $2, $3, 1) ON CONFLICT (convenio, run, dia) DO UPDATE \
                 SET fallidas = v.fallidas + 1 WHERE v.fallidas < $4 RETURNING v.fallidas",
            )
            .bind::<Text, _>(convenio)
            .bind::<Integer, _>(run)
            .bind::<Date, _>(dia)
            .bind::<Integer, _>(max)
            .get_result::<Fallidas>(pg)
            .optional()
        })?;
        Ok(fila.is_some())
    }

    /// Writes what was given back, oldest first, until one fails (kept for the next round).
    /// An id is given back only within half a window of its 503, so always before its claim
    /// expires: after that, the same id may be claimed again, legitimately, and a late
    /// `DELETE` would erase that new claim and let the id be used a third time. An id not given
    /// back in time stays used until its claim expires, as after a node's crash.
    fn devolver(&mut self) {
        let plazo = self.ajustes.ventana / 2;
        self.devoluciones
            .retain(|(desde, d)| !matches!(d, Devolucion::Id { .. }) || desde.elapsed() < plazo);
        while let Some((desde, devolucion)) = self.devoluciones.pop_front() {
            let nodo = Arc::clone(&self.nodo);
            let hecho = match &devolucion {
                Devolucion::Id { convenio, id } => self.con(|pg| {
                    diesel::sql_query(
                        "DELETE FROM replay WHERE convenio = $1 AND id_mensaje = $2 AND nodo = $3",
                    )
                    .bind::<Text, _>(convenio)
                    .bind::<Text, _>(id)
                    .bind::<Text, _>(&*nodo)
                    .execute(pg)
                }),
                Devolucion::Validacion { convenio, run, dia } => self.con(|pg| {
                    diesel::sql_query(
                        "UPDATE validaciones_fallidas SET fallidas = fallidas - 1 \
                         WHERE convenio = $1 AND run = $2 AND dia = $3 AND fallidas > 0",
                    )
                    .bind::<Text, _>(convenio)
                    .bind::<Integer, _>(*run)
                    .bind::<Date, _>(*dia)
                    .execute(pg)
                }),
            };
            if hecho.is_err() {
                self.devoluciones.push_front((desde, devolucion));
                return;
            }
        }
    }

    /// Gives back what expired leases still hold (lost if the database cannot take it: the
    /// nodes then admit less, never more).
    fn barrer(&mut self) {
        let ahora = Instant::now();
        self.barrido = ahora;
        let tomas: Vec<Toma> = {
            let vencibles = self.vencibles.lock().unwrap_or_else(|p| p.into_inner());
            vencibles.iter().filter_map(|v| v.vencido(ahora)).collect()
        };
        for toma in tomas {
            let _ = self.tomar(&toma);
        }
    }

    /// Deletes expired ids (the database's clock, as the claims use) and counts of days gone.
    fn limpiar(&mut self) {
        self.limpiado = Instant::now();
        let ayer = crate::broker::local_today() - chrono::Days::new(1);
        // `now()` is stable within the statement, so the delete walks `replay_expira`; a
        // volatile `clock_timestamp()` here made it a sequential scan of every live id.
        let _ = self.con(|pg| {
            diesel::sql_query(
                "DELETE FROM replay \
                 WHERE expira_us < (extract(epoch FROM now()) * 1000000)::bigint",
            )
            .execute(pg)
        });
        let _ = self.con(|pg| {
            diesel::sql_query("DELETE FROM validaciones_fallidas WHERE dia < $1")
                .bind::<Date, _>(ayer)
                .execute(pg)
        });
    }
}

#[derive(QueryableByName)]
struct ReclamadoFila {
    #[diesel(sql_type = Text)]
    convenio: String,
    #[diesel(sql_type = Text)]
    id_mensaje: String,
}

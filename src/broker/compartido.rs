//! What several nodes over one PostgreSQL database share (`cluster.nodo`): the replay memory,
//! the rate limits and daily quotas (in leases, [`arriendo`]) and the failed identity
//! comparisons. Every node talks to those tables through one coordination thread with a
//! PostgreSQL connection of its own ([`hilo`]): requests queue on a channel, the thread takes
//! what has queued and answers it in as few statements as it can (the message ids of a moment
//! are claimed in one `INSERT`). When the database cannot be reached the thread answers at
//! once, and the broker refuses with 503 `NO_DISPONIBLE` what a lease it holds does not cover
//! (fail closed); ids and comparisons given back wait in the thread until they can be written.
//!
//! A node alone (no `cluster.nodo`, and always on SQLite) builds none of this: its limits and
//! replay memory stay in its process, at no cost.

pub mod arriendo;
mod hilo;
mod semilla;

pub(crate) use semilla::{CONSOLA, usuario};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use chrono::NaiveDate;
use tokio::sync::oneshot;

use crate::config::Config;
use crate::db::{DatabaseUrl, DbError};
use crate::domain::ConvenioId;

use super::Restored;

/// Why the coordination could not start.
#[derive(Debug, thiserror::Error)]
pub enum CoordinacionError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("coordination thread: {0}")]
    Hilo(#[from] std::io::Error),
}

/// The database could not be reached (or did not answer within its timeouts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinBase;

/// Units of one budget asked of the database ([`arriendo::Arriendo`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toma {
    pub convenio: String,
    pub presupuesto: String,
    /// Units of an expired lease given back first, and the day they were taken on.
    pub devolver: i64,
    pub dia_devuelto: NaiveDate,
    pub min: i64,
    pub max: i64,
    pub t_us: i64,
    pub tau_us: i64,
    pub cupo: i64,
    pub dia: NaiveDate,
}

/// The database's answer to a [`Toma`]: units granted (at least its `min`), or none with the
/// wait in microseconds before `min` fits the rate (-1: today's quota cannot hold it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tomado {
    pub concedido: i64,
    pub espera_us: i64,
}

/// A request to the coordination thread.
enum Pedido {
    /// A message id's first use: true when this node claimed it.
    Reclamar {
        convenio: String,
        id: String,
        respuesta: oneshot::Sender<Result<bool, SinBase>>,
    },
    /// Gives a claimed id back (its request was answered 503).
    Olvidar { convenio: String, id: String },
    Tomar {
        toma: Toma,
        respuesta: oneshot::Sender<Result<Tomado, SinBase>>,
    },
    /// Takes a place for one identity comparison: true when one was left.
    Validacion {
        convenio: String,
        run: i32,
        dia: NaiveDate,
        max: i32,
        respuesta: oneshot::Sender<Result<bool, SinBase>>,
    },
    /// Gives a comparison's place back (it matched).
    LiberarValidacion {
        convenio: String,
        run: i32,
        dia: NaiveDate,
    },
    /// How many statements the thread has sent (for tests and the benchmark).
    Contar { respuesta: oneshot::Sender<u64> },
}

/// The handle the broker holds: a channel to the coordination thread and this node's name.
/// Dropping the last one ends the thread (after it tried once more to write what it holds).
#[derive(Clone)]
pub struct Coordinacion {
    cola: mpsc::Sender<Pedido>,
    nodo: Arc<str>,
    /// The leases the thread gives back once expired.
    vencibles: Vencibles,
    /// Statements the thread has sent to the database.
    hechas: Arc<AtomicU64>,
}

type Vencibles = Arc<std::sync::Mutex<Vec<arriendo::Vencible>>>;

/// How the coordination connection behaves.
#[derive(Debug, Clone)]
pub struct Ajustes {
    /// The replay window: how long a claimed id stays claimed.
    pub ventana: Duration,
    /// `statement_timeout` (and `connect_timeout`, rounded up to a second) of its connection:
    /// a stalled database gives 503s, never hung admissions.
    pub espera_maxima: Duration,
    /// How often expired ids are deleted.
    pub limpieza: Duration,
}

impl Coordinacion {
    /// Opens the coordination connection, seeds today's quotas and failed comparisons from
    /// `restored` (what today's audit says; a count already higher in the database stays),
    /// and starts the thread. `None` for a node alone.
    pub fn iniciar(
        config: &Config,
        restored: &Restored,
    ) -> Result<Option<Coordinacion>, CoordinacionError> {
        let (Some(nodo), DatabaseUrl::Postgres(url)) = (&config.cluster.nodo, &config.database.url)
        else {
            return Ok(None);
        };
        let ajustes = Ajustes {
            ventana: Duration::from_secs(config.broker.replay_window_secs),
            espera_maxima: Duration::from_secs(2),
            limpieza: Duration::from_secs(10),
        };
        Self::iniciar_con(url, nodo, ajustes, restored).map(Some)
    }

    /// [`Coordinacion::iniciar`] with its settings given.
    pub fn iniciar_con(
        url: &str,
        nodo: &str,
        ajustes: Ajustes,
        restored: &Restored,
    ) -> Result<Coordinacion, CoordinacionError> {
        let mut conexion = hilo::Conexion::new(url, nodo, &ajustes);
        let pg = conexion.abrir().map_err(|source| DbError::Connect {
            url: DatabaseUrl::Postgres(url.to_owned()).redacted(),
            source,
        })?;
        semilla::sembrar(pg, restored, crate::broker::local_today())?;
        let (cola, entrada) = mpsc::channel();
        let nodo: Arc<str> = Arc::from(nodo);
        let vencibles = Vencibles::default();
        let hechas = Arc::new(AtomicU64::new(0));
        let trabajo = hilo::Hilo::new(
            conexion,
            Arc::clone(&nodo),
            ajustes,
            entrada,
            Arc::clone(&vencibles),
            Arc::clone(&hechas),
        );
        std::thread::Builder::new()
            .name("siis-coordinacion".into())
            .spawn(move || trabajo.run())?;
        Ok(Coordinacion {
            cola,
            nodo,
            vencibles,
            hechas,
        })
    }

    /// Has the thread give back what `lease` holds once it expired.
    fn vigilar(&self, lease: arriendo::Vencible) {
        let mut vencibles = self.vencibles.lock().unwrap_or_else(|p| p.into_inner());
        vencibles.retain(arriendo::Vencible::vive);
        vencibles.push(lease);
    }

    /// This node's name.
    pub fn nodo(&self) -> &str {
        &self.nodo
    }

    fn enviar<T>(&self, hacer: impl FnOnce(oneshot::Sender<T>) -> Pedido) -> oneshot::Receiver<T> {
        let (respuesta, recibir) = oneshot::channel();
        // A thread that ended drops the receiver's sender: the caller reads that as no base.
        let _ = self.cola.send(hacer(respuesta));
        recibir
    }

    /// Claims `id` for `convenio` on every node: false when it was used within the window.
    pub async fn reclamar(&self, convenio: &ConvenioId, id: &str) -> Result<bool, SinBase> {
        let (convenio, id) = (convenio.to_string(), id.to_owned());
        self.enviar(|respuesta| Pedido::Reclamar {
            convenio,
            id,
            respuesta,
        })
        .await
        .unwrap_or(Err(SinBase))
    }

    /// Gives `id` back (queued: retried until the database takes it, for half the window).
    pub fn olvidar(&self, convenio: &ConvenioId, id: &str) {
        let _ = self.cola.send(Pedido::Olvidar {
            convenio: convenio.to_string(),
            id: id.to_owned(),
        });
    }

    pub async fn tomar(&self, toma: Toma) -> Result<Tomado, SinBase> {
        self.enviar(|respuesta| Pedido::Tomar { toma, respuesta })
            .await
            .unwrap_or(Err(SinBase))
    }

    /// [`Coordinacion::tomar`] from a blocking thread (a batch's records, counted once read).
    pub fn tomar_bloqueando(&self, toma: Toma) -> Result<Tomado, SinBase> {
        self.enviar(|respuesta| Pedido::Tomar { toma, respuesta })
            .blocking_recv()
            .unwrap_or(Err(SinBase))
    }

    /// From a blocking thread: a place for one identity comparison (true), or none left.
    pub fn reservar_validacion(
        &self,
        convenio: &ConvenioId,
        run: u32,
        dia: NaiveDate,
        max: u32,
    ) -> Result<bool, SinBase> {
        let (Ok(run), Ok(max)) = (i32::try_from(run), i32::try_from(max)) else {
            return Err(SinBase);
        };
        self.enviar(|respuesta| Pedido::Validacion {
            convenio: convenio.to_string(),
            run,
            dia,
            max,
            respuesta,
        })
        .blocking_recv()
        .unwrap_or(Err(SinBase))
    }

    /// Gives a comparison's place back (queued like [`Coordinacion::olvidar`]).
    pub fn liberar_validacion(&self, convenio: &ConvenioId, run: u32, dia: NaiveDate) {
        if let Ok(run) = i32::try_from(run) {
            let _ = self.cola.send(Pedido::LiberarValidacion {
                convenio: convenio.to_string(),
                run,
                dia,
            });
        }
    }

    /// Statements the coordination thread has sent to the database so far (`/metrics`:
    /// `siis_coordinacion_sentencias_total`).
    pub fn hechas(&self) -> u64 {
        self.hechas.load(Ordering::Relaxed)
    }

    /// [`Coordinacion::hechas`] once everything queued before was handled (what was given
    /// back written, or kept for a retry): for tests.
    pub async fn sentencias(&self) -> u64 {
        self.enviar(|respuesta| Pedido::Contar { respuesta })
            .await
            .unwrap_or(0)
    }
}

//! The leader among several nodes over one PostgreSQL database (`cluster.nodo`): the one node
//! that runs the work only one should run at a time (the audit's by-person index, and whatever
//! else asks [`Lider::es_lider`]).
//!
//! Leadership is PostgreSQL's session-level advisory lock [`LIDER_LOCK`], taken with
//! `pg_try_advisory_lock` on a connection of its own and held as long as that session lives.
//! A node that does not hold it tries again every period, so when the leader's session ends
//! (the node stopped, was killed, lost its connection) another node takes the role within a
//! period. No election of our own: the database decides, and at most one session holds it.
//!
//! A node learns that its own session ended only at its next check: for up to one period after
//! the database dropped its session, two nodes may both believe they lead. The work given to the
//! leader must therefore stay correct, only wasteful, when run twice at once (the by-person
//! index writes rows that are already there as no-ops, and its mark never falls).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

use super::{ConnectionManager, DbConnection, DbError};

/// Key of the session advisory lock whose holder is the leader (beside
/// [`super::FOLIO_LOCK`] and [`super::AUDIT_CHAIN_LOCK`]).
pub const LIDER_LOCK: i64 = 0x5115_0011;

/// How often a node that does not lead tries to, and the leader checks that its session lives.
pub const PERIODO: Duration = Duration::from_secs(3);

/// Server-side TCP keepalives for a session whose lock other nodes wait for: if this node's
/// host vanishes without closing its socket, the server ends the session (and frees its locks)
/// after about 10 + 3 × 5 = 25 s instead of the system's default of two hours.
pub(crate) const KEEPALIVES: &str =
    "SET tcp_keepalives_idle = 10; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3;";

/// Whether this node leads. Cheap to clone; the thread that holds the lock stops, and its
/// session with the lock ends, at [`Lider::soltar`] or once every clone is dropped.
#[derive(Clone)]
pub struct Lider {
    es: Arc<AtomicBool>,
    /// The thread's channel and handle: dropping the sender (at `soltar`, or with the last
    /// clone) tells the thread to end. `None` for a node alone, or once let go.
    hilo: Arc<Mutex<Option<Hilo>>>,
}

type Hilo = (mpsc::Sender<()>, JoinHandle<()>);

impl Lider {
    /// A node running alone leads always (nothing to share the work with).
    pub fn solo() -> Lider {
        Lider {
            es: Arc::new(AtomicBool::new(true)),
            hilo: Arc::new(Mutex::new(None)),
        }
    }

    /// Starts trying to lead through `manager`'s database (PostgreSQL), every `periodo`. The
    /// first try is made before this returns, so a node alone leads from its start.
    pub fn start(manager: ConnectionManager, periodo: Duration) -> std::io::Result<Lider> {
        let es = Arc::new(AtomicBool::new(false));
        let (vivo, parar) = mpsc::channel();
        let mut sesion = Sesion {
            manager,
            conn: None,
            es: Arc::clone(&es),
        };
        sesion.intentar();
        let hilo = std::thread::Builder::new()
            .name("siis-lider".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) = parar.recv_timeout(periodo) {
                    sesion.intentar();
                }
                // The connection closes with `sesion`: the lock goes with it.
                if sesion.es.swap(false, Ordering::Relaxed) {
                    tracing::info!("no longer the cluster leader: stopping");
                }
            })?;
        Ok(Lider {
            es,
            hilo: Arc::new(Mutex::new(Some((vivo, hilo)))),
        })
    }

    /// Lets the role go (the node stops): ends the thread and closes its session, so another
    /// node may lead at its next try. Waits for a check in progress. A node alone keeps leading
    /// (nothing to hand over).
    pub fn soltar(&self) {
        let hilo = match self.hilo.lock() {
            Ok(mut guard) => guard.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some((vivo, hilo)) = hilo {
            drop(vivo);
            if hilo.join().is_err() {
                tracing::error!("the cluster leader thread panicked");
            }
            self.es.store(false, Ordering::Relaxed);
        }
    }

    /// Whether this node holds the leader's lock (as of its last check).
    pub fn es_lider(&self) -> bool {
        self.es.load(Ordering::Relaxed)
    }
}

struct Sesion {
    manager: ConnectionManager,
    /// The session that holds (or tries for) the lock; `None` after a failure.
    conn: Option<DbConnection>,
    es: Arc<AtomicBool>,
}

#[derive(QueryableByName)]
struct Tomado {
    #[diesel(sql_type = Bool)]
    tomado: bool,
}

impl Sesion {
    /// Leading: checks that the session still lives. Not leading: tries for the lock.
    fn intentar(&mut self) {
        let era = self.es.load(Ordering::Relaxed);
        let es = match self.probar(era) {
            Ok(es) => es,
            Err(error) => {
                if era {
                    tracing::warn!(error = %error, "lost the cluster leader's session; another node may take the role");
                } else {
                    tracing::debug!(error = %error, "cannot try for the cluster leader's lock");
                }
                self.conn = None;
                false
            }
        };
        if es && !era {
            tracing::info!("this node is now the cluster leader");
        }
        self.es.store(es, Ordering::Relaxed);
    }

    fn probar(&mut self, era: bool) -> Result<bool, DbError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            none => {
                let mut conn = self.manager.open()?;
                conn.batch_execute(KEEPALIVES)?;
                none.insert(conn)
            }
        };
        if era {
            // The lock is the session's: if the session answers, it still holds it.
            diesel::sql_query("SELECT TRUE AS tomado").get_result::<Tomado>(conn)?;
            return Ok(true);
        }
        let row: Tomado = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS tomado")
            .bind::<BigInt, _>(LIDER_LOCK)
            .get_result(conn)?;
        Ok(row.tomado)
    }
}

//! The listener thread: a connection of its own (not from the pool, never through a pooler in
//! transaction mode: LISTEN is a session's), polled every [`SONDEO`] for notifications with
//! diesel's `notifications_iter` (no socket to wait on without unsafe code), and the newest
//! version read every [`RELECTURA`] and after each reconnection, which covers a notification
//! missed while disconnected. NOTIFY reaches sessions on the primary only.

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::{APLICACION, CANAL, Recargas, anotar};

/// How often the connection is asked for notifications (a poll reads the socket, without a
/// round trip).
const SONDEO: Duration = Duration::from_millis(250);

/// How often the newest version is read whatever was heard.
const RELECTURA: Duration = Duration::from_secs(10);

/// Reloads this node's agreements and revocation list: how many agreements are in force, or
/// why the set was refused.
pub type Recargar = Box<dyn Fn() -> Result<usize, String> + Send>;

/// The running listener; it stops when this is dropped.
pub struct Escucha {
    _stop: mpsc::Sender<()>,
}

impl Recargas {
    /// Starts the listener. Its first connection reloads the node's files and records the
    /// result, with their digest, for the newest version.
    pub fn escuchar(self: &Arc<Self>, recargar: Recargar) -> Option<Escucha> {
        let (stop, stopped) = mpsc::channel();
        let recargas = Arc::clone(self);
        let thread: std::io::Result<JoinHandle<()>> = std::thread::Builder::new()
            .name("siis-recargas".into())
            .spawn(move || {
                let mut hilo = Hilo {
                    recargas,
                    recargar,
                    aplicada: None,
                };
                hilo.run(&stopped);
            });
        match thread {
            Ok(_) => Some(Escucha { _stop: stop }),
            Err(error) => {
                tracing::error!(error = %error, "agreement reload listener not started");
                None
            }
        }
    }
}

struct Hilo {
    recargas: Arc<Recargas>,
    recargar: Recargar,
    /// The newest version this node has applied; `None` before its first connection.
    aplicada: Option<i64>,
}

impl Hilo {
    fn run(&mut self, stop: &mpsc::Receiver<()>) {
        let mut conn: Option<PgConnection> = None;
        let mut releer = Instant::now();
        let mut sin_conexion = false;
        while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(SONDEO) {
            let mut revisar = Instant::now() >= releer;
            if conn.is_none() {
                match self.abrir() {
                    Ok(c) => {
                        if sin_conexion {
                            tracing::info!("agreement reload listener connected again");
                        }
                        sin_conexion = false;
                        conn = Some(c);
                        revisar = true;
                    }
                    Err(error) => {
                        if !sin_conexion {
                            tracing::warn!(error = %error, "agreement reload listener cannot connect; retrying");
                        }
                        sin_conexion = true;
                        continue;
                    }
                }
            }
            let Some(c) = conn.as_mut() else { continue };
            let mut perdida = None;
            for heard in c.notifications_iter() {
                match heard {
                    Ok(_) => revisar = true,
                    Err(error) => {
                        perdida = Some(error);
                        break;
                    }
                }
            }
            if perdida.is_none() && revisar {
                releer = Instant::now() + RELECTURA;
                perdida = self.al_dia(c).err();
            }
            if let Some(error) = perdida {
                tracing::warn!(error = %error, "agreement reload listener lost its connection");
                sin_conexion = true;
                conn = None;
            }
        }
    }

    /// A session that names its node (so the admin answer knows who is connected) and
    /// listens on the channel.
    fn abrir(&self) -> Result<PgConnection, diesel::ConnectionError> {
        let mut conn = PgConnection::establish(&crate::db::with_connect_timeout(
            &self.recargas.url,
            crate::db::CONNECT_TIMEOUT_SECS,
        ))?;
        conn.batch_execute(&format!(
            "SET application_name = '{APLICACION}{}'; LISTEN {CANAL};",
            self.recargas.nodo
        ))
        .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
        Ok(conn)
    }

    /// Applies the newest version, when newer than the last applied and not recorded by this
    /// node already (the node where it was asked recorded it with the version itself).
    fn al_dia(&mut self, conn: &mut PgConnection) -> QueryResult<()> {
        #[derive(QueryableByName)]
        struct Newest {
            #[diesel(sql_type = Nullable<BigInt>)]
            version: Option<i64>,
            #[diesel(sql_type = BigInt)]
            mia: i64,
        }
        let newest: Newest = diesel::sql_query(
            "SELECT max(version) AS version, (SELECT count(*) FROM recargas_nodos \
             WHERE nodo = $1 AND version = (SELECT max(version) FROM recargas)) AS mia \
             FROM recargas",
        )
        .bind::<Text, _>(&self.recargas.nodo)
        .get_result(conn)?;
        let Some(version) = newest.version else {
            self.aplicada = Some(0);
            return Ok(());
        };
        let recargas = Arc::clone(&self.recargas);
        let al_dia = match self.aplicada {
            // The node's start: what it loaded may predate a reload announced while its
            // listener was not yet connected (the database out of reach at start), so it
            // reloads its files now, and records what it then holds.
            None => false,
            Some(aplicada) => version <= aplicada || newest.mia > 0,
        };
        if !al_dia {
            let (resultado, convenios) = match (self.recargar)() {
                Ok(n) => ("ok".to_owned(), Some(n)),
                // The reasons, as `siis convenios check` gives them (file, line, problem).
                Err(why) => (why.chars().take(2_000).collect(), None),
            };
            let digest = recargas.digest_now();
            tracing::info!(
                recarga.version = version,
                recarga.ok = convenios.is_some(),
                "agreements reloaded for the nodes' newest reload"
            );
            anotar(
                conn,
                version,
                &recargas.nodo,
                &resultado,
                &digest,
                convenios,
            )?;
        }
        self.aplicada = Some(version);
        Ok(())
    }
}

//! A budget shared by the nodes: one `limites` row (a GCRA bucket and today's quota) is the
//! only authority, so the nodes together never pass `burst + rate × t`. A node takes units in
//! leases of about 100 ms worth (at least 1, at most a third of the burst), spends them
//! without asking, and gives back what it did not use once the lease expired (with its next
//! take, or the coordination thread's sweep, [`Vencible`]). At 5 persons a second a lease is one unit: every admission asks the database,
//! which then decides exactly; at 1,000 a second one call covers about 100 admissions. A
//! refusal is remembered until the time the database said to wait, so a flood is refused
//! without asking again.

use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use super::{Coordinacion, SinBase, Toma, Tomado};

/// How long a lease lasts, and so how many units it holds (this long at the budget's rate).
const LEASE: Duration = Duration::from_millis(100);
/// How long a refusal by the daily quota is repeated without asking (another node may give
/// units back).
const CUPO_RECORDADO: Duration = Duration::from_secs(1);

/// Why the units were not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negado {
    /// Over the rate: retry after this many seconds.
    Tasa(u64),
    /// Today's quota cannot hold them.
    Cupo,
    /// The database could not be asked.
    SinBase,
}

pub struct Arriendo {
    coordinacion: Coordinacion,
    convenio: String,
    presupuesto: String,
    t_us: i64,
    tau_us: i64,
    cupo: i64,
    bloque: i64,
    estado: Arc<Mutex<Estado>>,
}

/// A lease as the coordination thread sees it, to give back what it still holds once it
/// expired (a node that stops asking must not keep units of a small quota all day).
pub(super) struct Vencible {
    estado: Weak<Mutex<Estado>>,
    convenio: String,
    presupuesto: String,
    t_us: i64,
    tau_us: i64,
    cupo: i64,
}

impl Vencible {
    /// Whether the budget is still in force (its lease is still referred to).
    pub(super) fn vive(&self) -> bool {
        self.estado.strong_count() > 0
    }

    /// The units of an expired lease, taken out of it, as a [`Toma`] that only gives back.
    pub(super) fn vencido(&self, ahora: Instant) -> Option<Toma> {
        let estado = self.estado.upgrade()?;
        let mut estado = estado.lock().unwrap_or_else(|p| p.into_inner());
        if estado.unidades == 0 || ahora < estado.vence {
            return None;
        }
        let devolver = std::mem::take(&mut estado.unidades);
        Some(Toma {
            convenio: self.convenio.clone(),
            presupuesto: self.presupuesto.clone(),
            devolver,
            dia_devuelto: estado.dia,
            min: 0,
            max: 0,
            t_us: self.t_us,
            tau_us: self.tau_us,
            cupo: self.cupo,
            dia: estado.dia,
        })
    }
}

struct Estado {
    /// Units leased and not spent, taken on `dia`, good until `vence`.
    unidades: i64,
    dia: NaiveDate,
    vence: Instant,
    /// A refusal repeated without asking until then.
    rechazo: Option<(Instant, Negado)>,
    /// Whether a take for a whole block is on its way to the database. Admissions that need
    /// units meanwhile ask for their own alone: were each of a node's concurrent requests to
    /// ask for a block when its lease ran out, the node would hold many blocks at once (up to
    /// its connections' count), and the others would be refused with the rate unspent.
    pidiendo: bool,
}

/// What an admission does next: it is decided, or the database must be asked (for a whole
/// block, or for its own units while another take asks for the block).
enum Paso {
    Listo(Result<(), Negado>),
    Pedir(Toma, bool),
}

/// Marks the block's take as answered when it is dropped, answered or not (the admission's
/// future may be dropped while it waits).
struct Pidiendo<'a> {
    estado: Option<&'a Mutex<Estado>>,
}

impl Drop for Pidiendo<'_> {
    fn drop(&mut self) {
        if let Some(estado) = self.estado {
            estado.lock().unwrap_or_else(|p| p.into_inner()).pidiendo = false;
        }
    }
}

impl Arriendo {
    /// The budget `presupuesto` of `convenio`: `per_second` units a second, `burst` at once
    /// (both at least 1), `cupo` a day.
    pub fn new(
        coordinacion: Coordinacion,
        convenio: &str,
        presupuesto: &str,
        per_second: u32,
        burst: u32,
        cupo: u64,
    ) -> Arriendo {
        let per_second = i64::from(per_second.max(1));
        let burst = i64::from(burst.max(1));
        // Rounded up: the nodes together may fall short of the rate by a hair, never pass it.
        let t_us = (1_000_000 + per_second - 1) / per_second;
        let por_lease = per_second * LEASE.as_millis() as i64 / 1000;
        let estado = Arc::new(Mutex::new(Estado {
            unidades: 0,
            // A day before any (PostgreSQL's dates do not reach chrono's MIN).
            dia: NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(),
            vence: Instant::now(),
            rechazo: None,
            pidiendo: false,
        }));
        let cupo = i64::try_from(cupo).unwrap_or(i64::MAX);
        coordinacion.vigilar(Vencible {
            estado: Arc::downgrade(&estado),
            convenio: convenio.to_owned(),
            presupuesto: presupuesto.to_owned(),
            t_us,
            tau_us: burst * t_us,
            cupo,
        });
        Arriendo {
            coordinacion,
            convenio: convenio.to_owned(),
            presupuesto: presupuesto.to_owned(),
            t_us,
            tau_us: burst * t_us,
            cupo,
            bloque: por_lease.clamp(1, (burst / 3).max(1)),
            estado,
        }
    }

    /// Takes `n` units for `hoy`, from the lease held or from the database.
    pub async fn tomar(&self, hoy: NaiveDate, n: u64) -> Result<(), Negado> {
        match self.paso(hoy, n) {
            Paso::Listo(hecho) => hecho,
            Paso::Pedir(toma, bloque) => {
                let _pidiendo = self.pidiendo(bloque);
                let respuesta = self.coordinacion.tomar(toma).await;
                self.recibir(hoy, n, respuesta)
            }
        }
    }

    /// [`Arriendo::tomar`] from a blocking thread.
    pub fn tomar_bloqueando(&self, hoy: NaiveDate, n: u64) -> Result<(), Negado> {
        match self.paso(hoy, n) {
            Paso::Listo(hecho) => hecho,
            Paso::Pedir(toma, bloque) => {
                let _pidiendo = self.pidiendo(bloque);
                let respuesta = self.coordinacion.tomar_bloqueando(toma);
                self.recibir(hoy, n, respuesta)
            }
        }
    }

    fn pidiendo(&self, bloque: bool) -> Pidiendo<'_> {
        Pidiendo {
            estado: bloque.then_some(&*self.estado),
        }
    }

    fn paso(&self, hoy: NaiveDate, n: u64) -> Paso {
        let n = i64::try_from(n.max(1)).unwrap_or(i64::MAX);
        let mut estado = self.estado.lock().unwrap_or_else(|p| p.into_inner());
        let ahora = Instant::now();
        let vigente = ahora < estado.vence && estado.dia == hoy;
        if vigente && estado.unidades >= n {
            estado.unidades -= n;
            return Paso::Listo(Ok(()));
        }
        if let Some((hasta, negado)) = estado.rechazo {
            if ahora < hasta && estado.dia == hoy {
                return Paso::Listo(Err(match negado {
                    Negado::Tasa(_) => Negado::Tasa(segundos(hasta - ahora)),
                    other => other,
                }));
            }
            estado.rechazo = None;
        }
        // What the lease still holds goes back with the take: this one needs more, or it
        // expired.
        let devolver = std::mem::take(&mut estado.unidades);
        let bloque = !estado.pidiendo;
        estado.pidiendo = true;
        let max = match bloque {
            true => n.max(self.bloque),
            false => n,
        };
        Paso::Pedir(
            Toma {
                convenio: self.convenio.clone(),
                presupuesto: self.presupuesto.clone(),
                devolver,
                dia_devuelto: estado.dia,
                min: n,
                max,
                t_us: self.t_us,
                tau_us: self.tau_us,
                cupo: self.cupo,
                dia: hoy,
            },
            bloque,
        )
    }

    fn recibir(
        &self,
        hoy: NaiveDate,
        n: u64,
        respuesta: Result<Tomado, SinBase>,
    ) -> Result<(), Negado> {
        let n = i64::try_from(n.max(1)).unwrap_or(i64::MAX);
        let tomado = respuesta.map_err(|SinBase| Negado::SinBase)?;
        let mut estado = self.estado.lock().unwrap_or_else(|p| p.into_inner());
        let ahora = Instant::now();
        if estado.dia != hoy {
            // Units of another day are not spent today (they were given back with this take).
            estado.unidades = 0;
        }
        estado.dia = hoy;
        if tomado.concedido >= n {
            estado.unidades += tomado.concedido - n;
            estado.vence = ahora + LEASE;
            estado.rechazo = None;
            return Ok(());
        }
        let negado = match tomado.espera_us {
            espera if espera >= 0 => {
                let espera = Duration::from_micros(espera as u64);
                estado.rechazo = Some((ahora + espera, Negado::Tasa(0)));
                Negado::Tasa(segundos(espera))
            }
            _ => {
                estado.rechazo = Some((ahora + CUPO_RECORDADO, Negado::Cupo));
                Negado::Cupo
            }
        };
        Err(negado)
    }
}

/// Whole seconds to wait, at least one (a `Retry-After`).
fn segundos(espera: Duration) -> u64 {
    espera.as_secs_f64().ceil().max(1.0) as u64
}

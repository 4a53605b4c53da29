//! Per-agreement rate limits (governor) and daily quotas, counted in persons: a request about N
//! persons (a batch of N RUNs, a feed of N records) takes N from both, so no path moves more
//! persons than the agreement's rate. Both are checked and counted under one atomic step, so
//! concurrent requests cannot overrun them. A provider may have a budget of its own for the
//! records of its batches (`[limits.lotes]`); otherwise they draw on the agreement's.
//!
//! With `cluster.nodo` set, each budget is one row in PostgreSQL shared by every node, taken
//! in leases ([`super::compartido::arriendo`]); the governor bucket and the count in memory
//! are then not used.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::compartido::Coordinacion;
use super::compartido::arriendo::{Arriendo, Negado};
use crate::convenios::{Budget, ConvenioSet};
use crate::domain::ConvenioId;
use crate::error::ApiError;

/// One budget: a token bucket (rate and burst) and a daily quota.
pub struct ConvenioLimits {
    budget: Budget,
    limiter: DefaultDirectRateLimiter,
    burst: NonZeroU32,
    used: Mutex<(NaiveDate, u64)>,
    /// The budget shared by the nodes (`cluster.nodo`), which then decides alone.
    compartido: Option<Arriendo>,
}

/// The budgets of every agreement in force, rebuilt when agreements reload.
#[derive(Default)]
pub struct Limits {
    by_convenio: HashMap<ConvenioId, Arc<ConvenioLimits>>,
    /// `[limits.lotes]`: the budgets of providers that set one for their batches' records.
    lotes: HashMap<ConvenioId, Arc<ConvenioLimits>>,
}

/// Today's use of each budget when the node starts (from the audit log and the `lotes`
/// table).
#[derive(Debug, Default)]
pub struct Used {
    pub persons: HashMap<ConvenioId, u64>,
    pub lote_records: HashMap<ConvenioId, u64>,
}

impl ConvenioLimits {
    fn new(budget: Budget, used: (NaiveDate, u64)) -> ConvenioLimits {
        let per_second = budget.rate.per_second;
        let burst = budget.rate.burst.max(per_second);
        ConvenioLimits {
            budget,
            limiter: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
            burst,
            used: Mutex::new(used),
            compartido: None,
        }
    }

    /// The budget `presupuesto` of `convenio` shared through `coordinacion`.
    fn shared(
        budget: Budget,
        coordinacion: &Coordinacion,
        convenio: &ConvenioId,
        presupuesto: &str,
    ) -> ConvenioLimits {
        let mut limits = Self::new(budget, (NaiveDate::MIN, 0));
        limits.compartido = Some(Arriendo::new(
            coordinacion.clone(),
            convenio.as_str(),
            presupuesto,
            budget.rate.per_second.get(),
            limits.burst.get(),
            budget.daily_quota,
        ));
        limits
    }

    /// [`ConvenioLimits::admit`], asking the other nodes' shared budget when there is one
    /// (then 503 `NO_DISPONIBLE` when the database cannot be asked and the lease held does
    /// not cover `persons`).
    pub async fn tomar(&self, today: NaiveDate, persons: u64) -> Result<(), ApiError> {
        match &self.compartido {
            None => self.admit(today, persons),
            Some(arriendo) => {
                self.fits(persons)?;
                arriendo.tomar(today, persons).await.map_err(negado)
            }
        }
    }

    /// [`ConvenioLimits::tomar`] from a blocking thread.
    pub fn tomar_bloqueando(&self, today: NaiveDate, persons: u64) -> Result<(), ApiError> {
        match &self.compartido {
            None => self.admit(today, persons),
            Some(arriendo) => {
                self.fits(persons)?;
                arriendo.tomar_bloqueando(today, persons).map_err(negado)
            }
        }
    }

    /// Takes `persons` (at least 1) from the rate limit, then from today's quota. More persons
    /// than the burst can never be admitted at once: `LOTE_SUPERA_RAFAGA`. A request the rate
    /// admits but the quota refuses keeps its rate tokens: refused work counts too.
    pub fn admit(&self, today: NaiveDate, persons: u64) -> Result<(), ApiError> {
        self.fits(persons)?;
        let n = u32::try_from(persons.max(1))
            .ok()
            .and_then(NonZeroU32::new)
            .unwrap_or(self.burst);
        match self.limiter.check_n(n) {
            Ok(Ok(())) => {}
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                return Err(ApiError::limite_excedido(
                    wait.as_secs_f64().ceil().max(1.0) as u64,
                ));
            }
            Err(_insufficient) => {
                return Err(ApiError::lote_supera_rafaga(persons, self.burst.get()));
            }
        }
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        // Forward only: work admitted before midnight and charged after it counts on the new
        // day, and never turns the count back to the old one.
        if today > used.0 {
            *used = (today, 0);
        }
        if used.1.saturating_add(u64::from(n.get())) > self.budget.daily_quota {
            return Err(ApiError::cuota_excedida(super::seconds_to_midnight()));
        }
        used.1 += u64::from(n.get());
        Ok(())
    }

    /// Refuses `persons` that could never be admitted at once (`LOTE_SUPERA_RAFAGA`).
    pub fn fits(&self, persons: u64) -> Result<(), ApiError> {
        if persons > self.largest() {
            return Err(ApiError::lote_supera_rafaga(persons, self.burst.get()));
        }
        Ok(())
    }

    /// The most persons one request may take: the burst.
    pub fn largest(&self) -> u64 {
        u64::from(self.burst.get())
    }

    /// What today's quota has left (the whole quota on a day nothing was charged yet); `None`
    /// for a budget shared by the nodes, which only the database knows.
    pub fn remaining(&self, today: NaiveDate) -> Option<u64> {
        if self.compartido.is_some() {
            return None;
        }
        let (day, used) = self.used();
        let used = if day < today { 0 } else { used };
        Some(self.budget.daily_quota.saturating_sub(used))
    }

    fn used(&self) -> (NaiveDate, u64) {
        *self.used.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A shared budget refused: the same errors as on one node, and 503 without the database.
fn negado(negado: Negado) -> ApiError {
    match negado {
        Negado::Tasa(wait) => ApiError::limite_excedido(wait),
        Negado::Cupo => ApiError::cuota_excedida(super::seconds_to_midnight()),
        Negado::SinBase => ApiError::unavailable(),
    }
}

/// Where a budget is kept: in this process, or shared by the nodes under a name.
#[derive(Clone, Copy)]
struct Lugar<'a> {
    coordinacion: Option<&'a Coordinacion>,
    convenio: &'a ConvenioId,
    presupuesto: &'static str,
}

/// The budget `previous` had for an agreement, kept whole (its bucket and today's count) when
/// the reloaded agreement sets the same one; else a new one that carries today's count over
/// (a shared one's count is in the database).
fn carried(
    budget: Budget,
    previous: Option<&Arc<ConvenioLimits>>,
    restored: u64,
    today: NaiveDate,
    lugar: Lugar<'_>,
) -> Arc<ConvenioLimits> {
    match (previous, lugar.coordinacion) {
        (Some(p), _) if p.budget == budget => Arc::clone(p),
        (_, Some(c)) => Arc::new(ConvenioLimits::shared(
            budget,
            c,
            lugar.convenio,
            lugar.presupuesto,
        )),
        (Some(p), None) => Arc::new(ConvenioLimits::new(budget, p.used())),
        (None, None) => Arc::new(ConvenioLimits::new(budget, (today, restored))),
    }
}

impl Limits {
    /// Limits for `set`; `previous` supplies the budgets in force (a reload), `used` today's
    /// use at start-up; with `coordinacion`, the budgets are shared by the nodes (and `used`
    /// was seeded into the database).
    pub fn build(
        set: &ConvenioSet,
        previous: Option<&Limits>,
        used: &Used,
        today: NaiveDate,
        coordinacion: Option<&Coordinacion>,
    ) -> Limits {
        let mut limits = Limits::default();
        for a in set.iter() {
            let budget = Budget {
                rate: a.rate,
                daily_quota: a.daily_quota,
            };
            let before = previous.and_then(|p| p.by_convenio.get(&a.id));
            let restored = used.persons.get(&a.id).copied().unwrap_or(0);
            let lugar = Lugar {
                coordinacion,
                convenio: &a.id,
                presupuesto: "consultas",
            };
            limits.by_convenio.insert(
                a.id.clone(),
                carried(budget, before, restored, today, lugar),
            );
            if let Some(budget) = a.lotes {
                let before = previous.and_then(|p| p.lotes.get(&a.id));
                let restored = used.lote_records.get(&a.id).copied().unwrap_or(0);
                let lugar = Lugar {
                    presupuesto: "lotes",
                    ..lugar
                };
                limits.lotes.insert(
                    a.id.clone(),
                    carried(budget, before, restored, today, lugar),
                );
            }
        }
        limits
    }

    pub fn get(&self, id: &ConvenioId) -> Option<&Arc<ConvenioLimits>> {
        self.by_convenio.get(id)
    }

    /// The budget an agreement's batch records draw on: its own, or the agreement's.
    pub fn lotes(&self, id: &ConvenioId) -> Option<&Arc<ConvenioLimits>> {
        self.lotes.get(id).or_else(|| self.get(id))
    }

    /// Whether the agreement's batch records have a budget of their own.
    pub fn lotes_apart(&self, id: &ConvenioId) -> bool {
        self.lotes.contains_key(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convenios::RateLimit;

    fn budget(per_second: u32, burst: u32, daily_quota: u64) -> ConvenioLimits {
        let rate = RateLimit {
            per_second: NonZeroU32::new(per_second).unwrap(),
            burst: NonZeroU32::new(burst).unwrap(),
        };
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        ConvenioLimits::new(Budget { rate, daily_quota }, (day, 0))
    }

    #[test]
    fn persons_are_counted_and_a_batch_over_the_burst_never_fits() {
        let limits = budget(100, 100, 25);
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        assert_eq!(
            limits.admit(day, 101).unwrap_err().code,
            "LOTE_SUPERA_RAFAGA"
        );
        limits.admit(day, 10).unwrap();
        limits.admit(day, 10).unwrap();
        assert_eq!(limits.admit(day, 10).unwrap_err().code, "CUOTA_EXCEDIDA");
        limits.admit(day, 5).unwrap();
        assert_eq!(limits.used(), (day, 25));
    }

    #[test]
    fn the_day_only_moves_forward() {
        let limits = budget(1000, 100, 1000);
        let (day, next) = (
            NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(),
            NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(),
        );
        limits.admit(next, 3).unwrap();
        // Admitted before midnight, charged after: it counts on the new day, which keeps its
        // count.
        limits.admit(day, 2).unwrap();
        assert_eq!(limits.used(), (next, 5));
    }
}

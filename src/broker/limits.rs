//! Per-agreement rate limits (governor) and daily quotas, counted in persons: a request about N
//! persons (a batch of N RUNs, a feed of N records) takes N from both, so no path moves more
//! persons than the agreement's rate. Both are checked and counted under one atomic step, so
//! concurrent requests cannot overrun them.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::agreements::{Agreement, AgreementSet};
use crate::domain::AgreementId;
use crate::error::ApiError;

pub struct AgreementLimits {
    limiter: DefaultDirectRateLimiter,
    burst: NonZeroU32,
    daily_quota: u64,
    used: Mutex<(NaiveDate, u64)>,
}

/// The limits of every agreement in force, rebuilt when agreements reload (daily counts carry
/// over for agreements that stay).
#[derive(Default)]
pub struct Limits {
    by_agreement: HashMap<AgreementId, Arc<AgreementLimits>>,
}

impl AgreementLimits {
    fn new(agreement: &Agreement, used: (NaiveDate, u64)) -> AgreementLimits {
        let per_second = agreement.rate.per_second;
        let burst = agreement.rate.burst.max(per_second);
        AgreementLimits {
            limiter: RateLimiter::direct(Quota::per_second(per_second).allow_burst(burst)),
            burst,
            daily_quota: agreement.daily_quota,
            used: Mutex::new(used),
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
        if used.0 != today {
            *used = (today, 0);
        }
        if used.1.saturating_add(u64::from(n.get())) > self.daily_quota {
            return Err(ApiError::cuota_excedida(super::seconds_to_midnight()));
        }
        used.1 += u64::from(n.get());
        Ok(())
    }

    /// Refuses `persons` that could never be admitted at once (`LOTE_SUPERA_RAFAGA`).
    pub fn fits(&self, persons: u64) -> Result<(), ApiError> {
        if persons > u64::from(self.burst.get()) {
            return Err(ApiError::lote_supera_rafaga(persons, self.burst.get()));
        }
        Ok(())
    }

    fn used(&self) -> (NaiveDate, u64) {
        *self.used.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Limits {
    /// Limits for `set`; `previous` supplies today's counts, `restored` counts from the audit
    /// log at start-up.
    pub fn build(
        set: &AgreementSet,
        previous: Option<&Limits>,
        restored: &HashMap<AgreementId, u64>,
        today: NaiveDate,
    ) -> Limits {
        let by_agreement = set
            .iter()
            .map(|a| {
                let used = previous
                    .and_then(|p| p.by_agreement.get(&a.id))
                    .map(|l| l.used())
                    .unwrap_or((today, restored.get(&a.id).copied().unwrap_or(0)));
                (a.id.clone(), Arc::new(AgreementLimits::new(a, used)))
            })
            .collect();
        Limits { by_agreement }
    }

    pub fn get(&self, id: &AgreementId) -> Option<&Arc<AgreementLimits>> {
        self.by_agreement.get(id)
    }
}

//! Per-agreement rate limits (governor) and daily quotas. Both are checked and counted under
//! one atomic step, so concurrent requests cannot overrun them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, Timelike, Utc};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::agreements::{Agreement, AgreementSet};
use crate::domain::AgreementId;
use crate::error::ApiError;

pub struct AgreementLimits {
    limiter: DefaultDirectRateLimiter,
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
            daily_quota: agreement.daily_quota,
            used: Mutex::new(used),
        }
    }

    /// Takes one request from the rate limit, then from today's quota.
    pub fn admit(&self, today: NaiveDate) -> Result<(), ApiError> {
        if let Err(not_until) = self.limiter.check() {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            return Err(ApiError::limite_excedido(
                wait.as_secs_f64().ceil().max(1.0) as u64,
            ));
        }
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        if used.0 != today {
            *used = (today, 0);
        }
        if used.1 >= self.daily_quota {
            return Err(ApiError::cuota_excedida(seconds_to_midnight()));
        }
        used.1 += 1;
        Ok(())
    }

    fn used(&self) -> (NaiveDate, u64) {
        *self.used.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Seconds until the next civil day in Chile, when daily quotas renew.
fn seconds_to_midnight() -> u64 {
    let now = Utc::now().with_timezone(&chrono_tz::America::Santiago);
    u64::from(86_400 - now.num_seconds_from_midnight()).max(1)
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

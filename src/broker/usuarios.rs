//! Console users as the broker sees them: who is signed in (an official under their agreement
//! and role, or a person about themself), and each user's own rate and daily quota, counted in
//! persons like an agreement's and taken before it. Two officials of one municipality share
//! their agreement's budget; neither can spend all of it alone.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;

use chrono::NaiveDate;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::catalog::Rol;
use crate::domain::{ConvenioId, Run};
use crate::error::ApiError;

/// A signed-in console user: whose RUN (what Clave Única said), under which agreement, in which
/// role. Made only by the console from its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Usuario {
    pub run: Run,
    pub convenio: ConvenioId,
    pub rol: Rol,
}

/// Most users remembered before those whose allowance is full again are forgotten.
const MAX_USUARIOS: usize = 10_000;

/// Every console user's allowance: a token bucket (persons per second, burst) and persons per
/// Chilean civil day.
pub struct PorUsuario {
    limiter: DefaultKeyedRateLimiter<u32>,
    burst: NonZeroU32,
    daily_quota: u64,
    used: Mutex<(NaiveDate, HashMap<u32, u64>)>,
}

impl PorUsuario {
    /// `per_second` and `burst` persons (zero counts as one), `daily_quota` persons a day;
    /// `used` is what each user (by RUN number) took today before a restart.
    pub fn new(
        per_second: u32,
        burst: u32,
        daily_quota: u64,
        today: NaiveDate,
        used: HashMap<u32, u64>,
    ) -> PorUsuario {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst)
            .unwrap_or(NonZeroU32::MIN)
            .max(per_second);
        PorUsuario {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            burst,
            daily_quota,
            used: Mutex::new((today, used)),
        }
    }

    /// Takes `persons` from `run`'s rate, then from their quota for `today`; refused with
    /// `LIMITE_EXCEDIDO` (and when to retry) otherwise.
    pub fn admit(&self, run: Run, today: NaiveDate, persons: u64) -> Result<(), ApiError> {
        if self.limiter.len() > MAX_USUARIOS {
            self.limiter.retain_recent();
        }
        let n = u32::try_from(persons.max(1))
            .ok()
            .and_then(NonZeroU32::new)
            .unwrap_or(self.burst);
        let key = run.numero();
        match self.limiter.check_key_n(&key, n) {
            Ok(Ok(())) => {}
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                return Err(ApiError {
                    detail: "this user's own rate limit is exceeded; retry later".into(),
                    ..ApiError::limite_excedido(wait.as_secs_f64().ceil().max(1.0) as u64)
                });
            }
            Err(_insufficient) => {
                return Err(ApiError::lote_supera_rafaga(persons, self.burst.get()));
            }
        }
        let mut used = self.used.lock().unwrap_or_else(|p| p.into_inner());
        if today > used.0 {
            *used = (today, HashMap::new());
        }
        let taken = used.1.entry(key).or_insert(0);
        if *taken + persons.max(1) > self.daily_quota {
            return Err(ApiError {
                detail: "this user's own daily quota is used up; it renews at midnight, Chile time"
                    .into(),
                ..ApiError::cuota_excedida(crate::broker::seconds_to_midnight())
            });
        }
        *taken += persons.max(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n: u32) -> Run {
        Run::from_numero(n).unwrap()
    }

    #[test]
    fn each_user_has_a_rate_and_a_quota_of_their_own() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        let limits = PorUsuario::new(1, 3, 5, today, HashMap::from([(22_222_222, 4)]));
        // A burst of three, then refused; another user is not affected.
        for _ in 0..3 {
            limits.admit(run(11_111_111), today, 1).unwrap();
        }
        let refused = limits.admit(run(11_111_111), today, 1).unwrap_err();
        assert_eq!(refused.code.as_str(), "LIMITE_EXCEDIDO");
        assert!(refused.detail.contains("this user's own rate"));
        // The other user had taken 4 of 5 before a restart: one more, then the quota is spent.
        limits.admit(run(22_222_222), today, 1).unwrap();
        let spent = limits.admit(run(22_222_222), today, 1).unwrap_err();
        assert_eq!(spent.code.as_str(), "CUOTA_EXCEDIDA");
        assert!(spent.detail.contains("this user's own daily quota"));
        // A new day gives the quota back.
        let tomorrow = today.succ_opt().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        limits.admit(run(22_222_222), tomorrow, 1).unwrap();
        // More persons at once than the burst can never pass.
        let too_many = limits.admit(run(33_333_333), tomorrow, 4).unwrap_err();
        assert_eq!(too_many.code.as_str(), "LOTE_SUPERA_RAFAGA");
    }
}

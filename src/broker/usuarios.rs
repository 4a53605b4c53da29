//! Console users as the broker sees them: who is signed in (an official under their agreement
//! and role, or a person about themself), and each user's own rate and daily quota, counted in
//! persons like an agreement's and taken before it. Two officials of one municipality share
//! their agreement's budget; neither can spend all of it alone. With `cluster.nodo` set, each
//! user's allowance is a budget shared by the nodes (`limites`, [`super::compartido`]).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::compartido::Coordinacion;
use super::compartido::arriendo::{Arriendo, Negado};
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
    per_second: NonZeroU32,
    burst: NonZeroU32,
    daily_quota: u64,
    used: Mutex<(NaiveDate, HashMap<u32, u64>)>,
    /// Each user's allowance shared by the nodes (`cluster.nodo`), by RUN number.
    compartido: Option<(Coordinacion, Arriendos)>,
}

/// Each user's shared allowance as this node holds it (its lease), by RUN number.
type Arriendos = Mutex<HashMap<u32, Arc<Arriendo>>>;

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
            per_second,
            burst,
            daily_quota,
            used: Mutex::new((today, used)),
            compartido: None,
        }
    }

    /// The allowances shared by the nodes through `coordinacion` (today's use was seeded
    /// into the database).
    pub fn shared(mut self, coordinacion: Coordinacion) -> PorUsuario {
        self.compartido = Some((coordinacion, Mutex::new(HashMap::new())));
        self
    }

    /// [`PorUsuario::admit`], from the users' shared allowances when there are (then 503
    /// `NO_DISPONIBLE` when the database cannot be asked).
    pub async fn tomar(&self, run: Run, today: NaiveDate, persons: u64) -> Result<(), ApiError> {
        let Some((coordinacion, arriendos)) = &self.compartido else {
            return self.admit(run, today, persons);
        };
        if persons > u64::from(self.burst.get()) {
            return Err(ApiError::lote_supera_rafaga(persons, self.burst.get()));
        }
        let arriendo = {
            let mut arriendos = arriendos.lock().unwrap_or_else(|p| p.into_inner());
            if arriendos.len() > MAX_USUARIOS {
                // A lease of a user not seen for a while is worth nothing: forget them all.
                arriendos.clear();
            }
            arriendos
                .entry(run.numero())
                .or_insert_with(|| {
                    Arc::new(Arriendo::new(
                        coordinacion.clone(),
                        super::compartido::CONSOLA,
                        &super::compartido::usuario(run.numero()),
                        self.per_second.get(),
                        self.burst.get(),
                        self.daily_quota,
                    ))
                })
                .clone()
        };
        arriendo
            .tomar(today, persons)
            .await
            .map_err(|negado| match negado {
                Negado::Tasa(wait) => rate_refused(wait),
                Negado::Cupo => quota_refused(),
                Negado::SinBase => ApiError::unavailable(),
            })
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
                return Err(rate_refused(wait.as_secs_f64().ceil().max(1.0) as u64));
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
            return Err(quota_refused());
        }
        *taken += persons.max(1);
        Ok(())
    }
}

fn rate_refused(wait: u64) -> ApiError {
    ApiError {
        detail: "this user's own rate limit is exceeded; retry later".into(),
        ..ApiError::limite_excedido(wait)
    }
}

fn quota_refused() -> ApiError {
    ApiError {
        detail: "this user's own daily quota is used up; it renews at midnight, Chile time".into(),
        ..ApiError::cuota_excedida(crate::broker::seconds_to_midnight())
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

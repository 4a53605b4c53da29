//! ValidarIdentidad answers whether a claimed name or birth date matches: asked again and
//! again it would reveal the value (a birth date falls in minutes). So each agreement may make
//! at most `broker.failed_validations_per_day` comparisons that do not match about one person
//! in a day (Chile's civil day); the next is refused with `VALIDACIONES_AGOTADAS` until
//! midnight. A comparison reserves its place before it reads the registry and gives it back
//! when everything it compared matched (or nothing was compared), so concurrent guesses cannot
//! overrun the limit. The counts live in memory and are restored at start-up from today's
//! audit records whose outcome is `NO_COINCIDE`. With `cluster.nodo` set they live in the
//! shared table `validaciones_fallidas` instead (a place is `UPDATE … WHERE fallidas < max`,
//! giving it back a decrement), so N nodes do not give N times the guesses.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::NaiveDate;

use super::compartido::Coordinacion;
use crate::domain::{ConvenioId, Run};
use crate::error::ApiError;

type Key = (ConvenioId, u32);

pub struct ValidacionesFallidas {
    max: u32,
    today: Mutex<(NaiveDate, HashMap<Key, u32>)>,
    /// The counts shared by the nodes (`cluster.nodo`).
    compartido: Option<Coordinacion>,
}

/// A place taken for one comparison; dropped, it stays taken (the comparison did not match).
pub struct Reserva {
    registro: Arc<ValidacionesFallidas>,
    key: Key,
    day: NaiveDate,
}

impl ValidacionesFallidas {
    /// At most `max` per agreement, person and day; `restored` are today's so far.
    pub fn new(max: u32, today: NaiveDate, restored: HashMap<Key, u32>) -> ValidacionesFallidas {
        ValidacionesFallidas {
            max,
            today: Mutex::new((today, restored)),
            compartido: None,
        }
    }

    /// The counts kept in the database shared by the nodes (today's were seeded there).
    pub fn shared(mut self, coordinacion: Coordinacion) -> ValidacionesFallidas {
        self.compartido = Some(coordinacion);
        self
    }

    /// The counts, moved on to `day` if it is later than theirs (never back: a request
    /// admitted before midnight and read after it counts on the new day).
    fn counts(&self, day: NaiveDate) -> MutexGuard<'_, (NaiveDate, HashMap<Key, u32>)> {
        let mut counts = self.today.lock().unwrap_or_else(|p| p.into_inner());
        if day > counts.0 {
            *counts = (day, HashMap::new());
        }
        counts
    }

    /// Takes a place for one comparison by `convenio` about `run` on `day`, or refuses when
    /// the day's are used up.
    pub fn reservar(
        self: &Arc<Self>,
        convenio: &ConvenioId,
        run: Run,
        day: NaiveDate,
        seconds_to_midnight: u64,
    ) -> Result<Reserva, ApiError> {
        if let Some(coordinacion) = &self.compartido {
            // From the operation's blocking thread, before the registry is read.
            return match coordinacion.reservar_validacion(convenio, run.numero(), day, self.max) {
                Ok(true) => Ok(Reserva {
                    registro: Arc::clone(self),
                    key: (convenio.clone(), run.numero()),
                    day,
                }),
                Ok(false) => Err(ApiError::validaciones_agotadas(seconds_to_midnight)),
                Err(_) => Err(ApiError::unavailable()),
            };
        }
        let key = (convenio.clone(), run.numero());
        let mut counts = self.counts(day);
        let day = counts.0;
        let used = counts.1.entry(key.clone()).or_insert(0);
        if *used >= self.max {
            return Err(ApiError::validaciones_agotadas(seconds_to_midnight));
        }
        *used += 1;
        Ok(Reserva {
            registro: Arc::clone(self),
            key,
            day,
        })
    }

    /// Comparisons that did not match on `day`.
    #[cfg(test)]
    fn fallidas(&self, convenio: &ConvenioId, run: Run, day: NaiveDate) -> u32 {
        self.counts(day)
            .1
            .get(&(convenio.clone(), run.numero()))
            .copied()
            .unwrap_or(0)
    }
}

impl Reserva {
    /// Gives the place back: the comparison matched, or compared nothing.
    pub fn liberar(self) {
        if let Some(coordinacion) = &self.registro.compartido {
            coordinacion.liberar_validacion(&self.key.0, self.key.1, self.day);
            return;
        }
        // Not `counts`: a place taken yesterday must not turn today's counts back a day.
        let mut counts = self
            .registro
            .today
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if counts.0 == self.day
            && let Some(used) = counts.1.get_mut(&self.key)
        {
            *used = used.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_comparisons_are_limited_per_convenio_person_and_day() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 4).unwrap();
        let registro = Arc::new(ValidacionesFallidas::new(2, day, HashMap::new()));
        let (ips, bbnn) = (
            ConvenioId::parse("ips").unwrap(),
            ConvenioId::parse("bbnn").unwrap(),
        );
        let run = Run::parse("12.345.678-5").unwrap();
        let other = Run::parse("15.509.661-6").unwrap();
        // A comparison that matches gives its place back.
        registro.reservar(&ips, run, day, 1).unwrap().liberar();
        drop(registro.reservar(&ips, run, day, 1).unwrap());
        drop(registro.reservar(&ips, run, day, 1).unwrap());
        let refused = registro.reservar(&ips, run, day, 7).err().unwrap();
        assert_eq!(
            (refused.code.as_str(), refused.retry_after),
            ("VALIDACIONES_AGOTADAS", Some(7))
        );
        assert!(
            registro.reservar(&bbnn, run, day, 1).is_ok(),
            "per agreement"
        );
        assert!(registro.reservar(&ips, other, day, 1).is_ok(), "per person");
        let tomorrow = day.succ_opt().unwrap();
        assert!(registro.reservar(&ips, run, tomorrow, 1).is_ok(), "per day");
        assert_eq!(registro.fallidas(&ips, run, tomorrow), 1);
        // A request admitted yesterday and compared today counts today, and does not turn
        // the counts back a day.
        drop(registro.reservar(&ips, run, day, 1).unwrap());
        assert_eq!(registro.fallidas(&ips, run, tomorrow), 2);
    }
}

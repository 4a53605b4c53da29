//! Refusals cost their sender too. Each client certificate may have its refused requests
//! audited one by one up to `broker.refusals_per_second` (after a burst of
//! `broker.refusals_burst`); beyond that a refusal is answered 429 `LIMITE_EXCEDIDO` without a
//! record of its own and only counted here, before anything is written. Every
//! `broker.refusals_summary_secs` (and when the node stops) the counts become one summary record
//! per certificate (`omitidos` = how many refusals it stands for), so a flood from any
//! certificate of the CA grows the audit log by at most that rate, and every refusal is still
//! accounted for: records plus their `omitidos`. A console user (no certificate) has a budget
//! of their own, so that one user's refusals never silence another's.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use sha2::{Digest, Sha256};

use crate::domain::Run;
use crate::tls::ClientIdentity;

/// A certificate's fingerprint (SHA-256 of its DER), a console user's (SHA-256 of `consola:`
/// and their RUN), or zeros for a request with neither.
type Key = [u8; 32];

/// Refusals of one certificate answered without a record of their own since the last summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Omitidos {
    /// The certificate's fingerprint (lower-case hex), when it presented one.
    pub certificate: Option<String>,
    /// The console user, for a console user's refusals.
    pub usuario: Option<Run>,
    /// The agreement of the last such refusal, when the certificate acts under one.
    pub convenio: Option<String>,
    pub count: u64,
    /// The units of the agreement's daily quota they took before they were refused (a replayed
    /// id is refused after the limits).
    pub personas: u64,
    /// When the first of them arrived.
    pub since: DateTime<Utc>,
}

pub struct Refusals {
    limiter: DefaultKeyedRateLimiter<Key>,
    counted: Mutex<HashMap<Key, Omitidos>>,
}

impl Refusals {
    pub fn new(per_second: u32, burst: u32) -> Refusals {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Refusals {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            counted: Mutex::new(HashMap::new()),
        }
    }

    /// Whether this refusal may be audited on its own. If not, it is counted and the caller
    /// gets the seconds after which the certificate's refusals are audited again.
    pub fn admit(
        &self,
        identity: Option<&ClientIdentity>,
        usuario: Option<Run>,
        convenio: Option<&str>,
        charged: u64,
    ) -> Result<(), u64> {
        let key = match (identity, usuario) {
            (Some(identity), _) => identity.cert_sha256,
            (None, Some(run)) => Sha256::digest(format!("consola:{run}")).into(),
            (None, None) => [0; 32],
        };
        let Err(not_until) = self.limiter.check_key(&key) else {
            return Ok(());
        };
        let mut counted = self.counted.lock().unwrap_or_else(|p| p.into_inner());
        let entry = counted.entry(key).or_insert_with(|| Omitidos {
            certificate: identity.map(ClientIdentity::fingerprint_hex),
            usuario: identity.is_none().then_some(usuario).flatten(),
            convenio: None,
            count: 0,
            personas: 0,
            since: Utc::now(),
        });
        entry.count += 1;
        entry.personas += charged;
        if let Some(convenio) = convenio {
            entry.convenio = Some(convenio.to_owned());
        }
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        Err(wait.as_secs_f64().ceil().max(1.0) as u64)
    }

    /// Counts taken by [`Refusals::take`] whose summary could not be written: they go into the
    /// next one.
    pub fn put_back(&self, omitidos: Omitidos) {
        let key = omitidos
            .certificate
            .as_deref()
            .and_then(|hex| hex::decode(hex).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .unwrap_or([0; 32]);
        let mut counted = self.counted.lock().unwrap_or_else(|p| p.into_inner());
        let entry = counted.entry(key).or_insert_with(|| Omitidos {
            count: 0,
            personas: 0,
            ..omitidos.clone()
        });
        entry.count += omitidos.count;
        entry.personas += omitidos.personas;
        entry.since = entry.since.min(omitidos.since);
    }

    /// The counts since the last call, one per certificate, cleared; and the limiter forgets
    /// certificates that have not been refused lately.
    pub fn take(&self) -> Vec<Omitidos> {
        let counted = std::mem::take(&mut *self.counted.lock().unwrap_or_else(|p| p.into_inner()));
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        counted.into_values().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(byte: u8) -> ClientIdentity {
        ClientIdentity {
            subject_cn: None,
            spki_sha256: [byte; 32],
            cert_sha256: [byte; 32],
            ca_spki_sha256: None,
            revocation: None,
        }
    }

    #[test]
    fn past_the_burst_refusals_are_counted_per_certificate_not_audited() {
        let refusals = Refusals::new(1, 3);
        let (a, b) = (identity(1), identity(2));
        for _ in 0..3 {
            assert_eq!(refusals.admit(Some(&a), None, Some("minvu"), 1), Ok(()));
        }
        for _ in 0..5 {
            assert!(refusals.admit(Some(&a), None, Some("minvu"), 1).is_err());
        }
        assert_eq!(
            refusals.admit(Some(&b), None, None, 0),
            Ok(()),
            "another certificate has its own budget"
        );
        let taken = refusals.take();
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].count, 5);
        assert_eq!(taken[0].personas, 5);
        assert_eq!(taken[0].convenio.as_deref(), Some("minvu"));
        assert_eq!(taken[0].certificate, Some(a.fingerprint_hex()));
        assert!(refusals.take().is_empty(), "a summary is written once");
    }

    #[test]
    fn each_console_user_has_a_refusal_budget_of_their_own() {
        let refusals = Refusals::new(1, 2);
        let (ana, luis) = ("44444444-4".parse().unwrap(), "55555555-5".parse().unwrap());
        for _ in 0..2 {
            assert_eq!(
                refusals.admit(None, Some(ana), Some("muni-13101"), 1),
                Ok(())
            );
        }
        assert!(
            refusals
                .admit(None, Some(ana), Some("muni-13101"), 1)
                .is_err()
        );
        assert_eq!(
            refusals.admit(None, Some(luis), Some("muni-05101"), 1),
            Ok(())
        );
        assert_eq!(
            refusals.admit(None, None, None, 0),
            Ok(()),
            "nor a caller without either"
        );
        let taken = refusals.take();
        assert_eq!(taken.len(), 1);
        assert_eq!(
            (taken[0].usuario, taken[0].certificate.as_deref()),
            (Some(ana), None)
        );
    }
}

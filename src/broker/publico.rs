//! Public services: asked by anyone, without a client certificate or an agreement (a
//! certificate's verification, on the public listener). The broker limits them per address
//! and audits each answer that concerns a person, with that person as its subject, before it
//! leaves. An answer or refusal that concerns no one (an unknown folio, a malformed request,
//! an address over its limit) is not recorded: an anonymous caller cannot fill the audit log.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::record::{Disclosed, RecordDraft};
use super::{Broker, Call, Reply};
use crate::db::DbConnection;
use crate::domain::Run;
use crate::error::ApiError;
use crate::projection::Project;

/// Most addresses remembered before those whose allowance is full again are forgotten.
const MAX_ADDRESSES: usize = 10_000;

/// The public services' allowance, per address.
pub(super) struct PerAddress {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl PerAddress {
    /// `per_minute` requests a minute per address, `burst` at once (zero counts as one).
    pub fn new(per_minute: u32, burst: u32) -> PerAddress {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        PerAddress {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
        }
    }

    /// Admits one request from `ip`, or says in how many seconds it may retry. An IPv6
    /// address counts by its /64 network: one subscriber's line holds a whole /64, and would
    /// otherwise get a fresh allowance from each address in it.
    fn admit(&self, ip: IpAddr) -> Result<(), u64> {
        use governor::clock::{Clock, DefaultClock};
        if self.limiter.len() > MAX_ADDRESSES {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&network(ip)).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }
}

/// The key an address is limited by: an IPv4 address itself, an IPv6 address its /64 network.
fn network(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(prefix))
            }
        },
    }
}

impl Broker {
    /// Runs a public service (module documentation): the caller's address must be within its
    /// allowance (`certificados.verificar_por_minuto`, `verificar_rafaga`), then `work` answers
    /// on a registry connection and names the person its answer concerns, if any. An answer
    /// about a person is audited before it is returned, and withheld (503) if its record
    /// cannot be written.
    pub async fn call_public<T, F>(self: Arc<Self>, call: Call, work: F) -> Reply<T>
    where
        T: Project + Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<(T, Option<Run>), ApiError> + Send + 'static,
    {
        self.spawn(call, move |broker, call, message_id| async move {
            let draft = RecordDraft::new(&call, &message_id, std::time::Instant::now());
            let answered = match broker.admit_public(&call) {
                Ok(()) => broker.on_registry(work).await,
                Err(error) => Err(error),
            };
            let (value, subject) = match answered {
                Ok(answer) => answer,
                Err(error) => {
                    return Reply {
                        message_id,
                        convenio: None,
                        result: Err(error),
                    };
                }
            };
            let Some(run) = subject else {
                return Reply {
                    message_id,
                    convenio: None,
                    result: Ok(value),
                };
            };
            let disclosed = Disclosed {
                fields: value.disclosed(),
                subjects: Some(vec![run]),
                outcome: value.audit_outcome(),
                status: Some(value.http_status()),
                ..Disclosed::default()
            };
            broker
                .finish(&draft, message_id, None, Ok(value), disclosed, 1)
                .await
        })
        .await
    }

    fn admit_public(&self, call: &Call) -> Result<(), ApiError> {
        let Some(ip) = call.peer else {
            tracing::error!("a public request without the caller's address");
            return Err(ApiError::unavailable());
        };
        if let Err(retry_after) = self.addresses.admit(ip) {
            return Err(ApiError {
                detail: "too many requests from this address; retry later".into(),
                ..ApiError::limite_excedido(retry_after)
            });
        }
        match &call.input_error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_network_shares_one_allowance_and_ipv4_addresses_do_not() {
        let limits = PerAddress::new(60, 2);
        let ip = |text: &str| text.parse::<IpAddr>().unwrap();
        // Three addresses of one /64: the third is over the burst of two.
        assert!(limits.admit(ip("2001:db8:1:2::1")).is_ok());
        assert!(limits.admit(ip("2001:db8:1:2::ffff")).is_ok());
        assert!(limits.admit(ip("2001:db8:1:2:abcd::7")).is_err());
        // Another /64, and IPv4 addresses, each have their own.
        assert!(limits.admit(ip("2001:db8:1:3::1")).is_ok());
        assert!(limits.admit(ip("192.0.2.1")).is_ok());
        assert!(limits.admit(ip("192.0.2.2")).is_ok());
        // An IPv4-mapped IPv6 address is its IPv4 address.
        assert!(limits.admit(ip("::ffff:192.0.2.1")).is_ok());
        assert!(limits.admit(ip("192.0.2.1")).is_err());
    }
}

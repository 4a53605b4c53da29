//! What the broker counts for Prometheus, served on the admin listener's `GET /metrics`
//! ([`Broker::register_metrics`]). Labels carry agreement ids, operation names, transports,
//! outcome codes and feed kinds: never a person, a RUN or a value.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

#[cfg(doc)]
use super::Broker;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Answered {
    /// Empty when no agreement was identified (no certificate, an unknown one).
    convenio: String,
    operation: &'static str,
    transport: &'static str,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PorConvenio {
    convenio: String,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PorOperacion {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Registros {
    convenio: String,
    tipo: String,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct Cupo {
    pub convenio: String,
    /// `consultas` (the agreement's `[limits]`) or `lotes` (`[limits.lotes]`).
    pub budget: &'static str,
}

/// Groups of 1 to 256 reads.
pub(super) fn group_sizes() -> Histogram {
    Histogram::new(exponential_buckets(1.0, 2.0, 9))
}

fn latency() -> Histogram {
    // 0.5 ms to about 16 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The broker's instruments. Each is shared (cheap clones of one counter) with the registry a
/// scrape builds.
pub struct BrokerMetrics {
    requests: Family<Answered, Counter>,
    personas: Family<PorConvenio, Counter>,
    duration: Family<PorOperacion, Histogram, fn() -> Histogram>,
    pub(super) pool_wait: Histogram,
    registros: Family<Registros, Counter>,
    pub(super) lotes_en_curso: Gauge,
}

impl Default for BrokerMetrics {
    fn default() -> Self {
        BrokerMetrics {
            requests: Family::default(),
            personas: Family::default(),
            duration: Family::new_with_constructor(latency),
            pool_wait: latency(),
            registros: Family::default(),
            lotes_en_curso: Gauge::default(),
        }
    }
}

impl BrokerMetrics {
    /// One request answered or refused: its outcome `code` (`OK`, or the error code the audit
    /// record keeps), the persons it took of its agreement's budget, and how long it took.
    pub fn answered(
        &self,
        convenio: Option<&str>,
        operation: &'static str,
        transport: &'static str,
        code: &str,
        personas: u64,
        elapsed: Duration,
    ) {
        let convenio = convenio.unwrap_or_default().to_owned();
        self.requests
            .get_or_create(&Answered {
                convenio: convenio.clone(),
                operation,
                transport,
                code: code.to_owned(),
            })
            .inc();
        if personas > 0 && !convenio.is_empty() {
            self.personas
                .get_or_create(&PorConvenio {
                    convenio,
                    operation,
                })
                .inc_by(personas);
        }
        self.duration
            .get_or_create(&PorOperacion { operation })
            .observe(elapsed.as_secs_f64());
    }

    /// A provider's batch (lote) finished: the records it read, applied and rejected.
    pub fn lote(&self, convenio: &str, tipo: &str, leidos: u64, aplicados: u64, rechazados: u64) {
        for (result, n) in [
            ("read", leidos),
            ("applied", aplicados),
            ("rejected", rechazados),
        ] {
            self.registros
                .get_or_create(&Registros {
                    convenio: convenio.to_owned(),
                    tipo: tipo.to_owned(),
                    result,
                })
                .inc_by(n);
        }
    }

    pub(super) fn register(&self, registry: &mut Registry) {
        registry.register(
            "siis_requests",
            "Requests answered or refused, by agreement (empty: none identified), operation, transport and outcome code",
            self.requests.clone(),
        );
        registry.register(
            "siis_personas",
            "Persons requests took of their agreement's budget (the unit of accounting: a batch of 500 RUNs is 500)",
            self.personas.clone(),
        );
        registry.register_with_unit(
            "siis_request_duration",
            "Time from a request's arrival at the broker to its audited answer",
            Unit::Seconds,
            self.duration.clone(),
        );
        registry.register_with_unit(
            "siis_pool_wait",
            "Time a registry read or write waited for a permit and a pooled connection",
            Unit::Seconds,
            self.pool_wait.clone(),
        );
        registry.register(
            "siis_lote_records",
            "Records of providers' batches (lotes), by agreement, kind and result (read, applied, rejected)",
            self.registros.clone(),
        );
        registry.register(
            "siis_lotes_in_progress",
            "Providers' batches being received or applied now",
            self.lotes_en_curso.clone(),
        );
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PorReplica {
    /// `host:port/database`, without credentials.
    replica: String,
}

/// Each streaming replica's state at its last measure ([`crate::db::replicas`]): whether it
/// serves lookups, and how far behind the primary it was (absent when unknown).
pub(super) fn register_replicas(
    registry: &mut Registry,
    states: &[crate::db::replicas::ReplicaState],
) {
    if states.is_empty() {
        return;
    }
    let usable: Family<PorReplica, Gauge> = Family::default();
    let lag: Family<PorReplica, Gauge<f64, std::sync::atomic::AtomicU64>> = Family::default();
    for state in states {
        let label = PorReplica {
            replica: state.name.clone(),
        };
        usable.get_or_create(&label).set(i64::from(state.usable));
        if let Some(behind) = state.lag {
            lag.get_or_create(&label).set(behind.as_secs_f64());
        }
    }
    registry.register(
        "siis_replica_usable",
        "Whether each streaming replica serves lookups (1) or is out of reads (0)",
        usable,
    );
    registry.register_with_unit(
        "siis_replica_lag",
        "How far behind the primary each streaming replica was at its last measure",
        Unit::Seconds,
        lag,
    );
}

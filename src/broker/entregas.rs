//! What `/metrics` shows of push delivery (`ops::suscripciones::envios`): attempts by outcome, the latency from an event's
//! commit to the receiver's 2xx, and the age of the oldest event not yet delivered. Labels
//! carry outcomes only: never an agreement's callback URL, a person or a key.

use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Intento {
    /// `entregada`, `reintentar`, `rechazada`, `muerta`, `revocada`, `aplazada` (the node's own
    /// limits or database: tried later, never a dead letter).
    resultado: &'static str,
}

/// The delivery worker's instruments (cheap clones of one counter each).
pub struct PushMetrics {
    intentos: Family<Intento, Counter>,
    latencia: Histogram,
    /// Seconds since the oldest event not yet delivered (pendiente or en_curso) was recorded;
    /// 0 when none waits.
    pendiente: Gauge<i64, AtomicI64>,
    en_vuelo: Gauge<i64, AtomicI64>,
}

impl Default for PushMetrics {
    fn default() -> Self {
        PushMetrics {
            intentos: Family::default(),
            // 1 ms to about 65 s.
            latencia: Histogram::new(exponential_buckets(0.001, 2.0, 17)),
            pendiente: Gauge::default(),
            en_vuelo: Gauge::default(),
        }
    }
}

impl PushMetrics {
    pub fn intento(&self, resultado: &'static str) {
        self.intentos.get_or_create(&Intento { resultado }).inc();
    }

    /// A delivery the receiver acknowledged `segundos` after its event was recorded.
    pub fn entregada(&self, segundos: f64) {
        self.latencia.observe(segundos.max(0.0));
    }

    pub fn pendiente_desde(&self, segundos: i64) {
        self.pendiente.set(segundos.max(0));
    }

    pub fn en_vuelo(&self, n: usize) {
        self.en_vuelo.set(i64::try_from(n).unwrap_or(i64::MAX));
    }

    pub fn en_vuelo_ahora(&self) -> i64 {
        self.en_vuelo.get()
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "siis_entrega_intentos",
            "Push delivery attempts by outcome",
            self.intentos.clone(),
        );
        registry.register_with_unit(
            "siis_entrega_latencia",
            "From an event's commit to the receiver's 2xx, per push delivery",
            Unit::Seconds,
            self.latencia.clone(),
        );
        registry.register_with_unit(
            "siis_entrega_pendiente_antiguedad",
            "Age of the oldest event a push subscription has not yet received (0: none waits)",
            Unit::Seconds,
            self.pendiente.clone(),
        );
        registry.register(
            "siis_entregas_en_vuelo",
            "Push calls in flight",
            self.en_vuelo.clone(),
        );
    }
}

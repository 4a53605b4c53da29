//! What `/metrics` shows of retention (`ops::retencion`): rows purged by table, and when the
//! last purge ended. Labels name tables only, never a subscription, agreement or person.

use std::sync::atomic::AtomicI64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Tabla {
    /// `entregas`, `eventos` or `dci_resultado` (answers dropped, rows kept).
    tabla: &'static str,
}

/// The purge's instruments.
#[derive(Default)]
pub struct RetencionMetrics {
    purgadas: Family<Tabla, Counter>,
    /// Unix time (seconds) at which the last complete purge ended; 0 before the first.
    ultima: Gauge<i64, AtomicI64>,
}

impl RetencionMetrics {
    pub fn purgadas(&self, tabla: &'static str, n: u64) {
        self.purgadas.get_or_create(&Tabla { tabla }).inc_by(n);
    }

    pub fn purgadas_de(&self, tabla: &'static str) -> u64 {
        self.purgadas.get_or_create(&Tabla { tabla }).get()
    }

    pub fn terminada(&self, unix_secs: i64) {
        self.ultima.set(unix_secs);
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "siis_retencion_purgadas",
            "Rows the retention purge deleted (dci_resultado: kept DCI answers dropped)",
            self.purgadas.clone(),
        );
        registry.register_with_unit(
            "siis_retencion_ultima_purga",
            "Unix time at which the last complete retention purge ended (0: none yet)",
            Unit::Seconds,
            self.ultima.clone(),
        );
    }
}

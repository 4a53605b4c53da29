//! Agreements (convenios): loading, validation and lookup by client identity.
//!
//! One TOML file per agreement in `convenios/` (the format is documented in
//! `convenios/README.md`). [`ConvenioSet::load_dir`] reads them all and either returns a valid
//! set or every problem it found, each with its file and line; there is no partial set.

mod file;
mod issues;
pub mod nuevo;
mod pin;
mod set;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::num::NonZeroU32;
use std::path::PathBuf;

use chrono::NaiveDate;

use crate::catalog::Operation;
use crate::domain::{Ambito, ConvenioId, Cut};
use crate::tls::ClientIdentity;

use crate::projection::FieldSet;
pub use issues::{ConvenioErrors, ConvenioIssue};
pub use set::ConvenioSet;

/// One data-exchange agreement, as loaded and validated from its file.
#[derive(Debug, Clone)]
pub struct Convenio {
    pub id: ConvenioId,
    pub agency: String,
    pub legal_basis: String,
    pub purpose: String,
    pub valid_from: NaiveDate,
    /// Inclusive: the agreement is still in force on this day.
    pub valid_until: NaiveDate,
    /// The client certificates that act under this agreement (at least one).
    pub clients: Vec<ClientMatch>,
    /// The operations granted, each with the fields it may disclose (at least one).
    pub grants: BTreeMap<Operation, Grant>,
    /// Persons per second and at once, across every operation and transport.
    pub rate: RateLimit,
    /// Persons per calendar day (at least 1).
    pub daily_quota: u64,
    /// A provider's own budget for the records of its batches (`[limits.lotes]`), when it sets
    /// one; otherwise batches draw on `rate` and `daily_quota` too.
    pub lotes: Option<Budget>,
    /// Only persons and records of this territory may be consulted: a municipality's comuna, a
    /// Gobernación's province, an Intendencia's region. `None`: national.
    pub ambito: Option<Ambito>,
    /// The agreement for persons (`personas = true`): no certificate acts under it; a person
    /// signed in to the console reads about themself under it, and only about themself.
    pub personas: bool,
    /// The file this agreement was read from.
    pub file: PathBuf,
}

/// Which certificates act under an agreement: every criterion given must match, and the loader
/// guarantees that a subject CN or an SPKI pin is given (a CA alone would admit every
/// certificate it issues).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMatch {
    pub subject_cn: Option<String>,
    pub spki_sha256: Option<[u8; 32]>,
    /// The SPKI pin of the CA of `tls.dir/ca.pem` the certificate's chain must lead to.
    pub ca_spki_sha256: Option<[u8; 32]>,
}

/// What an agreement grants for one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The field paths that may be disclosed (never empty).
    pub fields: FieldSet,
    /// Only for `ConsultarElegibilidad`, where it is required: the programs that may be asked
    /// about. `None` for every other operation.
    pub programas: Option<BTreeSet<String>>,
    /// Only for `RecepcionLotes`, where it is required: the feed kinds the provider may send.
    pub tipos: Option<BTreeSet<crate::catalog::TipoLote>>,
    /// Only for `Suscripciones`, where it is required: the event kinds
    /// ([`crate::catalog::TIPOS_EVENTO`]) the agreement may subscribe to.
    pub eventos: Option<BTreeSet<String>>,
    /// Only for `Suscripciones`, where it is required: push and/or pull.
    pub entrega: Option<BTreeSet<crate::catalog::Entrega>>,
    /// Only for `Suscripciones`: the only URLs (https) the node may send this agreement's
    /// events to; required when `entrega` has push.
    pub callbacks: Option<Vec<url::Url>>,
    /// Only for `Suscripciones`: the most RUNs one subscription's list may name (0, the
    /// default: subscriptions without a list only).
    pub max_runs: Option<u32>,
    /// A module operation's lists, by the keys its contract declares
    /// ([`crate::catalog::DefLista`]): `sectores = ["educacion"]`. Empty for the core's.
    pub listas: BTreeMap<&'static str, BTreeSet<String>>,
}

/// A token bucket: `per_second` sustained, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: NonZeroU32,
    pub burst: NonZeroU32,
}

/// A rate and a daily quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub rate: RateLimit,
    pub daily_quota: u64,
}

impl Convenio {
    /// Whether `today` lies within `valid_from..=valid_until`.
    pub fn is_in_force(&self, today: NaiveDate) -> bool {
        (self.valid_from..=self.valid_until).contains(&today)
    }

    /// What this agreement grants for `op`, if anything.
    pub fn grant(&self, op: Operation) -> Option<&Grant> {
        self.grants.get(&op)
    }

    /// Whether the comuna `cut` lies within this agreement's scope (always, for an agreement
    /// without one).
    pub fn en_ambito(&self, cut: &str) -> bool {
        self.ambito.as_ref().is_none_or(|a| a.contiene(cut))
    }

    /// The comuna of a comuna-scoped agreement (a municipality's).
    pub fn comuna(&self) -> Option<&Cut> {
        self.ambito.as_ref().and_then(Ambito::comuna)
    }

    /// The digits every comuna code of this agreement's scope starts with (`cut LIKE 'p%'` in
    /// SQL; digits only), or `None` for an agreement without a scope.
    pub fn ambito_prefijo(&self) -> Option<&str> {
        self.ambito.as_ref().map(Ambito::prefijo)
    }

    /// Whether any of this agreement's client entries matches the certificate.
    pub fn matches(&self, identity: &ClientIdentity) -> bool {
        self.clients.iter().any(|c| c.matches(identity))
    }
}

impl ClientMatch {
    /// True when every given criterion matches; an entry with neither a subject CN nor an SPKI
    /// pin matches nothing.
    pub fn matches(&self, identity: &ClientIdentity) -> bool {
        let cn = self
            .subject_cn
            .as_deref()
            .map(|cn| identity.subject_cn.as_deref() == Some(cn));
        let pin = self.spki_sha256.map(|pin| identity.spki_sha256 == pin);
        let ca = self
            .ca_spki_sha256
            .map(|pin| identity.ca_spki_sha256 == Some(pin));
        match (cn, pin) {
            (None, None) => false,
            (cn, pin) => cn.unwrap_or(true) && pin.unwrap_or(true) && ca.unwrap_or(true),
        }
    }

    /// Whether the entry names a certificate by its subject CN alone: any CA of `ca.pem` can
    /// issue a certificate with that name.
    pub fn by_name_alone(&self) -> bool {
        self.subject_cn.is_some() && self.spki_sha256.is_none() && self.ca_spki_sha256.is_none()
    }
}

impl Grant {
    /// A grant of `fields` and nothing else (the lists other operations need are `None`).
    pub fn de_campos(fields: FieldSet) -> Grant {
        Grant {
            fields,
            programas: None,
            tipos: None,
            eventos: None,
            entrega: None,
            callbacks: None,
            max_runs: None,
            listas: BTreeMap::new(),
        }
    }

    /// A module operation's list `clave`, when the grant gives it.
    pub fn lista(&self, clave: &str) -> Option<&BTreeSet<String>> {
        self.listas.get(clave)
    }

    /// Whether the grant's list `clave` holds `valor` (false when it gives no such list).
    pub fn permite_lista(&self, clave: &str, valor: &str) -> bool {
        self.lista(clave).is_some_and(|l| l.contains(valor))
    }

    /// Whether this grant lets a subscription hear about events of `tipo`.
    pub fn allows_evento(&self, tipo: &str) -> bool {
        self.eventos.as_ref().is_some_and(|t| t.contains(tipo))
    }

    /// Whether this grant allows subscriptions delivered by `entrega`.
    pub fn allows_entrega(&self, entrega: crate::catalog::Entrega) -> bool {
        self.entrega.as_ref().is_some_and(|e| e.contains(&entrega))
    }

    /// Whether this grant lets a provider send batches of `tipo`.
    pub fn allows_tipo(&self, tipo: crate::catalog::TipoLote) -> bool {
        self.tipos.as_ref().is_some_and(|t| t.contains(&tipo))
    }

    /// Whether this grant covers `programa` (always true when no list restricts it).
    pub fn allows_programa(&self, programa: &str) -> bool {
        self.programas
            .as_ref()
            .is_some_and(|list| list.contains(programa))
    }
}

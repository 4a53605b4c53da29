//! The lists of a grant of `Suscripciones`: the event kinds (`eventos`), how they may be
//! delivered (`entrega`), where push may send them (`callbacks`) and the longest RUN list
//! (`max_runs`). No other operation takes any of them.

use std::collections::BTreeSet;

use toml::Spanned;

use super::{Checker, RawGrant};
use crate::catalog::{Entrega, Operation, TIPOS_EVENTO};

/// What [`Checker::suscripcion`] read (all `None` for another operation).
#[derive(Default)]
pub(super) struct Suscripcion {
    pub eventos: Option<BTreeSet<String>>,
    pub entrega: Option<BTreeSet<Entrega>>,
    pub callbacks: Option<Vec<url::Url>>,
    pub max_runs: Option<u32>,
}

impl Checker<'_> {
    pub(super) fn suscripcion(
        &mut self,
        op: Operation,
        name: &Spanned<String>,
        grant: &RawGrant,
    ) -> Suscripcion {
        if op != Operation::Suscripciones {
            let stray = [
                ("eventos", grant.eventos.as_ref().map(Spanned::span)),
                ("entrega", grant.entrega.as_ref().map(Spanned::span)),
                ("callbacks", grant.callbacks.as_ref().map(Spanned::span)),
                ("max_runs", grant.max_runs.as_ref().map(Spanned::span)),
            ];
            for (key, span) in stray {
                if let Some(span) = span {
                    let at = Spanned::new(span, ());
                    self.issue(
                        &at,
                        format!(
                            "{key} applies only to {}, not to {op}",
                            Operation::Suscripciones
                        ),
                    );
                }
            }
            return Suscripcion::default();
        }
        let eventos = self.lista(op, name, "eventos", grant.eventos.as_ref(), &TIPOS_EVENTO);
        let modos = Entrega::ALL.map(Entrega::as_str);
        let entrega = self
            .lista(op, name, "entrega", grant.entrega.as_ref(), &modos)
            .map(|set| set.iter().filter_map(|e| Entrega::parse(e)).collect());
        let push = entrega
            .as_ref()
            .is_some_and(|e: &BTreeSet<Entrega>| e.contains(&Entrega::Push));
        let callbacks = match (&grant.callbacks, push) {
            (None, true) => {
                self.issue(
                    name,
                    "entrega has push: list the callbacks (https URLs) the node may send this agreement's events to",
                );
                None
            }
            (None, false) => None,
            (Some(raw), _) => Some(self.callbacks(raw)),
        };
        Suscripcion {
            eventos,
            entrega,
            callbacks,
            max_runs: grant.max_runs.as_ref().map(|m| *m.get_ref()),
        }
    }

    /// A required, non-empty list of names each one of `validos`, none twice.
    fn lista(
        &mut self,
        op: Operation,
        name: &Spanned<String>,
        key: &str,
        raw: Option<&Spanned<Vec<Spanned<String>>>>,
        validos: &[&str],
    ) -> Option<BTreeSet<String>> {
        let Some(raw) = raw else {
            self.issue(
                name,
                format!(
                    "{op} must list its {key} (nothing is granted by default): one or more of {}",
                    validos.join(", ")
                ),
            );
            return None;
        };
        if raw.get_ref().is_empty() {
            self.issue(
                raw,
                format!("{key} is empty: one or more of {}", validos.join(", ")),
            );
        }
        let mut set = BTreeSet::new();
        for item in raw.get_ref() {
            let text = item.get_ref();
            if !validos.contains(&text.as_str()) {
                self.issue(
                    item,
                    format!("unknown {key} {text:?}; one of {}", validos.join(", ")),
                );
            } else if !set.insert(text.clone()) {
                self.issue(item, format!("{key} {text:?} is listed twice"));
            }
        }
        Some(set)
    }

    /// Each callback an absolute https URL without credentials or fragment.
    fn callbacks(&mut self, raw: &Spanned<Vec<Spanned<String>>>) -> Vec<url::Url> {
        if raw.get_ref().is_empty() {
            self.issue(raw, "callbacks is empty: list https URLs, or remove it");
        }
        let mut urls = Vec::new();
        for item in raw.get_ref() {
            match url::Url::parse(item.get_ref()) {
                Err(e) => self.issue(item, format!("callback {:?}: {e}", item.get_ref())),
                Ok(u) if u.scheme() != "https" => self.issue(
                    item,
                    format!(
                        "callback {:?} is not https: events travel over TLS only",
                        item.get_ref()
                    ),
                ),
                Ok(u) if !u.username().is_empty() || u.password().is_some() => self.issue(
                    item,
                    format!(
                        "callback {:?} carries credentials: the node authenticates with its certificate",
                        item.get_ref()
                    ),
                ),
                Ok(u) if u.fragment().is_some() || u.host_str().is_none() => {
                    self.issue(item, format!("callback {:?} needs a host and no fragment", item.get_ref()))
                }
                Ok(u) if urls.contains(&u) => {
                    self.issue(item, format!("callback {:?} is listed twice", item.get_ref()))
                }
                Ok(u) => urls.push(u),
            }
        }
        urls
    }
}

//! Projection: the typed response loses every field its agreement does not grant, before any
//! transport encodes it. SOAP and REST therefore cannot disclose different things.

use crate::agreements::FieldSet;

/// A response that can be cut down to the granted field paths.
pub trait Project {
    /// Clears every field whose path (below `prefix`) is not in `grant`.
    fn project(&mut self, grant: &FieldSet);
}

/// Keeps `slot` only if `path` is granted.
pub fn keep<T>(slot: &mut Option<T>, grant: &FieldSet, path: &str) {
    if !grant.contains(path) {
        *slot = None;
    }
}

/// True if any granted path starts with `prefix` (e.g. `integrantes.`).
pub fn any_below(grant: &FieldSet, prefix: &str) -> bool {
    grant.iter().any(|p| p.starts_with(prefix))
}

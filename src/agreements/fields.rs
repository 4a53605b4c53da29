//! The set of response fields an agreement lets one operation disclose.

use std::collections::BTreeSet;

use crate::catalog::Operation;

/// A set of field paths taken from the operation catalogue (`src/catalog.rs`), such as
/// `"run"` or `"integrantes.nombres"`. Iterates in a stable (sorted) order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FieldSet(BTreeSet<&'static str>);

impl FieldSet {
    pub fn new(paths: impl IntoIterator<Item = &'static str>) -> FieldSet {
        FieldSet(paths.into_iter().collect())
    }

    /// Every field `op` can disclose.
    pub fn all(op: Operation) -> FieldSet {
        FieldSet::new(op.fields().iter().copied())
    }

    pub fn contains(&self, path: &str) -> bool {
        self.0.contains(path)
    }

    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().copied()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_holds_exactly_the_catalogue_fields() {
        for op in Operation::ALL {
            let all = FieldSet::all(op);
            assert_eq!(all.len(), op.fields().len(), "{op}");
            assert!(op.fields().iter().all(|f| all.contains(f)), "{op}");
            assert!(all.iter().all(|f| op.fields().contains(&f)), "{op}");
        }
        assert!(!FieldSet::all(Operation::ValidarIdentidad).contains("integrantes.run"));
    }

    #[test]
    fn new_keeps_each_path_once() {
        let set = FieldSet::new(["run", "puntaje", "run"]);
        assert_eq!(set.iter().collect::<Vec<_>>(), ["puntaje", "run"]);
        assert!(set.contains("run") && !set.contains("folio"));
        assert!(FieldSet::default().is_empty());
    }
}

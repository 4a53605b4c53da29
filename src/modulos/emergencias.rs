//! The operations of the module `emergencias` (contract: `crate::catalog::modulos::emergencias`).

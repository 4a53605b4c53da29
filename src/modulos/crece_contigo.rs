//! The operations of the module `crece_contigo` (contract: `crate::catalog::modulos::crece_contigo`).

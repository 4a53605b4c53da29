//! The operations of the module `chile_solidario` (contract: `crate::catalog::modulos::chile_solidario`).

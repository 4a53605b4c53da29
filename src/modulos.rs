//! The programs built on the registry (the seed's "módulos de la plataforma"), each a folder of
//! operations, storage and rules that plugs into the same broker as the core: its agreements'
//! grants, projection, scope, limits and audit. A module has two halves: its contract in
//! `crate::catalog::modulos` (what agreements can grant: operation names, answer fields, scope,
//! lists) and its operations here (`Op` impls run by `ops::run`, its store, its rules).
//! README "Adding a module" lists every place one touches.

pub mod chile_solidario;
pub mod crece_contigo;
pub mod emergencias;

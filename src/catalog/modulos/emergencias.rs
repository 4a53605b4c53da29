//! The emergency registry: affected households and the aid they receive. What agreements can grant of it.

use super::Contrato;

pub const CONTRATO: Contrato = Contrato {
    nombre: "emergencias",
    operaciones: &[],
};

//! Chile Solidario: a family's participation (Puente, Vínculos). What agreements can grant of it.

use super::Contrato;

pub const CONTRATO: Contrato = Contrato {
    nombre: "chile_solidario",
    operaciones: &[],
};

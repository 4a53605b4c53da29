//! Chile Crece Contigo: a child's follow-up from gestation. What agreements can grant of it.

use super::Contrato;

pub const CONTRATO: Contrato = Contrato {
    nombre: "crece_contigo",
    operaciones: &[],
};

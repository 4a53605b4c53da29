//! The programs built on the registry as modules (Chile Solidario, Chile Crece Contigo, the
//! emergency registry): what each lets an agreement grant. A module's contract lives here, below
//! `convenios` and `broker`, so agreements can name its operations and fields; its operations
//! live in `crate::modulos`, above `ops`. Adding a module adds one line to [`MODULOS`].

pub mod chile_solidario;
pub mod crece_contigo;
pub mod emergencias;

use super::Rol;

/// What a module lets an agreement grant.
#[derive(Debug)]
pub struct Contrato {
    /// The module's name (its folder under `src/modulos/`).
    pub nombre: &'static str,
    pub operaciones: &'static [DefOperacion],
}

/// One operation of a module, as agreements grant it.
#[derive(Debug)]
pub struct DefOperacion {
    /// The name agreements grant it by (`[operations.NAME]`), unique across the catalogue.
    pub nombre: &'static str,
    /// Every field path its answer can carry (`<Answer as Campos>::campos`).
    pub campos: fn() -> &'static [&'static str],
    /// The scope an agreement granting it must (or must not) have.
    pub ambito: ExigeAmbito,
    /// The console roles that may use it, of the operations their agreement grants.
    pub roles: &'static [Rol],
    /// The lists its grant may carry besides `fields` (`sectores = ["educacion"]`).
    pub listas: &'static [DefLista],
    /// Whether it only reads what feeds write, so a streaming replica may answer it.
    pub replica: bool,
}

/// A list a grant of a module's operation carries: its key and the values it may hold.
#[derive(Debug)]
pub struct DefLista {
    pub clave: &'static str,
    pub valores: &'static [&'static str],
    /// Whether the grant must give it (nothing is granted by default).
    pub requerida: bool,
}

/// The scope an agreement granting an operation must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExigeAmbito {
    /// Any, or none.
    Libre,
    /// A comuna, a province or a region: the operation works records of a territory.
    Alguno,
    /// One comuna: the work of a municipality.
    Comuna,
    /// None: what it shows is national (an access report, declaring an emergency).
    Nacional,
}

/// Every module, one line each.
pub const MODULOS: &[&Contrato] = &[
    &chile_solidario::CONTRATO,
    &crece_contigo::CONTRATO,
    &emergencias::CONTRATO,
];

/// The module operation granted as `nombre`, if any.
pub fn definicion(nombre: &str) -> Option<&'static DefOperacion> {
    MODULOS
        .iter()
        .flat_map(|m| m.operaciones)
        .find(|d| d.nombre == nombre)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two modules (or a module and the core) granting one name would make an agreement's grant
    /// ambiguous.
    #[test]
    fn every_operation_name_is_unique() {
        let mut names: Vec<&str> = super::super::Operation::ALL
            .iter()
            .map(|op| op.name())
            .chain(MODULOS.iter().flat_map(|m| m.operaciones).map(|d| d.nombre))
            .collect();
        let total = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), total, "an operation name is used twice");
        for def in MODULOS.iter().flat_map(|m| m.operaciones) {
            assert!(!(def.campos)().is_empty(), "{} has no fields", def.nombre);
            for lista in def.listas {
                assert!(
                    !lista.valores.is_empty(),
                    "{}.{} is empty",
                    def.nombre,
                    lista.clave
                );
            }
        }
    }
}

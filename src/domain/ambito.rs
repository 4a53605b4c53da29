//! An agreement's scope: the territory whose persons and records it may see. A municipality's is
//! its comuna, a Gobernación's its province, an Intendencia's its region. Codes nest (a comuna's
//! CUT starts with its province's code, which starts with its region's), so "is this comuna in
//! scope" is a prefix test, in Rust and in SQL alike.

use std::fmt;

use super::cut::{Cut, CutError, provincias, regiones};

/// A territory of the catalogue: one comuna, one province or one region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ambito {
    Comuna(Cut),
    /// A province's three-digit code, known to the catalogue.
    Provincia([u8; 3]),
    /// A region's two-digit code, known to the catalogue.
    Region([u8; 2]),
}

/// The level of a scope, as agreement files and answers name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nivel {
    Comuna,
    Provincia,
    Region,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmbitoError {
    #[error("{0}")]
    Comuna(CutError),
    #[error("a province code has three digits (RRP) and names a province of the catalogue")]
    Provincia,
    #[error("a region code has two digits (RR) and names a region of the catalogue")]
    Region,
}

impl Nivel {
    pub const TODOS: [Nivel; 3] = [Nivel::Comuna, Nivel::Provincia, Nivel::Region];

    pub fn as_str(self) -> &'static str {
        match self {
            Nivel::Comuna => "comuna",
            Nivel::Provincia => "provincia",
            Nivel::Region => "region",
        }
    }

    pub fn parse(text: &str) -> Option<Nivel> {
        Self::TODOS.into_iter().find(|n| n.as_str() == text)
    }

    /// The code of the territory of this level that the comuna `cut` lies in (`10401` is in
    /// province `104` and region `10`).
    pub fn codigo_de(self, cut: &str) -> &str {
        cut.get(..self.largo()).unwrap_or(cut)
    }

    /// How many digits a territory's code has at this level.
    pub fn largo(self) -> usize {
        match self {
            Nivel::Comuna => 5,
            Nivel::Provincia => 3,
            Nivel::Region => 2,
        }
    }
}

impl Ambito {
    /// A territory of `nivel` with `codigo`, checked against the catalogue.
    pub fn parse(nivel: Nivel, codigo: &str) -> Result<Ambito, AmbitoError> {
        let codigo = codigo.trim();
        match nivel {
            Nivel::Comuna => Cut::parse(codigo)
                .map(Ambito::Comuna)
                .map_err(AmbitoError::Comuna),
            Nivel::Provincia => provincias()
                .iter()
                .find(|p| p.codigo == codigo)
                .and_then(|p| p.codigo.as_bytes().try_into().ok())
                .map(Ambito::Provincia)
                .ok_or(AmbitoError::Provincia),
            Nivel::Region => regiones()
                .iter()
                .find(|r| r.codigo == codigo)
                .and_then(|r| r.codigo.as_bytes().try_into().ok())
                .map(Ambito::Region)
                .ok_or(AmbitoError::Region),
        }
    }

    pub fn nivel(&self) -> Nivel {
        match self {
            Ambito::Comuna(_) => Nivel::Comuna,
            Ambito::Provincia(_) => Nivel::Provincia,
            Ambito::Region(_) => Nivel::Region,
        }
    }

    /// Its code: the CUT, the province's or the region's. Every comuna within starts with it.
    pub fn prefijo(&self) -> &str {
        match self {
            Ambito::Comuna(cut) => cut.as_str(),
            // Only the catalogue's ASCII digits are ever stored.
            Ambito::Provincia(codigo) => std::str::from_utf8(codigo).unwrap_or("000"),
            Ambito::Region(codigo) => std::str::from_utf8(codigo).unwrap_or("00"),
        }
    }

    /// Whether the comuna `cut` lies within this territory.
    pub fn contiene(&self, cut: &str) -> bool {
        cut.len() == 5 && cut.starts_with(self.prefijo())
    }

    /// The comuna, when the scope is one.
    pub fn comuna(&self) -> Option<&Cut> {
        match self {
            Ambito::Comuna(cut) => Some(cut),
            _ => None,
        }
    }

    /// Its name in the catalogue (the comuna's, the province's or the region's).
    pub fn nombre(&self) -> &'static str {
        match self {
            Ambito::Comuna(cut) => &cut.comuna().nombre,
            Ambito::Provincia(_) => provincias()
                .iter()
                .find(|p| p.codigo == self.prefijo())
                .map_or("", |p| &p.nombre),
            Ambito::Region(_) => regiones()
                .iter()
                .find(|r| r.codigo == self.prefijo())
                .map_or("", |r| &r.nombre),
        }
    }
}

/// `comuna 13101`, `provincia 104`, `region 10`.
impl fmt::Display for Ambito {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.nivel().as_str(), self.prefijo())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::comunas;

    #[test]
    fn a_scope_holds_exactly_the_comunas_of_its_territory() {
        let palena = Ambito::parse(Nivel::Provincia, "104").unwrap();
        let los_lagos = Ambito::parse(Nivel::Region, "10").unwrap();
        let chaiten = Ambito::parse(Nivel::Comuna, "10401").unwrap();
        for c in comunas() {
            let cut = c.cut.as_str();
            assert_eq!(palena.contiene(cut), c.provincia == "104", "{cut}");
            assert_eq!(los_lagos.contiene(cut), c.region == "10", "{cut}");
            assert_eq!(chaiten.contiene(cut), cut == "10401", "{cut}");
        }
        let en_palena = comunas().iter().filter(|c| palena.contiene(c.cut.as_str()));
        assert_eq!(en_palena.count(), 4);
        assert_eq!(palena.nombre(), "PALENA");
        assert_eq!(los_lagos.to_string(), "region 10");
        assert_eq!(chaiten.comuna().map(Cut::as_str), Some("10401"));
        assert_eq!(los_lagos.comuna(), None);
        // Not a comuna code: nothing is within a scope but a five-digit code.
        assert!(!los_lagos.contiene("10"));
        assert!(!los_lagos.contiene(""));
    }

    #[test]
    fn unknown_codes_are_refused_at_each_level() {
        assert_eq!(Ambito::parse(Nivel::Region, "16"), Err(AmbitoError::Region));
        assert_eq!(Ambito::parse(Nivel::Region, "1"), Err(AmbitoError::Region));
        assert_eq!(
            Ambito::parse(Nivel::Provincia, "105"),
            Err(AmbitoError::Provincia)
        );
        assert_eq!(
            Ambito::parse(Nivel::Provincia, "10%"),
            Err(AmbitoError::Provincia)
        );
        assert_eq!(
            Ambito::parse(Nivel::Comuna, "99999"),
            Err(AmbitoError::Comuna(CutError::Unknown))
        );
        assert_eq!(Nivel::parse("provincia"), Some(Nivel::Provincia));
        assert_eq!(Nivel::parse("pais"), None);
        assert_eq!(Nivel::Provincia.codigo_de("10401"), "104");
        assert_eq!(Nivel::Region.codigo_de("10401"), "10");
    }
}

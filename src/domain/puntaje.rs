//! The FPS score (puntaje) and its quintiles.

use std::fmt;

/// An FPS score. Real scores run from about 2,072 to about 16,316.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Puntaje(u16);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PuntajeError {
    #[error(
        "an FPS score is a whole number between {} and {}",
        Puntaje::MIN,
        Puntaje::MAX
    )]
    OutOfRange,
}

/// The quintile a score falls in, by the FPS cut-points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Quintil {
    I = 1,
    II = 2,
    III = 3,
    IV = 4,
    V = 5,
}

impl Puntaje {
    pub const MIN: u16 = 0;
    pub const MAX: u16 = 20_000;

    pub fn parse(input: &str) -> Result<Puntaje, PuntajeError> {
        let value: i64 = input
            .trim()
            .replace('.', "")
            .parse()
            .map_err(|_| PuntajeError::OutOfRange)?;
        Self::new(value)
    }

    pub fn new(value: i64) -> Result<Puntaje, PuntajeError> {
        u16::try_from(value)
            .ok()
            .filter(|v| (Self::MIN..=Self::MAX).contains(v))
            .map(Puntaje)
            .ok_or(PuntajeError::OutOfRange)
    }

    pub fn value(self) -> u16 {
        self.0
    }

    /// I ≤ 8,500; II 8,501–11,734; III 11,735–13,484; IV 13,485–14,557; V ≥ 14,558.
    pub fn quintil(self) -> Quintil {
        match self.0 {
            ..=8_500 => Quintil::I,
            8_501..=11_734 => Quintil::II,
            11_735..=13_484 => Quintil::III,
            13_485..=14_557 => Quintil::IV,
            _ => Quintil::V,
        }
    }
}

impl fmt::Display for Puntaje {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Quintil {
    pub const ALL: [Quintil; 5] = [
        Quintil::I,
        Quintil::II,
        Quintil::III,
        Quintil::IV,
        Quintil::V,
    ];

    /// The inclusive score range of the quintile, within the valid score range.
    pub fn range(self) -> (u16, u16) {
        match self {
            Quintil::I => (Puntaje::MIN, 8_500),
            Quintil::II => (8_501, 11_734),
            Quintil::III => (11_735, 13_484),
            Quintil::IV => (13_485, 14_557),
            Quintil::V => (14_558, Puntaje::MAX),
        }
    }

    pub fn number(self) -> u8 {
        self as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cut_points_from_the_design() {
        let q = |v| Puntaje::new(v).unwrap().quintil();
        assert_eq!(q(2_072), Quintil::I);
        assert_eq!(q(8_500), Quintil::I);
        assert_eq!(q(8_501), Quintil::II);
        assert_eq!(q(11_734), Quintil::II);
        assert_eq!(q(11_735), Quintil::III);
        assert_eq!(q(13_484), Quintil::III);
        assert_eq!(q(13_485), Quintil::IV);
        assert_eq!(q(14_557), Quintil::IV);
        assert_eq!(q(14_558), Quintil::V);
        assert_eq!(q(16_316), Quintil::V);
    }

    #[test]
    fn rejects_out_of_range_and_non_numbers() {
        assert_eq!(Puntaje::new(-1), Err(PuntajeError::OutOfRange));
        assert_eq!(Puntaje::new(20_001), Err(PuntajeError::OutOfRange));
        assert_eq!(Puntaje::parse("ocho mil"), Err(PuntajeError::OutOfRange));
        assert_eq!(Puntaje::parse("8.500").map(Puntaje::value), Ok(8_500));
    }

    proptest! {
        #[test]
        fn quintile_is_monotonic_and_matches_its_range(a in 0i64..=20_000, b in 0i64..=20_000) {
            let (pa, pb) = (Puntaje::new(a).unwrap(), Puntaje::new(b).unwrap());
            if pa <= pb { prop_assert!(pa.quintil() <= pb.quintil()); }
            let (lo, hi) = pa.quintil().range();
            prop_assert!(lo <= pa.value() && pa.value() <= hi);
        }
    }
}

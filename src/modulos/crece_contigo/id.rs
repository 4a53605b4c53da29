//! The ids of follow-ups (`CCC-` and a random UUID) and referrals (`DER-…`): random, so that an
//! id reveals neither how many there are nor which exist.

use std::fmt;

macro_rules! id_prefijado {
    ($(#[$doc:meta])* $id:ident, $prefijo:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $id(uuid::Uuid);

        impl $id {
            pub fn new() -> $id {
                $id(uuid::Uuid::new_v4())
            }

            /// The form the node writes (the prefix and a hyphenated UUID); anything else is
            /// no id.
            pub fn parse(input: &str) -> Option<$id> {
                let uuid = input.strip_prefix($prefijo)?;
                if uuid.len() != 36 {
                    return None;
                }
                uuid::Uuid::try_parse(uuid).ok().map($id)
            }
        }

        impl Default for $id {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}{}", $prefijo, self.0.hyphenated())
            }
        }
    };
}

id_prefijado!(
    /// A follow-up's id.
    SeguimientoId,
    "CCC-"
);
id_prefijado!(
    /// A referral's id.
    DerivacionId,
    "DER-"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_other_forms_are_refused() {
        let s = SeguimientoId::new();
        assert_eq!(SeguimientoId::parse(&s.to_string()), Some(s));
        assert!(s.to_string().starts_with("CCC-"));
        let d = DerivacionId::new();
        assert_eq!(DerivacionId::parse(&d.to_string()), Some(d));
        for bad in ["", "CCC-", "CCC-x", &d.to_string(), &s.to_string()[4..]] {
            assert_eq!(SeguimientoId::parse(bad), None, "{bad}");
        }
    }
}

//! Identifiers of survey requests (solicitudes de encuestaje) and postulations: random UUIDs,
//! so that ids reveal neither how many there are nor which exist. One macro writes both.

use std::fmt;

macro_rules! id_aleatorio {
    ($(#[$doc:meta])* $id:ident, $error:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $id(uuid::Uuid);

        #[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
        #[error("a {} id is a UUID such as 0b5f6c1e-8d43-4a57-9a39-5d3c1f4e2a10", $what)]
        pub struct $error;

        impl $id {
            /// A fresh, random id.
            pub fn new() -> $id {
                $id(uuid::Uuid::new_v4())
            }

            /// Accepts the hyphenated form only (upper or lower case), as the node writes it.
            pub fn parse(input: &str) -> Result<$id, $error> {
                if input.len() != 36 {
                    return Err($error);
                }
                uuid::Uuid::try_parse(input).map($id).map_err(|_| $error)
            }
        }

        impl Default for $id {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $id {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0.hyphenated())
            }
        }
    };
}

id_aleatorio!(
    /// A survey request's id.
    EncuestajeId,
    EncuestajeIdError,
    "survey request"
);
id_aleatorio!(
    /// A postulation's id.
    PostulacionId,
    PostulacionIdError,
    "postulation"
);

id_aleatorio!(
    /// A subscription's id.
    SuscripcionId,
    SuscripcionIdError,
    "subscription"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_forms() {
        let id = EncuestajeId::new();
        assert_eq!(EncuestajeId::parse(&id.to_string()), Ok(id));
        assert_eq!(EncuestajeId::parse(&id.to_string().to_uppercase()), Ok(id));
        for bad in ["", "42", "not-a-uuid", &id.to_string().replace('-', "")] {
            assert_eq!(EncuestajeId::parse(bad), Err(EncuestajeIdError), "{bad}");
            assert_eq!(PostulacionId::parse(bad), Err(PostulacionIdError), "{bad}");
        }
        assert_ne!(EncuestajeId::new(), EncuestajeId::new());
        let p = PostulacionId::new();
        assert_eq!(PostulacionId::parse(&p.to_string()), Ok(p));
        assert!(
            PostulacionIdError
                .to_string()
                .starts_with("a postulation id")
        );
    }
}

//! The identifier of a survey request (solicitud de encuestaje): a random UUID, so that ids
//! reveal neither how many requests there are nor which exist.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EncuestajeId(uuid::Uuid);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a survey request id is a UUID such as 0b5f6c1e-8d43-4a57-9a39-5d3c1f4e2a10")]
pub struct EncuestajeIdError;

impl EncuestajeId {
    /// A fresh, random id.
    pub fn new() -> EncuestajeId {
        EncuestajeId(uuid::Uuid::new_v4())
    }

    /// Accepts the hyphenated form only (upper or lower case), as the node writes it.
    pub fn parse(input: &str) -> Result<EncuestajeId, EncuestajeIdError> {
        if input.len() != 36 {
            return Err(EncuestajeIdError);
        }
        uuid::Uuid::try_parse(input)
            .map(EncuestajeId)
            .map_err(|_| EncuestajeIdError)
    }
}

impl Default for EncuestajeId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EncuestajeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

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
        }
        assert_ne!(EncuestajeId::new(), EncuestajeId::new());
    }
}

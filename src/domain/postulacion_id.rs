//! The identifier of a postulation to a benefit: a random UUID, so that ids
//! reveal neither how many postulations there are nor which exist.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PostulacionId(uuid::Uuid);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a postulation id is a UUID such as 0b5f6c1e-8d43-4a57-9a39-5d3c1f4e2a10")]
pub struct PostulacionIdError;

impl PostulacionId {
    /// A fresh, random id.
    pub fn new() -> PostulacionId {
        PostulacionId(uuid::Uuid::new_v4())
    }

    /// Accepts the hyphenated form only (upper or lower case), as the node writes it.
    pub fn parse(input: &str) -> Result<PostulacionId, PostulacionIdError> {
        if input.len() != 36 {
            return Err(PostulacionIdError);
        }
        uuid::Uuid::try_parse(input)
            .map(PostulacionId)
            .map_err(|_| PostulacionIdError)
    }
}

impl Default for PostulacionId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for PostulacionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_other_forms() {
        let id = PostulacionId::new();
        assert_eq!(PostulacionId::parse(&id.to_string()), Ok(id));
        assert_eq!(PostulacionId::parse(&id.to_string().to_uppercase()), Ok(id));
        for bad in ["", "42", "not-a-uuid", &id.to_string().replace('-', "")] {
            assert_eq!(PostulacionId::parse(bad), Err(PostulacionIdError), "{bad}");
        }
        assert_ne!(PostulacionId::new(), PostulacionId::new());
    }
}

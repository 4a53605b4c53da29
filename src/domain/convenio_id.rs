//! The identifier of a data-exchange agreement (convenio), such as `minvu` or `muni-13101`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConvenioId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an agreement id is 1 to 64 characters of a-z, 0-9 and '-', starting with a letter")]
pub struct ConvenioIdError;

impl ConvenioId {
    pub fn parse(input: &str) -> Result<ConvenioId, ConvenioIdError> {
        let ok = (1..=64).contains(&input.len())
            && input.starts_with(|c: char| c.is_ascii_lowercase())
            && input
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(ConvenioId(input.to_owned()))
        } else {
            Err(ConvenioIdError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConvenioId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_shipped_shapes_and_nothing_else() {
        for ok in ["minvu", "ips", "muni-13101", "bbnn"] {
            assert_eq!(ConvenioId::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "MINVU",
            "13101",
            "muni_13101",
            "../etc",
            "a b",
            &"x".repeat(65),
        ] {
            assert_eq!(ConvenioId::parse(bad), Err(ConvenioIdError), "{bad}");
        }
    }
}

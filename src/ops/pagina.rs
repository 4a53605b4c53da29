//! A page of a listing (a municipality's queue, a person's access report), from what a
//! transport received: `pagina` from 1, `porPagina` from 1 to the listing's maximum.

use crate::error::{ApiError, ErrorCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagina {
    pub pagina: u32,
    pub por_pagina: u32,
}

impl Pagina {
    /// From the texts a transport received (absent = page 1 of `default` items); anything
    /// else than a whole number in range is `PAGINACION_INVALIDA`.
    pub fn parse(
        pagina: Option<&str>,
        por_pagina: Option<&str>,
        default: u32,
        max: u32,
    ) -> Result<Pagina, ApiError> {
        let number = |name: &str, text: Option<&str>, default: u32, max: u32| match text {
            None => Ok(default),
            Some(t) => t
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::PaginacionInvalida,
                        format!("{name} is a whole number from 1 to {max}"),
                    )
                }),
        };
        Ok(Pagina {
            pagina: number("pagina", pagina, 1, 1_000_000)?,
            por_pagina: number("porPagina", por_pagina, default, max)?,
        })
    }

    /// The items before this page.
    pub fn offset(self) -> u64 {
        u64::from(self.pagina - 1) * u64::from(self.por_pagina)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_are_checked() {
        assert_eq!(
            Pagina::parse(None, None, 20, 100).unwrap(),
            Pagina {
                pagina: 1,
                por_pagina: 20
            }
        );
        assert_eq!(
            Pagina::parse(Some("3"), Some("50"), 20, 100)
                .unwrap()
                .offset(),
            100
        );
        for (p, n) in [
            (Some("0"), None),
            (Some("x"), None),
            (None, Some("101")),
            (None, Some("-1")),
        ] {
            let e = Pagina::parse(p, n, 20, 100).unwrap_err();
            assert_eq!(e.code, ErrorCode::PaginacionInvalida);
        }
    }
}

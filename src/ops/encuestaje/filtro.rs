//! The filter and page of a municipality's queue, from what a transport received.

use super::errores;
use super::estado::Estado;
use crate::error::ApiError;
use crate::ops::pagina::Pagina;

/// Most requests on one page of a queue, and the default.
pub const MAX_POR_PAGINA: u32 = 100;
pub const POR_PAGINA: u32 = 20;

/// A queue filter: state (optional), page from 1, page size 1 to [`MAX_POR_PAGINA`].
#[derive(Debug, Clone, PartialEq)]
pub struct Filtro {
    pub estado: Option<Estado>,
    pub pagina: u32,
    pub por_pagina: u32,
}

impl Filtro {
    /// From the texts a transport received (absent = default).
    pub fn parse(
        estado: Option<&str>,
        pagina: Option<&str>,
        por_pagina: Option<&str>,
    ) -> Result<Filtro, ApiError> {
        let estado = match estado {
            None => None,
            Some(text) => Some(Estado::parse(text).ok_or_else(|| {
                errores::estado_desconocido(format!(
                    "estado is one of {}",
                    Estado::ALL.map(Estado::as_str).join(", ")
                ))
            })?),
        };
        let page = Pagina::parse(pagina, por_pagina, POR_PAGINA, MAX_POR_PAGINA)?;
        Ok(Filtro {
            estado,
            pagina: page.pagina,
            por_pagina: page.por_pagina,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_filters_are_checked() {
        assert_eq!(
            Filtro::parse(Some("pendiente"), None, None)
                .unwrap_err()
                .code,
            "ESTADO_DESCONOCIDO"
        );
        let f = Filtro::parse(None, None, None).unwrap();
        assert_eq!((f.estado, f.pagina, f.por_pagina), (None, 1, POR_PAGINA));
        let f = Filtro::parse(Some("visita_fallida"), Some("3"), Some("100")).unwrap();
        assert_eq!(
            (f.estado, f.pagina, f.por_pagina),
            (Some(Estado::VisitaFallida), 3, 100)
        );
        for (e, p, n) in [
            (None, Some("0"), None),
            (None, Some("-1"), None),
            (None, Some("uno"), None),
            (None, None, Some("0")),
            (None, None, Some("101")),
        ] {
            assert_eq!(
                Filtro::parse(e, p, n).unwrap_err().code,
                "PAGINACION_INVALIDA",
                "{e:?} {p:?} {n:?}"
            );
        }
    }
}

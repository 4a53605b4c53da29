//! The postulation form as the page posts it: the session's token, the applicant's RUN, the
//! program, and rows of causantes (RUN and kind) of which the empty ones are left out. Only
//! the form's shape is checked here; what a program takes (SUF's causantes, their kinds) is
//! the operation's rule and its refusal.

use crate::error::ApiError;
use crate::ops::postulacion::{CausanteEntrada, PedidoEntrada};

/// The fields the form may carry.
const CAMPOS: [&str; 5] = ["csrf", "run", "programa", "causante_run", "causante_tipo"];

/// Rows of causantes the page offers (the first [`FILAS_VISIBLES`] in view, the rest behind
/// "Más causantes"): as many as one postulation may name.
pub const FILAS: usize = crate::ops::postulacion::MAX_CAUSANTES;
pub const FILAS_VISIBLES: usize = 3;

/// The session's token the form carries, if it carries exactly one.
pub fn csrf(pares: &[(String, String)]) -> Option<&str> {
    let mut tokens = pares.iter().filter(|(k, _)| k == "csrf");
    match (tokens.next(), tokens.next()) {
        (Some((_, v)), None) => Some(v),
        _ => None,
    }
}

/// The postulation the form asks for. A field the form does not have, one missing or given
/// twice, or rows of RUNs and kinds that do not pair up are `SOLICITUD_INVALIDA`; a row whose
/// RUN is empty is no causante (its kind is ignored).
pub fn entrada(pares: &[(String, String)]) -> Result<PedidoEntrada, ApiError> {
    if let Some((k, _)) = pares.iter().find(|(k, _)| !CAMPOS.contains(&k.as_str())) {
        return Err(ApiError::solicitud_invalida(format!(
            "the form has no field {:?}",
            k.chars().take(20).collect::<String>()
        )));
    }
    let uno = |name: &str| -> Result<String, ApiError> {
        let mut values = pares.iter().filter(|(k, _)| k == name);
        match (values.next(), values.next()) {
            (Some((_, v)), None) => Ok(v.trim().to_owned()),
            _ => Err(ApiError::solicitud_invalida(format!(
                "the form carries one {name}"
            ))),
        }
    };
    let todos = |name: &str| -> Vec<&str> {
        pares
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect()
    };
    let (runs, tipos) = (todos("causante_run"), todos("causante_tipo"));
    if runs.len() != tipos.len() || runs.len() > FILAS {
        return Err(ApiError::solicitud_invalida(
            "each causante's row carries one RUN and one kind",
        ));
    }
    Ok(PedidoEntrada {
        run: uno("run")?,
        programa: uno("programa")?,
        causantes: runs
            .into_iter()
            .zip(tipos)
            .filter(|(run, _)| !run.is_empty())
            .map(|(run, tipo)| CausanteEntrada {
                run: run.to_owned(),
                tipo: tipo.to_owned(),
            })
            .collect(),
    })
}

/// The causante a refusal's detail names (`causantes[1].tipo`, `causantes[0]: ...`), counted
/// from 1 among those given: the detail names a causante by its index, never by RUN.
pub fn causante_nombrado(detail: &str) -> Option<usize> {
    let resto = detail.strip_prefix("causantes[")?;
    let (indice, _) = resto.split_once(']')?;
    indice.parse::<usize>().ok().map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn pares(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_form_becomes_the_request_and_empty_rows_are_no_causantes() {
        let form = pares(&[
            ("csrf", "t"),
            ("run", " 7.654.321-6 "),
            ("programa", "SUF"),
            ("causante_run", "15.509.661-6"),
            ("causante_tipo", "menor"),
            ("causante_run", ""),
            ("causante_tipo", "menor"),
            ("causante_run", "6-K"),
            ("causante_tipo", "gestante"),
        ]);
        assert_eq!(csrf(&form), Some("t"));
        let e = entrada(&form).unwrap();
        assert_eq!(
            (e.run.as_str(), e.programa.as_str()),
            ("7.654.321-6", "SUF")
        );
        let causantes: Vec<(&str, &str)> = e
            .causantes
            .iter()
            .map(|c| (c.run.as_str(), c.tipo.as_str()))
            .collect();
        assert_eq!(causantes, [("15.509.661-6", "menor"), ("6-K", "gestante")]);
        // SAP's form, its rows left empty: no causantes at all.
        let sap = pares(&[
            ("run", "6-K"),
            ("programa", "SAP"),
            ("causante_run", " "),
            ("causante_tipo", "menor"),
        ]);
        assert!(entrada(&sap).unwrap().causantes.is_empty());
    }

    #[test]
    fn a_form_of_another_shape_is_refused() {
        let base = [("run", "6-K"), ("programa", "SAP")];
        let cases: [Vec<(&str, &str)>; 5] = [
            vec![("programa", "SAP")],
            vec![("run", "6-K"), ("run", "14-0"), ("programa", "SAP")],
            [base.as_slice(), &[("comuna", "05101")]].concat(),
            [base.as_slice(), &[("causante_run", "14-0")]].concat(),
            [
                base.as_slice(),
                &[("causante_tipo", "menor"), ("causante_tipo", "madre")],
            ]
            .concat(),
        ];
        for case in cases {
            let e = entrada(&pares(&case)).unwrap_err();
            assert_eq!(e.code, ErrorCode::SolicitudInvalida, "{case:?}");
        }
        let demasiadas: Vec<(&str, &str)> = base
            .into_iter()
            .chain((0..=FILAS).flat_map(|_| [("causante_run", "14-0"), ("causante_tipo", "menor")]))
            .collect();
        assert!(entrada(&pares(&demasiadas)).is_err());
        assert_eq!(csrf(&pares(&[("csrf", "a"), ("csrf", "a")])), None);
        assert_eq!(csrf(&pares(&base)), None);
    }

    #[test]
    fn a_causante_is_named_by_its_place_never_by_its_run() {
        assert_eq!(
            causante_nombrado("causantes[1].tipo is one of menor"),
            Some(2)
        );
        assert_eq!(
            causante_nombrado("causantes[0]: the registry holds no person with that RUN"),
            Some(1)
        );
        assert_eq!(causante_nombrado("causantes: SUF names at least one"), None);
        assert_eq!(causante_nombrado("no postulation with that id"), None);
    }
}

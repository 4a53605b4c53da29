//! Projection: the typed response loses every field its agreement does not grant, before any
//! transport encodes it. SOAP and REST therefore cannot disclose different things.

use std::collections::BTreeSet;

use crate::agreements::FieldSet;

/// A response that can be cut down to the granted field paths.
pub trait Project {
    /// Clears every field whose path is not in `grant`.
    fn project(&mut self, grant: &FieldSet);

    /// The field paths this answer actually carries (for the audit log).
    fn disclosed(&self) -> BTreeSet<&'static str>;

    /// The persons whose data this answer carries, when narrower than those asked about (a
    /// batch discloses nothing about RUNs it did not find).
    fn subjects(&self) -> Option<Vec<crate::domain::Run>> {
        None
    }

    /// The outcome its audit record carries when the answer is sent but is not a plain `OK`
    /// (an identity comparison that did not match: `NO_COINCIDE`).
    fn audit_outcome(&self) -> Option<&'static str> {
        None
    }

    /// The HTTP status the answer is sent with, when not 200 (a verification of a folio the
    /// node never issued: 404): its audit record keeps the status actually sent.
    fn http_status(&self) -> u16 {
        200
    }

    /// Persons the request named that this answer disclosed nothing about, each with their own
    /// outcome (a batch's persons it found no ficha for, a feed's refused lines): the audit
    /// record names them too, so that each shows in that person's access report with what
    /// happened and no field.
    fn undisclosed(&self) -> Vec<(crate::domain::Run, &'static str)> {
        Vec::new()
    }
}

/// Adds `path` to `out` when `slot` holds a value.
pub fn note<T>(out: &mut BTreeSet<&'static str>, slot: &Option<T>, path: &'static str) {
    if slot.is_some() {
        out.insert(path);
    }
}

/// Keeps `slot` only if `path` is granted.
pub fn keep<T>(slot: &mut Option<T>, grant: &FieldSet, path: &str) {
    if !grant.contains(path) {
        *slot = None;
    }
}

/// True if any granted path starts with `prefix` (e.g. `integrantes.`).
pub fn any_below(grant: &FieldSet, prefix: &str) -> bool {
    grant.iter().any(|p| p.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::NaiveDate;
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::catalog::Operation;
    use crate::ops::accesos::{Acceso, Accesos};
    use crate::ops::elegibilidad::{DatosUsados, Elegibilidad};
    use crate::ops::ficha::{ComunaRef, FichaFps, IntegranteFicha};
    use crate::ops::identidad::{Coincidencias, ValidacionIdentidad};

    fn leaves(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(v, &path, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| leaves(v, prefix, out)),
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }

    /// Projects `value` onto a random grant and checks nothing outside it is encoded, and that
    /// every granted field the full answer carried is still there.
    fn check<T: Project + serde::Serialize + Clone>(
        mut value: T,
        grant: &[&'static str],
    ) -> Result<(), TestCaseError> {
        let full = serde_json::to_value(&value).unwrap();
        let grant_set = FieldSet::new(grant.iter().copied());
        value.project(&grant_set);
        let projected = serde_json::to_value(&value).unwrap();
        let (mut before, mut after) = (BTreeSet::new(), BTreeSet::new());
        leaves(&full, "", &mut before);
        leaves(&projected, "", &mut after);
        let granted: BTreeSet<String> = grant.iter().map(|s| s.to_string()).collect();
        prop_assert!(
            after.is_subset(&granted),
            "{after:?} not within {granted:?}"
        );
        let kept: BTreeSet<String> = before.intersection(&granted).cloned().collect();
        let reported: BTreeSet<String> = value.disclosed().iter().map(|s| s.to_string()).collect();
        prop_assert_eq!(
            &reported,
            &after,
            "the audit log records what was disclosed"
        );
        prop_assert_eq!(after, kept);
        Ok(())
    }

    fn opt<T: Clone + std::fmt::Debug + 'static>(v: T) -> impl Strategy<Value = Option<T>> {
        prop_oneof![Just(None), Just(Some(v))]
    }

    fn date() -> NaiveDate {
        NaiveDate::from_ymd_opt(1960, 5, 17).unwrap()
    }

    fn member() -> impl Strategy<Value = IntegranteFicha> {
        (
            opt("6-K".to_string()),
            opt("ANA".to_string()),
            opt("SOTO".to_string()),
            opt("PÉREZ".to_string()),
            opt(date()),
            opt("F".to_string()),
            opt("jefe".to_string()),
        )
            .prop_map(
                |(run, nombres, p, m, f, sexo, parentesco)| IntegranteFicha {
                    run,
                    nombres,
                    apellido_paterno: p,
                    apellido_materno: m,
                    fecha_nacimiento: f,
                    sexo,
                    parentesco,
                },
            )
    }

    fn ficha() -> impl Strategy<Value = FichaFps> {
        (
            (
                opt("6-K".to_string()),
                opt(1_000_001i64),
                opt(8_000u16),
                opt(1u8),
                opt(date()),
            ),
            (
                opt("13101".to_string()),
                opt("SANTIAGO".to_string()),
                any::<bool>(),
            ),
            (opt("vigente".to_string()), opt(false)),
            prop::option::of(prop::collection::vec(member(), 0..4)),
        )
            .prop_map(
                |(
                    (run, folio, puntaje, quintil, fecha),
                    (codigo, nombre, comuna),
                    (estado, fallecido),
                    integrantes,
                )| FichaFps {
                    run,
                    folio,
                    puntaje,
                    quintil,
                    fecha_aplicacion: fecha,
                    comuna: comuna.then_some(ComunaRef { codigo, nombre }),
                    estado,
                    fallecido,
                    integrantes,
                },
            )
    }

    fn subset(op: Operation) -> impl Strategy<Value = Vec<&'static str>> {
        let all = op.fields().to_vec();
        let n = all.len();
        prop::sample::subsequence(all, 0..=n)
    }

    proptest! {
        #[test]
        fn ficha_never_discloses_beyond_the_grant(value in ficha(), grant in subset(Operation::ConsultarFichaFPS)) {
            check(value, &grant)?;
        }

        #[test]
        fn identidad_never_discloses_beyond_the_grant(
            run in opt("6-K".to_string()), a in opt(true), b in opt(false), c in opt(true), d in opt(false), vivo in opt(true),
            grant in subset(Operation::ValidarIdentidad),
        ) {
            let value = ValidacionIdentidad {
                run,
                coincidencias: Some(Coincidencias { nombres: a, apellido_paterno: b, apellido_materno: c, fecha_nacimiento: d }),
                vivo,
            };
            check(value, &grant)?;
        }

        #[test]
        fn elegibilidad_never_discloses_beyond_the_grant(
            puntaje in opt(9_000u16), edad in opt(70u32), fallecido in opt(false), comuna in opt("05101".to_string()),
            grant in subset(Operation::ConsultarElegibilidad),
        ) {
            let value = Elegibilidad {
                run: Some("6-K".into()),
                programa: Some("PBS".into()),
                elegible: Some(true),
                regla: Some("PBS".into()),
                motivo: Some("Cumple".into()),
                datos: Some(DatosUsados { puntaje, quintil: Some(2), edad, fallecido, tiene_ficha: Some(true), comuna }),
            };
            check(value, &grant)?;
        }

        #[test]
        fn accesos_never_disclose_beyond_the_grant(n in 0usize..4, grant in subset(Operation::ConsultarAccesos)) {
            let acceso = Acceso {
                fecha: Some("2026-11-28T10:00:00Z".into()),
                convenio: Some("minvu".into()),
                institucion: Some("MINVU".into()),
                operacion: Some("ConsultarFichaFPS".into()),
                proposito: Some("Subsidios".into()),
                resultado: Some("OK".into()),
                campos: Some(vec!["puntaje".into()]),
            };
            check(Accesos { run: Some("6-K".into()), accesos: Some(vec![acceso; n]) }, &grant)?;
        }
    }
}

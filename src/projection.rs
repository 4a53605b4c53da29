//! Projection: the typed response loses every field its agreement does not grant, before any
//! transport encodes it. SOAP and REST therefore cannot disclose different things.
//!
//! An answer type declares its field names once, in its serde attributes; `#[derive(Campos)]`
//! (the `siis-derive` crate, `derive/`) reads them and gives [`Campos`]: the paths the catalogue
//! lists and agreements grant, the cut to a grant, the paths an answer carries for the audit
//! log, and the walk the SOAP encoder writes as XML.

use std::borrow::Cow;
use std::collections::BTreeSet;

pub use siis_derive::Campos;

/// A set of field paths taken from the operation catalogue (`src/catalog.rs`), such as
/// `"run"` or `"integrantes.nombres"`. Iterates in a stable (sorted) order.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct FieldSet(BTreeSet<&'static str>);

impl FieldSet {
    pub fn new(paths: impl IntoIterator<Item = &'static str>) -> FieldSet {
        FieldSet(paths.into_iter().collect())
    }

    pub fn contains(&self, path: &str) -> bool {
        self.0.contains(path)
    }

    pub fn iter(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().copied()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The fields of an answer type, as `#[derive(Campos)]` reads them from its serde attributes.
/// Paths are the JSON names, nested ones joined by `.` (`comuna.codigo`); the indices below are
/// positions in [`Campos::campos`], offset by `base` inside an enclosing type.
pub trait Campos {
    /// Every path this type can carry, in declaration order.
    fn campos() -> &'static [&'static str];

    /// The leaves tagged `#[campos(etiqueta = "…")]`, each with its tag.
    fn etiquetas() -> &'static [(&'static str, &'static str)];

    /// Clears every field whose index is not `concedido`.
    fn recortar(&mut self, base: usize, concedido: &dyn Fn(usize) -> bool);

    /// Calls `out` with the index of every field this value carries.
    fn revelados(&self, base: usize, out: &mut dyn FnMut(usize));

    /// Walks the value's fields in declaration order (the SOAP encoder's XML).
    fn escribir(&self, w: &mut dyn Escritor);
}

/// What [`Campos::escribir`] writes to: element names are the field names (or a list's
/// `elemento`), without a namespace prefix.
pub trait Escritor {
    fn abrir(&mut self, nombre: &str);
    fn cerrar(&mut self, nombre: &str);
    fn hoja(&mut self, nombre: &str, texto: &str);
    /// A RUN in its canonical text form (`12345678-5`).
    fn run(&mut self, nombre: &str, run: &str);
}

/// The text of a leaf value in XML (JSON has serde's).
pub trait Hoja {
    fn texto(&self) -> Cow<'_, str>;
}

impl Hoja for String {
    fn texto(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl Hoja for &'static str {
    fn texto(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

macro_rules! hoja_display {
    ($($t:ty),*) => {
        $(impl Hoja for $t {
            fn texto(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }
        })*
    };
}

hoja_display!(bool, u8, u16, u32, u64, i64, f64, chrono::NaiveDate);

/// An instant, to the second, in UTC (`2026-12-05T10:00:00Z`).
impl Hoja for chrono::DateTime<chrono::Utc> {
    fn texto(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    }
}

/// Bytes (a PDF), in base64.
impl Hoja for Vec<u8> {
    fn texto(&self) -> Cow<'_, str> {
        use base64::Engine;
        Cow::Owned(base64::engine::general_purpose::STANDARD.encode(self))
    }
}

/// `padre.hijo`, kept for the life of the process (the catalogue's paths are built once).
pub fn ruta(padre: &str, hijo: &str) -> &'static str {
    Box::leak(format!("{padre}.{hijo}").into_boxed_str())
}

/// Cuts `value` down to `grant` (every path not granted is cleared).
pub fn recortar<T: Campos>(value: &mut T, grant: &FieldSet) {
    let campos = T::campos();
    value.recortar(0, &|i| grant.contains(campos[i]));
}

/// The paths `value` carries.
pub fn revelados<T: Campos>(value: &T) -> BTreeSet<&'static str> {
    let campos = T::campos();
    let mut out = BTreeSet::new();
    value.revelados(0, &mut |i| {
        out.insert(campos[i]);
    });
    out
}

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
    use crate::ops::hogar::{EventoHogar, Hogar, IntegranteHogar};
    use crate::ops::identidad::{Coincidencias, ValidacionIdentidad};
    use crate::respuestas::{CausantePostulacion, ChequeoPostulacion, Cupos, Postulacion};

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

    #[test]
    fn a_field_set_keeps_each_path_once() {
        let set = FieldSet::new(["run", "puntaje", "run"]);
        assert_eq!(set.iter().collect::<Vec<_>>(), ["puntaje", "run"]);
        assert!(set.contains("run") && !set.contains("folio"));
        assert!(FieldSet::default().is_empty());
    }

    /// The catalogue's paths are the answer types' JSON names, in declaration order, nested
    /// ones below their parent; a field tagged for one operation is left out of the other's.
    #[test]
    fn the_catalogue_reads_each_answer_s_declared_names() {
        assert_eq!(
            Operation::ConsultarFichaFPS.fields(),
            [
                "run",
                "folio",
                "puntaje",
                "quintil",
                "fechaAplicacion",
                "comuna.codigo",
                "comuna.nombre",
                "estado",
                "fallecido",
                "integrantes.run",
                "integrantes.nombres",
                "integrantes.apellidoPaterno",
                "integrantes.apellidoMaterno",
                "integrantes.fechaNacimiento",
                "integrantes.sexo",
                "integrantes.parentesco",
            ]
        );
        let trabajo = Operation::TrabajarEncuestaje.fields();
        let solicitud = Operation::SolicitarEncuestaje.fields();
        let solo_trabajo: Vec<_> = trabajo.iter().filter(|f| !solicitud.contains(f)).collect();
        assert_eq!(
            solo_trabajo,
            [&"solicitante", &"puntaje", &"quintil", &"fechaAplicacion"]
        );
        assert!(solicitud.iter().all(|f| trabajo.contains(f)));
        assert!(
            Operation::EmitirCertificado
                .fields()
                .contains(&"urlVerificacion")
        );
        assert!(
            Operation::ConsultarAccesos
                .fields()
                .contains(&"accesos.campos")
        );
        // A list nested in a list: each event's persons.
        assert_eq!(
            Operation::ActualizarHogar.fields(),
            [
                "run",
                "comuna.codigo",
                "comuna.nombre",
                "direccion",
                "folio",
                "enRevision",
                "integrantes.run",
                "integrantes.parentesco",
                "eventos.secuencia",
                "eventos.evento",
                "eventos.registrado",
                "eventos.integrantes.run",
                "eventos.integrantes.parentesco",
                "eventos.direccion",
                "eventos.motivo",
                "eventos.convenio",
                "eventos.usuario",
                "eventos.marcaRevision",
            ]
        );
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
        fn hogar_never_discloses_beyond_the_grant(
            n in 0usize..3, usuario in opt("11111111-1".to_string()), folio in opt(1_000_001i64),
            grant in subset(Operation::ActualizarHogar),
        ) {
            let integrante = IntegranteHogar { run: Some("6-K".into()), parentesco: Some("hijo".into()) };
            let evento = EventoHogar {
                secuencia: Some(1),
                evento: Some("dividir".into()),
                registrado: chrono::DateTime::from_timestamp(1_780_000_000, 0),
                integrantes: Some(vec![integrante.clone(); n]),
                direccion: Some("Pasaje 3".into()),
                motivo: Some("allegados".into()),
                convenio: Some("muni-13101".into()),
                usuario,
                marca_revision: Some(true),
            };
            let value = Hogar {
                sujetos: vec![crate::domain::Run::parse("6-K").unwrap()],
                run: Some("6-K".into()),
                comuna: Some(ComunaRef { codigo: Some("13101".into()), nombre: Some("SANTIAGO".into()) }),
                direccion: Some("Pasaje 1".into()),
                folio,
                en_revision: folio.map(|_| true),
                integrantes: Some(vec![integrante; n + 1]),
                eventos: Some(vec![evento; n]),
            };
            let subjects = value.subjects();
            check(value, &grant)?;
            prop_assert_eq!(subjects, Some(vec![crate::domain::Run::parse("6-K").unwrap()]));
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
            let page = Accesos {
                run: Some("6-K".into()),
                total: Some(n as u64),
                pagina: Some(1),
                por_pagina: Some(100),
                accesos: Some(vec![acceso; n]),
            };
            check(page, &grant)?;
        }

        #[test]
        fn postulacion_never_discloses_beyond_the_grant(
            n in 0usize..3, puntaje in opt(7_000u16), decreto in opt("DEC-1".to_string()),
            grant in subset(Operation::PostularBeneficio),
        ) {
            let value = Postulacion {
                sujetos: Vec::new(),
                id: Some("3f2a9c4e-71b0-4d2e-9a55-0c6e8b1d7f42".into()),
                programa: Some("SUF".into()),
                run: Some("6-K".into()),
                comuna: Some(ComunaRef { codigo: Some("13101".into()), nombre: Some("SANTIAGO".into()) }),
                estado: Some("verificada".into()),
                fecha_postulacion: NaiveDate::from_ymd_opt(2026, 12, 1),
                puntaje,
                decreto_folio: decreto,
                motivo_cierre: Some("x".into()),
                causantes: Some(vec![CausantePostulacion { run: Some("14-0".into()), tipo: Some("menor".into()) }; n]),
                chequeos: Some(vec![ChequeoPostulacion {
                    regla: Some("SUF-VIVO".into()),
                    cumple: Some(true),
                    motivo: Some("Cumple".into()),
                    dato: Some("fallecido".into()),
                }; n]),
            };
            check(value, &grant)?;
        }

        #[test]
        fn decreto_never_discloses_beyond_the_grant(
            n in 0usize..3, en_espera in opt(2u32), grant in subset(Operation::EmitirDecreto),
        ) {
            use crate::respuestas::{Decreto, LineaDecreto};
            let run = crate::domain::Run::parse("6-K").unwrap();
            let value = Decreto {
                sujetos: vec![run; n],
                folio: Some("DEC-7K3M-9Q2X-HB4T".into()),
                numero: Some(15),
                anio: Some(2026),
                comuna: Some(ComunaRef { codigo: Some("13101".into()), nombre: Some("SANTIAGO".into()) }),
                programa: Some("SUF".into()),
                periodo: Some("2026-12".into()),
                emitido: chrono::DateTime::from_timestamp(1_780_000_000, 0),
                emisor: Some("muni-13101".into()),
                otorgadas: Some(n as u32),
                en_espera,
                lineas_sha256: Some("ab".repeat(32)),
                codigo: Some("ABCDE-12345".into()),
                url_verificacion: Some("https://x/verificar/DEC-7K3M-9Q2X-HB4T".into()),
                payload: Some("x.y".into()),
                pdf: Some(b"%PDF".to_vec()),
                lineas: Some(vec![LineaDecreto {
                    orden: Some(1),
                    run: Some("6-K".into()),
                    nombre: Some("ANA PRUEBA".into()),
                    puntaje: Some(4000),
                    causantes: Some(2),
                    monto: Some(15_000),
                    postulacion: Some("p".into()),
                }; n]),
            };
            let mut projected = value.clone();
            projected.project(&FieldSet::new(grant.iter().copied()));
            // The persons are named exactly when the lines or the PDF leave.
            let names = grant.iter().any(|f| f.starts_with("lineas.") || *f == "pdf");
            prop_assert_eq!(projected.subjects().unwrap().is_empty(), !names || n == 0);
            check(value, &grant)?;
        }

        #[test]
        fn notificacion_never_discloses_beyond_the_grant(
            relacionado in opt("14-0".to_string()), folio in opt(1_234i64),
            puntaje in opt(7_000u16), n in 0usize..4, grant in subset(Operation::Suscripciones),
        ) {
            use crate::ops::suscripciones::Eventos;
            use crate::respuestas::Notificacion;
            let dia = NaiveDate::from_ymd_opt(2026, 11, 30);
            let value = Notificacion {
                id: Some("3f2a9c4e-71b0-4d2e-9a55-0c6e8b1d7f42-1".into()),
                suscripcion: Some("3f2a9c4e-71b0-4d2e-9a55-0c6e8b1d7f42".into()),
                secuencia: Some(1),
                tipo: Some("ficha_reemplazada".into()),
                registrado: chrono::DateTime::from_timestamp(1_780_000_000, 0),
                run: Some("6-K".into()),
                run_relacionado: relacionado,
                fecha_defuncion: dia,
                fecha_nacimiento: dia,
                sexo: Some("F".into()),
                folio,
                folio_anterior: folio.map(|f| f - 1),
                puntaje,
                quintil: Some(1),
                fecha_aplicacion: dia,
                comuna: Some("13101".into()),
                comuna_anterior: Some("05101".into()),
                programa: Some("SUF".into()),
                estado: Some("extinguido".into()),
                fecha_inicio: dia,
                fecha_termino: dia,
                decreto: Some("DEC-7K3M-9Q2X-HB4T".into()),
            };
            check(value.clone(), &grant)?;
            // A page: every event projected, and the audit names each event's person
            // whatever the grant lets through (an event is about them even without its RUN).
            let run = crate::domain::Run::parse("6-K").unwrap();
            let mut page = Eventos {
                suscripcion: "s".into(),
                despues: 0,
                hasta: n as i64,
                notificaciones: vec![value; n],
                sujetos: vec![run; n],
            };
            page.project(&FieldSet::new(grant.iter().copied()));
            prop_assert_eq!(page.subjects().unwrap().len(), n);
            for n in &page.notificaciones {
                let mut after = BTreeSet::new();
                leaves(&serde_json::to_value(n).unwrap(), "", &mut after);
                prop_assert!(after.iter().all(|f| grant.contains(&f.as_str())), "{after:?}");
            }
        }

        #[test]
        fn cupos_never_disclose_beyond_the_grant(cupos in opt(3u32), grant in subset(Operation::FijarCupos)) {
            let value = Cupos {
                comuna: Some(ComunaRef { codigo: Some("13101".into()), nombre: Some("SANTIAGO".into()) }),
                programa: Some("SAP".into()),
                anio: Some(2026),
                cupos,
                usados: Some(1),
                disponibles: Some(2),
                fijado_por: Some("operador".into()),
            };
            check(value, &grant)?;
        }
    }
}

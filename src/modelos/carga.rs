//! Reading a model file: TOML into a checked [`Modelo`], or the first problem in file order
//! with its line.

use serde::Deserialize;
use toml::Spanned;

use super::{Capacidad, EVENTOS_HOGAR, Modelo, ModeloError, PorSalud, Validacion};
use crate::domain::Puntaje;

/// The largest factor in thousandths (10 times).
const MILESIMAS_MAX: i64 = 10_000;
/// The largest amount in CLP a month a coefficient or bound may hold.
const CLP_MAX: i64 = 100_000_000;
const EDAD_MAX: i64 = 150;

type S<T> = Spanned<T>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Archivo {
    modelo: S<String>,
    descripcion: S<String>,
    puntaje: PuntajeToml,
    necesidades: NecesidadesToml,
    capacidad: CapacidadToml,
    ingresos: IngresosToml,
    validacion: ValidacionToml,
    revision: RevisionToml,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PuntajeToml {
    min: S<i64>,
    max: S<i64>,
    tramos: S<Vec<S<(i64, i64)>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NecesidadesToml {
    edades: S<Vec<S<(i64, i64)>>>,
    salud: SaludToml,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SaludToml {
    ninguna: S<i64>,
    cronica: S<i64>,
    discapacidad_leve: S<i64>,
    discapacidad_moderada: S<i64>,
    discapacidad_severa: S<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CapacidadToml {
    edad_min: S<i64>,
    edad_max: S<i64>,
    base: S<i64>,
    por_anio_escolaridad: S<i64>,
    escolaridad_tope: S<i64>,
    trabajo: S<i64>,
    salud: SaludToml,
    actividad: ActividadToml,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActividadToml {
    ocupado: S<i64>,
    desocupado: S<i64>,
    inactivo: S<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IngresosToml {
    pensiones: S<i64>,
    otros: S<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ValidacionToml {
    ingreso_max: S<i64>,
    escolaridad_max: S<i64>,
    integrantes_max: S<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevisionToml {
    eventos: Vec<S<String>>,
}

/// Problems found, each at a byte offset of the text; the first in file order is reported.
#[derive(Default)]
struct Problemas(Vec<(usize, String)>);

impl Problemas {
    fn push(&mut self, at: usize, problem: String) {
        self.0.push((at, problem));
    }

    /// The value when it lies in `lo..=hi`, otherwise 0 after recording the problem.
    fn rango(&mut self, v: &S<i64>, name: &str, lo: i64, hi: i64) -> i64 {
        let value = *v.get_ref();
        if (lo..=hi).contains(&value) {
            value
        } else {
            self.push(
                v.span().start,
                format!("{name} = {value} must be from {lo} to {hi}"),
            );
            0
        }
    }

    fn milesimas(&mut self, v: &S<i64>, name: &str) -> i64 {
        self.rango(v, &format!("{name} (thousandths)"), 0, MILESIMAS_MAX)
    }

    fn salud(&mut self, s: &SaludToml, table: &str) -> PorSalud {
        PorSalud([
            self.milesimas(&s.ninguna, &format!("{table}.ninguna")),
            self.milesimas(&s.cronica, &format!("{table}.cronica")),
            self.milesimas(&s.discapacidad_leve, &format!("{table}.discapacidad_leve")),
            self.milesimas(
                &s.discapacidad_moderada,
                &format!("{table}.discapacidad_moderada"),
            ),
            self.milesimas(
                &s.discapacidad_severa,
                &format!("{table}.discapacidad_severa"),
            ),
        ])
    }
}

/// Checks a model's text; `stem`, when given, is the file's name the model must carry.
pub(super) fn parse(text: &str, origin: &str, stem: Option<&str>) -> Result<Modelo, ModeloError> {
    let invalid = |line, problem| ModeloError::Invalid {
        origin: origin.to_owned(),
        line,
        problem,
    };
    let a: Archivo = toml::from_str(text).map_err(|e| {
        invalid(
            e.span().map(|s| line_of(text, s.start)),
            e.message().trim().replace('\n', ": "),
        )
    })?;
    let mut p = Problemas::default();
    let nombre = a.modelo.get_ref().trim();
    let sano = !nombre.is_empty()
        && nombre.len() <= 40
        && nombre
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !sano {
        p.push(
            a.modelo.span().start,
            format!("modelo {nombre:?} must be 1 to 40 of A-Z, a-z, 0-9, '-', '_' and '.'"),
        );
    } else if let Some(stem) = stem.filter(|s| *s != nombre) {
        p.push(
            a.modelo.span().start,
            format!(
                "modelo {nombre:?} must equal the file's name ({stem}.toml holds a model named \
                 {stem})"
            ),
        );
    }
    if a.descripcion.get_ref().trim().is_empty() {
        p.push(a.descripcion.span().start, "empty descripcion".into());
    }
    let (lo, hi) = (i64::from(Puntaje::MIN), i64::from(Puntaje::MAX));
    let min = p.rango(&a.puntaje.min, "puntaje.min", lo, hi);
    let max = p.rango(&a.puntaje.max, "puntaje.max", lo, hi);
    if min >= max {
        p.push(
            a.puntaje.max.span().start,
            format!("puntaje.max ({max}) must be greater than puntaje.min ({min})"),
        );
    }
    let tramos = puntos(
        &mut p,
        &a.puntaje.tramos,
        "puntaje.tramos",
        (0, CLP_MAX),
        (lo, hi),
    );
    for pair in tramos.windows(2) {
        if pair[1].1 < pair[0].1 {
            p.push(
                a.puntaje.tramos.span().start,
                "puntaje.tramos: a higher income may not give a lower score".into(),
            );
            break;
        }
    }
    let edades = puntos(
        &mut p,
        &a.necesidades.edades,
        "necesidades.edades",
        (0, EDAD_MAX),
        (1, MILESIMAS_MAX),
    );
    if edades.first().is_some_and(|(desde, _)| *desde != 0) {
        p.push(
            a.necesidades.edades.span().start,
            "necesidades.edades: the first age band must start at 0".into(),
        );
    }
    let necesidad_salud = p.salud(&a.necesidades.salud, "necesidades.salud");
    let c = &a.capacidad;
    let edad_min = p.rango(&c.edad_min, "capacidad.edad_min", 0, EDAD_MAX);
    let edad_max = p.rango(&c.edad_max, "capacidad.edad_max", 0, EDAD_MAX);
    if edad_min > edad_max {
        p.push(
            c.edad_max.span().start,
            "capacidad.edad_max must not be below capacidad.edad_min".into(),
        );
    }
    let capacidad = Capacidad {
        edad_min: edad_min as u32,
        edad_max: edad_max as u32,
        base: p.rango(&c.base, "capacidad.base", 0, CLP_MAX),
        por_anio_escolaridad: p.rango(
            &c.por_anio_escolaridad,
            "capacidad.por_anio_escolaridad",
            0,
            CLP_MAX,
        ),
        escolaridad_tope: p.rango(&c.escolaridad_tope, "capacidad.escolaridad_tope", 0, 30) as u32,
        salud: p.salud(&c.salud, "capacidad.salud"),
        actividad: [
            p.milesimas(&c.actividad.ocupado, "capacidad.actividad.ocupado"),
            p.milesimas(&c.actividad.desocupado, "capacidad.actividad.desocupado"),
            p.milesimas(&c.actividad.inactivo, "capacidad.actividad.inactivo"),
        ],
        trabajo: p.milesimas(&c.trabajo, "capacidad.trabajo"),
    };
    let v = &a.validacion;
    let validacion = Validacion {
        ingreso_max: p.rango(&v.ingreso_max, "validacion.ingreso_max", 1, CLP_MAX),
        escolaridad_max: p.rango(&v.escolaridad_max, "validacion.escolaridad_max", 1, 30) as u32,
        integrantes_max: p.rango(&v.integrantes_max, "validacion.integrantes_max", 1, 50) as usize,
    };
    let pensiones = p.milesimas(&a.ingresos.pensiones, "ingresos.pensiones");
    let otros = p.milesimas(&a.ingresos.otros, "ingresos.otros");
    let mut revision: Vec<String> = Vec::new();
    for evento in &a.revision.eventos {
        let e = evento.get_ref().as_str();
        if !EVENTOS_HOGAR.contains(&e) {
            p.push(
                evento.span().start,
                format!(
                    "revision.eventos: unknown event {e:?}; expected some of {}",
                    EVENTOS_HOGAR.join(", ")
                ),
            );
        } else if revision.iter().any(|r| r == e) {
            p.push(
                evento.span().start,
                format!("revision.eventos: {e:?} listed twice"),
            );
        } else {
            revision.push(e.to_owned());
        }
    }
    if let Some((at, problem)) = p.0.into_iter().min_by_key(|(at, _)| *at) {
        return Err(invalid(Some(line_of(text, at)), problem));
    }
    let puntaje = |v: i64| Puntaje::new(v).map_err(|e| invalid(None, e.to_string()));
    Ok(Modelo {
        nombre: nombre.to_owned(),
        descripcion: a.descripcion.into_inner().trim().to_owned(),
        min: puntaje(min)?,
        max: puntaje(max)?,
        tramos,
        pesos_edad: edades.into_iter().map(|(e, w)| (e as u32, w)).collect(),
        necesidad_salud,
        capacidad,
        pensiones,
        otros,
        validacion,
        revision,
    })
}

/// A list of at least two `[x, y]` points, x strictly increasing, each within its range.
fn puntos(
    p: &mut Problemas,
    lista: &S<Vec<S<(i64, i64)>>>,
    name: &str,
    (xlo, xhi): (i64, i64),
    (ylo, yhi): (i64, i64),
) -> Vec<(i64, i64)> {
    if lista.get_ref().len() < 2 {
        p.push(
            lista.span().start,
            format!("{name} needs at least two points [x, y]"),
        );
    }
    let mut out: Vec<(i64, i64)> = Vec::new();
    for punto in lista.get_ref() {
        let (x, y) = *punto.get_ref();
        let at = punto.span().start;
        if !(xlo..=xhi).contains(&x) || !(ylo..=yhi).contains(&y) {
            p.push(
                at,
                format!("{name}: [{x}, {y}] must be within [{xlo}..{xhi}, {ylo}..{yhi}]"),
            );
        } else if out.last().is_some_and(|(prev, _)| *prev >= x) {
            p.push(
                at,
                format!("{name}: [{x}, {y}] must come after a smaller first value"),
            );
        }
        out.push((x, y));
    }
    out
}

/// The 1-based line holding a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    before.iter().filter(|b| **b == b'\n').count() + 1
}

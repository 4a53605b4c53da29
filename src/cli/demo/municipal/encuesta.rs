//! The questionnaires the demo's surveyors fill in: plain, plausible facts for each member,
//! from which the model in force computes the score (the demo never types a score). The
//! families' heads earn more from one family to the next, so their scores, and the waiting
//! list, come out in a visible order; the elderly live on little, below PASIS's income per head.

use super::eleccion::{Hogar, Miembro};
use crate::ops::encuestaje::cuestionario::{EncuestaEntrada, IntegranteEntrada, ViviendaEntrada};

/// What a member does and lives on.
struct Hechos {
    escolaridad: i64,
    asiste: bool,
    salud: &'static str,
    actividad: &'static str,
    trabajo: i64,
    pensiones: i64,
    otros: i64,
}

fn integrante(m: &Miembro, h: Hechos) -> IntegranteEntrada {
    IntegranteEntrada {
        run: Some(m.run.to_string()),
        parentesco: Some(m.parentesco.clone()),
        escolaridad_anios: Some(h.escolaridad),
        asiste_educacion: Some(h.asiste),
        salud: Some(h.salud.into()),
        actividad: Some(h.actividad.into()),
        ingreso_trabajo: Some(h.trabajo),
        ingreso_pensiones: Some(h.pensiones),
        ingreso_otros: Some(h.otros),
    }
}

/// A member other than the one whose facts the household turns on: a child at school, an
/// adult at home.
fn otro(m: &Miembro) -> IntegranteEntrada {
    let nino = m.edad < 18;
    integrante(
        m,
        Hechos {
            escolaridad: if nino {
                i64::from(m.edad.saturating_sub(6).min(12))
            } else {
                8
            },
            asiste: nino && m.edad >= 4,
            salud: "ninguna",
            actividad: "inactivo",
            trabajo: 0,
            pensiones: 0,
            otros: 0,
        },
    )
}

fn encuesta(hogar: &Hogar, jefe: Hechos, piezas: i64, tenencia: &str) -> EncuestaEntrada {
    let mut integrantes = vec![integrante(hogar.jefe(), jefe)];
    integrantes.extend(hogar.otros().iter().map(otro));
    EncuestaEntrada {
        direccion: Some(hogar.direccion.clone()),
        zona: Some("urbana".into()),
        vivienda: Some(ViviendaEntrada {
            tenencia: Some(tenencia.into()),
            agua: Some("red_publica".into()),
            saneamiento: Some("alcantarillado".into()),
            piezas: Some(piezas),
        }),
        integrantes,
    }
}

/// Family `k` (0, 1, …): the head works for a wage that grows with `k`.
pub fn familia(hogar: &Hogar, k: usize) -> EncuestaEntrada {
    let jefe = Hechos {
        escolaridad: 8,
        asiste: false,
        salud: "ninguna",
        actividad: "ocupado",
        trabajo: 60_000 + 15_000 * k as i64,
        pensiones: 0,
        otros: 0,
    };
    encuesta(hogar, jefe, 2, "arrendada")
}

/// Someone of 65 or more living alone on family help, with a chronic illness.
pub fn anciano(hogar: &Hogar) -> EncuestaEntrada {
    let jefe = Hechos {
        escolaridad: 4,
        asiste: false,
        salud: "cronica",
        actividad: "inactivo",
        trabajo: 0,
        pensiones: 0,
        otros: 15_000,
    };
    encuesta(hogar, jefe, 1, "cedida")
}

/// Someone just under 65 living alone, with a disability that keeps them from work.
pub fn casi_anciano(hogar: &Hogar) -> EncuestaEntrada {
    let jefe = Hechos {
        escolaridad: 6,
        asiste: false,
        salud: "discapacidad_moderada",
        actividad: "inactivo",
        trabajo: 0,
        pensiones: 0,
        otros: 10_000,
    };
    encuesta(hogar, jefe, 1, "cedida")
}

/// A household of Valparaíso whose head has a steady job.
pub fn valparaiso(hogar: &Hogar) -> EncuestaEntrada {
    let jefe = Hechos {
        escolaridad: 12,
        asiste: false,
        salud: "ninguna",
        actividad: "ocupado",
        trabajo: 350_000,
        pensiones: 0,
        otros: 0,
    };
    encuesta(hogar, jefe, 3, "propia")
}

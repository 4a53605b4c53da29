//! The module's embedded catalogues: the risk alerts a follow-up may carry (after the EPsA,
//! the psychosocial assessment of the first prenatal control, and the child's development
//! screening), the services a referral may ask for and the sector that gives each, the controls
//! and their results. Codes are the contract: agreements, the XSD and docs/crece_contigo.md
//! list the same.

/// A risk alert's code and what it means.
pub struct Alerta {
    pub codigo: &'static str,
    pub descripcion: &'static str,
}

pub const ALERTAS: &[Alerta] = &[
    Alerta {
        codigo: "ingreso_tardio",
        descripcion: "ingreso a control prenatal a las 20 semanas o más",
    },
    Alerta {
        codigo: "gestante_adolescente",
        descripcion: "gestante menor de 17 años al ingreso",
    },
    Alerta {
        codigo: "escolaridad_incompleta",
        descripcion: "escolaridad de la gestante menor a 6 años",
    },
    Alerta {
        codigo: "sin_apoyo",
        descripcion: "gestante sin apoyo familiar o de pareja",
    },
    Alerta {
        codigo: "sintomas_depresivos",
        descripcion: "síntomas depresivos (EPsA o escala de Edimburgo)",
    },
    Alerta {
        codigo: "abuso_sustancias",
        descripcion: "consumo de alcohol o drogas",
    },
    Alerta {
        codigo: "violencia",
        descripcion: "violencia intrafamiliar",
    },
    Alerta {
        codigo: "rechazo_embarazo",
        descripcion: "rechazo del embarazo",
    },
    Alerta {
        codigo: "rezago_desarrollo",
        descripcion: "rezago o retraso en una evaluación del desarrollo",
    },
];

/// Sectors a referral goes to (the grant list `sectores` of GestionarDerivacionChCC).
pub const SECTORES: &[&str] = &["salud", "educacion", "municipio"];

/// A service a referral may ask for: the sector that gives it and whether it is for the child
/// (then the follow-up must have one: register the birth first).
pub struct Prestacion {
    pub codigo: &'static str,
    pub sector: &'static str,
    pub para_nino: bool,
}

pub const PRESTACIONES: &[Prestacion] = &[
    Prestacion {
        codigo: "sala_cuna",
        sector: "educacion",
        para_nino: true,
    },
    Prestacion {
        codigo: "jardin_infantil",
        sector: "educacion",
        para_nino: true,
    },
    Prestacion {
        codigo: "visita_domiciliaria",
        sector: "salud",
        para_nino: false,
    },
    Prestacion {
        codigo: "atencion_salud_mental",
        sector: "salud",
        para_nino: false,
    },
    Prestacion {
        codigo: "sala_estimulacion",
        sector: "salud",
        para_nino: true,
    },
    Prestacion {
        codigo: "suf",
        sector: "municipio",
        para_nino: false,
    },
    Prestacion {
        codigo: "ficha_proteccion_social",
        sector: "municipio",
        para_nino: false,
    },
    Prestacion {
        codigo: "ayudas_tecnicas",
        sector: "municipio",
        para_nino: true,
    },
];

/// The kinds of control, and the results a control may have.
pub const TIPOS_CONTROL: &[&str] = &["prenatal", "nino_sano", "desarrollo"];
pub const RESULTADOS_CONTROL: &[&str] = &["normal", "rezago", "riesgo", "retraso"];

/// States of a follow-up, and of a referral.
pub const ESTADOS_SEGUIMIENTO: &[&str] = &["gestacion", "nino", "egresado"];
pub const ESTADOS_DERIVACION: &[&str] = &["enviada", "recibida", "atendida", "rechazada"];

/// Reasons a follow-up ends.
pub const MOTIVOS_EGRESO: &[&str] = &[
    "cumple_edad",
    "traslado",
    "aborto_espontaneo",
    "fallecimiento",
    "renuncia",
];

/// Weeks of gestation at entry below which the entry is timely (EPsA: 20 and later is late).
pub const SEMANAS_INGRESO_TARDIO: i32 = 20;

/// Age under which a gestante is an adolescent for the alert.
pub const EDAD_ADOLESCENTE: u32 = 17;

pub fn alerta(codigo: &str) -> Option<&'static Alerta> {
    ALERTAS.iter().find(|a| a.codigo == codigo)
}

pub fn prestacion(codigo: &str) -> Option<&'static Prestacion> {
    PRESTACIONES.iter().find(|p| p.codigo == codigo)
}

/// The codes of a list, for error messages.
pub fn codigos<'a>(lista: impl IntoIterator<Item = &'a str>) -> String {
    lista.into_iter().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prestacion_belongs_to_a_sector_and_no_code_is_listed_twice() {
        for p in PRESTACIONES {
            assert!(SECTORES.contains(&p.sector), "{}", p.codigo);
        }
        let mut codigos: Vec<&str> = PRESTACIONES.iter().map(|p| p.codigo).collect();
        codigos.extend(ALERTAS.iter().map(|a| a.codigo));
        let n = codigos.len();
        codigos.sort();
        codigos.dedup();
        assert_eq!(codigos.len(), n);
        // Every sector receives something.
        for s in SECTORES {
            assert!(PRESTACIONES.iter().any(|p| p.sector == *s), "{s}");
        }
    }
}

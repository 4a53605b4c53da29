//! The benefit feeds: `suf` (SUSESO, Subsidio Único Familiar) and `pensiones` (IPS: PASIS, PBS,
//! APS). Each record is one movement of one person's benefit: `concesion` (granted from
//! `fecha`, with its monthly `monto` in CLP) or `suspension` (the benefit in force is suspended
//! from `fecha`). They change the `beneficios` table, the same rows a death ends.

use std::borrow::Cow;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::TipoLote;
use super::feeds::{Cruce, Falla};

pub(super) const COLUMNAS: &[&str] = &["run", "programa", "movimiento", "monto", "fecha"];
pub(super) const CAMPOS: &[&str] = &[
    "programa",
    "estado",
    "monto",
    "fecha_inicio",
    "fecha_termino",
];
pub(super) const STAGE: &str = "lote_stage_beneficios";
pub(super) const STAGE_COLUMNAS: &str = "run INTEGER NOT NULL, programa TEXT NOT NULL, \
     movimiento TEXT NOT NULL, monto INTEGER NOT NULL, fecha DATE NOT NULL";

/// Key of the PostgreSQL advisory lock that serialises new benefit ids between batches.
const BENEFICIO_LOCK: i64 = 0x5115_0007;

/// Highest monthly amount accepted (CLP): far above any of these benefits.
const MONTO_MAX: i32 = 10_000_000;

diesel::table! {
    lote_stage_beneficios (linea) {
        linea -> BigInt,
        run -> Integer,
        programa -> Text,
        movimiento -> Text,
        monto -> Integer,
        fecha -> Date,
        valores -> Text,
    }
}

#[derive(Insertable)]
#[diesel(table_name = lote_stage_beneficios, treat_none_as_default_value = false)]
pub(super) struct BeneficioFila {
    linea: i64,
    run: i32,
    programa: String,
    movimiento: String,
    monto: i32,
    fecha: NaiveDate,
    valores: String,
}

/// The programs a kind may move, and the agency recorded as their source.
pub(super) fn programas(tipo: TipoLote) -> (&'static [&'static str], &'static str) {
    match tipo {
        TipoLote::Suf => (&["SUF"], "SUSESO"),
        _ => (&["PASIS", "PBS", "APS"], "IPS"),
    }
}

/// Checks one record's fields after the RUN (`campos` in [`COLUMNAS`] order).
pub(super) fn parse(
    tipo: TipoLote,
    linea: i64,
    run: i32,
    campos: &[&str],
    fecha: impl Fn(&str, &str) -> Result<NaiveDate, Falla>,
) -> Result<BeneficioFila, Falla> {
    let (programas, _) = programas(tipo);
    let programa = campos[1].trim();
    if !programas.contains(&programa) {
        return Err((
            "PROGRAMA_DESCONOCIDO",
            format!(
                "programa is not a benefit of a {tipo} batch; they are {}",
                programas.join(", ")
            ),
        ));
    }
    let movimiento = campos[2].trim();
    let monto_text = campos[3].trim();
    let monto = match movimiento {
        "concesion" => match monto_text.parse::<i32>() {
            Ok(m) if (1..=MONTO_MAX).contains(&m) => m,
            _ => {
                return Err((
                    "MONTO_INVALIDO",
                    format!(
                        "monto of a concesion is a whole number of pesos from 1 to {MONTO_MAX}"
                    ),
                ));
            }
        },
        "suspension" if monto_text.is_empty() => 0,
        "suspension" => {
            return Err((
                "MONTO_INVALIDO",
                "monto is left empty in a suspension".to_owned(),
            ));
        }
        _ => {
            return Err((
                "MOVIMIENTO_INVALIDO",
                "movimiento must be concesion or suspension".to_owned(),
            ));
        }
    };
    let fecha = fecha("fecha", campos[4])?;
    let mut valores = serde_json::json!({
        "programa": programa,
        "movimiento": movimiento,
        "fecha": fecha,
    });
    if movimiento == "concesion" {
        valores["monto"] = monto.into();
    }
    Ok(BeneficioFila {
        linea,
        run,
        programa: programa.to_owned(),
        movimiento: movimiento.to_owned(),
        monto,
        fecha,
        valores: valores.to_string(),
    })
}

/// The benefits of the staged record's person and program (`b`).
const DEL_PROGRAMA: &str = "FROM beneficios b WHERE b.run = s.run AND b.programa = s.programa";

/// The registry checks of a benefit batch, in order.
pub(super) fn cruces() -> Vec<Cruce> {
    vec![
        Cruce {
            codigo: "RUN_DESCONOCIDO",
            motivo: "the registry holds no person with this RUN",
            condicion: Cow::Borrowed("p.run IS NULL"),
        },
        Cruce {
            codigo: "BENEFICIO_YA_VIGENTE",
            motivo: "the person already has this benefit in force",
            condicion: Cow::Owned(format!(
                "s.movimiento = 'concesion' AND EXISTS (SELECT 1 {DEL_PROGRAMA} \
                 AND b.estado = 'vigente')"
            )),
        },
        Cruce {
            codigo: "BENEFICIO_NO_VIGENTE",
            motivo: "the person has no such benefit in force to suspend",
            condicion: Cow::Owned(format!(
                "s.movimiento = 'suspension' AND NOT EXISTS (SELECT 1 {DEL_PROGRAMA} \
                 AND b.estado = 'vigente')"
            )),
        },
        Cruce {
            codigo: "PERSONA_FALLECIDA",
            motivo: "a benefit cannot be granted from a date on or after the person's death",
            condicion: Cow::Borrowed(
                "s.movimiento = 'concesion' AND p.fecha_defuncion IS NOT NULL \
                 AND s.fecha >= p.fecha_defuncion",
            ),
        },
        Cruce {
            codigo: "FECHAS_DESORDENADAS",
            motivo: "fecha is before the person's birth, before the end of an earlier grant of \
                     this benefit (concesion), or before the start of the benefit suspended",
            condicion: Cow::Owned(format!(
                "(s.movimiento = 'concesion' AND (s.fecha < p.fecha_nacimiento OR EXISTS \
                 (SELECT 1 {DEL_PROGRAMA} AND COALESCE(b.fecha_termino, b.fecha_inicio) > s.fecha))) \
                 OR (s.movimiento = 'suspension' AND EXISTS (SELECT 1 {DEL_PROGRAMA} \
                 AND b.estado = 'vigente' AND b.fecha_inicio > s.fecha))"
            )),
        },
    ]
}

/// The PostgreSQL statement that serialises new benefit ids (none on SQLite).
pub(super) fn bloqueo() -> String {
    format!("SELECT pg_advisory_xact_lock({BENEFICIO_LOCK})")
}

/// The statements that apply the staged lines selected by `range` (over `s`).
pub(super) fn aplicar(tipo: TipoLote, range: &str) -> Vec<String> {
    let (_, fuente) = programas(tipo);
    let staged = |movimiento: &str| {
        format!(
            "EXISTS (SELECT 1 FROM {STAGE} s WHERE {range} AND s.movimiento = '{movimiento}' \
             AND s.run = beneficios.run AND s.programa = beneficios.programa)"
        )
    };
    vec![
        // A grant of a suspended benefit closes the suspended one: the new grant is its own row.
        format!(
            "UPDATE beneficios SET estado = 'extinguido' WHERE estado = 'suspendido' AND {}",
            staged("concesion")
        ),
        format!(
            "INSERT INTO beneficios (id, run, programa, estado, monto, fecha_inicio, fuente) \
             SELECT m.base + ROW_NUMBER() OVER (ORDER BY s.linea), s.run, s.programa, 'vigente', \
             s.monto, s.fecha, '{fuente}' FROM {STAGE} s \
             CROSS JOIN (SELECT COALESCE(MAX(id), 0) AS base FROM beneficios) m \
             WHERE {range} AND s.movimiento = 'concesion'"
        ),
        format!(
            "UPDATE beneficios SET estado = 'suspendido', fecha_termino = (SELECT s.fecha \
             FROM {STAGE} s WHERE s.run = beneficios.run AND s.programa = beneficios.programa) \
             WHERE estado = 'vigente' AND {}",
            staged("suspension")
        ),
    ]
}

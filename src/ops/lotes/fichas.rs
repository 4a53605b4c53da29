//! The `fichas` feed: municipal survey results. Each record names a member of a household
//! (`run`) and the survey's score and date; applying it makes a new ficha in force for the
//! household, in the household's comuna, and the ficha in force before becomes `reemplazada`
//! (the same change a survey result makes through TrabajarEncuestaje, see
//! `ops::encuestaje::store`, here set-based for a whole batch). The quintile is not stored:
//! it is derived from the score wherever a ficha is read.

use std::borrow::Cow;

use super::feeds::Cruce;
use crate::domain::Ambito;

const STAGE: &str = "lote_stage_fichas";

/// The household of the staged record's person (`s.run`).
const HOGAR: &str = "(SELECT i.hogar_id FROM integrantes i WHERE i.run = s.run)";

/// The registry checks of a `fichas` batch, in order; `alcance` is the sending agreement's
/// scope (a municipality may only replace fichas of households of its comuna).
///
/// A scoped sender gets one code for every line it may not touch, whatever the registry holds
/// for that RUN: a person unknown, without a household, or of a household of another comuna
/// all answer `FUERA_DE_AMBITO` with the same reason, so that a batch cannot tell them apart
/// (DESIGN, *Agreements*: nothing an agency receives depends on persons outside its scope).
/// Only a sender without a scope learns which of them it is.
pub(super) fn cruces(alcance: Option<Ambito>) -> Vec<Cruce> {
    let mut cruces = match alcance {
        Some(ambito) => {
            // A scope's code is two, three or five digits (checked when the agreement loaded):
            // safe inside the statement.
            let prefijo = ambito.prefijo();
            debug_assert!(prefijo.bytes().all(|b| b.is_ascii_digit()));
            vec![Cruce {
                codigo: "FUERA_DE_AMBITO",
                motivo: "no household of the agreement's ambito holds this RUN",
                condicion: Cow::Owned(format!(
                    "NOT EXISTS (SELECT 1 FROM integrantes i JOIN hogares h ON h.id = i.hogar_id \
                     WHERE i.run = s.run AND h.cut LIKE '{prefijo}%')"
                )),
            }]
        }
        None => vec![
            Cruce {
                codigo: "RUN_DESCONOCIDO",
                motivo: "the registry holds no person with this RUN",
                condicion: Cow::Borrowed("p.run IS NULL"),
            },
            Cruce {
                codigo: "SIN_HOGAR",
                motivo: "the person is not a member of any household in the registry",
                condicion: Cow::Borrowed(
                    "NOT EXISTS (SELECT 1 FROM integrantes i WHERE i.run = s.run)",
                ),
            },
        ],
    };
    cruces.extend([
        Cruce {
            codigo: "FICHA_POSTERIOR",
            motivo: "the household's ficha in force was applied after this fecha_aplicacion",
            condicion: Cow::Owned(format!(
                "EXISTS (SELECT 1 FROM fichas f WHERE f.hogar_id = {HOGAR} \
                 AND f.estado = 'vigente' AND f.fecha_aplicacion > s.fecha_aplicacion)"
            )),
        },
        Cruce {
            codigo: "HOGAR_DUPLICADO",
            motivo: "an earlier line of this batch already gives this household's ficha",
            condicion: Cow::Owned(format!(
                "EXISTS (SELECT 1 FROM {STAGE} s2 JOIN integrantes i2 ON i2.run = s2.run \
                 WHERE i2.hogar_id = {HOGAR} AND s2.linea < s.linea)"
            )),
        },
    ]);
    cruces
}

/// The new fichas of the staged lines selected by `range` (over `s`), one row per line with
/// its household: `linea`, `hogar_id`, `cut`, `puntaje`, `fecha_aplicacion` and the `folio` it
/// takes, the next folios in line order (numbered as TrabajarEncuestaje numbers them, from
/// 1,000,001). The insert and the batch's events (`lotes::eventos`, read before it) share it.
pub(super) fn nuevas(stage: &str, range: &str) -> String {
    format!(
        "SELECT s.linea AS linea, i.hogar_id AS hogar_id, h.cut AS cut, s.puntaje AS puntaje, \
         s.fecha_aplicacion AS fecha_aplicacion, \
         m.base + ROW_NUMBER() OVER (ORDER BY s.linea) AS folio \
         FROM {stage} s JOIN integrantes i ON i.run = s.run \
         JOIN hogares h ON h.id = i.hogar_id \
         CROSS JOIN (SELECT CASE WHEN COALESCE(MAX(folio), 0) > 1000000 THEN MAX(folio) \
         ELSE 1000000 END AS base FROM fichas) m \
         WHERE {range}"
    )
}

/// The statements that apply the staged lines selected by `range` (over `s`): the fichas in
/// force of their households become `reemplazada`, and each household gets a new ficha in
/// force ([`nuevas`]).
pub(super) fn aplicar(stage: &str, range: &str) -> Vec<String> {
    vec![
        format!(
            "UPDATE fichas SET estado = 'reemplazada' WHERE estado = 'vigente' AND hogar_id IN \
             (SELECT i.hogar_id FROM {stage} s JOIN integrantes i ON i.run = s.run WHERE {range})"
        ),
        format!(
            "INSERT INTO fichas (folio, hogar_id, puntaje, fecha_aplicacion, cut, estado) \
             SELECT n.folio, n.hogar_id, n.puntaje, n.fecha_aplicacion, n.cut, 'vigente' \
             FROM ({}) n",
            nuevas(stage, range)
        ),
    ]
}

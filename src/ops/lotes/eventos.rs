//! The events of a batch (docs/eventos.md), set-based: per chunk of staged lines, statements
//! that put the chunk's events in a temporary table in order ([`TEMPORAL`]), some before the
//! chunk's change (what a change reads that it then overwrites: which benefits a death ends,
//! the ficha a new one replaces), some after (what it creates: a newborn's household, a new
//! benefit); once every chunk is applied, one statement records them all in `eventos`
//! ([`registrar`]). Recorded last so that on PostgreSQL `EVENTOS_LOCK` is taken after every row
//! the batch changes: a holder of the lock never waits for a row another writer of events
//! holds while waiting for the lock.
//!
//! Rejected lines are out of the stage by then (`registro::cruzar`), so they write none; a
//! repeated batch is not applied, so it writes none.

use super::TipoLote;
use crate::eventos::{Origen, Sql};

/// The temporary table of a batch's events, in order.
pub(super) const TEMPORAL: &str = "lote_stage_eventos";

/// What the statements insert into, and the columns they give.
const INSERT: &str =
    "INSERT INTO lote_stage_eventos (tipo, run, run_relacionado, hogar_id, cut, datos)";

/// The person's household and its comuna (`i`, `h`), for a person's RUN `run`.
fn hogar(run: &str) -> String {
    format!("LEFT JOIN integrantes i ON i.run = {run} LEFT JOIN hogares h ON h.id = i.hogar_id")
}

/// The payee of benefit `b` when it is a SUF causante's granted by a decree (NULL otherwise).
const PAGADOR: &str = "(SELECT MIN(dl.run) FROM decreto_lineas dl JOIN postulacion_causantes pc \
     ON pc.postulacion_id = dl.postulacion_id WHERE dl.folio = b.decreto_folio \
     AND pc.run = b.run AND dl.run <> b.run)";

/// Whether a batch of `tipo` writes events.
pub(super) fn escribe(tipo: TipoLote) -> bool {
    !matches!(tipo, TipoLote::Personas)
}

/// The statements that stage the events of staged lines `range` (over `s`), to run before
/// and after the chunk's change.
pub(super) fn sentencias(tipo: TipoLote, sql: Sql, range: &str) -> (Vec<String>, Vec<String>) {
    let stage = super::feeds::stage_name(tipo);
    match tipo {
        TipoLote::Personas => (Vec::new(), Vec::new()),
        TipoLote::Defunciones => (
            vec![
                format!(
                    "{INSERT} SELECT 'defuncion', s.run, NULL, i.hogar_id, h.cut, {datos} \
                     FROM {stage} s {hogar} WHERE {range} ORDER BY s.linea",
                    datos = sql.objeto(&[("fechaDefuncion", "s.fecha_defuncion")]),
                    hogar = hogar("s.run"),
                ),
                // The benefits in force the death ends (those suspended had ended already).
                terminados(sql, stage, range, "", "'extinguido'", "s.fecha_defuncion"),
            ],
            Vec::new(),
        ),
        TipoLote::Nacimientos => (
            Vec::new(),
            vec![format!(
                "{INSERT} SELECT 'nacimiento', s.run, s.run_madre, i.hogar_id, h.cut, {datos} \
                 FROM {stage} s {hogar} WHERE {range} ORDER BY s.linea",
                datos = sql.objeto(&[
                    ("fechaNacimiento", "s.fecha_nacimiento"),
                    ("sexo", "s.sexo")
                ]),
                hogar = hogar("s.run"),
            )],
        ),
        TipoLote::Fichas => (
            vec![format!(
                "{INSERT} SELECT CASE WHEN fa.folio IS NULL THEN 'ficha_creada' \
                 ELSE 'ficha_reemplazada' END, m.run, NULL, n.hogar_id, n.cut, {datos} \
                 FROM ({nuevas}) n JOIN integrantes m ON m.hogar_id = n.hogar_id \
                 LEFT JOIN fichas fa ON fa.hogar_id = n.hogar_id AND fa.estado = 'vigente' \
                 ORDER BY n.linea, m.run",
                nuevas = super::fichas::nuevas(stage, range),
                datos = sql.objeto(&[
                    ("folio", "n.folio"),
                    ("folioAnterior", "fa.folio"),
                    ("puntaje", "n.puntaje"),
                    ("quintil", &sql.quintil("n.puntaje")),
                    ("fechaAplicacion", "n.fecha_aplicacion"),
                    ("comuna", "n.cut"),
                ]),
            )],
            Vec::new(),
        ),
        TipoLote::Suf | TipoLote::Pensiones => (
            vec![terminados(
                sql,
                stage,
                range,
                "AND b.programa = s.programa AND s.movimiento = 'suspension'",
                "'suspendido'",
                "s.fecha",
            )],
            vec![format!(
                "{INSERT} SELECT 'beneficio_otorgado', b.run, NULL, i.hogar_id, h.cut, {datos} \
                 FROM {stage} s JOIN beneficios b ON b.run = s.run AND b.programa = s.programa \
                 AND b.estado = 'vigente' {hogar} \
                 WHERE {range} AND s.movimiento = 'concesion' ORDER BY s.linea",
                datos = sql.objeto(&[
                    ("programa", "b.programa"),
                    ("estado", "b.estado"),
                    ("fechaInicio", "b.fecha_inicio"),
                ]),
                hogar = hogar("b.run"),
            )],
        ),
    }
}

/// The `beneficio_terminado` of each benefit in force of the staged lines `range` (matched by
/// `y`) that the chunk's change will move to `estado` on `fecha_termino`.
fn terminados(
    sql: Sql,
    stage: &str,
    range: &str,
    y: &str,
    estado: &str,
    fecha_termino: &str,
) -> String {
    format!(
        "{INSERT} SELECT 'beneficio_terminado', b.run, {PAGADOR}, i.hogar_id, h.cut, {datos} \
         FROM {stage} s JOIN beneficios b ON b.run = s.run AND b.estado = 'vigente' {y} {hogar} \
         WHERE {range} ORDER BY s.linea, b.id",
        datos = sql.objeto(&[
            ("programa", "b.programa"),
            ("estado", estado),
            ("fechaInicio", "b.fecha_inicio"),
            ("fechaTermino", fecha_termino),
            ("decreto", "b.decreto_folio"),
        ]),
        hogar = hogar("b.run"),
    )
}

/// The statement that records the batch's staged events as written by batch `lote`.
pub(super) fn registrar(sql: Sql, lote: i64, ahora_us: i64) -> String {
    sql.registrar_temporal(TEMPORAL, Origen::Lote, &lote.to_string(), ahora_us)
}

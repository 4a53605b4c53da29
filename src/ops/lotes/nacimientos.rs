//! A births batch applied set-based: each child becomes a person and a member (`hijo`) of the
//! mother's household, and that household's history records it as an `agregar_integrante`
//! with a fixed reason ([`MOTIVO`]) and the provider's agreement as author. Like an upkeep
//! event it raises the household's version (so an upkeep event decided on the version before
//! is decided again) and marks its ficha in force for review as the ficha's model says
//! ([`crate::ops::hogar::evento::marca_revision`], decided once per model before the batch,
//! [`Revision`]). A few statements per chunk, whatever its size.

use crate::modelos::Modelos;
use crate::ops::hogar::evento::{TipoEventoHogar, marca_revision};

/// The reason of every birth's event.
pub const MOTIVO: &str = "nacimiento informado por el Registro Civil";

/// Which fichas in force a birth marks for review, by the model they were scored with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revision {
    /// The models this node holds whose fichas a birth does not mark.
    no_marcan: Vec<String>,
    /// Whether it marks a ficha without a model, or with one this node does not hold.
    sin_modelo: bool,
}

impl Revision {
    pub fn de(modelos: &Modelos) -> Revision {
        let tipo = TipoEventoHogar::AgregarIntegrante;
        Revision {
            no_marcan: modelos
                .iter()
                .filter(|c| !marca_revision(Some(&c.modelo), tipo))
                .map(|c| c.modelo.nombre.clone())
                .collect(),
            sin_modelo: marca_revision(None, tipo),
        }
    }

    /// The SQL value of `marca_revision` for a household whose ficha in force is `f` (NULL
    /// columns when it has none).
    fn marca(&self, f: &str) -> String {
        let sin_modelo = i32::from(self.sin_modelo);
        if self.no_marcan.is_empty() {
            return format!("CASE WHEN {f}.folio IS NULL THEN 0 ELSE {sin_modelo} END");
        }
        let nombres: Vec<String> = self.no_marcan.iter().map(|n| literal(n)).collect();
        format!(
            "CASE WHEN {f}.folio IS NULL THEN 0 WHEN {f}.modelo IN ({}) THEN 0 ELSE {sin_modelo} END",
            nombres.join(", ")
        )
    }
}

/// `text` as an SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The statements that apply staged births `range` of batch `lote`, sent under `convenio`.
pub(super) fn aplicar(
    stage: &str,
    range: &str,
    lote: i64,
    convenio: &str,
    revision: &Revision,
) -> Vec<String> {
    // The households the chunk's children joined (each child a member by now): how many and
    // the first one's line.
    let por_hogar = format!(
        "SELECT i.hogar_id AS hogar_id, COUNT(*) AS n, MIN(s.linea) AS primera \
         FROM {stage} s JOIN integrantes i ON i.run = s.run WHERE {range} GROUP BY i.hogar_id"
    );
    let ts = chrono::Utc::now().timestamp_micros();
    vec![
        format!(
            "INSERT INTO personas (run, nombres, apellido_paterno, apellido_materno, \
             fecha_nacimiento, sexo, nacionalidad) \
             SELECT s.run, s.nombres, s.apellido_paterno, s.apellido_materno, \
             s.fecha_nacimiento, s.sexo, 'CL' FROM {stage} s WHERE {range}"
        ),
        format!(
            "INSERT INTO integrantes (run, hogar_id, parentesco) \
             SELECT s.run, i.hogar_id, 'hijo' FROM {stage} s \
             JOIN integrantes i ON i.run = s.run_madre WHERE {range}"
        ),
        // The version first: on PostgreSQL this takes each household's row, so a concurrent
        // upkeep event waits for the batch and is then decided again. Counted once per chunk
        // (UPDATE … FROM): a count per household correlated with the stage is quadratic on
        // PostgreSQL, which does not know the stage's size.
        format!(
            "UPDATE hogares SET version = hogares.version + n.n FROM ({por_hogar}) n \
             WHERE hogares.id = n.hogar_id"
        ),
        // One event per child, numbered after the household's earlier ones in line order.
        format!(
            "INSERT INTO hogar_eventos (id, hogar_id, secuencia, evento, run, hogar_destino, \
             datos, motivo, convenio, usuario, marca_revision, ts_us) \
             SELECT 'lote-{lote}-' || CAST(s.linea AS TEXT), i.hogar_id, \
             CAST(h.version - COUNT(*) OVER (PARTITION BY i.hogar_id) \
             + ROW_NUMBER() OVER (PARTITION BY i.hogar_id ORDER BY s.linea) AS INTEGER), \
             'agregar_integrante', s.run, NULL, '{{\"parentesco\":\"hijo\"}}', {motivo}, \
             {convenio}, NULL, {marca}, {ts} + s.linea \
             FROM {stage} s JOIN integrantes i ON i.run = s.run \
             JOIN hogares h ON h.id = i.hogar_id \
             LEFT JOIN fichas f ON f.hogar_id = i.hogar_id AND f.estado = 'vigente' \
             WHERE {range}",
            motivo = literal(MOTIVO),
            convenio = literal(convenio),
            marca = revision.marca("f"),
        ),
        // A ficha already marked keeps the event that marked it first; otherwise the chunk's
        // first birth in the household (its lowest line) marks it.
        format!(
            "UPDATE fichas SET revision = 'lote-{lote}-' || CAST(n.primera AS TEXT) \
             FROM ({por_hogar}) n WHERE fichas.hogar_id = n.hogar_id \
             AND fichas.estado = 'vigente' AND fichas.revision IS NULL AND {marca} = 1",
            marca = revision.marca("fichas"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_model_held_decides_whether_a_birth_marks_its_fichas() {
        let dir = tempfile::tempdir().unwrap();
        let conf = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/conf/modelos"));
        let text = std::fs::read_to_string(conf.join("FPS-2026-1.toml")).unwrap();
        std::fs::write(dir.path().join("FPS-2026-1.toml"), &text).unwrap();
        let lista = "eventos = [\"agregar_integrante\", \"quitar_integrante\", \"dividir\"]";
        assert!(text.contains(lista));
        std::fs::write(
            dir.path().join("FPS-2026-9.toml"),
            text.replace("modelo = \"FPS-2026-1\"", "modelo = \"FPS-2026-9\"")
                .replace(lista, "eventos = [\"dividir\"]"),
        )
        .unwrap();
        let modelos = Modelos::load(dir.path(), "FPS-2026-1").unwrap();
        let r = Revision::de(&modelos);
        assert_eq!(r.no_marcan, ["FPS-2026-9"]);
        assert!(
            r.sin_modelo,
            "a ficha without a model is marked by a change of members"
        );
    }

    #[test]
    fn a_model_that_lists_no_births_is_named_and_quoted() {
        let r = Revision {
            no_marcan: vec!["FPS-2026-x'y".into()],
            sin_modelo: true,
        };
        assert_eq!(
            r.marca("f"),
            "CASE WHEN f.folio IS NULL THEN 0 WHEN f.modelo IN ('FPS-2026-x''y') THEN 0 ELSE 1 END"
        );
        let todos = Revision {
            no_marcan: Vec::new(),
            sin_modelo: true,
        };
        assert_eq!(
            todos.marca("f"),
            "CASE WHEN f.folio IS NULL THEN 0 ELSE 1 END"
        );
    }
}

//! The outbox (docs/eventos.md): each change the node applies that an agency may subscribe to is
//! a row of `eventos`, written in the change's own transaction. This module holds the kinds,
//! the lock that keeps ids in commit order on PostgreSQL, the insert of single events (surveys,
//! decrees) and what the set-based inserts of the feeds share (`ops::lotes`).

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::eventos;
use crate::domain::{Puntaje, Quintil, Run};

/// Key of the PostgreSQL advisory lock every writer of events takes just before its first
/// insert into `eventos`, held to its commit: ids come from a sequence, taken at insert and not
/// at commit, so without it a transaction could commit id 50 after another committed 51 and a
/// reader past 51 would never see 50. Taken after every other lock and row change of the
/// transaction (its events are written last), so that a holder waits for nothing but its own
/// audit record and commit: no lock cycle with `FOLIO_LOCK`, `BENEFICIO_LOCK`, `DECRETO_LOCK`
/// or a row lock. SQLite needs none: its one writer commits in id order.
pub const EVENTOS_LOCK: i64 = 0x5115_0013;

/// What happened to the person an event is about.
pub use crate::domain::TipoEvento as Tipo;

/// What wrote an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origen {
    /// A provider's batch; `origen_id` is the `lotes` id.
    Lote,
    /// A survey's result; `origen_id` is the request's id.
    Encuestaje,
    /// A decree; `origen_id` is its folio.
    Decreto,
}

impl Origen {
    pub fn as_str(self) -> &'static str {
        match self {
            Origen::Lote => "lote",
            Origen::Encuestaje => "encuestaje",
            Origen::Decreto => "decreto",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Evento {
    pub tipo: Tipo,
    /// The person it is about.
    pub run: Run,
    /// Another person it names: a birth's mother, the payee of a SUF causante's benefit.
    pub run_relacionado: Option<Run>,
    pub hogar_id: Option<i64>,
    /// The person's household comuna at the time; `None` without a household.
    pub cut: Option<String>,
    /// Its `datos`: a JSON object whose keys are those of docs/eventos.md (absent: not
    /// applicable).
    pub datos: serde_json::Value,
    pub origen: Origen,
    pub origen_id: String,
}

/// Takes [`EVENTOS_LOCK`] on PostgreSQL (nothing on SQLite). Taking it again in the same
/// transaction is harmless.
pub fn bloquear(conn: &mut DbConnection) -> QueryResult<()> {
    if let DbConnection::Pg(_) = conn {
        conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({EVENTOS_LOCK})"))?;
    }
    Ok(())
}

/// Records one event (after taking [`EVENTOS_LOCK`]), in the caller's transaction.
pub fn registrar(conn: &mut DbConnection, evento: &Evento) -> QueryResult<()> {
    registrar_todos(conn, std::slice::from_ref(evento))
}

/// Records `eventos` in order (ids ascending in slice order), after taking [`EVENTOS_LOCK`].
pub fn registrar_todos(conn: &mut DbConnection, lista: &[Evento]) -> QueryResult<()> {
    if lista.is_empty() {
        return Ok(());
    }
    bloquear(conn)?;
    let ahora = chrono::Utc::now().timestamp_micros();
    for e in lista {
        diesel::insert_into(eventos::table)
            .values((
                eventos::tipo.eq(e.tipo.as_str()),
                eventos::run.eq(e.run.numero() as i32),
                eventos::run_relacionado.eq(e.run_relacionado.map(|r| r.numero() as i32)),
                eventos::hogar_id.eq(e.hogar_id),
                eventos::cut.eq(e.cut.as_deref()),
                eventos::datos.eq(e.datos.to_string()),
                eventos::origen.eq(e.origen.as_str()),
                eventos::origen_id.eq(&e.origen_id),
                eventos::registrado_us.eq(ahora),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The `datos` of a ficha event (created or replaced): the new ficha, and the one it replaced.
pub fn datos_ficha(
    folio: i64,
    folio_anterior: Option<i64>,
    puntaje: Puntaje,
    fecha_aplicacion: chrono::NaiveDate,
    comuna: &str,
) -> serde_json::Value {
    let mut datos = serde_json::json!({
        "folio": folio,
        "puntaje": puntaje.value(),
        "quintil": puntaje.quintil().number(),
        "fechaAplicacion": fecha_aplicacion,
        "comuna": comuna,
    });
    if let Some(anterior) = folio_anterior {
        datos["folioAnterior"] = anterior.into();
    }
    datos
}

/// The SQL the set-based inserts of a batch share, for one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sql {
    pg: bool,
}

impl Sql {
    pub fn de(conn: &DbConnection) -> Sql {
        Sql {
            pg: matches!(conn, DbConnection::Pg(_)),
        }
    }

    /// A JSON object (as text) of `pares` (key, SQL expression); a key whose value is NULL is
    /// left out. Values are numbers, dates or texts of the registry's own columns.
    pub fn objeto(self, pares: &[(&str, &str)]) -> String {
        let args: Vec<String> = pares.iter().map(|(k, v)| format!("'{k}', {v}")).collect();
        let args = args.join(", ");
        if self.pg {
            format!("CAST(json_strip_nulls(json_build_object({args})) AS TEXT)")
        } else {
            // A merge patch (RFC 7396) drops the members whose value is null.
            format!("json_patch('{{}}', json_object({args}))")
        }
    }

    /// The quintile (1 to 5) of the score `puntaje`, as `Puntaje::quintil` gives it.
    pub fn quintil(self, puntaje: &str) -> String {
        let mut sql = String::from("CASE");
        for q in &Quintil::ALL[..4] {
            let (_, hasta) = q.range();
            sql.push_str(&format!(" WHEN {puntaje} <= {hasta} THEN {}", q.number()));
        }
        sql.push_str(&format!(" ELSE {} END", Quintil::V.number()));
        sql
    }

    /// The definition of a temporary table that holds a batch's events in order until they are
    /// recorded ([`Sql::registrar_temporal`]).
    pub fn tabla_temporal(self, nombre: &str) -> String {
        let orden = if self.pg {
            "orden BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"
        } else {
            "orden INTEGER PRIMARY KEY"
        };
        format!(
            "CREATE TEMPORARY TABLE {nombre} ({orden}, tipo TEXT NOT NULL, run INTEGER NOT NULL, \
             run_relacionado INTEGER, hogar_id BIGINT, cut TEXT, datos TEXT NOT NULL)"
        )
    }

    /// The statement that records the events held in the temporary table `nombre`, in its
    /// order, as written by `origen` `origen_id` (a number or a checked identifier: it is
    /// quoted here, not escaped). Take [`EVENTOS_LOCK`] first.
    pub fn registrar_temporal(
        self,
        nombre: &str,
        origen: Origen,
        origen_id: &str,
        ahora_us: i64,
    ) -> String {
        debug_assert!(!origen_id.contains('\''));
        format!(
            "INSERT INTO eventos (tipo, run, run_relacionado, hogar_id, cut, datos, origen, \
             origen_id, registrado_us) SELECT tipo, run, run_relacionado, hogar_id, cut, datos, \
             '{}', '{origen_id}', {ahora_us} FROM {nombre} ORDER BY orden",
            origen.as_str()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for t in Tipo::ALL {
            assert_eq!(Tipo::parse(t.as_str()), Some(t));
        }
        assert_eq!(Tipo::parse("Defuncion"), None);
    }

    #[test]
    fn the_sql_quintile_has_the_domains_cut_points() {
        let sql = Sql { pg: false }.quintil("p");
        assert_eq!(
            sql,
            "CASE WHEN p <= 8500 THEN 1 WHEN p <= 11734 THEN 2 WHEN p <= 13484 THEN 3 \
             WHEN p <= 14557 THEN 4 ELSE 5 END"
        );
    }
}

//! Survey requests in the registry. A change is applied by an UPDATE guarded by the version
//! the change was decided on, so two concurrent events on one request never both apply; the
//! event row and any ficha it creates go in the same transaction.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::models::{Ficha, Hogar, Integrante};
use crate::db::schema::{encuestaje_eventos, encuestajes, fichas, hogares, integrantes};
use crate::domain::{Cut, Puntaje, Run};
use crate::ops::ficha;

/// One survey request as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = encuestajes, treat_none_as_default_value = false)]
pub struct Fila {
    pub id: String,
    pub run: i32,
    pub cut: String,
    /// The agreement that asked for it: only it may follow the request.
    pub convenio: String,
    pub estado: String,
    pub visitas_fallidas: i32,
    pub fecha_solicitud: NaiveDate,
    pub fecha_vencimiento: NaiveDate,
    pub fecha_visita: Option<NaiveDate>,
    pub motivo_anulacion: Option<String>,
    /// The ficha the survey created.
    pub folio: Option<i64>,
    pub puntaje: Option<i32>,
    pub fecha_aplicacion: Option<NaiveDate>,
    pub version: i32,
    pub creada_us: i64,
    pub actualizada_us: i64,
}

/// One change of a request (the history a municipality and an auditor can read back).
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = encuestaje_eventos, treat_none_as_default_value = false)]
pub struct EventoFila {
    pub encuestaje_id: String,
    /// The request's version after this event (0 for its creation).
    pub secuencia: i32,
    pub evento: String,
    pub estado: String,
    pub fecha: Option<NaiveDate>,
    pub motivo: Option<String>,
    pub convenio: String,
    pub ts_us: i64,
}

pub fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

/// Stores a new request and its creation event.
pub fn insertar(conn: &mut DbConnection, fila: &Fila) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::insert_into(encuestajes::table)
            .values(fila)
            .execute(conn)?;
        diesel::insert_into(encuestaje_eventos::table)
            .values(EventoFila {
                encuestaje_id: fila.id.clone(),
                secuencia: fila.version,
                evento: "solicitar".into(),
                estado: fila.estado.clone(),
                fecha: None,
                motivo: None,
                convenio: fila.convenio.clone(),
                ts_us: fila.creada_us,
            })
            .execute(conn)?;
        Ok(())
    })
}

pub fn leer(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Fila>> {
    encuestajes::table
        .find(id)
        .select(Fila::as_select())
        .first(conn)
        .optional()
}

/// One page of a comuna's queue, soonest due first, and how many requests match in all.
pub fn cola(
    conn: &mut DbConnection,
    cut: &str,
    estado: Option<&str>,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<Fila>)> {
    let filtered = || {
        let mut q = encuestajes::table
            .filter(encuestajes::cut.eq(cut.to_owned()))
            .into_boxed();
        if let Some(estado) = estado {
            q = q.filter(encuestajes::estado.eq(estado.to_owned()));
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .order((
            encuestajes::fecha_vencimiento.asc(),
            encuestajes::creada_us.asc(),
            encuestajes::id.asc(),
        ))
        .offset(offset)
        .limit(limit)
        .select(Fila::as_select())
        .load(conn)?;
    Ok((total, rows))
}

/// A survey's result, to become the household's ficha in force.
pub struct Resultado {
    pub puntaje: Puntaje,
    pub fecha_aplicacion: NaiveDate,
}

/// Applies `despues` over `antes` (same id) with its event, in one transaction. Returns false,
/// changing nothing, when the request is no longer at `antes.version` (a concurrent event won).
/// With a survey result, the household's ficha in force is replaced by a new one (a person
/// without household gets one of their own in the request's comuna) and the request keeps the
/// new folio.
pub fn aplicar(
    conn: &mut DbConnection,
    antes: &Fila,
    despues: &Fila,
    evento: EventoFila,
    resultado: Option<Resultado>,
) -> QueryResult<bool> {
    conn.transaction(|conn| {
        // The guarded UPDATE is the transaction's first statement: it takes SQLite's write lock
        // before anything is read, and on both backends it matches nothing if the request moved.
        let changed = diesel::update(
            encuestajes::table
                .filter(encuestajes::id.eq(&antes.id))
                .filter(encuestajes::version.eq(antes.version)),
        )
        .set((
            encuestajes::estado.eq(&despues.estado),
            encuestajes::visitas_fallidas.eq(despues.visitas_fallidas),
            encuestajes::fecha_visita.eq(despues.fecha_visita),
            encuestajes::motivo_anulacion.eq(&despues.motivo_anulacion),
            encuestajes::puntaje.eq(despues.puntaje),
            encuestajes::fecha_aplicacion.eq(despues.fecha_aplicacion),
            encuestajes::version.eq(despues.version),
            encuestajes::actualizada_us.eq(despues.actualizada_us),
        ))
        .execute(conn)?;
        if changed == 0 {
            return Ok(false);
        }
        diesel::insert_into(encuestaje_eventos::table)
            .values(&evento)
            .execute(conn)?;
        if let Some(resultado) = resultado {
            let folio = nueva_ficha(conn, antes, &resultado)?;
            diesel::update(encuestajes::table.find(&antes.id))
                .set(encuestajes::folio.eq(folio))
                .execute(conn)?;
        }
        Ok(true)
    })
}

/// Key of the PostgreSQL advisory lock that serialises new folios (and households) within
/// their transactions. SQLite needs none: the guarded UPDATE already holds its only writer lock.
pub(crate) const FOLIO_LOCK: i64 = 0x5115_0004;

/// Replaces the household's ficha in force with the survey's; returns the new folio.
fn nueva_ficha(conn: &mut DbConnection, fila: &Fila, r: &Resultado) -> QueryResult<i64> {
    if matches!(conn, DbConnection::Pg(_)) {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({FOLIO_LOCK})"))?;
    }
    let run = Run::from_numero(fila.run as u32)
        .map_err(|_| diesel::result::Error::DeserializationError("stored RUN".into()))?;
    let hogar_id = match ficha::household_of(conn, run).map_err(into_query)? {
        Some(h) => {
            if h.cut != fila.cut {
                // Surveyed where the request was routed: that is the household's comuna now.
                diesel::update(hogares::table.find(h.hogar_id))
                    .set(hogares::cut.eq(&fila.cut))
                    .execute(conn)?;
            }
            h.hogar_id
        }
        None => {
            let id = next_id(
                hogares::table
                    .select(diesel::dsl::max(hogares::id))
                    .first(conn)?,
            );
            diesel::insert_into(hogares::table)
                .values(Hogar {
                    id,
                    cut: fila.cut.clone(),
                    direccion: String::new(),
                })
                .execute(conn)?;
            diesel::insert_into(integrantes::table)
                .values(Integrante {
                    run: fila.run,
                    hogar_id: id,
                    parentesco: "jefe".into(),
                })
                .execute(conn)?;
            id
        }
    };
    diesel::update(
        fichas::table
            .filter(fichas::hogar_id.eq(hogar_id))
            .filter(fichas::estado.eq("vigente")),
    )
    .set(fichas::estado.eq("reemplazada"))
    .execute(conn)?;
    let folio = next_id(
        fichas::table
            .select(diesel::dsl::max(fichas::folio))
            .first(conn)?,
    )
    .max(1_000_001);
    diesel::insert_into(fichas::table)
        .values(Ficha {
            folio,
            hogar_id,
            puntaje: i32::from(r.puntaje.value()),
            fecha_aplicacion: r.fecha_aplicacion,
            cut: fila.cut.clone(),
            estado: "vigente".into(),
        })
        .execute(conn)?;
    Ok(folio)
}

fn next_id(max: Option<i64>) -> i64 {
    max.unwrap_or(0) + 1
}

fn into_query(error: crate::db::DbError) -> diesel::result::Error {
    match error {
        crate::db::DbError::Query(e) => e,
        other => diesel::result::Error::QueryBuilderError(other.to_string().into()),
    }
}

/// The comuna's name for an answer (the catalogue knows every stored code).
pub fn nombre_comuna(cut: &str) -> Option<String> {
    Cut::parse(cut).ok().map(|c| c.comuna().nombre.clone())
}

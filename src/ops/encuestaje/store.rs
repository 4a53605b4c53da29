//! Survey requests in the registry. A change is applied by an UPDATE guarded by the version
//! the change was decided on, so two concurrent events on one request never both apply; the
//! event row and any ficha (and household) it creates go in the same transaction.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

use super::composicion::{self, Firma};
use super::estado::Datos;
use super::eventos;
use crate::db::DbConnection;
use crate::db::models::{Ficha, Hogar, Integrante};
use crate::db::schema::{encuestaje_eventos, encuestajes, fichas, hogares, integrantes, personas};
use crate::domain::{Cut, Puntaje, Run};
use crate::modelos::Modelos;
use crate::ops::ficha;
use crate::ops::hogar::registro;

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

/// A request's history, oldest first (its creation is the first).
pub fn eventos(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<EventoFila>> {
    encuestaje_eventos::table
        .filter(encuestaje_eventos::encuestaje_id.eq(id.to_owned()))
        .order(encuestaje_eventos::secuencia.asc())
        .select(EventoFila::as_select())
        .load(conn)
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

/// A survey's result, to become the ficha in force of the person's household in the
/// request's comuna.
pub struct Resultado<'a> {
    pub fecha_aplicacion: NaiveDate,
    pub datos: Datos,
    pub firma: Firma,
    /// The scoring models, which say what the survey's changes mark on other households.
    pub modelos: &'a Modelos,
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aplicacion {
    /// Applied; a survey's score.
    Aplicada(Option<Puntaje>),
    /// The request is no longer at the version the event was decided on (a concurrent event
    /// won): nothing changed.
    Cambiada,
    /// A survey of a RUN for which the registry holds no living person: nothing changed. With
    /// a questionnaire, the index of the first such member; without, the request's person.
    NoEncuestable(Option<usize>),
}

/// Why [`aplicar`]'s transaction was rolled back.
pub(super) enum Deshecha {
    Db(diesel::result::Error),
    NoEncuestable(Option<usize>),
}

impl From<diesel::result::Error> for Deshecha {
    fn from(e: diesel::result::Error) -> Self {
        Deshecha::Db(e)
    }
}

/// Applies `despues` over `antes` (same id) with its event, in one transaction. Changes nothing
/// when the request is no longer at `antes.version`, or when a survey result is for a RUN that
/// is not a living person on record. A survey result becomes the ficha in force of the
/// person's household in the request's comuna (a questionnaire: [`composicion`]; a bare
/// score: [`nueva_ficha`]) and the request keeps the new folio and score.
pub fn aplicar(
    conn: &mut DbConnection,
    antes: &Fila,
    despues: &Fila,
    evento: EventoFila,
    resultado: Option<Resultado<'_>>,
) -> QueryResult<Aplicacion> {
    let outcome = conn.transaction(|conn| {
        // A savepoint of the broker's write transaction (which holds SQLite's write lock from
        // its first statement): on both backends the guarded UPDATE matches nothing if the
        // request moved.
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
            return Ok(Aplicacion::Cambiada);
        }
        diesel::insert_into(encuestaje_eventos::table)
            .values(&evento)
            .execute(conn)?;
        let Some(r) = resultado else {
            return Ok(Aplicacion::Aplicada(None));
        };
        let (folio, puntaje) = match &r.datos {
            Datos::Cuestionario(c) => {
                composicion::aplicar(conn, antes, c, r.fecha_aplicacion, &r.firma, r.modelos)?
            }
            Datos::Puntaje(puntaje) => {
                if !persona_viva(conn, antes.run)? {
                    return Err(Deshecha::NoEncuestable(None));
                }
                (
                    nueva_ficha(
                        conn,
                        antes,
                        *puntaje,
                        r.fecha_aplicacion,
                        &r.firma,
                        r.modelos,
                    )?,
                    *puntaje,
                )
            }
        };
        diesel::update(encuestajes::table.find(&antes.id))
            .set((
                encuestajes::folio.eq(folio),
                encuestajes::puntaje.eq(i32::from(puntaje.value())),
            ))
            .execute(conn)?;
        Ok(Aplicacion::Aplicada(Some(puntaje)))
    });
    match outcome {
        Ok(aplicacion) => Ok(aplicacion),
        Err(Deshecha::NoEncuestable(i)) => Ok(Aplicacion::NoEncuestable(i)),
        Err(Deshecha::Db(e)) => Err(e),
    }
}

/// Whether `run` is a person on record without a date of death.
fn persona_viva(conn: &mut DbConnection, run: i32) -> QueryResult<bool> {
    let defuncion: Option<Option<NaiveDate>> = personas::table
        .find(run)
        .select(personas::fecha_defuncion)
        .first(conn)
        .optional()?;
    Ok(matches!(defuncion, Some(None)))
}

use crate::db::FOLIO_LOCK;

/// Serialises new folios and household ids among concurrent surveys (PostgreSQL; SQLite's
/// write transaction already does).
pub(super) fn bloquear_folios(conn: &mut DbConnection) -> QueryResult<()> {
    if matches!(conn, DbConnection::Pg(_)) {
        use diesel::connection::SimpleConnection;
        conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({FOLIO_LOCK})"))?;
    }
    Ok(())
}

/// The household of the request's person when it is in the request's comuna.
pub(super) fn hogar_en_comuna(conn: &mut DbConnection, fila: &Fila) -> QueryResult<Option<i64>> {
    let run = Run::from_numero(fila.run as u32)
        .map_err(|_| diesel::result::Error::DeserializationError("stored RUN".into()))?;
    Ok(ficha::hogar_de(conn, run)
        .map_err(into_query)?
        .filter(|h| h.cut == fila.cut)
        .map(|h| h.hogar_id))
}

/// Puts the household's ficha in force out of force (`reemplazada`) and returns the folio
/// its successor takes (numbered under [`FOLIO_LOCK`]).
pub(super) fn reemplazar_ficha(conn: &mut DbConnection, hogar_id: i64) -> QueryResult<i64> {
    diesel::update(
        fichas::table
            .filter(fichas::hogar_id.eq(hogar_id))
            .filter(fichas::estado.eq("vigente")),
    )
    .set(fichas::estado.eq("reemplazada"))
    .execute(conn)?;
    Ok(next_id(
        fichas::table
            .select(diesel::dsl::max(fichas::folio))
            .first(conn)?,
    )
    .max(1_000_001))
}

/// Makes a bare score (no questionnaire) the ficha in force of the person's household in the
/// request's comuna; returns the new folio. Its `modelo` stays NULL, as a feed's.
///
/// - A household already in that comuna: its ficha in force becomes `reemplazada`.
/// - A household in another comuna: the person moved. They leave it for a household of their
///   own in the request's comuna; that household and its other members stay where they are
///   (a household is never moved: each member who moved is surveyed where they live), and its
///   history records the departure, marking its ficha as its model says ([`registro`]).
/// - Either way the surveyed household's history records the survey (`encuestar`).
/// - No household: the person gets one of their own in the request's comuna.
fn nueva_ficha(
    conn: &mut DbConnection,
    fila: &Fila,
    puntaje: Puntaje,
    fecha_aplicacion: NaiveDate,
    firma: &Firma,
    modelos: &Modelos,
) -> QueryResult<i64> {
    bloquear_folios(conn)?;
    let en_comuna = hogar_en_comuna(conn, fila)?;
    let mut tocados = vec![fila.run];
    if let Some(id) = en_comuna {
        tocados.extend(
            integrantes::table
                .filter(integrantes::hogar_id.eq(id))
                .select(integrantes::run)
                .load::<i32>(conn)?,
        );
    }
    let antes = eventos::Antes::leer(conn, &tocados)?;
    let (hogar_id, origen) = match en_comuna {
        Some(id) => (id, None),
        None => {
            let id = nuevo_hogar(conn, &fila.cut)?;
            let origen: Option<(i64, String)> = integrantes::table
                .inner_join(hogares::table)
                .filter(integrantes::run.eq(fila.run))
                .select((hogares::id, hogares::cut))
                .first(conn)
                .optional()?;
            if origen.is_some() {
                diesel::update(integrantes::table.find(fila.run))
                    .set((
                        integrantes::hogar_id.eq(id),
                        integrantes::parentesco.eq("jefe"),
                    ))
                    .execute(conn)?;
            } else {
                diesel::insert_into(integrantes::table)
                    .values(Integrante {
                        run: fila.run,
                        hogar_id: id,
                        parentesco: "jefe".into(),
                    })
                    .execute(conn)?;
            }
            (id, origen)
        }
    };
    let folio = reemplazar_ficha(conn, hogar_id)?;
    let mut eventos = registro::Encuesta::new(
        registro::Autor {
            convenio: &firma.convenio,
            usuario: firma.usuario,
            modelos,
        },
        folio,
        hogar_id,
        &fila.cut,
    );
    if let Some((origen, cut)) = origen {
        eventos.llegada(conn, fila.run, origen, &cut)?;
    }
    let direccion: String = hogares::table
        .find(hogar_id)
        .select(hogares::direccion)
        .first(conn)?;
    // A bare score lists no members: it is the household's as it stands.
    eventos.encuestar(conn, &direccion, &[])?;
    diesel::insert_into(fichas::table)
        .values(Ficha {
            folio,
            hogar_id,
            puntaje: i32::from(puntaje.value()),
            fecha_aplicacion,
            cut: fila.cut.clone(),
            estado: "vigente".into(),
        })
        .execute(conn)?;
    diesel::update(fichas::table.find(folio))
        .set(fichas::encuestador.eq(firma.encuestador()))
        .execute(conn)?;
    let nueva = eventos::Nueva {
        hogar_id,
        folio,
        puntaje,
        fecha_aplicacion,
        fila,
    };
    eventos::registrar(conn, &antes, &nueva)?;
    Ok(folio)
}

/// A new, empty household in comuna `cut` (numbered under [`FOLIO_LOCK`]); returns its id.
pub(crate) fn nuevo_hogar(conn: &mut DbConnection, cut: &str) -> QueryResult<i64> {
    let id = next_id(
        hogares::table
            .select(diesel::dsl::max(hogares::id))
            .first(conn)?,
    );
    diesel::insert_into(hogares::table)
        .values(Hogar {
            id,
            cut: cut.to_owned(),
            direccion: String::new(),
        })
        .execute(conn)?;
    Ok(id)
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

//! Households and their events in the registry. An event is decided on the household as read
//! and applied by [`aplicar`] in one transaction, guarded by `hogares.version` (and each member
//! it moves by the household it was read in), so that two concurrent events on one household
//! never both apply on the same reading: the loser changes nothing and is decided again.

use chrono::Utc;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::{fichas, hogar_eventos, hogares, integrantes, personas};
use crate::db::{DbConnection, FOLIO_LOCK};

/// A household as read, with the version an event on it is decided on.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = hogares)]
pub struct HogarFila {
    pub id: i64,
    pub cut: String,
    pub direccion: String,
    pub version: i32,
}

/// One row of `hogar_eventos`.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = hogar_eventos, treat_none_as_default_value = false)]
pub struct EventoFila {
    pub id: String,
    pub hogar_id: i64,
    pub secuencia: i32,
    pub evento: String,
    pub run: Option<i32>,
    pub hogar_destino: Option<i64>,
    pub datos: String,
    pub motivo: String,
    pub convenio: String,
    pub usuario: Option<String>,
    pub marca_revision: i32,
    pub ts_us: i64,
}

/// What `hogar_eventos.datos` holds besides the columns (JSON; absent keys are `None`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Datos {
    /// The added member's relationship to the head.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parentesco: Option<String>,
    /// The new address (`cambiar_domicilio`, `dividir`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direccion: Option<String>,
    /// The address before (`cambiar_domicilio`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anterior: Option<String>,
    /// The members split off (`dividir`), as RUN texts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runs: Option<Vec<String>>,
    /// The household the added member came from (`agregar_integrante`; never answered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desde: Option<i64>,
    /// The household the member left for (the row of a member who left through another
    /// household's `agregar_integrante`; never answered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hacia: Option<i64>,
    /// That household is of another comuna: its reason and author are not this comuna's to
    /// read (the row keeps them for the auditor).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub externo: Option<bool>,
}

impl Datos {
    pub fn json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    pub fn parse(text: &str) -> Datos {
        serde_json::from_str(text).unwrap_or_default()
    }
}

pub fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

/// The household `run` is a member of.
pub fn hogar_de(conn: &mut DbConnection, run: i32) -> QueryResult<Option<HogarFila>> {
    integrantes::table
        .inner_join(hogares::table)
        .filter(integrantes::run.eq(run))
        .select(HogarFila::as_select())
        .first(conn)
        .optional()
}

pub fn hogar(conn: &mut DbConnection, id: i64) -> QueryResult<HogarFila> {
    hogares::table
        .find(id)
        .select(HogarFila::as_select())
        .first(conn)
}

/// A household's members (RUN, parentesco), in RUN order.
pub fn integrantes(conn: &mut DbConnection, hogar_id: i64) -> QueryResult<Vec<(i32, String)>> {
    integrantes::table
        .filter(integrantes::hogar_id.eq(hogar_id))
        .order(integrantes::run.asc())
        .select((integrantes::run, integrantes::parentesco))
        .load(conn)
}

/// The household's ficha in force: its folio and the event that marked it for review.
pub fn ficha_vigente(
    conn: &mut DbConnection,
    hogar_id: i64,
) -> QueryResult<Option<(i64, Option<String>)>> {
    fichas::table
        .filter(fichas::hogar_id.eq(hogar_id))
        .filter(fichas::estado.eq("vigente"))
        .select((fichas::folio, fichas::revision))
        .first(conn)
        .optional()
}

/// The household's history, oldest first: its own events and the one that created it.
pub fn eventos(conn: &mut DbConnection, hogar_id: i64) -> QueryResult<Vec<EventoFila>> {
    hogar_eventos::table
        .filter(
            hogar_eventos::hogar_id
                .eq(hogar_id)
                .or(hogar_eventos::hogar_destino.eq(hogar_id)),
        )
        .order((hogar_eventos::ts_us.asc(), hogar_eventos::id.asc()))
        .select(EventoFila::as_select())
        .load(conn)
}

/// Whether `run` is a person on record without a date of death.
pub fn persona_viva(conn: &mut DbConnection, run: i32) -> QueryResult<bool> {
    let defuncion: Option<Option<chrono::NaiveDate>> = personas::table
        .find(run)
        .select(personas::fecha_defuncion)
        .first(conn)
        .optional()?;
    Ok(matches!(defuncion, Some(None)))
}

/// A person joining the household (`agregar_integrante`).
#[derive(Debug, Clone)]
pub struct Llegada {
    pub run: i32,
    pub parentesco: String,
    /// The household they leave (with the version the event was decided on), if any.
    pub origen: Option<HogarFila>,
    /// The row recorded on that household, its marca and secuencia set by [`aplicar`].
    pub evento_origen: Option<EventoFila>,
    /// Whether their departure calls for the review of that household's ficha in force.
    pub revisar_origen: bool,
}

/// What one event changes, decided on `hogar` as read.
#[derive(Debug, Clone)]
pub struct Escritura {
    pub hogar: HogarFila,
    /// Its new address.
    pub direccion: Option<String>,
    /// A new household of the same comuna, with this address, for the members who leave.
    pub nuevo: Option<String>,
    /// Members who leave for the new household, with their parentesco there.
    pub salen: Vec<(i32, String)>,
    pub llega: Option<Llegada>,
    /// The row recorded on `hogar` (its secuencia, marca and new household set by [`aplicar`]).
    pub evento: EventoFila,
    /// Whether the event calls for the review of `hogar`'s ficha in force.
    pub revisar: bool,
}

/// What applying an event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aplicacion {
    Aplicada,
    /// A household or member is no longer as read (a concurrent change won): nothing changed.
    Cambiada,
}

enum Deshecha {
    Db(diesel::result::Error),
    Cambiada,
}

impl From<diesel::result::Error> for Deshecha {
    fn from(e: diesel::result::Error) -> Self {
        Deshecha::Db(e)
    }
}

/// Raises `hogar`'s version from the one read (and sets its address); false if it moved on.
fn avanzar(
    conn: &mut DbConnection,
    hogar: &HogarFila,
    direccion: Option<&str>,
) -> QueryResult<bool> {
    let guarded = hogares::table
        .filter(hogares::id.eq(hogar.id))
        .filter(hogares::version.eq(hogar.version));
    let changed = diesel::update(guarded)
        .set((
            hogares::version.eq(hogar.version + 1),
            hogares::direccion.eq(direccion.unwrap_or(&hogar.direccion)),
        ))
        .execute(conn)?;
    Ok(changed == 1)
}

/// The scoring model of household `hogar_id`'s ficha in force (`None`: no ficha, or a score
/// without a model).
pub fn modelo_vigente(conn: &mut DbConnection, hogar_id: i64) -> QueryResult<Option<String>> {
    Ok(fichas::table
        .filter(fichas::hogar_id.eq(hogar_id))
        .filter(fichas::estado.eq("vigente"))
        .select(fichas::modelo)
        .first::<Option<String>>(conn)
        .optional()?
        .flatten())
}

/// Marks the household's ficha in force for review by event `id` (a ficha already marked keeps
/// the event that marked it first); whether there was one.
pub(super) fn marcar(conn: &mut DbConnection, hogar_id: i64, id: &str) -> QueryResult<bool> {
    let vigente = fichas::table
        .filter(fichas::hogar_id.eq(hogar_id))
        .filter(fichas::estado.eq("vigente"));
    let marked = diesel::update(vigente.filter(fichas::revision.is_null()))
        .set(fichas::revision.eq(id))
        .execute(conn)?;
    if marked > 0 {
        return Ok(true);
    }
    Ok(vigente.count().get_result::<i64>(conn)? > 0)
}

/// Moves member `run` from household `desde` to `hacia` as `parentesco`; false if they are
/// no longer in `desde`.
fn mudar(
    conn: &mut DbConnection,
    run: i32,
    desde: i64,
    hacia: i64,
    parentesco: &str,
) -> QueryResult<bool> {
    let changed = diesel::update(
        integrantes::table
            .filter(integrantes::run.eq(run))
            .filter(integrantes::hogar_id.eq(desde)),
    )
    .set((
        integrantes::hogar_id.eq(hacia),
        integrantes::parentesco.eq(parentesco),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Applies `w` in one transaction (a savepoint of the broker's write transaction): nothing
/// changes when a household or a member is no longer as read.
pub fn aplicar(conn: &mut DbConnection, w: &Escritura) -> QueryResult<Aplicacion> {
    let outcome = conn.transaction(|conn| {
        // A new household is numbered under the folio lock, which a survey takes before it
        // locks the household row: taken first here too, so the two never wait on each other
        // in opposite order (PostgreSQL would abort one as a deadlock).
        if w.nuevo.is_some() && matches!(conn, DbConnection::Pg(_)) {
            use diesel::connection::SimpleConnection;
            conn.batch_execute(&format!("SELECT pg_advisory_xact_lock({FOLIO_LOCK})"))?;
        }
        if !avanzar(conn, &w.hogar, w.direccion.as_deref())? {
            return Err(Deshecha::Cambiada);
        }
        let mut evento = w.evento.clone();
        evento.secuencia = w.hogar.version + 1;
        if let Some(direccion) = &w.nuevo {
            let id = crate::ops::encuestaje::store::nuevo_hogar(conn, &w.hogar.cut)?;
            diesel::update(hogares::table.find(id))
                .set(hogares::direccion.eq(direccion))
                .execute(conn)?;
            for (run, parentesco) in &w.salen {
                if !mudar(conn, *run, w.hogar.id, id, parentesco)? {
                    return Err(Deshecha::Cambiada);
                }
            }
            evento.hogar_destino = Some(id);
        }
        if let Some(llega) = &w.llega {
            match &llega.origen {
                Some(origen) => {
                    if !avanzar(conn, origen, None)?
                        || !mudar(conn, llega.run, origen.id, w.hogar.id, &llega.parentesco)?
                    {
                        return Err(Deshecha::Cambiada);
                    }
                }
                None => {
                    diesel::insert_into(integrantes::table)
                        .values((
                            integrantes::run.eq(llega.run),
                            integrantes::hogar_id.eq(w.hogar.id),
                            integrantes::parentesco.eq(&llega.parentesco),
                        ))
                        .execute(conn)?;
                }
            }
            if let (Some(origen), Some(fila)) = (&llega.origen, &llega.evento_origen) {
                let mut fila = fila.clone();
                fila.secuencia = origen.version + 1;
                fila.marca_revision =
                    i32::from(llega.revisar_origen && marcar(conn, origen.id, &fila.id)?);
                diesel::insert_into(hogar_eventos::table)
                    .values(&fila)
                    .execute(conn)?;
            }
        }
        evento.marca_revision = i32::from(w.revisar && marcar(conn, w.hogar.id, &evento.id)?);
        diesel::insert_into(hogar_eventos::table)
            .values(&evento)
            .execute(conn)?;
        Ok(Aplicacion::Aplicada)
    });
    match outcome {
        Ok(a) => Ok(a),
        Err(Deshecha::Cambiada) => Ok(Aplicacion::Cambiada),
        Err(Deshecha::Db(e)) => Err(e),
    }
}

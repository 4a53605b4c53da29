//! The events a survey writes into household histories, inside the survey's transaction
//! (TrabajarEncuestaje's `encuestar`: [`crate::ops::encuestaje::composicion`]). Upkeep decides
//! an event on a household as read and applies it under `hogares.version`; a survey has
//! already decided, and holds the households it changes in its own transaction, so each event
//! here raises the household's version unguarded: an upkeep event decided on the version
//! before is then decided again on what the survey left.
//!
//! - The surveyed household: one `encuestar` event (the address and members surveyed), after
//!   one `quitar_integrante` for each member who was not listed and left for a household of
//!   their own. None marks: the survey's new ficha replaces the one in force.
//! - Each household a listed member left: a `quitar_integrante` (as upkeep's
//!   `agregar_integrante` writes on the household a person leaves), marking its ficha in force
//!   for review as its model says ([`marca_revision`]). To another comuna it shows the fixed
//!   reason and no author ([`super::respuesta::MOTIVO_EXTERNO`]).
//!
//! The births feed writes its `agregar_integrante` events set-based, in
//! `ops::lotes::feeds`.

use diesel::prelude::*;

use super::evento::{TipoEventoHogar, marca_revision};
use super::store::{self, Datos, EventoFila};
use crate::db::DbConnection;
use crate::db::schema::{hogar_eventos, hogares};
use crate::domain::Run;
use crate::modelos::Modelos;

/// `encuestar`, as stored in `hogar_eventos.evento` (a survey's own record; not an event a
/// municipality sends).
pub const ENCUESTAR: &str = "encuestar";

/// Who applied a survey, and the models that decide what its changes mark.
pub struct Autor<'a> {
    pub convenio: &'a str,
    pub usuario: Option<Run>,
    pub modelos: &'a Modelos,
}

/// The events of one survey, in the order they are recorded.
pub struct Encuesta<'a> {
    pub autor: Autor<'a>,
    /// The new ficha's folio, named in every reason.
    pub folio: i64,
    /// The surveyed household and its comuna.
    pub hogar: i64,
    pub cut: &'a str,
    /// Its recorded instant; each event takes the next microsecond, so that history keeps
    /// the order they were recorded in.
    ts_us: i64,
}

impl<'a> Encuesta<'a> {
    pub fn new(autor: Autor<'a>, folio: i64, hogar: i64, cut: &'a str) -> Encuesta<'a> {
        Encuesta {
            autor,
            folio,
            hogar,
            cut,
            ts_us: store::now_us(),
        }
    }

    fn fila(&mut self, hogar_id: i64, evento: &str, run: Option<i32>, datos: Datos) -> EventoFila {
        self.ts_us += 1;
        EventoFila {
            id: uuid::Uuid::new_v4().to_string(),
            hogar_id,
            secuencia: 0,
            evento: evento.to_owned(),
            run,
            hogar_destino: None,
            datos: datos.json(),
            motivo: format!("encuesta aplicada, folio {}", self.folio),
            convenio: self.autor.convenio.to_owned(),
            usuario: self.autor.usuario.map(|u| u.to_string()),
            marca_revision: 0,
            ts_us: self.ts_us,
        }
    }

    /// Member `run`, not listed, left the surveyed household for `propio`, of their own.
    pub fn no_listado(
        &mut self,
        conn: &mut DbConnection,
        run: i32,
        propio: i64,
    ) -> QueryResult<()> {
        let mut fila = self.fila(
            self.hogar,
            TipoEventoHogar::QuitarIntegrante.as_str(),
            Some(run),
            Datos::default(),
        );
        fila.motivo = format!("no figura en la encuesta aplicada, folio {}", self.folio);
        fila.hogar_destino = Some(propio);
        insertar(conn, fila)
    }

    /// Listed member `run` moved in from household `origen` (of comuna `cut_origen`): its
    /// history records them leaving, and its ficha in force is marked as its model says.
    pub fn llegada(
        &mut self,
        conn: &mut DbConnection,
        run: i32,
        origen: i64,
        cut_origen: &str,
    ) -> QueryResult<()> {
        let tipo = TipoEventoHogar::QuitarIntegrante;
        let mut fila = self.fila(
            origen,
            tipo.as_str(),
            Some(run),
            Datos {
                hacia: Some(self.hogar),
                externo: Some(cut_origen != self.cut),
                ..Datos::default()
            },
        );
        let modelo = store::modelo_vigente(conn, origen)?;
        let modelo = modelo.as_deref().and_then(|m| self.autor.modelos.get(m));
        if marca_revision(modelo.map(|m| &**m), tipo) {
            fila.marca_revision = i32::from(store::marcar(conn, origen, &fila.id)?);
        }
        insertar(conn, fila)
    }

    /// The survey itself, on the surveyed household: its address and the members listed (none
    /// for a bare score).
    pub fn encuestar(
        &mut self,
        conn: &mut DbConnection,
        direccion: &str,
        listados: &[Run],
    ) -> QueryResult<()> {
        let fila = self.fila(
            self.hogar,
            ENCUESTAR,
            None,
            Datos {
                direccion: Some(direccion.to_owned()),
                runs: (!listados.is_empty()).then(|| listados.iter().map(Run::to_string).collect()),
                ..Datos::default()
            },
        );
        insertar(conn, fila)
    }
}

/// Raises the household's version by one and records `fila` with it as its secuencia.
fn insertar(conn: &mut DbConnection, mut fila: EventoFila) -> QueryResult<()> {
    diesel::update(hogares::table.find(fila.hogar_id))
        .set(hogares::version.eq(hogares::version + 1))
        .execute(conn)?;
    fila.secuencia = hogares::table
        .find(fila.hogar_id)
        .select(hogares::version)
        .first(conn)?;
    diesel::insert_into(hogar_eventos::table)
        .values(&fila)
        .execute(conn)?;
    Ok(())
}

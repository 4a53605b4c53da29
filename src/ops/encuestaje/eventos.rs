//! The events of a survey's result (docs/eventos.md), in [`store::aplicar`]'s transaction: each
//! member of the surveyed household gets `ficha_creada` (no ficha in force before) or
//! `ficha_reemplazada` (the one they had, `folioAnterior`, even when it was another
//! household's), after a `comuna_cambiada` when they lived in a household of another comuna.
//! What each member had is read before the survey changes anything ([`Antes::leer`]).
//!
//! [`store::aplicar`]: super::store::aplicar

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::store::Fila;
use crate::db::DbConnection;
use crate::db::schema::{fichas, hogares, integrantes};
use crate::domain::{Puntaje, Run};
use crate::eventos::{self, Evento, Origen, Tipo};

/// Each person's household comuna and the folio of its ficha in force, before the survey.
pub(super) struct Antes(HashMap<i32, (String, Option<i64>)>);

impl Antes {
    /// What `runs` (the persons the survey may touch) had; a person without a household is
    /// not in it.
    pub(super) fn leer(conn: &mut DbConnection, runs: &[i32]) -> QueryResult<Antes> {
        let filas: Vec<(i32, String, Option<i64>)> = integrantes::table
            .inner_join(hogares::table)
            .left_join(
                fichas::table.on(fichas::hogar_id
                    .eq(integrantes::hogar_id)
                    .and(fichas::estado.eq("vigente"))),
            )
            .filter(integrantes::run.eq_any(runs))
            .select((integrantes::run, hogares::cut, fichas::folio.nullable()))
            .load(conn)?;
        Ok(Antes(
            filas
                .into_iter()
                .map(|(run, cut, folio)| (run, (cut, folio)))
                .collect(),
        ))
    }
}

/// The new ficha the survey made.
pub(super) struct Nueva<'a> {
    pub hogar_id: i64,
    pub folio: i64,
    pub puntaje: Puntaje,
    pub fecha_aplicacion: NaiveDate,
    pub fila: &'a Fila,
}

/// Records the events of the survey, for every member of the surveyed household as it now
/// stands (in RUN order). Call it last in the transaction (`EVENTOS_LOCK`).
pub(super) fn registrar(
    conn: &mut DbConnection,
    antes: &Antes,
    nueva: &Nueva<'_>,
) -> QueryResult<()> {
    let miembros: Vec<i32> = integrantes::table
        .filter(integrantes::hogar_id.eq(nueva.hogar_id))
        .select(integrantes::run)
        .order(integrantes::run)
        .load(conn)?;
    let cut = &nueva.fila.cut;
    let evento = |tipo, run, datos| Evento {
        tipo,
        run,
        run_relacionado: None,
        hogar_id: Some(nueva.hogar_id),
        cut: Some(cut.clone()),
        datos,
        origen: Origen::Encuestaje,
        origen_id: nueva.fila.id.clone(),
    };
    let mut lista = Vec::with_capacity(miembros.len() + 1);
    for numero in miembros {
        let run = Run::from_numero(numero as u32)
            .map_err(|_| diesel::result::Error::DeserializationError("stored RUN".into()))?;
        let (cut_anterior, folio_anterior) = match antes.0.get(&numero) {
            Some((c, f)) => (Some(c), *f),
            None => (None, None),
        };
        if let Some(anterior) = cut_anterior.filter(|c| *c != cut) {
            lista.push(evento(
                Tipo::ComunaCambiada,
                run,
                serde_json::json!({ "comuna": cut, "comunaAnterior": anterior }),
            ));
        }
        let tipo = match folio_anterior {
            Some(_) => Tipo::FichaReemplazada,
            None => Tipo::FichaCreada,
        };
        lista.push(evento(
            tipo,
            run,
            eventos::datos_ficha(
                nueva.folio,
                folio_anterior,
                nueva.puntaje,
                nueva.fecha_aplicacion,
                cut,
            ),
        ));
    }
    eventos::registrar_todos(conn, &lista)
}

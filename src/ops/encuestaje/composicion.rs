//! A questionnaire applied to the registry, inside [`store::aplicar`]'s transaction: the
//! household as surveyed replaces the previous composition only for the persons surveyed, in
//! the surveying comuna.
//!
//! - The surveyed household is the request's person's household when it is in the request's
//!   comuna, otherwise a new one there.
//! - Each listed member moves into it with the relationship surveyed, from wherever they lived
//!   (another household of the comuna or of another comuna): the household they leave and
//!   its other members stay as they are; its ficha is marked for review as its model says.
//! - A current member of the surveyed household who is not listed leaves it for a household of
//!   their own in the same comuna, without a ficha (the ficha covers exactly the persons
//!   surveyed).
//! - The household's address becomes the surveyed one; its ficha in force is `reemplazada` by
//!   a new ficha with the model's score, the model's name and the surveyor; the questionnaire
//!   is stored with the folio (`encuestas`, `encuesta_integrantes`).
//! - Each change is an event in the history of each household it touches
//!   ([`registro`]): `encuestar` on the surveyed household (after a `quitar_integrante` for
//!   each member not listed), and a `quitar_integrante` on each household a listed member
//!   left, which raises its version and marks its ficha for review as its model says.
//!
//! [`store::aplicar`]: super::store::aplicar

use chrono::NaiveDate;
use diesel::prelude::*;

use super::cuestionario::Cuestionario;
use super::eventos;
use super::store::{self, Deshecha, Fila};
use crate::db::DbConnection;
use crate::db::models::{EncuestaIntegranteRow, EncuestaRow};
use crate::db::schema::{encuesta_integrantes, encuestas, fichas, hogares, integrantes, personas};
use crate::domain::{Puntaje, Run};
use crate::modelos::{Encuesta, IntegranteEncuesta, Modelos, puntuar};
use crate::ops::hogar::registro;

/// Who recorded a survey.
pub struct Firma {
    pub convenio: String,
    /// The console user's RUN, when one recorded it.
    pub usuario: Option<Run>,
}

impl Firma {
    /// What `fichas.encuestador` holds: the official's RUN when one signed in to the console,
    /// otherwise the agreement.
    pub(super) fn encuestador(&self) -> String {
        match self.usuario {
            Some(run) => run.to_string(),
            None => self.convenio.clone(),
        }
    }
}

/// Each member's age on `fecha`, or the index of the first member the registry holds no
/// living person for.
fn edades(
    conn: &mut DbConnection,
    c: &Cuestionario,
    fecha: NaiveDate,
) -> Result<Vec<u32>, Deshecha> {
    let mut out = Vec::with_capacity(c.integrantes.len());
    for (i, m) in c.integrantes.iter().enumerate() {
        let persona: Option<(NaiveDate, Option<NaiveDate>)> = personas::table
            .find(m.run.numero() as i32)
            .select((personas::fecha_nacimiento, personas::fecha_defuncion))
            .first(conn)
            .optional()?;
        match persona {
            Some((nacimiento, None)) => out.push(fecha.years_since(nacimiento).unwrap_or(0)),
            _ => return Err(Deshecha::NoEncuestable(Some(i))),
        }
    }
    Ok(out)
}

/// Applies the questionnaire for request `fila`; returns the new folio and its score.
pub(super) fn aplicar(
    conn: &mut DbConnection,
    fila: &Fila,
    c: &Cuestionario,
    fecha: NaiveDate,
    firma: &Firma,
    modelos: &Modelos,
) -> Result<(i64, Puntaje), Deshecha> {
    let edades = edades(conn, c, fecha)?;
    let encuesta = Encuesta {
        integrantes: c
            .integrantes
            .iter()
            .zip(&edades)
            .map(|(m, edad)| IntegranteEncuesta {
                edad: *edad,
                escolaridad_anios: m.escolaridad_anios,
                asiste_educacion: m.asiste_educacion,
                salud: m.salud,
                actividad: m.actividad,
                ingreso_trabajo: m.ingreso_trabajo,
                ingreso_pensiones: m.ingreso_pensiones,
                ingreso_otros: m.ingreso_otros,
            })
            .collect(),
    };
    let puntaje = puntuar(&c.modelo, &encuesta);
    store::bloquear_folios(conn)?;
    let mut tocados: Vec<i32> = c
        .integrantes
        .iter()
        .map(|m| m.run.numero() as i32)
        .collect();
    tocados.push(fila.run);
    let antes = eventos::Antes::leer(conn, &tocados)?;
    let hogar_id = match store::hogar_en_comuna(conn, fila)? {
        Some(id) => id,
        None => store::nuevo_hogar(conn, &fila.cut)?,
    };
    let folio = store::reemplazar_ficha(conn, hogar_id)?;
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
    diesel::update(hogares::table.find(hogar_id))
        .set(hogares::direccion.eq(&c.direccion))
        .execute(conn)?;
    let listados: Vec<i32> = c
        .integrantes
        .iter()
        .map(|m| m.run.numero() as i32)
        .collect();
    let fuera: Vec<i32> = integrantes::table
        .filter(integrantes::hogar_id.eq(hogar_id))
        .filter(integrantes::run.ne_all(&listados))
        .select(integrantes::run)
        .order(integrantes::run)
        .load(conn)?;
    for run in fuera {
        let propio = store::nuevo_hogar(conn, &fila.cut)?;
        diesel::update(integrantes::table.find(run))
            .set((
                integrantes::hogar_id.eq(propio),
                integrantes::parentesco.eq("jefe"),
            ))
            .execute(conn)?;
        eventos.no_listado(conn, run, propio)?;
    }
    for m in &c.integrantes {
        let run = m.run.numero() as i32;
        let origen: Option<(i64, String)> = integrantes::table
            .inner_join(hogares::table)
            .filter(integrantes::run.eq(run))
            .select((hogares::id, hogares::cut))
            .first(conn)
            .optional()?;
        match &origen {
            Some(_) => {
                diesel::update(integrantes::table.find(run))
                    .set((
                        integrantes::hogar_id.eq(hogar_id),
                        integrantes::parentesco.eq(m.parentesco),
                    ))
                    .execute(conn)?;
            }
            None => {
                diesel::insert_into(integrantes::table)
                    .values((
                        integrantes::run.eq(run),
                        integrantes::hogar_id.eq(hogar_id),
                        integrantes::parentesco.eq(m.parentesco),
                    ))
                    .execute(conn)?;
            }
        }
        if let Some((origen, cut)) = origen.filter(|(id, _)| *id != hogar_id) {
            eventos.llegada(conn, run, origen, &cut)?;
        }
    }
    let encuestados: Vec<Run> = c.integrantes.iter().map(|m| m.run).collect();
    eventos.encuestar(conn, &c.direccion, &encuestados)?;
    diesel::insert_into(fichas::table)
        .values((
            fichas::folio.eq(folio),
            fichas::hogar_id.eq(hogar_id),
            fichas::puntaje.eq(i32::from(puntaje.value())),
            fichas::fecha_aplicacion.eq(fecha),
            fichas::cut.eq(&fila.cut),
            fichas::estado.eq("vigente"),
            fichas::modelo.eq(Some(c.modelo.nombre.as_str())),
            fichas::encuestador.eq(Some(firma.encuestador())),
        ))
        .execute(conn)?;
    diesel::insert_into(encuestas::table)
        .values(EncuestaRow {
            folio,
            encuestaje_id: fila.id.clone(),
            modelo: c.modelo.nombre.clone(),
            zona: c.zona.into(),
            direccion: c.direccion.clone(),
            tenencia: c.tenencia.into(),
            agua: c.agua.into(),
            saneamiento: c.saneamiento.into(),
            piezas: c.piezas,
            convenio: firma.convenio.clone(),
            usuario: firma.usuario.map(|r| r.to_string()),
            creada_us: store::now_us(),
        })
        .execute(conn)?;
    let filas: Vec<EncuestaIntegranteRow> = c
        .integrantes
        .iter()
        .zip(&edades)
        .enumerate()
        .map(|(i, (m, edad))| EncuestaIntegranteRow {
            folio,
            orden: i as i32,
            run: m.run.numero() as i32,
            parentesco: m.parentesco.into(),
            edad: *edad as i32,
            escolaridad_anios: m.escolaridad_anios as i32,
            asiste_educacion: m.asiste_educacion,
            salud: m.salud.as_str().into(),
            actividad: m.actividad.as_str().into(),
            ingreso_trabajo: m.ingreso_trabajo,
            ingreso_pensiones: m.ingreso_pensiones,
            ingreso_otros: m.ingreso_otros,
        })
        .collect();
    for fila in &filas {
        diesel::insert_into(encuesta_integrantes::table)
            .values(fila)
            .execute(conn)?;
    }
    let nueva = eventos::Nueva {
        hogar_id,
        folio,
        puntaje,
        fecha_aplicacion: fecha,
        fila,
    };
    eventos::registrar(conn, &antes, &nueva)?;
    Ok((folio, puntaje))
}

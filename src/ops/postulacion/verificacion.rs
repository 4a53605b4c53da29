//! Running a postulation's checks against the registry as it is now. The snapshot reads only
//! what the postulation's municipality may know: the applicant and each causante as far as
//! they live in the postulation's comuna. A person who left it is read as "not in the comuna"
//! and nothing more, so no outcome depends on facts about persons outside the comuna.
//!
//! The checks run again on every read and list of an open postulation (and for the decree,
//! [`super::clasificar`]); a new run (`corrida`) is stored only when an outcome changed.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::store::{self, ABIERTAS};
use crate::db::DbConnection;
use crate::db::models::{CausanteFila, ChequeoFila, PostulacionFila};
use crate::db::schema::{beneficios, encuesta_integrantes, fichas, hogares, integrantes, personas};
use crate::domain::{Cut, Puntaje};
use crate::ops::elegibilidad::age_on;
use crate::reglas::{Causante, Chequeo, Rules, Snapshot, SnapshotPostulacion};

/// The household's income per head (CLP a month) from the survey behind ficha `folio`: every
/// member's income from work, pensions and other sources, summed and divided by the members
/// surveyed (rounded down). `None` for a ficha without a questionnaire (a feed's, the seed's
/// or the bare form of a survey), so a check that needs it fails with "sin encuesta con
/// ingresos". The one place the survey's incomes come in.
pub fn ingreso_per_capita(conn: &mut DbConnection, folio: i64) -> QueryResult<Option<i64>> {
    let ingresos: Vec<(i64, i64, i64)> = encuesta_integrantes::table
        .filter(encuesta_integrantes::folio.eq(folio))
        .select((
            encuesta_integrantes::ingreso_trabajo,
            encuesta_integrantes::ingreso_pensiones,
            encuesta_integrantes::ingreso_otros,
        ))
        .load(conn)?;
    if ingresos.is_empty() {
        return Ok(None);
    }
    let total: i64 = ingresos.iter().map(|(t, p, o)| t + p + o).sum();
    Ok(Some(total / ingresos.len() as i64))
}

/// What the registry holds about one person for a check.
struct Leida {
    nacimiento: NaiveDate,
    fallecido: bool,
    /// Their household and its comuna.
    hogar: Option<(i64, String)>,
}

fn leer_persona(conn: &mut DbConnection, run: i32) -> QueryResult<Option<Leida>> {
    let persona: Option<(NaiveDate, Option<NaiveDate>)> = personas::table
        .find(run)
        .select((personas::fecha_nacimiento, personas::fecha_defuncion))
        .first(conn)
        .optional()?;
    let Some((nacimiento, defuncion)) = persona else {
        return Ok(None);
    };
    let hogar = integrantes::table
        .inner_join(hogares::table)
        .filter(integrantes::run.eq(run))
        .select((hogares::id, hogares::cut))
        .first(conn)
        .optional()?;
    Ok(Some(Leida {
        nacimiento,
        fallecido: defuncion.is_some(),
        hogar,
    }))
}

/// The programs of a person's benefits in force on `hoy`.
fn vigentes(conn: &mut DbConnection, run: i32, hoy: NaiveDate) -> QueryResult<Vec<String>> {
    beneficios::table
        .filter(beneficios::run.eq(run))
        .filter(beneficios::estado.eq("vigente"))
        .filter(
            beneficios::fecha_termino
                .is_null()
                .or(beneficios::fecha_termino.ge(hoy)),
        )
        .select(beneficios::programa)
        .load(conn)
}

/// The snapshot of a postulation on `hoy`.
pub fn snapshot(
    conn: &mut DbConnection,
    fila: &PostulacionFila,
    causantes: &[CausanteFila],
    hoy: NaiveDate,
) -> QueryResult<SnapshotPostulacion> {
    let comuna = Cut::parse(&fila.cut).ok();
    let leida = leer_persona(conn, fila.run)?;
    // The applicant's household when it is in the postulation's comuna.
    let hogar = leida
        .as_ref()
        .and_then(|l| l.hogar.clone())
        .filter(|(_, cut)| *cut == fila.cut)
        .map(|(id, _)| id);
    // Their age only while they live in the comuna: nothing about a person who left it.
    let edad = leida
        .as_ref()
        .filter(|_| hogar.is_some())
        .map_or(0, |l| age_on(l.nacimiento, hoy));
    let mut s = SnapshotPostulacion {
        persona: Snapshot {
            puntaje: None,
            edad,
            fallecido: false,
            comuna,
        },
        en_comuna: hogar.is_some(),
        beneficios: Vec::new(),
        causantes: Vec::new(),
        ingreso_per_capita: None,
    };
    if let (Some(hogar_id), Some(leida)) = (hogar, &leida) {
        s.persona.fallecido = leida.fallecido;
        s.beneficios = vigentes(conn, fila.run, hoy)?;
        let ficha: Option<(i64, i32)> = fichas::table
            .filter(fichas::hogar_id.eq(hogar_id))
            .filter(fichas::estado.eq("vigente"))
            .select((fichas::folio, fichas::puntaje))
            .first(conn)
            .optional()?;
        if let Some((folio, puntaje)) = ficha {
            s.persona.puntaje = Puntaje::new(i64::from(puntaje)).ok();
            s.ingreso_per_capita = ingreso_per_capita(conn, folio)?;
        }
    }
    for causante in causantes {
        let leida = leer_persona(conn, causante.run)?;
        let (en_comuna, su_hogar) = match leida.as_ref().and_then(|l| l.hogar.clone()) {
            Some((id, cut)) => (cut == fila.cut, Some(id)),
            None => (false, None),
        };
        // As the applicant's: read only while the causante lives in the comuna.
        let edad = leida
            .as_ref()
            .filter(|_| en_comuna)
            .map_or(0, |l| age_on(l.nacimiento, hoy));
        let mut c = Causante {
            edad,
            fallecido: false,
            mismo_hogar: hogar.is_some() && su_hogar == hogar,
            beneficios: Vec::new(),
        };
        if en_comuna {
            c.fallecido = leida.as_ref().is_some_and(|l| l.fallecido);
            c.beneficios = vigentes(conn, causante.run, hoy)?;
        }
        s.causantes.push(c);
    }
    Ok(s)
}

/// The rows of one check run.
pub fn filas(id: &str, corrida: i32, chequeos: &[Chequeo], ts_us: i64) -> Vec<ChequeoFila> {
    chequeos
        .iter()
        .enumerate()
        .map(|(orden, c)| ChequeoFila {
            postulacion_id: id.to_owned(),
            corrida,
            orden: orden as i32,
            regla: c.regla.clone(),
            cumple: c.cumple,
            motivo: c.motivo.clone(),
            dato: c.dato.to_owned(),
            ts_us,
        })
        .collect()
}

/// The state the checks give a postulation in `actual` (an open one).
pub fn estado_por(actual: &str, chequeos: &[Chequeo]) -> &'static str {
    match (chequeos.iter().all(|c| c.cumple), actual) {
        (false, _) => "rechazada",
        (true, "en_espera") => "en_espera",
        (true, _) => "verificada",
    }
}

/// Attempts before a postulation that keeps changing under us is given up on.
const INTENTOS: usize = 5;

/// Runs an open postulation's checks again and stores what changed (a new run when an
/// outcome changed; the state and score); returns the postulation as it now is and its last
/// run. A closed or granted one is returned as stored.
pub fn reverificar(
    conn: &mut DbConnection,
    rules: &Rules,
    mut fila: PostulacionFila,
    hoy: NaiveDate,
) -> QueryResult<(PostulacionFila, Vec<ChequeoFila>)> {
    for _ in 0..INTENTOS {
        let guardados = store::chequeos(conn, &fila.id, fila.corrida)?;
        if !ABIERTAS.contains(&fila.estado.as_str()) {
            return Ok((fila, guardados));
        }
        let causantes = store::causantes(conn, &fila.id)?;
        let s = snapshot(conn, &fila, &causantes, hoy)?;
        let Some(chequeos) = rules.verificar(&fila.programa, &s) else {
            // The program's checks left the rules file: keep what was stored.
            tracing::warn!(postulacion.programa = %fila.programa, "no postulation checks for a program with open postulations");
            return Ok((fila, guardados));
        };
        let iguales = guardados.len() == chequeos.len()
            && guardados.iter().zip(&chequeos).all(|(g, c)| {
                g.regla == c.regla
                    && g.cumple == c.cumple
                    && g.motivo == c.motivo
                    && g.dato == c.dato
            });
        let estado = estado_por(&fila.estado, &chequeos);
        let puntaje = s.persona.puntaje.map(|p| i32::from(p.value()));
        if iguales && estado == fila.estado && puntaje == fila.puntaje {
            return Ok((fila, guardados));
        }
        let mut despues = fila.clone();
        despues.estado = estado.to_owned();
        despues.puntaje = puntaje;
        despues.version += 1;
        despues.actualizada_us = store::now_us();
        if !iguales {
            despues.corrida += 1;
        }
        // The guarded UPDATE first: on PostgreSQL it holds the row until the transaction
        // ends, so a concurrent reader waits and then finds the version moved.
        if store::actualizar(conn, fila.version, &despues)? {
            let nuevas = if iguales {
                guardados
            } else {
                let nuevas = filas(
                    &despues.id,
                    despues.corrida,
                    &chequeos,
                    despues.actualizada_us,
                );
                store::insertar_chequeos(conn, &nuevas)?;
                nuevas
            };
            return Ok((despues, nuevas));
        }
        match store::leer(conn, &fila.id)? {
            Some(actual) => fila = actual,
            None => return Err(diesel::result::Error::NotFound),
        }
    }
    tracing::warn!("postulation kept changing: its checks were not stored");
    Err(diesel::result::Error::QueryBuilderError(
        "the postulation kept changing while its checks ran".into(),
    ))
}

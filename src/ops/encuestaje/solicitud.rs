//! SolicitarEncuestaje: which comuna a request goes to, and what the requester may be told
//! about the person before it is made.
//!
//! A municipality asks for surveys in its own comuna (its agreement's scope), for anyone who
//! comes to it: a person who moved from another comuna asks where they now live. What the
//! registry holds about a person outside that comuna is not the municipality's to know (DESIGN,
//! *Agreements*), so for every such RUN (unknown, without a household, of another comuna, with
//! a ficha or without, alive or not) the request is made alike. The facts the registry itself
//! needs (a living person on record) are checked when the survey is recorded
//! ([`super::registrar`], `PERSONA_NO_ENCUESTABLE`), the only place a municipality learns them,
//! and only by surveying the person into its comuna. A person of its own comuna keeps the
//! precise answers (`PERSONA_FALLECIDA`, `FICHA_VIGENTE`).
//!
//! An agency without a scope (MINVU, IPS, …) sees the whole registry anyway: it is told about
//! an unknown or deceased person at once, and a request without a comuna goes to the person's
//! last known one.

use chrono::{Days, NaiveDate};

use super::estado::Estado;
use super::respuesta::{Encuestaje, vista};
use super::store::{self, Fila};
use super::{Solicitud, errores};
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::db::models::Ficha;
use crate::domain::{Ambito, Cut, EncuestajeId, Run};
use crate::error::ApiError;
use crate::ops::ficha::{self, HogarLeido};

/// The request: to `comuna`, refused with the reason a requester may be told.
pub(super) fn solicitar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    solicitud: &Solicitud,
    plazo_dias: u32,
    today: NaiveDate,
) -> Result<Encuestaje, ApiError> {
    let cut = match convenio.ambito {
        Some(scope) => municipal(conn, scope, solicitud)?,
        None => nacional(conn, solicitud)?,
    };
    let now = store::now_us();
    let fila = Fila {
        id: EncuestajeId::new().to_string(),
        run: solicitud.run.numero() as i32,
        cut: cut.to_string(),
        convenio: convenio.id.to_string(),
        estado: Estado::Solicitada.as_str().into(),
        visitas_fallidas: 0,
        fecha_solicitud: today,
        fecha_vencimiento: today + Days::new(u64::from(plazo_dias)),
        fecha_visita: None,
        motivo_anulacion: None,
        folio: None,
        puntaje: None,
        fecha_aplicacion: None,
        version: 0,
        creada_us: now,
        actualizada_us: now,
    };
    match store::insertar(conn, &fila) {
        Ok(()) => Ok(vista(&fila)),
        // The unique index on open requests per person and comuna: the other one is in this
        // same comuna's queue, so saying so discloses nothing beyond it.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(errores::en_curso()),
        Err(e) => Err(e.into()),
    }
}

/// A scoped agency's request: a municipality's in its own comuna (the default); a province's or
/// a region's in the comuna it names, which must be of its territory, or else in the person's
/// last known comuna when that is of its territory. Checked against the registry only for a
/// person of that territory: an unknown person, one without a household and one of elsewhere
/// get the same answer.
fn municipal(
    conn: &mut DbConnection,
    scope: Ambito,
    solicitud: &Solicitud,
) -> Result<Cut, ApiError> {
    // The person's household, read once, and only after a comuna given is known to be in scope.
    let mut leido = None;
    let cut = match (solicitud.comuna, scope.comuna()) {
        (Some(cut), _) => cut,
        (None, Some(propia)) => *propia,
        (None, None) => {
            let hogar = ficha::hogar_con_ficha(conn, solicitud.run)?;
            let conocida = hogar
                .as_ref()
                .map(|(household, _)| household.cut.as_str())
                .filter(|cut| scope.contiene(cut))
                .and_then(|cut| Cut::parse(cut).ok());
            leido = Some(hogar);
            conocida.ok_or_else(|| {
                ApiError::comuna_desconocida(
                    "the registry knows no comuna of the agreement's ambito for this person: give one",
                )
            })?
        }
    };
    if !scope.contiene(cut.as_str()) {
        return Err(errores::fuera_de_ambito());
    }
    let hogar = match leido {
        Some(hogar) => hogar,
        None => ficha::hogar_con_ficha(conn, solicitud.run)?,
    };
    if let Some((household, ficha)) = hogar
        && scope.contiene(&household.cut)
    {
        ya_atendida(&household, ficha.as_ref(), cut)?;
    }
    Ok(cut)
}

/// A request of an agency without a scope: to the comuna given, or the person's last known one.
fn nacional(conn: &mut DbConnection, solicitud: &Solicitud) -> Result<Cut, ApiError> {
    let run = solicitud.run;
    let Some((household, ficha)) = ficha::hogar_con_ficha(conn, run)? else {
        if !persona_existe(conn, run)? {
            return Err(ApiError::no_encontrado());
        }
        return solicitud.comuna.ok_or_else(|| {
            ApiError::comuna_desconocida("the registry knows no comuna for this person: give one")
        });
    };
    let conocida = Cut::parse(&household.cut).map_err(|e| {
        tracing::error!(error = %e, "household with an invalid comuna code");
        ApiError::unavailable()
    })?;
    let cut = solicitud.comuna.unwrap_or(conocida);
    ya_atendida(&household, ficha.as_ref(), cut)?;
    Ok(cut)
}

/// Refuses a request the registry already answers: a deceased person, or a household whose
/// ficha in force is of the comuna asked for. A request in another comuna is a move (the
/// survey gives the person a household there) and goes ahead.
fn ya_atendida(household: &HogarLeido, ficha: Option<&Ficha>, cut: Cut) -> Result<(), ApiError> {
    if household.fallecido {
        return Err(errores::persona_fallecida());
    }
    if ficha.is_some() && household.cut == cut.as_str() {
        return Err(errores::ficha_vigente());
    }
    Ok(())
}

fn persona_existe(conn: &mut DbConnection, run: Run) -> Result<bool, ApiError> {
    use crate::db::schema::personas;
    use diesel::prelude::*;
    Ok(personas::table
        .find(run.numero() as i32)
        .select(personas::run)
        .first::<i32>(conn)
        .optional()?
        .is_some())
}

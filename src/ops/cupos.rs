//! FijarCupos: how many benefits of a program may be in force in a comuna in a year (set by
//! the registry's operators until the Intendencias have agreements of their own), and how many
//! are in use (postulations `otorgada`). A cupo is no personal data. The decree grants
//! verified postulations in priority order up to the cupos left
//! ([`crate::ops::postulacion::clasificar`]).

use std::collections::BTreeSet;

use diesel::prelude::*;

use super::{Core, Op};
use crate::broker::Admission;
use crate::catalog::Operation;
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::db::models::CupoFila;
use crate::db::schema::cupos;
use crate::domain::{Cut, Run};
use crate::error::ApiError;
use crate::ops::encuestaje::parse_comuna;
use crate::ops::encuestaje::store::nombre_comuna;
use crate::ops::ficha::ComunaRef;
use crate::ops::postulacion::{cupos_de, cupos_invalidos, store};
use crate::projection::{FieldSet, Project, recortar, revelados};
use crate::reglas::Rules;
pub use crate::respuestas::Cupos;

impl Project for Cupos {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }
}

/// The most cupos one comuna may have for a program in a year.
pub const MAX_CUPOS: i64 = 1_000_000;

/// A comuna, program and year, as sent.
#[derive(Debug, Clone)]
pub struct Clave {
    pub comuna: String,
    pub programa: String,
    pub anio: String,
}

/// The checked key: a comuna of the catalogue (and of the agreement's scope, if it has one),
/// a program with postulations, a year from 2000 to 2100.
fn clave(convenio: &Convenio, rules: &Rules, c: &Clave) -> Result<(Cut, i32), ApiError> {
    let cut = parse_comuna(&c.comuna)?;
    if !convenio.en_ambito(cut.as_str()) {
        return Err(ApiError::new(
            crate::error::ErrorCode::FueraDeAmbito,
            "the agreement only covers the cupos of the comunas of its ambito",
        ));
    }
    if !rules.postulables().any(|p| p == c.programa) {
        return Err(ApiError::programa_desconocido(&c.programa));
    }
    let anio = c
        .anio
        .parse::<i32>()
        .ok()
        .filter(|a| (2000..=2100).contains(a))
        .ok_or_else(|| cupos_invalidos("anio is a year from 2000 to 2100"))?;
    Ok((cut, anio))
}

fn vista(conn: &mut DbConnection, cut: Cut, programa: &str, anio: i32) -> Result<Cupos, ApiError> {
    let fila = cupos_de(conn, cut.as_str(), programa, anio)?;
    let total = fila.as_ref().map_or(0, |f| f.total.max(0) as u32);
    let usados = store::otorgadas(conn, cut.as_str(), programa, anio)? as u32;
    Ok(Cupos {
        comuna: Some(ComunaRef {
            codigo: Some(cut.to_string()),
            nombre: nombre_comuna(cut.as_str()),
        }),
        programa: Some(programa.to_owned()),
        anio: u16::try_from(anio).ok(),
        cupos: Some(total),
        usados: Some(usados),
        disponibles: Some(total.saturating_sub(usados)),
        fijado_por: fila.map(|f| f.fijado_por),
    })
}

/// ConsultarCupos.
pub fn consultar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    rules: &Rules,
    c: &Clave,
) -> Result<Cupos, ApiError> {
    let (cut, anio) = clave(convenio, rules, c)?;
    vista(conn, cut, &c.programa, anio)
}

/// FijarCupos: sets (or replaces) the cupos.
pub fn fijar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    rules: &Rules,
    c: &Clave,
    total: Option<i64>,
) -> Result<Cupos, ApiError> {
    let (cut, anio) = clave(convenio, rules, c)?;
    let total = total
        .filter(|t| (0..=MAX_CUPOS).contains(t))
        .ok_or_else(|| cupos_invalidos(format!("cupos is a whole number from 0 to {MAX_CUPOS}")))?;
    let fila = CupoFila {
        cut: cut.to_string(),
        programa: c.programa.clone(),
        anio,
        total: total as i32,
        fijado_por: convenio.id.to_string(),
        ts_us: store::now_us(),
    };
    // Replace, else insert; a concurrent insert of the same key makes the insert fail, and
    // then the row is there to replace.
    for _ in 0..2 {
        let changed = diesel::update(cupos::table.find((&fila.cut, &fila.programa, anio)))
            .set((
                cupos::total.eq(fila.total),
                cupos::fijado_por.eq(&fila.fijado_por),
                cupos::ts_us.eq(fila.ts_us),
            ))
            .execute(conn)?;
        if changed == 1 {
            break;
        }
        let inserted = conn.transaction(|conn| {
            diesel::insert_into(cupos::table)
                .values(&fila)
                .execute(conn)
        });
        match inserted {
            Ok(_) => break,
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    vista(conn, cut, &c.programa, anio)
}

/// FijarCupos (REST `PUT /api/v1/cupos/{cut}/{programa}/{anio}`, SOAP FijarCupos): a write.
pub struct FijarCupos;

/// The cupos to set, for a key.
#[derive(Debug, Clone)]
pub struct Fijacion {
    pub clave: Clave,
    pub cupos: Option<i64>,
}

impl Op for FijarCupos {
    const OPERATION: Operation = Operation::FijarCupos;
    const WRITES: bool = true;
    type Request = Fijacion;
    type Response = Cupos;

    fn subjects(_: &Fijacion) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        core: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        f: Fijacion,
    ) -> Result<Cupos, ApiError> {
        fijar(
            &admission.convenio,
            conn,
            &core.broker.rules,
            &f.clave,
            f.cupos,
        )
    }
}

/// ConsultarCupos (REST `GET /api/v1/cupos/{cut}/{programa}/{anio}`, SOAP ConsultarCupos),
/// under the FijarCupos grant.
pub struct ConsultarCupos;

impl Op for ConsultarCupos {
    const OPERATION: Operation = Operation::FijarCupos;
    type Request = Clave;
    type Response = Cupos;

    fn subjects(_: &Clave) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        core: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        c: Clave,
    ) -> Result<Cupos, ApiError> {
        consultar(&admission.convenio, conn, &core.broker.rules, &c)
    }
}

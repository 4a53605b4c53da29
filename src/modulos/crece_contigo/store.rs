//! The module's rows and queries. A follow-up's or a referral's change is an UPDATE guarded by
//! the version it was decided on, so two concurrent events never both apply.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::models::Persona;
use crate::db::schema::{
    chcc_alertas, chcc_controles, chcc_derivaciones, chcc_seguimientos, personas,
};

pub fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = chcc_seguimientos, treat_none_as_default_value = false)]
pub struct SeguimientoFila {
    pub id: String,
    pub run_gestante: i32,
    pub run_nino: Option<i32>,
    pub cut: String,
    pub estado: String,
    pub fecha_ingreso: NaiveDate,
    pub semanas_ingreso: i32,
    pub fecha_probable_parto: NaiveDate,
    pub fecha_nacimiento: Option<NaiveDate>,
    pub motivo_egreso: Option<String>,
    pub convenio: String,
    pub version: i32,
    pub creado_us: i64,
    pub actualizado_us: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = chcc_controles, treat_none_as_default_value = false)]
pub struct ControlFila {
    pub seguimiento_id: String,
    pub orden: i32,
    pub fecha: NaiveDate,
    pub tipo: String,
    pub resultado: String,
    pub convenio: String,
    pub registrado_us: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = chcc_alertas, treat_none_as_default_value = false)]
pub struct AlertaFila {
    pub seguimiento_id: String,
    pub orden: i32,
    pub codigo: String,
    pub fecha: NaiveDate,
    pub estado: String,
    pub convenio: String,
    pub registrado_us: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = chcc_derivaciones, treat_none_as_default_value = false)]
pub struct DerivacionFila {
    pub id: String,
    pub seguimiento_id: String,
    pub alerta: Option<String>,
    pub sector_destino: String,
    pub prestacion: String,
    pub estado: String,
    pub fecha: NaiveDate,
    pub fecha_respuesta: Option<NaiveDate>,
    pub motivo_respuesta: Option<String>,
    pub convenio_origen: String,
    pub convenio_respuesta: Option<String>,
    pub version: i32,
    pub registrado_us: i64,
    pub actualizado_us: i64,
}

/// A follow-up with everything recorded on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Expediente {
    pub seguimiento: SeguimientoFila,
    pub controles: Vec<ControlFila>,
    pub alertas: Vec<AlertaFila>,
    pub derivaciones: Vec<DerivacionFila>,
}

pub fn persona(conn: &mut DbConnection, run: i32) -> QueryResult<Option<Persona>> {
    personas::table
        .find(run)
        .select(Persona::as_select())
        .first(conn)
        .optional()
}

pub fn insertar(conn: &mut DbConnection, fila: &SeguimientoFila) -> QueryResult<()> {
    diesel::insert_into(chcc_seguimientos::table)
        .values(fila)
        .execute(conn)
        .map(drop)
}

pub fn leer(conn: &mut DbConnection, id: &str) -> QueryResult<Option<SeguimientoFila>> {
    chcc_seguimientos::table
        .find(id)
        .select(SeguimientoFila::as_select())
        .first(conn)
        .optional()
}

/// The follow-ups that name `run` as gestante or child, the latest entry first.
pub fn de_persona(conn: &mut DbConnection, run: i32) -> QueryResult<Vec<SeguimientoFila>> {
    chcc_seguimientos::table
        .filter(
            chcc_seguimientos::run_gestante
                .eq(run)
                .or(chcc_seguimientos::run_nino.eq(run)),
        )
        .order((
            chcc_seguimientos::fecha_ingreso.desc(),
            chcc_seguimientos::creado_us.desc(),
        ))
        .select(SeguimientoFila::as_select())
        .load(conn)
}

pub fn expediente(conn: &mut DbConnection, fila: SeguimientoFila) -> QueryResult<Expediente> {
    let controles = chcc_controles::table
        .filter(chcc_controles::seguimiento_id.eq(&fila.id))
        .order(chcc_controles::orden.asc())
        .select(ControlFila::as_select())
        .load(conn)?;
    let alertas = chcc_alertas::table
        .filter(chcc_alertas::seguimiento_id.eq(&fila.id))
        .order(chcc_alertas::orden.asc())
        .select(AlertaFila::as_select())
        .load(conn)?;
    let derivaciones = chcc_derivaciones::table
        .filter(chcc_derivaciones::seguimiento_id.eq(&fila.id))
        .order((
            chcc_derivaciones::registrado_us.asc(),
            chcc_derivaciones::id.asc(),
        ))
        .select(DerivacionFila::as_select())
        .load(conn)?;
    Ok(Expediente {
        seguimiento: fila,
        controles,
        alertas,
        derivaciones,
    })
}

/// Applies `despues` over the follow-up at `version`; false (nothing changed) when it is no
/// longer at that version.
pub fn actualizar(
    conn: &mut DbConnection,
    version: i32,
    despues: &SeguimientoFila,
) -> QueryResult<bool> {
    let changed = diesel::update(
        chcc_seguimientos::table
            .filter(chcc_seguimientos::id.eq(&despues.id))
            .filter(chcc_seguimientos::version.eq(version)),
    )
    .set((
        chcc_seguimientos::run_nino.eq(despues.run_nino),
        chcc_seguimientos::estado.eq(&despues.estado),
        chcc_seguimientos::fecha_nacimiento.eq(despues.fecha_nacimiento),
        chcc_seguimientos::motivo_egreso.eq(&despues.motivo_egreso),
        chcc_seguimientos::version.eq(despues.version),
        chcc_seguimientos::actualizado_us.eq(despues.actualizado_us),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn insertar_control(conn: &mut DbConnection, fila: &ControlFila) -> QueryResult<()> {
    diesel::insert_into(chcc_controles::table)
        .values(fila)
        .execute(conn)
        .map(drop)
}

pub fn insertar_alerta(conn: &mut DbConnection, fila: &AlertaFila) -> QueryResult<()> {
    diesel::insert_into(chcc_alertas::table)
        .values(fila)
        .execute(conn)
        .map(drop)
}

/// Marks the active alerts of `codigo` resolved; how many were.
pub fn resolver_alerta(conn: &mut DbConnection, id: &str, codigo: &str) -> QueryResult<usize> {
    diesel::update(
        chcc_alertas::table
            .filter(chcc_alertas::seguimiento_id.eq(id))
            .filter(chcc_alertas::codigo.eq(codigo))
            .filter(chcc_alertas::estado.eq("activa")),
    )
    .set(chcc_alertas::estado.eq("resuelta"))
    .execute(conn)
}

pub fn insertar_derivacion(conn: &mut DbConnection, fila: &DerivacionFila) -> QueryResult<()> {
    diesel::insert_into(chcc_derivaciones::table)
        .values(fila)
        .execute(conn)
        .map(drop)
}

pub fn leer_derivacion(
    conn: &mut DbConnection,
    id: &str,
) -> QueryResult<Option<(DerivacionFila, SeguimientoFila)>> {
    chcc_derivaciones::table
        .inner_join(chcc_seguimientos::table)
        .filter(chcc_derivaciones::id.eq(id))
        .select((DerivacionFila::as_select(), SeguimientoFila::as_select()))
        .first(conn)
        .optional()
}

/// What a receiving agency lists: its sectors, within a territory (a comuna, or a scope's
/// prefix of CUT digits), optionally in one state.
pub struct Bandeja<'a> {
    pub sectores: &'a [&'a str],
    pub estado: Option<&'a str>,
    pub comuna: Option<&'a str>,
    pub prefijo: Option<&'a str>,
    pub desde: i64,
    pub cuantos: i64,
}

/// One page of the tray, oldest first, with the total matching.
pub fn bandeja(
    conn: &mut DbConnection,
    b: &Bandeja<'_>,
) -> QueryResult<(i64, Vec<(DerivacionFila, SeguimientoFila)>)> {
    let filtrar = || {
        let mut q = chcc_derivaciones::table
            .inner_join(chcc_seguimientos::table)
            .filter(
                chcc_derivaciones::sector_destino.eq_any(b.sectores.iter().map(|s| s.to_string())),
            )
            .into_boxed();
        if let Some(estado) = b.estado {
            q = q.filter(chcc_derivaciones::estado.eq(estado.to_owned()));
        }
        if let Some(cut) = b.comuna {
            q = q.filter(chcc_seguimientos::cut.eq(cut.to_owned()));
        }
        if let Some(prefijo) = b.prefijo {
            // Digits only (a scope's CUT prefix): no pattern character can reach the LIKE.
            q = q.filter(chcc_seguimientos::cut.like(format!("{prefijo}%")));
        }
        q
    };
    let total = filtrar().count().get_result(conn)?;
    let filas = filtrar()
        .order((chcc_derivaciones::fecha.asc(), chcc_derivaciones::id.asc()))
        .offset(b.desde)
        .limit(b.cuantos)
        .select((DerivacionFila::as_select(), SeguimientoFila::as_select()))
        .load(conn)?;
    Ok((total, filas))
}

/// Applies `despues` over the referral at `version`; false when it is no longer at it.
pub fn actualizar_derivacion(
    conn: &mut DbConnection,
    version: i32,
    despues: &DerivacionFila,
) -> QueryResult<bool> {
    let changed = diesel::update(
        chcc_derivaciones::table
            .filter(chcc_derivaciones::id.eq(&despues.id))
            .filter(chcc_derivaciones::version.eq(version)),
    )
    .set((
        chcc_derivaciones::estado.eq(&despues.estado),
        chcc_derivaciones::fecha_respuesta.eq(despues.fecha_respuesta),
        chcc_derivaciones::motivo_respuesta.eq(&despues.motivo_respuesta),
        chcc_derivaciones::convenio_respuesta.eq(&despues.convenio_respuesta),
        chcc_derivaciones::version.eq(despues.version),
        chcc_derivaciones::actualizado_us.eq(despues.actualizado_us),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// The persons of `runs` (for a tray's children: names and birth dates).
pub fn personas_de(conn: &mut DbConnection, runs: &[i32]) -> QueryResult<Vec<Persona>> {
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    personas::table
        .filter(personas::run.eq_any(runs.to_vec()))
        .select(Persona::as_select())
        .load(conn)
}

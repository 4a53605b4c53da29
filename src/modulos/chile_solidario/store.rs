//! Chile Solidario's rows and statements. A change to a participation is applied by an UPDATE
//! guarded by the version it was decided on, so two concurrent events never both apply.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{
    chs_bonos, chs_condiciones, chs_participaciones, chs_sesiones, integrantes,
};

pub fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

/// A participation as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = chs_participaciones, treat_none_as_default_value = false)]
pub struct ParticipacionFila {
    pub id: String,
    pub hogar_id: i64,
    pub run_titular: i32,
    pub cut: String,
    pub programa: String,
    pub estado: String,
    pub fecha_ingreso: NaiveDate,
    pub fecha_egreso: Option<NaiveDate>,
    pub motivo_egreso: Option<String>,
    pub apoyo_familiar: String,
    /// The agreement that took it in.
    pub convenio: String,
    /// The console official who took it in (none through a machine call).
    pub usuario: Option<String>,
    pub version: i32,
    pub creada_us: i64,
    pub actualizada_us: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = chs_condiciones, treat_none_as_default_value = false)]
pub struct CondicionFila {
    pub participacion_id: String,
    pub codigo: String,
    pub estado: String,
    pub fecha: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = chs_sesiones, treat_none_as_default_value = false)]
pub struct SesionFila {
    pub participacion_id: String,
    pub numero: i32,
    pub fecha: NaiveDate,
    pub tipo: String,
    pub convenio: String,
    pub usuario: Option<String>,
    pub registrada_us: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = chs_bonos, treat_none_as_default_value = false)]
pub struct BonoFila {
    pub participacion_id: String,
    pub tipo: String,
    pub mes: i32,
    pub periodo: String,
    pub monto: i32,
    pub estado: String,
    pub pagado_us: Option<i64>,
}

/// A participation with everything it holds, as an answer shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Expediente {
    pub fila: ParticipacionFila,
    pub condiciones: Vec<CondicionFila>,
    pub sesiones: Vec<SesionFila>,
    pub bonos: Vec<BonoFila>,
}

/// Stores a new participation with its conditions and its bonos' schedule. One row at a time:
/// the two-backend connection takes no multi-row INSERT.
pub fn insertar(
    conn: &mut DbConnection,
    fila: &ParticipacionFila,
    condiciones: &[CondicionFila],
    bonos: &[BonoFila],
) -> QueryResult<()> {
    conn.transaction(|conn| {
        diesel::insert_into(chs_participaciones::table)
            .values(fila)
            .execute(conn)?;
        for c in condiciones {
            diesel::insert_into(chs_condiciones::table)
                .values(c)
                .execute(conn)?;
        }
        insertar_bonos(conn, bonos)
    })
}

pub fn insertar_bonos(conn: &mut DbConnection, bonos: &[BonoFila]) -> QueryResult<()> {
    for b in bonos {
        diesel::insert_into(chs_bonos::table)
            .values(b)
            .execute(conn)?;
    }
    Ok(())
}

pub fn leer(conn: &mut DbConnection, id: &str) -> QueryResult<Option<ParticipacionFila>> {
    chs_participaciones::table
        .find(id)
        .select(ParticipacionFila::as_select())
        .first(conn)
        .optional()
}

/// The participation and what it holds.
pub fn expediente(conn: &mut DbConnection, fila: ParticipacionFila) -> QueryResult<Expediente> {
    let id = fila.id.clone();
    let condiciones = chs_condiciones::table
        .filter(chs_condiciones::participacion_id.eq(&id))
        .select(CondicionFila::as_select())
        .load(conn)?;
    let sesiones = chs_sesiones::table
        .filter(chs_sesiones::participacion_id.eq(&id))
        .order(chs_sesiones::numero.asc())
        .select(SesionFila::as_select())
        .load(conn)?;
    let bonos = chs_bonos::table
        .filter(chs_bonos::participacion_id.eq(&id))
        .order((chs_bonos::tipo.desc(), chs_bonos::mes.asc()))
        .select(BonoFila::as_select())
        .load(conn)?;
    Ok(Expediente {
        fila,
        condiciones,
        sesiones,
        bonos,
    })
}

/// The household a person belongs to now, if any.
pub fn hogar_de(conn: &mut DbConnection, run: i32) -> QueryResult<Option<i64>> {
    integrantes::table
        .find(run)
        .select(integrantes::hogar_id)
        .first(conn)
        .optional()
}

/// A household's participations, newest first.
pub fn de_hogar(conn: &mut DbConnection, hogar_id: i64) -> QueryResult<Vec<ParticipacionFila>> {
    chs_participaciones::table
        .filter(chs_participaciones::hogar_id.eq(hogar_id))
        .order((
            chs_participaciones::fecha_ingreso.desc(),
            chs_participaciones::creada_us.desc(),
        ))
        .select(ParticipacionFila::as_select())
        .load(conn)
}

/// A comuna's participations, of a program and in a state when given, oldest first.
pub fn de_comuna(
    conn: &mut DbConnection,
    cut: &str,
    programa: Option<&str>,
    estado: Option<&str>,
) -> QueryResult<Vec<ParticipacionFila>> {
    let mut q = chs_participaciones::table
        .filter(chs_participaciones::cut.eq(cut.to_owned()))
        .into_boxed();
    if let Some(p) = programa {
        q = q.filter(chs_participaciones::programa.eq(p.to_owned()));
    }
    if let Some(e) = estado {
        q = q.filter(chs_participaciones::estado.eq(e.to_owned()));
    }
    q.order((
        chs_participaciones::fecha_ingreso.asc(),
        chs_participaciones::id.asc(),
    ))
    .select(ParticipacionFila::as_select())
    .load(conn)
}

/// Raises the participation from `version` to `despues` (its state, egreso and version); false
/// when it is no longer at `version` (nothing changed).
pub fn actualizar(
    conn: &mut DbConnection,
    version: i32,
    despues: &ParticipacionFila,
) -> QueryResult<bool> {
    let changed = diesel::update(
        chs_participaciones::table
            .filter(chs_participaciones::id.eq(&despues.id))
            .filter(chs_participaciones::version.eq(version)),
    )
    .set((
        chs_participaciones::estado.eq(&despues.estado),
        chs_participaciones::fecha_egreso.eq(despues.fecha_egreso),
        chs_participaciones::motivo_egreso.eq(&despues.motivo_egreso),
        chs_participaciones::version.eq(despues.version),
        chs_participaciones::actualizada_us.eq(despues.actualizada_us),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

pub fn insertar_sesion(conn: &mut DbConnection, sesion: &SesionFila) -> QueryResult<()> {
    diesel::insert_into(chs_sesiones::table)
        .values(sesion)
        .execute(conn)
        .map(|_| ())
}

pub fn fijar_condicion(
    conn: &mut DbConnection,
    id: &str,
    codigo: &str,
    estado: &str,
    fecha: NaiveDate,
) -> QueryResult<()> {
    diesel::update(chs_condiciones::table.find((id, codigo)))
        .set((
            chs_condiciones::estado.eq(estado),
            chs_condiciones::fecha.eq(Some(fecha)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Marks one bono `pagado`.
pub fn pagar_bono(
    conn: &mut DbConnection,
    id: &str,
    tipo: &str,
    mes: i32,
    ts_us: i64,
) -> QueryResult<()> {
    diesel::update(chs_bonos::table.find((id, tipo, mes)))
        .set((
            chs_bonos::estado.eq("pagado"),
            chs_bonos::pagado_us.eq(Some(ts_us)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Suspends every bono of a kind still `programado` (an egreso ends the protección).
pub fn suspender_bonos(conn: &mut DbConnection, id: &str, tipo: &str) -> QueryResult<()> {
    diesel::update(
        chs_bonos::table
            .filter(chs_bonos::participacion_id.eq(id))
            .filter(chs_bonos::tipo.eq(tipo))
            .filter(chs_bonos::estado.eq("programado")),
    )
    .set(chs_bonos::estado.eq("suspendido"))
    .execute(conn)
    .map(|_| ())
}

//! The emergency registry's rows. Every write under an emergency first takes its row
//! ([`tomar`]): a write and the close then never interleave, so nothing lands after a close
//! has committed.

use chrono::{NaiveDate, Utc};
use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::{emergencia_ayudas, emergencia_comunas, emergencia_hogares, emergencias};

pub fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = emergencias, treat_none_as_default_value = false)]
pub struct EmergenciaFila {
    pub id: String,
    pub nombre: String,
    pub tipo: String,
    pub fecha_inicio: NaiveDate,
    pub fecha_termino: Option<NaiveDate>,
    pub estado: String,
    /// The agreement that declared it.
    pub declarada_por: String,
    pub cerrada_por: Option<String>,
    pub declarada_us: i64,
    pub cerrada_us: Option<i64>,
    pub version: i32,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = emergencia_hogares, treat_none_as_default_value = false)]
pub struct HogarFila {
    pub id: String,
    pub emergencia_id: String,
    pub run_jefe: i32,
    /// The household the registry holds the head in, if any.
    pub hogar_id: Option<i64>,
    pub integrantes: i32,
    pub cut_origen: String,
    pub cut_destino: String,
    pub alojamiento: String,
    pub dano: String,
    /// Comma-separated, in the catalogue's order.
    pub necesidades: String,
    /// The agreement that registered it.
    pub convenio: String,
    pub registrado_us: i64,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = emergencia_ayudas, treat_none_as_default_value = false)]
pub struct AyudaFila {
    pub id: String,
    pub registro_id: String,
    pub tipo: String,
    pub cantidad: i32,
    pub fecha: NaiveDate,
    pub convenio: String,
    pub registrada_us: i64,
}

/// Stores a new emergency with its affected comunas.
pub fn insertar_emergencia(
    conn: &mut DbConnection,
    fila: &EmergenciaFila,
    comunas: &[String],
) -> QueryResult<()> {
    diesel::insert_into(emergencias::table)
        .values(fila)
        .execute(conn)?;
    // One row at a time: the two-backend connection takes no multi-row INSERT.
    for cut in comunas {
        diesel::insert_into(emergencia_comunas::table)
            .values((
                emergencia_comunas::emergencia_id.eq(&fila.id),
                emergencia_comunas::cut.eq(cut),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn emergencia(conn: &mut DbConnection, id: &str) -> QueryResult<Option<EmergenciaFila>> {
    emergencias::table
        .find(id)
        .select(EmergenciaFila::as_select())
        .first(conn)
        .optional()
}

/// The emergency's affected comunas, by code.
pub fn comunas(conn: &mut DbConnection, id: &str) -> QueryResult<Vec<String>> {
    emergencia_comunas::table
        .filter(emergencia_comunas::emergencia_id.eq(id))
        .order(emergencia_comunas::cut.asc())
        .select(emergencia_comunas::cut)
        .load(conn)
}

/// Every emergency (in one state, when given), the latest declared first.
pub fn emergencias(
    conn: &mut DbConnection,
    estado: Option<&str>,
) -> QueryResult<Vec<EmergenciaFila>> {
    let mut q = emergencias::table.into_boxed();
    if let Some(estado) = estado {
        q = q.filter(emergencias::estado.eq(estado.to_owned()));
    }
    q.order((emergencias::declarada_us.desc(), emergencias::id.asc()))
        .select(EmergenciaFila::as_select())
        .load(conn)
}

/// Takes an active emergency's row for a write under it (its version is raised): false when
/// it is unknown or closed. The row stays locked until the write commits.
pub fn tomar(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    let changed = diesel::update(
        emergencias::table
            .filter(emergencias::id.eq(id))
            .filter(emergencias::estado.eq("activa")),
    )
    .set(emergencias::version.eq(emergencias::version + 1))
    .execute(conn)?;
    Ok(changed == 1)
}

/// Closes an active emergency: false when it is unknown or already closed.
pub fn cerrar(
    conn: &mut DbConnection,
    id: &str,
    fecha_termino: NaiveDate,
    por: &str,
) -> QueryResult<bool> {
    let changed = diesel::update(
        emergencias::table
            .filter(emergencias::id.eq(id))
            .filter(emergencias::estado.eq("activa")),
    )
    .set((
        emergencias::estado.eq("cerrada"),
        emergencias::fecha_termino.eq(Some(fecha_termino)),
        emergencias::cerrada_por.eq(Some(por)),
        emergencias::cerrada_us.eq(Some(now_us())),
        emergencias::version.eq(emergencias::version + 1),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// The head's records in the emergency (by any agreement).
pub fn de_jefe(conn: &mut DbConnection, emergencia: &str, run: i32) -> QueryResult<Vec<HogarFila>> {
    emergencia_hogares::table
        .filter(emergencia_hogares::emergencia_id.eq(emergencia))
        .filter(emergencia_hogares::run_jefe.eq(run))
        .select(HogarFila::as_select())
        .load(conn)
}

pub fn insertar_hogar(conn: &mut DbConnection, fila: &HogarFila) -> QueryResult<()> {
    diesel::insert_into(emergencia_hogares::table)
        .values(fila)
        .execute(conn)
        .map(|_| ())
}

/// A household record of the emergency.
pub fn hogar(
    conn: &mut DbConnection,
    emergencia: &str,
    id: &str,
) -> QueryResult<Option<HogarFila>> {
    emergencia_hogares::table
        .filter(emergencia_hogares::id.eq(id))
        .filter(emergencia_hogares::emergencia_id.eq(emergencia))
        .select(HogarFila::as_select())
        .first(conn)
        .optional()
}

/// The emergency's household records whose origin or destination starts with `prefijo` (all
/// of them without one), in the order registered: the page asked for and how many there are.
pub fn hogares(
    conn: &mut DbConnection,
    emergencia: &str,
    prefijo: Option<&str>,
    desde: u64,
    cuantos: u32,
) -> QueryResult<(Vec<HogarFila>, i64)> {
    let filtro = || {
        let mut q = emergencia_hogares::table
            .filter(emergencia_hogares::emergencia_id.eq(emergencia.to_owned()))
            .into_boxed();
        if let Some(p) = prefijo {
            let patron = format!("{p}%");
            q = q.filter(
                emergencia_hogares::cut_origen
                    .like(patron.clone())
                    .or(emergencia_hogares::cut_destino.like(patron)),
            );
        }
        q
    };
    let total: i64 = filtro().count().get_result(conn)?;
    let filas = filtro()
        .order((
            emergencia_hogares::registrado_us.asc(),
            emergencia_hogares::id.asc(),
        ))
        .offset(i64::try_from(desde).unwrap_or(i64::MAX))
        .limit(i64::from(cuantos))
        .select(HogarFila::as_select())
        .load(conn)?;
    Ok((filas, total))
}

pub fn insertar_ayuda(conn: &mut DbConnection, fila: &AyudaFila) -> QueryResult<()> {
    diesel::insert_into(emergencia_ayudas::table)
        .values(fila)
        .execute(conn)
        .map(|_| ())
}

/// The aid delivered to these records, oldest first.
pub fn ayudas(conn: &mut DbConnection, registros: &[String]) -> QueryResult<Vec<AyudaFila>> {
    emergencia_ayudas::table
        .filter(emergencia_ayudas::registro_id.eq_any(registros))
        .order((
            emergencia_ayudas::fecha.asc(),
            emergencia_ayudas::registrada_us.asc(),
            emergencia_ayudas::id.asc(),
        ))
        .select(AyudaFila::as_select())
        .load(conn)
}

/// For the report: each record's id, origin and head, oldest first.
pub fn origenes(
    conn: &mut DbConnection,
    emergencia: &str,
) -> QueryResult<Vec<(String, String, i32)>> {
    emergencia_hogares::table
        .filter(emergencia_hogares::emergencia_id.eq(emergencia))
        .order((
            emergencia_hogares::registrado_us.asc(),
            emergencia_hogares::id.asc(),
        ))
        .select((
            emergencia_hogares::id,
            emergencia_hogares::cut_origen,
            emergencia_hogares::run_jefe,
        ))
        .load(conn)
}

/// For the report: each delivery's record and kind.
pub fn entregas(conn: &mut DbConnection, emergencia: &str) -> QueryResult<Vec<(String, String)>> {
    emergencia_ayudas::table
        .inner_join(emergencia_hogares::table)
        .filter(emergencia_hogares::emergencia_id.eq(emergencia))
        .select((emergencia_ayudas::registro_id, emergencia_ayudas::tipo))
        .load(conn)
}

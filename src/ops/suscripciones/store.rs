//! The subscriptions' rows: `suscripciones`, `suscripcion_runs` and the reads of `entregas`
//! a pull makes. The fan-out that fills `entregas` is in `despacho.rs`.

use chrono::Utc;
use diesel::prelude::*;

use crate::db::schema::{entregas, eventos, suscripcion_runs, suscripciones};
use crate::db::{DbConnection, on_backend};

pub fn now_us() -> i64 {
    Utc::now().timestamp_micros()
}

/// The states of an entrega not yet delivered: closing the subscription revokes them.
pub const NO_ENTREGADAS: [&str; 3] = ["disponible", "pendiente", "en_curso"];

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = suscripciones)]
pub struct SuscripcionFila {
    pub id: String,
    pub convenio: String,
    /// JSON list of kinds.
    pub tipos: String,
    pub entrega: String,
    pub url: Option<String>,
    pub formato: String,
    pub con_lista: bool,
    pub estado: String,
    pub ultima_secuencia: i64,
    pub creada_us: i64,
    pub cerrada_us: Option<i64>,
    /// A DCI subscription's `notify_record_type` (`Member` or `Group`).
    pub registro_dci: Option<String>,
}

impl SuscripcionFila {
    /// Its kinds (a list the node wrote; an unreadable one is none).
    pub fn tipos(&self) -> Vec<String> {
        serde_json::from_str(&self.tipos).unwrap_or_default()
    }
}

/// Stores a new subscription and its RUN list.
pub fn insertar(conn: &mut DbConnection, fila: &SuscripcionFila, runs: &[i32]) -> QueryResult<()> {
    diesel::insert_into(suscripciones::table)
        .values(fila)
        .execute(conn)?;
    for chunk in runs.chunks(1_000) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|run| {
                (
                    suscripcion_runs::suscripcion_id.eq(&fila.id),
                    suscripcion_runs::run.eq(*run),
                )
            })
            .collect();
        // On the backend's own connection: the two-backend one takes no multi-row INSERT.
        on_backend!(&mut *conn, |c| diesel::insert_into(suscripcion_runs::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
}

/// A subscription of `convenio` by id; another agreement's is `None`, as an unknown one.
pub fn leer(
    conn: &mut DbConnection,
    convenio: &str,
    id: &str,
) -> QueryResult<Option<SuscripcionFila>> {
    suscripciones::table
        .filter(suscripciones::id.eq(id))
        .filter(suscripciones::convenio.eq(convenio))
        .select(SuscripcionFila::as_select())
        .first(conn)
        .optional()
}

/// Every subscription of `convenio`, oldest first.
pub fn de_convenio(conn: &mut DbConnection, convenio: &str) -> QueryResult<Vec<SuscripcionFila>> {
    suscripciones::table
        .filter(suscripciones::convenio.eq(convenio))
        .order((suscripciones::creada_us, suscripciones::id))
        .select(SuscripcionFila::as_select())
        .load(conn)
}

/// How many RUNs a subscription's list names.
pub fn cuantos_runs(conn: &mut DbConnection, id: &str) -> QueryResult<i64> {
    suscripcion_runs::table
        .filter(suscripcion_runs::suscripcion_id.eq(id))
        .count()
        .get_result(conn)
}

/// Closes an active subscription and revokes its entregas not yet delivered; `false` when it
/// was no longer active.
pub fn cerrar(conn: &mut DbConnection, id: &str, ahora: i64) -> QueryResult<bool> {
    let cerrada = diesel::update(
        suscripciones::table
            .filter(suscripciones::id.eq(id))
            .filter(suscripciones::estado.eq("activa")),
    )
    .set((
        suscripciones::estado.eq("cerrada"),
        suscripciones::cerrada_us.eq(Some(ahora)),
    ))
    .execute(conn)?;
    if cerrada == 0 {
        return Ok(false);
    }
    diesel::update(
        entregas::table
            .filter(entregas::suscripcion_id.eq(id))
            .filter(entregas::estado.eq_any(NO_ENTREGADAS)),
    )
    .set(entregas::estado.eq("revocada"))
    .execute(conn)?;
    Ok(true)
}

/// An entrega of a pull subscription with its event.
#[derive(Debug, Clone, Queryable)]
pub struct Fila {
    pub secuencia: i64,
    pub estado: String,
    pub evento_id: i64,
    pub tipo: String,
    pub run: i32,
    pub run_relacionado: Option<i32>,
    pub cut: Option<String>,
    pub datos: String,
    pub registrado_us: i64,
}

/// Up to `limite` entregas of subscription `id` after `despues`, in order.
pub fn siguientes(
    conn: &mut DbConnection,
    id: &str,
    despues: i64,
    limite: u32,
) -> QueryResult<Vec<Fila>> {
    entregas::table
        .inner_join(eventos::table)
        .filter(entregas::suscripcion_id.eq(id))
        .filter(entregas::secuencia.gt(despues))
        .order(entregas::secuencia)
        .limit(i64::from(limite))
        .select((
            entregas::secuencia,
            entregas::estado,
            eventos::id,
            eventos::tipo,
            eventos::run,
            eventos::run_relacionado,
            eventos::cut,
            eventos::datos,
            eventos::registrado_us,
        ))
        .load(conn)
}

/// The oldest cursor subscription `id` may be read after: every entrega up to it was purged
/// (retention purges each subscription's rows in order, from its first: `ops::retencion`).
/// 0 when nothing was purged; its last secuencia when every row was.
pub fn purgada_hasta(conn: &mut DbConnection, id: &str) -> QueryResult<i64> {
    let primera: Option<i64> = entregas::table
        .filter(entregas::suscripcion_id.eq(id))
        .select(diesel::dsl::min(entregas::secuencia))
        .first(conn)?;
    match primera {
        Some(p) => Ok(p - 1),
        None => suscripciones::table
            .filter(suscripciones::id.eq(id))
            .select(suscripciones::ultima_secuencia)
            .first(conn),
    }
}

/// The entrega `secuencia` of subscription `id` with its event.
pub fn una(conn: &mut DbConnection, id: &str, secuencia: i64) -> QueryResult<Option<Fila>> {
    entregas::table
        .inner_join(eventos::table)
        .filter(entregas::suscripcion_id.eq(id))
        .filter(entregas::secuencia.eq(secuencia))
        .select((
            entregas::secuencia,
            entregas::estado,
            eventos::id,
            eventos::tipo,
            eventos::run,
            eventos::run_relacionado,
            eventos::cut,
            eventos::datos,
            eventos::registrado_us,
        ))
        .first(conn)
        .optional()
}

/// Sets the state of the entregas `secuencias` of `id` that are in one of `desde`.
pub fn marcar(
    conn: &mut DbConnection,
    id: &str,
    secuencias: &[i64],
    desde: &[&str],
    estado: &str,
    ahora: Option<i64>,
) -> QueryResult<usize> {
    if secuencias.is_empty() {
        return Ok(0);
    }
    diesel::update(
        entregas::table
            .filter(entregas::suscripcion_id.eq(id))
            .filter(entregas::secuencia.eq_any(secuencias))
            .filter(entregas::estado.eq_any(desde)),
    )
    .set((
        entregas::estado.eq(estado),
        entregas::entregada_us.eq(ahora),
    ))
    .execute(conn)
}

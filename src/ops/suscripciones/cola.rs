//! The push queue in `entregas`: claims with a lease, and outcomes written in groups. Each is a
//! short transaction; no transaction is held over an HTTP call.
//!
//! A row is claimable when it is `pendiente` and due (`proximo_us`), or `en_curso` with its
//! lease past (its node died in mid-call: it is sent again with the same key), and no earlier
//! row of the same subscription and person is `pendiente`, `en_curso` or `muerta`: a person's
//! events arrive in order, and a dead letter holds the person's later events until an operator
//! replays or discards it. On PostgreSQL the claim locks the rows it takes (`FOR UPDATE SKIP
//! LOCKED`), so that nodes never claim the same row; on SQLite the node is the file's only
//! claimer and the registry's write lock serialises claims.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Nullable, Text};

use super::store::SuscripcionFila;
use crate::catalog::Entrega;
use crate::db::DbConnection;
use crate::db::schema::{entregas, suscripciones};

/// A claimed row, with what the worker needs of its event.
#[derive(Debug, Clone, QueryableByName)]
pub struct Reclamada {
    #[diesel(sql_type = BigInt)]
    pub secuencia: i64,
    /// Attempts so far, this one included.
    #[diesel(sql_type = Integer)]
    pub intentos: i32,
    #[diesel(sql_type = Integer)]
    pub run: i32,
    #[diesel(sql_type = Nullable<Integer>)]
    pub run_relacionado: Option<i32>,
    #[diesel(sql_type = BigInt)]
    pub registrado_us: i64,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Desenlace {
    /// The receiver answered 2xx.
    Entregada { estado_http: u16, ahora: i64 },
    /// Try again at `proximo_us`.
    Pendiente {
        proximo_us: i64,
        estado_http: Option<u16>,
        error: String,
    },
    /// A dead letter: the operator's to replay or discard.
    Muerta {
        estado_http: Option<u16>,
        error: String,
    },
    /// The agreement may no longer receive it.
    Revocada { error: String },
    /// Every row of the subscription not yet delivered is revoked (its agreement is gone, out
    /// of force, or no longer grants `Suscripciones`).
    RevocarTodas { error: String },
    /// Nothing to write (the row is no longer the worker's).
    Nada,
}

/// The active push subscriptions.
pub fn suscripciones_push(conn: &mut DbConnection) -> QueryResult<Vec<SuscripcionFila>> {
    suscripciones::table
        .filter(suscripciones::estado.eq("activa"))
        .filter(suscripciones::entrega.eq(Entrega::Push.as_str()))
        .order(suscripciones::id)
        .select(SuscripcionFila::as_select())
        .load(conn)
}

/// `sql` with its `?` placeholders numbered for PostgreSQL.
pub fn placeholders(conn: &DbConnection, sql: &str) -> String {
    match conn {
        DbConnection::Sqlite(_) => sql.to_owned(),
        DbConnection::Pg(_) => {
            let mut out = String::with_capacity(sql.len() + 8);
            let mut n = 0;
            for c in sql.chars() {
                if c == '?' {
                    n += 1;
                    out.push_str(&format!("${n}"));
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

/// A subscription's due rows, in the order they are sent, read along the index
/// `entregas_cola` (suscripcion_id, proximo_us, secuencia; pending rows only), which stops at
/// the `LIMIT`-th row taken. An `en_curso` row was due when it was claimed, so its
/// `proximo_us` is in the past too: `proximo_us <= now` holds for every row this may take,
/// and bounds the index range.
const CANDIDATAS: &str = "SELECT e.secuencia, e.intentos + 1 AS intentos, v.run, \
     v.run_relacionado, v.registrado_us \
     FROM entregas e JOIN eventos v ON v.id = e.evento_id \
     WHERE e.estado IN ('pendiente', 'en_curso') AND e.suscripcion_id = ? \
       AND e.proximo_us <= ? AND (e.estado = 'pendiente' OR e.lease_us < ?) \
       AND NOT EXISTS (SELECT 1 FROM entregas p \
            WHERE p.suscripcion_id = e.suscripcion_id AND p.run = e.run \
              AND p.secuencia < e.secuencia \
              AND p.estado IN ('pendiente', 'en_curso', 'muerta')) \
     ORDER BY e.proximo_us, e.secuencia LIMIT ?";

/// Up to `n` rows of subscription `id` due at `ahora`; `bloquear`: locked for the claim
/// (PostgreSQL, skipping rows another node holds).
fn candidatas(
    conn: &mut DbConnection,
    id: &str,
    ahora: i64,
    n: i64,
    bloquear: bool,
) -> QueryResult<Vec<Reclamada>> {
    let mut sql = placeholders(conn, CANDIDATAS);
    if bloquear && let DbConnection::Pg(_) = conn {
        sql.push_str(" FOR UPDATE OF e SKIP LOCKED");
    }
    diesel::sql_query(sql)
        .bind::<Text, _>(id)
        .bind::<BigInt, _>(ahora)
        .bind::<BigInt, _>(ahora)
        .bind::<BigInt, _>(n)
        .load(conn)
}

/// Claims up to `n` rows of subscription `id` until `lease_us`, counting the attempt.
pub fn reclamar(
    conn: &mut DbConnection,
    id: &str,
    ahora: i64,
    lease_us: i64,
    n: i64,
) -> QueryResult<Vec<Reclamada>> {
    // Most turns find nothing due: look first without a write transaction, which on SQLite
    // takes the registry's write lock (and would queue behind a feed for nothing), as the
    // fan-out does.
    if candidatas(conn, id, ahora, 1, false)?.is_empty() {
        return Ok(Vec::new());
    }
    crate::db::write_transaction(conn, |conn| {
        let filas = candidatas(conn, id, ahora, n, true)?;
        if filas.is_empty() {
            return Ok(filas);
        }
        let secuencias: Vec<i64> = filas.iter().map(|f| f.secuencia).collect();
        diesel::update(
            entregas::table
                .filter(entregas::suscripcion_id.eq(id))
                .filter(entregas::secuencia.eq_any(&secuencias)),
        )
        .set((
            entregas::estado.eq("en_curso"),
            entregas::lease_us.eq(Some(lease_us)),
            entregas::intentos.eq(entregas::intentos + 1),
        ))
        .execute(conn)?;
        Ok(filas)
    })
}

/// Writes a group of outcomes in one transaction. Only rows still `en_curso` change (an
/// operator may have discarded one meanwhile).
pub fn registrar(
    conn: &mut DbConnection,
    desenlaces: &[(String, i64, Desenlace)],
) -> QueryResult<()> {
    if desenlaces.is_empty() {
        return Ok(());
    }
    crate::db::write_transaction(conn, |conn| {
        for (id, secuencia, desenlace) in desenlaces {
            let fila = entregas::table
                .filter(entregas::suscripcion_id.eq(id))
                .filter(entregas::secuencia.eq(*secuencia))
                .filter(entregas::estado.eq("en_curso"));
            let http = |e: &Option<u16>| e.map(i32::from);
            match desenlace {
                Desenlace::Entregada { estado_http, ahora } => {
                    diesel::update(fila)
                        .set((
                            entregas::estado.eq("entregada"),
                            entregas::estado_http.eq(Some(i32::from(*estado_http))),
                            entregas::entregada_us.eq(Some(*ahora)),
                            entregas::lease_us.eq(None::<i64>),
                        ))
                        .execute(conn)?;
                }
                Desenlace::Pendiente {
                    proximo_us,
                    estado_http,
                    error,
                } => {
                    diesel::update(fila)
                        .set((
                            entregas::estado.eq("pendiente"),
                            entregas::proximo_us.eq(*proximo_us),
                            entregas::estado_http.eq(http(estado_http)),
                            entregas::ultimo_error.eq(Some(error)),
                            entregas::lease_us.eq(None::<i64>),
                        ))
                        .execute(conn)?;
                }
                Desenlace::Muerta { estado_http, error } => {
                    diesel::update(fila)
                        .set((
                            entregas::estado.eq("muerta"),
                            entregas::estado_http.eq(http(estado_http)),
                            entregas::ultimo_error.eq(Some(error)),
                            entregas::lease_us.eq(None::<i64>),
                        ))
                        .execute(conn)?;
                }
                Desenlace::Revocada { error } => {
                    diesel::update(fila)
                        .set((
                            entregas::estado.eq("revocada"),
                            entregas::ultimo_error.eq(Some(error)),
                            entregas::lease_us.eq(None::<i64>),
                        ))
                        .execute(conn)?;
                }
                Desenlace::RevocarTodas { error } => {
                    diesel::update(
                        entregas::table
                            .filter(entregas::suscripcion_id.eq(id))
                            .filter(entregas::estado.eq_any(["pendiente", "en_curso"])),
                    )
                    .set((
                        entregas::estado.eq("revocada"),
                        entregas::ultimo_error.eq(Some(error)),
                        entregas::lease_us.eq(None::<i64>),
                    ))
                    .execute(conn)?;
                }
                Desenlace::Nada => {}
            }
        }
        Ok(())
    })
}

/// Notes on the pending rows of a subscription the worker cannot send (`formato = dci` on a
/// node started without the DCI renderer) why they wait; they stay `pendiente`.
pub fn en_espera(conn: &mut DbConnection, id: &str, motivo: &str) -> QueryResult<usize> {
    diesel::update(
        entregas::table
            .filter(entregas::suscripcion_id.eq(id))
            .filter(entregas::estado.eq("pendiente"))
            .filter(entregas::ultimo_error.is_null()),
    )
    .set(entregas::ultimo_error.eq(Some(motivo)))
    .execute(conn)
}

#[derive(QueryableByName)]
struct Antigua {
    #[diesel(sql_type = Nullable<BigInt>)]
    desde: Option<i64>,
}

/// When the oldest event a push subscription has not yet received was recorded.
pub fn pendiente_mas_antigua(conn: &mut DbConnection) -> QueryResult<Option<i64>> {
    Ok(diesel::sql_query(
        "SELECT MIN(v.registrado_us) AS desde FROM entregas e \
         JOIN eventos v ON v.id = e.evento_id WHERE e.estado IN ('pendiente', 'en_curso')",
    )
    .get_result::<Antigua>(conn)?
    .desde)
}

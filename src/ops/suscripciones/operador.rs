//! The operator's side of push deliveries (docs/eventos.md, "Dead letters"): what waits in
//! `entregas` and why, and the two decisions an operator takes about dead letters (`muerta`):
//! send them again (`reintentar`: back to `pendiente` with `intentos = 0`, same secuencia, so
//! the same idempotency key) or give them up (`descartar`: `descartada`, which releases the
//! person's later events held behind them). Shared by `siis entregas` and the admin listener.
//!
//! Nothing here names a person: rows are named by subscription and secuencia; the RUN is read
//! only to count the rows that wait behind a dead letter (same subscription and person).

use diesel::prelude::*;
use serde::Serialize;

use super::store::now_us;
use crate::db::DbConnection;
use crate::db::schema::{entregas, suscripciones};
use crate::domain::SuscripcionId;
use crate::error::{ApiError, ErrorCode};

/// Every state an entrega can be in (the migration's CHECK).
pub const ESTADOS: [&str; 7] = [
    "disponible",
    "pendiente",
    "en_curso",
    "entregada",
    "muerta",
    "descartada",
    "revocada",
];

/// The states of rows that wait behind a dead letter for their turn.
const EN_ESPERA: [&str; 2] = ["pendiente", "en_curso"];

/// The most dead letters one listing names (the counts cover them all).
pub const LIMITE_MAXIMO: u32 = 1_000;

/// Which dead letters an operator's decision is about: exactly one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seleccion {
    /// A subscription's dead letters, from secuencia `desde` on (all of them without it).
    Suscripcion { id: String, desde: Option<i64> },
    /// Every subscription's of an agreement (for a replay: the open ones).
    Convenio(String),
    /// One entrega, `SUSCRIPCION:SECUENCIA`.
    Secuencia { id: String, secuencia: i64 },
}

/// A selection that cannot be taken; nothing is changed.
pub fn seleccion_invalida(detail: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::SeleccionInvalida, detail.into())
}

fn suscripcion_id(text: &str) -> Result<String, ApiError> {
    SuscripcionId::parse(text)
        .map(|id| id.to_string())
        .map_err(|_| seleccion_invalida(format!("suscripcion {text:?} is not a subscription id")))
}

impl Seleccion {
    /// The selection from its parts as the CLI and the admin listener take them.
    pub fn parse(
        suscripcion: Option<&str>,
        desde: Option<i64>,
        convenio: Option<&str>,
        secuencia: Option<&str>,
    ) -> Result<Seleccion, ApiError> {
        if desde.is_some() && suscripcion.is_none() {
            return Err(seleccion_invalida("desde goes with suscripcion"));
        }
        match (suscripcion, convenio, secuencia) {
            (Some(id), None, None) => {
                if let Some(d) = desde.filter(|d| *d < 1) {
                    return Err(seleccion_invalida(format!(
                        "desde {d}: secuencias start at 1"
                    )));
                }
                Ok(Seleccion::Suscripcion {
                    id: suscripcion_id(id)?,
                    desde,
                })
            }
            (None, Some(c), None) if !c.is_empty() => Ok(Seleccion::Convenio(c.to_owned())),
            (None, None, Some(text)) => {
                let (id, n) = text.rsplit_once(':').ok_or_else(|| {
                    seleccion_invalida(format!("secuencia {text:?} is not SUSCRIPCION:N"))
                })?;
                let secuencia = n.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    seleccion_invalida(format!("secuencia {n:?} is not 1 or more"))
                })?;
                Ok(Seleccion::Secuencia {
                    id: suscripcion_id(id)?,
                    secuencia,
                })
            }
            _ => Err(seleccion_invalida(
                "name exactly one of suscripcion (with desde or not), convenio, secuencia",
            )),
        }
    }

    /// The selection in words, for the audit record and the answer.
    pub fn describir(&self) -> String {
        match self {
            Seleccion::Suscripcion { id, desde: None } => format!("suscripcion {id}"),
            Seleccion::Suscripcion { id, desde: Some(d) } => format!("suscripcion {id} desde {d}"),
            Seleccion::Convenio(c) => format!("convenio {c}"),
            Seleccion::Secuencia { id, secuencia } => format!("secuencia {id}:{secuencia}"),
        }
    }
}

/// What an operator's decision changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cambio {
    /// The agreement whose deliveries these are.
    pub convenio: String,
    /// How many dead letters changed state.
    pub entregas: usize,
    /// Their new state.
    pub estado: &'static str,
}

/// A subscription by id, as `(convenio, estado)`; an unknown one is `NO_ENCONTRADO`.
fn suscripcion(conn: &mut DbConnection, id: &str) -> Result<(String, String), ApiError> {
    suscripciones::table
        .filter(suscripciones::id.eq(id))
        .select((suscripciones::convenio, suscripciones::estado))
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::new(ErrorCode::NoEncontrado, format!("no subscription {id}")))
}

/// An agreement with subscriptions; one without any is `NO_ENCONTRADO`.
fn convenio_con_suscripciones(conn: &mut DbConnection, convenio: &str) -> Result<(), ApiError> {
    let n: i64 = suscripciones::table
        .filter(suscripciones::convenio.eq(convenio))
        .count()
        .get_result(conn)?;
    if n == 0 {
        return Err(ApiError::new(
            ErrorCode::NoEncontrado,
            format!("agreement {convenio:?} has no subscription"),
        ));
    }
    Ok(())
}

/// Checks the selection against the registry and returns its agreement, the ids of its
/// subscriptions whose dead letters it takes, and the secuencia range in them.
fn resolver(
    conn: &mut DbConnection,
    seleccion: &Seleccion,
    reintento: bool,
) -> Result<(String, Vec<String>, i64, i64), ApiError> {
    let abierta = |id: &str, estado: &str| {
        if reintento && estado != "activa" {
            Err(ApiError::new(
                ErrorCode::SuscripcionCerrada,
                format!("subscription {id} is closed: its dead letters are not sent again"),
            ))
        } else {
            Ok(())
        }
    };
    match seleccion {
        Seleccion::Suscripcion { id, desde } => {
            let (convenio, estado) = suscripcion(conn, id)?;
            abierta(id, &estado)?;
            Ok((convenio, vec![id.clone()], desde.unwrap_or(1), i64::MAX))
        }
        Seleccion::Secuencia { id, secuencia } => {
            let (convenio, estado) = suscripcion(conn, id)?;
            abierta(id, &estado)?;
            let fila: Option<String> = entregas::table
                .filter(entregas::suscripcion_id.eq(id))
                .filter(entregas::secuencia.eq(secuencia))
                .select(entregas::estado)
                .first(conn)
                .optional()?;
            match fila.as_deref() {
                None => Err(ApiError::new(
                    ErrorCode::NoEncontrado,
                    format!("no entrega {id}:{secuencia}"),
                )),
                Some("muerta") => Ok((convenio, vec![id.clone()], *secuencia, *secuencia)),
                Some(otro) => Err(ApiError::new(
                    ErrorCode::EntregaNoMuerta,
                    format!("entrega {id}:{secuencia} is {otro}, not a dead letter"),
                )),
            }
        }
        Seleccion::Convenio(convenio) => {
            convenio_con_suscripciones(conn, convenio)?;
            let mut ids = suscripciones::table
                .filter(suscripciones::convenio.eq(convenio))
                .into_boxed();
            if reintento {
                ids = ids.filter(suscripciones::estado.eq("activa"));
            }
            let ids = ids.select(suscripciones::id).load(conn)?;
            Ok((convenio.clone(), ids, 1, i64::MAX))
        }
    }
}

/// Sends the selected dead letters again: `pendiente`, `intentos = 0`, due now, no lease; the
/// secuencia (hence the idempotency key) and the last error stay. A closed subscription's are
/// not replayed (`SUSCRIPCION_CERRADA` when named; skipped under a whole agreement).
pub fn reintentar(conn: &mut DbConnection, seleccion: &Seleccion) -> Result<Cambio, ApiError> {
    let (convenio, ids, desde, hasta) = resolver(conn, seleccion, true)?;
    let entregas = diesel::update(
        entregas::table
            .filter(entregas::suscripcion_id.eq_any(&ids))
            .filter(entregas::secuencia.between(desde, hasta))
            .filter(entregas::estado.eq("muerta")),
    )
    .set((
        entregas::estado.eq("pendiente"),
        entregas::intentos.eq(0),
        entregas::proximo_us.eq(now_us()),
        entregas::lease_us.eq(None::<i64>),
    ))
    .execute(conn)?;
    Ok(Cambio {
        convenio,
        entregas,
        estado: "pendiente",
    })
}

/// Gives the selected dead letters up: `descartada`. The person's later events of the same
/// subscription, held behind them, are then free to go.
pub fn descartar(conn: &mut DbConnection, seleccion: &Seleccion) -> Result<Cambio, ApiError> {
    let (convenio, ids, desde, hasta) = resolver(conn, seleccion, false)?;
    let entregas = diesel::update(
        entregas::table
            .filter(entregas::suscripcion_id.eq_any(&ids))
            .filter(entregas::secuencia.between(desde, hasta))
            .filter(entregas::estado.eq("muerta")),
    )
    .set(entregas::estado.eq("descartada"))
    .execute(conn)?;
    Ok(Cambio {
        convenio,
        entregas,
        estado: "descartada",
    })
}

/// What a listing is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filtro {
    pub convenio: Option<String>,
    pub suscripcion: Option<String>,
    pub estado: Option<String>,
    /// The most dead letters named (default 100, at most [`LIMITE_MAXIMO`]).
    pub limite: Option<u32>,
}

impl Filtro {
    /// The filter from its parts as sent (`SELECCION_INVALIDA` for a state or id that is not).
    pub fn parse(
        convenio: Option<&str>,
        suscripcion: Option<&str>,
        estado: Option<&str>,
        limite: Option<u32>,
    ) -> Result<Filtro, ApiError> {
        if let Some(e) = estado.filter(|e| !ESTADOS.contains(e)) {
            return Err(seleccion_invalida(format!(
                "estado {e:?}: one of {}",
                ESTADOS.join(", ")
            )));
        }
        if let Some(l) = limite.filter(|l| *l > LIMITE_MAXIMO) {
            return Err(seleccion_invalida(format!(
                "limite {l}: at most {LIMITE_MAXIMO}"
            )));
        }
        Ok(Filtro {
            convenio: convenio.map(str::to_owned),
            suscripcion: suscripcion.map(suscripcion_id).transpose()?,
            estado: estado.map(str::to_owned),
            limite,
        })
    }
}

/// How many entregas of one subscription are in one state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cuenta {
    pub convenio: String,
    pub suscripcion: String,
    pub estado: String,
    pub entregas: i64,
}

/// A dead letter as the operator sees it: no RUN, no event's data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Muerta {
    pub convenio: String,
    pub suscripcion: String,
    pub secuencia: i64,
    pub intentos: i32,
    pub ultimo_error: Option<String>,
    pub estado_http: Option<i32>,
    /// The same person's later entregas of this subscription that wait behind it.
    pub detras: i64,
}

/// A dead letter as read: its person's RUN only to count the rows behind it.
#[derive(Queryable)]
struct FilaMuerta {
    suscripcion: String,
    secuencia: i64,
    run: i32,
    intentos: i32,
    ultimo_error: Option<String>,
    estado_http: Option<i32>,
}

/// A listing: counts by subscription and state, then the dead letters (by subscription and
/// secuencia).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Listado {
    pub cuentas: Vec<Cuenta>,
    pub muertas: Vec<Muerta>,
    /// Dead letters beyond the limit, counted but not named.
    pub muertas_omitidas: i64,
}

/// The listing `filtro` asks for; an unknown subscription or an agreement without any is
/// `NO_ENCONTRADO` (a typo should not read as "nothing waits").
pub fn listar(conn: &mut DbConnection, filtro: &Filtro) -> Result<Listado, ApiError> {
    if let Some(id) = &filtro.suscripcion {
        suscripcion(conn, id)?;
    }
    if let Some(c) = &filtro.convenio {
        convenio_con_suscripciones(conn, c)?;
    }
    // The subscriptions listed, with their agreements (few: one query, then by id).
    let mut subs = suscripciones::table.into_boxed();
    if let Some(c) = &filtro.convenio {
        subs = subs.filter(suscripciones::convenio.eq(c.clone()));
    }
    if let Some(s) = &filtro.suscripcion {
        subs = subs.filter(suscripciones::id.eq(s.clone()));
    }
    let subs: Vec<(String, String)> = subs
        .select((suscripciones::id, suscripciones::convenio))
        .load(conn)?;
    let convenio_de: std::collections::HashMap<String, String> = subs.into_iter().collect();
    let ids: Vec<&String> = convenio_de.keys().collect();
    let estados: Vec<&str> = match &filtro.estado {
        Some(e) => vec![e.as_str()],
        None => ESTADOS.to_vec(),
    };
    let filas: Vec<(String, String, i64)> = entregas::table
        .filter(entregas::suscripcion_id.eq_any(&ids))
        .filter(entregas::estado.eq_any(&estados))
        .group_by((entregas::suscripcion_id, entregas::estado))
        .select((
            entregas::suscripcion_id,
            entregas::estado,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    let mut cuentas: Vec<Cuenta> = filas
        .into_iter()
        .map(|(suscripcion, estado, entregas)| Cuenta {
            convenio: convenio_de.get(&suscripcion).cloned().unwrap_or_default(),
            suscripcion,
            estado,
            entregas,
        })
        .collect();
    cuentas.sort_by(|a, b| {
        (&a.convenio, &a.suscripcion, &a.estado).cmp(&(&b.convenio, &b.suscripcion, &b.estado))
    });
    let total: i64 = cuentas
        .iter()
        .filter(|c| c.estado == "muerta")
        .map(|c| c.entregas)
        .sum();
    let limite = filtro.limite.unwrap_or(100);
    let nombradas = filtro.estado.as_deref().is_none_or(|e| e == "muerta");
    let filas: Vec<FilaMuerta> = if nombradas {
        entregas::table
            .filter(entregas::suscripcion_id.eq_any(&ids))
            .filter(entregas::estado.eq("muerta"))
            .order((entregas::suscripcion_id, entregas::secuencia))
            .limit(i64::from(limite))
            .select((
                entregas::suscripcion_id,
                entregas::secuencia,
                entregas::run,
                entregas::intentos,
                entregas::ultimo_error,
                entregas::estado_http,
            ))
            .load(conn)?
    } else {
        Vec::new()
    };
    let mut muertas = Vec::with_capacity(filas.len());
    for FilaMuerta {
        suscripcion,
        secuencia,
        run,
        intentos,
        ultimo_error,
        estado_http,
    } in filas
    {
        let detras = entregas::table
            .filter(entregas::suscripcion_id.eq(&suscripcion))
            .filter(entregas::run.eq(run))
            .filter(entregas::secuencia.gt(secuencia))
            .filter(entregas::estado.eq_any(EN_ESPERA))
            .count()
            .get_result(conn)?;
        muertas.push(Muerta {
            convenio: convenio_de.get(&suscripcion).cloned().unwrap_or_default(),
            suscripcion,
            secuencia,
            intentos,
            ultimo_error,
            estado_http,
            detras,
        });
    }
    let muertas_omitidas = if nombradas {
        total - muertas.len() as i64
    } else {
        0
    };
    Ok(Listado {
        cuentas,
        muertas,
        muertas_omitidas,
    })
}

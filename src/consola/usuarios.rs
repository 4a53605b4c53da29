//! The console's officials (`consola_usuarios`): each RUN acts under one agreement in one role.
//! Changes made in the console go through the broker as `AdministrarUsuarios`, each in one
//! transaction with its audit record ([`cambiar`] runs inside it); `serve --demo` and the
//! tests make officials with [`alta`] directly.

use std::collections::BTreeSet;

use diesel::prelude::*;

use crate::broker::Usuario;
use crate::catalog::Rol;
use crate::convenios::ConvenioSet;
use crate::db::schema::consola_usuarios;
use crate::db::{DbConnection, DbError};
use crate::domain::{ConvenioId, Run};
use crate::error::ApiError;
use crate::projection::{FieldSet, Project};

fn key(run: Run) -> i32 {
    // A Run is at most 99,999,999, well inside i32.
    i32::try_from(run.numero()).unwrap_or(i32::MAX)
}

/// The agreement and role of an official, if `run` is one. A row this node cannot read (an
/// unknown role or agreement id) makes no official.
pub fn buscar(conn: &mut DbConnection, run: Run) -> Result<Option<(ConvenioId, Rol)>, DbError> {
    let row: Option<(String, String)> = consola_usuarios::table
        .find(key(run))
        .select((consola_usuarios::convenio, consola_usuarios::rol))
        .first(conn)
        .optional()?;
    Ok(row.and_then(|(convenio, rol)| {
        let rol = Rol::parse(&rol).filter(|r| *r != Rol::Persona)?;
        Some((ConvenioId::parse(&convenio).ok()?, rol))
    }))
}

/// Makes `run` an official of `convenio` in `rol` (or changes theirs), without an audit record:
/// for `serve --demo` and tests. The console's own changes go through [`cambiar`].
pub fn alta(
    conn: &mut DbConnection,
    run: Run,
    convenio: &ConvenioId,
    rol: Rol,
) -> Result<(), DbError> {
    let now = chrono::Utc::now().timestamp_micros();
    diesel::delete(consola_usuarios::table.find(key(run))).execute(conn)?;
    diesel::insert_into(consola_usuarios::table)
        .values((
            consola_usuarios::run.eq(key(run)),
            consola_usuarios::convenio.eq(convenio.as_str()),
            consola_usuarios::rol.eq(rol.as_str()),
            consola_usuarios::alta_us.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// One official, as the users' page shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Funcionario {
    pub run: Run,
    pub convenio: String,
    pub rol: String,
    pub alta_us: i64,
}

/// The officials a manager sees: a comuna head those of their agreement, the operator all.
#[derive(Debug, Clone, Default)]
pub struct Funcionarios(pub Vec<Funcionario>);

impl Project for Funcionarios {
    fn project(&mut self, _: &FieldSet) {}

    fn disclosed(&self) -> BTreeSet<&'static str> {
        match self.0.is_empty() {
            true => BTreeSet::new(),
            false => BTreeSet::from(["run", "convenio", "rol", "alta"]),
        }
    }

    /// Each listed official is named in the record.
    fn subjects(&self) -> Option<Vec<Run>> {
        Some(self.0.iter().map(|f| f.run).collect())
    }
}

/// The officials `actor` may see, in RUN order.
pub fn lista(conn: &mut DbConnection, actor: &Usuario) -> Result<Funcionarios, ApiError> {
    let mut query = consola_usuarios::table
        .select((
            consola_usuarios::run,
            consola_usuarios::convenio,
            consola_usuarios::rol,
            consola_usuarios::alta_us,
        ))
        .order(consola_usuarios::run)
        .into_boxed();
    if actor.rol != Rol::Operador {
        query = query.filter(consola_usuarios::convenio.eq(actor.convenio.as_str().to_owned()));
    }
    let rows: Vec<(i32, String, String, i64)> = query.load(conn).map_err(db_error)?;
    Ok(Funcionarios(
        rows.into_iter()
            .filter_map(|(run, convenio, rol, alta_us)| {
                let run = Run::from_numero(u32::try_from(run).ok()?).ok()?;
                Some(Funcionario {
                    run,
                    convenio,
                    rol,
                    alta_us,
                })
            })
            .collect(),
    ))
}

/// A change asked for: `rol` `None` removes the official.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cambio {
    pub run: Run,
    pub convenio: ConvenioId,
    pub rol: Option<Rol>,
}

impl Project for Cambio {
    fn project(&mut self, _: &FieldSet) {}

    fn disclosed(&self) -> BTreeSet<&'static str> {
        BTreeSet::from(["run", "convenio", "rol"])
    }
}

/// Applies `cambio` for `actor`, inside the broker's write transaction. A comuna head manages
/// only their own agreement's officials, never makes an operator, and never takes an official
/// of another agreement; the operator manages every agreement's. Nobody changes themself.
pub fn cambiar(
    conn: &mut DbConnection,
    actor: &Usuario,
    convenios: &ConvenioSet,
    cambio: Cambio,
) -> Result<Cambio, ApiError> {
    let refuse = |why: &str| Err(ApiError::no_autorizado(why.to_owned()));
    if cambio.run == actor.run {
        return refuse("a user cannot change their own access");
    }
    match convenios.get(&cambio.convenio) {
        Some(c) if !c.personas => {}
        _ => {
            return Err(ApiError::solicitud_invalida(
                "the agreement is not one officials act under",
            ));
        }
    }
    let operador = actor.rol == Rol::Operador;
    if !operador {
        if cambio.convenio != actor.convenio {
            return refuse("a comuna head manages their own agreement's users only");
        }
        if cambio.rol == Some(Rol::Operador) {
            return refuse("only the registry's operator makes an operator");
        }
    }
    let existing = buscar(conn, cambio.run).map_err(db_error)?;
    if let Some((convenio, _)) = &existing
        && *convenio != actor.convenio
        && !operador
    {
        return refuse("the official belongs to another agreement");
    }
    match cambio.rol {
        Some(rol) => alta(conn, cambio.run, &cambio.convenio, rol).map_err(db_error)?,
        None if existing.is_some() => {
            diesel::delete(consola_usuarios::table.find(key(cambio.run)))
                .execute(conn)
                .map_err(db_error)?;
        }
        None => return Err(ApiError::no_encontrado()),
    }
    Ok(cambio)
}

fn db_error(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "console users: registry error");
    ApiError::unavailable()
}

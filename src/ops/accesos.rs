//! ConsultarAccesos: who consulted a person's data, when, under which agreement and purpose,
//! and what came of it: every request that named the person, answered or not (a refusal, a
//! person a batch did not disclose, a feed line refused), each with its outcome.

use std::collections::BTreeSet;

use super::{Core, Op};
use crate::audit;
use crate::broker::Admission;
use crate::catalog::Operation;
use crate::convenios::ConvenioSet;
use crate::db::{DbConnection, DbError};
use crate::domain::{ConvenioId, Run};
use crate::error::ApiError;
use crate::projection::FieldSet;
use crate::projection::{Project, recortar, revelados};
pub use crate::respuestas::{Acceso, Accesos};

/// Most accesses listed in one answer of each kind, answered and not (newest first): a flood
/// of refused probes cannot push the real accesses out of the report, nor the reverse.
pub const MAX_ACCESOS: i64 = 1_000;

impl Project for Accesos {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }
}

/// Every request that named `run`, newest first, with what came of it for that person: the
/// latest [`MAX_ACCESOS`] that disclosed something and the latest [`MAX_ACCESOS`] that did not.
pub fn consultar(
    conn: &mut DbConnection,
    run: Run,
    convenios: &ConvenioSet,
) -> Result<Accesos, DbError> {
    let mut found = audit::accesses(conn, run, audit::Which::Answered, MAX_ACCESOS)?;
    found.extend(audit::accesses(
        conn,
        run,
        audit::Which::Unanswered,
        MAX_ACCESOS,
    )?);
    // Newest first; the sort is stable, so records of one instant keep the log's order.
    found.sort_by_key(|a| std::cmp::Reverse(a.ts));
    let accesos = found
        .into_iter()
        .map(|a| {
            let institucion = a
                .convenio
                .as_deref()
                .and_then(|id| ConvenioId::parse(id).ok())
                .and_then(|id| convenios.get(&id).map(|g| g.agency.clone()));
            Acceso {
                fecha: Some(a.ts.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                convenio: a.convenio,
                institucion,
                operacion: Some(a.operation),
                proposito: a.purpose,
                resultado: Some(a.outcome),
                campos: Some(a.fields),
            }
        })
        .collect();
    Ok(Accesos {
        run: Some(run.to_string()),
        accesos: Some(accesos),
    })
}

/// ConsultarAccesos (REST `GET /api/v1/personas/{run}/accesos`, SOAP ConsultarAccesos): the
/// person's access report, for the registry's operators.
pub struct ConsultarAccesos;

impl Op for ConsultarAccesos {
    const OPERATION: Operation = Operation::ConsultarAccesos;
    type Request = Run;
    type Response = Accesos;

    fn subjects(run: &Run) -> Vec<Run> {
        vec![*run]
    }

    fn handle(
        core: &Core,
        _: &Admission,
        conn: &mut DbConnection,
        run: Run,
    ) -> Result<Accesos, ApiError> {
        Ok(consultar(conn, run, &core.broker.policy().convenios)?)
    }
}

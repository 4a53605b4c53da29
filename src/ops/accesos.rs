//! ConsultarAccesos: who consulted a person's data, when, under which agreement and purpose,
//! and what came of it: every request that named the person, answered or not (a refusal, a
//! person a batch did not disclose, a feed line refused), each with its outcome.

use serde::Serialize;

use std::collections::BTreeSet;

use super::{Core, Op};
use crate::agreements::{AgreementSet, FieldSet};
use crate::audit;
use crate::broker::Admission;
use crate::catalog::Operation;
use crate::db::{DbConnection, DbError};
use crate::domain::{AgreementId, Run};
use crate::error::ApiError;
use crate::projection::{Project, any_below, keep, note};

/// Most accesses listed in one answer of each kind, answered and not (newest first): a flood
/// of refused probes cannot push the real accesses out of the report, nor the reverse.
pub const MAX_ACCESOS: i64 = 1_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Accesos {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accesos: Option<Vec<Acceso>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Acceso {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convenio: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub institucion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operacion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposito: Option<String>,
    /// `OK` when something was disclosed about the person, else why not (`NO_AUTORIZADO`,
    /// `FUERA_DE_AMBITO`, `NO_ENCONTRADO`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resultado: Option<String>,
    /// The fields disclosed about the person (empty when nothing was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campos: Option<Vec<String>>,
}

impl Project for Accesos {
    fn project(&mut self, grant: &FieldSet) {
        keep(&mut self.run, grant, "run");
        if any_below(grant, "accesos.") {
            for a in self.accesos.iter_mut().flatten() {
                keep(&mut a.fecha, grant, "accesos.fecha");
                keep(&mut a.convenio, grant, "accesos.convenio");
                keep(&mut a.institucion, grant, "accesos.institucion");
                keep(&mut a.operacion, grant, "accesos.operacion");
                keep(&mut a.proposito, grant, "accesos.proposito");
                keep(&mut a.resultado, grant, "accesos.resultado");
                keep(&mut a.campos, grant, "accesos.campos");
            }
        } else {
            self.accesos = None;
        }
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        let mut out = BTreeSet::new();
        note(&mut out, &self.run, "run");
        for a in self.accesos.iter().flatten() {
            note(&mut out, &a.fecha, "accesos.fecha");
            note(&mut out, &a.convenio, "accesos.convenio");
            note(&mut out, &a.institucion, "accesos.institucion");
            note(&mut out, &a.operacion, "accesos.operacion");
            note(&mut out, &a.proposito, "accesos.proposito");
            note(&mut out, &a.resultado, "accesos.resultado");
            if a.campos.as_ref().is_some_and(|c| !c.is_empty()) {
                out.insert("accesos.campos");
            }
        }
        out
    }
}

/// Every request that named `run`, newest first, with what came of it for that person: the
/// latest [`MAX_ACCESOS`] that disclosed something and the latest [`MAX_ACCESOS`] that did not.
pub fn consultar(
    conn: &mut DbConnection,
    run: Run,
    agreements: &AgreementSet,
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
                .agreement
                .as_deref()
                .and_then(|id| AgreementId::parse(id).ok())
                .and_then(|id| agreements.get(&id).map(|g| g.agency.clone()));
            Acceso {
                fecha: Some(a.ts.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
                convenio: a.agreement,
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
        Ok(consultar(conn, run, &core.broker.policy().agreements)?)
    }
}

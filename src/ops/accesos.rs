//! ConsultarAccesos: who consulted a person's data, when, under which agreement and purpose.

use serde::Serialize;

use std::collections::BTreeSet;

use super::projection::{Project, any_below, keep, note};
use crate::agreements::{AgreementSet, FieldSet};
use crate::audit;
use crate::db::{DbConnection, DbError};
use crate::domain::{AgreementId, Run};

/// Most accesses listed in one answer (newest first).
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
            if a.campos.as_ref().is_some_and(|c| !c.is_empty()) {
                out.insert("accesos.campos");
            }
        }
        out
    }
}

/// The answered accesses to `run`'s data (refused requests disclosed nothing and are left out).
pub fn consultar(
    conn: &mut DbConnection,
    run: Run,
    agreements: &AgreementSet,
) -> Result<Accesos, DbError> {
    let accesos = audit::accesses(conn, run, audit::Which::Answered, MAX_ACCESOS)?
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
                campos: Some(a.fields),
            }
        })
        .collect();
    Ok(Accesos {
        run: Some(run.to_string()),
        accesos: Some(accesos),
    })
}

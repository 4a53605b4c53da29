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
use crate::ops::pagina::Pagina;
use crate::projection::FieldSet;
use crate::projection::{Project, recortar, revelados};
pub use crate::respuestas::{Acceso, Accesos};

/// Most accesses on one page of the report, and the default.
pub const MAX_POR_PAGINA: u32 = 1_000;
pub const POR_PAGINA: u32 = 100;

/// Whose report, and which page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pedido {
    pub run: Run,
    pub pagina: Pagina,
}

impl Pedido {
    /// From what a transport decoded: the RUN (`None` when it did not parse: its error is
    /// already the call's) and the page's texts (absent: the first page of [`POR_PAGINA`]).
    pub fn parse(
        run: Option<Run>,
        pagina: Option<&str>,
        por_pagina: Option<&str>,
    ) -> Result<Option<Pedido>, ApiError> {
        let pagina = Pagina::parse(pagina, por_pagina, POR_PAGINA, MAX_POR_PAGINA)?;
        Ok(run.map(|run| Pedido { run, pagina }))
    }
}

impl Project for Accesos {
    fn project(&mut self, grant: &FieldSet) {
        recortar(self, grant);
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        revelados(self)
    }
}

/// Every request that named `run`, newest first, with what came of it for that person: the
/// page asked for, and how many there are in all. A flood of refused probes cannot hide the
/// real accesses: they are on the following pages, and the total counts them all.
pub fn consultar(
    conn: &mut DbConnection,
    pedido: Pedido,
    convenios: &ConvenioSet,
) -> Result<Accesos, DbError> {
    let Pedido { run, pagina } = pedido;
    let mut found = audit::accesses(conn, run, audit::Which::All, i64::MAX)?;
    // Newest first; the sort is stable, so records of one instant keep the log's order.
    found.sort_by_key(|a| std::cmp::Reverse(a.ts));
    let total = found.len() as u64;
    let offset = usize::try_from(pagina.offset()).unwrap_or(usize::MAX);
    let accesos = found
        .into_iter()
        .skip(offset)
        .take(pagina.por_pagina as usize)
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
        total: Some(total),
        pagina: Some(pagina.pagina),
        por_pagina: Some(pagina.por_pagina),
        accesos: Some(accesos),
    })
}

/// ConsultarAccesos (REST `GET /api/v1/personas/{run}/accesos`, SOAP ConsultarAccesos): the
/// person's access report, for the registry's operators.
pub struct ConsultarAccesos;

impl Op for ConsultarAccesos {
    const OPERATION: Operation = Operation::ConsultarAccesos;
    type Request = Pedido;
    type Response = Accesos;

    fn subjects(pedido: &Pedido) -> Vec<Run> {
        vec![pedido.run]
    }

    fn handle(
        core: &Core,
        _: &Admission,
        conn: &mut DbConnection,
        pedido: Pedido,
    ) -> Result<Accesos, ApiError> {
        Ok(consultar(conn, pedido, &core.broker.policy().convenios)?)
    }
}

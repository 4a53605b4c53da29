//! ConsultarFichaFPS for a batch of up to `broker.batch_max` RUNs, each with its own status.

use serde::{Deserialize, Serialize};

use super::ficha::{self, FichaFps, Lookup};
use std::collections::BTreeSet;

use super::{Core, Op};
use crate::broker::Admission;
use crate::catalog::Operation;
use crate::config::Config;
use crate::db::{DbConnection, DbError, Pool};
use crate::domain::{Ambito, Run};
use crate::error::{ApiError, ErrorCode};
use crate::projection::FieldSet;
use crate::projection::Project;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ResultadoLote {
    /// The RUN as the caller wrote it (canonical form when it parsed).
    pub run: String,
    /// `encontrado`, `no_encontrado`, `sin_ficha` or `run_invalido`.
    pub estado: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ficha: Option<FichaFps>,
    /// Why a valid RUN got no ficha, as its person's access report shows it (never sent):
    /// `NO_ENCONTRADO`, `SIN_FICHA`, or `FUERA_DE_AMBITO` where the caller was told
    /// `no_encontrado`.
    #[serde(skip)]
    pub motivo: Option<ErrorCode>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RespuestaLote {
    pub resultados: Vec<ResultadoLote>,
}

impl Project for RespuestaLote {
    fn project(&mut self, grant: &FieldSet) {
        for r in &mut self.resultados {
            if let Some(f) = &mut r.ficha {
                f.project(grant);
            }
        }
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        self.resultados
            .iter()
            .filter_map(|r| r.ficha.as_ref())
            .flat_map(|f| f.disclosed())
            .collect()
    }

    /// Only the RUNs whose ficha was returned: the others disclosed nothing about the person.
    fn subjects(&self) -> Option<Vec<Run>> {
        Some(
            self.resultados
                .iter()
                .filter(|r| r.ficha.is_some())
                .filter_map(|r| Run::parse(&r.run).ok())
                .collect(),
        )
    }

    /// The valid RUNs it returned no ficha for, each with why: the request named them, so
    /// their access reports show it, with no field.
    fn undisclosed(&self) -> Vec<(Run, &'static str)> {
        self.resultados
            .iter()
            .filter(|r| r.ficha.is_none())
            .filter_map(|r| Some((Run::parse(&r.run).ok()?, r.motivo?.as_str())))
            .collect()
    }
}

/// The valid RUNs of a batch, for the audit log.
fn subjects(runs: &[String]) -> Vec<Run> {
    runs.iter().filter_map(|r| Run::parse(r).ok()).collect()
}

/// Batches at least this large are split over a second connection when one is idle.
const SPLIT_FROM: usize = 64;

/// Looks the batch up. With `spare` (the pool), a large batch is read in two halves at once,
/// the second on another connection, but only if one is idle right now: a busy node serves
/// the batch on one connection rather than take a connection other requests wait for. On
/// two cores this halves a lone batch's reading time.
pub fn consultar(
    conn: &mut DbConnection,
    runs: &[String],
    scope: Option<Ambito>,
    con_integrantes: bool,
    spare: Option<&Pool>,
) -> Result<RespuestaLote, DbError> {
    let parsed: Vec<Result<Run, ()>> = runs.iter().map(|r| Run::parse(r).map_err(|_| ())).collect();
    let valid: Vec<Run> = parsed.iter().filter_map(|r| r.ok()).collect();
    let second = spare
        .filter(|_| valid.len() >= SPLIT_FROM)
        .and_then(|pool| pool.try_get());
    let found = match second {
        Some(mut other) => {
            let (first_half, second_half) = valid.split_at(valid.len() / 2);
            // On rayon's threads, which live as long as the node: a thread started for each
            // batch took an allocator arena of its own, and private memory kept growing.
            let (mine, theirs) = rayon::join(
                || ficha::consultar_varios(conn, first_half, scope, con_integrantes),
                || ficha::consultar_varios(&mut other, second_half, scope, con_integrantes),
            );
            let mut found = mine?;
            found.extend(theirs?);
            found
        }
        None => ficha::consultar_varios(conn, &valid, scope, con_integrantes)?,
    };
    let mut lookups = found.into_iter();
    let resultados = runs
        .iter()
        .zip(parsed)
        .map(|(text, run)| match run {
            Err(()) => ResultadoLote {
                run: text.chars().take(20).collect(),
                estado: "run_invalido",
                ficha: None,
                motivo: None,
            },
            Ok(run) => {
                let (estado, ficha, motivo) = match lookups.next().unwrap_or(Lookup::NotFound) {
                    Lookup::Found(f) => ("encontrado", Some(f), None),
                    Lookup::NoFicha => ("sin_ficha", None, Some(ErrorCode::SinFicha)),
                    Lookup::NotFound => ("no_encontrado", None, Some(ErrorCode::NoEncontrado)),
                    Lookup::OutOfScope => ("no_encontrado", None, Some(ErrorCode::FueraDeAmbito)),
                };
                ResultadoLote {
                    run: run.to_string(),
                    estado,
                    ficha,
                    motivo,
                }
            }
        })
        .collect();
    Ok(RespuestaLote { resultados })
}

/// ConsultarFichaFPS for a batch of RUNs (REST `POST /api/v1/fichas/consultas`, SOAP
/// ConsultarFichaFPSLote): each RUN answered as a single lookup would be, one unit of the
/// agreement's rate and quota each.
pub struct ConsultarFichaFPSLote;

/// A batch as the caller sent it: RUNs as text, in order (an invalid one is answered
/// `run_invalido` in its place).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Lote {
    pub runs: Vec<String>,
}

impl Op for ConsultarFichaFPSLote {
    const OPERATION: Operation = Operation::ConsultarFichaFPS;
    type Request = Lote;
    type Response = RespuestaLote;

    fn subjects(lote: &Lote) -> Vec<Run> {
        subjects(&lote.runs)
    }

    fn check(lote: &Lote, config: &Config) -> Result<(), ApiError> {
        check_size(&lote.runs, config.broker.batch_max)
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        lote: Lote,
    ) -> Result<RespuestaLote, ApiError> {
        responder(admission, conn, &lote.runs)
    }
}

/// Checks a batch's size: 1 to `max` RUNs.
fn check_size(runs: &[String], max: usize) -> Result<(), ApiError> {
    match runs.len() {
        0 => Err(ApiError::solicitud_invalida(
            "a batch must list at least one RUN",
        )),
        n if n > max => Err(ApiError::lote_excedido(max)),
        _ => Ok(()),
    }
}

/// ConsultarFichaFPS for a batch, as the agreement may see it.
/// Large batches may read half their RUNs on a second connection, if one is idle.
fn responder(
    admission: &Admission,
    conn: &mut DbConnection,
    runs: &[String],
) -> Result<RespuestaLote, ApiError> {
    let convenio = &admission.convenio;
    Ok(consultar(
        conn,
        runs,
        convenio.ambito,
        ficha::ve_integrantes(convenio),
        Some(&admission.pool),
    )?)
}

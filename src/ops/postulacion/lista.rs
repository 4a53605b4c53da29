//! ListarPostulaciones: one page of a comuna's postulations, each open one checked again
//! first; with one program, in its priority order (the waiting list).

use chrono::NaiveDate;

use super::respuesta::vista;
use super::{
    ESTADOS, Postulaciones, check_programa, errores, ordenar, programas_concedidos, store,
    verificacion,
};
use crate::broker::Admission;
use crate::catalog::Operation;
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::domain::Run;
use crate::error::ApiError;
use crate::ops::pagina::Pagina;
use crate::ops::{Core, Op};
use crate::reglas::Rules;

/// Most postulations on one page of a list, and the default.
pub const MAX_POR_PAGINA: u32 = 100;
pub const POR_PAGINA: u32 = 20;

/// A list's filter, from what a transport received.
#[derive(Debug, Clone, PartialEq)]
pub struct Filtro {
    pub programa: Option<String>,
    pub estado: Option<&'static str>,
    pub pagina: u32,
    pub por_pagina: u32,
}

impl Filtro {
    pub fn parse(
        programa: Option<&str>,
        estado: Option<&str>,
        pagina: Option<&str>,
        por_pagina: Option<&str>,
    ) -> Result<Filtro, ApiError> {
        let estado = match estado {
            None => None,
            Some(text) => Some(*ESTADOS.iter().find(|e| **e == text).ok_or_else(|| {
                errores::estado_desconocido(format!("estado is one of {}", ESTADOS.join(", ")))
            })?),
        };
        let page = Pagina::parse(pagina, por_pagina, POR_PAGINA, MAX_POR_PAGINA)?;
        Ok(Filtro {
            programa: programa.map(str::to_owned),
            estado,
            pagina: page.pagina,
            por_pagina: page.por_pagina,
        })
    }
}

/// ListarPostulaciones: one page of the comuna's postulations of the programs granted (or
/// the one asked for), each open one checked again first. One program: in its priority order
/// (the waiting list); several: by date of postulation.
pub fn listar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    rules: &Rules,
    comuna: &str,
    filtro: &Filtro,
    hoy: NaiveDate,
) -> Result<Postulaciones, ApiError> {
    let cut = crate::ops::encuestaje::parse_comuna(comuna)?;
    if convenio.comuna() != Some(&cut) {
        return Err(errores::fuera_de_ambito());
    }
    let programas: Vec<&str> = match &filtro.programa {
        Some(p) => {
            check_programa(convenio, rules, p)?;
            vec![p.as_str()]
        }
        None => programas_concedidos(convenio),
    };
    for fila in store::de_comuna(conn, cut.as_str(), &programas, Some(&store::ABIERTAS))? {
        verificacion::reverificar(conn, rules, fila, hoy)?;
    }
    let estados = filtro.estado.map(|e| [e]);
    let mut filas = store::de_comuna(
        conn,
        cut.as_str(),
        &programas,
        estados.as_ref().map(|e| e.as_slice()),
    )?;
    if let [programa] = programas.as_slice() {
        ordenar(&mut filas, rules.prioridad(programa));
    }
    let total = filas.len() as i64;
    let desde = (filtro.pagina as usize - 1) * filtro.por_pagina as usize;
    let mut postulaciones = Vec::new();
    for fila in filas.iter().skip(desde).take(filtro.por_pagina as usize) {
        let causantes = store::causantes(conn, &fila.id)?;
        let chequeos = store::chequeos(conn, &fila.id, fila.corrida)?;
        postulaciones.push(vista(fila, &causantes, &chequeos));
    }
    Ok(Postulaciones {
        comuna: cut.to_string(),
        programa: filtro.programa.clone(),
        estado: filtro.estado.map(str::to_owned),
        pagina: filtro.pagina,
        por_pagina: filtro.por_pagina,
        total,
        postulaciones,
    })
}

/// A comuna's list, one page of it.
#[derive(Debug, Clone)]
pub struct PaginaLista {
    /// The comuna's code, as sent.
    pub comuna: String,
    pub filtro: Filtro,
}

/// ListarPostulaciones (REST `GET /api/v1/municipios/{cut}/postulaciones`, SOAP
/// ListarPostulaciones): a write, like ConsultarPostulacion.
pub struct ListarPostulaciones;

impl Op for ListarPostulaciones {
    const OPERATION: Operation = Operation::PostularBeneficio;
    const WRITES: bool = true;
    type Request = PaginaLista;
    type Response = Postulaciones;

    fn subjects(_: &PaginaLista) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        core: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: PaginaLista,
    ) -> Result<Postulaciones, ApiError> {
        listar(
            &admission.convenio,
            conn,
            &core.broker.rules,
            &p.comuna,
            &p.filtro,
            admission.today,
        )
    }
}

//! Chile Solidario (Ley 19.949; docs/chile_solidario.md): the municipality of a household's
//! comuna takes it into the Puente or Vínculos program (an ingreso creates its 53 condiciones
//! mínimas `a_trabajar` and the 24 months of the bono de protección), records the Apoyo
//! Familiar's sessions, the conditions met, each bono paid and the egreso
//! (TrabajarParticipacionCHS); agencies read a household's participations by the RUN of any
//! member, of the programs their grant lists (ConsultarParticipacionCHS).
//!
//! Scope: a person outside the municipality's comuna is answered exactly as an unknown one;
//! another comuna's participation does not exist for it; a scoped agency sees only the
//! participations of its scope, and one of another program or outside it is answered as none.

mod errores;
pub mod evento;
pub mod reglas;
mod respuesta;
pub mod store;

use chrono::NaiveDate;
use serde::Deserialize;

use self::evento::{Autor, aplicar, bonos};
pub use self::evento::{Evento, EventoEntrada};
use self::respuesta::vista;
pub use self::respuesta::{ListaParticipacionesChs, ParticipacionChs, ParticipacionesChs};
use self::store::{CondicionFila, ParticipacionFila};
use crate::broker::Admission;
use crate::catalog::Operation;
use crate::catalog::modulos::chile_solidario::{CONSULTAR, PROGRAMAS, TRABAJAR};
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::domain::Run;
use crate::error::ApiError;
use crate::ops::pagina::Pagina;
use crate::ops::{Core, Op};

/// A participation's id: `CHS-` and a random UUID, so that ids reveal neither how many there
/// are nor which exist.
pub const PREFIJO_ID: &str = "CHS-";

fn nuevo_id() -> String {
    format!("{PREFIJO_ID}{}", uuid::Uuid::new_v4().hyphenated())
}

fn id_valido(id: &str) -> bool {
    id.strip_prefix(PREFIJO_ID)
        .is_some_and(|u| u.len() == 36 && uuid::Uuid::try_parse(u).is_ok())
}

/// The states of a participation.
pub const ESTADOS: [&str; 3] = ["apoyo", "egresada", "interrumpida"];

/// Longest Apoyo Familiar code.
pub const MAX_APOYO_FAMILIAR: usize = 20;

/// An ingreso as a transport received it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngresoEntrada {
    /// The titular: a member of a household of the agreement's comuna.
    pub run: String,
    /// `puente` or `vinculos`.
    pub programa: String,
    /// The Apoyo Familiar's worker code (letters, digits, hyphens; never a RUN).
    pub apoyo_familiar: String,
    /// `YYYY-MM-DD`, not in the future (default today).
    pub fecha_ingreso: Option<String>,
}

/// An ingreso, checked on its own.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingreso {
    pub run: Run,
    pub programa: &'static str,
    pub apoyo_familiar: String,
    pub fecha_ingreso: Option<NaiveDate>,
}

impl IngresoEntrada {
    /// The typed ingreso: a bad RUN is `RUN_INVALIDO`, any other bad field
    /// `PARTICIPACION_INVALIDA` naming it. The RUN goes to `subjects`.
    pub fn parse(&self, subjects: &mut Vec<Run>) -> Result<Ingreso, ApiError> {
        let run = Run::parse(&self.run).map_err(ApiError::run_invalido)?;
        subjects.push(run);
        let programa = PROGRAMAS
            .iter()
            .find(|p| **p == self.programa)
            .copied()
            .ok_or_else(|| {
                errores::invalida(
                    "programa",
                    format!("programa is one of {}", PROGRAMAS.join(", ")),
                )
            })?;
        let codigo = self.apoyo_familiar.trim();
        let bien_formado = !codigo.is_empty()
            && codigo.len() <= MAX_APOYO_FAMILIAR
            && codigo
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !bien_formado || Run::parse(codigo).is_ok() {
            return Err(errores::invalida(
                "apoyoFamiliar",
                format!(
                    "apoyoFamiliar is the worker's code: 1 to {MAX_APOYO_FAMILIAR} letters, digits or hyphens, not a RUN"
                ),
            ));
        }
        let fecha_ingreso = match self.fecha_ingreso.as_deref() {
            None => None,
            Some(text) => Some(text.parse::<NaiveDate>().map_err(|_| {
                errores::invalida("fechaIngreso", "fechaIngreso is a date (YYYY-MM-DD)")
            })?),
        };
        Ok(Ingreso {
            run,
            programa,
            apoyo_familiar: codigo.to_owned(),
            fecha_ingreso,
        })
    }
}

/// Whether a participation is of the agreement's comuna (municipal work).
fn propia(convenio: &Convenio, fila: &ParticipacionFila) -> bool {
    convenio.comuna().is_some_and(|c| c.as_str() == fila.cut)
}

/// IngresarFamiliaCHS: the household of `ingreso.run`, in the agreement's comuna, enters the
/// program; its 53 conditions are to be worked on and its bono de protección is scheduled
/// from the month of ingreso.
pub fn ingresar(
    convenio: &Convenio,
    usuario: Option<Run>,
    conn: &mut DbConnection,
    ingreso: &Ingreso,
    hoy: NaiveDate,
) -> Result<ParticipacionChs, ApiError> {
    let comuna = convenio.comuna().ok_or_else(errores::fuera_de_ambito)?;
    let fecha = ingreso.fecha_ingreso.unwrap_or(hoy);
    if fecha > hoy {
        return Err(errores::invalida(
            "fechaIngreso",
            "fechaIngreso is not in the future",
        ));
    }
    let hogar = match crate::ops::ficha::hogar_de(conn, ingreso.run)? {
        Some(h) if h.cut == comuna.as_str() => h,
        Some(_) => return Err(ApiError::fuera_de_ambito()),
        None => return Err(ApiError::no_encontrado()),
    };
    let now = store::now_us();
    let id = nuevo_id();
    let fila = ParticipacionFila {
        id: id.clone(),
        hogar_id: hogar.hogar_id,
        run_titular: ingreso.run.numero() as i32,
        cut: hogar.cut,
        programa: ingreso.programa.to_owned(),
        estado: "apoyo".into(),
        fecha_ingreso: fecha,
        fecha_egreso: None,
        motivo_egreso: None,
        apoyo_familiar: ingreso.apoyo_familiar.clone(),
        convenio: convenio.id.to_string(),
        usuario: usuario.map(|u| u.to_string()),
        version: 0,
        creada_us: now,
        actualizada_us: now,
    };
    let condiciones: Vec<CondicionFila> = reglas::condiciones()
        .iter()
        .map(|c| CondicionFila {
            participacion_id: id.clone(),
            codigo: c.codigo.to_owned(),
            estado: "a_trabajar".into(),
            fecha: None,
        })
        .collect();
    let bonos = bonos(&id, "proteccion", fecha);
    match store::insertar(conn, &fila, &condiciones, &bonos) {
        Ok(()) => Ok(vista(&store::expediente(conn, fila)?, None)),
        // The unique index on a household's open participation.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(errores::en_curso()),
        Err(e) => Err(e.into()),
    }
}

/// A participation of the agreement's comuna by its id as sent; any other does not exist.
fn leer_propia(
    convenio: &Convenio,
    conn: &mut DbConnection,
    id: &str,
) -> Result<store::Expediente, ApiError> {
    if !id_valido(id) {
        return Err(errores::no_encontrada());
    }
    match store::leer(conn, id)? {
        Some(fila) if propia(convenio, &fila) => Ok(store::expediente(conn, fila)?),
        _ => Err(errores::no_encontrada()),
    }
}

/// An event for a participation, by its id as sent.
#[derive(Debug, Clone)]
pub struct EventoPedido {
    pub id: String,
    pub entrada: EventoEntrada,
}

/// RegistrarEventoCHS: applies an event and answers the participation as it is now.
pub fn registrar(
    convenio: &Convenio,
    usuario: Option<Run>,
    conn: &mut DbConnection,
    pedido: &EventoPedido,
    hoy: NaiveDate,
) -> Result<ParticipacionChs, ApiError> {
    let evento = pedido.entrada.parse(hoy)?;
    let antes = leer_propia(convenio, conn, &pedido.id)?;
    let autor = Autor {
        convenio: convenio.id.as_str(),
        usuario: usuario.map(|u| u.to_string()),
    };
    aplicar(conn, &antes, &evento, &autor)?;
    let fila = store::leer(conn, &pedido.id)?.ok_or_else(errores::no_encontrada)?;
    Ok(vista(&store::expediente(conn, fila)?, None))
}

/// Most participations on one page of a list, and the default.
pub const MAX_POR_PAGINA: u32 = 100;
pub const POR_PAGINA: u32 = 20;

/// A list's filter, from what a transport received.
#[derive(Debug, Clone, PartialEq)]
pub struct Filtro {
    pub programa: Option<&'static str>,
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
        let programa = match programa {
            None => None,
            Some(p) => Some(
                PROGRAMAS
                    .iter()
                    .find(|x| **x == p)
                    .copied()
                    .ok_or_else(|| {
                        errores::invalida(
                            "programa",
                            format!("programa is one of {}", PROGRAMAS.join(", ")),
                        )
                    })?,
            ),
        };
        let estado = match estado {
            None => None,
            Some(e) => Some(ESTADOS.iter().find(|x| **x == e).copied().ok_or_else(|| {
                errores::estado_desconocido(format!("estado is one of {}", ESTADOS.join(", ")))
            })?),
        };
        let page = Pagina::parse(pagina, por_pagina, POR_PAGINA, MAX_POR_PAGINA)?;
        Ok(Filtro {
            programa,
            estado,
            pagina: page.pagina,
            por_pagina: page.por_pagina,
        })
    }
}

/// A comuna's list, one page of it.
#[derive(Debug, Clone)]
pub struct PaginaLista {
    /// The comuna's code, as sent.
    pub comuna: String,
    pub filtro: Filtro,
}

/// ListarParticipacionesCHS: one page of the agreement's comuna's participations. Another
/// comuna is said plainly (`FUERA_DE_AMBITO`), a comuna code being no personal data.
pub fn listar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    pagina: &PaginaLista,
) -> Result<ListaParticipacionesChs, ApiError> {
    let cut = crate::ops::encuestaje::parse_comuna(&pagina.comuna)?;
    if convenio.comuna() != Some(&cut) {
        return Err(errores::fuera_de_ambito());
    }
    let f = &pagina.filtro;
    let filas = store::de_comuna(conn, cut.as_str(), f.programa, f.estado)?;
    let total = filas.len() as i64;
    let desde = (f.pagina as usize - 1) * f.por_pagina as usize;
    let mut participaciones = Vec::new();
    for fila in filas.into_iter().skip(desde).take(f.por_pagina as usize) {
        participaciones.push(vista(&store::expediente(conn, fila)?, None));
    }
    Ok(ListaParticipacionesChs {
        comuna: cut.to_string(),
        programa: f.programa.map(str::to_owned),
        estado: f.estado.map(str::to_owned),
        pagina: f.pagina,
        por_pagina: f.por_pagina,
        total,
        participaciones,
    })
}

/// ConsultarParticipacionCHS: the participations of the household `run` belongs to now,
/// newest first, of the programs the grant lists and within the agreement's scope. None
/// (unknown RUN, no household, none recorded or none the agreement may see) is one answer.
pub fn consultar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    run: Run,
) -> Result<ParticipacionesChs, ApiError> {
    let Some(hogar) = store::hogar_de(conn, run.numero() as i32)? else {
        return Err(errores::sin_participacion(false));
    };
    let grant = convenio.grant(Operation::Modulo(CONSULTAR));
    let mut fuera = false;
    let mut participaciones = Vec::new();
    for fila in store::de_hogar(conn, hogar)? {
        if !grant.is_some_and(|g| g.permite_lista("programas", &fila.programa)) {
            continue;
        }
        if !convenio.en_ambito(&fila.cut) {
            fuera = true;
            continue;
        }
        participaciones.push(vista(&store::expediente(conn, fila)?, Some(run)));
    }
    if participaciones.is_empty() {
        return Err(errores::sin_participacion(fuera));
    }
    Ok(ParticipacionesChs { participaciones })
}

/// IngresarFamiliaCHS (REST `POST /api/v1/chile-solidario/participaciones`): a write.
pub struct IngresarFamiliaCHS;

impl Op for IngresarFamiliaCHS {
    const OPERATION: Operation = Operation::Modulo(TRABAJAR);
    const WRITES: bool = true;
    type Request = Ingreso;
    type Response = ParticipacionChs;

    fn subjects(i: &Ingreso) -> Vec<Run> {
        vec![i.run]
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        i: Ingreso,
    ) -> Result<ParticipacionChs, ApiError> {
        ingresar(
            &admission.convenio,
            admission.usuario,
            conn,
            &i,
            admission.today,
        )
    }
}

/// ConsultarParticipacionCHSPorId (REST `GET /api/v1/chile-solidario/participaciones/{id}`).
pub struct ConsultarParticipacionCHSPorId;

impl Op for ConsultarParticipacionCHSPorId {
    const OPERATION: Operation = Operation::Modulo(TRABAJAR);
    /// The participation's id, as sent.
    type Request = String;
    type Response = ParticipacionChs;

    fn subjects(_: &String) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        id: String,
    ) -> Result<ParticipacionChs, ApiError> {
        let e = leer_propia(&admission.convenio, conn, &id)?;
        Ok(vista(&e, None))
    }
}

/// ListarParticipacionesCHS (REST `GET /api/v1/municipios/{cut}/chile-solidario`).
pub struct ListarParticipacionesCHS;

impl Op for ListarParticipacionesCHS {
    const OPERATION: Operation = Operation::Modulo(TRABAJAR);
    type Request = PaginaLista;
    type Response = ListaParticipacionesChs;

    fn subjects(_: &PaginaLista) -> Vec<Run> {
        Vec::new()
    }

    /// A page discloses its participations' titulares, each a unit: charged up front, like a
    /// read of events.
    fn cobro_minimo(p: &PaginaLista) -> u64 {
        u64::from(p.filtro.por_pagina)
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: PaginaLista,
    ) -> Result<ListaParticipacionesChs, ApiError> {
        listar(&admission.convenio, conn, &p)
    }
}

/// RegistrarEventoCHS (REST `POST /api/v1/chile-solidario/participaciones/{id}/eventos`): a
/// write.
pub struct RegistrarEventoCHS;

impl Op for RegistrarEventoCHS {
    const OPERATION: Operation = Operation::Modulo(TRABAJAR);
    const WRITES: bool = true;
    type Request = EventoPedido;
    type Response = ParticipacionChs;

    fn subjects(_: &EventoPedido) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        e: EventoPedido,
    ) -> Result<ParticipacionChs, ApiError> {
        registrar(
            &admission.convenio,
            admission.usuario,
            conn,
            &e,
            admission.today,
        )
    }
}

/// ConsultarParticipacionCHS (REST `GET /api/v1/personas/{run}/chile-solidario`).
pub struct ConsultarParticipacionCHS;

impl Op for ConsultarParticipacionCHS {
    const OPERATION: Operation = Operation::Modulo(CONSULTAR);
    type Request = Run;
    type Response = ParticipacionesChs;

    fn subjects(run: &Run) -> Vec<Run> {
        vec![*run]
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        run: Run,
    ) -> Result<ParticipacionesChs, ApiError> {
        consultar(&admission.convenio, conn, run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_registered() {
        for op in [
            IngresarFamiliaCHS::OPERATION,
            ConsultarParticipacionCHSPorId::OPERATION,
            ListarParticipacionesCHS::OPERATION,
            RegistrarEventoCHS::OPERATION,
            ConsultarParticipacionCHS::OPERATION,
        ] {
            assert!(Operation::parse(op.name()).is_some(), "{op}");
        }
    }

    #[test]
    fn ids_are_chs_and_a_uuid() {
        let id = nuevo_id();
        assert!(id_valido(&id), "{id}");
        for bad in ["", "CHS-", "CHS-1", &id[4..], &id.replace("CHS-", "PBS-")] {
            assert!(!id_valido(bad), "{bad}");
        }
    }

    #[test]
    fn an_ingreso_refuses_a_run_as_worker_code_and_unknown_programs() {
        let entrada = |programa: &str, af: &str| IngresoEntrada {
            run: "12345678-5".into(),
            programa: programa.into(),
            apoyo_familiar: af.into(),
            fecha_ingreso: None,
        };
        let mut s = Vec::new();
        assert!(entrada("puente", "AF-0012").parse(&mut s).is_ok());
        for (e, campo) in [
            (entrada("chcc", "AF-1"), "programa"),
            (entrada("puente", "12345678-5"), "apoyoFamiliar"),
            (entrada("puente", ""), "apoyoFamiliar"),
            (entrada("puente", "AF 1"), "apoyoFamiliar"),
        ] {
            let error = e.parse(&mut s).unwrap_err();
            assert_eq!(error.campo.as_deref(), Some(campo), "{error:?}");
        }
        let bad_run = IngresoEntrada {
            run: "12345678-0".into(),
            ..entrada("puente", "AF-1")
        };
        assert_eq!(
            bad_run.parse(&mut s).unwrap_err().code,
            crate::error::ErrorCode::RunInvalido
        );
    }
}

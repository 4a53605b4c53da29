//! SolicitarEncuestaje and TrabajarEncuestaje: an agency asks for a person without a ficha in
//! force to be surveyed; the request goes to the municipality of a comuna (a municipality's
//! own, or for other agencies the one given or the person's last known one), which works it
//! through the states of [`estado`] until the survey's result becomes the ficha of the
//! person's household in that comuna. The requester follows its own requests only; the
//! municipality reads each request of its comuna with its history ([`Expediente`]).

mod composicion;
pub mod cuestionario;
mod errores;
pub mod estado;
mod eventos;
mod expediente;
mod filtro;
mod respuesta;
mod solicitud;
pub mod store;

use chrono::NaiveDate;

use self::composicion::Firma;
use self::estado::{Datos, Estado, Evento, EventoEntrada};
pub use self::expediente::{ConsultarExpediente, EventoHistorial, Expediente};
pub use self::filtro::{Filtro, MAX_POR_PAGINA, POR_PAGINA};
use self::respuesta::vista;
pub use self::respuesta::{Cola, Encuestaje};
pub use self::store::EventoFila;
use self::store::{Aplicacion, Fila, Resultado};
use super::{Core, Op};
use crate::broker::Admission;
use crate::catalog::Operation;
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::domain::{Cut, EncuestajeId, Run};
use crate::error::ApiError;
use crate::modelos::Modelos;

pub use errores::no_encontrado;

/// What an agency asks for.
#[derive(Debug, Clone)]
pub struct Solicitud {
    pub run: Run,
    /// Where to survey: for a municipality its own comuna (the default), for other agencies
    /// any (by default the person's last known one).
    pub comuna: Option<Cut>,
}

/// A comuna code from a request, as a caller error when it is not one of the catalogue's.
pub fn parse_comuna(text: &str) -> Result<Cut, ApiError> {
    Cut::parse(text).map_err(|e| ApiError::comuna_desconocida(format!("comuna: {e}")))
}

/// SolicitarEncuestaje: creates the request, due `plazo_dias` calendar days after `today`
/// (Chile's civil day). A municipality asks in its own comuna, for anyone (`solicitud.rs` says
/// what it is told and why); an agency without a scope asks in the comuna given or the
/// person's last known one.
pub fn solicitar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    solicitud: &Solicitud,
    plazo_dias: u32,
    today: NaiveDate,
) -> Result<Encuestaje, ApiError> {
    solicitud::solicitar(convenio, conn, solicitud, plazo_dias, today)
}

/// A request by its id as text; a malformed id cannot exist.
fn leer(conn: &mut DbConnection, id: &str) -> Result<Fila, ApiError> {
    let id = EncuestajeId::parse(id).map_err(|_| no_encontrado())?;
    store::leer(conn, &id.to_string())?.ok_or_else(no_encontrado)
}

/// Following a request (part of SolicitarEncuestaje): only the agreement that asked for it
/// sees it; to anyone else it does not exist.
pub fn seguir(
    convenio: &Convenio,
    conn: &mut DbConnection,
    id: &str,
) -> Result<Encuestaje, ApiError> {
    let fila = leer(conn, id)?;
    if fila.convenio != convenio.id.as_str() {
        return Err(no_encontrado());
    }
    Ok(vista(&fila))
}

/// The comuna a municipal agreement works; `cut` must be it.
fn en_ambito(convenio: &Convenio, cut: &str) -> Result<(), ApiError> {
    match convenio.comuna() {
        Some(scope) if scope.as_str() == cut => Ok(()),
        _ => Err(errores::fuera_de_ambito()),
    }
}

/// TrabajarEncuestaje: one page of the comuna's queue (the municipality's own comuna only).
pub fn cola(
    convenio: &Convenio,
    conn: &mut DbConnection,
    cut: &str,
    filtro: &Filtro,
) -> Result<Cola, ApiError> {
    let cut = parse_comuna(cut)?;
    en_ambito(convenio, cut.as_str())?;
    let offset = i64::from(filtro.pagina - 1) * i64::from(filtro.por_pagina);
    let (total, filas) = store::cola(
        conn,
        cut.as_str(),
        filtro.estado.map(Estado::as_str),
        offset,
        i64::from(filtro.por_pagina),
    )?;
    Ok(Cola {
        comuna: cut.to_string(),
        estado: filtro.estado.map(|e| e.as_str().to_owned()),
        pagina: filtro.pagina,
        por_pagina: filtro.por_pagina,
        total,
        encuestajes: filas.iter().map(vista).collect(),
    })
}

/// Attempts before a request that keeps changing under us is given up on.
const INTENTOS: usize = 5;

/// TrabajarEncuestaje: records an event on a request of the municipality's own comuna. The
/// transition is decided on the request as read and applied only if it is still so; a
/// concurrent change makes the event be decided again on the new state. A survey of a RUN the
/// registry holds no living person for is refused (`PERSONA_NO_ENCUESTABLE`, one code for an
/// unknown and a deceased person; for a member of the questionnaire, naming its index). A
/// questionnaire is scored by its model (`modelos`) and must list the request's person.
pub fn registrar(
    admission: &Admission,
    modelos: &Modelos,
    conn: &mut DbConnection,
    id: &str,
    entrada: &EventoEntrada,
) -> Result<Encuestaje, ApiError> {
    let convenio = &admission.convenio;
    let today = admission.today;
    for _ in 0..INTENTOS {
        let antes = leer(conn, id)?;
        en_ambito(convenio, &antes.cut)?;
        let evento = Evento::from_entrada(entrada, today, modelos)?;
        if let Evento::Encuestar {
            datos: Datos::Cuestionario(c),
            ..
        } = &evento
            && !c
                .integrantes
                .iter()
                .any(|m| m.run.numero() as i32 == antes.run)
        {
            return Err(cuestionario::invalida(
                "integrantes",
                "the person the request is for must be listed among the members",
            ));
        }
        let actual = Estado::parse(&antes.estado).ok_or_else(|| {
            tracing::error!(encuestaje.estado = %antes.estado, "stored request in an unknown state");
            ApiError::unavailable()
        })?;
        let nuevo = estado::siguiente(actual, antes.visitas_fallidas, &evento)?;
        let mut despues = antes.clone();
        despues.estado = nuevo.as_str().into();
        despues.version = antes.version + 1;
        despues.actualizada_us = store::now_us();
        let mut resultado = None;
        let (fecha, motivo) = match &evento {
            Evento::ProgramarVisita { fecha } => {
                despues.fecha_visita = Some(*fecha);
                (Some(*fecha), None)
            }
            Evento::VisitaFallida { motivo } => {
                despues.visitas_fallidas += 1;
                (despues.fecha_visita, motivo.clone())
            }
            Evento::Encuestar {
                fecha_aplicacion,
                datos,
            } => {
                if *fecha_aplicacion < antes.fecha_solicitud {
                    return Err(errores::evento_invalido(
                        "fechaAplicacion is before the request was made",
                    ));
                }
                if let Datos::Puntaje(puntaje) = datos {
                    despues.puntaje = Some(i32::from(puntaje.value()));
                }
                despues.fecha_aplicacion = Some(*fecha_aplicacion);
                resultado = Some(Resultado {
                    fecha_aplicacion: *fecha_aplicacion,
                    datos: datos.clone(),
                    firma: Firma {
                        convenio: convenio.id.to_string(),
                        usuario: admission.usuario,
                    },
                    modelos,
                });
                (Some(*fecha_aplicacion), None)
            }
            Evento::Anular { motivo } => {
                despues.motivo_anulacion = Some(motivo.clone());
                (None, Some(motivo.clone()))
            }
        };
        let fila_evento = EventoFila {
            encuestaje_id: antes.id.clone(),
            secuencia: despues.version,
            evento: evento.nombre().into(),
            estado: despues.estado.clone(),
            fecha,
            motivo,
            convenio: convenio.id.to_string(),
            ts_us: despues.actualizada_us,
        };
        match store::aplicar(conn, &antes, &despues, fila_evento, resultado) {
            Ok(Aplicacion::Aplicada(_)) => {
                let mut respuesta = vista(&store::leer(conn, &antes.id)?.unwrap_or(despues));
                if let Evento::Encuestar {
                    datos: Datos::Cuestionario(c),
                    ..
                } = &evento
                {
                    respuesta.encuestados = c.integrantes.iter().map(|m| m.run).collect();
                }
                return Ok(respuesta);
            }
            // Another event won the race (or, on PostgreSQL, took the same new folio): decide
            // again on what is stored now.
            Ok(Aplicacion::Cambiada) => continue,
            Ok(Aplicacion::NoEncuestable(None)) => {
                let run = Run::from_numero(antes.run as u32).ok();
                return Err(errores::persona_no_encuestable(run, None));
            }
            Ok(Aplicacion::NoEncuestable(Some(i))) => {
                // The member is one of the request's subjects: the audit record names them.
                return Err(errores::persona_no_encuestable(
                    None,
                    Some(format!("integrantes[{i}]")),
                ));
            }
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    tracing::warn!("survey request kept changing: event given up");
    Err(errores::en_conflicto())
}

/// SolicitarEncuestaje (REST `POST /api/v1/encuestajes`, SOAP SolicitarEncuestaje): a write.
pub struct SolicitarEncuestaje;

impl Op for SolicitarEncuestaje {
    const OPERATION: Operation = Operation::SolicitarEncuestaje;
    const WRITES: bool = true;
    type Request = Solicitud;
    type Response = Encuestaje;

    fn subjects(s: &Solicitud) -> Vec<Run> {
        vec![s.run]
    }

    fn handle(
        core: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        s: Solicitud,
    ) -> Result<Encuestaje, ApiError> {
        let plazo = core.broker.config.encuestaje.plazo_dias;
        solicitar(&admission.convenio, conn, &s, plazo, admission.today)
    }
}

/// ConsultarEncuestaje (REST `GET /api/v1/encuestajes/{id}`, SOAP ConsultarEncuestaje): the
/// requesting agency follows its request, under the SolicitarEncuestaje grant.
pub struct ConsultarEncuestaje;

impl Op for ConsultarEncuestaje {
    const OPERATION: Operation = Operation::SolicitarEncuestaje;
    /// The request's id, as sent.
    type Request = String;
    type Response = Encuestaje;

    fn subjects(_: &String) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        id: String,
    ) -> Result<Encuestaje, ApiError> {
        seguir(&admission.convenio, conn, &id)
    }
}

/// A comuna's queue, one page of it.
#[derive(Debug, Clone)]
pub struct PaginaCola {
    /// The comuna's code, as sent.
    pub comuna: String,
    pub filtro: Filtro,
}

/// ListarEncuestajes (REST `GET /api/v1/municipios/{cut}/encuestajes`, SOAP
/// ListarEncuestajes), under the TrabajarEncuestaje grant.
pub struct ListarEncuestajes;

impl Op for ListarEncuestajes {
    const OPERATION: Operation = Operation::TrabajarEncuestaje;
    type Request = PaginaCola;
    type Response = Cola;

    fn subjects(_: &PaginaCola) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: PaginaCola,
    ) -> Result<Cola, ApiError> {
        cola(&admission.convenio, conn, &p.comuna, &p.filtro)
    }
}

/// An event for a request, by its id as sent.
#[derive(Debug, Clone)]
pub struct EventoPedido {
    pub id: String,
    pub entrada: EventoEntrada,
}

/// RegistrarEventoEncuestaje (REST `POST /api/v1/encuestajes/{id}/eventos`, SOAP
/// RegistrarEventoEncuestaje), under the TrabajarEncuestaje grant: a write.
pub struct RegistrarEventoEncuestaje;

impl Op for RegistrarEventoEncuestaje {
    const OPERATION: Operation = Operation::TrabajarEncuestaje;
    const WRITES: bool = true;
    type Request = EventoPedido;
    type Response = Encuestaje;

    /// Every member a questionnaire lists (each counted against the agreement's limits and
    /// named in the audit record); the request's own person reaches the record through the
    /// answer.
    fn subjects(e: &EventoPedido) -> Vec<Run> {
        let mut runs: Vec<Run> = e
            .entrada
            .encuesta
            .iter()
            .flat_map(|c| &c.integrantes)
            .filter_map(|m| Run::parse(m.run.as_deref()?).ok())
            .collect();
        runs.sort_unstable_by_key(|r| r.numero());
        runs.dedup();
        runs
    }

    fn handle(
        core: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        e: EventoPedido,
    ) -> Result<Encuestaje, ApiError> {
        registrar(admission, &core.broker.modelos, conn, &e.id, &e.entrada)
    }
}

//! ActualizarHogar: a municipality keeps the households of its comuna up to date between
//! surveys. RegistrarEventoHogar records one change of the household of a member (the RUN it
//! is addressed by): a member added (`agregar_integrante`, moving in from wherever they live,
//! as a survey moves a person), a member removed (`quitar_integrante`, to a household of their
//! own without ficha in the same comuna), a new address in the comuna (`cambiar_domicilio`),
//! or a split (`dividir`: the members listed form a household without ficha; the rest keep the
//! ficha). Each event keeps its reason and author, and marks the ficha in force for review
//! when it changes the score ([`evento::marca_revision`]). ConsultarHogar reads a household
//! with its history. The rules and edge cases are in docs/hogar.md.
//!
//! Scope: the household is addressed by a member's RUN, and a RUN outside the agreement's
//! comuna is answered as an unknown one (`NO_ENCONTRADO`, audited `FUERA_DE_AMBITO`). A person
//! added from another comuna moves alike whoever they are and wherever they lived; their old
//! household's ficha is marked for review there, which is never answered here.

mod errores;
pub mod evento;
pub mod registro;
mod respuesta;
pub mod store;

use self::evento::{Evento, EventoEntrada, EventoMotivado, TipoEventoHogar, marca_revision};
use self::store::{Aplicacion, Datos, Escritura, EventoFila, HogarFila, Llegada};
use super::{Core, Op};
use crate::broker::Admission;
use crate::catalog::Operation;
use crate::config::Config;
use crate::convenios::Convenio;
use crate::db::DbConnection;
use crate::domain::Run;
use crate::error::ApiError;
pub use crate::respuestas::{EventoHogar, Hogar, IntegranteHogar};

/// Attempts before a household that keeps changing under us is given up on.
const INTENTOS: usize = 5;

/// Who records an event: the agreement, and the console user when there is one.
pub struct Autor<'a> {
    pub convenio: &'a Convenio,
    pub usuario: Option<Run>,
    /// The scoring models, which say what marks a ficha for review.
    pub modelos: &'a crate::modelos::Modelos,
}

/// The household of `run`, if the agreement may see it: an unknown RUN, a person without a
/// household and a person of another comuna are answered alike.
fn en_ambito(
    convenio: &Convenio,
    conn: &mut DbConnection,
    run: Run,
) -> Result<HogarFila, ApiError> {
    let hogar = store::hogar_de(conn, run.numero() as i32)?.ok_or_else(ApiError::no_encontrado)?;
    match convenio.en_ambito(&hogar.cut) {
        false => Err(ApiError::fuera_de_ambito()),
        true => Ok(hogar),
    }
}

/// ConsultarHogar: the household of `run` with its members and history.
pub fn consultar(
    convenio: &Convenio,
    conn: &mut DbConnection,
    run: Run,
) -> Result<Hogar, ApiError> {
    let hogar = en_ambito(convenio, conn, run)?;
    respuesta::vista(conn, run, &hogar)
}

/// RegistrarEventoHogar: decides the event on the household as read and applies it if it is
/// still so; a concurrent change makes it be decided again on the new state.
pub fn registrar(
    autor: &Autor<'_>,
    conn: &mut DbConnection,
    run: Run,
    entrada: &EventoEntrada,
) -> Result<Hogar, ApiError> {
    let evento = EventoMotivado::from_entrada(entrada)?;
    for _ in 0..INTENTOS {
        let hogar = en_ambito(autor.convenio, conn, run)?;
        let escritura = decidir(autor, conn, &hogar, &evento)?;
        match store::aplicar(conn, &escritura) {
            Ok(Aplicacion::Aplicada) => {
                let hogar = store::hogar(conn, hogar.id)?;
                return respuesta::vista(conn, run, &hogar);
            }
            Ok(Aplicacion::Cambiada) => continue,
            // A person without a household joined another one at the same time.
            Err(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    tracing::warn!("household kept changing: event given up");
    Err(errores::en_conflicto())
}

/// Whether `tipo` marks the ficha in force of household `hogar_id` for review, by the model
/// it was scored with ([`marca_revision`]).
fn revisa(
    autor: &Autor<'_>,
    conn: &mut DbConnection,
    hogar_id: i64,
    tipo: TipoEventoHogar,
) -> Result<bool, ApiError> {
    let modelo = store::modelo_vigente(conn, hogar_id)?;
    let modelo = modelo.as_deref().and_then(|m| autor.modelos.get(m));
    Ok(marca_revision(modelo.map(|m| &**m), tipo))
}

fn numero(run: Run) -> i32 {
    run.numero() as i32
}

/// What the event changes on `hogar` as read, or why it cannot be recorded.
fn decidir(
    autor: &Autor<'_>,
    conn: &mut DbConnection,
    hogar: &HogarFila,
    e: &EventoMotivado,
) -> Result<Escritura, ApiError> {
    let miembros = store::integrantes(conn, hogar.id)?;
    let es_miembro = |run: Run| miembros.iter().any(|(r, _)| *r == numero(run));
    let tipo = e.evento.tipo();
    let now = store::now_us();
    let fila = |hogar_id: i64, run: Option<Run>, datos: Datos, motivo: &str| EventoFila {
        id: uuid::Uuid::new_v4().to_string(),
        hogar_id,
        secuencia: 0,
        evento: tipo.as_str().into(),
        run: run.map(numero),
        hogar_destino: None,
        datos: datos.json(),
        motivo: motivo.to_owned(),
        convenio: autor.convenio.id.to_string(),
        usuario: autor.usuario.map(|u| u.to_string()),
        marca_revision: 0,
        ts_us: now,
    };
    let mut w = Escritura {
        hogar: hogar.clone(),
        direccion: None,
        nuevo: None,
        salen: Vec::new(),
        llega: None,
        evento: fila(hogar.id, None, Datos::default(), &e.motivo),
        revisar: revisa(autor, conn, hogar.id, tipo)?,
    };
    match &e.evento {
        Evento::AgregarIntegrante { run, parentesco } => {
            if es_miembro(*run) {
                return Err(errores::ya_es_integrante());
            }
            if *parentesco == "jefe" && miembros.iter().any(|(_, p)| p == "jefe") {
                return Err(errores::con_jefe());
            }
            // Whoever the person is and wherever they live, they move in alike; the registry
            // must hold them alive.
            if !store::persona_viva(conn, numero(*run))? {
                return Err(errores::persona_no_incorporable());
            }
            let origen = store::hogar_de(conn, numero(*run))?;
            let evento_origen = origen.as_ref().map(|o| {
                let mut f = fila(
                    o.id,
                    Some(*run),
                    Datos {
                        hacia: Some(hogar.id),
                        externo: Some(o.cut != hogar.cut),
                        ..Datos::default()
                    },
                    &e.motivo,
                );
                f.evento = TipoEventoHogar::QuitarIntegrante.as_str().into();
                f
            });
            w.evento = fila(
                hogar.id,
                Some(*run),
                Datos {
                    parentesco: Some((*parentesco).to_owned()),
                    desde: origen.as_ref().map(|o| o.id),
                    ..Datos::default()
                },
                &e.motivo,
            );
            let revisar_origen = match &origen {
                Some(o) => revisa(autor, conn, o.id, TipoEventoHogar::QuitarIntegrante)?,
                None => false,
            };
            w.llega = Some(Llegada {
                run: numero(*run),
                parentesco: (*parentesco).to_owned(),
                origen,
                evento_origen,
                revisar_origen,
            });
        }
        Evento::QuitarIntegrante { run } => {
            if !es_miembro(*run) {
                return Err(errores::no_es_integrante());
            }
            if miembros.len() == 1 {
                return Err(errores::sin_integrantes());
            }
            w.nuevo = Some(String::new());
            w.salen = vec![(numero(*run), "jefe".into())];
            w.evento = fila(hogar.id, Some(*run), Datos::default(), &e.motivo);
        }
        Evento::CambiarDomicilio { direccion, comuna } => {
            if comuna.as_ref().is_some_and(|c| *c != hogar.cut) {
                return Err(errores::evento_invalido(
                    "a household moves only within its comuna: a move to another comuna is a \
                     new survey where it now lives (SolicitarEncuestaje)",
                ));
            }
            w.direccion = Some(direccion.clone());
            w.evento = fila(
                hogar.id,
                None,
                Datos {
                    direccion: Some(direccion.clone()),
                    anterior: Some(hogar.direccion.clone()),
                    ..Datos::default()
                },
                &e.motivo,
            );
        }
        Evento::Dividir { runs, direccion } => {
            if !runs.iter().all(|r| es_miembro(*r)) {
                return Err(errores::no_es_integrante());
            }
            if runs.len() == miembros.len() {
                return Err(errores::sin_integrantes());
            }
            let parentesco = |run: Run| {
                miembros
                    .iter()
                    .find(|(r, _)| *r == numero(run))
                    .map(|(_, p)| p.clone())
                    .unwrap_or_default()
            };
            let con_jefe = runs.iter().any(|r| parentesco(*r) == "jefe");
            w.salen = runs
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    // The first listed heads the new household unless its jefe left with them.
                    let p = if i == 0 && !con_jefe {
                        "jefe".to_owned()
                    } else {
                        parentesco(*r)
                    };
                    (numero(*r), p)
                })
                .collect();
            w.nuevo = Some(direccion.clone());
            w.evento = fila(
                hogar.id,
                None,
                Datos {
                    direccion: Some(direccion.clone()),
                    runs: Some(runs.iter().map(Run::to_string).collect()),
                    ..Datos::default()
                },
                &e.motivo,
            );
        }
    }
    Ok(w)
}

/// A member's RUN (the household's address) and an event for it, as sent.
#[derive(Debug, Clone)]
pub struct EventoPedido {
    pub run: Run,
    pub entrada: EventoEntrada,
}

/// RegistrarEventoHogar (REST `POST /api/v1/personas/{run}/hogar/eventos`, SOAP
/// RegistrarEventoHogar), under the ActualizarHogar grant: a write.
pub struct RegistrarEventoHogar;

impl Op for RegistrarEventoHogar {
    const OPERATION: Operation = Operation::ActualizarHogar;
    const WRITES: bool = true;
    type Request = EventoPedido;
    type Response = Hogar;

    /// The member addressed and every person the event moves: one unit each.
    fn subjects(p: &EventoPedido) -> Vec<Run> {
        let mut runs = vec![p.run];
        runs.extend(evento::runs_nombrados(&p.entrada));
        runs
    }

    /// A malformed event is refused before anything is read (it names no one).
    fn check(p: &EventoPedido, _: &Config) -> Result<(), ApiError> {
        EventoMotivado::from_entrada(&p.entrada).map(|_| ())
    }

    fn handle(
        core: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: EventoPedido,
    ) -> Result<Hogar, ApiError> {
        let autor = Autor {
            convenio: &admission.convenio,
            usuario: admission.usuario,
            modelos: &core.broker.modelos,
        };
        registrar(&autor, conn, p.run, &p.entrada)
    }
}

/// ConsultarHogar (REST `GET /api/v1/personas/{run}/hogar`, SOAP ConsultarHogar), under the
/// ActualizarHogar grant.
pub struct ConsultarHogar;

impl Op for ConsultarHogar {
    const OPERATION: Operation = Operation::ActualizarHogar;
    type Request = Run;
    type Response = Hogar;

    fn subjects(run: &Run) -> Vec<Run> {
        vec![*run]
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        run: Run,
    ) -> Result<Hogar, ApiError> {
        consultar(&admission.convenio, conn, run)
    }
}

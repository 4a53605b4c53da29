//! SolicitarEncuestaje and TrabajarEncuestaje: an agency asks for a person without a ficha in
//! force to be surveyed; the request goes to the municipality of the person's last known
//! comuna (or the one given), which works it through the states of [`estado`] until the
//! survey's result becomes the household's ficha. The requester follows its own requests only.

mod errores;
pub mod estado;
pub mod store;

use std::collections::BTreeSet;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use self::estado::{Estado, Evento, EventoEntrada};
pub use self::store::EventoFila;
use self::store::{Fila, Resultado};
use super::ficha::{self, ComunaRef};
use super::projection::{Project, any_below, keep, note};
use crate::agreements::{Agreement, FieldSet};
use crate::db::DbConnection;
use crate::domain::{Cut, EncuestajeId, Run};
use crate::error::ApiError;

pub use errores::{comuna_desconocida, no_encontrado};

/// A survey request as an answer carries it (projected onto the grant before it leaves).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Encuestaje {
    /// The person the request is about, for the audit log (never sent).
    #[serde(skip)]
    pub sujeto: Option<Run>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comuna: Option<ComunaRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solicitante: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_solicitud: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_vencimiento: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_visita: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub visitas_fallidas: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub motivo_anulacion: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folio: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub puntaje: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quintil: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fecha_aplicacion: Option<NaiveDate>,
}

impl Project for Encuestaje {
    fn project(&mut self, grant: &FieldSet) {
        keep(&mut self.id, grant, "id");
        keep(&mut self.run, grant, "run");
        keep(&mut self.estado, grant, "estado");
        keep(&mut self.solicitante, grant, "solicitante");
        keep(&mut self.fecha_solicitud, grant, "fechaSolicitud");
        keep(&mut self.fecha_vencimiento, grant, "fechaVencimiento");
        keep(&mut self.fecha_visita, grant, "fechaVisita");
        keep(&mut self.visitas_fallidas, grant, "visitasFallidas");
        keep(&mut self.motivo_anulacion, grant, "motivoAnulacion");
        keep(&mut self.folio, grant, "folio");
        keep(&mut self.puntaje, grant, "puntaje");
        keep(&mut self.quintil, grant, "quintil");
        keep(&mut self.fecha_aplicacion, grant, "fechaAplicacion");
        if let Some(c) = &mut self.comuna {
            keep(&mut c.codigo, grant, "comuna.codigo");
            keep(&mut c.nombre, grant, "comuna.nombre");
        }
        if !any_below(grant, "comuna.") {
            self.comuna = None;
        }
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        let mut out = BTreeSet::new();
        note(&mut out, &self.id, "id");
        note(&mut out, &self.run, "run");
        note(&mut out, &self.estado, "estado");
        note(&mut out, &self.solicitante, "solicitante");
        note(&mut out, &self.fecha_solicitud, "fechaSolicitud");
        note(&mut out, &self.fecha_vencimiento, "fechaVencimiento");
        note(&mut out, &self.fecha_visita, "fechaVisita");
        note(&mut out, &self.visitas_fallidas, "visitasFallidas");
        note(&mut out, &self.motivo_anulacion, "motivoAnulacion");
        note(&mut out, &self.folio, "folio");
        note(&mut out, &self.puntaje, "puntaje");
        note(&mut out, &self.quintil, "quintil");
        note(&mut out, &self.fecha_aplicacion, "fechaAplicacion");
        if let Some(c) = &self.comuna {
            note(&mut out, &c.codigo, "comuna.codigo");
            note(&mut out, &c.nombre, "comuna.nombre");
        }
        out
    }

    fn subjects(&self) -> Option<Vec<Run>> {
        Some(self.sujeto.into_iter().collect())
    }
}

/// One page of a municipality's queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cola {
    pub comuna: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estado: Option<String>,
    pub pagina: u32,
    pub por_pagina: u32,
    /// Requests matching the filter, on every page.
    pub total: i64,
    pub encuestajes: Vec<Encuestaje>,
}

impl Project for Cola {
    fn project(&mut self, grant: &FieldSet) {
        self.encuestajes.iter_mut().for_each(|e| e.project(grant));
    }

    fn disclosed(&self) -> BTreeSet<&'static str> {
        self.encuestajes
            .iter()
            .flat_map(|e| e.disclosed())
            .collect()
    }

    fn subjects(&self) -> Option<Vec<Run>> {
        Some(self.encuestajes.iter().filter_map(|e| e.sujeto).collect())
    }
}

/// The whole request; projection cuts it down to the grant of the operation that answers.
fn vista(fila: &Fila) -> Encuestaje {
    let puntaje = fila
        .puntaje
        .and_then(|p| crate::domain::Puntaje::new(i64::from(p)).ok());
    Encuestaje {
        sujeto: Run::from_numero(fila.run as u32).ok(),
        id: Some(fila.id.clone()),
        run: Run::from_numero(fila.run as u32)
            .ok()
            .map(|r| r.to_string()),
        comuna: Some(ComunaRef {
            codigo: Some(fila.cut.clone()),
            nombre: store::nombre_comuna(&fila.cut),
        }),
        estado: Some(fila.estado.clone()),
        solicitante: Some(fila.convenio.clone()),
        fecha_solicitud: Some(fila.fecha_solicitud),
        fecha_vencimiento: Some(fila.fecha_vencimiento),
        fecha_visita: fila.fecha_visita,
        visitas_fallidas: u8::try_from(fila.visitas_fallidas).ok(),
        motivo_anulacion: fila.motivo_anulacion.clone(),
        folio: fila.folio,
        puntaje: puntaje.map(|p| p.value()),
        quintil: puntaje.map(|p| p.quintil().number()),
        fecha_aplicacion: fila.fecha_aplicacion,
    }
}

/// What an agency asks for.
#[derive(Debug, Clone)]
pub struct Solicitud {
    pub run: Run,
    /// Where to survey, when not the person's last known comuna.
    pub comuna: Option<Cut>,
}

/// A comuna code from a request, as a caller error when it is not one of the catalogue's.
pub fn parse_comuna(text: &str) -> Result<Cut, ApiError> {
    Cut::parse(text).map_err(|e| comuna_desconocida(format!("comuna: {e}")))
}

/// SolicitarEncuestaje: creates the request, routed to the comuna given or the person's last
/// known one, due `plazo_dias` calendar days after `today` (Chile's civil day). Refused for an
/// unknown or deceased person, for one whose household has a ficha in force, and for a
/// municipality asking outside its own comuna.
pub fn solicitar(
    agreement: &Agreement,
    conn: &mut DbConnection,
    solicitud: &Solicitud,
    plazo_dias: u32,
    today: NaiveDate,
) -> Result<Encuestaje, ApiError> {
    let (household, fallecido) = match ficha::household_of(conn, solicitud.run)? {
        Some(h) => {
            let fallecido = h.fallecido;
            (Some(h), fallecido)
        }
        None if persona_existe(conn, solicitud.run)? => (None, false),
        None => return Err(ApiError::no_encontrado()),
    };
    let conocida = household.as_ref().and_then(|h| Cut::parse(&h.cut).ok());
    let cut = match (solicitud.comuna, conocida) {
        (Some(given), _) => {
            if agreement.scope.is_some_and(|s| s != given) {
                return Err(errores::fuera_de_ambito());
            }
            given
        }
        (None, Some(known)) => {
            if agreement.scope.is_some_and(|s| s != known) {
                // Where the person lives is not disclosed outside the municipality's comuna.
                return Err(ApiError::fuera_de_ambito());
            }
            known
        }
        (None, None) => {
            return Err(comuna_desconocida(
                "the registry knows no comuna for this person: give one",
            ));
        }
    };
    if fallecido {
        return Err(errores::persona_fallecida());
    }
    if let Some(h) = &household
        && ficha::ficha_of(conn, h.hogar_id)?.is_some()
    {
        return Err(errores::ficha_vigente());
    }
    let now = store::now_us();
    let fila = Fila {
        id: EncuestajeId::new().to_string(),
        run: solicitud.run.numero() as i32,
        cut: cut.to_string(),
        convenio: agreement.id.to_string(),
        estado: Estado::Solicitada.as_str().into(),
        visitas_fallidas: 0,
        fecha_solicitud: today,
        fecha_vencimiento: today + Days::new(u64::from(plazo_dias)),
        fecha_visita: None,
        motivo_anulacion: None,
        folio: None,
        puntaje: None,
        fecha_aplicacion: None,
        version: 0,
        creada_us: now,
        actualizada_us: now,
    };
    match store::insertar(conn, &fila) {
        Ok(()) => Ok(vista(&fila)),
        // The unique index on open requests per person.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(errores::en_curso()),
        Err(e) => Err(e.into()),
    }
}

fn persona_existe(conn: &mut DbConnection, run: Run) -> Result<bool, ApiError> {
    use crate::db::schema::personas;
    use diesel::prelude::*;
    Ok(personas::table
        .find(run.numero() as i32)
        .select(personas::run)
        .first::<i32>(conn)
        .optional()?
        .is_some())
}

/// A request by its id as text; a malformed id cannot exist.
fn leer(conn: &mut DbConnection, id: &str) -> Result<Fila, ApiError> {
    let id = EncuestajeId::parse(id).map_err(|_| no_encontrado())?;
    store::leer(conn, &id.to_string())?.ok_or_else(no_encontrado)
}

/// Following a request (part of SolicitarEncuestaje): only the agreement that asked for it
/// sees it; to anyone else it does not exist.
pub fn seguir(
    agreement: &Agreement,
    conn: &mut DbConnection,
    id: &str,
) -> Result<Encuestaje, ApiError> {
    let fila = leer(conn, id)?;
    if fila.convenio != agreement.id.as_str() {
        return Err(no_encontrado());
    }
    Ok(vista(&fila))
}

/// The comuna a municipal agreement works; `cut` must be it.
fn en_ambito(agreement: &Agreement, cut: &str) -> Result<(), ApiError> {
    match agreement.scope {
        Some(scope) if scope.as_str() == cut => Ok(()),
        _ => Err(errores::fuera_de_ambito()),
    }
}

/// Most requests on one page of a queue, and the default.
pub const MAX_POR_PAGINA: u32 = 100;
pub const POR_PAGINA: u32 = 20;

/// A queue filter: state (optional), page from 1, page size 1 to [`MAX_POR_PAGINA`].
#[derive(Debug, Clone, PartialEq)]
pub struct Filtro {
    pub estado: Option<Estado>,
    pub pagina: u32,
    pub por_pagina: u32,
}

impl Filtro {
    /// From the texts a transport received (absent = default).
    pub fn parse(
        estado: Option<&str>,
        pagina: Option<&str>,
        por_pagina: Option<&str>,
    ) -> Result<Filtro, ApiError> {
        let estado = match estado {
            None => None,
            Some(text) => Some(Estado::parse(text).ok_or_else(|| {
                errores::estado_desconocido(format!(
                    "estado is one of {}",
                    Estado::ALL.map(Estado::as_str).join(", ")
                ))
            })?),
        };
        let number = |name: &str, text: Option<&str>, default: u32, max: u32| match text {
            None => Ok(default),
            Some(t) => t
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    errores::paginacion_invalida(format!(
                        "{name} is a whole number from 1 to {max}"
                    ))
                }),
        };
        Ok(Filtro {
            estado,
            pagina: number("pagina", pagina, 1, 1_000_000)?,
            por_pagina: number("porPagina", por_pagina, POR_PAGINA, MAX_POR_PAGINA)?,
        })
    }
}

/// TrabajarEncuestaje: one page of the comuna's queue (the municipality's own comuna only).
pub fn cola(
    agreement: &Agreement,
    conn: &mut DbConnection,
    cut: &str,
    filtro: &Filtro,
) -> Result<Cola, ApiError> {
    let cut = parse_comuna(cut)?;
    en_ambito(agreement, cut.as_str())?;
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
/// concurrent change makes the event be decided again on the new state.
pub fn registrar(
    agreement: &Agreement,
    conn: &mut DbConnection,
    id: &str,
    entrada: &EventoEntrada,
    today: NaiveDate,
) -> Result<Encuestaje, ApiError> {
    for _ in 0..INTENTOS {
        let antes = leer(conn, id)?;
        en_ambito(agreement, &antes.cut)?;
        let evento = Evento::from_entrada(entrada, today)?;
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
                puntaje,
                fecha_aplicacion,
            } => {
                if *fecha_aplicacion < antes.fecha_solicitud {
                    return Err(errores::evento_invalido(
                        "fechaAplicacion is before the request was made",
                    ));
                }
                despues.puntaje = Some(i32::from(puntaje.value()));
                despues.fecha_aplicacion = Some(*fecha_aplicacion);
                resultado = Some(Resultado {
                    puntaje: *puntaje,
                    fecha_aplicacion: *fecha_aplicacion,
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
            convenio: agreement.id.to_string(),
            ts_us: despues.actualizada_us,
        };
        match store::aplicar(conn, &antes, &despues, fila_evento, resultado) {
            Ok(true) => return Ok(vista(&store::leer(conn, &antes.id)?.unwrap_or(despues))),
            // Another event won the race (or, on PostgreSQL, took the same new folio): decide
            // again on what is stored now.
            Ok(false) => continue,
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

/// The history of a request, for tests and operators.
pub fn historial(conn: &mut DbConnection, id: &str) -> Result<Vec<EventoFila>, ApiError> {
    Ok(store::eventos(conn, id)?)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn full() -> Encuestaje {
        vista(&Fila {
            id: EncuestajeId::new().to_string(),
            run: 12_345_678,
            cut: "13101".into(),
            convenio: "minvu".into(),
            estado: "encuestada".into(),
            visitas_fallidas: 1,
            fecha_solicitud: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            fecha_vencimiento: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            fecha_visita: NaiveDate::from_ymd_opt(2026, 11, 10),
            motivo_anulacion: Some("x".into()),
            folio: Some(1_000_001),
            puntaje: Some(8_000),
            fecha_aplicacion: NaiveDate::from_ymd_opt(2026, 11, 10),
            version: 3,
            creada_us: 0,
            actualizada_us: 0,
        })
    }

    fn leaves(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, &path, out);
            }),
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }

    proptest! {
        #[test]
        fn a_request_never_discloses_beyond_the_grant(
            grant in prop::sample::subsequence(
                crate::ops::catalog::TRABAJO_ENCUESTAJE_FIELDS.to_vec(),
                0..=crate::ops::catalog::TRABAJO_ENCUESTAJE_FIELDS.len(),
            )
        ) {
            let mut value = full();
            value.project(&FieldSet::new(grant.iter().copied()));
            let mut after = BTreeSet::new();
            leaves(&serde_json::to_value(&value).unwrap(), "", &mut after);
            let granted: BTreeSet<String> = grant.iter().map(|s| s.to_string()).collect();
            prop_assert_eq!(&after, &granted, "the full request carries every path");
            let reported: BTreeSet<String> =
                value.disclosed().iter().map(|s| s.to_string()).collect();
            prop_assert_eq!(reported, after);
            prop_assert_eq!(value.subjects(), Some(vec![Run::from_numero(12_345_678).unwrap()]));
        }
    }

    #[test]
    fn queue_filters_are_checked() {
        assert_eq!(
            Filtro::parse(Some("pendiente"), None, None)
                .unwrap_err()
                .code,
            "ESTADO_DESCONOCIDO"
        );
        let f = Filtro::parse(None, None, None).unwrap();
        assert_eq!((f.estado, f.pagina, f.por_pagina), (None, 1, POR_PAGINA));
        let f = Filtro::parse(Some("visita_fallida"), Some("3"), Some("100")).unwrap();
        assert_eq!(
            (f.estado, f.pagina, f.por_pagina),
            (Some(Estado::VisitaFallida), 3, 100)
        );
        for (e, p, n) in [
            (None, Some("0"), None),
            (None, Some("-1"), None),
            (None, Some("uno"), None),
            (None, None, Some("0")),
            (None, None, Some("101")),
        ] {
            assert_eq!(
                Filtro::parse(e, p, n).unwrap_err().code,
                "PAGINACION_INVALIDA",
                "{e:?} {p:?} {n:?}"
            );
        }
    }
}

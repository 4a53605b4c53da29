//! Subscriptions to events (docs/eventos.md): an agency subscribes to the kinds of event its
//! grant of `Suscripciones` lists (`eventos`), optionally only about the RUNs of a list of at
//! most `max_runs`; the fan-out ([`despacho`]) gives each matching event a place in the
//! subscription's gap-free sequence (`entregas`), which the agency reads by cursor (pull,
//! [`LeerEventos`]) or the node sends to one of the agreement's `callbacks` (push).
//!
//! Scope: a subscription is its agreement's only; another agreement's id is answered exactly
//! as an unknown one. A RUN list is taken as sent, whatever the registry holds for each RUN (so
//! the answer tells nothing about them); a municipality's subscription only ever receives
//! events of its comuna.

pub mod cola;
pub mod despacho;
pub mod entregar;
pub mod envios;
pub mod errores;
mod leer;
mod notificacion;
pub mod operador;
pub mod store;

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use self::leer::{Eventos, Lectura, LeerEventos};
pub use self::notificacion::{Notificacion, clave};
use self::store::SuscripcionFila;
use super::{Core, Op};
use crate::broker::Admission;
use crate::catalog::{Entrega, Operation, TIPOS_EVENTO};
use crate::convenios::{Convenio, Grant};
use crate::db::DbConnection;
use crate::domain::{Run, SuscripcionId};
use crate::error::ApiError;
use crate::projection::{FieldSet, Project};

/// A subscription as a transport received it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SuscripcionEntrada {
    /// The kinds of event (one or more of the agreement's `eventos`).
    pub tipos: Vec<String>,
    /// `pull` (read by cursor) or `push` (sent to `url`).
    pub entrega: String,
    /// Push only: one of the agreement's `callbacks`.
    pub url: Option<String>,
    /// `json` (the default) or, push only, `dci`.
    pub formato: Option<String>,
    /// Only events about these persons (as `run` or `runRelacionado`): at most the
    /// agreement's `max_runs`.
    pub runs: Option<Vec<String>>,
}

/// A subscription as asked, its shape checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Pedido {
    pub tipos: BTreeSet<String>,
    pub entrega: Entrega,
    pub url: Option<url::Url>,
    pub formato: &'static str,
    /// `None`: every person; `Some`: only these.
    pub runs: Option<Vec<Run>>,
    /// A DCI subscription's `notify_record_type` (`Member` or `Group`); `None` over REST and
    /// SOAP.
    pub registro_dci: Option<&'static str>,
}

impl SuscripcionEntrada {
    /// The typed request (`SUSCRIPCION_INVALIDA` naming the field, a RUN by its index). The
    /// RUNs read go to `subjects`.
    pub fn parse(&self, subjects: &mut Vec<Run>) -> Result<Pedido, ApiError> {
        if self.tipos.is_empty() {
            return Err(errores::invalida(
                "tipos",
                "tipos: one or more kinds of event",
            ));
        }
        let mut tipos = BTreeSet::new();
        for (i, t) in self.tipos.iter().enumerate() {
            let campo = format!("tipos[{i}]");
            if !TIPOS_EVENTO.contains(&t.as_str()) {
                return Err(errores::invalida(
                    &campo,
                    format!("{campo}: one of {}", TIPOS_EVENTO.join(", ")),
                ));
            }
            if !tipos.insert(t.clone()) {
                return Err(errores::invalida(
                    &campo,
                    format!("{campo} is listed twice"),
                ));
            }
        }
        let entrega = Entrega::parse(&self.entrega)
            .ok_or_else(|| errores::invalida("entrega", "entrega is pull or push"))?;
        let url = match (entrega, &self.url) {
            (Entrega::Pull, None) => None,
            (Entrega::Pull, Some(_)) => {
                return Err(errores::invalida(
                    "url",
                    "url: a pull subscription has none",
                ));
            }
            (Entrega::Push, None) => {
                return Err(errores::invalida(
                    "url",
                    "url: a push subscription needs one",
                ));
            }
            (Entrega::Push, Some(u)) => {
                Some(url::Url::parse(u).map_err(|_| errores::invalida("url", "url is not a URL"))?)
            }
        };
        let formato = match (self.formato.as_deref(), entrega) {
            (None | Some("json"), _) => "json",
            (Some("dci"), Entrega::Push) => "dci",
            _ => {
                return Err(errores::invalida(
                    "formato",
                    "formato is json, or dci for a push subscription",
                ));
            }
        };
        let runs = match &self.runs {
            None => None,
            Some(list) => {
                let mut runs = Vec::with_capacity(list.len());
                let mut vistos = HashSet::new();
                for (i, text) in list.iter().enumerate() {
                    let campo = format!("runs[{i}]");
                    let run = Run::parse(text)
                        .map_err(|e| errores::invalida(&campo, format!("{campo}: {e}")))?;
                    if !vistos.insert(run) {
                        return Err(errores::invalida(
                            &campo,
                            format!("{campo} is listed twice"),
                        ));
                    }
                    subjects.push(run);
                    runs.push(run);
                }
                if runs.is_empty() {
                    return Err(errores::invalida(
                        "runs",
                        "runs: one or more RUNs, or no list for every person",
                    ));
                }
                Some(runs)
            }
        };
        Ok(Pedido {
            tipos,
            entrega,
            url,
            formato,
            runs,
            registro_dci: None,
        })
    }
}

/// A subscription as answers carry it: the agency's own request, nothing of the registry.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Suscripcion {
    pub id: String,
    pub tipos: Vec<String>,
    pub entrega: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub formato: String,
    /// How many RUNs its list names (0: no list, every person).
    pub runs: i64,
    /// `activa` or `cerrada`.
    pub estado: String,
    /// The last sequence number given to one of its events (0: none yet).
    pub ultima_secuencia: i64,
    pub creada: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cerrada: Option<DateTime<Utc>>,
}

pub(crate) fn vista(fila: &SuscripcionFila, runs: i64) -> Suscripcion {
    Suscripcion {
        id: fila.id.clone(),
        tipos: fila.tipos(),
        entrega: fila.entrega.clone(),
        url: fila.url.clone(),
        formato: fila.formato.clone(),
        runs,
        estado: fila.estado.clone(),
        ultima_secuencia: fila.ultima_secuencia,
        creada: DateTime::from_timestamp_micros(fila.creada_us),
        cerrada: fila.cerrada_us.and_then(DateTime::from_timestamp_micros),
    }
}

/// The agency's own subscription: no field of the registry to project, none disclosed.
impl Project for Suscripcion {
    fn project(&mut self, _: &FieldSet) {}

    fn disclosed(&self) -> BTreeSet<&'static str> {
        BTreeSet::new()
    }
}

/// The agreement's subscriptions.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Suscripciones {
    pub suscripciones: Vec<Suscripcion>,
}

impl Project for Suscripciones {
    fn project(&mut self, _: &FieldSet) {}

    fn disclosed(&self) -> BTreeSet<&'static str> {
        BTreeSet::new()
    }
}

/// The grant of `Suscripciones` (admission has checked that there is one).
fn grant(convenio: &Convenio) -> Result<&Grant, ApiError> {
    convenio.grant(Operation::Suscripciones).ok_or_else(|| {
        ApiError::no_autorizado(format!(
            "the agreement does not grant {}",
            Operation::Suscripciones
        ))
    })
}

/// Suscribir: the grant must list every kind, the delivery mode, the push URL among its
/// callbacks and allow a list that long.
pub fn suscribir(
    convenio: &Convenio,
    conn: &mut DbConnection,
    pedido: &Pedido,
) -> Result<Suscripcion, ApiError> {
    let grant = grant(convenio)?;
    if let Some(t) = pedido.tipos.iter().find(|t| !grant.allows_evento(t)) {
        return Err(errores::evento_no_concedido(t));
    }
    if !grant.allows_entrega(pedido.entrega) {
        return Err(errores::entrega_no_concedida(pedido.entrega.as_str()));
    }
    if let Some(url) = &pedido.url
        && !grant.callbacks.iter().flatten().any(|c| c == url)
    {
        return Err(errores::callback_no_permitido());
    }
    let max = grant.max_runs.unwrap_or(0);
    let runs: Vec<i32> = pedido
        .runs
        .iter()
        .flatten()
        .map(|r| r.numero() as i32)
        .collect();
    if runs.len() > max as usize {
        return Err(errores::lista_excedida(max));
    }
    let fila = SuscripcionFila {
        id: SuscripcionId::new().to_string(),
        convenio: convenio.id.to_string(),
        tipos: serde_json::to_string(&pedido.tipos).map_err(|e| {
            tracing::error!(error = %e, "kinds not serialized");
            ApiError::unavailable()
        })?,
        entrega: pedido.entrega.as_str().to_owned(),
        url: pedido.url.as_ref().map(url::Url::to_string),
        formato: pedido.formato.to_owned(),
        con_lista: pedido.runs.is_some(),
        estado: "activa".into(),
        ultima_secuencia: 0,
        creada_us: store::now_us(),
        cerrada_us: None,
        registro_dci: pedido.registro_dci.map(str::to_owned),
    };
    store::insertar(conn, &fila, &runs)?;
    Ok(vista(&fila, runs.len() as i64))
}

/// A subscription of the agreement by its id as sent; any other does not exist.
pub(crate) fn leer(
    convenio: &Convenio,
    conn: &mut DbConnection,
    id: &str,
) -> Result<SuscripcionFila, ApiError> {
    let id = SuscripcionId::parse(id).map_err(|_| errores::no_encontrada())?;
    store::leer(conn, convenio.id.as_str(), &id.to_string())?.ok_or_else(errores::no_encontrada)
}

/// Suscribir (REST `POST /api/v1/suscripciones`, SOAP Suscribir): a write. Its audit record
/// names every RUN of the list, each charged one unit: whom an agency watches shows in each
/// person's access report.
pub struct Suscribir;

impl Op for Suscribir {
    const OPERATION: Operation = Operation::Suscripciones;
    const WRITES: bool = true;
    type Request = Pedido;
    type Response = Suscripcion;

    fn subjects(p: &Pedido) -> Vec<Run> {
        p.runs.clone().unwrap_or_default()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        p: Pedido,
    ) -> Result<Suscripcion, ApiError> {
        suscribir(&admission.convenio, conn, &p)
    }
}

/// ListarSuscripciones (REST `GET /api/v1/suscripciones`, SOAP ListarSuscripciones): the
/// agreement's own subscriptions, open and closed, oldest first.
pub struct ListarSuscripciones;

impl Op for ListarSuscripciones {
    const OPERATION: Operation = Operation::Suscripciones;
    type Request = ();
    type Response = Suscripciones;

    fn subjects(_: &()) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        (): (),
    ) -> Result<Suscripciones, ApiError> {
        let mut suscripciones = Vec::new();
        for fila in store::de_convenio(conn, admission.convenio.id.as_str())? {
            let runs = store::cuantos_runs(conn, &fila.id)?;
            suscripciones.push(vista(&fila, runs));
        }
        Ok(Suscripciones { suscripciones })
    }
}

/// Desuscribir (REST `DELETE /api/v1/suscripciones/{id}`, SOAP Desuscribir): closes the
/// subscription; its events not yet delivered (or, pull, not yet read) are revoked. A write.
pub struct Desuscribir;

impl Op for Desuscribir {
    const OPERATION: Operation = Operation::Suscripciones;
    const WRITES: bool = true;
    /// The subscription's id, as sent.
    type Request = String;
    type Response = Suscripcion;

    fn subjects(_: &String) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        id: String,
    ) -> Result<Suscripcion, ApiError> {
        let fila = leer(&admission.convenio, conn, &id)?;
        let ahora = store::now_us();
        if !store::cerrar(conn, &fila.id, ahora)? {
            return Err(errores::cerrada());
        }
        let fila = leer(&admission.convenio, conn, &id)?;
        let runs = store::cuantos_runs(conn, &fila.id)?;
        Ok(vista(&fila, runs))
    }
}

//! EntregarEvento: one event of a push subscription, as the node is about to send it to the
//! agreement's callback. A delivery is a disclosure, so it is an operation like any other,
//! run through the broker's one admission path with the node itself as the principal
//! ([`crate::broker::Call::entrega_a`], transport `push`): the agreement must be in force and
//! grant `Suscripciones`; the event is projected onto the grant in force now, each person it
//! names is charged one unit, and the audit record naming them is durable before the broker
//! returns, so before the worker ([`super::envios`]) sends a byte.

use super::notificacion::vista;
use super::store;
use super::{Notificacion, errores, grant, leer};
use crate::broker::Admission;
use crate::catalog::{Entrega, Operation};
use crate::db::DbConnection;
use crate::domain::Run;
use crate::error::{ApiError, ErrorCode};
use crate::ops::{Core, Op};

/// One claimed event of a subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Envio {
    pub suscripcion: String,
    pub secuencia: i64,
    /// The event's persons, as the claim read them: the record names them (and they are
    /// charged) even when the delivery is refused.
    pub sujetos: Vec<Run>,
}

/// The event is no longer the worker's to send (an operator discarded it, the row changed):
/// nothing is sent and nothing changes.
pub fn no_reclamada() -> ApiError {
    ApiError::new(
        ErrorCode::NoEncontrado,
        "no claimed delivery with that sequence number",
    )
}

pub struct EntregarEvento;

impl Op for EntregarEvento {
    const OPERATION: Operation = Operation::Suscripciones;
    type Request = Envio;
    type Response = Notificacion;

    fn subjects(e: &Envio) -> Vec<Run> {
        e.sujetos.clone()
    }

    /// The notification, whole (the broker projects it onto the grant): refused with
    /// `SUSCRIPCION_CERRADA` when the subscription is closed and `EVENTO_NO_CONCEDIDO` when
    /// the agreement no longer grants the kind or the event is outside its comuna (the worker
    /// then revokes the row).
    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        e: Envio,
    ) -> Result<Notificacion, ApiError> {
        let convenio = &admission.convenio;
        let grant = grant(convenio)?;
        let fila = leer(convenio, conn, &e.suscripcion)?;
        if fila.estado != "activa" {
            return Err(errores::cerrada());
        }
        if fila.entrega != Entrega::Push.as_str() {
            return Err(errores::invalida(
                "id",
                "a pull subscription's events are read",
            ));
        }
        let evento = store::una(conn, &fila.id, e.secuencia)?.ok_or_else(no_reclamada)?;
        if evento.estado != "en_curso" {
            return Err(no_reclamada());
        }
        let en_ambito = match &convenio.ambito {
            None => true,
            Some(ambito) => evento.cut.as_deref().is_some_and(|c| ambito.contiene(c)),
        };
        if !grant.allows_evento(&evento.tipo) || !en_ambito {
            return Err(errores::evento_no_concedido(&evento.tipo));
        }
        Ok(vista(&fila.id, &evento).0)
    }
}

//! DCI `subscribe` and `unsubscribe` (`docs/dci.md`): the same subscriptions as REST's
//! Suscribir and Desuscribir (`ops::suscripciones`), several in one message. A message is
//! applied whole or not at all: the first item refused refuses it (bad input changes nothing),
//! and the refusal's error names that item (`campo` = `subscribe_request[i]`), so that the
//! audit record keeps the node's code and the DCI answer says which item.

use crate::broker::Admission;
use crate::catalog::Operation;
use crate::db::DbConnection;
use crate::domain::Run;
use crate::error::ApiError;
use crate::ops::suscripciones::{self, Pedido, Suscripcion, Suscripciones, errores, store};
use crate::ops::{Core, Op};

/// The `campo` of the error that refused item `i` of a subscribe message.
pub fn campo_item(i: usize) -> String {
    format!("subscribe_request[{i}]")
}

/// Which item an error of [`SuscribirDci`] names, if any.
pub fn item_de(error: &ApiError) -> Option<usize> {
    error
        .campo
        .as_deref()?
        .strip_prefix("subscribe_request[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// DCI `subscribe`: one subscription per item, all in one transaction. Its audit record names
/// every RUN of every item's filter, each charged one unit, as Suscribir's does.
pub struct SuscribirDci;

impl Op for SuscribirDci {
    const OPERATION: Operation = Operation::Suscripciones;
    const WRITES: bool = true;
    type Request = Vec<Pedido>;
    type Response = Suscripciones;

    fn subjects(pedidos: &Vec<Pedido>) -> Vec<Run> {
        pedidos
            .iter()
            .flat_map(|p| p.runs.iter().flatten().copied())
            .collect()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        pedidos: Vec<Pedido>,
    ) -> Result<Suscripciones, ApiError> {
        let mut hechas = Vec::with_capacity(pedidos.len());
        for (i, p) in pedidos.iter().enumerate() {
            let hecha = suscripciones::suscribir(&admission.convenio, conn, p).map_err(|e| {
                // A refusal of the item names it; the sender_uri and unavailability are the
                // message's.
                match e.code {
                    crate::error::ErrorCode::CallbackNoPermitido => e,
                    _ if e.status() >= 500 => e,
                    _ => e.en_campo(campo_item(i)),
                }
            })?;
            hechas.push(hecha);
        }
        Ok(Suscripciones {
            suscripciones: hechas,
        })
    }
}

/// DCI `unsubscribe`: closes each subscription the message names. An unknown code (or another
/// agreement's, alike: `NO_ENCONTRADO`) or one already closed (`SUSCRIPCION_CERRADA`) refuses
/// the message whole.
pub struct DesuscribirDci;

impl Op for DesuscribirDci {
    const OPERATION: Operation = Operation::Suscripciones;
    const WRITES: bool = true;
    /// The subscriptions' codes, as sent.
    type Request = Vec<String>;
    type Response = Suscripciones;

    fn subjects(_: &Vec<String>) -> Vec<Run> {
        Vec::new()
    }

    fn handle(
        _: &Core,
        admission: &Admission,
        conn: &mut DbConnection,
        codigos: Vec<String>,
    ) -> Result<Suscripciones, ApiError> {
        let mut cerradas: Vec<Suscripcion> = Vec::with_capacity(codigos.len());
        let ahora = store::now_us();
        for codigo in &codigos {
            let fila = suscripciones::leer(&admission.convenio, conn, codigo)?;
            if !store::cerrar(conn, &fila.id, ahora)? {
                return Err(errores::cerrada());
            }
            let fila = suscripciones::leer(&admission.convenio, conn, codigo)?;
            cerradas.push(suscripciones::vista(&fila, 0));
        }
        Ok(Suscripciones {
            suscripciones: cerradas,
        })
    }
}

//! RecepcionLotes (REST `POST /api/v1/lotes/{tipo}`, SOAP RecibirLote): a provider's batch of
//! records (persons, deaths, births, fichas, benefits) applied to the registry exactly once.
//! The batch machinery (reading, staging, applying, the report) is `crate::ops::lotes`; this is the
//! operation's one entry point, which every transport calls.

use std::future::Future;
use std::sync::Arc;

use super::Core;
use crate::broker::{Call, Reply, Service};
use crate::catalog::{Operation, TipoLote};
use crate::error::ApiError;
use crate::ops::lotes::{self, Contenido, Formato, Informe, Recepcion};

/// A batch as its transport announced it, before its content is read.
#[derive(Debug, Clone)]
pub struct Pedido {
    pub tipo: TipoLote,
    pub formato: Formato,
    /// The provider's own batch id, if it gave one (`X-Lote-Id`, SOAP `idLote`).
    pub clave: Option<String>,
    /// `rest` or `soap`, for the batch's provenance.
    pub transporte: &'static str,
}

/// Receives a batch through the broker. Its `contenido` (a body still to be read, or one
/// already in memory) is awaited only once the broker has admitted the request, the agreement
/// grants this kind and has room for one more batch in progress: a refused batch is never read.
/// `None` is a request the transport could not decode; its call carries the input error.
pub async fn recibir<I, R>(
    core: Arc<Core>,
    mut call: Call,
    pedido: Option<Pedido>,
    contenido: R,
) -> Reply<Informe>
where
    I: Contenido,
    R: Future<Output = Result<I, ApiError>> + 'static,
{
    call.service = Service::Op(Operation::RecepcionLotes);
    let broker = core.broker.clone();
    let Some(pedido) = pedido.filter(|_| call.input_error.is_none()) else {
        if call.input_error.is_none() {
            tracing::error!("a batch was not decoded and no error says why");
            call.input_error = Some(ApiError::unavailable());
        }
        // Refused at admission with the call's input error, the content unread.
        return broker
            .call_local::<Informe, _>(call, |_| Err(ApiError::unavailable()))
            .await;
    };
    let tipo = pedido.tipo;
    let recepcion = Recepcion {
        tipo,
        formato: pedido.formato,
        clave: pedido.clave,
        transporte: pedido.transporte,
        id_mensaje: call.message_id.clone(),
        revision: lotes::Revision::de(&broker.modelos),
    };
    let reply = Arc::clone(&broker)
        .call_write_reading(
            call,
            move |admission| lotes::comprobar_tipo(&admission.convenio, tipo),
            contenido,
            recepcion,
        )
        .await;
    if let (Ok(informe), Some(convenio)) = (&reply.result, &reply.convenio)
        && !informe.repetido
    {
        broker.metrics.lote(
            convenio.as_str(),
            &informe.tipo,
            informe.leidos,
            informe.aplicados,
            informe.rechazados,
        );
    }
    reply
}

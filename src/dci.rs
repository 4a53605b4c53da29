//! The DCI (spdci) Social Registry transport (`docs/dci.md`, contract in `schemas/dci/`):
//! `POST /dci/v1/registry/sync/search`, `/sync/txn/status`, `/search` (async), `/subscribe`
//! and `/unsubscribe` on the agency listener, under mutual TLS like `/api/v1`; and the body of
//! a `notify` ([`notificar`]); and the worker that sends an async search's `on-search` callback
//! ([`callback`]). It decodes the DCI envelope, calls the same entry points as REST
//! (a ficha lookup, a batch of them, a transaction's status) and encodes the answer as DCI.
//! It never admits, limits or audits: the broker does, as for every transport.

mod buscar;
pub mod callback;
mod estado;
pub mod grupo;
pub mod notificar;
mod sobre;
pub mod suscribir;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::broker::{Broker, Transport};
use crate::error::ApiError;
pub use crate::error::dci::{Clase, clase};

/// The DCI route table (on the agency listener; the agency listener's 404 and 405 answer
/// anything else, audited).
pub fn routes(cfg: &mut web::ServiceConfig) {
    let resource = |path: &str| web::resource(path).default_service(web::to(metodo_no_permitido));
    cfg.service(
        web::scope("/dci/v1/registry")
            .service(resource("/sync/search").route(web::post().to(buscar::sync_search)))
            .service(resource("/sync/txn/status").route(web::post().to(estado::sync_txn_status)))
            .service(resource("/search").route(web::post().to(buscar::search)))
            .service(resource("/subscribe").route(web::post().to(suscribir::subscribe)))
            .service(resource("/unsubscribe").route(web::post().to(suscribir::unsubscribe))),
    );
}

/// A DCI path asked with another method than POST: refused and audited as DCI.
async fn metodo_no_permitido(req: HttpRequest, broker: web::Data<Broker>) -> HttpResponse {
    let mut call = crate::http::call(&req, Transport::Dci);
    call.input_error = Some(ApiError::metodo_no_permitido());
    let reply = broker
        .into_inner()
        .call_local(call, |_| Ok::<(), ApiError>(()))
        .await;
    let error = reply
        .result
        .err()
        .unwrap_or_else(ApiError::metodo_no_permitido);
    match clase(error.code) {
        Clase::Http(code) => sobre::error_http(&error, code),
        Clase::SinRegistros | Clase::Item(_) | Clase::Encabezado(_) => {
            sobre::error_http(&error, "err.request.bad")
        }
    }
}

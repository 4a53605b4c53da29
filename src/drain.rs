//! Draining: a node told to stop (SIGTERM, `systemctl stop`) first keeps serving for
//! `listen.drain_secs` while its balancer check (`GET /admin/balanceador`) answers 404, so that
//! a balancer (HAProxy's `http-check disable-on-404`) sends it no new connection; each answer
//! it gives meanwhile carries `Connection: close`, so that clients on kept-alive connections
//! open their next one elsewhere. Then it stops as always: no new connection, requests in
//! flight finished and audited.

use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::web;

/// Whether the node is draining. Shared by the listeners and the admin check.
#[derive(Debug, Default)]
pub struct Drain {
    draining: AtomicBool,
}

impl Drain {
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// From now on the balancer check answers 404 and every answer closes its connection.
    pub fn begin(&self) {
        if !self.draining.swap(true, Ordering::Relaxed) {
            tracing::info!(
                "draining: the balancer check answers 404, connections close after each answer"
            );
        }
    }

    /// A response sent while draining closes its connection (HTTP/1.1; an HTTP/2 connection
    /// ends when the node stops).
    pub fn close_if_draining<B>(&self, mut response: ServiceResponse<B>) -> ServiceResponse<B> {
        if self.is_draining() {
            response
                .response_mut()
                .head_mut()
                .set_connection_type(ConnectionType::Close);
        }
        response
    }
}

/// The TLS listeners' middleware (`middleware::from_fn`): while the node drains (the app's
/// `web::Data<Drain>`), every answer closes its connection.
pub async fn close_while_draining(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let drain = req.app_data::<web::Data<Drain>>().cloned();
    let response = next.call(req).await?;
    Ok(match drain {
        Some(drain) => drain.close_if_draining(response),
        None => response,
    })
}

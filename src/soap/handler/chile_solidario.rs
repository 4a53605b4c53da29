//! SOAP operations of the module `chile_solidario` (`crate::modulos::chile_solidario`): decodes the leaves, runs
//! the same operations as REST through the broker, and encodes.

use std::sync::Arc;

use actix_web::HttpResponse;

use super::{Context, unknown};
use crate::broker::Call;
use crate::ops::Core;

/// The operation elements this module answers (`soap::handler::dispatch` sends them here).
pub(super) const OPERACIONES: &[&str] = &[];

pub(super) async fn dispatch(core: Arc<Core>, call: Call, ctx: &Context) -> HttpResponse {
    unknown(core, call, ctx).await
}

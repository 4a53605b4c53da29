//! (to be written)

use actix_web::web;

pub(super) fn routes(_cfg: &mut web::ServiceConfig) {}

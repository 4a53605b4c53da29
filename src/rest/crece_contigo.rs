//! REST routes of the module `crece_contigo` (`crate::modulos::crece_contigo`), under the agency's `/api/v1`.

use actix_web::web;

/// The module's routes, inside the agency scope `/api/v1`.
pub(super) fn rutas(_cfg: &mut web::ServiceConfig) {}

/// The module's part of the OpenAPI document (merged into `openapi::document`).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct Doc;

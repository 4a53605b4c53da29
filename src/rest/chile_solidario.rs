//! REST routes of the module `chile_solidario` (`crate::modulos::chile_solidario`), under the agency's `/api/v1`.

use actix_web::web;

/// The module's routes, inside the agency scope `/api/v1`.
pub(super) fn rutas(_cfg: &mut web::ServiceConfig) {}

/// The module's part of the OpenAPI document (merged into `openapi::document`).
#[derive(utoipa::OpenApi)]
#[openapi()]
pub struct Doc;

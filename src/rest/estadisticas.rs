//! `GET /api/v1/estadisticas?nivel=&region=&comuna=&quintil=` (EstadisticasTerritoriales).

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::error::ApiError;
use crate::ops::estadisticas::{Consulta, EstadisticasTerritoriales, Parametros};
use crate::ops::{self, Core};

/// The query parameters this endpoint reads; any other is refused, so that a misspelt filter
/// is never silently ignored.
const PARAMETROS: [&str; 4] = ["nivel", "region", "comuna", "quintil"];

pub async fn consultar(req: HttpRequest, core: web::Data<Core>) -> HttpResponse {
    let mut call = call(&req, Service::Op(Operation::EstadisticasTerritoriales));
    // Decoded here rather than by an extractor, so that a malformed query is audited too.
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|_| ApiError::solicitud_invalida("malformed query string"));
    let get = |name: &str| {
        query
            .as_ref()
            .ok()
            .and_then(|q| q.get(name))
            .map(String::as_str)
    };
    let unknown = query
        .as_ref()
        .map(|q| q.keys().find(|k| !PARAMETROS.contains(&k.as_str())));
    let parsed = match unknown {
        Err(e) => Err(e.clone()),
        Ok(Some(unknown)) => Err(ApiError::solicitud_invalida(format!(
            "unknown query parameter {:?} (nivel, region, comuna, quintil)",
            unknown.chars().take(20).collect::<String>()
        ))),
        Ok(None) => Consulta::parse(&Parametros {
            nivel: get("nivel"),
            region: get("region"),
            comuna: get("comuna"),
            quintil: get("quintil"),
        }),
    };
    let consulta = match parsed {
        Ok(c) => Some(c),
        Err(e) => {
            call.input_error = Some(e);
            None
        }
    };
    let reply = ops::run::<EstadisticasTerritoriales>(core.into_inner(), call, consulta).await;
    respond(&req, reply)
}

//! Cupos (FijarCupos): `PUT` and `GET /api/v1/cupos/{cut}/{programa}/{anio}`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::support::{call, json_body, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::http::read_body;
use crate::ops::cupos::{Clave, ConsultarCupos, Fijacion, FijarCupos};
use crate::ops::{self, Core};

const CUPOS: Service = Service::Op(Operation::FijarCupos);

/// The body of a `PUT`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Cuerpo {
    cupos: i64,
}

fn clave(path: (String, String, String)) -> Clave {
    let (comuna, programa, anio) = path;
    Clave {
        comuna,
        programa,
        anio,
    }
}

pub async fn fijar(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, CUPOS);
    let body = read_body(payload, &mut call).await;
    let fijacion = json_body::<Cuerpo>(&req, &body, &mut call).map(|c| Fijacion {
        clave: clave(path.into_inner()),
        cupos: Some(c.cupos),
    });
    respond(
        &req,
        ops::run::<FijarCupos>(core.into_inner(), call, fijacion).await,
    )
}

pub async fn consultar(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    core: web::Data<Core>,
) -> HttpResponse {
    let call = call(&req, CUPOS);
    let reply =
        ops::run::<ConsultarCupos>(core.into_inner(), call, Some(clave(path.into_inner()))).await;
    respond(&req, reply)
}

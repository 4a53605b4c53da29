//! Decrees: `POST /api/v1/municipios/{cut}/decretos` (EmitirDecreto, body `{"programa",
//! "periodo"}`), `GET /api/v1/decretos/{folio}` (ConsultarDecreto) and `GET
//! /api/v1/decretos?programa=&periodo=` (ListarDecretos, the headings of a month's decrees).

use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, json_body, query_params, respond};
use crate::broker::Service;
use crate::catalog::Operation;
use crate::error::ApiError;
use crate::http::read_body;
use crate::ops::decreto::{ConsultarDecreto, EmitirDecreto, Lista, ListarDecretos, PedidoDecreto};
use crate::ops::decretos::{FolioDecreto, Periodo};
use crate::ops::{self, Core};

pub async fn emitir(
    req: HttpRequest,
    cut: web::Path<String>,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, Service::Op(Operation::EmitirDecreto));
    let body = read_body(payload, &mut call).await;
    let pedido = json_body::<PedidoDecreto>(&req, &body, &mut call)
        .and_then(|p| p.parse(&cut).map_err(|e| call.input_error = Some(e)).ok());
    respond(
        &req,
        ops::run::<EmitirDecreto>(core.into_inner(), call, pedido).await,
    )
}

pub async fn consultar(
    req: HttpRequest,
    folio: web::Path<String>,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, Service::Op(Operation::ConsultarDecreto));
    let folio = FolioDecreto::parse(&folio);
    if folio.is_none() {
        call.input_error = Some(ApiError::solicitud_invalida(
            "a decree's folio looks like DEC-XXXX-XXXX-XXXX",
        ));
    }
    respond(
        &req,
        ops::run::<ConsultarDecreto>(core.into_inner(), call, folio).await,
    )
}

pub async fn listar(req: HttpRequest, core: web::Data<Core>) -> HttpResponse {
    let mut call = call(&req, Service::Op(Operation::ConsultarDecreto));
    let lista = query_params(&req, &["programa", "periodo"]).and_then(|q| {
        let programa = q.get("programa").ok_or_else(|| {
            ApiError::solicitud_invalida("programa is required (SUF, PASIS or SAP)")
        })?;
        let periodo = q
            .get("periodo")
            .and_then(|p| Periodo::parse(p))
            .ok_or_else(|| {
                ApiError::solicitud_invalida("periodo is required: a month written YYYY-MM")
            })?;
        Ok(Lista {
            programa: programa.trim().to_owned(),
            periodo,
        })
    });
    let lista = lista.map_err(|e| call.input_error = Some(e)).ok();
    respond(
        &req,
        ops::run::<ListarDecretos>(core.into_inner(), call, lista).await,
    )
}

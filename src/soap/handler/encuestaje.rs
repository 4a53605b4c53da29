//! The SolicitudEncuestaje service: SolicitarEncuestaje and ConsultarEncuestaje
//! (SolicitarEncuestaje), ListarEncuestajes and RegistrarEventoEncuestaje (TrabajarEncuestaje).
//! Decodes the leaves, calls the same operations as REST through the broker, and encodes.

use std::sync::Arc;

use actix_web::HttpResponse;

use super::{Context, render, run_at, subject};
use crate::broker::{Broker, Call, Service};
use crate::catalog::Operation;
use crate::error::ApiError;
use crate::ops::encuestaje::estado::EventoEntrada;
use crate::ops::encuestaje::{self, Cola, Encuestaje, Filtro, Solicitud};
use crate::soap::xml::Xml;

pub(super) async fn dispatch(broker: Arc<Broker>, mut call: Call, ctx: &Context) -> HttpResponse {
    let r = &ctx.request;
    let text = |path: &str| r.value(path).map(str::to_owned);
    match ctx.operation.as_str() {
        "SolicitarEncuestaje" => {
            call.service = Service::Op(Operation::SolicitarEncuestaje);
            let run = subject(&mut call, run_at(r, "cuerpo/run"));
            let comuna = match r.value("cuerpo/comuna").map(encuestaje::parse_comuna) {
                Some(Err(e)) => {
                    call.input_error.get_or_insert(e);
                    None
                }
                comuna => comuna.and_then(Result::ok),
            };
            let plazo = broker.config.encuestaje.plazo_dias;
            let reply = broker
                .call_write(call, move |adm, conn| {
                    let run = run.ok_or_else(ApiError::no_encontrado)?;
                    let solicitud = Solicitud { run, comuna };
                    encuestaje::solicitar(&adm.agreement, conn, &solicitud, plazo, adm.today)
                })
                .await;
            render(ctx, reply, write)
        }
        "ConsultarEncuestaje" => {
            call.service = Service::Op(Operation::SolicitarEncuestaje);
            let id = text("cuerpo/id").unwrap_or_default();
            let reply = broker
                .call(call, move |adm, conn| {
                    encuestaje::seguir(&adm.agreement, conn, &id)
                })
                .await;
            render(ctx, reply, write)
        }
        "ListarEncuestajes" => {
            call.service = Service::Op(Operation::TrabajarEncuestaje);
            let comuna = text("cuerpo/comuna").unwrap_or_default();
            let filtro = Filtro::parse(
                r.value("cuerpo/estado"),
                r.value("cuerpo/pagina"),
                r.value("cuerpo/porPagina"),
            )
            .map_err(|e| call.input_error = Some(e))
            .ok();
            let reply = broker
                .call(call, move |adm, conn| {
                    let filtro = filtro.ok_or_else(ApiError::unavailable)?;
                    encuestaje::cola(&adm.agreement, conn, &comuna, &filtro)
                })
                .await;
            render(ctx, reply, write_cola)
        }
        _ => {
            call.service = Service::Op(Operation::TrabajarEncuestaje);
            let id = text("cuerpo/id").unwrap_or_default();
            let puntaje = match r.value("cuerpo/puntaje").map(str::parse::<i64>) {
                Some(Ok(p)) => Some(p),
                // Outside any score's range: the operation refuses it with EVENTO_INVALIDO.
                Some(Err(_)) => Some(i64::MIN),
                None => None,
            };
            let entrada = EventoEntrada {
                evento: text("cuerpo/evento").unwrap_or_default(),
                fecha_visita: text("cuerpo/fechaVisita"),
                motivo: text("cuerpo/motivo"),
                puntaje,
                fecha_aplicacion: text("cuerpo/fechaAplicacion"),
            };
            let reply = broker
                .call_write(call, move |adm, conn| {
                    encuestaje::registrar(&adm.agreement, conn, &id, &entrada, adm.today)
                })
                .await;
            render(ctx, reply, write)
        }
    }
}

fn write(x: &mut Xml, p: &str, e: &Encuestaje) {
    encuestaje_xml(x, p, e);
}

fn write_cola(x: &mut Xml, p: &str, c: &Cola) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("cola"))
        .leaf(&t("comuna"), &c.comuna)
        .opt(&t("estado"), &c.estado)
        .leaf(&t("pagina"), c.pagina)
        .leaf(&t("porPagina"), c.por_pagina)
        .leaf(&t("total"), c.total);
    for e in &c.encuestajes {
        encuestaje_xml(x, p, e);
    }
    x.close(&t("cola"));
}

fn encuestaje_xml(x: &mut Xml, p: &str, e: &Encuestaje) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("encuestaje"))
        .opt(&t("id"), &e.id)
        .run(&t("run"), &e.run);
    if let Some(c) = &e.comuna {
        x.open(&t("comuna"))
            .opt(&t("codigo"), &c.codigo)
            .opt(&t("nombre"), &c.nombre)
            .close(&t("comuna"));
    }
    x.opt(&t("estado"), &e.estado)
        .opt(&t("solicitante"), &e.solicitante)
        .opt(&t("fechaSolicitud"), &e.fecha_solicitud)
        .opt(&t("fechaVencimiento"), &e.fecha_vencimiento)
        .opt(&t("fechaVisita"), &e.fecha_visita)
        .opt(&t("visitasFallidas"), &e.visitas_fallidas)
        .opt(&t("motivoAnulacion"), &e.motivo_anulacion)
        .opt(&t("folio"), &e.folio)
        .opt(&t("puntaje"), &e.puntaje)
        .opt(&t("quintil"), &e.quintil)
        .opt(&t("fechaAplicacion"), &e.fecha_aplicacion)
        .close(&t("encuestaje"));
}

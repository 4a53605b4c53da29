//! The SolicitudEncuestaje service: SolicitarEncuestaje and ConsultarEncuestaje
//! (SolicitarEncuestaje), ListarEncuestajes and RegistrarEventoEncuestaje (TrabajarEncuestaje).
//! Decodes the leaves, calls the same operations as REST through the broker, and encodes.

use std::sync::Arc;

use actix_web::HttpResponse;

use super::{Context, run_at, serve, subject};
use crate::broker::Call;
use crate::ops::Core;
use crate::ops::encuestaje::estado::EventoEntrada;
use crate::ops::encuestaje::{
    self, Cola, ConsultarEncuestaje, Encuestaje, EventoPedido, Filtro, ListarEncuestajes,
    PaginaCola, RegistrarEventoEncuestaje, SolicitarEncuestaje, Solicitud,
};
use crate::soap::parse::Request;
use crate::soap::xml::Xml;

pub(super) async fn dispatch(core: Arc<Core>, call: Call, ctx: &Context) -> HttpResponse {
    match ctx.operation.as_str() {
        "SolicitarEncuestaje" => {
            serve::<SolicitarEncuestaje>(core, call, ctx, decode_solicitud, write).await
        }
        "ConsultarEncuestaje" => {
            serve::<ConsultarEncuestaje>(core, call, ctx, decode_id, write).await
        }
        "ListarEncuestajes" => {
            serve::<ListarEncuestajes>(core, call, ctx, decode_pagina, write_cola).await
        }
        _ => serve::<RegistrarEventoEncuestaje>(core, call, ctx, decode_evento, write).await,
    }
}

fn text(r: &Request, path: &str) -> Option<String> {
    r.value(path).map(str::to_owned)
}

fn decode_solicitud(r: &Request, call: &mut Call) -> Option<Solicitud> {
    let run = subject(call, run_at(r, "cuerpo/run"));
    let comuna = match r.value("cuerpo/comuna").map(encuestaje::parse_comuna) {
        Some(Err(e)) => {
            call.input_error.get_or_insert(e);
            return None;
        }
        comuna => comuna.and_then(Result::ok),
    };
    Some(Solicitud { run: run?, comuna })
}

fn decode_id(r: &Request, _: &mut Call) -> Option<String> {
    Some(text(r, "cuerpo/id").unwrap_or_default())
}

fn decode_pagina(r: &Request, call: &mut Call) -> Option<PaginaCola> {
    let filtro = Filtro::parse(
        r.value("cuerpo/estado"),
        r.value("cuerpo/pagina"),
        r.value("cuerpo/porPagina"),
    )
    .map_err(|e| call.input_error = Some(e))
    .ok()?;
    Some(PaginaCola {
        comuna: text(r, "cuerpo/comuna").unwrap_or_default(),
        filtro,
    })
}

fn decode_evento(r: &Request, _: &mut Call) -> Option<EventoPedido> {
    let puntaje = match r.value("cuerpo/puntaje").map(str::parse::<i64>) {
        Some(Ok(p)) => Some(p),
        // Outside any score's range: the operation refuses it with EVENTO_INVALIDO.
        Some(Err(_)) => Some(i64::MIN),
        None => None,
    };
    Some(EventoPedido {
        id: text(r, "cuerpo/id").unwrap_or_default(),
        entrada: EventoEntrada {
            evento: text(r, "cuerpo/evento").unwrap_or_default(),
            fecha_visita: text(r, "cuerpo/fechaVisita"),
            motivo: text(r, "cuerpo/motivo"),
            puntaje,
            fecha_aplicacion: text(r, "cuerpo/fechaAplicacion"),
        },
    })
}

fn write(x: &mut Xml, p: &str, e: &Encuestaje) {
    crate::soap::encode::elemento(x, p, "encuestaje", e);
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
        write(x, p, e);
    }
    x.close(&t("cola"));
}

//! SOAP operations of the module `crece_contigo`: the ChileCreceContigo service: IngresarSeguimientoChCC, RegistrarEventoChCC
//! (RegistrarSeguimientoChCC), ConsultarSeguimientoChCC, ListarDerivacionesChCC and
//! ResponderDerivacionChCC (GestionarDerivacionChCC). Decodes the leaves into the same requests
//! as REST's JSON, calls the same operations through the broker, and encodes.

use std::sync::Arc;

use actix_web::HttpResponse;
use chrono::NaiveDate;

use super::{Context, run_at, serve, subject};
use crate::broker::Call;
use crate::domain::Run;
use crate::modulos::crece_contigo::{
    ConsultarSeguimiento, DerivacionChCC, DerivacionesChCC, EventoChCCEntrada, EventoPedido,
    Filtro, FiltroEntrada, IngresarSeguimiento, Ingreso, ListarDerivaciones,
    RegistrarEventoSeguimiento, ResponderDerivacion, RespuestaDerivacionEntrada, RespuestaPedido,
    SeguimientoChCC,
};
use crate::ops::Core;
use crate::soap::parse::Request;
use crate::soap::xml::Xml;

pub(super) const OPERACIONES: &[&str] = &[
    "IngresarSeguimientoChCC",
    "RegistrarEventoChCC",
    "ConsultarSeguimientoChCC",
    "ListarDerivacionesChCC",
    "ResponderDerivacionChCC",
];

pub(super) async fn dispatch(core: Arc<Core>, call: Call, ctx: &Context) -> HttpResponse {
    match ctx.operation.as_str() {
        "IngresarSeguimientoChCC" => {
            serve::<IngresarSeguimiento>(core, call, ctx, decode_ingreso, write).await
        }
        "RegistrarEventoChCC" => {
            serve::<RegistrarEventoSeguimiento>(core, call, ctx, decode_evento, write).await
        }
        "ConsultarSeguimientoChCC" => {
            serve::<ConsultarSeguimiento>(core, call, ctx, decode_run, write).await
        }
        "ListarDerivacionesChCC" => {
            serve::<ListarDerivaciones>(core, call, ctx, decode_filtro, write_lista).await
        }
        _ => {
            serve::<ResponderDerivacion>(core, call, ctx, decode_respuesta, write_derivacion).await
        }
    }
}

fn text(r: &Request, path: &str) -> Option<String> {
    r.value(path).map(str::to_owned)
}

fn invalido(call: &mut Call, campo: &str, detail: &str) {
    call.input_error = Some(
        crate::error::ApiError::new(crate::error::ErrorCode::SeguimientoInvalido, detail)
            .en_campo(campo),
    );
}

fn decode_ingreso(r: &Request, call: &mut Call) -> Option<Ingreso> {
    let run = subject(call, run_at(r, "cuerpo/run"))?;
    let Some(semanas) = r.value("cuerpo/semanas").and_then(|s| s.parse().ok()) else {
        invalido(call, "semanas", "semanas is 1 to 42");
        return None;
    };
    let Some(parto) = r
        .value("cuerpo/fechaProbableParto")
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
    else {
        invalido(
            call,
            "fechaProbableParto",
            "fechaProbableParto is a date (AAAA-MM-DD)",
        );
        return None;
    };
    Some(Ingreso {
        run,
        comuna: text(r, "cuerpo/comuna").unwrap_or_default(),
        semanas,
        fecha_probable_parto: parto,
    })
}

fn decode_evento(r: &Request, call: &mut Call) -> Option<EventoPedido> {
    let fecha = match r.value("cuerpo/fecha") {
        None => None,
        Some(f) => match NaiveDate::parse_from_str(f, "%Y-%m-%d") {
            Ok(f) => Some(f),
            Err(_) => {
                invalido(call, "fecha", "fecha is a date (AAAA-MM-DD)");
                return None;
            }
        },
    };
    let run_nino = r
        .leaves
        .iter()
        .any(|(p, _)| p == "cuerpo/runNino")
        .then(|| {
            let part = |p: &str| {
                r.value(&format!("cuerpo/runNino/{p}"))
                    .unwrap_or("")
                    .to_owned()
            };
            format!("{}-{}", part("numero"), part("dv"))
        });
    let entrada = EventoChCCEntrada {
        evento: text(r, "cuerpo/evento").unwrap_or_default(),
        fecha,
        tipo: text(r, "cuerpo/tipo"),
        resultado: text(r, "cuerpo/resultado"),
        codigo: text(r, "cuerpo/codigo"),
        prestacion: text(r, "cuerpo/prestacion"),
        sector: text(r, "cuerpo/sector"),
        alerta: text(r, "cuerpo/alerta"),
        run_nino,
        motivo: text(r, "cuerpo/motivo"),
    };
    EventoPedido::parse(text(r, "cuerpo/id").unwrap_or_default(), entrada)
        .map_err(|e| call.input_error = Some(e))
        .ok()
}

fn decode_run(r: &Request, call: &mut Call) -> Option<Run> {
    subject(call, run_at(r, "cuerpo/run"))
}

fn decode_filtro(r: &Request, call: &mut Call) -> Option<Filtro> {
    FiltroEntrada {
        sector: text(r, "cuerpo/sector"),
        estado: text(r, "cuerpo/estado"),
        comuna: text(r, "cuerpo/comuna"),
        pagina: text(r, "cuerpo/pagina"),
        por_pagina: text(r, "cuerpo/porPagina"),
    }
    .parse()
    .map_err(|e| call.input_error = Some(e))
    .ok()
}

fn decode_respuesta(r: &Request, _: &mut Call) -> Option<RespuestaPedido> {
    Some(RespuestaPedido {
        id: text(r, "cuerpo/id").unwrap_or_default(),
        entrada: RespuestaDerivacionEntrada {
            evento: text(r, "cuerpo/evento").unwrap_or_default(),
            motivo: text(r, "cuerpo/motivo"),
        },
    })
}

fn write(x: &mut Xml, p: &str, v: &SeguimientoChCC) {
    crate::soap::encode::elemento(x, p, "seguimiento", v);
}

fn write_derivacion(x: &mut Xml, p: &str, v: &DerivacionChCC) {
    crate::soap::encode::elemento(x, p, "derivacion", v);
}

fn write_lista(x: &mut Xml, p: &str, l: &DerivacionesChCC) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("lista"));
    for s in &l.sectores {
        x.leaf(&t("sector"), s);
    }
    x.opt(&t("estado"), &l.estado)
        .opt(&t("comuna"), &l.comuna)
        .leaf(&t("pagina"), l.pagina)
        .leaf(&t("porPagina"), l.por_pagina)
        .leaf(&t("total"), l.total);
    for d in &l.derivaciones {
        write_derivacion(x, p, d);
    }
    x.close(&t("lista"));
}

//! The RegistroEmergencias service (docs/emergencias.md): DeclararEmergencia,
//! ConsultarEmergencia, ListarEmergencias and CerrarEmergencia (DeclararEmergencia);
//! RegistrarHogarDamnificado, RegistrarAyuda, ConsultarHogarDamnificado and
//! ListarHogaresDamnificados (RegistrarDamnificados); InformeEmergencia. Decodes the leaves,
//! calls the same operations as REST through the broker, and encodes.

use std::sync::Arc;

use actix_web::HttpResponse;

use super::{Context, serve};
use crate::broker::Call;
use crate::modulos::emergencias::{
    self as em, AyudaEntrada, CerrarEmergencia, CierreEntrada, ClaveRegistro, ConsultarEmergencia,
    ConsultarRegistro, DeclaracionEntrada, Declarar, Emergencias, HogarEntrada, Informe,
    ListarEmergencias, ListarRegistros, PaginaRegistros, PedidoAyuda, PedidoCierre, PedidoHogar,
    PedidoInforme, RegistrarAyuda, RegistrarHogar, RegistrosDamnificados,
};
use crate::ops::Core;
use crate::soap::encode::{self, como};
use crate::soap::parse::Request;
use crate::soap::xml::Xml;

/// The operation elements this module answers (`soap::handler::dispatch` sends them here).
pub(in crate::soap) const OPERACIONES: &[&str] = &[
    "DeclararEmergencia",
    "ConsultarEmergencia",
    "ListarEmergencias",
    "CerrarEmergencia",
    "RegistrarHogarDamnificado",
    "RegistrarAyuda",
    "ConsultarHogarDamnificado",
    "ListarHogaresDamnificados",
    "InformeEmergencia",
];

pub(super) async fn dispatch(core: Arc<Core>, call: Call, ctx: &Context) -> HttpResponse {
    let emergencia = como("emergencia");
    let registro = como("registro");
    match ctx.operation.as_str() {
        "DeclararEmergencia" => {
            serve::<Declarar>(core, call, ctx, decode_declaracion, emergencia).await
        }
        "ConsultarEmergencia" => {
            serve::<ConsultarEmergencia>(core, call, ctx, decode_id, emergencia).await
        }
        "ListarEmergencias" => {
            serve::<ListarEmergencias>(core, call, ctx, decode_estado, write_emergencias).await
        }
        "CerrarEmergencia" => {
            serve::<CerrarEmergencia>(core, call, ctx, decode_cierre, emergencia).await
        }
        "RegistrarHogarDamnificado" => {
            serve::<RegistrarHogar>(core, call, ctx, decode_hogar, registro).await
        }
        "RegistrarAyuda" => serve::<RegistrarAyuda>(core, call, ctx, decode_ayuda, registro).await,
        "ConsultarHogarDamnificado" => {
            serve::<ConsultarRegistro>(core, call, ctx, decode_clave, registro).await
        }
        "ListarHogaresDamnificados" => {
            serve::<ListarRegistros>(core, call, ctx, decode_pagina, write_registros).await
        }
        _ => serve::<Informe>(core, call, ctx, decode_informe, como("informe")).await,
    }
}

fn text(r: &Request, path: &str) -> Option<String> {
    r.value(path).map(str::to_owned)
}

/// Every value of a repeated leaf, in order.
fn all(r: &Request, path: &str) -> Vec<String> {
    r.leaves
        .iter()
        .filter(|(p, _)| p == path)
        .map(|(_, v)| v.clone())
        .collect()
}

/// A whole number as sent; anything else is 0, which every count refuses
/// (`EMERGENCIA_INVALIDA`, as REST's out-of-range numbers).
fn number(r: &Request, path: &str) -> u32 {
    r.value(path)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn decode_declaracion(r: &Request, _: &mut Call) -> Option<DeclaracionEntrada> {
    Some(DeclaracionEntrada {
        nombre: text(r, "cuerpo/nombre").unwrap_or_default(),
        tipo: text(r, "cuerpo/tipo").unwrap_or_default(),
        comunas: all(r, "cuerpo/comunas/comuna"),
        fecha_inicio: text(r, "cuerpo/fechaInicio"),
    })
}

fn decode_id(r: &Request, _: &mut Call) -> Option<String> {
    Some(text(r, "cuerpo/id").unwrap_or_default())
}

fn decode_estado(r: &Request, call: &mut Call) -> Option<Option<&'static str>> {
    em::estado(r.value("cuerpo/estado"))
        .map_err(|e| call.input_error = Some(e))
        .ok()
}

fn decode_cierre(r: &Request, _: &mut Call) -> Option<PedidoCierre> {
    Some(PedidoCierre {
        id: text(r, "cuerpo/id").unwrap_or_default(),
        entrada: CierreEntrada {
            fecha_termino: text(r, "cuerpo/fechaTermino"),
        },
    })
}

/// The household as REST's JSON would carry it, then the same checks ([`PedidoHogar::parse`]).
fn decode_hogar(r: &Request, call: &mut Call) -> Option<PedidoHogar> {
    let run = format!(
        "{}-{}",
        r.value("cuerpo/run/numero").unwrap_or(""),
        r.value("cuerpo/run/dv").unwrap_or("")
    );
    let entrada = HogarEntrada {
        run,
        integrantes: number(r, "cuerpo/integrantes"),
        comuna_origen: text(r, "cuerpo/comunaOrigen").unwrap_or_default(),
        comuna_destino: text(r, "cuerpo/comunaDestino").unwrap_or_default(),
        alojamiento: text(r, "cuerpo/alojamiento").unwrap_or_default(),
        dano: text(r, "cuerpo/dano").unwrap_or_default(),
        necesidades: all(r, "cuerpo/necesidad"),
    };
    PedidoHogar::parse(text(r, "cuerpo/emergencia").unwrap_or_default(), entrada)
        .map_err(|e| call.input_error = Some(e))
        .ok()
}

fn decode_ayuda(r: &Request, _: &mut Call) -> Option<PedidoAyuda> {
    Some(PedidoAyuda {
        emergencia: text(r, "cuerpo/emergencia").unwrap_or_default(),
        registro: text(r, "cuerpo/registro").unwrap_or_default(),
        entrada: AyudaEntrada {
            tipo: text(r, "cuerpo/tipo").unwrap_or_default(),
            cantidad: number(r, "cuerpo/cantidad"),
            fecha: text(r, "cuerpo/fecha"),
        },
    })
}

fn decode_clave(r: &Request, _: &mut Call) -> Option<ClaveRegistro> {
    Some(ClaveRegistro {
        emergencia: text(r, "cuerpo/emergencia").unwrap_or_default(),
        registro: text(r, "cuerpo/registro").unwrap_or_default(),
    })
}

fn decode_pagina(r: &Request, call: &mut Call) -> Option<PaginaRegistros> {
    let pagina = em::pagina(r.value("cuerpo/pagina"), r.value("cuerpo/porPagina"))
        .map_err(|e| call.input_error = Some(e))
        .ok()?;
    Some(PaginaRegistros {
        emergencia: text(r, "cuerpo/emergencia").unwrap_or_default(),
        pagina,
    })
}

fn decode_informe(r: &Request, call: &mut Call) -> Option<PedidoInforme> {
    let nivel = em::nivel(r.value("cuerpo/nivel"))
        .map_err(|e| call.input_error = Some(e))
        .ok()?;
    Some(PedidoInforme {
        emergencia: text(r, "cuerpo/emergencia").unwrap_or_default(),
        nivel,
    })
}

fn write_emergencias(x: &mut Xml, p: &str, l: &Emergencias) {
    let t = format!("{p}:lista");
    x.open(&t);
    for e in &l.emergencias {
        encode::elemento(x, p, "emergencia", e);
    }
    x.close(&t);
}

fn write_registros(x: &mut Xml, p: &str, l: &RegistrosDamnificados) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("lista"))
        .leaf(&t("emergencia"), &l.emergencia)
        .leaf(&t("pagina"), l.pagina)
        .leaf(&t("porPagina"), l.por_pagina)
        .leaf(&t("total"), l.total);
    for v in &l.registros {
        encode::elemento(x, p, "registro", v);
    }
    x.close(&t("lista"));
}

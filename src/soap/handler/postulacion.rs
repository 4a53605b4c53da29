//! The PostulacionBeneficios service: Postular, ConsultarPostulacion, ListarPostulaciones and
//! RegistrarEventoPostulacion (PostularBeneficio), FijarCupos and ConsultarCupos (FijarCupos).
//! Decodes the leaves, calls the same
//! operations as REST through the broker, and encodes.

use std::sync::Arc;

use actix_web::HttpResponse;

use super::{Context, serve};
use crate::broker::Call;
use crate::ops::Core;
use crate::ops::cupos::{Clave, ConsultarCupos, Fijacion, FijarCupos};
use crate::ops::postulacion::{
    CausanteEntrada, ConsultarPostulacion, EventoEntrada, EventoPedido, Filtro,
    ListarPostulaciones, PaginaLista, Pedido, PedidoEntrada, Postulacion, Postulaciones, Postular,
    RegistrarEventoPostulacion,
};
use crate::soap::parse::Request;
use crate::soap::xml::Xml;

pub(super) async fn dispatch(core: Arc<Core>, call: Call, ctx: &Context) -> HttpResponse {
    match ctx.operation.as_str() {
        "Postular" => serve::<Postular>(core, call, ctx, decode_pedido, write).await,
        "ConsultarPostulacion" => {
            serve::<ConsultarPostulacion>(core, call, ctx, decode_id, write).await
        }
        "ListarPostulaciones" => {
            serve::<ListarPostulaciones>(core, call, ctx, decode_pagina, write_lista).await
        }
        _ => serve::<RegistrarEventoPostulacion>(core, call, ctx, decode_evento, write).await,
    }
}

fn text(r: &Request, path: &str) -> Option<String> {
    r.value(path).map(str::to_owned)
}

/// The request as REST's JSON would carry it, then the same checks ([`PedidoEntrada::parse`]).
fn decode_pedido(r: &Request, call: &mut Call) -> Option<Pedido> {
    let run = |numero: &str, dv: &str| format!("{numero}-{dv}");
    let mut causantes = Vec::new();
    let (mut numero, mut dv, mut tipo) = (String::new(), String::new(), String::new());
    for (path, value) in &r.leaves {
        match path.as_str() {
            "cuerpo/causantes/causante/run/numero" => numero = value.clone(),
            "cuerpo/causantes/causante/run/dv" => dv = value.clone(),
            "cuerpo/causantes/causante/tipo" => tipo = value.clone(),
            "cuerpo/causantes/causante" => causantes.push(CausanteEntrada {
                run: run(&std::mem::take(&mut numero), &std::mem::take(&mut dv)),
                tipo: std::mem::take(&mut tipo),
            }),
            _ => {}
        }
    }
    let entrada = PedidoEntrada {
        run: run(
            r.value("cuerpo/run/numero").unwrap_or(""),
            r.value("cuerpo/run/dv").unwrap_or(""),
        ),
        programa: text(r, "cuerpo/programa").unwrap_or_default(),
        causantes,
    };
    entrada
        .parse(&mut call.subjects)
        .map_err(|e| call.input_error = Some(e))
        .ok()
}

fn decode_id(r: &Request, _: &mut Call) -> Option<String> {
    Some(text(r, "cuerpo/id").unwrap_or_default())
}

fn decode_pagina(r: &Request, call: &mut Call) -> Option<PaginaLista> {
    let filtro = Filtro::parse(
        r.value("cuerpo/programa"),
        r.value("cuerpo/estado"),
        r.value("cuerpo/pagina"),
        r.value("cuerpo/porPagina"),
    )
    .map_err(|e| call.input_error = Some(e))
    .ok()?;
    Some(PaginaLista {
        comuna: text(r, "cuerpo/comuna").unwrap_or_default(),
        filtro,
    })
}

fn decode_evento(r: &Request, _: &mut Call) -> Option<EventoPedido> {
    Some(EventoPedido {
        id: text(r, "cuerpo/id").unwrap_or_default(),
        entrada: EventoEntrada {
            evento: text(r, "cuerpo/evento").unwrap_or_default(),
            motivo: text(r, "cuerpo/motivo"),
        },
    })
}

fn write(x: &mut Xml, p: &str, v: &Postulacion) {
    crate::soap::encode::elemento(x, p, "postulacion", v);
}

fn write_lista(x: &mut Xml, p: &str, l: &Postulaciones) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("lista"))
        .leaf(&t("comuna"), &l.comuna)
        .opt(&t("programa"), &l.programa)
        .opt(&t("estado"), &l.estado)
        .leaf(&t("pagina"), l.pagina)
        .leaf(&t("porPagina"), l.por_pagina)
        .leaf(&t("total"), l.total);
    for v in &l.postulaciones {
        write(x, p, v);
    }
    x.close(&t("lista"));
}

/// FijarCupos and ConsultarCupos, in the same service.
pub(super) async fn dispatch_cupos(core: Arc<Core>, call: Call, ctx: &Context) -> HttpResponse {
    let encode = crate::soap::encode::como("cupos");
    match ctx.operation.as_str() {
        "FijarCupos" => serve::<FijarCupos>(core, call, ctx, decode_fijacion, encode).await,
        _ => serve::<ConsultarCupos>(core, call, ctx, decode_clave, encode).await,
    }
}

fn clave(r: &Request) -> Clave {
    Clave {
        comuna: text(r, "cuerpo/comuna").unwrap_or_default(),
        programa: text(r, "cuerpo/programa").unwrap_or_default(),
        anio: text(r, "cuerpo/anio").unwrap_or_default(),
    }
}

fn decode_clave(r: &Request, _: &mut Call) -> Option<Clave> {
    Some(clave(r))
}

fn decode_fijacion(r: &Request, _: &mut Call) -> Option<Fijacion> {
    Some(Fijacion {
        clave: clave(r),
        // Not a whole number: out of range, refused with CUPOS_INVALIDOS like REST's.
        cupos: r.value("cuerpo/cupos").and_then(|c| c.parse().ok()),
    })
}

//! The ChileSolidario service: IngresarFamiliaCHS, ConsultarParticipacionCHSPorId,
//! ListarParticipacionesCHS and RegistrarEventoCHS (TrabajarParticipacionCHS), and
//! ConsultarParticipacionCHS. Decodes the leaves, calls the same operations as REST through
//! the broker, and encodes.

use std::sync::Arc;

use actix_web::HttpResponse;

use super::{Context, run_at, serve, subject};
use crate::broker::Call;
use crate::domain::Run;
use crate::modulos::chile_solidario::{
    ConsultarParticipacionCHS, ConsultarParticipacionCHSPorId, EventoEntrada, EventoPedido, Filtro,
    IngresarFamiliaCHS, Ingreso, IngresoEntrada, ListaParticipacionesChs, ListarParticipacionesCHS,
    PaginaLista, ParticipacionChs, ParticipacionesChs, RegistrarEventoCHS,
};
use crate::ops::Core;
use crate::soap::encode;
use crate::soap::parse::Request;
use crate::soap::xml::Xml;

pub(super) const OPERACIONES: &[&str] = &[
    "IngresarFamiliaCHS",
    "ConsultarParticipacionCHSPorId",
    "ListarParticipacionesCHS",
    "RegistrarEventoCHS",
    "ConsultarParticipacionCHS",
];

pub(super) async fn dispatch(core: Arc<Core>, call: Call, ctx: &Context) -> HttpResponse {
    let una = encode::como::<ParticipacionChs>("participacion");
    match ctx.operation.as_str() {
        "IngresarFamiliaCHS" => {
            serve::<IngresarFamiliaCHS>(core, call, ctx, decode_ingreso, una).await
        }
        "ConsultarParticipacionCHSPorId" => {
            serve::<ConsultarParticipacionCHSPorId>(core, call, ctx, decode_id, una).await
        }
        "ListarParticipacionesCHS" => {
            serve::<ListarParticipacionesCHS>(core, call, ctx, decode_pagina, write_lista).await
        }
        "RegistrarEventoCHS" => {
            serve::<RegistrarEventoCHS>(core, call, ctx, decode_evento, una).await
        }
        _ => serve::<ConsultarParticipacionCHS>(core, call, ctx, decode_run, write_todas).await,
    }
}

fn text(r: &Request, path: &str) -> Option<String> {
    r.value(path).map(str::to_owned)
}

/// The ingreso as REST's JSON would carry it, then the same checks ([`IngresoEntrada::parse`]).
fn decode_ingreso(r: &Request, call: &mut Call) -> Option<Ingreso> {
    let entrada = IngresoEntrada {
        run: format!(
            "{}-{}",
            r.value("cuerpo/run/numero").unwrap_or(""),
            r.value("cuerpo/run/dv").unwrap_or("")
        ),
        programa: text(r, "cuerpo/programa").unwrap_or_default(),
        apoyo_familiar: text(r, "cuerpo/apoyoFamiliar").unwrap_or_default(),
        fecha_ingreso: text(r, "cuerpo/fechaIngreso"),
    };
    entrada
        .parse(&mut call.subjects)
        .map_err(|e| call.input_error = Some(e))
        .ok()
}

fn decode_id(r: &Request, _: &mut Call) -> Option<String> {
    Some(text(r, "cuerpo/id").unwrap_or_default())
}

fn decode_run(r: &Request, call: &mut Call) -> Option<Run> {
    subject(call, run_at(r, "cuerpo/run"))
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
            fecha: text(r, "cuerpo/fecha"),
            tipo: text(r, "cuerpo/tipo"),
            condicion: text(r, "cuerpo/condicion"),
            estado: text(r, "cuerpo/estado"),
            motivo: text(r, "cuerpo/motivo"),
        },
    })
}

fn write_todas(x: &mut Xml, p: &str, t: &ParticipacionesChs) {
    x.open(&format!("{p}:participaciones"));
    for v in &t.participaciones {
        encode::elemento(x, p, "participacion", v);
    }
    x.close(&format!("{p}:participaciones"));
}

fn write_lista(x: &mut Xml, p: &str, l: &ListaParticipacionesChs) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("lista"))
        .leaf(&t("comuna"), &l.comuna)
        .opt(&t("programa"), &l.programa)
        .opt(&t("estado"), &l.estado)
        .leaf(&t("pagina"), l.pagina)
        .leaf(&t("porPagina"), l.por_pagina)
        .leaf(&t("total"), l.total);
    for v in &l.participaciones {
        encode::elemento(x, p, "participacion", v);
    }
    x.close(&t("lista"));
}

//! The Suscripciones service: Suscribir, ListarSuscripciones, Desuscribir and LeerEventos.
//! Decodes the leaves into what REST's JSON and query carry, calls the same operations through
//! the broker, and encodes.

use std::sync::Arc;

use actix_web::HttpResponse;
use chrono::SecondsFormat;

use super::{Context, serve};
use crate::broker::Call;
use crate::ops::Core;
use crate::ops::suscripciones::{
    Desuscribir, Eventos, Lectura, LeerEventos, ListarSuscripciones, Pedido, Suscribir,
    Suscripcion, SuscripcionEntrada, Suscripciones,
};
use crate::soap::parse::Request;
use crate::soap::xml::Xml;

pub(super) async fn dispatch(core: Arc<Core>, call: Call, ctx: &Context) -> HttpResponse {
    match ctx.operation.as_str() {
        "Suscribir" => serve::<Suscribir>(core, call, ctx, decode_pedido, write).await,
        "ListarSuscripciones" => {
            serve::<ListarSuscripciones>(core, call, ctx, |_, _| Some(()), write_lista).await
        }
        "Desuscribir" => serve::<Desuscribir>(core, call, ctx, decode_id, write).await,
        _ => serve::<LeerEventos>(core, call, ctx, decode_lectura, write_eventos).await,
    }
}

/// The request as REST's JSON would carry it, then the same checks
/// ([`SuscripcionEntrada::parse`]).
fn decode_pedido(r: &Request, call: &mut Call) -> Option<Pedido> {
    let mut tipos = Vec::new();
    let mut runs = Vec::new();
    let (mut numero, mut dv) = (String::new(), String::new());
    for (path, value) in &r.leaves {
        match path.as_str() {
            "cuerpo/tipos/tipo" => tipos.push(value.clone()),
            "cuerpo/runs/run/numero" => numero = value.clone(),
            "cuerpo/runs/run/dv" => dv = value.clone(),
            "cuerpo/runs/run" => runs.push(format!(
                "{}-{}",
                std::mem::take(&mut numero),
                std::mem::take(&mut dv)
            )),
            _ => {}
        }
    }
    let con_lista = r.leaves.iter().any(|(p, _)| p == "cuerpo/runs");
    let entrada = SuscripcionEntrada {
        tipos,
        entrega: r.value("cuerpo/entrega").unwrap_or_default().to_owned(),
        url: r.value("cuerpo/url").map(str::to_owned),
        formato: r.value("cuerpo/formato").map(str::to_owned),
        runs: (con_lista || !runs.is_empty()).then_some(runs),
    };
    entrada
        .parse(&mut call.subjects)
        .map_err(|e| call.input_error = Some(e))
        .ok()
}

fn decode_id(r: &Request, _: &mut Call) -> Option<String> {
    Some(r.value("cuerpo/id").unwrap_or_default().to_owned())
}

fn decode_lectura(r: &Request, call: &mut Call) -> Option<Lectura> {
    Lectura::parse(
        r.value("cuerpo/id").unwrap_or_default(),
        r.value("cuerpo/despues"),
        r.value("cuerpo/limite"),
    )
    .map_err(|e| call.input_error = Some(e))
    .ok()
}

fn suscripcion(x: &mut Xml, p: &str, s: &Suscripcion) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("suscripcion")).leaf(&t("id"), &s.id);
    x.open(&t("tipos"));
    for tipo in &s.tipos {
        x.leaf(&t("tipo"), tipo);
    }
    x.close(&t("tipos"))
        .leaf(&t("entrega"), &s.entrega)
        .opt(&t("url"), &s.url)
        .leaf(&t("formato"), &s.formato)
        .leaf(&t("runs"), s.runs)
        .leaf(&t("estado"), &s.estado)
        .leaf(&t("ultimaSecuencia"), s.ultima_secuencia)
        .opt(
            &t("creada"),
            &s.creada
                .map(|c| c.to_rfc3339_opts(SecondsFormat::Secs, true)),
        )
        .opt(
            &t("cerrada"),
            &s.cerrada
                .map(|c| c.to_rfc3339_opts(SecondsFormat::Secs, true)),
        )
        .close(&t("suscripcion"));
}

fn write(x: &mut Xml, p: &str, s: &Suscripcion) {
    suscripcion(x, p, s);
}

fn write_lista(x: &mut Xml, p: &str, l: &Suscripciones) {
    x.open(&format!("{p}:suscripciones"));
    for s in &l.suscripciones {
        suscripcion(x, p, s);
    }
    x.close(&format!("{p}:suscripciones"));
}

fn write_eventos(x: &mut Xml, p: &str, e: &Eventos) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("eventos"))
        .leaf(&t("suscripcion"), &e.suscripcion)
        .leaf(&t("despues"), e.despues)
        .leaf(&t("hasta"), e.hasta);
    for n in &e.notificaciones {
        crate::soap::encode::elemento(x, p, "notificacion", n);
    }
    x.close(&t("eventos"));
}

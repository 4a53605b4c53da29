//! The RecepcionLotes service: RecibirLote carries a provider batch inline (base64 CSV or XML,
//! within the 1 MiB SOAP body limit) and answers the same report, with the same exactly-once
//! semantics, as `POST /api/v1/lotes/{tipo}`.

use std::sync::Arc;

use actix_web::HttpResponse;
use base64::Engine;

use super::{Context, render};
use crate::broker::Call;
use crate::catalog::TipoLote;
use crate::error::ApiError;
use crate::ops::Core;
use crate::ops::lotes::{Formato, Informe};
use crate::ops::recepcion::{self, Pedido};
use crate::soap::parse::Request;
use crate::soap::xml::Xml;

pub(super) async fn dispatch(core: Arc<Core>, mut call: Call, ctx: &Context) -> HttpResponse {
    let (pedido, contenido) = match decode(&ctx.request, &mut call) {
        Some((pedido, contenido)) => (Some(pedido), contenido),
        None => (None, Vec::new()),
    };
    let reply = recepcion::recibir(core, call, pedido, async move { Ok(contenido) }).await;
    render(ctx, reply, write)
}

/// The batch's kind, format and id, and its content decoded from base64.
fn decode(r: &Request, call: &mut Call) -> Option<(Pedido, Vec<u8>)> {
    let tipo = TipoLote::from_request(r.value("cuerpo/tipo").unwrap_or("").trim())
        .map_err(|e| call.input_error.get_or_insert(e).clone())
        .ok();
    let formato = Formato::parse(r.value("cuerpo/formato").unwrap_or("").trim());
    if formato.is_none() {
        call.input_error
            .get_or_insert(ApiError::xml_invalido("formato must be csv or xml"));
    }
    let contenido: Vec<u8> = r
        .value("cuerpo/contenido")
        .unwrap_or("")
        .bytes()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let contenido = match base64::engine::general_purpose::STANDARD.decode(&contenido) {
        Ok(bytes) => Some(bytes),
        Err(_) => {
            call.input_error.get_or_insert(ApiError::xml_invalido(
                "contenido must be the batch file in base64",
            ));
            None
        }
    };
    let pedido = Pedido {
        tipo: tipo?,
        formato: formato?,
        clave: r.value("cuerpo/idLote").map(str::to_owned),
        transporte: "soap",
    };
    Some((pedido, contenido?))
}

fn write(x: &mut Xml, p: &str, i: &Informe) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("informe"))
        .leaf(&t("lote"), i.lote)
        .leaf(&t("convenio"), &i.convenio)
        .leaf(&t("tipo"), &i.tipo)
        .leaf(&t("formato"), &i.formato)
        .leaf(&t("clave"), &i.clave)
        .leaf(&t("sha256"), &i.sha256)
        .leaf(&t("leidos"), i.leidos)
        .leaf(&t("aplicados"), i.aplicados)
        .leaf(&t("rechazados"), i.rechazados);
    for r in &i.rechazos {
        x.open(&t("rechazo"))
            .leaf(&t("linea"), r.linea)
            .leaf(&t("codigo"), &r.codigo)
            .leaf(&t("motivo"), &r.motivo)
            .close(&t("rechazo"));
    }
    x.leaf(&t("rechazosOmitidos"), i.rechazos_omitidos);
    for aviso in &i.avisos {
        x.leaf(&t("aviso"), aviso);
    }
    x.leaf(
        &t("recibido"),
        i.recibido
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    )
    .leaf(
        &t("aplicado"),
        i.aplicado
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
    )
    .leaf(&t("repetido"), i.repetido)
    .close(&t("informe"));
}

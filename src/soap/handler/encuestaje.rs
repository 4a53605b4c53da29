//! The SolicitudEncuestaje service: SolicitarEncuestaje and ConsultarEncuestaje
//! (SolicitarEncuestaje), ListarEncuestajes and RegistrarEventoEncuestaje (TrabajarEncuestaje).
//! Decodes the leaves, calls the same operations as REST through the broker, and encodes.

use std::sync::Arc;

use actix_web::HttpResponse;

use super::{Context, run_at, serve, subject};
use crate::broker::Call;
use crate::ops::Core;
use crate::ops::encuestaje::cuestionario::{EncuestaEntrada, IntegranteEntrada, ViviendaEntrada};
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
    Some(EventoPedido {
        id: text(r, "cuerpo/id").unwrap_or_default(),
        entrada: EventoEntrada {
            evento: text(r, "cuerpo/evento").unwrap_or_default(),
            fecha_visita: text(r, "cuerpo/fechaVisita"),
            motivo: text(r, "cuerpo/motivo"),
            puntaje: numero(r.value("cuerpo/puntaje")),
            fecha_aplicacion: text(r, "cuerpo/fechaAplicacion"),
            modelo: text(r, "cuerpo/modelo"),
            encuesta: decode_encuesta(r),
        },
    })
}

/// A whole number; one that is not is kept out of every range, so that the operation refuses
/// it naming its field.
fn numero(text: Option<&str>) -> Option<i64> {
    text.map(|t| t.trim().parse::<i64>().unwrap_or(i64::MIN))
}

/// `xs:boolean`; anything else is as if absent (the operation says it is required).
fn booleano(text: Option<&str>) -> Option<bool> {
    match text.map(str::trim) {
        Some("true" | "1") => Some(true),
        Some("false" | "0") => Some(false),
        _ => None,
    }
}

const ENCUESTA: &str = "cuerpo/encuesta";
const INTEGRANTE: &str = "cuerpo/encuesta/integrantes/integrante";

/// The questionnaire under `cuerpo/encuesta`: its leaves, and each `integrante` in document
/// order (the end of each `integrante` element closes one member).
fn decode_encuesta(r: &Request) -> Option<EncuestaEntrada> {
    let present = r
        .leaves
        .iter()
        .any(|(p, _)| p == ENCUESTA || p.starts_with("cuerpo/encuesta/"));
    if !present {
        return None;
    }
    let vivienda_present = r
        .leaves
        .iter()
        .any(|(p, _)| p.starts_with("cuerpo/encuesta/vivienda"));
    let mut integrantes = Vec::new();
    let mut actual: Vec<(&str, &str)> = Vec::new();
    for (path, value) in &r.leaves {
        if path == INTEGRANTE {
            integrantes.push(integrante(&actual));
            actual.clear();
        } else if let Some(leaf) = path
            .strip_prefix(INTEGRANTE)
            .and_then(|p| p.strip_prefix('/'))
        {
            actual.push((leaf, value.as_str()));
        }
    }
    Some(EncuestaEntrada {
        direccion: text(r, "cuerpo/encuesta/direccion"),
        zona: text(r, "cuerpo/encuesta/zona"),
        vivienda: vivienda_present.then(|| ViviendaEntrada {
            tenencia: text(r, "cuerpo/encuesta/vivienda/tenencia"),
            agua: text(r, "cuerpo/encuesta/vivienda/agua"),
            saneamiento: text(r, "cuerpo/encuesta/vivienda/saneamiento"),
            piezas: numero(r.value("cuerpo/encuesta/vivienda/piezas")),
        }),
        integrantes,
    })
}

fn integrante(leaves: &[(&str, &str)]) -> IntegranteEntrada {
    let get = |name: &str| {
        leaves
            .iter()
            .find(|(p, v)| *p == name && !v.is_empty())
            .map(|(_, v)| *v)
    };
    let owned = |name: &str| get(name).map(str::to_owned);
    // t:Run: numero and dv apart, joined as REST sends it (`numero-dv`).
    let run = match (get("run/numero"), get("run/dv")) {
        (None, None) => None,
        (numero, dv) => Some(format!("{}-{}", numero.unwrap_or(""), dv.unwrap_or(""))),
    };
    IntegranteEntrada {
        run,
        parentesco: owned("parentesco"),
        escolaridad_anios: numero(get("escolaridadAnios")),
        asiste_educacion: booleano(get("asisteEducacion")),
        salud: owned("salud"),
        actividad: owned("actividad"),
        ingreso_trabajo: numero(get("ingresoTrabajo")),
        ingreso_pensiones: numero(get("ingresoPensiones")),
        ingreso_otros: numero(get("ingresoOtros")),
    }
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

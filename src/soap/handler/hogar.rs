//! The ActualizacionHogar service: ConsultarHogar and RegistrarEventoHogar (ActualizarHogar).
//! Decodes the leaves, calls the same operations as REST through the broker, and encodes.

use std::sync::Arc;

use actix_web::HttpResponse;

use super::{Context, run_at, serve, subject};
use crate::broker::Call;
use crate::domain::Run;
use crate::ops::Core;
use crate::ops::hogar::evento::{EventoEntrada, runs_nombrados};
use crate::ops::hogar::{ConsultarHogar, EventoPedido, RegistrarEventoHogar};
use crate::soap::encode;
use crate::soap::parse::Request;

pub(super) async fn dispatch(core: Arc<Core>, call: Call, ctx: &Context) -> HttpResponse {
    let write = encode::como("hogar");
    match ctx.operation.as_str() {
        "ConsultarHogar" => serve::<ConsultarHogar>(core, call, ctx, decode_run, write).await,
        _ => serve::<RegistrarEventoHogar>(core, call, ctx, decode_evento, write).await,
    }
}

fn decode_run(r: &Request, call: &mut Call) -> Option<Run> {
    subject(call, run_at(r, "cuerpo/run"))
}

/// A RUN of the event as `numero-dv` text, checked by the operation (`RUN_INVALIDO`), as the
/// JSON body's RUNs are.
fn run_texto(r: &Request, prefix: &str) -> String {
    let part = |p: &str| r.value(&format!("{prefix}/{p}")).unwrap_or("").to_owned();
    format!("{}-{}", part("numero"), part("dv"))
}

/// The RUNs of `cuerpo/runs`, in order (an incomplete one in its place).
fn runs(r: &Request) -> Option<Vec<String>> {
    if !r.leaves.iter().any(|(p, _)| p == "cuerpo/runs") {
        return None;
    }
    let mut out = Vec::new();
    let (mut numero, mut dv) = ("", "");
    for (path, value) in &r.leaves {
        match path.as_str() {
            "cuerpo/runs/run/numero" => numero = value,
            "cuerpo/runs/run/dv" => dv = value,
            "cuerpo/runs/run" => {
                out.push(format!("{numero}-{dv}"));
                (numero, dv) = ("", "");
            }
            _ => {}
        }
    }
    Some(out)
}

fn decode_evento(r: &Request, call: &mut Call) -> Option<EventoPedido> {
    let run = subject(call, run_at(r, "cuerpo/run"));
    let text = |path: &str| r.value(path).map(str::to_owned);
    let integrante = r
        .leaves
        .iter()
        .any(|(p, _)| p == "cuerpo/integrante")
        .then(|| run_texto(r, "cuerpo/integrante"));
    let entrada = EventoEntrada {
        evento: text("cuerpo/evento").unwrap_or_default(),
        run: integrante,
        parentesco: text("cuerpo/parentesco"),
        direccion: text("cuerpo/direccion"),
        runs: runs(r),
        comuna: text("cuerpo/comuna"),
        motivo: text("cuerpo/motivo"),
    };
    call.subjects.extend(runs_nombrados(&entrada));
    Some(EventoPedido { run: run?, entrada })
}

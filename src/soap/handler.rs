//! `POST /soap/{Servicio}`: reads the envelope, calls the operation through the broker, and
//! answers in the SOAP version asked.

use std::sync::Arc;

use actix_web::http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse, web};

use super::encode::{self, Sobre};
use super::parse::{self, Request};
use super::xml::Xml;
use super::{SERVICIOS, Servicio, contract, ns, servicio};
use crate::broker::{Call, Reply, Service, SoapVersion, Transport};
use crate::catalog::Operation;
use crate::domain::Run;
use crate::error::ApiError;
use crate::http::read_body;
use crate::ops::accesos::ConsultarAccesos;
use crate::ops::certificado::{self, EmitirCertificado, Pedido};
use crate::ops::elegibilidad::{ConsultarElegibilidad, Pregunta};
use crate::ops::estadisticas::EstadisticasTerritoriales;
use crate::ops::identidad::{Afirmacion, Validacion, ValidarIdentidad};
use crate::ops::lote::{ConsultarFichaFPSLote, Lote};
use crate::ops::{self, Core, Op, meta};

mod chile_solidario;
mod crece_contigo;
mod emergencias;
mod encuestaje;
mod hogar;
mod lotes;
mod postulacion;
mod suscripciones;

/// Everything an answer needs besides the result.
struct Context {
    version: SoapVersion,
    servicio: Option<&'static Servicio>,
    operation: String,
    request: Request,
}

pub async fn post(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let core = core.into_inner();
    let (version, action, input_error) = match version_of(&req) {
        Ok((version, action)) => (version, action, None),
        Err((version, error)) => (version, None, Some(error)),
    };
    let mut call = Call {
        input_error,
        ..crate::http::call(&req, Transport::Soap(version))
    };
    let body = read_body(payload, &mut call).await;
    let mut ctx = Context {
        version,
        servicio: servicio(&path),
        operation: String::new(),
        request: Request::default(),
    };
    if call.input_error.is_none() {
        match read_request(&req, &body, &ctx, action.as_deref()) {
            Ok(request) => {
                ctx.operation = request.operation.clone();
                call.message_id = request
                    .value("encabezado/idSobre")
                    .or(request.xroad_id())
                    .map(str::to_owned);
                call.xroad = request.xroad_pairs();
                ctx.request = request;
            }
            Err(error) => call.input_error = Some(error),
        }
    }
    if call.input_error.is_some() {
        let reply = core.broker.clone().call_local(call, |_| Ok(())).await;
        return render(&ctx, reply, |_, _, _: &()| {});
    }
    dispatch(&req, core, call, ctx).await
}

/// The SOAP version from the Content-Type, and the action it names (SOAP 1.2) or the
/// SOAPAction header (SOAP 1.1).
fn version_of(req: &HttpRequest) -> Result<(SoapVersion, Option<String>), (SoapVersion, ApiError)> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut parts = content_type.split(';').map(str::trim);
    let essence = parts.next().unwrap_or("").to_ascii_lowercase();
    // The version first, so that any other error is answered in it.
    let version = match essence.as_str() {
        "text/xml" => SoapVersion::V11,
        "application/soap+xml" => SoapVersion::V12,
        _ => return Err((SoapVersion::V11, ApiError::tipo_no_soportado_soap())),
    };
    let mut action = None;
    for param in parts {
        if let Some((key, value)) = param.split_once('=') {
            let value = value.trim().trim_matches('"');
            match key.trim().to_ascii_lowercase().as_str() {
                "charset" if !value.eq_ignore_ascii_case("utf-8") => {
                    return Err((version, ApiError::xml_invalido("only UTF-8 is accepted")));
                }
                "action" => action = Some(value.to_owned()),
                _ => {}
            }
        }
    }
    if version == SoapVersion::V11 {
        action = req
            .headers()
            .get("soapaction")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().trim_matches('"').to_owned());
    }
    Ok((version, action))
}

/// Parses the envelope and checks the operation belongs to the service and its action.
fn read_request(
    _req: &HttpRequest,
    body: &[u8],
    ctx: &Context,
    action: Option<&str>,
) -> Result<Request, ApiError> {
    let request = parse::read(body, ctx.version)?;
    let Some(servicio) = ctx.servicio else {
        return Err(ApiError::operacion_desconocida(
            "no SOAP service is published at this path",
        ));
    };
    if request.namespace != servicio.namespace
        || !servicio.operaciones.contains(&request.operation.as_str())
    {
        return Err(ApiError::operacion_desconocida(format!(
            "{} does not offer that operation",
            servicio.nombre
        )));
    }
    if let Some(action) = action.filter(|a| !a.is_empty())
        && action != servicio.action(&request.operation)
    {
        return Err(ApiError::operacion_desconocida(
            "the SOAPAction does not match the operation in the Body",
        ));
    }
    Ok(request)
}

/// A RUN from its `numero` and `dv` leaves under `prefix` (e.g. `cuerpo/run`).
fn run_at(request: &Request, prefix: &str) -> Result<Run, ApiError> {
    let numero = request.value(&format!("{prefix}/numero")).unwrap_or("");
    let dv = request.value(&format!("{prefix}/dv")).unwrap_or("");
    Run::parse(&format!("{numero}-{dv}")).map_err(ApiError::run_invalido)
}

/// The batch's RUNs as `numero-dv` texts, in order.
/// Each `run` element of a batch gives one entry, even when its parts are missing (an
/// incomplete one is then `run_invalido` in its place).
fn batch_runs(request: &Request) -> Vec<String> {
    let mut runs: Vec<String> = Vec::new();
    let (mut numero, mut dv) = ("", "");
    for (path, value) in &request.leaves {
        match path.as_str() {
            "cuerpo/run/numero" => numero = value,
            "cuerpo/run/dv" => dv = value,
            "cuerpo/run" => {
                runs.push(format!("{numero}-{dv}"));
                (numero, dv) = ("", "");
            }
            _ => {}
        }
    }
    runs
}

/// Runs operation `O` for the envelope: `decode` reads its request (or records in the call why
/// it cannot), the broker runs it ([`ops::run`]), `encode` writes its answer's body.
async fn serve<O: Op>(
    core: Arc<Core>,
    mut call: Call,
    ctx: &Context,
    decode: fn(&Request, &mut Call) -> Option<O::Request>,
    encode: impl Fn(&mut Xml, &str, &O::Response),
) -> HttpResponse {
    let request = decode(&ctx.request, &mut call);
    let reply = ops::run::<O>(core, call, request).await;
    render(ctx, reply, encode)
}

/// The operations of every SOAP service, by the name of their element: each a decoder and an
/// encoder around the operation it runs.
async fn dispatch(
    req: &HttpRequest,
    core: Arc<Core>,
    mut call: Call,
    ctx: Context,
) -> HttpResponse {
    let broker = core.broker.clone();
    let r = &ctx.request;
    match ctx.operation.as_str() {
        "ConsultarFichaFPS" => {
            call.service = Service::Op(Operation::ConsultarFichaFPS);
            let run = subject(&mut call, run_at(r, "cuerpo/run"));
            let reply = ops::ficha::consultar(broker, call, run).await;
            render(&ctx, reply, encode::como("ficha"))
        }
        "ConsultarFichaFPSLote" => {
            serve::<ConsultarFichaFPSLote>(core, call, &ctx, decode_lote, encode::lote).await
        }
        "ValidarIdentidad" => {
            let encode = encode::como("validacion");
            serve::<ValidarIdentidad>(core, call, &ctx, decode_validacion, encode).await
        }
        "ConsultarElegibilidad" => {
            let encode = encode::como("elegibilidad");
            serve::<ConsultarElegibilidad>(core, call, &ctx, decode_pregunta, encode).await
        }
        "ConsultarAccesos" => {
            serve::<ConsultarAccesos>(core, call, &ctx, decode_accesos, encode::como("accesos"))
                .await
        }
        "EmitirCertificado" => {
            let encode = encode::como("certificado");
            serve::<EmitirCertificado>(core, call, &ctx, decode_pedido, encode).await
        }
        "SolicitarEncuestaje"
        | "ConsultarEncuestaje"
        | "ListarEncuestajes"
        | "RegistrarEventoEncuestaje" => encuestaje::dispatch(core, call, &ctx).await,
        "Postular"
        | "ConsultarPostulacion"
        | "ListarPostulaciones"
        | "RegistrarEventoPostulacion" => postulacion::dispatch(core, call, &ctx).await,
        "FijarCupos" | "ConsultarCupos" => postulacion::dispatch_cupos(core, call, &ctx).await,
        "Suscribir" | "ListarSuscripciones" | "Desuscribir" | "LeerEventos" => {
            suscripciones::dispatch(core, call, &ctx).await
        }
        "EstadisticasTerritoriales" => {
            let (decode, encode) = (super::estadisticas::consulta, encode::como("estadisticas"));
            serve::<EstadisticasTerritoriales>(core, call, &ctx, decode, encode).await
        }
        "RecibirLote" => lotes::dispatch(core, call, &ctx).await,
        "ConsultarHogar" | "RegistrarEventoHogar" => hogar::dispatch(core, call, &ctx).await,
        "allowedMethods" => {
            let reply = meta::operaciones(core, call).await;
            render(&ctx, reply, encode::allowed_methods)
        }
        "listMethods" => {
            call.service = Service::ListMethods;
            let reply = broker.call_local(call, |_| Ok(())).await;
            render(&ctx, reply, |x, p, _| {
                for s in SERVICIOS {
                    x.open(&format!("{p}:servicio"))
                        .leaf(&format!("{p}:nombre"), s.nombre);
                    for op in s.operaciones {
                        x.leaf(&format!("{p}:operacion"), op);
                    }
                    x.close(&format!("{p}:servicio"));
                }
            })
        }
        "getWsdl" => {
            call.service = Service::GetWsdl;
            let nombre = r.value("cuerpo/servicio").unwrap_or("").to_owned();
            let found = contract::wsdl_text(req, &nombre)
                .map(|text| (format!("{}{nombre}?wsdl", contract::base_url(req)), text));
            let reply = broker
                .call_local(call, move |_| {
                    found.ok_or_else(|| ApiError::operacion_desconocida("no such SOAP service"))
                })
                .await;
            render(&ctx, reply, |x, p, (direccion, wsdl)| {
                x.leaf(&format!("{p}:direccion"), direccion)
                    .leaf(&format!("{p}:wsdl"), wsdl);
            })
        }
        // The modules' operations (`crate::modulos`), one arm each.
        op if chile_solidario::OPERACIONES.contains(&op) => {
            chile_solidario::dispatch(core, call, &ctx).await
        }
        op if crece_contigo::OPERACIONES.contains(&op) => {
            crece_contigo::dispatch(core, call, &ctx).await
        }
        op if emergencias::OPERACIONES.contains(&op) => {
            emergencias::dispatch(core, call, &ctx).await
        }
        _ => unknown(core, call, &ctx).await,
    }
}

/// An operation element no service publishes: refused and audited.
async fn unknown(core: Arc<Core>, mut call: Call, ctx: &Context) -> HttpResponse {
    call.input_error = Some(ApiError::operacion_desconocida("unknown operation"));
    let reply = core.broker.clone().call_local(call, |_| Ok(())).await;
    render(ctx, reply, |_, _, _: &()| {})
}

/// The request's RUN (`cuerpo/run`), a subject of the call.
fn decode_run(r: &Request, call: &mut Call) -> Option<Run> {
    subject(call, run_at(r, "cuerpo/run"))
}

fn decode_accesos(r: &Request, call: &mut Call) -> Option<crate::ops::accesos::Pedido> {
    let run = decode_run(r, call);
    crate::ops::accesos::Pedido::parse(run, r.value("cuerpo/pagina"), r.value("cuerpo/porPagina"))
        .unwrap_or_else(|e| {
            call.input_error.get_or_insert(e);
            None
        })
}

fn decode_lote(r: &Request, _: &mut Call) -> Option<Lote> {
    Some(Lote {
        runs: batch_runs(r),
    })
}

fn decode_validacion(r: &Request, call: &mut Call) -> Option<Validacion> {
    let run = decode_run(r, call);
    let fecha_nacimiento = match r.value("cuerpo/fechaNacimiento").map(str::parse) {
        Some(Ok(date)) => Some(date),
        Some(Err(_)) => {
            call.input_error.get_or_insert(ApiError::xml_invalido(
                "fechaNacimiento is not a date (YYYY-MM-DD)",
            ));
            None
        }
        None => None,
    };
    let afirmacion = Afirmacion {
        run: run.map(|r| r.to_string()).unwrap_or_default(),
        nombres: r.value("cuerpo/nombres").map(str::to_owned),
        apellido_paterno: r.value("cuerpo/apellidoPaterno").map(str::to_owned),
        apellido_materno: r.value("cuerpo/apellidoMaterno").map(str::to_owned),
        fecha_nacimiento,
    };
    Some(Validacion {
        run: run?,
        afirmacion,
    })
}

fn decode_pregunta(r: &Request, call: &mut Call) -> Option<Pregunta> {
    Some(Pregunta {
        run: decode_run(r, call)?,
        programa: r.value("cuerpo/programa").unwrap_or("").to_owned(),
    })
}

fn decode_pedido(r: &Request, call: &mut Call) -> Option<Pedido> {
    let run = decode_run(r, call);
    let tipo = certificado::parse_tipo(r.value("cuerpo/tipo").unwrap_or(""))
        .map_err(|e| call.input_error.get_or_insert(e).clone())
        .ok();
    Some(Pedido {
        run: run?,
        tipo: tipo?,
    })
}

/// Records a parsed RUN as the call's subject, or its error as the call's input error.
fn subject(call: &mut Call, run: Result<Run, ApiError>) -> Option<Run> {
    match run {
        Ok(run) => {
            call.subjects.push(run);
            Some(run)
        }
        Err(error) => {
            call.input_error.get_or_insert(error);
            None
        }
    }
}

/// The answer (or Fault) for a reply, in the version asked.
fn render<T>(ctx: &Context, reply: Reply<T>, write: impl Fn(&mut Xml, &str, &T)) -> HttpResponse {
    let (prefix, namespace) = match ctx.servicio {
        Some(s) => (s.prefix, s.namespace),
        None => ("x", ns::SOBRE),
    };
    let operation = if ctx.operation.is_empty() {
        "Desconocida"
    } else {
        &ctx.operation
    };
    let sobre = Sobre {
        version: ctx.version,
        prefix,
        namespace,
        operation,
        message_id: &reply.message_id,
        consumidor: reply.convenio.as_ref().map(|a| a.as_str()),
        xroad: &ctx.request.xroad,
    };
    let (status, body, retry) = match &reply.result {
        Ok(value) => (
            200,
            encode::answer(
                &sobre,
                "00",
                None,
                Some(&|x: &mut Xml| write(x, prefix, value)),
            ),
            None,
        ),
        Err(error) => {
            let (estado, is_fault) = error.estado_sobre();
            let status = Transport::Soap(ctx.version).status_of(error);
            if is_fault {
                // Retry-After stays on rate-limit and quota Faults, whatever the status.
                (
                    status,
                    encode::fault(&sobre, error, estado),
                    error.retry_after,
                )
            } else {
                (
                    status,
                    encode::answer(&sobre, estado, error.campo.as_deref(), None),
                    None,
                )
            }
        }
    };
    let content_type = match ctx.version {
        SoapVersion::V11 => "text/xml; charset=utf-8",
        SoapVersion::V12 => "application/soap+xml; charset=utf-8",
    };
    let mut response = HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    );
    if let Some(secs) = retry {
        response.insert_header((RETRY_AFTER, HeaderValue::from(secs)));
    }
    response.content_type(content_type).body(body)
}

//! The comuna's survey queue (TrabajarEncuestaje): the requests of the comuna the official's
//! agreement covers (its `ambito`, never a comuna from the address), one of them with its
//! history, and the form that records its next event. Each page runs the operation REST and
//! SOAP run (ListarEncuestajes, RegistrarEventoEncuestaje) or the console's reading of one
//! request (ConsultarExpediente), through the broker.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use serde::Deserialize;

use super::{Data, Marco, firmado, html, mensaje};
use crate::broker::Usuario;
use crate::domain::{ConvenioId, Cut, EncuestajeId};
use crate::error::{ApiError, ErrorCode};
use crate::ops;
use crate::ops::encuestaje::estado::{Estado, EventoEntrada};
use crate::ops::encuestaje::{
    Cola, ConsultarExpediente, Encuestaje, EventoPedido, Expediente, Filtro, ListarEncuestajes,
    PaginaCola, RegistrarEventoEncuestaje,
};

const COLA: &str = "/consola/encuestajes";

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/encuestajes", web::get().to(cola))
        .route("/encuestajes/{id}", web::get().to(expediente))
        .route("/encuestajes/{id}/eventos", web::post().to(registrar));
}

#[derive(Template)]
#[template(path = "consola/encuestajes.html")]
struct PaginaDeCola {
    m: Marco,
    comuna: String,
    /// The filter's choices: value, label, chosen.
    estados: Vec<(&'static str, &'static str, bool)>,
    total: i64,
    pagina: u32,
    paginas: u32,
    filas: Vec<FilaCola>,
    anterior: Option<String>,
    siguiente: Option<String>,
}

struct FilaCola {
    href: String,
    run: String,
    estado: String,
    solicitante: String,
    solicitada: String,
    vence: String,
    visita: String,
}

#[derive(Template)]
#[template(path = "consola/encuestaje.html")]
struct PaginaExpediente {
    m: Marco,
    accion: String,
    datos: Vec<(&'static str, String)>,
    eventos: Vec<FilaEvento>,
    programar: bool,
    fallida: bool,
    encuestar: bool,
    anular: bool,
    /// Chile's civil day (`YYYY-MM-DD`), what the date fields start at.
    hoy: String,
}

struct FilaEvento {
    registrado: String,
    evento: &'static str,
    estado: String,
    fecha: String,
    motivo: String,
}

/// The state's name as the page shows it.
fn estado_legible(estado: &str) -> &'static str {
    match Estado::parse(estado) {
        Some(Estado::Solicitada) => "Solicitada",
        Some(Estado::VisitaProgramada) => "Visita programada",
        Some(Estado::VisitaFallida) => "Visita fallida",
        Some(Estado::Encuestada) => "Encuestada",
        Some(Estado::Anulada) => "Anulada",
        None => "Desconocido",
    }
}

fn evento_legible(evento: &str) -> &'static str {
    match evento {
        "solicitar" => "Solicitud recibida",
        "programar_visita" => "Visita programada",
        "visita_fallida" => "Visita fallida",
        "encuestar" => "Encuesta aplicada",
        "anular" => "Anulación",
        _ => "Otro",
    }
}

fn fecha(d: Option<NaiveDate>) -> String {
    d.map(|d| d.format("%d-%m-%Y").to_string())
        .unwrap_or_default()
}

/// What a person reads for a refusal on these pages (the console's words otherwise).
fn mensaje_encuestaje(error: &ApiError) -> String {
    let texto = match error.code {
        ErrorCode::NoEncontrado => "No hay una solicitud de encuestaje con ese identificador.",
        ErrorCode::FueraDeAmbito => "La solicitud es de otra comuna que la de su convenio.",
        ErrorCode::PaginacionInvalida => "La página pedida no es válida.",
        ErrorCode::EstadoDesconocido => "El estado elegido para filtrar no existe.",
        ErrorCode::EventoInvalido => {
            "Faltan datos del evento o no son válidos: revise fechas, puntaje y motivo."
        }
        ErrorCode::TransicionNoPermitida => {
            "La solicitud ya no admite ese evento: vuelva a ella y vea su estado."
        }
        ErrorCode::VisitasAgotadas => {
            "La solicitud ya tiene dos visitas fallidas: registre la encuesta o anúlela."
        }
        ErrorCode::PersonaNoEncuestable => {
            "El registro no tiene a una persona viva con ese RUN: anule la solicitud."
        }
        _ => return mensaje(error),
    };
    texto.to_owned()
}

/// The request's page, for a well-formed id; the queue otherwise.
fn pagina_de(id: &str) -> String {
    EncuestajeId::parse(id)
        .map(|id| format!("{COLA}/{id}"))
        .unwrap_or_else(|_| COLA.to_owned())
}

/// The comuna whose queue an official works: their agreement's. An agreement without one is
/// not granted TrabajarEncuestaje (agreements are checked so when they load), and the broker
/// refuses it before the empty code is read.
fn comuna_de(consola: &Data, usuario: &Usuario) -> String {
    consola
        .core
        .broker
        .policy()
        .convenios
        .get(&usuario.convenio)
        .and_then(|c| c.comuna().copied())
        .map(|cut| cut.to_string())
        .unwrap_or_default()
}

/// The queue's query string: `estado` (empty: all) and `pagina`; anything else is refused.
fn filtro(req: &HttpRequest) -> Result<Filtro, ApiError> {
    let pares = super::parametros(req, &["estado", "pagina"])?;
    let get = |name: &str| {
        pares
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    Filtro::parse(get("estado"), get("pagina"), None)
}

async fn cola(req: HttpRequest, consola: Data) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let mut call = consola.call(&req, &usuario);
    let pedido = match filtro(&req) {
        Ok(filtro) => Some(PaginaCola {
            comuna: comuna_de(&consola, &usuario),
            filtro,
        }),
        Err(e) => {
            call.input_error = Some(e);
            None
        }
    };
    let reply = ops::run::<ListarEncuestajes>(Arc::clone(&consola.core), call, pedido).await;
    match reply.result {
        Ok(cola) => {
            let m = consola.marco("Encuestajes de la comuna", Some(&sesion));
            html(StatusCode::OK, vista_cola(&consola, m, &cola).render())
        }
        Err(e) => consola.rechazo(Some(&sesion), &e, "/consola/", mensaje_encuestaje(&e)),
    }
}

/// The requesting agreement as its institution's name (its first part), else its id.
fn institucion(consola: &Data, convenio: &str) -> String {
    let policy = consola.core.broker.policy();
    ConvenioId::parse(convenio)
        .ok()
        .and_then(|id| policy.convenios.get(&id).map(|c| c.agency.clone()))
        .map(|agency| {
            agency
                .split(':')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .unwrap_or_else(|| convenio.to_owned())
}

fn vista_cola(consola: &Data, m: Marco, cola: &Cola) -> PaginaDeCola {
    let comuna = Cut::parse(&cola.comuna)
        .map(|cut| format!("{} ({cut})", cut.comuna().nombre))
        .unwrap_or_else(|_| cola.comuna.clone());
    let elegido = cola.estado.as_deref().unwrap_or_default();
    let mut estados = vec![("", "Todos", elegido.is_empty())];
    estados.extend(Estado::ALL.iter().map(|e| {
        (
            e.as_str(),
            estado_legible(e.as_str()),
            e.as_str() == elegido,
        )
    }));
    let por_pagina = i64::from(cola.por_pagina.max(1));
    let paginas = u32::try_from((cola.total + por_pagina - 1) / por_pagina)
        .unwrap_or(u32::MAX)
        .max(1);
    let enlace = |pagina: u32| match &cola.estado {
        Some(estado) => format!("{COLA}?estado={estado}&pagina={pagina}"),
        None => format!("{COLA}?pagina={pagina}"),
    };
    let filas = cola
        .encuestajes
        .iter()
        .map(|e: &Encuestaje| FilaCola {
            href: e
                .id
                .as_deref()
                .map(pagina_de)
                .unwrap_or_else(|| COLA.to_owned()),
            run: e.run.clone().unwrap_or_else(|| "Ver solicitud".into()),
            estado: e
                .estado
                .as_deref()
                .map(estado_legible)
                .unwrap_or_default()
                .to_owned(),
            solicitante: e
                .solicitante
                .as_deref()
                .map(|s| institucion(consola, s))
                .unwrap_or_default(),
            solicitada: fecha(e.fecha_solicitud),
            vence: fecha(e.fecha_vencimiento),
            visita: fecha(e.fecha_visita),
        })
        .collect();
    PaginaDeCola {
        m,
        comuna,
        estados,
        total: cola.total,
        pagina: cola.pagina,
        paginas,
        filas,
        anterior: (cola.pagina > 1).then(|| enlace(cola.pagina - 1)),
        siguiente: (cola.pagina < paginas).then(|| enlace(cola.pagina + 1)),
    }
}

/// One request of the comuna, its history and what may be recorded next.
async fn expediente(req: HttpRequest, consola: Data, id: web::Path<String>) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let call = consola.call(&req, &usuario);
    let id = id.into_inner();
    let reply =
        ops::run::<ConsultarExpediente>(Arc::clone(&consola.core), call, Some(id.clone())).await;
    match reply.result {
        Ok(expediente) => {
            let page = vista_expediente(
                &consola,
                consola.marco("Solicitud de encuestaje", Some(&sesion)),
                &id,
                &expediente,
            );
            html(StatusCode::OK, page.render())
        }
        Err(e) => consola.rechazo(Some(&sesion), &e, COLA, mensaje_encuestaje(&e)),
    }
}

fn vista_expediente(consola: &Data, m: Marco, id: &str, x: &Expediente) -> PaginaExpediente {
    let e = &x.encuestaje;
    let mut datos: Vec<(&'static str, String)> = Vec::new();
    let mut put = |label: &'static str, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            datos.push((label, value));
        }
    };
    put("RUN", e.run.clone());
    put("Identificador", e.id.clone());
    put(
        "Estado",
        e.estado.as_deref().map(|s| estado_legible(s).to_owned()),
    );
    put(
        "Comuna",
        e.comuna
            .as_ref()
            .and_then(|c| match (&c.nombre, &c.codigo) {
                (Some(n), Some(c)) => Some(format!("{n} ({c})")),
                (Some(n), None) => Some(n.clone()),
                (None, c) => c.clone(),
            }),
    );
    put(
        "Solicitante",
        e.solicitante.as_deref().map(|s| institucion(consola, s)),
    );
    put(
        "Fecha de solicitud",
        e.fecha_solicitud.map(|d| fecha(Some(d))),
    );
    put("Vence", e.fecha_vencimiento.map(|d| fecha(Some(d))));
    put("Visita", e.fecha_visita.map(|d| fecha(Some(d))));
    put(
        "Visitas fallidas",
        e.visitas_fallidas.map(|v| v.to_string()),
    );
    put("Motivo de anulación", e.motivo_anulacion.clone());
    put("Puntaje", e.puntaje.map(|v| v.to_string()));
    put("Quintil", e.quintil.map(|v| v.to_string()));
    put(
        "Fecha de aplicación",
        e.fecha_aplicacion.map(|d| fecha(Some(d))),
    );
    put("Folio de la ficha", e.folio.map(|v| v.to_string()));
    let eventos = x
        .eventos
        .iter()
        .map(|ev| FilaEvento {
            registrado: super::hora_de_chile(&ev.registrado.to_rfc3339()),
            evento: evento_legible(&ev.evento),
            estado: ev
                .estado
                .as_deref()
                .map(estado_legible)
                .unwrap_or_default()
                .to_owned(),
            fecha: fecha(ev.fecha),
            motivo: ev.motivo.clone().unwrap_or_default(),
        })
        .collect();
    let puede = |evento: &str| x.siguientes.contains(&evento);
    PaginaExpediente {
        m,
        accion: format!("{}/eventos", pagina_de(id)),
        datos,
        eventos,
        programar: puede("programar_visita"),
        fallida: puede("visita_fallida"),
        encuestar: puede("encuestar"),
        anular: puede("anular"),
        hoy: crate::broker::local_today().format("%Y-%m-%d").to_string(),
    }
}

/// An event as the request's page posts it: which one, and the fields of its form (the
/// others absent). A field left empty is not given.
#[derive(Deserialize)]
struct FormularioEvento {
    csrf: String,
    evento: String,
    fecha_visita: Option<String>,
    motivo: Option<String>,
    puntaje: Option<String>,
    fecha_aplicacion: Option<String>,
}

fn entrada(form: FormularioEvento) -> Result<EventoEntrada, ApiError> {
    let dado = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let puntaje = match dado(form.puntaje) {
        None => None,
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| ApiError::solicitud_invalida("puntaje is a whole number"))?,
        ),
    };
    Ok(EventoEntrada {
        evento: form.evento.trim().to_owned(),
        fecha_visita: dado(form.fecha_visita),
        motivo: dado(form.motivo),
        puntaje,
        fecha_aplicacion: dado(form.fecha_aplicacion),
        // The console records the older form, a bare score (docs/encuestaje.md).
        modelo: None,
        encuesta: None,
    })
}

/// Records an event through the broker, then back to the request's page.
async fn registrar(
    req: HttpRequest,
    consola: Data,
    id: web::Path<String>,
    form: web::Form<FormularioEvento>,
) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let id = id.into_inner();
    let pagina = pagina_de(&id);
    if !super::sesion::csrf_valido(&req, &sesion, &form.csrf, &consola.origen()) {
        return consola.error(Some(&sesion), &super::csrf_invalido(), &pagina);
    }
    let mut call = consola.call(&req, &usuario);
    let pedido = match entrada(form.into_inner()) {
        Ok(entrada) => Some(EventoPedido {
            id: id.clone(),
            entrada,
        }),
        Err(e) => {
            call.input_error = Some(e);
            None
        }
    };
    let reply =
        ops::run::<RegistrarEventoEncuestaje>(Arc::clone(&consola.core), call, pedido).await;
    match reply.result {
        Ok(_) => HttpResponse::SeeOther()
            .insert_header(("location", pagina))
            .finish(),
        Err(e) => {
            let volver = match e.code {
                ErrorCode::NoEncontrado | ErrorCode::FueraDeAmbito | ErrorCode::NoAutorizado => {
                    COLA
                }
                _ => &pagina,
            };
            consola.rechazo(Some(&sesion), &e, volver, mensaje_encuestaje(&e))
        }
    }
}

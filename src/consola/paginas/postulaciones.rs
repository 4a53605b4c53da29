//! Postulations to SUF, PASIS and SAP (PostularBeneficio) in the console: the comuna's list
//! (the waiting list when one program is chosen), the form that postulates a person, and one
//! postulation with its checks and the forms that close it. The comuna is always the
//! official's agreement's (its `ambito`), never one from the address; each page runs the
//! operation REST and SOAP run (ListarPostulaciones, Postular, ConsultarPostulacion,
//! RegistrarEventoPostulacion) through the broker.

mod formulario;
mod vista;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{Data, firmado, html, mensaje};
use crate::broker::Usuario;
use crate::error::{ApiError, ErrorCode};
use crate::ops;
use crate::ops::postulacion::{
    ConsultarPostulacion, EventoEntrada, EventoPedido, Filtro, ListarPostulaciones, PaginaLista,
    Postular, RegistrarEventoPostulacion,
};

const LISTA: &str = "/consola/postulaciones";

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/postulaciones", web::get().to(listar))
        .route("/postulaciones", web::post().to(postular))
        .route("/postulaciones/decreto", web::post().to(emitir_decreto))
        .route("/postulaciones/{id}", web::get().to(consultar))
        .route("/postulaciones/{id}/eventos", web::post().to(registrar));
}

/// A postulation's page, for a well-formed id; the list otherwise.
fn pagina_de(id: &str) -> String {
    crate::domain::PostulacionId::parse(id)
        .map(|id| format!("{LISTA}/{id}"))
        .unwrap_or_else(|_| LISTA.to_owned())
}

/// What a person reads for a refusal on these pages; `postulando` when it answers the form
/// that postulates (an unknown RUN is then a person, not a postulation).
fn mensaje_postulacion(error: &ApiError, postulando: bool) -> String {
    let causante = formulario::causante_nombrado(&error.detail);
    match (error.code, causante) {
        (ErrorCode::NoEncontrado, Some(n)) => {
            format!("El causante n.º {n} de los indicados no está en el registro de su comuna.")
        }
        (ErrorCode::NoEncontrado, None) if postulando => {
            "No hay una persona con ese RUN en el registro de su comuna.".to_owned()
        }
        (ErrorCode::NoEncontrado, None) => {
            "No hay una postulación con ese identificador en su comuna.".to_owned()
        }
        (ErrorCode::PostulacionInvalida, Some(n)) => format!(
            "Revise el causante n.º {n} de los indicados: su RUN, su tipo, que no sea el \
             postulante ni se repita."
        ),
        (ErrorCode::PostulacionInvalida, None) => {
            "La postulación no es válida: el Subsidio familiar nombra de 1 a 12 causantes; \
             la Pensión asistencial y el Subsidio de agua potable, ninguno."
                .to_owned()
        }
        (ErrorCode::PostulacionEnCurso, _) => {
            "La persona ya tiene una postulación abierta a ese programa en la comuna.".to_owned()
        }
        (ErrorCode::ProgramaDesconocido, _) => "El programa elegido no existe.".to_owned(),
        (ErrorCode::EstadoDesconocido, _) => "El estado elegido para filtrar no existe.".to_owned(),
        (ErrorCode::PaginacionInvalida, _) => "La página pedida no es válida.".to_owned(),
        (ErrorCode::EventoInvalido, _) => {
            "Indique el motivo del cierre (hasta 500 caracteres).".to_owned()
        }
        (ErrorCode::TransicionNoPermitida, _) => {
            "La postulación ya está cerrada u otorgada: no admite ese cierre.".to_owned()
        }
        _ => mensaje(error),
    }
}

/// The comuna whose postulations an official works: their agreement's. An agreement without
/// one is refused by the operation (`FUERA_DE_AMBITO`) after the broker admitted it.
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

/// The programs the user's agreement grants postulations to, as the page offers them.
fn programas_de(consola: &Data, usuario: &Usuario) -> Vec<&'static str> {
    let policy = consola.core.broker.policy();
    let Some(convenio) = policy.convenios.get(&usuario.convenio) else {
        return Vec::new();
    };
    let concedidos = ops::postulacion::programas_concedidos(convenio);
    ["SUF", "PASIS", "SAP"]
        .into_iter()
        .filter(|p| concedidos.contains(p))
        .collect()
}

/// The month whose decree of the chosen program the page offers to issue (the current one),
/// when the user's role and agreement allow EmitirDecreto; none otherwise.
fn decreto_del_mes(consola: &Data, usuario: &Usuario, programa: Option<&str>) -> Option<String> {
    (programa.is_some() && consola.permite(usuario, crate::catalog::Operation::EmitirDecreto))
        .then(|| crate::ops::decretos::Periodo::of(crate::broker::local_today()).to_string())
}

#[derive(Deserialize)]
struct FormularioDecreto {
    csrf: String,
    programa: String,
    periodo: String,
}

/// "Emitir decreto del mes": EmitirDecreto for the official's comuna, answered with the signed
/// PDF as a download named by its folio, or the refusal's page.
async fn emitir_decreto(
    req: HttpRequest,
    consola: Data,
    form: web::Form<FormularioDecreto>,
) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if !crate::consola::sesion::csrf_valido(&req, &sesion, &form.csrf, &consola.origen()) {
        return consola.error(Some(&sesion), &super::csrf_invalido(), LISTA);
    }
    // The answer is the PDF: an agreement not granted it would issue a decree the page could
    // not show, so none is issued.
    let pdf_concedido = consola
        .core
        .broker
        .policy()
        .convenios
        .get(&usuario.convenio)
        .and_then(|c| c.grant(crate::catalog::Operation::EmitirDecreto))
        .is_some_and(|g| g.fields.contains("pdf"));
    if !pdf_concedido && consola.permite(&usuario, crate::catalog::Operation::EmitirDecreto) {
        return consola.error(Some(&sesion), &ApiError::campo_no_permitido("pdf"), LISTA);
    }
    let mut call = consola.call(&req, &usuario);
    let entrada = crate::ops::decreto::PedidoDecreto {
        programa: form.programa.clone(),
        periodo: form.periodo.clone(),
    };
    let pedido = entrada
        .parse(&comuna_de(&consola, &usuario))
        .map_err(|e| call.input_error = Some(e))
        .ok();
    let reply =
        ops::run::<crate::ops::decreto::EmitirDecreto>(Arc::clone(&consola.core), call, pedido)
            .await;
    match reply.result {
        Ok(crate::respuestas::Decreto {
            pdf: Some(pdf),
            folio: Some(folio),
            ..
        }) => HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((
                actix_web::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{folio}.pdf\""),
            ))
            .body(pdf),
        // Checked above: an agreement granted EmitirDecreto here is granted its PDF.
        Ok(_) => consola.error(Some(&sesion), &ApiError::campo_no_permitido("pdf"), LISTA),
        Err(e) => consola.error(Some(&sesion), &e, LISTA),
    }
}

/// The list's query string: `programa`, `estado` (empty: all) and `pagina`; anything else is
/// refused.
fn filtro(req: &HttpRequest) -> Result<Filtro, ApiError> {
    let pares = super::parametros(req, &["programa", "estado", "pagina"])?;
    let get = |name: &str| {
        pares
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    Filtro::parse(get("programa"), get("estado"), get("pagina"), None)
}

/// The comuna's postulations, one page (ListarPostulaciones), and the form to postulate.
async fn listar(req: HttpRequest, consola: Data) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let mut call = consola.call(&req, &usuario);
    let pedido = match filtro(&req) {
        Ok(filtro) => Some(PaginaLista {
            comuna: comuna_de(&consola, &usuario),
            filtro,
        }),
        Err(e) => {
            call.input_error = Some(e);
            None
        }
    };
    let reply = ops::run::<ListarPostulaciones>(Arc::clone(&consola.core), call, pedido).await;
    match reply.result {
        Ok(lista) => {
            let decreto = decreto_del_mes(&consola, &usuario, lista.programa.as_deref());
            let page = vista::lista(
                consola.marco("Postulaciones de la comuna", Some(&sesion)),
                &lista,
                &programas_de(&consola, &usuario),
                decreto,
            );
            html(StatusCode::OK, askama::Template::render(&page))
        }
        Err(e) => consola.rechazo(
            Some(&sesion),
            &e,
            "/consola/",
            mensaje_postulacion(&e, false),
        ),
    }
}

/// Postulates a person through the broker, then shows the postulation with its checks.
async fn postular(
    req: HttpRequest,
    consola: Data,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let pares = form.into_inner();
    let token = formulario::csrf(&pares).unwrap_or_default();
    if !super::sesion::csrf_valido(&req, &sesion, token, &consola.origen()) {
        return consola.error(Some(&sesion), &super::csrf_invalido(), LISTA);
    }
    let mut call = consola.call(&req, &usuario);
    let pedido = match formulario::entrada(&pares).and_then(|e| e.parse(&mut call.subjects)) {
        Ok(pedido) => Some(pedido),
        Err(e) => {
            call.input_error = Some(e);
            None
        }
    };
    let reply = ops::run::<Postular>(Arc::clone(&consola.core), call, pedido).await;
    match reply.result {
        Ok(p) => HttpResponse::SeeOther()
            .insert_header((
                "location",
                p.id.as_deref()
                    .map(pagina_de)
                    .unwrap_or_else(|| LISTA.into()),
            ))
            .finish(),
        Err(e) => consola.rechazo(Some(&sesion), &e, LISTA, mensaje_postulacion(&e, true)),
    }
}

/// One postulation of the comuna, its checks run again (ConsultarPostulacion).
async fn consultar(req: HttpRequest, consola: Data, id: web::Path<String>) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let call = consola.call(&req, &usuario);
    let id = id.into_inner();
    let reply =
        ops::run::<ConsultarPostulacion>(Arc::clone(&consola.core), call, Some(id.clone())).await;
    match reply.result {
        Ok(p) => {
            let page = vista::postulacion(consola.marco("Postulación", Some(&sesion)), &id, &p);
            html(StatusCode::OK, askama::Template::render(&page))
        }
        Err(e) => consola.rechazo(Some(&sesion), &e, LISTA, mensaje_postulacion(&e, false)),
    }
}

/// A closing as the postulation's page posts it: `desistir` or `anular`, with its reason.
#[derive(Deserialize)]
struct FormularioEvento {
    csrf: String,
    evento: String,
    motivo: Option<String>,
}

/// Closes a postulation through the broker (RegistrarEventoPostulacion), then back to it.
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
    let form = form.into_inner();
    let call = consola.call(&req, &usuario);
    let pedido = EventoPedido {
        id,
        entrada: EventoEntrada {
            evento: form.evento.trim().to_owned(),
            motivo: form.motivo,
        },
    };
    let reply =
        ops::run::<RegistrarEventoPostulacion>(Arc::clone(&consola.core), call, Some(pedido)).await;
    match reply.result {
        Ok(_) => HttpResponse::SeeOther()
            .insert_header(("location", pagina))
            .finish(),
        Err(e) => {
            let volver = match e.code {
                ErrorCode::NoEncontrado | ErrorCode::NoAutorizado => LISTA,
                _ => &pagina,
            };
            consola.rechazo(Some(&sesion), &e, volver, mensaje_postulacion(&e, false))
        }
    }
}

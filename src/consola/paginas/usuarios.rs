//! The officials' page, for a comuna head (their agreement's officials) and the registry's
//! operator (every agreement's): the list, and a change (add, change role, remove). Both go
//! through the broker as `AdministrarUsuarios`: the list is audited naming each official shown,
//! and each change commits with its audit record, naming the official changed and the user who
//! changed it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Data, Marco, a, firmado, html};
use crate::broker::Service;
use crate::catalog::Rol;
use crate::consola::sesion;
use crate::consola::usuarios::{self, Cambio, Funcionarios};
use crate::domain::ConvenioId;
use crate::error::ApiError;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/usuarios", web::get().to(lista))
        .route("/usuarios", web::post().to(cambiar));
}

struct Fila {
    run: String,
    convenio: String,
    rol: String,
    alta: String,
}

#[derive(Template)]
#[template(path = "consola/usuarios.html")]
struct PaginaUsuarios {
    m: Marco,
    filas: Vec<Fila>,
    /// The agreements the manager may place an official under (one for a comuna head).
    convenios: Vec<String>,
    roles: Vec<(&'static str, &'static str)>,
}

async fn lista(req: HttpRequest, consola: Data) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let mut call = consola.call(&req, &usuario);
    call.service = Service::AdministrarUsuarios;
    let actor = usuario.clone();
    let reply = consola
        .core
        .broker
        .clone()
        .call(call, move |_, conn| usuarios::lista(conn, &actor))
        .await;
    let funcionarios: Funcionarios = match reply.result {
        Ok(f) => f,
        Err(e) => return consola.error(Some(&sesion), &e, "/consola/"),
    };
    let convenios = match usuario.rol {
        Rol::Operador => consola
            .core
            .broker
            .policy()
            .convenios
            .agencias()
            .map(|c| c.id.to_string())
            .collect(),
        _ => vec![usuario.convenio.to_string()],
    };
    let roles = Rol::FUNCIONARIOS
        .into_iter()
        .filter(|r| usuario.rol == Rol::Operador || *r != Rol::Operador)
        .map(|r| (r.as_str(), r.nombre()))
        .collect();
    let filas = funcionarios
        .0
        .into_iter()
        .map(|f| Fila {
            run: f.run.to_string(),
            rol: Rol::parse(&f.rol).map_or(f.rol.clone(), |r| r.nombre().to_owned()),
            convenio: f.convenio,
            alta: chrono::DateTime::from_timestamp_micros(f.alta_us)
                .map(|t| {
                    t.with_timezone(&chrono_tz::America::Santiago)
                        .format("%d-%m-%Y")
                        .to_string()
                })
                .unwrap_or_default(),
        })
        .collect();
    let page = PaginaUsuarios {
        m: consola.marco("Usuarios de la consola", Some(&sesion)),
        filas,
        convenios,
        roles,
    };
    html(StatusCode::OK, page.render())
}

#[derive(Deserialize)]
struct FormularioCambio {
    run: String,
    convenio: String,
    /// A role, or `baja` to remove the official.
    rol: String,
    csrf: String,
}

/// Adds, changes or removes an official; back to the list, or the refusal's page.
async fn cambiar(
    req: HttpRequest,
    consola: Data,
    form: web::Form<FormularioCambio>,
) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if !sesion::csrf_valido(&req, &sesion, &form.csrf, &consola.origen()) {
        return consola.error(Some(&sesion), &super::csrf_invalido(), "/consola/usuarios");
    }
    let mut call = consola.call(&req, &usuario);
    call.service = Service::AdministrarUsuarios;
    let run = crate::http::run_into(&mut call, form.run.trim());
    let rol = match form.rol.as_str() {
        "baja" => Ok(None),
        text => Rol::parse(text)
            .filter(|r| *r != Rol::Persona)
            .map(Some)
            .ok_or_else(|| ApiError::solicitud_invalida("unknown role")),
    };
    let convenio = ConvenioId::parse(form.convenio.trim())
        .map_err(|_| ApiError::solicitud_invalida("unknown agreement"));
    let cambio = match (run, rol, convenio) {
        (Some(run), Ok(rol), Ok(convenio)) => Some(Cambio { run, convenio, rol }),
        (_, Err(e), _) | (_, _, Err(e)) => {
            call.input_error.get_or_insert(e);
            None
        }
        _ => None,
    };
    let actor = usuario.clone();
    let broker = consola.core.broker.clone();
    let reply = broker
        .clone()
        .call_write(call, move |_, conn| {
            // The input error, if any, was refused at admission: this runs only with a change.
            let cambio = cambio.ok_or_else(ApiError::unavailable)?;
            usuarios::cambiar(conn, &actor, &broker.policy().convenios, cambio)
        })
        .await;
    match reply.result {
        Ok(_) => a("/consola/usuarios"),
        Err(e) => consola.error(Some(&sesion), &e, "/consola/usuarios"),
    }
}

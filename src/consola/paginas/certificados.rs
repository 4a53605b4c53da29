//! Certificates in the console: an official issues a constancia de encuestaje or a certificado
//! FPS for a RUN of their scope, and a person their own constancia. The answer to the form is
//! the signed PDF itself, downloaded by the browser; it is issued, recorded and audited by
//! EmitirCertificado through the broker, as over REST and SOAP.

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_DISPOSITION;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{Data, Marco, firmado, html};
use crate::broker::{Reply, Usuario};
use crate::catalog::{Operation, Rol};
use crate::consola::sesion::{self, Sesion};
use crate::error::ApiError;
use crate::ops::certificado::{self, Emision, EmitirCertificado, Pedido};
use crate::ops::certificados::Tipo;

pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/certificados", web::get().to(formulario))
        .route("/certificados", web::post().to(emitir))
        .route("/mi-constancia", web::post().to(mi_constancia));
}

#[derive(Template)]
#[template(path = "consola/certificados.html")]
struct PaginaCertificados {
    m: Marco,
}

async fn formulario(req: HttpRequest, consola: Data) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if usuario.rol == Rol::Persona || !usuario.rol.permite(Operation::EmitirCertificado) {
        return consola.error(
            Some(&sesion),
            &ApiError::no_autorizado("the user's role does not include EmitirCertificado"),
            "/consola/",
        );
    }
    let page = PaginaCertificados {
        m: consola.marco("Emitir certificado", Some(&sesion)),
    };
    html(StatusCode::OK, page.render())
}

#[derive(Deserialize)]
struct FormularioCertificado {
    run: String,
    tipo: String,
    csrf: String,
}

/// An official's certificate for a RUN (posted): the PDF, or the refusal's page.
async fn emitir(
    req: HttpRequest,
    consola: Data,
    form: web::Form<FormularioCertificado>,
) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if !sesion::csrf_valido(&req, &sesion, &form.csrf, &consola.origen()) {
        return consola.error(
            Some(&sesion),
            &super::csrf_invalido(),
            "/consola/certificados",
        );
    }
    let mut call = consola.call(&req, &usuario);
    let pedido = crate::http::run_into(&mut call, form.run.trim()).and_then(|run| {
        match certificado::parse_tipo(&form.tipo) {
            Ok(tipo) => Some(Pedido { run, tipo }),
            Err(e) => {
                call.input_error = Some(e);
                None
            }
        }
    });
    let reply = crate::ops::run::<EmitirCertificado>(consola.core.clone(), call, pedido).await;
    pdf(&consola, &sesion, reply, "/consola/certificados")
}

#[derive(Deserialize)]
struct FormularioCsrf {
    csrf: String,
}

/// A person's own constancia de encuestaje.
async fn mi_constancia(
    req: HttpRequest,
    consola: Data,
    form: web::Form<FormularioCsrf>,
) -> HttpResponse {
    let (sesion, usuario) = match firmado(&req, &consola).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    if !sesion::csrf_valido(&req, &sesion, &form.csrf, &consola.origen()) {
        return consola.error(Some(&sesion), &super::csrf_invalido(), "/consola/mi-ficha");
    }
    let Usuario { run, .. } = usuario;
    let mut call = consola.call(&req, &usuario);
    call.subjects.push(run);
    let pedido = Pedido {
        run,
        tipo: Tipo::Constancia,
    };
    let reply =
        crate::ops::run::<EmitirCertificado>(consola.core.clone(), call, Some(pedido)).await;
    pdf(&consola, &sesion, reply, "/consola/mi-ficha")
}

/// The issued certificate's PDF as a download named by its folio, or the refusal's page.
fn pdf(
    consola: &Data,
    sesion: &Sesion,
    reply: Reply<Emision>,
    volver: &'static str,
) -> HttpResponse {
    match reply.result {
        Ok(Emision {
            pdf: Some(pdf),
            folio: Some(folio),
            ..
        }) => HttpResponse::Ok()
            .content_type("application/pdf")
            .insert_header((
                CONTENT_DISPOSITION,
                format!("attachment; filename=\"{folio}.pdf\""),
            ))
            .body(pdf),
        // EmitirCertificado refuses a grant without the PDF before issuing: an issued
        // certificate has it.
        Ok(_) => {
            tracing::error!("an issued certificate came without its PDF");
            consola.error(Some(sesion), &ApiError::unavailable(), volver)
        }
        Err(e) => consola.error(Some(sesion), &e, volver),
    }
}

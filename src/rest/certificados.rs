//! `POST /api/v1/certificados` (EmitirCertificado). JSON body `{"run", "tipo"}`; the answer is
//! JSON (folio, code, payload, the PDF in base64, the certified data) or, with
//! `Accept: application/pdf`, the PDF itself with the folio and code in headers.

use actix_web::http::header::{ACCEPT, CONTENT_DISPOSITION};
use actix_web::{HttpRequest, HttpResponse, web};

use super::support::{call, json_body, respond};
use crate::broker::{Reply, Service};
use crate::catalog::Operation;
use crate::domain::Run;
use crate::error::ApiError;
use crate::http::read_body;
use crate::ops::certificado::{self, Emision, EmitirCertificado, Pedido, Solicitud};
use crate::ops::{self, Core};

pub async fn emitir(
    req: HttpRequest,
    payload: web::Payload,
    core: web::Data<Core>,
) -> HttpResponse {
    let mut call = call(&req, Service::Op(Operation::EmitirCertificado));
    let body = read_body(payload, &mut call).await;
    let pedido = json_body::<Solicitud>(&req, &body, &mut call).and_then(|s| {
        match (Run::parse(&s.run), certificado::parse_tipo(&s.tipo)) {
            (Err(e), _) => call.input_error = Some(ApiError::run_invalido(e)),
            (Ok(run), Err(e)) => {
                call.subjects.push(run);
                call.input_error = Some(e);
            }
            (Ok(run), Ok(tipo)) => {
                return Some(Pedido { run, tipo });
            }
        }
        None
    });
    let reply = ops::run::<EmitirCertificado>(core.into_inner(), call, pedido).await;
    if wants_pdf(&req) {
        pdf_response(&req, reply)
    } else {
        respond(&req, reply)
    }
}

fn wants_pdf(req: &HttpRequest) -> bool {
    req.headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.split(';').next().unwrap_or("").trim() == "application/pdf")
        })
}

/// The PDF as the body; folio and code in `X-Certificado-Folio` / `X-Certificado-Codigo`.
fn pdf_response(req: &HttpRequest, reply: Reply<Emision>) -> HttpResponse {
    let reply = reply.map(|emision| match emision {
        Emision {
            pdf: Some(pdf),
            folio: Some(folio),
            codigo,
            ..
        } => Ok((pdf, folio, codigo)),
        // Every certificate carries its PDF, and EmitirCertificado refuses a grant without
        // `pdf` before issuing ([`certificado::carried_fields`]): an issued one has it here.
        _ => {
            tracing::error!("an issued certificate came without its PDF");
            Err(ApiError::unavailable())
        }
    });
    let Reply {
        message_id,
        convenio,
        result,
    } = reply;
    let (pdf, folio, codigo) = match result {
        Ok(document) => document,
        Err(e) => {
            let result = Err::<(), _>(e);
            return respond(
                req,
                Reply {
                    message_id,
                    convenio,
                    result,
                },
            );
        }
    };
    // The message id and X-Road headers, as every other answer carries them.
    let result = Ok(());
    let echoed = respond(
        req,
        Reply {
            message_id,
            convenio,
            result,
        },
    );
    let mut builder = HttpResponse::Ok();
    for (name, value) in echoed.headers() {
        if name.as_str().starts_with("x-") {
            builder.insert_header((name.clone(), value.clone()));
        }
    }
    builder
        .content_type("application/pdf")
        .insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{folio}.pdf\""),
        ))
        .insert_header(("x-certificado-folio", folio))
        .insert_header(("x-certificado-codigo", codigo.unwrap_or_default()))
        .body(pdf)
}

//! The admin listener (loopback only): liveness, readiness and reload.

use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::broker::Broker;
use crate::convenios::ConvenioErrors;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::tls::TlsError;
use crate::tls::{CrlStatus, Trust};

/// The admin route table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/admin/convenios/reload", web::post().to(reload_convenios));
}

/// The process is up and answering.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The registry answers a query, and the revocation list (when configured) is not past its
/// nextUpdate: asked at each probe, so a list that expires while the node runs turns it not
/// ready (agency clients are refused from then on).
async fn readyz(
    state: web::Data<AppState>,
    trust: web::Data<Trust>,
) -> Result<HttpResponse, ApiError> {
    state
        .with_db(|conn| Ok(conn.batch_execute("SELECT 1")?))
        .await?;
    let crl = trust.status();
    if let Some(crl) = crl.as_ref().filter(|c| c.expired) {
        return Ok(problem(
            ErrorCode::RevocacionVencida,
            format!(
                "tls.crl {}: its nextUpdate {} has passed; every agency client is refused until \
                 a fresh list is loaded (SIGHUP or POST /admin/convenios/reload)",
                crl.path.display(),
                crl.next_update.to_rfc3339()
            ),
            Vec::new(),
        ));
    }
    let mut ready = json!({ "status": "ready", "database": state.config.database.url.backend() });
    if let Some(crl) = &crl {
        ready["crl"] = crl_json(crl);
    }
    Ok(HttpResponse::Ok().json(ready))
}

/// Reloads the agreements and the revocation list together. A broken list or a broken set is
/// refused (422, with every problem listed) and both stay as they were.
async fn reload_convenios(broker: web::Data<Broker>, trust: web::Data<Trust>) -> HttpResponse {
    match reload(&broker, &trust) {
        Ok(reloaded) => {
            let mut body = json!({ "status": "reloaded", "convenios": reloaded.convenios });
            if let Some(crl) = &reloaded.crl {
                body["crl"] = crl_json(crl);
            }
            HttpResponse::Ok().json(body)
        }
        Err(ReloadError::Convenios(errors)) => {
            tracing::warn!(problems = errors.0.len(), "agreements reload refused");
            problem(
                ErrorCode::ConveniosInvalidos,
                "the agreements were not reloaded; the previous set stays in force".into(),
                errors.0.iter().map(|i| i.to_string()).collect(),
            )
        }
        Err(ReloadError::Crl(error)) => {
            tracing::warn!(error = %error, "revocation list reload refused");
            problem(
                ErrorCode::CrlInvalida,
                "neither the revocation list nor the agreements were reloaded; the list and the \
                 agreements in force stay"
                    .into(),
                vec![error.to_string()],
            )
        }
    }
}

fn crl_json(crl: &CrlStatus) -> serde_json::Value {
    json!({
        "file": crl.path.display().to_string(),
        "next_update": crl.next_update.to_rfc3339(),
        "entries": crl.entries,
        "expired": crl.expired,
    })
}

/// An admin problem (RFC 9457) with the list of what was wrong, when there is one.
fn problem(code: ErrorCode, detail: String, problemas: Vec<String>) -> HttpResponse {
    let status = code.status();
    let mut body = json!({
        "type": format!("urn:siis:problema:{code}"),
        "title": code.title(),
        "status": status,
        "code": code.as_str(),
        "detail": detail,
    });
    if !problemas.is_empty() {
        body["problemas"] = json!(problemas);
    }
    HttpResponse::build(
        actix_web::http::StatusCode::from_u16(status)
            .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR),
    )
    .content_type("application/problem+json")
    .json(body)
}

/// Why a reload changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("{0}")]
    Crl(TlsError),
    #[error("{0}")]
    Convenios(ConvenioErrors),
}

/// What a reload put in force.
#[derive(Debug)]
pub struct Reloaded {
    pub convenios: usize,
    /// The revocation list now in force (`None` without `tls.crl`).
    pub crl: Option<CrlStatus>,
}

/// Reloads the agreements and the revocation list (`tls.crl`) together, all or nothing: the
/// list is read and checked first, then the agreements are loaded and swapped in, and only
/// then the list. A broken list, or a broken agreement set, leaves both as they were.
pub fn reload(broker: &Broker, trust: &Trust) -> Result<Reloaded, ReloadError> {
    let crl = trust.read_crl().map_err(ReloadError::Crl)?;
    let convenios = broker.reload().map_err(ReloadError::Convenios)?;
    let crl = crl.and_then(|pending| trust.install(pending));
    Ok(Reloaded { convenios, crl })
}

//! The admin listener (loopback, or the networks of `listen.admin_allow`): liveness,
//! readiness, the balancer's check, metrics, reload, and the operator's decisions on dead
//! letters ([`entregas`]).

mod entregas;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection;
use serde_json::json;

use crate::broker::Broker;
use crate::convenios::ConvenioErrors;
use crate::drain::Drain;
use crate::error::{ApiError, ErrorCode};
use crate::recargas::Recargas;
use crate::state::AppState;
use crate::tls::TlsError;
use crate::tls::{CrlStatus, Trust};

/// The admin route table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/admin/balanceador", web::get().to(balanceador))
        .route("/metrics", web::get().to(metrics))
        .route("/admin/convenios/reload", web::post().to(reload_convenios))
        .route("/admin/entregas", web::get().to(entregas::listar))
        .route(
            "/admin/entregas/reintentar",
            web::post().to(entregas::reintentar),
        )
        .route(
            "/admin/entregas/descartar",
            web::post().to(entregas::descartar),
        );
}

/// The process is up and answering.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// The load balancer's check (HAProxy `option httpchk` with `http-check disable-on-404`):
/// 200 while the node serves, 404 while it drains before stopping (the balancer sends it no
/// new connection and lets open ones finish), 503 for a fault of this node alone: its
/// revocation list past nextUpdate, when every agency client is refused here. Unlike
/// `/readyz` it asks nothing of the database: were it to fail while the shared PostgreSQL
/// restarts, the balancer would mark every node down at once and clients would get empty
/// replies instead of each node's 503 with `Retry-After`.
async fn balanceador(drain: web::Data<Drain>, trust: web::Data<Trust>) -> HttpResponse {
    if drain.is_draining() {
        return HttpResponse::NotFound().json(json!({ "status": "draining" }));
    }
    if let Some(crl) = trust.status().filter(|c| c.expired) {
        return problem(
            ErrorCode::RevocacionVencida,
            format!(
                "tls.crl {}: its nextUpdate {} has passed; this node refuses every agency client",
                crl.path.display(),
                crl.next_update.to_rfc3339()
            ),
            Vec::new(),
        );
    }
    HttpResponse::Ok().json(json!({ "status": "serving" }))
}

/// What the broker and its audit log measure: OpenMetrics text to a scraper that asks for it
/// (Prometheus does), else the Prometheus text format 0.0.4 (`promtool check metrics`, `curl`).
async fn metrics(
    req: actix_web::HttpRequest,
    broker: web::Data<Broker>,
    drain: web::Data<Drain>,
) -> HttpResponse {
    use prometheus_client::metrics::gauge::ConstGauge;
    let mut registry = prometheus_client::registry::Registry::default();
    broker.register_metrics(&mut registry);
    registry.register(
        "siis_database_down",
        "1 while the database cannot be reached (admissions answer 503 at once)",
        ConstGauge::new(i64::from(broker.outage.is_down())),
    );
    registry.register(
        "siis_draining",
        "1 while the node drains before it stops (the balancer check answers 404)",
        ConstGauge::new(i64::from(drain.is_draining())),
    );
    let mut body = String::new();
    if let Err(error) = prometheus_client::encoding::text::encode(&mut body, &registry) {
        tracing::error!(error = %error, "metrics not encoded");
        return HttpResponse::InternalServerError().finish();
    }
    let openmetrics = req
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    if openmetrics {
        HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(body)
    } else {
        HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(prometheus_text(&body))
    }
}

/// OpenMetrics text as the Prometheus text format 0.0.4: a counter's family is named with its
/// `_total` (as its samples are), and the `# UNIT` and `# EOF` lines, which 0.0.4 lacks, go.
fn prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

/// The registry answers a query, the audit log keeps up (its writer commits what waits, its
/// checkpoint thread ticks, each SQLite WAL is within its bound), and the revocation list (when
/// configured) is not past its nextUpdate: asked at each probe, so a list that expires while
/// the node runs turns it not ready (agency clients are refused from then on).
async fn readyz(
    state: web::Data<AppState>,
    broker: web::Data<Broker>,
    trust: web::Data<Trust>,
) -> Result<HttpResponse, ApiError> {
    state
        .with_db(|conn| Ok(conn.batch_execute("SELECT 1")?))
        .await?;
    let audit = broker.audit.health();
    let stall = std::time::Duration::from_secs(state.config.audit.stall_secs);
    if let Some(waited) = audit.writer_stalled_for.filter(|w| *w > stall) {
        return Ok(problem(
            ErrorCode::AuditoriaDetenida,
            format!(
                "{} audit record(s) have waited {} s with the writer making no progress \
                 (audit.stall_secs = {}): its database is locked or unreachable",
                audit.queued,
                waited.as_secs(),
                stall.as_secs()
            ),
            Vec::new(),
        ));
    }
    if let Some(late) = audit.checkpoints_late_by {
        return Ok(problem(
            ErrorCode::AuditoriaDetenida,
            format!(
                "the WAL checkpoint thread last finished a tick {} s ago",
                late.as_secs()
            ),
            Vec::new(),
        ));
    }
    // Signed checkpoints: three periods without a good tick (one once the log has been open
    // for three periods and none has ended well yet).
    let every = std::time::Duration::from_secs(state.config.audit.checkpoint_secs);
    let signed_late = match audit.signed_age {
        Some(age) => age > every * 3,
        None => broker.audit.age() > every * 3,
    };
    if signed_late {
        return Ok(problem(
            ErrorCode::AuditoriaDetenida,
            format!(
                "no signed audit checkpoint for more than {} s (audit.checkpoint_secs = {}): \
                 the checkpoint file cannot be written",
                every.as_secs() * 3,
                every.as_secs()
            ),
            Vec::new(),
        ));
    }
    if audit.wal.over_limit() {
        let files = audit
            .wal
            .files
            .iter()
            .filter(|f| f.bytes > audit.wal.limit)
            .map(|f| format!("{}: {} bytes", f.schema, f.bytes))
            .collect();
        return Ok(problem(
            ErrorCode::WalExcedido,
            format!(
                "a write-ahead log is past database.wal_limit_mb ({} bytes): a reader holds an \
                 old snapshot, or checkpoints fail",
                audit.wal.limit
            ),
            files,
        ));
    }
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
    let mut ready = json!({
        "status": "ready",
        "database": state.config.database.url.backend(),
        "audit_queue": audit.queued,
    });
    if let Some(crl) = &crl {
        ready["crl"] = crl_json(crl);
    }
    Ok(HttpResponse::Ok().json(ready))
}

/// Reloads the agreements and the revocation list together. A broken list or a broken set is
/// refused (422, with every problem listed) and both stay as they were. With `cluster.nodo`, a
/// reload that succeeded is announced to the other nodes, and the answer's `cluster` names what
/// each one connected made of it within a few seconds (src/recargas.rs).
async fn reload_convenios(
    broker: web::Data<Broker>,
    trust: web::Data<Trust>,
    recargas: Option<web::Data<Recargas>>,
) -> HttpResponse {
    match reload(&broker, &trust) {
        Ok(reloaded) => {
            let mut body = json!({ "status": "reloaded", "convenios": reloaded.convenios });
            if let Some(crl) = &reloaded.crl {
                body["crl"] = crl_json(crl);
            }
            if let Some(recargas) = recargas {
                let pool = broker.pool.clone();
                let convenios = reloaded.convenios;
                let informe = web::block(move || {
                    let publicada = publicar(&recargas, &pool, convenios)?;
                    with_pg(&pool, |pg| {
                        recargas.informe(pg, &publicada, crate::recargas::ESPERA)
                    })
                })
                .await;
                body["cluster"] = match informe {
                    Ok(Ok(informe)) => json!(informe),
                    Ok(Err(error)) => {
                        tracing::error!(error = %error, "agreements reloaded here, not announced to the other nodes");
                        json!({ "error": "the reload could not be announced to the other nodes: the database did not answer" })
                    }
                    Err(error) => {
                        tracing::error!(error = %error, "reload announcement task failed");
                        json!({ "error": "the reload could not be announced to the other nodes" })
                    }
                };
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

/// Whether `peer` may use the admin listener: loopback, or an address of `listen.admin_allow`.
pub fn allowed(peer: Option<std::net::SocketAddr>, allow: &[ipnet::IpNet]) -> bool {
    peer.is_some_and(|p| {
        let ip = p.ip().to_canonical();
        ip.is_loopback() || allow.iter().any(|net| net.contains(&ip))
    })
}

/// The networks besides loopback the admin listener serves (`listen.admin_allow`).
pub struct Allow(pub Vec<ipnet::IpNet>);

/// The admin listener's gate (`middleware::from_fn`): a request from an address it does not
/// serve is answered 403 `ADMIN_NO_PERMITIDO` and goes no further.
pub async fn gate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let peer = req.peer_addr();
    let allow = req.app_data::<web::Data<Allow>>();
    if allowed(peer, allow.map_or(&[], |a| a.0.as_slice())) {
        Ok(next.call(req).await?.map_into_left_body())
    } else {
        Ok(req.into_response(refused(peer)).map_into_right_body())
    }
}

/// The answer to a request from an address the admin listener does not serve.
fn refused(peer: Option<std::net::SocketAddr>) -> HttpResponse {
    tracing::warn!(peer = ?peer.map(|p| p.ip()), "admin request from outside listen.admin_allow refused");
    problem(
        ErrorCode::AdminNoPermitido,
        "the admin listener serves loopback and the networks of listen.admin_allow only".into(),
        Vec::new(),
    )
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

/// Announces a reload that succeeded here to the other nodes (src/recargas.rs).
pub fn publicar(
    recargas: &Recargas,
    pool: &crate::db::Pool,
    convenios: usize,
) -> Result<crate::recargas::Publicada, crate::db::DbError> {
    with_pg(pool, |pg| recargas.publicar(pg, convenios))
}

/// Runs `work` on a PostgreSQL connection of the pool (`cluster.nodo` needs PostgreSQL).
fn with_pg<T>(
    pool: &crate::db::Pool,
    work: impl FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<T>,
) -> Result<T, crate::db::DbError> {
    let mut conn = pool.get()?;
    match &mut **conn {
        crate::db::DbConnection::Pg(pg) => Ok(work(pg)?),
        crate::db::DbConnection::Sqlite(_) => Err(crate::db::DbError::Query(
            diesel::result::Error::QueryBuilderError("cluster.nodo needs PostgreSQL".into()),
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openmetrics_becomes_prometheus_text() {
        let om = "# HELP a_requests Requests.\n# TYPE a_requests counter\na_requests_total{x=\"1\"} 2\n\
                  # HELP b_wait Wait.\n# TYPE b_wait histogram\n# UNIT b_wait seconds\nb_wait_sum 0.0\n\
                  # HELP c Queue.\n# TYPE c gauge\nc 3\n# EOF\n";
        assert_eq!(
            prometheus_text(om),
            "# HELP a_requests_total Requests.\n# TYPE a_requests_total counter\na_requests_total{x=\"1\"} 2\n\
             # HELP b_wait Wait.\n# TYPE b_wait histogram\nb_wait_sum 0.0\n\
             # HELP c Queue.\n# TYPE c gauge\nc 3\n"
        );
    }

    /// The gate answers a request from outside its networks itself: the route never runs.
    #[actix_web::test]
    async fn the_gate_refuses_an_address_outside_its_networks() {
        use actix_web::{App, test};
        let allow = web::Data::new(Allow(vec!["10.1.0.0/16".parse().unwrap()]));
        let app = test::init_service(
            App::new()
                .app_data(allow)
                .wrap(actix_web::middleware::from_fn(gate))
                .route("/healthz", web::get().to(healthz)),
        )
        .await;
        let from = |ip: &str| {
            test::TestRequest::get()
                .uri("/healthz")
                .peer_addr(format!("{ip}:40000").parse().unwrap())
                .to_request()
        };
        let inside = test::call_service(&app, from("10.1.9.9")).await;
        assert_eq!(inside.status(), 200);
        let local = test::call_service(&app, from("127.0.0.1")).await;
        assert_eq!(local.status(), 200);
        let outside = test::call_service(&app, from("192.0.2.7")).await;
        assert_eq!(outside.status(), 403);
        let body: serde_json::Value = test::read_body_json(outside).await;
        assert_eq!(body["code"], "ADMIN_NO_PERMITIDO");
    }

    #[test]
    fn the_admin_listener_serves_loopback_and_its_networks_only() {
        let net: ipnet::IpNet = "10.1.0.0/16".parse().unwrap();
        let at = |ip: &str| Some(std::net::SocketAddr::new(ip.parse().unwrap(), 40000));
        assert!(allowed(at("127.0.0.1"), &[]));
        assert!(allowed(at("::1"), &[]));
        assert!(allowed(at("::ffff:127.0.0.1"), &[]));
        assert!(!allowed(at("10.1.2.3"), &[]));
        assert!(allowed(at("10.1.2.3"), std::slice::from_ref(&net)));
        assert!(allowed(at("::ffff:10.1.2.3"), std::slice::from_ref(&net)));
        assert!(!allowed(at("10.2.0.1"), &[net]));
        assert!(!allowed(None, &[]));
    }
}

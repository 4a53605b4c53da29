//! The operator's side of push deliveries on the admin listener (docs/eventos.md, "Dead
//! letters"): `GET /admin/entregas` lists counts by subscription and state and names the dead
//! letters (no RUN, no event's data); `POST /admin/entregas/reintentar` and
//! `/admin/entregas/descartar` take one selection (`suscripcion` with or without `desde`,
//! `convenio`, or `secuencia` as `SUSCRIPCION:N`) and an optional `motivo`.
//!
//! Each replay or discard that changes a row is an operator's decision and is audited: one
//! record (`transporte` admin, operation `ReintentarEntregas` / `DescartarEntregas`, the
//! subscriptions' agreement, the selection, the count and the reason in `proposito`) committed
//! before the rows' change commits, in the same transaction as the broker commits a write with
//! its record. The record names no person and charges no quota (`personas` 0): the decision
//! discloses nothing; each delivery it leads to is audited on its own, naming its person.
//! `siis entregas reintentar|descartar` calls these endpoints, so that the node stays the audit
//! chain's only writer.

use std::time::Instant;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use crate::audit::AuditRecord;
use crate::broker::Broker;
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::ops::suscripciones::operador::{self, Cambio, Filtro, Seleccion};

/// The longest `motivo` an operator may give (it goes into the audit record).
pub const MOTIVO_MAXIMO: usize = 200;

/// `GET /admin/entregas` as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Consulta {
    convenio: Option<String>,
    suscripcion: Option<String>,
    estado: Option<String>,
    limite: Option<u32>,
}

/// The body of `POST /admin/entregas/reintentar` and `/descartar`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decision {
    pub suscripcion: Option<String>,
    pub desde: Option<i64>,
    pub convenio: Option<String>,
    pub secuencia: Option<String>,
    /// Why (free text, at most [`MOTIVO_MAXIMO`] characters): kept in the audit record.
    pub motivo: Option<String>,
}

/// The two decisions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Accion {
    Reintentar,
    Descartar,
}

impl Accion {
    fn operacion(self) -> &'static str {
        match self {
            Accion::Reintentar => "ReintentarEntregas",
            Accion::Descartar => "DescartarEntregas",
        }
    }
}

/// Runs `work` on a registry connection off the async executor.
async fn en_registro<T, F>(broker: &Broker, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = broker.pool.clone();
    let outage = broker.outage.clone();
    web::block(move || {
        let mut conn = pool.get().map_err(|e| {
            tracing::error!(error = %e, "no registry connection");
            if crate::outage::pool_could_not_connect(&e) {
                outage.mark_down(&e);
            }
            ApiError::unavailable()
        })?;
        work(&mut conn)
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "blocking task failed");
        Err(ApiError::unavailable())
    })
}

/// `GET /admin/entregas?convenio=&suscripcion=&estado=&limite=`.
pub async fn listar(req: HttpRequest, broker: web::Data<Broker>) -> Result<HttpResponse, ApiError> {
    let consulta = web::Query::<Consulta>::from_query(req.query_string())
        .map_err(|e| operador::seleccion_invalida(format!("query: {e}")))?
        .into_inner();
    let filtro = Filtro::parse(
        consulta.convenio.as_deref(),
        consulta.suscripcion.as_deref(),
        consulta.estado.as_deref(),
        consulta.limite,
    )?;
    let listado = en_registro(&broker, move |conn| operador::listar(conn, &filtro)).await?;
    Ok(HttpResponse::Ok().json(listado))
}

pub async fn reintentar(
    broker: web::Data<Broker>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    decidir(&broker, Accion::Reintentar, &body).await
}

pub async fn descartar(
    broker: web::Data<Broker>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    decidir(&broker, Accion::Descartar, &body).await
}

/// The decision's selection and reason, checked before anything is read.
fn leer_decision(body: &[u8]) -> Result<(Seleccion, Option<String>), ApiError> {
    let decision: Decision = serde_json::from_slice(body)
        .map_err(|e| operador::seleccion_invalida(format!("body: {e}")))?;
    let seleccion = Seleccion::parse(
        decision.suscripcion.as_deref(),
        decision.desde,
        decision.convenio.as_deref(),
        decision.secuencia.as_deref(),
    )?;
    let motivo = decision.motivo.filter(|m| !m.trim().is_empty());
    if let Some(m) = &motivo
        && (m.chars().count() > MOTIVO_MAXIMO || m.chars().any(char::is_control))
    {
        return Err(operador::seleccion_invalida(format!(
            "motivo: at most {MOTIVO_MAXIMO} characters, on one line"
        )));
    }
    Ok((seleccion, motivo))
}

/// Changes the selected dead letters and, when any changed, commits the decision's audit
/// record first, in the change's transaction: no change is left without its record.
async fn decidir(broker: &Broker, accion: Accion, body: &[u8]) -> Result<HttpResponse, ApiError> {
    let started = Instant::now();
    let ts = chrono::Utc::now();
    let (seleccion, motivo) = leer_decision(body)?;
    let audit = broker.audit.clone();
    let outage = broker.outage.clone();
    let message_id = uuid::Uuid::new_v4().to_string();
    let id = message_id.clone();
    let descrita = seleccion.describir();
    let (cambio, registro) = en_registro(broker, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            let cambio = match accion {
                Accion::Reintentar => operador::reintentar(conn, &seleccion)?,
                Accion::Descartar => operador::descartar(conn, &seleccion)?,
            };
            if cambio.entregas == 0 {
                return Ok((cambio, None));
            }
            let record = registro_de(accion, &cambio, &seleccion, motivo, ts, id, started);
            let registro = audit.append_blocking(record).map_err(|error| {
                tracing::error!(error = %error, "audit record not written: decision rolled back");
                if let crate::audit::AuditError::Storage(cause) = &error {
                    outage.note(cause);
                }
                ApiError::unavailable()
            })?;
            Ok((cambio, Some(registro.get())))
        })
    })
    .await?;
    tracing::info!(
        operacion = accion.operacion(),
        convenio = %cambio.convenio,
        entregas = cambio.entregas,
        "operator's decision on dead letters"
    );
    Ok(HttpResponse::Ok().json(json!({
        "convenio": cambio.convenio,
        "seleccion": descrita,
        "entregas": cambio.entregas,
        "estado": cambio.estado,
        "registro": registro,
        "id_mensaje": registro.map(|_| message_id),
    })))
}

/// The decision's audit record: its agreement, no person, no field, no unit of quota.
fn registro_de(
    accion: Accion,
    cambio: &Cambio,
    seleccion: &Seleccion,
    motivo: Option<String>,
    ts: chrono::DateTime<chrono::Utc>,
    message_id: String,
    started: Instant,
) -> AuditRecord {
    let mut proposito = format!(
        "{}: {} dead letter(s) to {}",
        seleccion.describir(),
        cambio.entregas,
        cambio.estado
    );
    if let Some(m) = motivo {
        proposito.push_str("; motivo: ");
        proposito.push_str(&m);
    }
    AuditRecord {
        ts,
        convenio: Some(cambio.convenio.clone()),
        certificate: None,
        operation: accion.operacion().into(),
        transport: "admin",
        message_id,
        subjects: Vec::new(),
        undisclosed: Vec::new(),
        purpose: Some(proposito),
        fields: Vec::new(),
        outcome: "OK".into(),
        http_status: 200,
        latency_us: started.elapsed().as_micros() as u64,
        xroad: None,
        omitidos: None,
        personas: Some(0),
        usuario: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_names_one_selection_and_a_short_reason() {
        let id = "0b5f6c1e-8d43-4a57-9a39-5d3c1f4e2a10";
        let ok = |body: serde_json::Value| leer_decision(body.to_string().as_bytes());
        let (s, m) =
            ok(json!({"suscripcion": id, "desde": 4, "motivo": "receptor reparado"})).unwrap();
        assert_eq!(
            s,
            Seleccion::Suscripcion {
                id: id.into(),
                desde: Some(4)
            }
        );
        assert_eq!(m.as_deref(), Some("receptor reparado"));
        let (s, _) = ok(json!({"secuencia": format!("{id}:7")})).unwrap();
        assert_eq!(
            s,
            Seleccion::Secuencia {
                id: id.into(),
                secuencia: 7
            }
        );
        for bad in [
            json!({}),
            json!({"suscripcion": id, "convenio": "ips"}),
            json!({"convenio": "ips", "desde": 2}),
            json!({"suscripcion": "no-es-un-id"}),
            json!({"suscripcion": id, "desde": 0}),
            json!({"secuencia": id}),
            json!({"secuencia": format!("{id}:0")}),
            json!({"convenio": ""}),
            json!({"convenio": "ips", "otro": 1}),
            json!({"convenio": "ips", "motivo": "a\nb"}),
            json!({"convenio": "ips", "motivo": "x".repeat(MOTIVO_MAXIMO + 1)}),
        ] {
            let error = ok(bad.clone()).unwrap_err();
            assert_eq!(error.code.as_str(), "SELECCION_INVALIDA", "{bad}");
        }
        assert!(leer_decision(b"not json").is_err());
    }

    /// The gate answers for these routes as for the others: from outside its networks the
    /// route never runs (it would need a broker this app does not have).
    #[actix_web::test]
    async fn the_gate_refuses_them_outside_its_networks() {
        use actix_web::{App, test};
        let allow = web::Data::new(super::super::Allow(vec!["10.1.0.0/16".parse().unwrap()]));
        let app = test::init_service(
            App::new()
                .app_data(allow)
                .wrap(actix_web::middleware::from_fn(super::super::gate))
                .configure(super::super::routes),
        )
        .await;
        let requests = || {
            [
                test::TestRequest::get().uri("/admin/entregas?estado=muerta"),
                test::TestRequest::post()
                    .uri("/admin/entregas/reintentar")
                    .set_json(json!({"convenio": "ips"})),
                test::TestRequest::post()
                    .uri("/admin/entregas/descartar")
                    .set_json(json!({"convenio": "ips"})),
            ]
        };
        for request in requests() {
            let outside = request.peer_addr("192.0.2.7:40000".parse().unwrap());
            let answer = test::call_service(&app, outside.to_request()).await;
            assert_eq!(answer.status(), 403);
            let body: serde_json::Value = test::read_body_json(answer).await;
            assert_eq!(body["code"], "ADMIN_NO_PERMITIDO");
        }
        // From inside, the gate lets them through to the routes (which, without a broker
        // here, fail to extract it: not a 403).
        for request in requests() {
            let inside = request.peer_addr("10.1.9.9:40000".parse().unwrap());
            let answer = test::call_service(&app, inside.to_request()).await;
            assert_ne!(answer.status(), 403);
        }
    }
}

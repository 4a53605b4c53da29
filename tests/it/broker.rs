//! Enforcement: default deny, validity, grants, revocation, rate limits, quotas, replay, and
//! problem details with stable codes. Every refusal is audited.

use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::schema::auditoria;
use siis::ops::ficha;

use crate::per_backend;
use crate::registry;
use crate::support::{Backend, Setup, TestNode, convenios_with};

/// The newest audit record: (agreement, operation, outcome, status, message id).
fn last_audit(node: &TestNode) -> (Option<String>, String, String, i32, String) {
    auditoria::table
        .order(auditoria::id.desc())
        .select((
            auditoria::convenio,
            auditoria::operacion,
            auditoria::resultado,
            auditoria::estado_http,
            auditoria::id_mensaje,
        ))
        .first(&mut node.db())
        .expect("an audit record")
}

/// Row counts of the registry's tables (what bad input must never change).
fn registry_digest(node: &TestNode) -> Vec<i64> {
    use siis::db::schema::{beneficios, fichas, hogares, integrantes, personas};
    let mut conn = node.db();
    vec![
        personas::table.count().get_result(&mut conn).unwrap(),
        hogares::table.count().get_result(&mut conn).unwrap(),
        integrantes::table.count().get_result(&mut conn).unwrap(),
        fichas::table.count().get_result(&mut conn).unwrap(),
        beneficios::table.count().get_result(&mut conn).unwrap(),
    ]
}

fn audit_count(node: &TestNode) -> i64 {
    auditoria::table
        .count()
        .get_result(&mut node.db())
        .expect("count")
}

async fn problem(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json",
        "status {status}"
    );
    (status, response.json().await.expect("problem body"))
}

fn convenio_text(
    id: &str,
    from: &str,
    until: &str,
    per_second: u32,
    burst: u32,
    quota: u64,
) -> String {
    format!(
        "id = \"{id}\"\nagency = \"Agencia de prueba\"\nlegal_basis = \"Ley 19.628\"\n\
         purpose = \"Pruebas\"\nvalid_from = {from}\nvalid_until = {until}\n\
         [limits]\nper_second = {per_second}\nburst = {burst}\ndaily_quota = {quota}\n\
         [[clients]]\nsubject_cn = \"{id}\"\n\
         [operations.ConsultarFichaFPS]\nfields = [\"run\", \"puntaje\"]\n"
    )
}

per_backend!(
    async fn a_certificate_without_convenio_is_refused_and_audited(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                extra_clients: vec!["sin-convenio"],
                ..Setup::default()
            },
        )
        .await;
        let before = audit_count(&node);
        let response = node
            .client(Some("sin-convenio"))
            .get(node.agency_url("/api/v1/ping"))
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("NO_AUTORIZADO"))
        );
        assert_eq!(audit_count(&node), before + 1);
        let (convenio, operation, outcome, http, _) = last_audit(&node);
        assert_eq!(convenio, None);
        assert_eq!(
            (operation.as_str(), outcome.as_str(), http),
            ("Ping", "NO_AUTORIZADO", 403)
        );
        node.stop().await;
    }
);

#[tokio::test]
async fn a_convenio_out_of_its_validity_window_is_refused() {
    let dir = tempfile::TempDir::new().unwrap();
    let convenios = convenios_with(
        dir.path(),
        &[
            (
                "vencido.toml",
                &convenio_text("vencido", "2020-01-01", "2021-12-31", 10, 10, 100),
            ),
            (
                "futuro.toml",
                &convenio_text("futuro", "2030-01-01", "2031-12-31", 10, 10, 100),
            ),
        ],
    );
    let node = TestNode::start_with(
        Backend::Sqlite,
        Setup {
            convenios: Some(convenios),
            ..Setup::default()
        },
    )
    .await;
    for id in ["vencido", "futuro"] {
        let response = node
            .client(Some(id))
            .get(node.agency_url("/api/v1/personas/12345678-5/ficha"))
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("CONVENIO_NO_VIGENTE")),
            "{id}"
        );
        let (convenio, _, outcome, _, _) = last_audit(&node);
        assert_eq!(
            (convenio.as_deref(), outcome.as_str()),
            (Some(id), "CONVENIO_NO_VIGENTE")
        );
    }
    node.stop().await;
}

per_backend!(
    async fn an_operation_the_convenio_does_not_grant_is_refused(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 500,
                ..Setup::default()
            },
        )
        .await;
        let run = registry::with_ficha(&mut node.db(), None);
        // ORASMI may look up fichas but not eligibility; the operator only reads accesses.
        for (convenio, path) in [
            ("orasmi-13", format!("/api/v1/personas/{run}/elegibilidad/PBS")),
            ("operador", format!("/api/v1/personas/{run}/ficha")),
            ("bbnn", format!("/api/v1/personas/{run}/accesos")),
        ] {
            let response = node
                .client(Some(convenio))
                .get(node.agency_url(&path))
                .send()
                .await
                .unwrap();
            let (status, body) = problem(response).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (403, Some("NO_AUTORIZADO")),
                "{convenio} {path}"
            );
            let detail = body["detail"].as_str().unwrap();
            assert!(
                !detail.contains(&run.to_string()),
                "no personal data in errors: {detail}"
            );
        }
        // IPS may check eligibility, but only for its pension programs.
        let response = node
            .client(Some("ips"))
            .get(node.agency_url(&format!("/api/v1/personas/{run}/elegibilidad/FSV1")))
            .send()
            .await
            .unwrap();
        let (status, body) = problem(response).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("NO_AUTORIZADO"))
        );
        node.stop().await;
    }
);

#[tokio::test]
async fn a_revoked_certificate_fails_the_handshake() {
    let node = TestNode::start_with(
        Backend::Sqlite,
        Setup {
            revoked: vec!["orasmi-13"],
            ..Setup::default()
        },
    )
    .await;
    let refused = node
        .client(Some("orasmi-13"))
        .get(node.agency_url("/api/v1/ping"))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a revoked certificate must not get through"
    );
    let allowed = node
        .client(Some("minvu"))
        .get(node.agency_url("/api/v1/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
    node.stop().await;
}

per_backend!(
    async fn the_rate_limit_holds_under_concurrency_with_retry_after(backend) {
        let dir = tempfile::TempDir::new().unwrap();
        let convenios = convenios_with(
            dir.path(),
            &[(
                "lento.toml",
                &convenio_text("lento", "2026-01-01", "2030-12-31", 1, 5, 1_000),
            )],
        );
        let node = TestNode::start_with(
            backend,
            Setup {
                convenios: Some(convenios.clone()),
                ..Setup::default()
            },
        )
        .await;
        let client = node.client(Some("lento"));
        let url = node.agency_url("/api/v1/ping");
        let responses = futures_join(&client, &url, 30).await;
        let ok = responses.iter().filter(|(s, _, _)| *s == 200).count();
        let limited: Vec<_> = responses.iter().filter(|(s, _, _)| *s == 429).collect();
        // A burst of 5, plus at most one more if a second passed while sending.
        assert!((5..=6).contains(&ok), "{ok} admitted");
        assert_eq!(ok + limited.len(), 30);
        for (_, code, retry) in limited {
            assert_eq!(code, "LIMITE_EXCEDIDO");
            assert!(retry.is_some_and(|r| r >= 1), "Retry-After is given");
        }
        node.stop().await;
    }
);

per_backend!(
    async fn the_daily_quota_holds_under_concurrency(backend) {
        let dir = tempfile::TempDir::new().unwrap();
        let convenios = convenios_with(
            dir.path(),
            &[(
                "cuota.toml",
                &convenio_text("cuota", "2026-01-01", "2030-12-31", 1000, 1000, 7),
            )],
        );
        let node = TestNode::start_with(
            backend,
            Setup {
                convenios: Some(convenios.clone()),
                ..Setup::default()
            },
        )
        .await;
        let client = node.client(Some("cuota"));
        let responses = futures_join(&client, &node.agency_url("/api/v1/ping"), 25).await;
        let ok = responses.iter().filter(|(s, _, _)| *s == 200).count();
        assert_eq!(ok, 7, "exactly the quota is served");
        for (status, code, retry) in responses.iter().filter(|(s, _, _)| *s != 200) {
            assert_eq!((*status, code.as_str()), (429, "CUOTA_EXCEDIDA"));
            assert!(retry.is_some_and(|r| (1..=86_400).contains(&r)));
        }
        node.stop().await;
    }
);

/// Sends `n` concurrent GETs; returns (status, problem code, Retry-After) for each.
async fn futures_join(
    client: &reqwest::Client,
    url: &str,
    n: usize,
) -> Vec<(u16, String, Option<u64>)> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (client, url) = (client.clone(), url.to_owned());
        tasks.spawn(async move {
            let response = client.get(&url).send().await.unwrap();
            let status = response.status().as_u16();
            let retry = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            let code = if status == 200 {
                String::new()
            } else {
                response.json::<Value>().await.unwrap()["code"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned()
            };
            (status, code, retry)
        });
    }
    tasks.join_all().await
}

per_backend!(
    async fn message_ids_are_echoed_generated_audited_and_never_replayed(backend) {
        let node = TestNode::start(backend).await;
        let client = node.client(Some("minvu"));
        let url = node.agency_url("/api/v1/ping");
        let first = client
            .get(&url)
            .header("X-Request-Id", "minvu-0001")
            .send()
            .await
            .unwrap();
        assert_eq!(first.status(), 200);
        assert_eq!(first.headers()["x-request-id"], "minvu-0001");
        assert_eq!(last_audit(&node).4, "minvu-0001");

        let again = client
            .get(&url)
            .header("X-Request-Id", "minvu-0001")
            .send()
            .await
            .unwrap();
        assert_eq!(again.headers()["x-request-id"], "minvu-0001");
        let (status, body) = problem(again).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("MENSAJE_REPETIDO"))
        );
        let (_, _, outcome, _, id) = last_audit(&node);
        assert_eq!(
            (outcome.as_str(), id.as_str()),
            ("MENSAJE_REPETIDO", "minvu-0001")
        );

        // The same id from another agreement is a different message.
        let other = node
            .client(Some("ips"))
            .get(&url)
            .header("X-Request-Id", "minvu-0001")
            .send()
            .await
            .unwrap();
        assert_eq!(other.status(), 200);

        // X-Road-Id is accepted and echoed too.
        let xroad = client
            .get(&url)
            .header("X-Road-Id", "xr-42")
            .send()
            .await
            .unwrap();
        assert_eq!(xroad.headers()["x-road-id"], "xr-42");
        assert_eq!(xroad.headers()["x-request-id"], "xr-42");

        // Without one, the node makes one up and returns it.
        let plain = client.get(&url).send().await.unwrap();
        let generated = plain.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_eq!(generated.len(), 36, "a UUID: {generated}");
        assert_eq!(last_audit(&node).4, generated);

        // A message id that is not printable ASCII is refused.
        let bad = client
            .get(&url)
            .header("X-Request-Id", "x".repeat(200))
            .send()
            .await
            .unwrap();
        let (status, body) = problem(bad).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("SOLICITUD_INVALIDA"))
        );
        node.stop().await;
    }
);

per_backend!(
    async fn bad_input_gets_stable_codes_and_changes_nothing(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 300,
                ..Setup::default()
            },
        )
        .await;
        let registry_before = registry_digest(&node);
        let client = node.client(Some("minvu"));
        let get = |path: String| {
            let (client, url) = (client.clone(), node.agency_url(&path));
            async move { problem(client.get(url).send().await.unwrap()).await }
        };
        let (s, b) = get("/api/v1/personas/12.345.678-4/ficha".into()).await;
        assert_eq!((s, b["code"].as_str()), (400, Some("RUN_INVALIDO")));
        let (s, b) = get(format!("/api/v1/personas/{}/ficha", registry::unknown())).await;
        assert_eq!((s, b["code"].as_str()), (404, Some("NO_ENCONTRADO")));
        let (s, b) = get(format!(
            "/api/v1/personas/{}/ficha",
            registry::without_ficha(&mut node.db())
        ))
        .await;
        assert_eq!((s, b["code"].as_str()), (404, Some("SIN_FICHA")));
        let run = registry::with_ficha(&mut node.db(), None);
        let (s, b) = get(format!("/api/v1/personas/{run}/elegibilidad/NOPE")).await;
        assert_eq!((s, b["code"].as_str()), (404, Some("PROGRAMA_DESCONOCIDO")));

        let post = |path: &str, content_type: &str, body: String| {
            client
                .post(node.agency_url(path))
                .header("content-type", content_type.to_owned())
                .body(body)
                .send()
        };
        let (s, b) = problem(
            post(
                "/api/v1/fichas/consultas",
                "application/json",
                "{\"runs\": [".into(),
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!((s, b["code"].as_str()), (400, Some("SOLICITUD_INVALIDA")));
        let (s, b) = problem(
            post(
                "/api/v1/fichas/consultas",
                "text/plain",
                "{\"runs\": []}".into(),
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!((s, b["code"].as_str()), (415, Some("TIPO_NO_SOPORTADO")));
        let too_many: Vec<String> = (0..501).map(|_| run.to_string()).collect();
        let (s, b) = problem(
            post(
                "/api/v1/fichas/consultas",
                "application/json",
                json!({ "runs": too_many }).to_string(),
            )
            .await
            .unwrap(),
        )
        .await;
        assert_eq!((s, b["code"].as_str()), (413, Some("LOTE_EXCEDIDO")));
        let (s, b) = problem(
            node.client(Some("ips"))
                .post(node.agency_url("/api/v1/identidad/validaciones"))
                .json(&json!({ "run": "6-0" }))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((s, b["code"].as_str()), (400, Some("RUN_INVALIDO")));
        // Every one of those was audited as refused, and the registry is unchanged.
        let refused: i64 = auditoria::table
            .filter(auditoria::resultado.ne("OK"))
            .count()
            .get_result(&mut node.db())
            .unwrap();
        assert_eq!(refused, 8);
        assert_eq!(
            registry_digest(&node),
            registry_before,
            "bad input changes nothing"
        );
        node.stop().await;
    }
);

#[tokio::test]
async fn reload_refuses_a_broken_set_and_keeps_the_previous_one() {
    let dir = tempfile::TempDir::new().unwrap();
    let convenios = convenios_with::<&str>(dir.path(), &[]);
    let node = TestNode::start_with(
        Backend::Sqlite,
        Setup {
            convenios: Some(convenios.clone()),
            extra_clients: vec!["nuevo"],
            ..Setup::default()
        },
    )
    .await;
    let admin = node.client(None);
    let reload = || admin.post(node.admin_url("/admin/convenios/reload")).send();
    // A new, valid agreement becomes usable after a reload.
    let nuevo = node.client(Some("nuevo"));
    let ping = node.agency_url("/api/v1/ping");
    assert_eq!(nuevo.get(&ping).send().await.unwrap().status(), 403);
    std::fs::write(
        convenios.join("nuevo.toml"),
        convenio_text("nuevo", "2026-01-01", "2030-12-31", 10, 10, 100),
    )
    .unwrap();
    let ok = reload().await.unwrap();
    assert_eq!(ok.status(), 200);
    let files = std::fs::read_dir(&convenios)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    assert_eq!(ok.json::<Value>().await.unwrap()["convenios"], files);
    assert_eq!(nuevo.get(&ping).send().await.unwrap().status(), 200);

    // A broken file: refused with every problem named, and the previous set stays.
    std::fs::write(
        convenios.join("roto.toml"),
        "id = \"roto\"\nvalid_from = 2026-13-01\n",
    )
    .unwrap();
    let refused = reload().await.unwrap();
    assert_eq!(refused.status(), 422);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "CONVENIOS_INVALIDOS");
    assert!(
        body["problemas"][0].as_str().unwrap().contains("roto.toml"),
        "{body}"
    );
    assert_eq!(nuevo.get(&ping).send().await.unwrap().status(), 200);
    assert_eq!(
        node.client(Some("minvu"))
            .get(&ping)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    node.stop().await;
}

per_backend!(
    async fn unknown_paths_wrong_methods_and_huge_bodies_are_refused_and_audited(backend) {
        let node = TestNode::start(backend).await;
        let client = node.client(Some("minvu"));
        let before = audit_count(&node);
        let (s, b) = problem(
            client
                .get(node.agency_url("/api/v1/nada"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((s, b["code"].as_str()), (404, Some("RUTA_DESCONOCIDA")));
        let (s, b) = problem(
            client
                .delete(node.agency_url("/api/v1/ping"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((s, b["code"].as_str()), (405, Some("METODO_NO_PERMITIDO")));
        let huge = format!("{{\"runs\": [\"{}\"]}}", "1".repeat(2 << 20));
        let (s, b) = problem(
            client
                .post(node.agency_url("/api/v1/fichas/consultas"))
                .header("content-type", "application/json")
                .body(huge)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!((s, b["code"].as_str()), (413, Some("DEMASIADO_GRANDE")));
        assert_eq!(audit_count(&node), before + 3);
        let (_, operation, outcome, _, _) = last_audit(&node);
        assert_eq!(
            (operation.as_str(), outcome.as_str()),
            ("ConsultarFichaFPS", "DEMASIADO_GRANDE")
        );
        node.stop().await;
    }
);

#[tokio::test]
async fn a_request_refused_by_the_rate_limit_does_not_use_up_its_message_id() {
    let dir = tempfile::TempDir::new().unwrap();
    let convenios = convenios_with(
        dir.path(),
        &[(
            "lento.toml",
            &convenio_text("lento", "2026-01-01", "2030-12-31", 1, 1, 1_000),
        )],
    );
    let node = TestNode::start_with(
        Backend::Sqlite,
        Setup {
            convenios: Some(convenios),
            ..Setup::default()
        },
    )
    .await;
    let client = node.client(Some("lento"));
    let url = node.agency_url("/api/v1/ping");
    assert_eq!(
        client
            .get(&url)
            .header("X-Request-Id", "a-1")
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let limited = client
        .get(&url)
        .header("X-Request-Id", "b-1")
        .send()
        .await
        .unwrap();
    assert_eq!(limited.status(), 429);
    let wait = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
    let retried = client
        .get(&url)
        .header("X-Request-Id", "b-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        retried.status(),
        200,
        "the retry after Retry-After is accepted"
    );
    node.stop().await;
}

/// A REST ConsultarFichaFPS call as the transport hands it to the broker, from the client
/// certificate of `convenio`.
fn lookup_call(node: &TestNode, convenio: &str) -> siis::broker::Call {
    use rustls_pki_types::pem::PemObject;
    use siis::broker::{Call, Service, Transport};
    use siis::catalog::Operation;
    let pem = std::fs::read(node.pki.join(format!("clients/{convenio}.pem"))).unwrap();
    let der = rustls_pki_types::CertificateDer::from_pem_slice(&pem).unwrap();
    let identity = siis::tls::ClientIdentity::from_der(&der).unwrap();
    Call {
        identity: Some(std::sync::Arc::new(identity)),
        transport: Transport::Rest,
        service: Service::Op(Operation::ConsultarFichaFPS),
        message_id: None,
        subjects: Vec::new(),
        input_error: None,
        xroad: Vec::new(),
        peer: None,
        usuario: None,
        remitente: None,
        cobro_minimo: 0,
        entrega_a: None,
    }
}

/// A gate that blocking code waits at until the test opens it.
#[derive(Default)]
struct Gate(std::sync::Mutex<bool>, std::sync::Condvar);

impl Gate {
    fn wait(&self) {
        let open = self.0.lock().unwrap();
        drop(self.1.wait_while(open, |open| !*open).unwrap());
    }

    fn open(&self) {
        *self.0.lock().unwrap() = true;
        self.1.notify_all();
    }
}

/// Takes every registry permit of `node` until `gate` opens, with requests that the broker
/// admits and audits like any other; the handles answer when they are done.
fn hold_every_connection(
    node: &TestNode,
    gate: &std::sync::Arc<Gate>,
) -> Vec<actix_web::rt::task::JoinHandle<siis::broker::Reply<siis::ops::ficha::FichaFps>>> {
    let broker = node.node.broker.clone().into_inner();
    (0..node.config.database.pool_size)
        .map(|_| {
            let (broker, gate) = (broker.clone(), gate.clone());
            let call = lookup_call(node, "minvu");
            actix_web::rt::spawn(async move {
                broker
                    .call(call, move |_, _| {
                        gate.wait();
                        Ok(siis::ops::ficha::FichaFps::default())
                    })
                    .await
            })
        })
        .collect()
}

/// Waits until `n` single lookups are queued on `node`'s broker (10 s at most).
async fn until_queued(node: &TestNode, n: usize) {
    let broker = node.node.broker.clone().into_inner();
    for _ in 0..1000 {
        if broker.lookup_groups().queued == n {
            return;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("{:?}, not {n} queued", broker.lookup_groups());
}

/// A request that cannot get a registry connection within `database.pool_timeout_secs`
/// (every permit held by slower requests) is answered 503 and audited, instead of queueing
/// behind them without end; the requests holding the connections still finish. A single FPS
/// lookup, which queues to be read with others, waits no longer either, leaves the queue, and
/// is never read.
#[actix_web::test]
async fn a_request_waits_for_a_connection_no_longer_than_the_pool_timeout() {
    use siis::ops::ficha::FichaFps;
    use std::time::{Duration, Instant};
    let node = TestNode::start_with(Backend::Sqlite, Setup::default()).await;
    let call = || lookup_call(&node, "minvu");
    let size = node.config.database.pool_size as usize;
    let timeout = Duration::from_secs(node.config.database.pool_timeout_secs);
    let before = audit_count(&node);
    let broker = node.node.broker.clone().into_inner();
    // Every permit held until both requests below are refused.
    let gate = std::sync::Arc::new(Gate::default());
    let holders = hold_every_connection(&node, &gate);
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    // Refused with 503 once the timeout has passed, not long after.
    let refused_in_time = |reply: siis::broker::Reply<FichaFps>, started: Instant| {
        let waited = started.elapsed();
        let error = reply.result.expect_err("no connection: refused");
        assert_eq!(error.status(), 503, "{error:?}");
        assert!(
            waited >= timeout && waited < timeout * 2,
            "answered after {waited:?}, timeout {timeout:?}"
        );
    };
    let started = Instant::now();
    let reply = broker
        .clone()
        .call(call(), |_, _| Ok(FichaFps::default()))
        .await;
    refused_in_time(reply, started);
    let started = Instant::now();
    let lookup = ficha::consultar(broker.clone(), call(), Some(registry::unknown()));
    refused_in_time(lookup.await, started);
    assert_eq!(
        broker.lookup_groups().queued,
        0,
        "the refused lookup left the queue"
    );
    gate.open();
    for holder in holders {
        assert!(holder.await.unwrap().result.is_ok());
    }
    assert_eq!(audit_count(&node), before + size as i64 + 2);
    // The refused lookup left the queue: the next one is read alone, and only it.
    let reply = ficha::consultar(broker.clone(), call(), Some(registry::unknown())).await;
    assert_eq!(reply.result.unwrap_err().code, "NO_ENCONTRADO");
    let read = broker.lookup_groups();
    assert_eq!((read.groups, read.lookups), (1, 1), "{read:?}");
    node.stop().await;
}

per_backend!(
    /// Single lookups that wait for a connection together are read together (at most
    /// `broker.lookup_group_max` at a time), and each is still answered under its own agreement
    /// (scope, members, fields) exactly as a lookup read on its own connection, and audited once.
    #[actix_web::test]
    async fn lookups_waiting_together_are_read_together_and_answered_each_as_alone(backend) {
        use siis::ops::ficha;
        let setup = Setup {
            persons: 4_000,
            // Long enough that no lookup gives up on a slow machine.
            pool_timeout_secs: Some(30),
            ..Setup::default()
        };
        let node = TestNode::start_with(backend, setup).await;
        let mut conn = node.db();
        let runs = registry::every_kind(&mut conn);
        // Members and no scope, no members, members within one comuna.
        let convenios = ["minvu", "ips", "muni-13101"];
        let broker = node.node.broker.clone().into_inner();
        let answer = |reply: siis::broker::Reply<ficha::FichaFps>| match reply.result {
            Ok(ficha) => Ok(ficha),
            // Out of scope answers NO_ENCONTRADO; the audit code tells it apart.
            Err(e) => Err((e.code, e.audit_code)),
        };
        // Each read on a connection of its own (`Broker::call`), without the queue.
        let mut alone = Vec::new();
        for convenio in convenios {
            for run in runs.clone() {
                let call = lookup_call(&node, convenio);
                let reply = broker.clone().call(call, move |adm, conn| {
                    let members = ficha::ve_integrantes(&adm.convenio);
                    ficha::read(conn, run, members)?
                        .judge(run, adm.convenio.ambito, members)
                        .answer()
                });
                alone.push(answer(reply.await));
            }
        }
        let kinds: std::collections::BTreeSet<_> = alone
            .iter()
            .map(|a| a.as_ref().map(|f| f.integrantes.is_some()))
            .collect();
        assert_eq!(
            kinds.len(),
            5,
            "with and without members, each error: {kinds:?}"
        );
        let before = (broker.lookup_groups(), audit_count(&node));
        let gate = std::sync::Arc::new(Gate::default());
        let holders = hold_every_connection(&node, &gate);
        let together: Vec<_> = convenios
            .iter()
            .flat_map(|convenio| runs.iter().map(move |run| (*convenio, *run)))
            .map(|(convenio, run)| {
                let (broker, call) = (broker.clone(), lookup_call(&node, convenio));
                actix_web::rt::spawn(async move { ficha::consultar(broker, call, Some(run)).await })
            })
            .collect();
        until_queued(&node, 21).await;
        gate.open();
        for holder in holders {
            assert!(holder.await.unwrap().result.is_ok());
        }
        let mut answers = Vec::new();
        for lookup in together {
            answers.push(answer(lookup.await.unwrap()));
        }
        assert_eq!(answers, alone, "{backend:?}");
        let read = broker.lookup_groups();
        let max = node.config.broker.lookup_group_max as u64;
        assert_eq!(read.lookups - before.0.lookups, 21, "{read:?}");
        assert_eq!(read.groups - before.0.groups, 2, "16 and 5: {read:?}");
        assert_eq!(read.largest, max, "{read:?}");
        let pool = node.config.database.pool_size as i64;
        assert_eq!(audit_count(&node), before.1 + pool + 21);
        node.stop().await;
    }
);

per_backend!(
    /// A group whose read fails (here the registry's `fichas` table is gone) answers every lookup
    /// in it 503, with nothing disclosed, each audited as such; the next lookup, the registry
    /// whole again, is answered.
    #[actix_web::test]
    async fn a_group_whose_read_fails_answers_each_lookup_503(backend) {
        use std::time::{Duration, Instant};
        let setup = Setup {
            persons: 2_000,
            pool_timeout_secs: Some(30),
            ..Setup::default()
        };
        let node = TestNode::start_with(backend, setup).await;
        let mut conn = node.db();
        let run = registry::with_ficha(&mut conn, None);
        let broker = node.node.broker.clone().into_inner();
        let before = (broker.lookup_groups(), audit_count(&node));
        let gate = std::sync::Arc::new(Gate::default());
        let holders = hold_every_connection(&node, &gate);
        let lookups: Vec<_> = (0..5)
            .map(|_| {
                let (broker, call) = (broker.clone(), lookup_call(&node, "minvu"));
                actix_web::rt::spawn(async move { ficha::consultar(broker, call, Some(run)).await })
            })
            .collect();
        until_queued(&node, 5).await;
        diesel::sql_query("ALTER TABLE fichas RENAME TO fichas_aparte")
            .execute(&mut conn)
            .unwrap();
        let released = Instant::now();
        gate.open();
        for holder in holders {
            assert!(holder.await.unwrap().result.is_ok());
        }
        for lookup in lookups {
            let error = lookup.await.unwrap().result.unwrap_err();
            assert_eq!(
                (error.status(), error.code.as_str()),
                (503, "NO_DISPONIBLE")
            );
        }
        // Answered by the failed read, not by the lookups' own timeout.
        let timeout = Duration::from_secs(node.config.database.pool_timeout_secs);
        assert!(released.elapsed() < timeout, "{:?}", released.elapsed());
        let read = broker.lookup_groups();
        assert_eq!(read.groups - before.0.groups, 1, "{read:?}");
        // Every record added since: the holders' and the lookups' may interleave.
        let mut outcomes: Vec<String> = auditoria::table
            .order(auditoria::id.desc())
            .limit(audit_count(&node) - before.1)
            .select(auditoria::resultado)
            .load(&mut node.db())
            .unwrap();
        outcomes.sort();
        let pool = node.config.database.pool_size as usize;
        let mut expected = vec!["NO_DISPONIBLE"; 5];
        expected.extend(vec!["OK"; pool]);
        assert_eq!(outcomes, expected);
        diesel::sql_query("ALTER TABLE fichas_aparte RENAME TO fichas")
            .execute(&mut conn)
            .unwrap();
        let call = lookup_call(&node, "minvu");
        let ficha = ficha::consultar(broker, call, Some(run))
            .await
            .result
            .unwrap();
        assert_eq!(ficha.run, Some(run.to_string()));
        node.stop().await;
    }
);

//! DCI messages the node sends: `notify` for the events of a DCI subscription, to the
//! subscription's `sender_uri`, and `on-search` for an async search asked with a registered
//! `sender_uri`; to an example receiver (`siis::receptor`) in the test's process over mutual
//! TLS with the node's PKI; every body validated against the spec.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::json;
use siis::db::schema::{auditoria, dci_transacciones, entregas};
use siis::receptor::Recibida;
use tempfile::TempDir;

use super::asincrono::{ASYNC_SEARCH, SUBSCRIBE, acked, estado_de, listar, suscripcion};
use super::{Mensajes, busqueda, post, record};
use crate::per_backend;
use crate::registry;
use crate::support::{Backend, Setup, TestNode, convenios_with};
use crate::suscripciones::outbox::registrar;
use crate::suscripciones::push::{receptor_con, recibidas};
use crate::suscripciones::{defuncion, persona};

/// An agreement granted deaths by push to its callbacks `notify` and `on_search` (the node's
/// URLs for DCI's two paths), with DCI's `sender_id` `avisos`; its subscription grant
/// withholds the person's RUN (`run`); it may search fichas.
fn convenio(base: &str) -> String {
    format!(
        r#"id = "avisos"
agency = "Avisos DCI de prueba"
legal_basis = "Prueba"
purpose = "Probar notify de DCI"
valid_from = 2026-01-01
valid_until = 2099-12-31

[limits]
per_second = 100000
burst = 100000
daily_quota = 100000000

[[clients]]
subject_cn = "avisos"

[operations.ConsultarFichaFPS]
fields = ["run", "folio", "puntaje", "quintil"]

[operations.Suscripciones]
fields = ["id", "suscripcion", "secuencia", "tipo", "registrado", "fechaDefuncion"]
eventos = ["defuncion"]
entrega = ["push"]
callbacks = ["{base}/registry/notify", "{base}/registry/on-search"]
"#
    )
}

/// A node whose `avisos` agreement calls back a receiver that keeps what it receives.
struct Dci {
    node: TestNode,
    port: u16,
    /// The receiver's `/registry/notify` and `/registry/on-search`.
    url: String,
    on_search: String,
    _dir: TempDir,
}

impl Dci {
    async fn start(backend: Backend, fallar: u64, persons: u64) -> Dci {
        let dir = TempDir::new().unwrap();
        // The receiver's port is known once the node's PKI exists: a placeholder first.
        let convenios: PathBuf = convenios_with(
            dir.path(),
            &[("avisos.toml", convenio("https://localhost:1/x"))],
        );
        let node = TestNode::start_with(
            backend,
            Setup {
                convenios: Some(convenios.clone()),
                configure: Some(Box::new(|c| {
                    c.notificaciones.sondeo_ms = 50;
                    c.notificaciones.espera_base_ms = 20;
                    c.notificaciones.espera_tope_ms = 100;
                    c.notificaciones.timeout_ms = 2_000;
                })),
                persons,
                ..Setup::default()
            },
        )
        .await;
        let port = receptor_con(
            &node.pki,
            &node.pki.join(siis::pki::CA_CERT),
            &dir.path().join("claves.db"),
            fallar,
            Duration::ZERO,
            100,
        );
        // The spec's callback paths: the node calls the registered URL exactly.
        let base = format!("https://localhost:{port}");
        std::fs::write(convenios.join("avisos.toml"), convenio(&base)).unwrap();
        node.node.reload().expect("agreements reload");
        Dci {
            node,
            port,
            url: format!("{base}/registry/notify"),
            on_search: format!("{base}/registry/on-search"),
            _dir: dir,
        }
    }

    async fn recibidas(&self) -> Vec<Recibida> {
        recibidas(&self.node.pki, self.port).await
    }

    /// Waits until the receiver has applied `n` notifications.
    async fn esperar(&self, n: usize) -> Vec<Recibida> {
        let limite = Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.recibidas().await;
            if r.iter().filter(|r| r.desenlace == "aplicada").count() >= n {
                return r;
            }
            assert!(Instant::now() < limite, "{r:?}");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

per_backend!(
    #[actix_web::test]
    async fn a_dci_subscription_gets_each_event_as_a_notify_that_follows_the_spec(backend) {
        let dci = Dci::start(backend, 1, 0).await;
        let mut m = Mensajes::default();
        let body = suscripcion("avisos-sub-1", "avisos", Some(&dci.url), "Death", None);
        let (status, answer) = post(&dci.node, "avisos", SUBSCRIBE, &body, &mut m).await;
        assert_eq!(status, 200, "{answer}");
        acked(&answer, "avisos-sub-1");
        let code = listar(&dci.node, "avisos").await[0]["id"].as_str().unwrap().to_owned();

        let muerto = persona(6_600_001);
        registrar(&dci.node, &[defuncion(6_600_001, "13101")]).await;
        let r = dci.esperar(1).await;
        // The first call failed (the receiver answers 503 once): sent again, the same key.
        let clave = format!("{code}-1");
        let desenlaces: Vec<(&str, &str)> =
            r.iter().map(|r| (r.clave.as_str(), r.desenlace.as_str())).collect();
        assert_eq!(desenlaces, [(clave.as_str(), "fallida"), (clave.as_str(), "aplicada")]);
        assert_eq!(r[0].cuerpo["message"], r[1].cuerpo["message"]);

        // The key is the message id and the event's reference id.
        let body = &r[1].cuerpo;
        assert_eq!(body["header"]["action"], "notify");
        assert_eq!(body["header"]["message_id"], clave.as_str());
        assert_eq!(body["header"]["sender_id"], "siis");
        assert_eq!(body["header"]["receiver_id"], "avisos");
        assert_eq!(body["message"]["transaction_id"], code.as_str());
        let evento = &body["message"]["notify_event"][0];
        assert_eq!(evento["reference_id"], clave.as_str());
        assert_eq!(evento["data"]["reg_record_type"], "Member");
        // Projected: the death date granted, the RUN withheld (no member_identifier).
        let record = &evento["data"]["reg_records"];
        assert_eq!(record["demographic_info"]["death_date"], "2026-11-30", "{body}");
        assert!(
            record["additional_attributes"].as_array().unwrap().contains(&json!({"name": "evento", "value": "defuncion"})),
            "{body}"
        );
        assert!(record.get("member_identifier").is_none(), "{body}");
        let texto = body.to_string();
        assert!(!texto.contains(&muerto.to_string()), "{texto}");
        assert!(!texto.contains(&muerto.numero().to_string()), "{texto}");
        m.add("/registry/notify", "request", body);

        // Each attempt audited before it was sent: transport push, the person, the fields.
        let mut conn = dci.node.db();
        let registros: Vec<(String, String, String, String)> = auditoria::table
            .filter(auditoria::transporte.eq("push"))
            .order(auditoria::id)
            .select((auditoria::id_mensaje, auditoria::sujetos, auditoria::resultado, auditoria::campos))
            .load(&mut conn)
            .unwrap();
        let ids: Vec<&str> = registros.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(ids, [format!("{clave}.1"), format!("{clave}.2")]);
        for (_, sujetos, resultado, campos) in &registros {
            assert_eq!(resultado, "OK");
            assert!(sujetos.contains(&muerto.to_string()), "{sujetos}");
            let campos: Vec<&str> = campos.split(|c: char| !c.is_alphanumeric()).collect();
            assert!(campos.contains(&"fechaDefuncion") && !campos.contains(&"run"), "{campos:?}");
        }
        let estado: (String, Option<String>) = entregas::table
            .select((entregas::estado, entregas::ultimo_error))
            .first(&mut conn)
            .unwrap();
        assert_eq!(estado.0, "entregada");
        m.validar();
        dci.node.stop().await;
    }
);

/// Each push record's (message id, operation, subjects, outcome).
fn registros_push(node: &TestNode) -> Vec<(String, String, String, String)> {
    auditoria::table
        .filter(auditoria::transporte.eq("push"))
        .order(auditoria::id)
        .select((
            auditoria::id_mensaje,
            auditoria::operacion,
            auditoria::sujetos,
            auditoria::resultado,
        ))
        .load(&mut node.db())
        .unwrap()
}

/// The callbacks asked, as (correlation id, estado, intentos).
fn callbacks(node: &TestNode) -> Vec<(String, Option<String>, i32)> {
    dci_transacciones::table
        .filter(dci_transacciones::callback_estado.is_not_null())
        .order(dci_transacciones::registrada_us)
        .select((
            dci_transacciones::correlation_id,
            dci_transacciones::callback_estado,
            dci_transacciones::callback_intentos,
        ))
        .load(&mut node.db())
        .unwrap()
}

per_backend!(
    #[actix_web::test]
    async fn an_async_search_with_a_callback_gets_its_on_search_once_with_one_key(backend) {
        // The receiver fails the first call: sent again, with the same key.
        let dci = Dci::start(backend, 1, 300).await;
        let mut m = Mensajes::default();
        let run = registry::with_ficha(&mut dci.node.db(), None).to_string();
        let mut body = busqueda("avisos-async-1", "avisos", "t-cb", &[run.as_str(), "12345678-9"], "Group");
        body["header"]["sender_uri"] = json!(dci.on_search);
        let (status, answer) = post(&dci.node, "avisos", ASYNC_SEARCH, &body, &mut m).await;
        assert_eq!(status, 200, "{answer}");
        acked(&answer, "avisos-async-1");

        let r = dci.esperar(1).await;
        let desenlaces: Vec<(&str, &str)> =
            r.iter().map(|r| (r.clave.as_str(), r.desenlace.as_str())).collect();
        assert_eq!(desenlaces, [("avisos-async-1", "fallida"), ("avisos-async-1", "aplicada")]);
        let cb = &r[1].cuerpo;
        assert_eq!(cb["header"]["action"], "on-search");
        assert_eq!(cb["header"]["status"], "succ");
        assert_eq!(cb["header"]["message_id"], "avisos-async-1");
        assert_eq!(cb["header"]["sender_id"], "siis");
        assert_eq!(cb["header"]["receiver_id"], "avisos");
        assert_eq!(cb["message"]["transaction_id"], "t-cb");
        assert_eq!(cb["message"]["correlation_id"], "avisos-async-1");
        // The same items txn/status gives: the record, and the invalid RUN rejected.
        let st = estado_de(&dci.node, "avisos", "search", "avisos-async-1", &mut m).await;
        assert_eq!(cb["message"]["search_response"], st["message"]["txnstatus_response"]["txn_status"]["search_response"]);
        let items = cb["message"]["search_response"].as_array().unwrap();
        assert_eq!(items[0]["data"]["reg_records"].as_array().map(Vec::len), Some(1), "{cb}");
        assert_eq!(items[1]["status_reason_code"], "rjct.search_criteria.invalid");
        m.add("/registry/on-search", "request", cb);

        // Each attempt admitted and audited: the search's operation, the person, transport push.
        let registros = registros_push(&dci.node);
        let ids: Vec<&str> = registros.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(ids, ["avisos-async-1.on-search.1", "avisos-async-1.on-search.2"]);
        for (_, operacion, sujetos, resultado) in &registros {
            assert_eq!((operacion.as_str(), resultado.as_str()), ("ConsultarFichaFPS", "OK"));
            assert!(sujetos.contains(&run), "{sujetos}");
        }
        assert_eq!(callbacks(&dci.node), [("avisos-async-1".to_owned(), Some("entregada".to_owned()), 2)]);
        // Delivered: nothing more is sent.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(dci.recibidas().await.len(), 2);
        m.validar();
        dci.node.stop().await;
    }
);

per_backend!(
    #[actix_web::test]
    async fn a_sender_uri_not_registered_is_refused_and_nothing_is_searched_or_sent(backend) {
        let dci = Dci::start(backend, 0, 300).await;
        let mut m = Mensajes::default();
        let run = registry::with_ficha(&mut dci.node.db(), None).to_string();
        // Not one of the agreement's callbacks; another agreement's (MINVU asking to have
        // its answer sent to the callback of avisos).
        let cases = [
            ("avisos-async-2", "avisos", "https://otro.example/registry/on-search".to_owned()),
            ("minvu-async-2", "minvu", dci.on_search.clone()),
        ];
        for (id, convenio, uri) in cases {
            let mut body = busqueda(id, convenio, "t-x", &[run.as_str()], "Group");
            body["header"]["sender_uri"] = json!(uri);
            let (status, answer) = post(&dci.node, convenio, ASYNC_SEARCH, &body, &mut m).await;
            assert_eq!(status, 403, "{answer}");
            assert_eq!(answer["errors"][0]["code"], "err.sender_uri.invalid");
            let (_, _, sujetos, campos, resultado, _) = record(&dci.node, id);
            assert_eq!(resultado, "CALLBACK_NO_PERMITIDO");
            assert!(!sujetos.contains(&run) && campos.is_empty(), "nothing searched: {sujetos} {campos}");
        }
        // Without sender_uri: no callback, the answer in txn/status only.
        let body = busqueda("avisos-async-3", "avisos", "t-y", &[run.as_str()], "Group");
        let (_, answer) = post(&dci.node, "avisos", ASYNC_SEARCH, &body, &mut m).await;
        acked(&answer, "avisos-async-3");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(callbacks(&dci.node).is_empty());
        assert!(dci.recibidas().await.is_empty(), "nothing was sent");
        assert!(registros_push(&dci.node).is_empty());
        m.validar();
        dci.node.stop().await;
    }
);

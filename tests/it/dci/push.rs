//! DCI messages the node sends: `notify` for the events of a DCI subscription, to the
//! subscription's `sender_uri`, an example receiver (`siis::receptor`) in the test's process
//! over mutual TLS with the node's PKI; every body validated against the spec.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::json;
use siis::db::schema::{auditoria, entregas};
use siis::receptor::Recibida;
use tempfile::TempDir;

use super::asincrono::{SUBSCRIBE, acked, listar, suscripcion};
use super::{Mensajes, post};
use crate::per_backend;
use crate::support::{Backend, Setup, TestNode, convenios_with};
use crate::suscripciones::outbox::registrar;
use crate::suscripciones::push::{receptor_con, recibidas};
use crate::suscripciones::{defuncion, persona};

/// An agreement granted deaths by push to `callback`, with DCI's `sender_id` `avisos`; its
/// grant withholds the person's RUN (`run`).
fn convenio(callback: &str) -> String {
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

[operations.Suscripciones]
fields = ["id", "suscripcion", "secuencia", "tipo", "registrado", "fechaDefuncion"]
eventos = ["defuncion"]
entrega = ["push"]
callbacks = ["{callback}"]
"#
    )
}

/// A node whose `avisos` agreement calls back a receiver that keeps what it receives.
struct Dci {
    node: TestNode,
    port: u16,
    url: String,
    _dir: TempDir,
}

impl Dci {
    async fn start(backend: Backend, fallar: u64) -> Dci {
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
        // The spec's callback path: the node calls the registered URL exactly.
        let url = format!("https://localhost:{port}/registry/notify");
        std::fs::write(convenios.join("avisos.toml"), convenio(&url)).unwrap();
        node.node.reload().expect("agreements reload");
        Dci {
            node,
            port,
            url,
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
        let dci = Dci::start(backend, 1).await;
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

//! The revocation list reloads with the agreements, reaches connections already open and
//! sessions resumed, refuses everyone once it is past its nextUpdate, and a broken one changes
//! nothing.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use diesel::prelude::*;
use serde_json::Value;
use siis::db::schema::auditoria;
use siis::domain::ConvenioId;

use super::{Raw, Started, raw_config};
use crate::per_backend;
use crate::support::{Setup, TestNode};

fn ids(names: &[&str]) -> Vec<ConvenioId> {
    names
        .iter()
        .map(|n| ConvenioId::parse(n).unwrap())
        .collect()
}

/// A node honouring a CRL (`pki/crl.pem`) that revokes only `suseso`'s certificate, serving.
///
/// Its listeners start when the test's runtime first runs their task: one request through the
/// admin listener makes sure they have before a test blocks that runtime with a [`Raw`] call.
async fn node_with_a_crl(backend: crate::support::Backend) -> TestNode {
    let setup = Setup {
        revoked: vec!["suseso"],
        ..Setup::default()
    };
    let node = TestNode::start_with(backend, setup).await;
    let health = node
        .client(None)
        .get(node.admin_url("/healthz"))
        .send()
        .await;
    assert_eq!(health.unwrap().status(), 200);
    node
}

async fn reload(node: &TestNode) -> (u16, Value) {
    let response = node
        .client(None)
        .post(node.admin_url("/admin/convenios/reload"))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Rewrites the node's CRL so that it revokes `revoked` (and suseso, as before).
fn revoke(node: &TestNode, revoked: &[&str]) {
    let mut all = vec!["suseso"];
    all.extend_from_slice(revoked);
    siis::pki::revoke_dev(&node.pki, &ids(&all)).unwrap();
}

async fn ping(node: &TestNode, convenio: &str) -> Result<u16, reqwest::Error> {
    let response = node
        .client(Some(convenio))
        .get(node.agency_url("/api/v1/ping"))
        .send()
        .await?;
    Ok(response.status().as_u16())
}

per_backend!(
    async fn a_client_revoked_after_start_fails_new_handshakes_once_reloaded(backend) {
        let node = node_with_a_crl(backend).await;
        assert_eq!(ping(&node, "minvu").await.unwrap(), 200);
        assert!(ping(&node, "suseso").await.is_err());

        revoke(&node, &["minvu"]);
        // The file is read on reload, not watched.
        assert_eq!(ping(&node, "minvu").await.unwrap(), 200);
        let (status, body) = reload(&node).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["crl"]["entries"], 2, "{body}");
        assert_eq!(body["crl"]["expired"], false, "{body}");
        assert!(
            ping(&node, "minvu").await.is_err(),
            "a revoked certificate fails the handshake"
        );
        assert_eq!(ping(&node, "ips").await.unwrap(), 200);
        node.stop().await;
    }
);

per_backend!(
    async fn an_open_connection_of_a_client_revoked_since_is_refused_audited_and_closed(backend) {
        let node = node_with_a_crl(backend).await;
        let config = raw_config(&node.pki, "minvu");
        let mut rest = Raw::connect(&config, node.node.agency).unwrap();
        let mut soap = Raw::connect(&config, node.node.agency).unwrap();
        assert_eq!(rest.get("/api/v1/ping").unwrap().status, 200);

        revoke(&node, &["minvu"]);
        assert_eq!(reload(&node).await.0, 200);

        let refused = rest.get("/api/v1/ping").unwrap();
        assert_eq!(refused.status, 403, "{refused:?}");
        assert_eq!(refused.json()["code"], "CERTIFICADO_REVOCADO");
        assert_eq!(refused.header("connection"), Some("close"), "{refused:?}");
        assert!(rest.closed_by_node(), "the connection is closed after the answer");

        // SOAP: a Fault with estadoSobre 01 (authentication), on the same terms.
        let envelope = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
            <soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" \
            xmlns:m=\"http://www.siis.gob.cl/esquemas/metaservicios/v1\"><soapenv:Body>\
            <m:listMethods><m:cuerpo></m:cuerpo></m:listMethods></soapenv:Body></soapenv:Envelope>";
        let fault = soap
            .send(
                "POST",
                "/soap/Metaservicios",
                &[
                    ("Content-Type", "text/xml; charset=utf-8"),
                    (
                        "SOAPAction",
                        "\"http://www.siis.gob.cl/servicios/Metaservicios/listMethods\"",
                    ),
                ],
                envelope,
            )
            .unwrap();
        // SOAP 1.1: every Fault travels with 500 (WS-I Basic Profile R1126).
        assert_eq!(fault.status, 500, "{fault:?}");
        assert!(fault.body.contains("<faultcode>soap:Client</faultcode>"), "{}", fault.body);
        assert!(fault.body.contains("<s:estadoSobre>01</s:estadoSobre>"), "{}", fault.body);
        assert!(fault.body.contains("<s:codigo>CERTIFICADO_REVOCADO</s:codigo>"), "{}", fault.body);
        assert_eq!(fault.header("connection"), Some("close"));
        assert!(soap.closed_by_node());

        // Both refusals are audited under the agreement, with the certificate.
        let audited: Vec<(Option<String>, String, Option<String>)> = auditoria::table
            .filter(auditoria::resultado.eq("CERTIFICADO_REVOCADO"))
            .select((auditoria::convenio, auditoria::transporte, auditoria::certificado))
            .order(auditoria::id.asc())
            .load(&mut node.db())
            .unwrap();
        assert_eq!(audited.len(), 2, "{audited:?}");
        assert_eq!(audited[0].0.as_deref(), Some("minvu"));
        assert_eq!((audited[0].1.as_str(), audited[1].1.as_str()), ("rest", "soap"));
        assert!(audited.iter().all(|a| a.2.is_some()));

        // Another agency's open connection is untouched.
        let mut ips = Raw::connect(&raw_config(&node.pki, "ips"), node.node.agency).unwrap();
        let answer = ips.get("/api/v1/ping").unwrap();
        assert_eq!(answer.status, 200);
        assert_ne!(answer.header("connection"), Some("close"));
        node.stop().await;
    }
);

per_backend!(
    async fn a_resumed_session_of_a_client_revoked_since_is_refused(backend) {
        let node = node_with_a_crl(backend).await;
        let config = raw_config(&node.pki, "minvu");
        let mut first = Raw::connect(&config, node.node.agency).unwrap();
        assert!(!first.resumed());
        assert_eq!(first.get("/api/v1/ping").unwrap().status, 200);
        drop(first);

        revoke(&node, &["minvu"]);
        assert_eq!(reload(&node).await.0, 200);

        // Resumption skips certificate verification: the handshake succeeds...
        let mut second = Raw::connect(&config, node.node.agency).unwrap();
        assert!(second.resumed(), "the session was resumed");
        // ...and the request is refused all the same.
        let refused = second.get("/api/v1/ping").unwrap();
        assert_eq!(refused.status, 403);
        assert_eq!(refused.json()["code"], "CERTIFICADO_REVOCADO");
        node.stop().await;
    }
);

per_backend!(
    async fn a_broken_list_is_refused_on_reload_and_the_one_in_force_stays(backend) {
        let node = node_with_a_crl(backend).await;
        let crl = node.config.tls.crl.clone().unwrap();
        let other = tempfile::TempDir::new().unwrap();
        let other_pki = crate::support::make_pki(other.path(), &["minvu"]);
        let forged = siis::pki::revoke_dev(&other_pki, &ids(&["minvu"])).unwrap();
        for (broken, problem) in [
            (b"not a CRL".to_vec(), "crl.pem"),
            (std::fs::read(forged).unwrap(), "not signed by it"),
        ] {
            std::fs::write(&crl, broken).unwrap();
            let (status, body) = reload(&node).await;
            assert_eq!(status, 422, "{body}");
            assert_eq!(body["code"], "CRL_INVALIDA");
            let problemas = body["problemas"].to_string();
            assert!(problemas.contains(problem), "{body}");
            // The list in force stays: suseso refused, minvu served.
            assert!(ping(&node, "suseso").await.is_err());
            assert_eq!(ping(&node, "minvu").await.unwrap(), 200);
            let ready = node.client(None).get(node.admin_url("/readyz")).send().await.unwrap();
            assert_eq!(ready.status(), 200);
        }
        node.stop().await;
    }
);

per_backend!(
    async fn a_list_past_its_next_update_refuses_every_client_and_fails_readiness(backend) {
        let node = node_with_a_crl(backend).await;
        let config = raw_config(&node.pki, "minvu");
        let mut open = Raw::connect(&config, node.node.agency).unwrap();
        assert_eq!(open.get("/api/v1/ping").unwrap().status, 200);

        // A list valid for three more seconds, then out of date (a CRL's times are in whole
        // seconds).
        let in_three = (Utc::now() + TimeDelta::seconds(3)).timestamp();
        let next_update = chrono::DateTime::from_timestamp(in_three, 0).unwrap();
        siis::pki::dev_crl(&node.pki, &ids(&["suseso"]), next_update).unwrap();
        let (status, body) = reload(&node).await;
        assert_eq!(status, 200, "{body}");
        let admin = node.client(None);
        let ready = admin.get(node.admin_url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let ready: Value = ready.json().await.unwrap();
        assert_eq!(ready["crl"]["expired"], false, "{ready}");

        // The open connection is served until the list expires (a request every 300 ms keeps
        // it alive), then refused and closed.
        let deadline = Instant::now() + Duration::from_secs(15);
        let refused = loop {
            let answer = open.get("/api/v1/ping").unwrap();
            if answer.status != 200 {
                break answer;
            }
            assert!(Instant::now() < deadline, "still served after nextUpdate");
            std::thread::sleep(Duration::from_millis(300));
        };
        assert!(Utc::now() >= next_update);
        assert_eq!(refused.status, 503, "{refused:?}");
        assert_eq!(refused.json()["code"], "REVOCACION_VENCIDA");
        assert_eq!(refused.header("connection"), Some("close"));

        // Readiness, asked again as time passed, now fails and names the reason.
        let ready = admin.get(node.admin_url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503);
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body["code"], "REVOCACION_VENCIDA", "{body}");
        assert!(body["detail"].as_str().unwrap().contains("nextUpdate"), "{body}");
        // No new handshake either, of a certificate the list does not even name.
        assert!(ping(&node, "minvu").await.is_err());

        // A fresh list puts everything back.
        revoke(&node, &[]);
        assert_eq!(reload(&node).await.0, 200);
        let ready = admin.get(node.admin_url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        assert_eq!(ping(&node, "minvu").await.unwrap(), 200);
        node.stop().await;
    }
);

per_backend!(
    async fn a_node_started_with_an_expired_list_is_not_ready_and_refuses_clients(backend) {
        let node = Started::start(backend, |pki, config| {
            let expired = Utc::now() - TimeDelta::hours(1);
            config.tls.crl = Some(siis::pki::dev_crl(pki, &[], expired).unwrap());
        })
        .await;
        let admin = crate::support::tls_client(&node.pki.join("ca.pem"), None, &[]);
        let ready = admin.get(node.admin_url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 503);
        let body: Value = ready.json().await.unwrap();
        assert_eq!(body["code"], "REVOCACION_VENCIDA", "{body}");
        let minvu = node.client_with(
            &node.pki.join("clients/minvu.pem"),
            &node.pki.join("clients/minvu-key.pem"),
        );
        assert!(minvu.get(node.agency_url("/api/v1/ping")).send().await.is_err());
        node.stop().await;
    }
);

//! The running node: listeners, TLS, health and readiness.

use serde_json::Value;

use crate::per_backend;
use crate::support::{Backend, TestNode, postgres_only, tls_client};

per_backend!(
    async fn admin_listener_answers_health_and_readiness(backend) {
        let node = TestNode::start(backend).await;
        let client = node.client(None);
        let health = client.get(node.admin_url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        let ready: Value = client
            .get(node.admin_url("/readyz"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let expected = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        assert_eq!(ready["status"], "ready");
        assert_eq!(ready["database"], expected);
        node.stop().await;
    }
);

per_backend!(
    async fn agency_ping_needs_a_client_certificate_from_the_ca(backend) {
        let node = TestNode::start(backend).await;
        let with_cert = node
            .client(Some("minvu"))
            .get(node.agency_url("/api/v1/ping"))
            .send()
            .await
            .unwrap();
        assert_eq!(with_cert.status(), 200);
        assert_eq!(with_cert.json::<Value>().await.unwrap()["ok"], true);

        let without = node
            .client(None)
            .get(node.agency_url("/api/v1/ping"))
            .send()
            .await;
        assert!(
            without.is_err(),
            "no client certificate must fail the handshake"
        );

        // A certificate from another CA (a second dev PKI) is refused too.
        let other = tempfile::TempDir::new().unwrap();
        let other_pki = crate::support::make_pki(other.path(), &["minvu"]);
        let foreign = tls_client(
            &node.pki.join("ca.pem"),
            Some((
                &other_pki.join("clients/minvu.pem"),
                &other_pki.join("clients/minvu-key.pem"),
            )),
            &[node.node.agency],
        );
        let refused = foreign.get(node.agency_url("/api/v1/ping")).send().await;
        assert!(
            refused.is_err(),
            "a foreign CA's certificate must fail the handshake"
        );
        node.stop().await;
    }
);

#[tokio::test]
async fn public_listener_serves_tls_without_client_certificate() {
    let node = TestNode::start(Backend::Sqlite).await;
    let response = node
        .client(None)
        .get(node.public_url("/api/v1/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // The server certificate is checked against the test CA: a client trusting another CA fails.
    let other = tempfile::TempDir::new().unwrap();
    let other_pki = crate::support::make_pki(other.path(), &[]);
    let distrustful = tls_client(&other_pki.join("ca.pem"), None, &[node.node.public]);
    assert!(
        distrustful
            .get(node.public_url("/api/v1/ping"))
            .send()
            .await
            .is_err()
    );
    node.stop().await;
}

#[tokio::test]
async fn unknown_paths_get_a_problem_with_a_stable_code() {
    let node = TestNode::start(Backend::Sqlite).await;
    for url in [
        node.agency_url("/api/v1/nada"),
        node.public_url("/nada"),
        node.admin_url("/nada"),
    ] {
        let response = node.client(Some("minvu")).get(&url).send().await.unwrap();
        assert_eq!(response.status(), 404, "{url}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{url}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "RUTA_DESCONOCIDA");
        assert_eq!(body["status"], 404);
    }
    node.stop().await;
}

#[tokio::test]
async fn readiness_fails_with_503_when_the_database_goes_away() {
    let Some(backend) = postgres_only() else {
        return;
    };
    let node = TestNode::start(backend).await;
    node.destroy_database();
    let client = node.client(None);
    let response = client.get(node.admin_url("/readyz")).send().await.unwrap();
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], "NO_DISPONIBLE");
    assert!(
        !body.to_string().contains("siis_test"),
        "no internal detail is sent: {body}"
    );
    // Liveness does not depend on the database.
    let health = client.get(node.admin_url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    node.stop().await;
}

//! The REST API's OpenAPI document: valid OpenAPI 3.1, every path it names is a real route, the
//! same document to agencies (getOpenAPI, audited) and on the public listener, with a page.

use diesel::prelude::*;
use serde_json::Value;
use siis::db::schema::auditoria;

use crate::per_backend;
use crate::registry;
use crate::soap::client::tool_available;
use crate::support::{Setup, TestNode};

/// The document, as the public listener serves it.
async fn document(node: &TestNode) -> Value {
    node.client(None)
        .get(node.public_url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

per_backend!(
    async fn the_openapi_document_is_valid_and_names_only_real_routes(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 300,
                ..Setup::default()
            },
        )
        .await;
        let public = node.client(None);
        let doc = document(&node).await;
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);

        if tool_available(
            std::process::Command::new("openapi-spec-validator").arg("--help"),
            "openapi-spec-validator (pip install openapi-spec-validator)",
        ) {
            let file = tempfile::NamedTempFile::new().unwrap();
            std::fs::write(file.path(), doc.to_string()).unwrap();
            let out = std::process::Command::new("openapi-spec-validator")
                .arg(file.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }

        // Every documented path is a route: none answers RUTA_DESCONOCIDA or 405.
        let run = registry::with_ficha(&mut node.db(), Some("13101")).to_string();
        let operador = node.client(Some("operador"));
        let paths = doc["paths"].as_object().unwrap();
        assert!(paths.len() >= 15, "{}", paths.len());
        for (path, methods) in paths {
            let concrete = path
                .replace("{run}", &run)
                .replace("{programa}", "PBS")
                .replace("{id}", "00000000-0000-4000-8000-000000000000")
                .replace("{cut}", "13101")
                .replace("{tipo}", "personas");
            for method in methods.as_object().unwrap().keys() {
                let url = node.agency_url(&concrete);
                let r = match method.as_str() {
                    "get" => operador.get(url),
                    "post" => operador.post(url).header("content-type", "application/json").body("{}"),
                    "put" => operador.put(url).header("content-type", "application/json").body("{}"),
                    "delete" => operador.delete(url),
                    other => panic!("{other} {path}"),
                }
                .send()
                .await
                .unwrap();
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                assert_ne!(status, 405, "{method} {path}");
                assert_ne!(body["code"], "RUTA_DESCONOCIDA", "{method} {path}");
            }
        }

        // getOpenAPI: the same document, to an agency, through the broker (audited).
        let meta: Value = node
            .client(Some("minvu"))
            .get(node.agency_url("/api/v1/metaservicios/openapi"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(meta, doc);
        let audited: i64 = auditoria::table
            .filter(auditoria::operacion.eq("getOpenAPI"))
            .filter(auditoria::convenio.eq("minvu"))
            .count()
            .get_result(&mut node.db())
            .unwrap();
        assert_eq!(audited, 1);

        let page = public
            .get(node.public_url("/api/v1/docs"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for path in paths.keys() {
            assert!(page.contains(path.as_str()), "{path} missing from the page");
        }
        node.stop().await;
    }
);

/// schemathesis generates requests from the document for every operation and checks each
/// answer: no 5xx, and every answer (refusals included) as the document says.
#[actix_web::test]
async fn schemathesis_finds_no_server_error_and_no_undocumented_answer() {
    if !tool_available(
        std::process::Command::new("schemathesis").arg("--version"),
        "schemathesis (pip install schemathesis)",
    ) {
        return;
    }
    let node = TestNode::start_with(
        crate::support::Backend::Sqlite,
        Setup {
            persons: 300,
            ..Setup::default()
        },
    )
    .await;
    let doc = document(&node).await;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), doc.to_string()).unwrap();
    let (url, pki) = (node.agency_url(""), node.pki.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("schemathesis")
            .arg("run")
            .arg(file.path())
            .args(["--url", &url, "--tls-verify"])
            .arg(pki.join("ca.pem"))
            .arg("--request-cert")
            .arg(pki.join("clients/minvu.pem"))
            .arg("--request-cert-key")
            .arg(pki.join("clients/minvu-key.pem"))
            .args([
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--phases",
                "examples,fuzzing",
                "--max-examples",
                "15",
                "--seed",
                "1",
            ])
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Tested: 49"), "{stdout}");
    node.stop().await;
}

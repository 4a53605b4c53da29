//! A write and its audit record commit together or not at all: with the audit store failing,
//! every operation that writes (survey requests and events, certificates, provider batches,
//! over REST and SOAP) answers 503 and the registry is left as it was.

use base64::Engine;
use diesel::prelude::*;
use serde_json::json;
use siis::db::schema::{certificados, lotes, personas};

use crate::encuestaje::{evento, nueva, programar, requests, sin_ficha, solicitar, stored};
use crate::per_backend;
use crate::registry;
use crate::soap::break_audit;
use crate::soap::client::{CERTIFICADOS, ENCUESTAJE, RECEPCION, V, call, run_xml};
use crate::support::{Setup, TestNode, repo_path};

fn certificates(node: &TestNode) -> i64 {
    certificados::table
        .count()
        .get_result(&mut node.db())
        .unwrap()
}

fn batches(node: &TestNode) -> i64 {
    lotes::table.count().get_result(&mut node.db()).unwrap()
}

/// The persons of the shipped sample `personas` batch (none is in a seeded registry).
fn sample_persons(node: &TestNode) -> i64 {
    let sample = std::fs::read_to_string(repo_path("schemas/lotes/personas.csv")).unwrap();
    let runs: Vec<i32> = sample
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').next())
        .filter_map(|r| siis::domain::Run::parse(r).ok())
        .map(|r| r.numero() as i32)
        .collect();
    assert!(!runs.is_empty());
    personas::table
        .filter(personas::run.eq_any(runs))
        .count()
        .get_result(&mut node.db())
        .unwrap()
}

per_backend!(
    async fn no_write_outlives_a_failed_audit_record(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 3_000,
                ..Setup::default()
            },
        )
        .await;
        let [asked, later] = sin_ficha(&node, 2)[..] else {
            unreachable!()
        };
        let id = nueva(&node, asked).await;
        let before_event = stored(&node, &id);
        let mine = registry::with_ficha(&mut node.db(), Some("13101"));
        let (before_requests, before_certificates) =
            (requests(&node), certificates(&node));
        break_audit(&mut node.db());

        // SolicitarEncuestaje (REST, then SOAP): 503, and no request is stored.
        let (status, body) = solicitar(
            &node,
            "minvu",
            json!({ "run": later.to_string(), "comuna": "13101" }),
        )
        .await;
        assert_eq!((status, body["code"].as_str()), (503, Some("NO_DISPONIBLE")));
        let minvu = node.client(Some("minvu"));
        let cuerpo = format!("{}<n:comuna>13101</n:comuna>", run_xml("n", later));
        let answer =
            call(&minvu, &node, V::V11, &ENCUESTAJE, "SolicitarEncuestaje", None, &cuerpo).await;
        assert_eq!(answer.fault(V::V11).estado, "07", "{}", answer.shown());
        assert_eq!(requests(&node), before_requests, "no request without its record");

        // TrabajarEncuestaje: the event is not recorded, the request stays as it was.
        let (status, _) = evento(&node, "muni-13101", &id, programar(3)).await;
        assert_eq!(status, 503);
        assert_eq!(stored(&node, &id), before_event, "no event without its record");

        // EmitirCertificado (REST and SOAP): no folio is issued.
        let muni = node.client(Some("muni-13101"));
        let response = muni
            .post(node.agency_url("/api/v1/certificados"))
            .json(&json!({ "run": mine.to_string(), "tipo": "certificado_fps" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        let cuerpo = format!("{}<c:tipo>certificado_fps</c:tipo>", run_xml("c", mine));
        let answer =
            call(&muni, &node, V::V12, &CERTIFICADOS, "EmitirCertificado", None, &cuerpo).await;
        assert_eq!(answer.fault(V::V12).estado, "07", "{}", answer.shown());
        assert_eq!(certificates(&node), before_certificates);

        // RecepcionLotes (REST and SOAP): nothing of the batch is applied, no lotes row.
        let sample = std::fs::read(repo_path("schemas/lotes/personas.csv")).unwrap();
        let response = node
            .client(Some("srcei"))
            .post(node.agency_url("/api/v1/lotes/personas"))
            .header("content-type", "text/csv")
            .body(sample.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        let srcei = node.client(Some("srcei"));
        let contenido = base64::engine::general_purpose::STANDARD.encode(&sample);
        let cuerpo = format!(
            "<rl:tipo>personas</rl:tipo><rl:formato>csv</rl:formato><rl:contenido>{contenido}</rl:contenido>"
        );
        let answer = call(&srcei, &node, V::V11, &RECEPCION, "RecibirLote", None, &cuerpo).await;
        assert_eq!(answer.fault(V::V11).estado, "07", "{}", answer.shown());
        assert_eq!(batches(&node), 0);
        assert_eq!(sample_persons(&node), 0, "no person of the batch was added");
        node.stop().await;
    }
);

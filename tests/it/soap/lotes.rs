//! RecepcionLotes over SOAP 1.1 and 1.2: a batch carried inline (base64) applies once, with the
//! same report and the same exactly-once key as REST; answers valid against
//! `schemas/recepcionlotes-v1.xsd`; bad input refused and audited, changing nothing.

use base64::Engine;
use diesel::prelude::*;
use serde_json::Value;
use siis::db::schema::{lotes, personas};

use super::client::{RECEPCION, V, call, check_schema, estado, xmllint_available};
use super::{assert_fault, audit_after, last_audit_id};
use crate::per_backend;
use crate::support::{TestNode, repo_path};

const OP: &str = "RecibirLote";

fn cuerpo(tipo: &str, id_lote: Option<&str>, formato: &str, contenido: &[u8]) -> String {
    let id = id_lote
        .map(|id| format!("<rl:idLote>{id}</rl:idLote>"))
        .unwrap_or_default();
    format!(
        "<rl:tipo>{tipo}</rl:tipo>{id}<rl:formato>{formato}</rl:formato><rl:contenido>{}</rl:contenido>",
        base64::engine::general_purpose::STANDARD.encode(contenido)
    )
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(repo_path(&format!("schemas/lotes/{name}"))).unwrap()
}

fn count_lotes(node: &TestNode) -> i64 {
    lotes::table.count().get_result(&mut node.db()).unwrap()
}

per_backend!(
    async fn a_batch_sent_over_soap_applies_once_with_the_rest_report_and_key(backend) {
        let node = TestNode::start(backend).await;
        let srcei = node.client(Some("srcei"));
        let before = last_audit_id(&node);
        let mut first_lote = None;
        for v in V::BOTH {
            // The same provider batch id in both versions: applied by the first, repeated by
            // the second.
            let body = cuerpo(
                "personas",
                Some("srcei-soap-1"),
                "csv",
                &sample("personas.csv"),
            );
            let id = format!("m-{v:?}");
            // srcei may send 5 requests a second.
            tokio::time::sleep(std::time::Duration::from_millis(220)).await;
            let a = call(&srcei, &node, v, &RECEPCION, OP, Some(&id), &body).await;
            let r = a.respuesta(v, &RECEPCION, OP);
            assert_eq!(estado(&r), "00", "{}", a.shown());
            if xmllint_available() {
                check_schema(RECEPCION.xsd, &r).unwrap_or_else(|e| panic!("{e}"));
            }
            let informe = r.at("cuerpo/informe").expect("informe");
            assert_eq!(informe.text_at("leidos"), Some("3"));
            assert_eq!(informe.text_at("aplicados"), Some("3"));
            assert_eq!(informe.text_at("clave"), Some("srcei-soap-1"));
            assert_eq!(informe.text_at("tipo"), Some("personas"));
            let lote = informe.text_at("lote").unwrap().to_owned();
            match &first_lote {
                None => {
                    assert_eq!(informe.text_at("repetido"), Some("false"));
                    first_lote = Some(lote);
                }
                Some(first) => {
                    assert_eq!(informe.text_at("repetido"), Some("true"), "{v:?}");
                    assert_eq!(&lote, first);
                }
            }
        }
        assert_eq!(count_lotes(&node), 1);
        let nombre: String = personas::table
            .find(71_000_003)
            .select(personas::nombres)
            .first(&mut node.db())
            .unwrap();
        assert_eq!(nombre, "ANA, LUISA");

        // The same key over REST: the batch SOAP applied, not applied again.
        let rest: Value = srcei
            .post(node.agency_url("/api/v1/lotes/personas"))
            .header("content-type", "text/csv")
            .header("x-lote-id", "srcei-soap-1")
            .body(sample("personas.csv"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(rest["repetido"], true);
        assert_eq!(rest["lote"].to_string(), first_lote.clone().unwrap());
        assert_eq!(rest["aplicados"], 3);

        for v in V::BOTH {
            // An XML batch with rejections, reported by line as REST reports them.
            // 71.000.004-2 is not in the registry.
            let xml = sample("defunciones.xml");
            let body = cuerpo("defunciones", None, "xml", &xml);
            // srcei may send 5 requests a second.
            tokio::time::sleep(std::time::Duration::from_millis(220)).await;
            let a = call(&srcei, &node, v, &RECEPCION, OP, None, &body).await;
            let r = a.respuesta(v, &RECEPCION, OP);
            assert_eq!(estado(&r), "00", "{}", a.shown());
            if xmllint_available() {
                check_schema(RECEPCION.xsd, &r).unwrap_or_else(|e| panic!("{e}"));
            }
            let informe = r.at("cuerpo/informe").unwrap();
            assert_eq!(informe.text_at("aplicados"), Some("0"));
            let rechazo = informe.at("rechazo").expect("rechazo");
            assert_eq!(rechazo.text_at("linea"), Some("3"));
            assert_eq!(rechazo.text_at("codigo"), Some("RUN_DESCONOCIDO"));
        }
        let lotes_before = count_lotes(&node);
        let after_ok = last_audit_id(&node);
        for v in V::BOTH {
            let csv = sample("personas.csv");
            // Unknown kind, reused batch id with other content: outcomes (estadoSobre 03).
            for (body, codigo) in [
                (
                    cuerpo("subsidios", None, "csv", &csv),
                    "LOTE_TIPO_DESCONOCIDO",
                ),
                (
                    cuerpo(
                        "personas",
                        Some("srcei-soap-1"),
                        "xml",
                        &sample("personas.xml"),
                    ),
                    "LOTE_CLAVE_REUTILIZADA",
                ),
                (
                    cuerpo("personas", None, "csv", b"run\n"),
                    "LOTE_ENCABEZADO_INVALIDO",
                ),
            ] {
                // srcei may send 5 requests a second.
                tokio::time::sleep(std::time::Duration::from_millis(220)).await;
                let a = call(&srcei, &node, v, &RECEPCION, OP, None, &body).await;
                let r = a.respuesta(v, &RECEPCION, OP);
                assert_eq!(estado(&r), "03", "{codigo}: {}", a.shown());
                assert!(r.at("cuerpo").is_none());
                let audited = audit_after(&node, last_audit_id(&node) - 1);
                assert_eq!(audited[0].resultado, codigo);
            }
            // Not base64, or no format: Faults 04.
            let bad = "<rl:tipo>personas</rl:tipo><rl:formato>csv</rl:formato>\
                       <rl:contenido>¡no!</rl:contenido>";
            // srcei may send 5 requests a second.
            tokio::time::sleep(std::time::Duration::from_millis(220)).await;
            let a = call(&srcei, &node, v, &RECEPCION, OP, None, bad).await;
            assert_fault(&a, v, true, "04", "XML_INVALIDO");
            let bad = cuerpo("personas", None, "json", &csv);
            // srcei may send 5 requests a second.
            tokio::time::sleep(std::time::Duration::from_millis(220)).await;
            let a = call(&srcei, &node, v, &RECEPCION, OP, None, &bad).await;
            assert_fault(&a, v, true, "04", "XML_INVALIDO");
            // Not granted: an agreement without RecepcionLotes, or without this kind.
            let minvu = node.client(Some("minvu"));
            let a = call(
                &minvu,
                &node,
                v,
                &RECEPCION,
                OP,
                None,
                &cuerpo("personas", None, "csv", &csv),
            )
            .await;
            assert_fault(&a, v, true, "02", "NO_AUTORIZADO");
            // srcei may send 5 requests a second.
            tokio::time::sleep(std::time::Duration::from_millis(220)).await;
            let a = call(
                &srcei,
                &node,
                v,
                &RECEPCION,
                OP,
                None,
                &cuerpo("fichas", None, "csv", &sample("fichas.csv")),
            )
            .await;
            assert_fault(&a, v, true, "02", "NO_AUTORIZADO");
        }
        assert_eq!(count_lotes(&node), lotes_before);
        // Every request audited as one record over soap, naming no person as disclosed: only
        // the persons of lines refused against the registry, each with its line's code.
        let audited = audit_after(&node, before);
        assert_eq!(audited.len(), 5 + 2 * 7, "{audited:?}");
        for row in &audited {
            assert_eq!(
                (row.operacion.as_str(), row.transporte.as_str()),
                (
                    "RecepcionLotes",
                    if row.id == audited[2].id {
                        "rest"
                    } else {
                        "soap"
                    }
                ),
                "{row:?}"
            );
            assert!(
                row.sujetos.is_empty() || row.sujetos.split(',').all(|s| s.contains(':')),
                "{row:?}"
            );
        }
        assert!(
            audited
                .iter()
                .filter(|r| r.id > after_ok)
                .all(|r| r.resultado != "OK")
        );
        node.stop().await;
    }
);

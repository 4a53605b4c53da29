//! Every SOAP request is audited, as `soap`, like REST, refused ones included.

use super::client::{
    ELEGIBILIDAD, FICHA, IDENTIDAD, META, V, call, envelope, operation, post, post_raw, run_xml,
};
use super::{audit_after, last_audit_id, unknown_xml};
use crate::per_backend;
use crate::registry;
use crate::support::{Setup, TestNode};

per_backend!(
    async fn every_soap_request_is_audited_like_rest_even_when_refused(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 300,
                extra_clients: vec!["sin-convenio"],
                ..Setup::default()
            },
        )
        .await;
        let run = registry::with_ficha(&mut node.db(), None);
        let minvu = node.client(Some("minvu"));
        let before = last_audit_id(&node);
        let ficha = run_xml("f", run);
        let v = V::V11;
        let ct = "text/xml; charset=utf-8";
        let url = node.agency_url("/soap/ConsultaFichaFPS");
        // (agreement, operation, outcome, HTTP status) expected for each request, in order.
        let mut expected: Vec<(Option<&str>, &str, &str, i32)> = Vec::new();

        let a = call(
            &minvu,
            &node,
            v,
            &FICHA,
            "ConsultarFichaFPS",
            Some("auditado-1"),
            &ficha,
        )
        .await;
        assert_eq!(a.status, 200);
        expected.push((Some("minvu"), "ConsultarFichaFPS", "OK", 200));
        let a = call(
            &minvu,
            &node,
            V::V12,
            &FICHA,
            "ConsultarFichaFPS",
            None,
            &unknown_xml("f"),
        )
        .await;
        assert_eq!(a.status, 200);
        // An outcome: HTTP 200 on SOAP, and the record keeps the status the caller received.
        expected.push((Some("minvu"), "ConsultarFichaFPS", "NO_ENCONTRADO", 200));
        // Faults: HTTP 500 in SOAP 1.1, and the record keeps the 500 actually sent.
        let a = post_raw(&minvu, &url, ct, None, "<soapenv:Envelope".to_owned()).await;
        assert_eq!(a.status, 500);
        expected.push((Some("minvu"), "Desconocido", "XML_INVALIDO", 500));
        let a = call(
            &node.client(Some("sin-convenio")),
            &node,
            v,
            &META,
            "listMethods",
            None,
            "",
        )
        .await;
        assert_eq!(a.status, 500);
        expected.push((None, "listMethods", "NO_AUTORIZADO", 500));
        // The same refusal in SOAP 1.2, a Sender Fault: 400.
        let a = call(
            &node.client(Some("sin-convenio")),
            &node,
            V::V12,
            &META,
            "listMethods",
            None,
            "",
        )
        .await;
        assert_eq!(a.status, 400);
        expected.push((None, "listMethods", "NO_AUTORIZADO", 400));
        let cuerpo = format!("{}<e:programa>PBS</e:programa>", run_xml("e", run));
        let a = call(
            &node.client(Some("orasmi-13")),
            &node,
            v,
            &ELEGIBILIDAD,
            "ConsultarElegibilidad",
            None,
            &cuerpo,
        )
        .await;
        assert_eq!(a.status, 500);
        expected.push((
            Some("orasmi-13"),
            "ConsultarElegibilidad",
            "NO_AUTORIZADO",
            500,
        ));
        let body = envelope(
            v,
            &FICHA,
            "",
            &operation(&FICHA, "ConsultarFichaFPS", None, &ficha),
        );
        let a = post_raw(&minvu, &url, "application/json", None, body.clone()).await;
        assert_eq!(a.status, 500);
        expected.push((Some("minvu"), "Desconocido", "TIPO_NO_SOPORTADO", 500));
        let a = post_raw(&minvu, &url, ct, None, "x".repeat(2 << 20)).await;
        assert_eq!(a.status, 500);
        expected.push((Some("minvu"), "Desconocido", "DEMASIADO_GRANDE", 500));
        let a = post_raw(
            &minvu,
            &url,
            "application/soap+xml; charset=utf-8",
            None,
            "x".repeat(2 << 20),
        )
        .await;
        assert_eq!(a.status, 400);
        expected.push((Some("minvu"), "Desconocido", "DEMASIADO_GRANDE", 400));
        let a = call(
            &minvu,
            &node,
            v,
            &FICHA,
            "ConsultarFichaFPS",
            Some("auditado-1"),
            &ficha,
        )
        .await;
        assert_eq!(a.status, 500);
        expected.push((Some("minvu"), "ConsultarFichaFPS", "MENSAJE_REPETIDO", 500));
        let a = post(&minvu, &node, v, &FICHA, "ConsultarFichaFPSLote", body).await;
        assert_eq!(a.status, 500);
        expected.push((Some("minvu"), "Desconocido", "OPERACION_DESCONOCIDA", 500));
        let a = call(
            &node.client(Some("ips")),
            &node,
            v,
            &IDENTIDAD,
            "ValidarIdentidad",
            None,
            &run_xml("i", run),
        )
        .await;
        assert_eq!(a.status, 200);
        expected.push((Some("ips"), "ValidarIdentidad", "OK", 200));
        for op in ["listMethods", "allowedMethods"] {
            let a = call(&minvu, &node, v, &META, op, None, "").await;
            assert_eq!(a.status, 200);
            expected.push((Some("minvu"), op, "OK", 200));
        }
        let a = call(
            &minvu,
            &node,
            v,
            &META,
            "getWsdl",
            None,
            "<m:servicio>ConsultaFichaFPS</m:servicio>",
        )
        .await;
        assert_eq!(a.status, 200);
        expected.push((Some("minvu"), "getWsdl", "OK", 200));

        let rows = audit_after(&node, before);
        let got: Vec<(Option<&str>, &str, &str, i32)> = rows
            .iter()
            .map(|r| {
                let status = r.estado_http;
                (
                    r.convenio.as_deref(),
                    r.operacion.as_str(),
                    r.resultado.as_str(),
                    status,
                )
            })
            .collect();
        assert_eq!(
            rows.len(),
            expected.len(),
            "one record per request: {rows:?}"
        );
        assert_eq!(got, expected, "one record per request, in order");
        assert!(rows.iter().all(|r| r.transporte == "soap"), "{rows:?}");
        assert_eq!(rows[0].id_mensaje, "auditado-1");
        assert!(
            rows[0].sujetos.contains(&run.numero().to_string()),
            "{:?}",
            rows[0]
        );

        // The same question over REST is recorded with the same persons and fields.
        let rest_before = last_audit_id(&node);
        let response = minvu
            .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let rest = &audit_after(&node, rest_before)[0];
        assert_eq!(rest.transporte, "rest");
        assert_eq!(
            (&rest.sujetos, &rest.campos, &rest.operacion),
            (&rows[0].sujetos, &rows[0].campos, &rows[0].operacion)
        );

        // And the chain still verifies with SOAP records in it.
        let out = node.siis(&["audit", "verify"]);
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        node.stop().await;
    }
);

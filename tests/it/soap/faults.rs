//! SOAP 1.1 and 1.2 are answered in the version asked, and failures are Faults with the
//! estadoSobre and stable code of the table in schemas/README.md, sent with HTTP 500 (SOAP 1.1,
//! WS-I Basic Profile R1126) or 400 / 500 (SOAP 1.2 Sender / Receiver), never with REST's
//! 403, 409, 413, 415 or 429 ([`super::fault_status`]).

use super::client::{
    ELEGIBILIDAD, FICHA, IDENTIDAD, META, V, call, envelope, estado, operation, post, post_raw,
    run_xml,
};
use super::{assert_fault, break_audit, convenio_text, convenios_with};
use crate::per_backend;
use crate::registry;
use crate::support::{Setup, TestNode};

per_backend!(
    async fn each_version_is_answered_in_kind_and_faults_follow_the_table(backend) {
        let dir = tempfile::TempDir::new().unwrap();
        let ficha = "[operations.ConsultarFichaFPS]\nfields = [\"run\", \"puntaje\"]\n";
        let convenios = convenios_with(
            dir.path(),
            &[
                (
                    "lento.toml",
                    convenio_text("lento", ("2026-01-01", "2030-12-31"), (1, 2), ficha),
                ),
                (
                    "vencido.toml",
                    convenio_text("vencido", ("2020-01-01", "2021-12-31"), (10, 10), ficha),
                ),
                (
                    "vivos.toml",
                    convenio_text(
                        "vivos",
                        ("2026-01-01", "2030-12-31"),
                        (10, 10),
                        "[operations.ValidarIdentidad]\nfields = [\"run\", \"vivo\"]\n",
                    ),
                ),
            ],
        );
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 300,
                convenios: Some(convenios.clone()),
                extra_clients: vec!["sin-convenio"],
                ..Setup::default()
            },
        )
        .await;
        let run = registry::with_ficha(&mut node.db(), None);
        let minvu = node.client(Some("minvu"));
        for v in V::BOTH {
            // A success: the version asked, in Content-Type and envelope namespace, UTF-8.
            let a = call(
                &minvu,
                &node,
                v,
                &FICHA,
                "ConsultarFichaFPS",
                None,
                &run_xml("f", run),
            )
            .await;
            let r = a.respuesta(v, &FICHA, "ConsultarFichaFPS");
            assert_eq!(estado(&r), "00");
            assert!(
                a.content_type
                    .to_ascii_lowercase()
                    .contains("charset=utf-8"),
                "{}",
                a.shown()
            );
            assert_eq!(r.text_at("encabezado/proveedor"), Some("SIIS"));
            assert_eq!(r.text_at("encabezado/consumidor"), Some("minvu"));

            // Malformed XML: a Client / Sender Fault, estadoSobre 04.
            let truncated = envelope(
                v,
                &FICHA,
                "",
                &operation(&FICHA, "ConsultarFichaFPS", None, &run_xml("f", run)),
            );
            let truncated = truncated[..truncated.len() - 30].to_owned();
            let a = post(&minvu, &node, v, &FICHA, "ConsultarFichaFPS", truncated).await;
            assert_fault(&a, v, true, "04", "XML_INVALIDO");

            // Unknown operation; an operation of another service; an unpublished service.
            let a = call(&minvu, &node, v, &FICHA, "ConsultarNada", None, "").await;
            assert_fault(&a, v, true, "04", "OPERACION_DESCONOCIDA");
            let other = envelope(
                v,
                &FICHA,
                "",
                "<m:listMethods xmlns:m=\"http://www.siis.gob.cl/esquemas/metaservicios/v1\"/>",
            );
            let a = post(&minvu, &node, v, &FICHA, "listMethods", other).await;
            assert_fault(&a, v, true, "04", "OPERACION_DESCONOCIDA");
            let url = node.agency_url("/soap/ServicioInexistente");
            let body = envelope(v, &META, "", &operation(&META, "listMethods", None, ""));
            let a = match v {
                V::V11 => post_raw(&minvu, &url, "text/xml; charset=utf-8", None, body).await,
                V::V12 => {
                    post_raw(
                        &minvu,
                        &url,
                        "application/soap+xml; charset=utf-8",
                        None,
                        body,
                    )
                    .await
                }
            };
            assert_fault(&a, v, true, "04", "OPERACION_DESCONOCIDA");

            // A SOAPAction (1.1 header, 1.2 parameter) naming another operation than the Body's.
            let body = envelope(
                v,
                &FICHA,
                "",
                &operation(&FICHA, "ConsultarFichaFPS", None, &run_xml("f", run)),
            );
            let a = post(
                &minvu,
                &node,
                v,
                &FICHA,
                "ConsultarFichaFPSLote",
                body.clone(),
            )
            .await;
            assert_fault(&a, v, true, "04", "OPERACION_DESCONOCIDA");
            assert!(
                !a.text.contains("puntaje"),
                "no answer with a mismatched action"
            );
            // The action is optional: without one the Body decides.
            let url = node.agency_url("/soap/ConsultaFichaFPS");
            let ct = match v {
                V::V11 => "text/xml; charset=utf-8",
                V::V12 => "application/soap+xml; charset=utf-8",
            };
            let a = post_raw(&minvu, &url, ct, None, body).await;
            assert_eq!(estado(&a.respuesta(v, &FICHA, "ConsultarFichaFPS")), "00");

            // No agreement (REST's 403): estadoSobre 01.
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
            assert_fault(&a, v, true, "01", "NO_AUTORIZADO");
            // Not granted (operation, program, field) or not in force (REST's 403): estadoSobre 02.
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
            assert_fault(&a, v, true, "02", "NO_AUTORIZADO");
            let cuerpo = format!("{}<e:programa>FSV1</e:programa>", run_xml("e", run));
            let a = call(
                &node.client(Some("ips")),
                &node,
                v,
                &ELEGIBILIDAD,
                "ConsultarElegibilidad",
                None,
                &cuerpo,
            )
            .await;
            assert_fault(&a, v, true, "02", "NO_AUTORIZADO");
            let cuerpo = format!("{}<i:nombres>JUAN</i:nombres>", run_xml("i", run));
            let a = call(
                &node.client(Some("vivos")),
                &node,
                v,
                &IDENTIDAD,
                "ValidarIdentidad",
                None,
                &cuerpo,
            )
            .await;
            assert_fault(&a, v, true, "02", "CAMPO_NO_PERMITIDO");
            let a = call(
                &node.client(Some("vencido")),
                &node,
                v,
                &FICHA,
                "ConsultarFichaFPS",
                None,
                &run_xml("f", run),
            )
            .await;
            assert_fault(&a, v, true, "02", "CONVENIO_NO_VIGENTE");

            // A replayed idSobre (REST's 409): estadoSobre 03.
            let id = format!("repetido-{v:?}");
            let first = call(&minvu, &node, v, &META, "listMethods", Some(&id), "").await;
            let r = first.respuesta(v, &META, "listMethods");
            assert_eq!(r.text_at("encabezado/idSobre"), Some(id.as_str()));
            let a = call(&minvu, &node, v, &META, "listMethods", Some(&id), "").await;
            assert_fault(&a, v, true, "03", "MENSAJE_REPETIDO");

            // The rate limit (REST's 429): estadoSobre 02, and Retry-After kept on the Fault.
            let lento = node.client(Some("lento"));
            let mut limited = Vec::new();
            for _ in 0..6 {
                let a = call(&lento, &node, v, &META, "listMethods", None, "").await;
                if a.status != 200 {
                    limited.push(a);
                }
            }
            assert!(
                !limited.is_empty(),
                "a burst of 2 at 1/s cannot admit 6 at once"
            );
            for a in &limited {
                assert_fault(a, v, true, "02", "LIMITE_EXCEDIDO");
                let retry: u64 = a
                    .retry_after
                    .as_deref()
                    .and_then(|r| r.parse().ok())
                    .unwrap_or(0);
                assert!(retry >= 1, "Retry-After: {:?}", a.retry_after);
            }

            // A body over 1 MiB (REST's 413).
            let huge = envelope(
                v,
                &FICHA,
                "",
                &operation(
                    &FICHA,
                    "ConsultarFichaFPS",
                    Some(&"x".repeat(1 << 20)),
                    &run_xml("f", run),
                ),
            );
            let a = post(&minvu, &node, v, &FICHA, "ConsultarFichaFPS", huge).await;
            assert_fault(&a, v, true, "04", "DEMASIADO_GRANDE");
        }

        // A content type that is no SOAP version (REST's 415): answered as SOAP 1.1, so 500.
        let url = node.agency_url("/soap/Metaservicios");
        let body = envelope(
            V::V11,
            &META,
            "",
            &operation(&META, "listMethods", None, ""),
        );
        for ct in ["application/json", "text/plain", "application/xml"] {
            let a = post_raw(&minvu, &url, ct, None, body.clone()).await;
            assert_fault(&a, V::V11, true, "04", "TIPO_NO_SOPORTADO");
        }

        // The registry's audit log unavailable (REST's 503): Server / Receiver, estadoSobre 07, no
        // data.
        break_audit(&mut node.db());
        for v in V::BOTH {
            let a = call(
                &minvu,
                &node,
                v,
                &FICHA,
                "ConsultarFichaFPS",
                None,
                &run_xml("f", run),
            )
            .await;
            assert_fault(&a, v, false, "07", "NO_DISPONIBLE");
            assert!(
                !a.text.contains("puntaje"),
                "no data without audit: {}",
                a.shown()
            );
        }
        node.stop().await;
    }
);

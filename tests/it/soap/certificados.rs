//! The CertificadosFPS service: EmitirCertificado over SOAP 1.1 and 1.2 answers what REST does
//! (a signed certificate whose PDF, in base64, carries the same payload in its QR code), its
//! answers validate against `certificados-v1.xsd`, and refusals map to the D.S. 81 codes.

use base64::Engine;
use siis::ops::certificados::Payload;

use super::client::{CERTIFICADOS, V, call, check_schema, estado, run_xml, xmllint_available};
use crate::per_backend;
use crate::registry;
use crate::support::{Setup, TestNode};

per_backend!(
    async fn emitir_certificado_over_soap_signs_and_validates(backend) {
        let xmllint = xmllint_available();
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 4_000,
                ..Setup::default()
            },
        )
        .await;
        let mine = registry::with_ficha(&mut node.db(), Some("13101"));
        let other = registry::with_ficha_outside(&mut node.db(), "13101");
        let muni = node.client(Some("muni-13101"));
        let key = siis::ops::certificados::firma::load_public(&node.pki.join("documentos.pem")).unwrap();
        for v in V::BOTH {
            let cuerpo = format!("{}<c:tipo>certificado_fps</c:tipo>", run_xml("c", mine));
            let a = call(
                &muni,
                &node,
                v,
                &CERTIFICADOS,
                "EmitirCertificado",
                None,
                &cuerpo,
            )
            .await;
            let r = a.respuesta(v, &CERTIFICADOS, "EmitirCertificado");
            assert_eq!(estado(&r), "00", "{}", a.shown());
            if xmllint {
                check_schema("certificados-v1.xsd", &r).unwrap();
            }
            let c = r.at("cuerpo/certificado").expect("certificado");
            let payload_text = c.text_at("payload").unwrap();
            let payload = Payload::verify(payload_text, &key).expect("signed");
            assert_eq!(payload.contenido.run, mine);
            assert_eq!(c.text_at("codigo"), Some(payload.code().as_str()));
            assert_eq!(c.text_at("folio"), Some(payload.contenido.folio.as_str()));
            assert_eq!(
                c.text_at("datos/puntaje").map(str::to_owned),
                payload.contenido.puntaje.map(|p| p.to_string())
            );
            let pdf = base64::engine::general_purpose::STANDARD
                .decode(c.text_at("pdf").unwrap())
                .unwrap();
            assert_eq!(
                siis::ops::certificados::pdf::payload_from_pdf(&pdf).unwrap(),
                payload_text
            );

            // Outcomes: unknown kind (03), outside the comuna (05, not disclosed).
            let cuerpo = format!("{}<c:tipo>otro</c:tipo>", run_xml("c", mine));
            let a = call(
                &muni,
                &node,
                v,
                &CERTIFICADOS,
                "EmitirCertificado",
                None,
                &cuerpo,
            )
            .await;
            let r = a.respuesta(v, &CERTIFICADOS, "EmitirCertificado");
            assert_eq!(estado(&r), "03");
            assert!(r.child("cuerpo").is_none());
            if xmllint {
                check_schema("certificados-v1.xsd", &r).unwrap();
            }
            let cuerpo = format!("{}<c:tipo>constancia</c:tipo>", run_xml("c", other));
            let a = call(
                &muni,
                &node,
                v,
                &CERTIFICADOS,
                "EmitirCertificado",
                None,
                &cuerpo,
            )
            .await;
            let r = a.respuesta(v, &CERTIFICADOS, "EmitirCertificado");
            assert_eq!(estado(&r), "05");

            // An agency without the grant: a fault with estadoSobre 02.
            let cuerpo = format!("{}<c:tipo>constancia</c:tipo>", run_xml("c", mine));
            let minvu = node.client(Some("minvu"));
            let a = call(
                &minvu,
                &node,
                v,
                &CERTIFICADOS,
                "EmitirCertificado",
                None,
                &cuerpo,
            )
            .await;
            crate::soap::assert_fault(&a, v, true, "02", "NO_AUTORIZADO");
        }
        use diesel::prelude::*;
        let issued: i64 = siis::db::schema::certificados::table
            .count()
            .get_result(&mut node.db())
            .unwrap();
        assert_eq!(issued, 2, "one per SOAP version; refusals write nothing");
        node.stop().await;
    }
);

//! The SOAP service Suscripciones: the same operations as REST, answers valid against
//! `suscripciones-v1.xsd`, and the same events disclosed over both transports.

use super::outbox::registrar;
use super::{defuncion, leer, persona};
use crate::per_backend;
use crate::soap::client::{
    SUSCRIPCIONES, V, call, check_schema, estado, run_xml, xmllint_available,
};
use crate::support::TestNode;

per_backend!(
    async fn soap_and_rest_answer_the_same_events_and_refusals(backend) {
        let node = TestNode::start(backend).await;
        let ips = node.client(Some("ips"));
        let svc = &SUSCRIPCIONES;
        let validar = |e: &crate::soap::xml::Element| {
            if xmllint_available() {
                check_schema(svc.xsd, e).expect("the answer validates against its schema");
            }
        };
        for (i, v) in V::BOTH.into_iter().enumerate() {
            let a = call(&ips, &node, v, svc, "Suscribir", None,
                "<su:tipos><su:tipo>defuncion</su:tipo></su:tipos><su:entrega>pull</su:entrega>").await;
            let r = a.respuesta(v, svc, "Suscribir");
            assert_eq!(estado(&r), "00", "{}", a.shown());
            validar(&r);
            let id = r.text_at("cuerpo/suscripcion/id").unwrap().to_owned();
            let base = 8_000_000 + 10 * i as u32;
            registrar(&node, &[defuncion(base + 1, "13101"), defuncion(base + 2, "05101")]).await;

            let a = call(&ips, &node, v, svc, "LeerEventos", None,
                &format!("<su:id>{id}</su:id><su:despues>0</su:despues><su:limite>10</su:limite>")).await;
            let r = a.respuesta(v, svc, "LeerEventos");
            assert_eq!(estado(&r), "00", "{}", a.shown());
            validar(&r);
            let eventos = r.at("cuerpo/eventos").unwrap();
            let soap: Vec<(String, String)> = eventos
                .all("notificacion")
                .map(|n| (n.text_at("secuencia").unwrap().to_owned(),
                          format!("{}-{}", n.text_at("run/numero").unwrap(), n.text_at("run/dv").unwrap())))
                .collect();
            assert_eq!(eventos.text_at("hasta"), Some("2"));
            let (_, page) = leer(&node, "ips", &id, 0, 10).await;
            let rest: Vec<(String, String)> = page["notificaciones"].as_array().unwrap().iter()
                .map(|n| (n["secuencia"].to_string(), n["run"].as_str().unwrap().to_owned()))
                .collect();
            assert_eq!(soap, rest);
            assert_eq!(rest[0].1, persona(base + 1).to_string());

            let a = call(&ips, &node, v, svc, "ListarSuscripciones", None, "").await;
            let r = a.respuesta(v, svc, "ListarSuscripciones");
            validar(&r);
            assert_eq!(r.at("cuerpo/suscripciones").unwrap().all("suscripcion").count(), i + 1);

            let a = call(&ips, &node, v, svc, "Desuscribir", None, &format!("<su:id>{id}</su:id>")).await;
            let r = a.respuesta(v, svc, "Desuscribir");
            validar(&r);
            assert_eq!(r.text_at("cuerpo/suscripcion/estado"), Some("cerrada"));

            // Outcomes: another agreement's (or an unknown) id is 05; a bad kind or RUN is 03.
            let muni = node.client(Some("muni-13101"));
            let a = call(&muni, &node, v, svc, "LeerEventos", None, &format!("<su:id>{id}</su:id>")).await;
            let r = a.respuesta(v, svc, "LeerEventos");
            assert_eq!(estado(&r), "05", "{}", a.shown());
            validar(&r);
            let a = call(&ips, &node, v, svc, "Suscribir", None,
                "<su:tipos><su:tipo>bautizo</su:tipo></su:tipos><su:entrega>pull</su:entrega>").await;
            assert_eq!(estado(&a.respuesta(v, svc, "Suscribir")), "03", "{}", a.shown());
            let bueno = persona(1_000_003);
            let dv = if bueno.dv() == '0' { '1' } else { '0' };
            let mal = run_xml("su", bueno).replace(&format!("<t:dv>{}</t:dv>", bueno.dv()), &format!("<t:dv>{dv}</t:dv>"));
            assert_ne!(mal, run_xml("su", bueno));
            let a = call(&muni, &node, v, svc, "Suscribir", None, &format!(
                "<su:tipos><su:tipo>defuncion</su:tipo></su:tipos><su:entrega>pull</su:entrega><su:runs>{mal}</su:runs>")).await;
            let r = a.respuesta(v, svc, "Suscribir");
            assert_eq!(estado(&r), "03", "{}", a.shown());
            validar(&r);
        }
        node.stop().await;
    }
);

//! The same path over SOAP: ingreso, events, the reads; a refusal is an outcome with its
//! estadoSobre and the code in the audit record.

use super::*;
use crate::per_backend;
use crate::soap::client::{CHILE_SOLIDARIO, V, call, estado, run_xml};
use crate::soap::{audit_after, last_audit_id};

per_backend!(
    async fn soap_works_a_participation_like_rest(backend) {
        let node = TestNode::start(backend).await;
        let f = familias(&mut node.db());
        let muni = node.client(Some("muni-13101"));
        let svc = &CHILE_SOLIDARIO;
        let cuerpo = format!(
            "{}<chs:programa>puente</chs:programa><chs:apoyoFamiliar>AF-7</chs:apoyoFamiliar>",
            run_xml("chs", f.titular)
        );
        let a = call(&muni, &node, V::V11, svc, "IngresarFamiliaCHS", None, &cuerpo).await;
        let r = a.respuesta(V::V11, svc, "IngresarFamiliaCHS");
        let p = r.child("cuerpo").unwrap().child("participacion").unwrap();
        let id = p.text_at("id").unwrap().to_owned();
        assert_eq!(p.text_at("estado"), Some("apoyo"));
        assert_eq!(p.child("condiciones").unwrap().all("condicion").count(), 53);
        // A second ingreso: outcome 03, PARTICIPACION_EN_CURSO in the record.
        let before = last_audit_id(&node);
        let a = call(&muni, &node, V::V12, svc, "IngresarFamiliaCHS", None, &cuerpo).await;
        let r = a.respuesta(V::V12, svc, "IngresarFamiliaCHS");
        assert_eq!(estado(&r), "03", "{}", a.shown());
        assert_eq!(audit_after(&node, before)[0].resultado, "PARTICIPACION_EN_CURSO");

        for (cuerpo, check) in [
            ("<chs:evento>sesion</chs:evento><chs:tipo>grupal</chs:tipo>", "sesiones/sesion/tipo"),
            ("<chs:evento>condicion</chs:evento><chs:condicion>IDE1</chs:condicion><chs:estado>cumplida</chs:estado>", "condiciones/condicion/estado"),
            ("<chs:evento>pago_bono</chs:evento>", "bonos/bono/estado"),
            ("<chs:evento>egreso</chs:evento><chs:motivo>renuncia</chs:motivo>", "estado"),
        ] {
            let body = format!("<chs:id>{id}</chs:id>{cuerpo}");
            let a = call(&muni, &node, V::V11, svc, "RegistrarEventoCHS", None, &body).await;
            let r = a.respuesta(V::V11, svc, "RegistrarEventoCHS");
            let p = r.child("cuerpo").unwrap().child("participacion").unwrap();
            let want = match check {
                "sesiones/sesion/tipo" => "grupal",
                "condiciones/condicion/estado" => "cumplida",
                "bonos/bono/estado" => "pagado",
                _ => "interrumpida",
            };
            assert_eq!(p.text_at(check), Some(want), "{}", a.shown());
        }
        // Egreso twice: 03, TRANSICION_NO_PERMITIDA; a bad condition code: 03, EVENTO_INVALIDO.
        for (cuerpo, code) in [
            ("<chs:evento>egreso</chs:evento><chs:motivo>renuncia</chs:motivo>", "TRANSICION_NO_PERMITIDA"),
            ("<chs:evento>condicion</chs:evento><chs:condicion>XYZ1</chs:condicion><chs:estado>cumplida</chs:estado>", "EVENTO_INVALIDO"),
        ] {
            let before = last_audit_id(&node);
            let body = format!("<chs:id>{id}</chs:id>{cuerpo}");
            let a = call(&muni, &node, V::V11, svc, "RegistrarEventoCHS", None, &body).await;
            let r = a.respuesta(V::V11, svc, "RegistrarEventoCHS");
            assert_eq!(estado(&r), "03", "{}", a.shown());
            assert_eq!(audit_after(&node, before)[0].resultado, code);
        }

        // The reads answer what REST answers.
        let (_, rest) = leer(&node, "muni-13101", &id).await;
        let a = call(&muni, &node, V::V11, svc, "ConsultarParticipacionCHSPorId", None, &format!("<chs:id>{id}</chs:id>")).await;
        let r = a.respuesta(V::V11, svc, "ConsultarParticipacionCHSPorId");
        let p = r.child("cuerpo").unwrap().child("participacion").unwrap();
        assert_eq!(p.text_at("estado"), rest["estado"].as_str());
        assert_eq!(p.text_at("motivoEgreso"), Some("renuncia"));
        assert_eq!(p.child("bonos").unwrap().all("bono").count(), rest["bonos"].as_array().unwrap().len());
        let a = call(&muni, &node, V::V12, svc, "ListarParticipacionesCHS", None, "<chs:comuna>13101</chs:comuna>").await;
        let r = a.respuesta(V::V12, svc, "ListarParticipacionesCHS");
        let lista = r.child("cuerpo").unwrap().child("lista").unwrap();
        assert_eq!(lista.text_at("total"), Some("1"));
        assert_eq!(lista.child("participacion").unwrap().text_at("id"), Some(id.as_str()));

        // FOSIS by a member's RUN: no bonos; another comuna's municipality: as unknown (05).
        let fosis = node.client(Some("fosis"));
        let a = call(&fosis, &node, V::V11, svc, "ConsultarParticipacionCHS", None, &run_xml("chs", f.hijo)).await;
        let r = a.respuesta(V::V11, svc, "ConsultarParticipacionCHS");
        let p = r.child("cuerpo").unwrap().child("participaciones").unwrap().child("participacion").unwrap();
        assert_eq!(p.text_at("programa"), Some("puente"));
        assert!(p.child("bonos").is_none() && p.child("sesiones").is_none(), "{}", a.shown());
        let otra = node.client(Some("muni-05101"));
        let a1 = call(&otra, &node, V::V11, svc, "ConsultarParticipacionCHSPorId", None, &format!("<chs:id>{id}</chs:id>")).await;
        let r1 = a1.respuesta(V::V11, svc, "ConsultarParticipacionCHSPorId");
        assert_eq!(estado(&r1), "05", "{}", a1.shown());
        let a2 = call(&otra, &node, V::V11, svc, "ConsultarParticipacionCHS", None, &run_xml("chs", f.hijo)).await;
        let a3 = call(&otra, &node, V::V11, svc, "ConsultarParticipacionCHS", None, &run_xml("chs", desconocido())).await;
        let strip = |t: &str| t.split("<chs:cuerpo").next().unwrap_or("").split("</s:idSobre>").nth(1).unwrap_or("").split("</s:fechaHora>").nth(1).unwrap_or("").to_owned();
        assert_eq!(strip(&a2.text), strip(&a3.text), "{} {}", a2.shown(), a3.shown());
        assert_eq!(estado(&a2.respuesta(V::V11, svc, "ConsultarParticipacionCHS")), "05");

        // The Metropolitan health service follows gestantes and children (Chile Crece Contigo)
        // in region 13 but holds no Chile Solidario grant: refused, REST and SOAP, audited
        // NO_AUTORIZADO naming the person asked about, and nothing disclosed.
        let salud = node.client(Some("salud-13"));
        let before = last_audit_id(&node);
        let r = salud
            .get(node.agency_url(&format!("/api/v1/personas/{}/chile-solidario", f.hijo)))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "NO_AUTORIZADO", "{body}");
        assert!(body.get("participaciones").is_none(), "{body}");
        let a = call(
            &salud,
            &node,
            V::V12,
            svc,
            "ConsultarParticipacionCHS",
            None,
            &run_xml("chs", f.hijo),
        )
        .await;
        assert_eq!(a.status, 400, "{}", a.shown());
        assert!(a.text.contains("<s:codigo>NO_AUTORIZADO</s:codigo>"), "{}", a.shown());
        assert!(!a.text.contains("participacion"), "{}", a.shown());
        let audited = audit_after(&node, before);
        assert_eq!(audited.len(), 2, "{audited:?}");
        for record in audited {
            assert_eq!(record.resultado, "NO_AUTORIZADO");
            assert_eq!(record.convenio.as_deref(), Some("salud-13"));
        }
    }
);

//! The ChileCreceContigo SOAP service: the same operations as REST, its answers valid against
//! the XSD and disclosing what REST does; refusals with the same codes.

use super::*;
use crate::soap::client::{CRECE_CONTIGO, V, call, estado as estado_sobre, run_xml, validate};
use crate::soap::xml::{json_pairs, soap_pairs};

async fn soap(
    node: &TestNode,
    convenio: &str,
    v: V,
    op: &str,
    cuerpo: &str,
) -> crate::soap::client::Answer {
    call(
        &node.client(Some(convenio)),
        node,
        v,
        &CRECE_CONTIGO,
        op,
        None,
        cuerpo,
    )
    .await
}

per_backend!(
    async fn soap_runs_the_same_follow_up_and_referrals_as_rest(backend) {
        let node = TestNode::start_without_limits(backend).await;
        let (madre, nino) = {
            let mut conn = node.db();
            (persona(&mut conn, 23_300_001, 25), persona(&mut conn, 23_300_002, 0))
        };
        let v = V::V11;
        let cuerpo = format!(
            "{}<ccc:comuna>13101</ccc:comuna><ccc:semanas>22</ccc:semanas>\
             <ccc:fechaProbableParto>{}</ccc:fechaProbableParto>",
            run_xml("ccc", madre),
            hoy() + Duration::weeks(18)
        );
        let a = soap(&node, SALUD, v, "IngresarSeguimientoChCC", &cuerpo).await;
        let r = a.respuesta(v, &CRECE_CONTIGO, "IngresarSeguimientoChCC");
        assert_eq!(estado_sobre(&r), "00", "{}", a.shown());
        validate(CRECE_CONTIGO.xsd, &r, "IngresarSeguimientoChCC");
        let id = r.text_at("cuerpo/seguimiento/id").unwrap().to_owned();
        for cuerpo in [
            format!("<ccc:id>{id}</ccc:id><ccc:evento>nacimiento</ccc:evento>{}", run_xml("ccc", nino).replace("ccc:run>", "ccc:runNino>")),
            format!("<ccc:id>{id}</ccc:id><ccc:evento>alerta</ccc:evento><ccc:codigo>violencia</ccc:codigo>"),
            format!("<ccc:id>{id}</ccc:id><ccc:evento>derivacion</ccc:evento><ccc:prestacion>jardin_infantil</ccc:prestacion><ccc:alerta>violencia</ccc:alerta>"),
        ] {
            let a = soap(&node, SALUD, v, "RegistrarEventoChCC", &cuerpo).await;
            let r = a.respuesta(v, &CRECE_CONTIGO, "RegistrarEventoChCC");
            assert_eq!(estado_sobre(&r), "00", "{}", a.shown());
            validate(CRECE_CONTIGO.xsd, &r, "RegistrarEventoChCC");
        }
        for v in V::BOTH {
            // A read discloses over SOAP what REST does.
            let a = soap(&node, SALUD, v, "ConsultarSeguimientoChCC", &run_xml("ccc", nino)).await;
            let r = a.respuesta(v, &CRECE_CONTIGO, "ConsultarSeguimientoChCC");
            validate(CRECE_CONTIGO.xsd, &r, "ConsultarSeguimientoChCC");
            let (_, leido) = consultar(&node, SALUD, nino).await;
            assert_eq!(soap_pairs(r.at("cuerpo/seguimiento").unwrap()), json_pairs(&leido), "{v:?}");
            // INTEGRA's tray: the child's referral, never the alert.
            let a = soap(&node, "integra", v, "ListarDerivacionesChCC", "<ccc:sector>educacion</ccc:sector>").await;
            let r = a.respuesta(v, &CRECE_CONTIGO, "ListarDerivacionesChCC");
            assert_eq!(estado_sobre(&r), "00", "{}", a.shown());
            validate(CRECE_CONTIGO.xsd, &r, "ListarDerivacionesChCC");
            let d = r.at("cuerpo/lista/derivacion").expect("one referral");
            assert!(d.child("alerta").is_none() && d.child("runGestante").is_none(), "{}", a.shown());
            let (_, rest) = bandeja(&node, "integra", "?sector=educacion").await;
            assert_eq!(soap_pairs(d), json_pairs(&rest["derivaciones"][0]), "{v:?}");
        }
        let (_, rest) = bandeja(&node, "integra", "").await;
        let der = rest["derivaciones"][0]["id"].as_str().unwrap();
        let a = soap(&node, "integra", V::V12, "ResponderDerivacionChCC", &format!("<ccc:id>{der}</ccc:id><ccc:evento>recibida</ccc:evento>")).await;
        let r = a.respuesta(V::V12, &CRECE_CONTIGO, "ResponderDerivacionChCC");
        validate(CRECE_CONTIGO.xsd, &r, "ResponderDerivacionChCC");
        assert_eq!(r.text_at("cuerpo/derivacion/estado"), Some("recibida"), "{}", a.shown());
        // Refusals: an outcome with the same code (estadoSobre 05 for the unknown, 03 for bad input).
        let a = soap(&node, "muni-05101", V::V11, "ConsultarSeguimientoChCC", &run_xml("ccc", madre)).await;
        let r = a.respuesta(V::V11, &CRECE_CONTIGO, "ConsultarSeguimientoChCC");
        assert_eq!(estado_sobre(&r), "05", "{}", a.shown());
        let a = soap(&node, SALUD, V::V11, "RegistrarEventoChCC", &format!("<ccc:id>{id}</ccc:id><ccc:evento>egreso</ccc:evento><ccc:motivo>mudanza</ccc:motivo>")).await;
        let r = a.respuesta(V::V11, &CRECE_CONTIGO, "RegistrarEventoChCC");
        assert_eq!(estado_sobre(&r), "03", "{}", a.shown());
        assert_eq!(r.text_at("encabezado/metadataOperacional/campo"), Some("motivo"), "{}", a.shown());
        node.stop().await;
    }
);

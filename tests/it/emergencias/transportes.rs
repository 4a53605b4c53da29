//! The same operations over SOAP (RegistroEmergencias), each answer valid against
//! `emergencias-v1.xsd`, REST and SOAP seeing the same records.

use super::*;
use crate::per_backend;
use crate::soap::client::{
    EMERGENCIAS, V, call, estado as estado_sobre, run_xml, validate, xmllint_available,
};
use crate::soap::xml::Element;

/// Calls `op` as `convenio` (SOAP 1.1 or 1.2): the `…Respuesta`.
async fn soap(node: &TestNode, convenio: &str, v: V, op: &str, cuerpo: &str) -> Element {
    let a = call(
        &node.client(Some(convenio)),
        node,
        v,
        &EMERGENCIAS,
        op,
        None,
        cuerpo,
    )
    .await;
    let r = a.respuesta(v, &EMERGENCIAS, op);
    if xmllint_available() {
        validate(EMERGENCIAS.xsd, &r, op);
    }
    r
}

/// An outcome's glosa (the code itself travels in the audit record, not in an outcome).
fn glosa(r: &Element) -> &str {
    r.text_at("encabezado/metadataOperacional/glosaSobre")
        .unwrap_or("")
}

per_backend!(
    async fn the_registry_over_soap_answers_as_rest_does(backend) {
        let (node, _dir) = node(backend).await;
        for v in [V::V11, V::V12] {
            let cuerpo = "<em:nombre>Incendio forestal</em:nombre><em:tipo>incendio</em:tipo>\
                <em:comunas><em:comuna>10401</em:comuna><em:comuna>10404</em:comuna></em:comunas>";
            let r = soap(&node, "operador", v, "DeclararEmergencia", cuerpo).await;
            assert_eq!(estado_sobre(&r), "00");
            let id = r.text_at("cuerpo/emergencia/id").unwrap().to_owned();
            assert_eq!(r.text_at("cuerpo/emergencia/estado"), Some("activa"));
            // A municipality cannot declare: a Fault, authorisation.
            let a = call(&node.client(Some(CHAITEN)), &node, v, &EMERGENCIAS, "DeclararEmergencia", None, cuerpo).await;
            let fault = a.fault(v);
            assert_eq!((fault.estado.as_str(), fault.codigo.as_str()), ("02", "NO_AUTORIZADO"));

            let run = jefe(if v == V::V11 { 1 } else { 2 });
            let hogar = format!(
                "<em:emergencia>{id}</em:emergencia>{}<em:integrantes>3</em:integrantes>\
                 <em:comunaOrigen>10404</em:comunaOrigen><em:comunaDestino>10101</em:comunaDestino>\
                 <em:alojamiento>familiares</em:alojamiento><em:dano>mayor</em:dano>\
                 <em:necesidad>salud</em:necesidad><em:necesidad>agua</em:necesidad>",
                run_xml("em", run)
            );
            let r = soap(&node, PUERTO_MONTT, v, "RegistrarHogarDamnificado", &hogar).await;
            assert_eq!(estado_sobre(&r), "00");
            let registro = r.text_at("cuerpo/registro/id").unwrap().to_owned();
            assert_eq!(r.text_at("cuerpo/registro/run/numero"), Some(run.numero().to_string().as_str()));
            let necesidades: Vec<&str> = r
                .at("cuerpo/registro")
                .unwrap()
                .all("necesidad")
                .map(|e| e.text.as_str())
                .collect();
            assert_eq!(necesidades, ["agua", "salud"]);

            let ayuda = format!(
                "<em:emergencia>{id}</em:emergencia><em:registro>{registro}</em:registro>\
                 <em:tipo>kit_higiene</em:tipo><em:cantidad>2</em:cantidad>"
            );
            let r = soap(&node, PUERTO_MONTT, v, "RegistrarAyuda", &ayuda).await;
            assert_eq!(r.text_at("cuerpo/registro/ayudas/ayuda/tipo"), Some("kit_higiene"));

            // REST sees what SOAP wrote.
            let (status, json) = get(&node, PUERTO_MONTT, &format!("/emergencias/{id}/hogares/{registro}")).await;
            assert_eq!(status, 200, "{json}");
            assert_eq!(json["ayudas"][0]["cantidad"], 2);

            let clave = format!("<em:emergencia>{id}</em:emergencia><em:registro>{registro}</em:registro>");
            let r = soap(&node, PUERTO_MONTT, v, "ConsultarHogarDamnificado", &clave).await;
            assert_eq!(r.text_at("cuerpo/registro/comunaOrigen/nombre"), Some("PALENA"));
            // Valparaíso: neither origin nor destination is its comuna, answered as unknown.
            let fuera = soap(&node, "muni-05101", v, "ConsultarHogarDamnificado", &clave).await;
            let desconocido = soap(
                &node,
                "muni-05101",
                v,
                "ConsultarHogarDamnificado",
                &format!("<em:emergencia>{id}</em:emergencia><em:registro>DAM-2222-3333-4444</em:registro>"),
            )
            .await;
            assert_eq!(estado_sobre(&fuera), "05");
            assert_eq!(
                (estado_sobre(&fuera), glosa(&fuera)),
                (estado_sobre(&desconocido), glosa(&desconocido))
            );
            assert!(fuera.at("cuerpo/registro").is_none());

            let r = soap(&node, PUERTO_MONTT, v, "ListarHogaresDamnificados", &format!("<em:emergencia>{id}</em:emergencia>")).await;
            assert_eq!(r.text_at("cuerpo/lista/total"), Some("1"));
            let r = soap(&node, "operador", v, "ListarEmergencias", "<em:estado>activa</em:estado>").await;
            assert!(r.at("cuerpo/lista").unwrap().all("emergencia").any(|e| e.text_at("id") == Some(id.as_str())));
            let r = soap(&node, "operador", v, "ConsultarEmergencia", &format!("<em:id>{id}</em:id>")).await;
            assert_eq!(r.text_at("cuerpo/emergencia/comunas/comuna/codigo"), Some("10401"));

            // One household: every cell is reserved and carries no count.
            let r = soap(&node, "muni-05101", v, "InformeEmergencia", &format!("<em:emergencia>{id}</em:emergencia><em:nivel>region</em:nivel>")).await;
            let celdas: Vec<&Element> = r.at("cuerpo/informe").unwrap().all("celda").collect();
            assert!(!celdas.is_empty());
            assert!(celdas.iter().all(|c| c.text_at("reservado") == Some("true") && c.child("hogares").is_none()));

            let r = soap(&node, "operador", v, "CerrarEmergencia", &format!("<em:id>{id}</em:id>")).await;
            assert_eq!(r.text_at("cuerpo/emergencia/estado"), Some("cerrada"));
            let antes = filas(&node);
            let r = soap(&node, PUERTO_MONTT, v, "RegistrarAyuda", &ayuda).await;
            assert_eq!(estado_sobre(&r), "03", "EMERGENCIA_CERRADA: {r:?}");
            assert!(r.child("cuerpo").is_none());
            assert_eq!(filas(&node), antes);
            let r = soap(&node, PUERTO_MONTT, v, "ConsultarHogarDamnificado", &clave).await;
            assert_eq!(estado_sobre(&r), "00", "reads stay after the close");
        }
        let registros = auditados(&node, "RegistrarDamnificados");
        assert!(registros.iter().any(|(c, s, r, _)| c == PUERTO_MONTT && s.contains(&jefe(1).numero().to_string()) && r == "OK"));
        assert!(registros.iter().any(|(_, _, r, _)| r == "EMERGENCIA_CERRADA"));
        node.stop().await;
    }
);

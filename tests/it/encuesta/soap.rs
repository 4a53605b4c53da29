//! The questionnaire over SOAP 1.1 and 1.2: the same score as the model gives, the same field
//! named as over REST when refused (`s:campo` in metadataOperacional), answers valid against
//! encuestaje-v1.xsd.

use serde_json::Value;
use siis::domain::Run;

use super::rechazos::{base, casos};
use super::{encuestar, ficha_de, integrante, lista, node, node_sin_limites, puntaje_esperado};
use crate::encuestaje::evento;
use crate::per_backend;
use crate::soap::client::{ENCUESTAJE, V, call, estado, run_xml, validate};
use crate::support::TestNode;

/// One member as the schema writes it.
fn integrante_xml(run: Run, parentesco: &str, ingreso: &str) -> String {
    format!(
        "<n:integrante>{}<n:parentesco>{parentesco}</n:parentesco>\
         <n:escolaridadAnios>12</n:escolaridadAnios><n:asisteEducacion>false</n:asisteEducacion>\
         <n:salud>ninguna</n:salud><n:actividad>ocupado</n:actividad>\
         <n:ingresoTrabajo>{ingreso}</n:ingresoTrabajo><n:ingresoPensiones>0</n:ingresoPensiones>\
         <n:ingresoOtros>10000</n:ingresoOtros></n:integrante>",
        run_xml("n", run)
    )
}

fn cuerpo(id: &str, integrantes: &str) -> String {
    format!(
        "<n:id>{id}</n:id><n:evento>encuestar</n:evento>\
         <n:fechaAplicacion>{}</n:fechaAplicacion><n:encuesta>\
         <n:direccion>Pasaje Los Aromos 1234</n:direccion><n:zona>urbana</n:zona>\
         <n:vivienda><n:tenencia>arrendada</n:tenencia><n:agua>red_publica</n:agua>\
         <n:saneamiento>alcantarillado</n:saneamiento><n:piezas>3</n:piezas></n:vivienda>\
         <n:integrantes>{integrantes}</n:integrantes></n:encuesta>",
        siis::broker::local_today()
    )
}

async fn registrar(node: &TestNode, v: V, cuerpo: &str) -> crate::soap::xml::Element {
    let a = call(
        &node.client(Some("muni-13101")),
        node,
        v,
        &ENCUESTAJE,
        "RegistrarEventoEncuestaje",
        None,
        cuerpo,
    )
    .await;
    let r = a.respuesta(v, &ENCUESTAJE, "RegistrarEventoEncuestaje");
    validate(
        ENCUESTAJE.xsd,
        &r,
        &format!("RegistrarEventoEncuestaje ({v:?})"),
    );
    r
}

per_backend!(
    async fn la_encuesta_por_soap_da_el_mismo_puntaje_y_los_mismos_campos(backend) {
        let node = node(backend).await;
        for (k, v) in V::BOTH.into_iter().enumerate() {
            let (id, jefe) = lista(&node, k).await;
            // Refused: the same field as REST names, in metadataOperacional (no cuerpo).
            let malo = cuerpo(&id, &integrante_xml(jefe, "jefe", "-5"));
            let r = registrar(&node, v, &malo).await;
            assert_eq!(estado(&r), "03");
            assert!(r.child("cuerpo").is_none());
            let campo = "integrantes[0].ingresoTrabajo";
            assert_eq!(
                r.text_at("encabezado/metadataOperacional/campo"),
                Some(campo)
            );
            let mut rest = encuestar(vec![integrante(jefe, "jefe", false)]);
            rest["encuesta"]["integrantes"][0]["ingresoTrabajo"] = serde_json::json!(-5);
            let (status, body) = evento(&node, "muni-13101", &id, rest).await;
            assert_eq!((status, body["campo"].as_str()), (400, Some(campo)), "{body}");

            let r = registrar(&node, v, &cuerpo(&id, &integrante_xml(jefe, "jefe", "320000"))).await;
            assert_eq!(estado(&r), "00");
            assert!(r.text_at("encabezado/metadataOperacional/campo").is_none());
            assert_eq!(r.text_at("cuerpo/encuestaje/estado"), Some("encuestada"));
            let (folio, puntaje, modelo, _) = ficha_de(&node, jefe).unwrap();
            assert_eq!(modelo.as_deref(), Some("FPS-2026-1"));
            assert_eq!(r.text_at("cuerpo/encuestaje/puntaje"), Some(puntaje.to_string().as_str()));
            assert_eq!(puntaje, i32::from(puntaje_esperado(&node, folio, "FPS-2026-1")));
        }
        node.stop().await;
    }
);

/// A leaf `n:{name}` for each key of `v` in `orden` that is present (JSON text unquoted).
fn hojas(v: &Value, orden: &[&str], out: &mut String) {
    for name in orden {
        let Some(value) = v.get(*name) else { continue };
        let text = match value {
            Value::String(t) => t.clone(),
            other => other.to_string(),
        };
        out.push_str(&format!("<n:{name}>{text}</n:{name}>"));
    }
}

/// The `cuerpo` of RegistrarEventoEncuestaje for request `id` carrying the JSON event `e`,
/// in the schema's order: the same question REST is asked.
fn cuerpo_de(id: &str, e: &Value) -> String {
    let mut x = format!("<n:id>{id}</n:id>");
    hojas(
        e,
        &["evento", "puntaje", "fechaAplicacion", "modelo"],
        &mut x,
    );
    let Some(encuesta) = e.get("encuesta") else {
        return x;
    };
    x.push_str("<n:encuesta>");
    hojas(encuesta, &["direccion", "zona"], &mut x);
    if let Some(vivienda) = encuesta.get("vivienda") {
        x.push_str("<n:vivienda>");
        hojas(
            vivienda,
            &["tenencia", "agua", "saneamiento", "piezas"],
            &mut x,
        );
        x.push_str("</n:vivienda>");
    }
    x.push_str("<n:integrantes>");
    for m in encuesta["integrantes"].as_array().into_iter().flatten() {
        x.push_str("<n:integrante>");
        if let Some(run) = m.get("run").and_then(Value::as_str) {
            let (numero, dv) = run.rsplit_once('-').unwrap_or((run, ""));
            x.push_str(&format!(
                "<n:run><t:numero>{numero}</t:numero><t:dv>{dv}</t:dv></n:run>"
            ));
        }
        hojas(
            m,
            &[
                "parentesco",
                "escolaridadAnios",
                "asisteEducacion",
                "salud",
                "actividad",
                "ingresoTrabajo",
                "ingresoPensiones",
                "ingresoOtros",
            ],
            &mut x,
        );
        x.push_str("</n:integrante>");
    }
    x.push_str("</n:integrantes></n:encuesta>");
    x
}

per_backend!(
    async fn cada_encuesta_rechazada_nombra_el_mismo_campo_por_rest_y_por_soap(backend) {
        let (node, _convenios) = node_sin_limites(backend).await;
        let (id, jefe) = lista(&node, 0).await;
        let otro = crate::encuestaje::sin_ficha(&node, 3)[2];
        let desconocido = crate::registry::unknown();
        let mut casos = casos(jefe, otro);
        casos.push((
            Box::new(move |b: &mut Value| {
                b["encuesta"]["integrantes"][1]["run"] = desconocido.to_string().into();
            }),
            "integrantes[1]",
        ));
        for (cambio, campo) in casos {
            let mut body = base(jefe, otro);
            cambio(&mut body);
            let (_, rest) = evento(&node, "muni-13101", &id, body.clone()).await;
            assert_eq!(rest["campo"], campo, "{rest}");
            for v in V::BOTH {
                let r = registrar(&node, v, &cuerpo_de(&id, &body)).await;
                assert_eq!(estado(&r), "03", "{campo} ({v:?})");
                assert!(r.child("cuerpo").is_none());
                assert_eq!(
                    r.text_at("encabezado/metadataOperacional/campo"),
                    Some(campo),
                    "{v:?}"
                );
            }
        }
        // The valid one, over SOAP, is the same survey REST would record.
        let r = registrar(&node, V::V12, &cuerpo_de(&id, &base(jefe, otro))).await;
        assert_eq!(estado(&r), "00");
        let (folio, puntaje, _, _) = ficha_de(&node, jefe).unwrap();
        assert_eq!(puntaje, i32::from(puntaje_esperado(&node, folio, "FPS-2026-1")));
        node.stop().await;
    }
);

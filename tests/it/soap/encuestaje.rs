//! The SolicitudEncuestaje service over SOAP 1.1 and 1.2: the same flow and refusals as REST
//! (tests/it/encuestaje.rs), every answer valid against encuestaje-v1.xsd.

use chrono::Days;

use super::assert_fault;
use super::client::{ENCUESTAJE, V, call, estado, run_xml, validate};
use super::xml::Element;
use crate::per_backend;
use crate::support::{Setup, TestNode};

fn hoy() -> chrono::NaiveDate {
    siis::broker::local_today()
}

/// Calls `op` and returns its `…Respuesta`, validated against the schema.
async fn ok(node: &TestNode, v: V, convenio: &str, op: &str, cuerpo: &str) -> Element {
    let a = call(
        &node.client(Some(convenio)),
        node,
        v,
        &ENCUESTAJE,
        op,
        None,
        cuerpo,
    )
    .await;
    let r = a.respuesta(v, &ENCUESTAJE, op);
    validate(ENCUESTAJE.xsd, &r, &format!("{op} ({v:?})"));
    r
}

per_backend!(
    async fn the_survey_request_flow_over_soap(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 3_000,
                ..Setup::default()
            },
        )
        .await;
        let run = crate::registry::without_ficha(&mut node.db());
        for v in V::BOTH {
            let cuerpo = format!("{}<n:comuna>13101</n:comuna>", run_xml("n", run));
            let r = ok(&node, v, "minvu", "SolicitarEncuestaje", &cuerpo).await;
            assert_eq!(estado(&r), "00");
            let id = r.text_at("cuerpo/encuestaje/id").expect("id").to_owned();
            assert_eq!(r.text_at("cuerpo/encuestaje/estado"), Some("solicitada"));
            assert_eq!(
                r.text_at("cuerpo/encuestaje/fechaVencimiento"),
                Some((hoy() + Days::new(30)).to_string().as_str())
            );

            let r = ok(
                &node,
                v,
                "minvu",
                "ConsultarEncuestaje",
                &format!("<n:id>{id}</n:id>"),
            )
            .await;
            assert_eq!(r.text_at("cuerpo/encuestaje/estado"), Some("solicitada"));

            // Another agency: no data (05), as if the request did not exist.
            let r = ok(
                &node,
                v,
                "ips",
                "ConsultarEncuestaje",
                &format!("<n:id>{id}</n:id>"),
            )
            .await;
            assert_eq!(estado(&r), "05");
            assert!(r.child("cuerpo").is_none());

            let r = ok(
                &node,
                v,
                "muni-13101",
                "ListarEncuestajes",
                "<n:comuna>13101</n:comuna><n:estado>solicitada</n:estado><n:porPagina>100</n:porPagina>",
            )
            .await;
            let cola = r.at("cuerpo/cola").expect("cola");
            assert!(
                cola.all("encuestaje")
                    .any(|e| e.text_at("id") == Some(id.as_str())
                        && e.text_at("solicitante") == Some("minvu")),
                "the request is in Santiago's queue"
            );

            let evento = |body: String| format!("<n:id>{id}</n:id>{body}");
            let r = ok(
                &node,
                v,
                "muni-13101",
                "RegistrarEventoEncuestaje",
                &evento(format!(
                    "<n:evento>programar_visita</n:evento><n:fechaVisita>{}</n:fechaVisita>",
                    hoy()
                )),
            )
            .await;
            assert_eq!(
                r.text_at("cuerpo/encuestaje/estado"),
                Some("visita_programada")
            );

            // A refused transition is an outcome (03) with no cuerpo; nothing changes.
            let r = ok(
                &node,
                v,
                "muni-13101",
                "RegistrarEventoEncuestaje",
                &evento(format!(
                    "<n:evento>programar_visita</n:evento><n:fechaVisita>{}</n:fechaVisita>",
                    hoy()
                )),
            )
            .await;
            assert_eq!(estado(&r), "03");
            assert!(r.child("cuerpo").is_none());

            // Another comuna's municipality: a Fault, estadoSobre 02.
            let a = call(
                &node.client(Some("muni-05101")),
                &node,
                v,
                &ENCUESTAJE,
                "RegistrarEventoEncuestaje",
                None,
                &evento("<n:evento>anular</n:evento><n:motivo>no</n:motivo>".into()),
            )
            .await;
            assert_fault(&a, v, true, "02", "FUERA_DE_AMBITO");

            let r = ok(
                &node,
                v,
                "muni-13101",
                "RegistrarEventoEncuestaje",
                &evento(format!(
                    "<n:evento>encuestar</n:evento><n:puntaje>12000</n:puntaje>\
                     <n:fechaAplicacion>{}</n:fechaAplicacion>",
                    hoy()
                )),
            )
            .await;
            assert_eq!(r.text_at("cuerpo/encuestaje/estado"), Some("encuestada"));
            assert_eq!(r.text_at("cuerpo/encuestaje/quintil"), Some("3"));
            assert!(r.text_at("cuerpo/encuestaje/folio").is_some());

            // The person now has a ficha: a new request is refused (03).
            let r = ok(&node, v, "minvu", "SolicitarEncuestaje", &run_xml("n", run)).await;
            assert_eq!(estado(&r), "03");

            // The next SOAP version asks for the same person again: put the new ficha out of
            // force first, as if it had been annulled.
            use diesel::prelude::*;
            use siis::db::schema::fichas;
            diesel::update(
                fichas::table
                    .filter(fichas::estado.eq("vigente"))
                    .filter(fichas::folio.eq(r_folio(&node, &id))),
            )
            .set(fichas::estado.eq("anulada"))
            .execute(&mut node.db())
            .unwrap();
        }
        // Bad pagination is an outcome 03.
        let r = ok(
            &node,
            V::V11,
            "muni-13101",
            "ListarEncuestajes",
            "<n:comuna>13101</n:comuna><n:pagina>0</n:pagina>",
        )
        .await;
        assert_eq!(estado(&r), "03");
        node.stop().await;
    }
);

fn r_folio(node: &TestNode, id: &str) -> i64 {
    use diesel::prelude::*;
    use siis::db::schema::encuestajes;
    encuestajes::table
        .find(id)
        .select(encuestajes::folio)
        .first::<Option<i64>>(&mut node.db())
        .unwrap()
        .expect("folio")
}

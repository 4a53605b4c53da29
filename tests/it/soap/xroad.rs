//! X-Road headers echoed in order, their `id` as the message id; values read whole, and what
//! is echoed stays well-formed XML.

use diesel::prelude::*;

use siis::domain::Run;

use siis::db::schema::auditoria;

use super::client::{FICHA, IDENTIDAD, META, V, call, envelope, estado, operation, post, run_xml};
use super::xml::{self, Element, XROAD, XROAD_ID};
use super::{assert_fault, audit_after, last_audit_id};
use crate::per_backend;
use crate::registry;
use crate::support::{Setup, TestNode};

/// X-Road headers in an unusual order, each declaring its own namespaces.
fn xroad_headers(id: &str) -> String {
    let decl = format!("xmlns:xroad=\"{XROAD}\" xmlns:id=\"{XROAD_ID}\"");
    format!(
        "<xroad:protocolVersion {decl}>4.0</xroad:protocolVersion>\
         <xroad:issue {decl}>caso &amp; 42 &lt;urgente&gt;</xroad:issue>\
         <xroad:id {decl}>{id}</xroad:id>\
         <xroad:userId {decl}>CL12345678-5</xroad:userId>\
         <xroad:service {decl} id:objectType=\"SERVICE\"><id:xRoadInstance>CL</id:xRoadInstance>\
         <id:memberClass>GOV</id:memberClass><id:memberCode>60101000</id:memberCode>\
         <id:subsystemCode>siis</id:subsystemCode><id:serviceCode>ConsultarFichaFPS</id:serviceCode>\
         <id:serviceVersion>v1</id:serviceVersion></xroad:service>\
         <xroad:client {decl} id:objectType=\"SUBSYSTEM\"><id:xRoadInstance>CL</id:xRoadInstance>\
         <id:memberClass>GOV</id:memberClass><id:memberCode>61000000</id:memberCode>\
         <id:subsystemCode>serviu</id:subsystemCode></xroad:client>"
    )
}

/// What a header element carries, for comparing what was sent with what came back.
fn header_items(header: &Element) -> Vec<String> {
    header
        .children
        .iter()
        .map(|h| {
            let parts: Vec<String> = h
                .children
                .iter()
                .map(|p| format!("{{{}}}{}={}", p.ns, p.name, p.text))
                .collect();
            let attrs: Vec<String> = h
                .attrs
                .iter()
                .map(|(ns, n, v)| format!("@{{{ns}}}{n}={v}"))
                .collect();
            format!(
                "{{{}}}{} {attrs:?} text={:?} {parts:?}",
                h.ns,
                h.name,
                if parts.is_empty() {
                    h.text.as_str()
                } else {
                    ""
                }
            )
        })
        .collect()
}

per_backend!(
    async fn xroad_headers_are_echoed_in_order_and_their_id_is_the_message_id(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 300,
                ..Setup::default()
            },
        )
        .await;
        let run = registry::with_ficha(&mut node.db(), None);
        let minvu = node.client(Some("minvu"));
        for v in V::BOTH {
            let xr_id = format!("CL/GOV/61000000/serviu:{v:?}-{backend:?}-0001");
            let headers = xroad_headers(&xr_id);
            let sent = xml::parse(&envelope(v, &FICHA, &headers, "<f:x/>")).unwrap();
            let sent = header_items(sent.child("Header").unwrap());
            assert_eq!(sent.len(), 6);
            let body = envelope(
                v,
                &FICHA,
                &headers,
                &operation(&FICHA, "ConsultarFichaFPS", None, &run_xml("f", run)),
            );
            let before = last_audit_id(&node);
            let a = post(&minvu, &node, v, &FICHA, "ConsultarFichaFPS", body.clone()).await;
            let r = a.respuesta(v, &FICHA, "ConsultarFichaFPS");
            assert_eq!(estado(&r), "00");
            let envelope_back = a.envelope();
            let header = envelope_back
                .children
                .iter()
                .find(|c| c.name == "Header" && c.ns == v.namespace())
                .unwrap_or_else(|| panic!("a SOAP Header in the answer: {}", a.shown()));
            assert_eq!(header_items(header), sent, "echoed in the same order");
            assert_eq!(header.children[1].text, "caso & 42 <urgente>");
            // The X-Road id is the message id: in the answer and in the audit log.
            assert_eq!(r.text_at("encabezado/idSobre"), Some(xr_id.as_str()));
            let rows = audit_after(&node, before);
            assert_eq!(rows.len(), 1);
            assert_eq!(
                (
                    rows[0].id_mensaje.as_str(),
                    rows[0].transporte.as_str(),
                    rows[0].operacion.as_str(),
                    rows[0].resultado.as_str()
                ),
                (xr_id.as_str(), "soap", "ConsultarFichaFPS", "OK")
            );
            // The other X-Road headers are audited too, in the order they came.
            let xroad: Option<String> = auditoria::table
                .find(rows[0].id)
                .select(auditoria::xroad)
                .first(&mut node.db())
                .unwrap();
            let xroad = xroad.expect("X-Road headers audited");
            let xroad: serde_json::Value = serde_json::from_str(&xroad).unwrap();
            assert_eq!(xroad["userId"], "CL12345678-5");
            assert_eq!(xroad["client"], "SUBSYSTEM:CL/GOV/61000000/serviu");
            // Replayed, it is refused, and the Fault echoes the headers too.
            let a = post(&minvu, &node, v, &FICHA, "ConsultarFichaFPS", body).await;
            assert_fault(&a, v, true, "03", "MENSAJE_REPETIDO");
            let envelope_back = a.envelope();
            let header = envelope_back.child("Header").expect("Header on a Fault");
            assert_eq!(header_items(header), sent);

            // With both, s:idSobre is the message id.
            let own = format!("propio-{v:?}-{backend:?}");
            let other_xr = format!("{xr_id}-b");
            let body = envelope(
                v,
                &FICHA,
                &xroad_headers(&other_xr),
                &operation(&FICHA, "ConsultarFichaFPS", Some(&own), &run_xml("f", run)),
            );
            let before = last_audit_id(&node);
            let a = post(&minvu, &node, v, &FICHA, "ConsultarFichaFPS", body).await;
            let r = a.respuesta(v, &FICHA, "ConsultarFichaFPS");
            assert_eq!(r.text_at("encabezado/idSobre"), Some(own.as_str()));
            assert_eq!(audit_after(&node, before)[0].id_mensaje, own);

            // Without headers, the answer has no Header.
            let a = call(&minvu, &node, v, &META, "listMethods", None, "").await;
            assert!(a.envelope().child("Header").is_none(), "{}", a.shown());
        }
        node.stop().await;
    }
);

/// A living person with at least two given names (a space in `nombres`).
fn with_two_names(node: &TestNode) -> (Run, String) {
    use siis::db::schema::personas;
    let (run, nombres): (i32, String) = personas::table
        .filter(personas::fecha_defuncion.is_null())
        .filter(personas::nombres.like("% %"))
        .select((personas::run, personas::nombres))
        .order(personas::run)
        .first(&mut node.db())
        .expect("a person with two given names");
    (Run::from_numero(run as u32).unwrap(), nombres)
}

per_backend!(
    async fn values_are_read_whole_and_echoes_stay_well_formed(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 300,
                ..Setup::default()
            },
        )
        .await;
        let ips = node.client(Some("ips"));
        let minvu = node.client(Some("minvu"));
        let (run, nombres) = with_two_names(&node);
        for v in V::BOTH {
            // Character references next to spaces: "JUA&#78; PABLO" is "JUAN PABLO".
            let (first, rest) = nombres.split_once(' ').unwrap();
            let mut chars: Vec<char> = first.chars().collect();
            let last = chars.pop().unwrap();
            let written = format!(
                "{}&#{}; {rest}",
                chars.iter().collect::<String>(),
                u32::from(last)
            );
            let cuerpo = format!("{}<i:nombres>{written}</i:nombres>", run_xml("i", run));
            let a = call(
                &ips,
                &node,
                v,
                &IDENTIDAD,
                "ValidarIdentidad",
                None,
                &cuerpo,
            )
            .await;
            let r = a.respuesta(v, &IDENTIDAD, "ValidarIdentidad");
            assert_eq!(
                r.text_at("cuerpo/validacion/coincidencias/nombres"),
                Some("true"),
                "{written} is {nombres}: {}",
                a.shown()
            );
            // Whitespace around a value (pretty-printed requests) does not count.
            let cuerpo = format!(
                "\n  {}\n  <i:nombres>\n    {}\n  </i:nombres>\n",
                run_xml("i", run),
                nombres.to_lowercase()
            );
            let a = call(
                &ips,
                &node,
                v,
                &IDENTIDAD,
                "ValidarIdentidad",
                None,
                &cuerpo,
            )
            .await;
            let r = a.respuesta(v, &IDENTIDAD, "ValidarIdentidad");
            assert_eq!(
                r.text_at("cuerpo/validacion/coincidencias/nombres"),
                Some("true")
            );

            // A batch over the limit is LOTE_EXCEDIDO (estadoSobre 03) at any size under 1 MiB.
            for n in [501, 3_000, 15_000] {
                let body = run_xml("f", run).repeat(n);
                let a = call(
                    &minvu,
                    &node,
                    v,
                    &FICHA,
                    "ConsultarFichaFPSLote",
                    None,
                    &body,
                )
                .await;
                let r = a.respuesta(v, &FICHA, "ConsultarFichaFPSLote");
                assert_eq!(estado(&r), "03", "{n} RUNs: {}", a.shown());
            }

            // A batch answers each `run` element in its place, even an incomplete one.
            let body = format!(
                "{}<f:run><t:dv>5</t:dv></f:run><f:run/>{}",
                run_xml("f", run),
                run_xml("f", run)
            );
            let a = call(
                &minvu,
                &node,
                v,
                &FICHA,
                "ConsultarFichaFPSLote",
                None,
                &body,
            )
            .await;
            let r = a.respuesta(v, &FICHA, "ConsultarFichaFPSLote");
            let estados: Vec<String> = r
                .at("cuerpo")
                .map(|c| {
                    c.all("resultado")
                        .filter_map(|res| res.text_at("estado"))
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(
                estados,
                ["encontrado", "run_invalido", "run_invalido", "encontrado"],
                "{}",
                a.shown()
            );

            // What is echoed stays well-formed XML: characters XML forbids are refused, names
            // that are no names are refused, attribute values are unescaped once.
            let xr = format!("xmlns:xroad=\"{XROAD}\" xmlns:id=\"{XROAD_ID}\"");
            for header in [
                format!("<xroad:userId {xr}>a&#1;b</xroad:userId>"),
                format!("<xroad:userId {xr}>a\u{1}b</xroad:userId>"),
                format!("<xroad:issue {xr}><![CDATA[a\u{1b}b]]></xroad:issue>"),
                format!(
                    "<xroad:client {xr} id:objectType=\"A&#2;\"><id:xRoadInstance>CL</id:xRoadInstance></xroad:client>"
                ),
                format!("<xroad:client {xr}><id:y&lt; >1</id:y&lt; ></xroad:client>"),
            ] {
                let body = envelope(
                    v,
                    &META,
                    &header,
                    &operation(&META, "listMethods", None, ""),
                );
                let a = post(&minvu, &node, v, &META, "listMethods", body).await;
                assert_fault(&a, v, true, "04", "XML_INVALIDO");
            }
            let header = format!(
                "<xroad:client {xr} id:objectType=\"SUB&amp;SYSTEM\"><id:xRoadInstance>C&amp;L</id:xRoadInstance>\
                 </xroad:client><xroad:otro {xr}>no se devuelve</xroad:otro>"
            );
            let body = envelope(
                v,
                &META,
                &header,
                &operation(&META, "listMethods", None, ""),
            );
            let a = post(&minvu, &node, v, &META, "listMethods", body).await;
            assert_eq!(estado(&a.respuesta(v, &META, "listMethods")), "00");
            let envelope_back = a.envelope();
            let echoed = envelope_back.child("Header").expect("Header");
            assert_eq!(
                echoed.children.len(),
                1,
                "only X-Road's headers: {}",
                a.shown()
            );
            assert_eq!(echoed.children[0].attr("objectType"), Some("SUB&SYSTEM"));
            assert_eq!(echoed.children[0].text_at("xRoadInstance"), Some("C&L"));
        }
        node.stop().await;
    }
);

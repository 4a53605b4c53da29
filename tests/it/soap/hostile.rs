//! Hostile and broken XML: each refused with a Fault (estadoSobre 04; HTTP 500 in SOAP 1.1, 400
//! in SOAP 1.2, an oversized body included), quickly, without reading files or expanding
//! entities, and the node keeps serving afterwards.

use std::time::Duration;

use super::client::{FICHA, META, V, call, envelope, estado, operation, post_raw, run_xml};
use super::xml::{SOAP11, SOAP12, SOBRE, TIPOS};
use crate::registry;
use crate::support::{Backend, TestNode};

/// How long a refusal may take.
const BOUND: Duration = Duration::from_secs(5);

struct Case {
    what: &'static str,
    content_type: String,
    body: Vec<u8>,
    /// Expected HTTP status (a Client / Sender Fault) and stable code; estadoSobre is 04 for all.
    status: u16,
    codigos: &'static [&'static str],
}

fn case(what: &'static str, v: V, body: impl Into<Vec<u8>>, codigo: &'static str) -> Case {
    Case {
        what,
        content_type: format!("{}; charset=utf-8", v.content_type()),
        body: body.into(),
        status: super::fault_status(v, true),
        codigos: match codigo {
            "XML_INVALIDO" => &["XML_INVALIDO"],
            "OPERACION_DESCONOCIDA" => &["OPERACION_DESCONOCIDA"],
            "DEMASIADO_GRANDE" => &["DEMASIADO_GRANDE"],
            // A wrong-namespace operation may be told as either.
            _ => &["XML_INVALIDO", "OPERACION_DESCONOCIDA"],
        },
    }
}

#[tokio::test]
async fn hostile_and_broken_xml_is_refused_quickly_and_the_node_keeps_serving() {
    let node = TestNode::start_with(Backend::Sqlite, crate::support::Setup::default()).await;
    let minvu = node.client(Some("minvu"));
    let url = node.agency_url("/soap/ConsultaFichaFPS");
    let run = run_xml("f", registry::unknown());
    let v = V::V11;
    let op = |id: &str| operation(&FICHA, "ConsultarFichaFPS", Some(id), &run);
    let valid = envelope(v, &FICHA, "", &op("ok-1"));
    let without_decl = valid.split_once('\n').unwrap().1.to_owned();

    let mut cases = vec![
        case(
            "a DTD",
            v,
            format!("<!DOCTYPE soapenv:Envelope []>\n{without_decl}"),
            "XML_INVALIDO",
        ),
        case(
            "an external entity (XXE)",
            v,
            format!(
                "<?xml version=\"1.0\"?>\n<!DOCTYPE soapenv:Envelope [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n{}",
                envelope(v, &FICHA, "", &op("&xxe;"))
                    .split_once('\n')
                    .unwrap()
                    .1
            ),
            "XML_INVALIDO",
        ),
        case(
            "an entity reference without a DTD",
            v,
            envelope(v, &FICHA, "", &op("&xxe;")),
            "XML_INVALIDO",
        ),
        case(
            "a billion laughs",
            v,
            format!(
                "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">{}]>\n{}",
                (1..10)
                    .map(|i| format!(
                        "<!ENTITY lol{i} \"{}\">",
                        format!(
                            "&lol{};",
                            if i == 1 {
                                String::new()
                            } else {
                                (i - 1).to_string()
                            }
                        )
                        .repeat(10)
                    ))
                    .collect::<String>(),
                envelope(v, &FICHA, "", &op("&lol9;"))
                    .split_once('\n')
                    .unwrap()
                    .1
            ),
            "XML_INVALIDO",
        ),
        case(
            "10,000 nested elements in the operation",
            v,
            envelope(
                v,
                &FICHA,
                "",
                &format!(
                    "<f:ConsultarFichaFPS>{}{}</f:ConsultarFichaFPS>",
                    "<f:cuerpo>".repeat(10_000),
                    "</f:cuerpo>".repeat(10_000)
                ),
            ),
            "XML_INVALIDO",
        ),
        case(
            "10,000 nested elements in the Header",
            v,
            envelope(
                v,
                &FICHA,
                &format!(
                    "{}{}",
                    "<h:x xmlns:h=\"urn:h\">".repeat(10_000),
                    "</h:x>".repeat(10_000)
                ),
                &op("ok-2"),
            ),
            "XML_INVALIDO",
        ),
        case(
            "10,000 unclosed elements",
            v,
            envelope(v, &FICHA, "", &"<f:cuerpo>".repeat(10_000)),
            "XML_INVALIDO",
        ),
        case(
            "a 50 MB body",
            v,
            envelope(v, &FICHA, "", &op(&"x".repeat(50 << 20))),
            "DEMASIADO_GRANDE",
        ),
        case(
            "a 10 MB attribute",
            v,
            envelope(
                v,
                &FICHA,
                "",
                &op("ok-3").replacen(
                    "<f:ConsultarFichaFPS>",
                    &format!("<f:ConsultarFichaFPS a=\"{}\">", "y".repeat(10 << 20)),
                    1,
                ),
            ),
            "DEMASIADO_GRANDE",
        ),
        case(
            "a body declared ISO-8859-1",
            v,
            {
                let mut b = valid
                    .replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"")
                    .replace("prueba", "JOS\u{0}")
                    .into_bytes();
                // é in ISO-8859-1, which is not UTF-8.
                let at = b.iter().position(|c| *c == 0).unwrap();
                b[at] = 0xE9;
                b
            },
            "XML_INVALIDO",
        ),
        case(
            "an ASCII body declared ISO-8859-1",
            v,
            valid.replace("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\""),
            "XML_INVALIDO",
        ),
        case(
            "bytes that are not UTF-8 (no declaration)",
            v,
            {
                let mut b = without_decl.replace("prueba", "JOS\u{0}").into_bytes();
                let at = b.iter().position(|c| *c == 0).unwrap();
                b[at] = 0xE9;
                b
            },
            "XML_INVALIDO",
        ),
        Case {
            content_type: "text/xml; charset=iso-8859-1".into(),
            ..case(
                "charset=iso-8859-1 in Content-Type",
                v,
                valid.clone(),
                "XML_INVALIDO",
            )
        },
        case("an empty body", v, "", "XML_INVALIDO"),
        case(
            "not XML at all",
            v,
            "SELECT * FROM personas; --",
            "XML_INVALIDO",
        ),
        case(
            "a missing envelope",
            v,
            op("ok-4").replacen(
                "<f:ConsultarFichaFPS>",
                &format!(
                    "<f:ConsultarFichaFPS xmlns:f=\"{}\" xmlns:s=\"{SOBRE}\" xmlns:t=\"{TIPOS}\">",
                    FICHA.ns
                ),
                1,
            ),
            "XML_INVALIDO",
        ),
        case(
            "a Body without Envelope",
            v,
            format!(
                "<soapenv:Body xmlns:soapenv=\"{SOAP11}\">{}</soapenv:Body>",
                op("ok-5")
            ),
            "XML_INVALIDO",
        ),
        case(
            "a doubled envelope",
            v,
            format!("{valid}{without_decl}"),
            "XML_INVALIDO",
        ),
        case(
            "a doubled Body",
            v,
            valid.replace(
                "</soapenv:Body>",
                "</soapenv:Body><soapenv:Body></soapenv:Body>",
            ),
            "XML_INVALIDO",
        ),
        case(
            "two operations in the Body",
            v,
            envelope(v, &FICHA, "", &format!("{}{}", op("ok-6"), op("ok-7"))),
            "XML_INVALIDO",
        ),
        case(
            "a Header after the Body",
            v,
            valid.replace("</soapenv:Body>", "</soapenv:Body><soapenv:Header/>"),
            "XML_INVALIDO",
        ),
        case(
            "an empty Body",
            v,
            envelope(v, &FICHA, "", ""),
            "XML_INVALIDO",
        ),
        case(
            "a SOAP 1.2 envelope sent as text/xml",
            v,
            envelope(V::V12, &FICHA, "", &op("ok-8")),
            "XML_INVALIDO",
        ),
        case(
            "a SOAP 1.1 envelope sent as application/soap+xml",
            V::V12,
            envelope(V::V11, &FICHA, "", &op("ok-9")),
            "XML_INVALIDO",
        ),
        case(
            "Envelope and Body in a wrong namespace",
            v,
            valid.replace(SOAP11, "urn:falso:envelope"),
            "XML_INVALIDO",
        ),
        case(
            "Envelope and Body without namespace",
            v,
            valid
                .replace(&format!(" xmlns:soapenv=\"{SOAP11}\""), "")
                .replace("soapenv:", ""),
            "XML_INVALIDO",
        ),
        case(
            "the operation in a wrong namespace",
            v,
            valid.replace(FICHA.ns, "urn:falso:fichafps"),
            "EITHER",
        ),
        case(
            "the operation without namespace",
            v,
            valid
                .replace("<f:ConsultarFichaFPS>", "<ConsultarFichaFPS xmlns=\"\">")
                .replace("</f:ConsultarFichaFPS>", "</ConsultarFichaFPS>"),
            "EITHER",
        ),
        case(
            "an undeclared prefix",
            v,
            valid
                .replace("<f:cuerpo>", "<zz:cuerpo>")
                .replace("</f:cuerpo>", "</zz:cuerpo>"),
            "XML_INVALIDO",
        ),
        case(
            "a mismatched end tag",
            v,
            valid.replace("</f:cuerpo>", "</f:cuerpa>"),
            "XML_INVALIDO",
        ),
        case(
            "a processing instruction",
            v,
            format!("{valid}<?php system('id'); ?>"),
            "XML_INVALIDO",
        ),
        case(
            "an element from a foreign namespace in the cuerpo",
            v,
            valid.replace("<f:cuerpo>", "<f:cuerpo><x:y xmlns:x=\"urn:x\">1</x:y>"),
            "XML_INVALIDO",
        ),
    ];
    // The same attacks over SOAP 1.2.
    for (what, body) in [
        (
            "an external entity (XXE) over SOAP 1.2",
            format!(
                "<!DOCTYPE e:Envelope [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
                envelope(V::V12, &FICHA, "", &op("&xxe;"))
                    .split_once('\n')
                    .unwrap()
                    .1
            ),
        ),
        (
            "10,000 nested elements over SOAP 1.2",
            envelope(V::V12, &FICHA, "", &"<f:cuerpo>".repeat(10_000)),
        ),
    ] {
        cases.push(case(what, V::V12, body, "XML_INVALIDO"));
    }

    for c in cases {
        let is_12 = c.content_type.starts_with("application/soap+xml");
        let fault_version = if is_12 { V::V12 } else { V::V11 };
        let a = post_raw(&minvu, &url, &c.content_type, None, c.body).await;
        assert!(a.elapsed < BOUND, "{}: answered in {:?}", c.what, a.elapsed);
        assert!(
            !a.text.contains("root:"),
            "{}: leaked a file: {}",
            c.what,
            a.shown()
        );
        assert!(
            !a.text.contains("lollollol"),
            "{}: expanded an entity",
            c.what
        );
        let fault = a.fault(fault_version);
        assert_eq!(a.status, c.status, "{}: {}", c.what, a.shown());
        assert_eq!(fault.estado, "04", "{}: {}", c.what, a.shown());
        assert!(
            c.codigos.contains(&fault.codigo.as_str()),
            "{}: {} not in {:?}",
            c.what,
            fault.codigo,
            c.codigos
        );
        assert!(a.text.len() < 8_192, "{}: a short Fault", c.what);
        // The node keeps serving.
        let ok = call(&minvu, &node, V::V11, &META, "listMethods", None, "").await;
        assert_eq!(
            estado(&ok.respuesta(V::V11, &META, "listMethods")),
            "00",
            "after {}",
            c.what
        );
    }

    // Namespace tricks that are legitimate XML are understood: default namespaces, other
    // prefixes, declarations on inner elements, comments and CDATA.
    let tricks = [
        format!(
            "<Envelope xmlns=\"{SOAP11}\"><Body><ConsultarFichaFPS xmlns=\"{}\"><cuerpo><run>\
             <numero xmlns=\"{TIPOS}\">{}</numero><dv xmlns=\"{TIPOS}\">{}</dv></run></cuerpo>\
             </ConsultarFichaFPS></Body></Envelope>",
            FICHA.ns,
            registry::unknown().numero(),
            registry::unknown().dv()
        ),
        format!(
            "<S:Envelope xmlns:S=\"{SOAP11}\"><!-- comentario --><S:Body><q:ConsultarFichaFPS \
             xmlns:q=\"{}\" xmlns:w=\"{SOBRE}\"><w:encabezado><w:idSobre><![CDATA[truco-1]]>\
             </w:idSobre></w:encabezado><q:cuerpo><q:run xmlns:z=\"{TIPOS}\"><z:numero>{}</z:numero>\
             <z:dv>{}</z:dv></q:run></q:cuerpo></q:ConsultarFichaFPS></S:Body></S:Envelope>",
            FICHA.ns,
            registry::unknown().numero(),
            registry::unknown().dv()
        ),
    ];
    for (i, body) in tricks.into_iter().enumerate() {
        let a = post_raw(&minvu, &url, "text/xml; charset=utf-8", None, body).await;
        let r = a.respuesta(V::V11, &FICHA, "ConsultarFichaFPS");
        assert_eq!(
            estado(&r),
            "05",
            "trick {i}: unknown RUN, understood: {}",
            a.shown()
        );
    }
    // The same SOAP 1.2 envelope with a prefix bound to the 1.2 namespace works too.
    let body = envelope(V::V12, &FICHA, "", &op("ok-12")).replace("soapenv", "env");
    let a = post_raw(&minvu, &url, "application/soap+xml", None, body).await;
    assert!(a.text.contains(SOAP12), "{}", a.shown());
    assert_eq!(
        estado(&a.respuesta(V::V12, &FICHA, "ConsultarFichaFPS")),
        "05"
    );
    node.stop().await;
}

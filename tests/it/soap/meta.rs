//! Metaservices (listMethods, allowedMethods, getWsdl), the WSDLs with the node's real address
//! and the schemas they import.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use siis::convenios::ConvenioSet;

use super::assert_fault;
use super::client::{META, SERVICES, V, call};
use super::xml::{self};
use crate::support::{Backend, TestNode, repo_path};

#[tokio::test]
async fn metaservices_describe_the_node_and_the_callers_convenio() {
    let node = TestNode::start(Backend::Sqlite).await;
    let set = ConvenioSet::load_dir(&repo_path("convenios")).unwrap();
    let minvu = node.client(Some("minvu"));
    for v in V::BOTH {
        // listMethods: the five services, each with its operations.
        let a = call(&minvu, &node, v, &META, "listMethods", None, "").await;
        let r = a.respuesta(v, &META, "listMethods");
        let listed: Vec<(String, Vec<String>)> = r
            .child("cuerpo")
            .expect("cuerpo")
            .all("servicio")
            .map(|s| {
                (
                    s.text_at("nombre").unwrap_or("").to_owned(),
                    s.all("operacion").map(|o| o.text.clone()).collect(),
                )
            })
            .collect();
        let expected: Vec<(String, Vec<String>)> = SERVICES
            .iter()
            .map(|s| {
                (
                    s.name.to_owned(),
                    s.operations.iter().map(|o| (*o).to_owned()).collect(),
                )
            })
            .collect();
        assert_eq!(listed, expected);

        // allowedMethods: exactly the caller's agreement, as REST tells it too.
        for convenio in set.agencias() {
            let id = convenio.id.as_str();
            let c = node.client(Some(id));
            let a = call(&c, &node, v, &META, "allowedMethods", None, "").await;
            let r = a.respuesta(v, &META, "allowedMethods");
            let cuerpo = r.child("cuerpo").expect("cuerpo");
            assert_eq!(cuerpo.text_at("convenio"), Some(id));
            assert_eq!(
                cuerpo.text_at("institucion"),
                Some(convenio.agency.as_str())
            );
            type Grants = BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>;
            let soap: Grants = cuerpo
                .all("operacion")
                .map(|o| {
                    (
                        o.text_at("nombre").unwrap_or("").to_owned(),
                        (
                            o.all("campo").map(|c| c.text.clone()).collect(),
                            o.all("programa").map(|p| p.text.clone()).collect(),
                        ),
                    )
                })
                .collect();
            let truth: Grants = convenio
                .grants
                .iter()
                .map(|(op, g)| {
                    (
                        op.name().to_owned(),
                        (
                            g.fields.iter().map(str::to_owned).collect(),
                            g.programas.iter().flatten().cloned().collect(),
                        ),
                    )
                })
                .collect();
            assert_eq!(soap, truth, "{id}");
            assert_eq!(cuerpo.all("operacion").count(), convenio.grants.len());
            let rest: Value = c
                .get(node.agency_url("/api/v1/metaservicios/operaciones"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let rest: Grants = rest["operaciones"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| {
                    let strings = |k: &str| -> BTreeSet<String> {
                        o[k].as_array()
                            .into_iter()
                            .flatten()
                            .map(|x| x.as_str().unwrap().to_owned())
                            .collect()
                    };
                    (
                        o["operacion"].as_str().unwrap().to_owned(),
                        (strings("campos"), strings("programas")),
                    )
                })
                .collect();
            assert_eq!(soap, rest, "{id}: SOAP and REST agree");
        }

        // getWsdl: the WSDL with the node's real address, the same GET ?wsdl serves.
        for svc in SERVICES {
            let cuerpo = format!("<m:servicio>{}</m:servicio>", svc.name);
            let a = call(&minvu, &node, v, &META, "getWsdl", None, &cuerpo).await;
            let r = a.respuesta(v, &META, "getWsdl");
            let wsdl_url = node.agency_url(&format!("/soap/{}?wsdl", svc.name));
            assert_eq!(r.text_at("cuerpo/direccion"), Some(wsdl_url.as_str()));
            let text = r.text_at("cuerpo/wsdl").expect("wsdl").to_owned();
            let shipped =
                std::fs::read_to_string(repo_path(&format!("wsdl/{}.wsdl", svc.name))).unwrap();
            let expected =
                shipped.replace("https://localhost:8443/soap/", &node.agency_url("/soap/"));
            assert_eq!(text, expected, "{}", svc.name);
            let wsdl = xml::parse(&text).expect("the WSDL is XML");
            let addresses: Vec<String> = wsdl
                .child("service")
                .expect("wsdl:service")
                .all("port")
                .map(|p| {
                    p.child("address")
                        .and_then(|a| a.attr("location"))
                        .unwrap_or("")
                        .to_owned()
                })
                .collect();
            let endpoint = node.agency_url(&format!("/soap/{}", svc.name));
            assert_eq!(addresses, [endpoint.clone(), endpoint], "{}", svc.name);
            let got = minvu.get(&wsdl_url).send().await.unwrap();
            assert_eq!(got.status(), 200);
            assert!(
                got.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/xml")
            );
            assert_eq!(got.text().await.unwrap(), text, "GET ?wsdl serves the same");
        }
        let a = call(
            &minvu,
            &node,
            v,
            &META,
            "getWsdl",
            None,
            "<m:servicio>Nada</m:servicio>",
        )
        .await;
        assert_fault(&a, v, true, "04", "OPERACION_DESCONOCIDA");
    }

    // The schemas the WSDLs import resolve over HTTPS, relative to the WSDL's URL.
    let mut imported = BTreeSet::new();
    for svc in SERVICES {
        let base = url::Url::parse(&node.agency_url(&format!("/soap/{}?wsdl", svc.name))).unwrap();
        let text = minvu
            .get(base.as_str())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let wsdl = xml::parse(&text).unwrap();
        let schema = wsdl.at("types/schema").expect("wsdl:types/xs:schema");
        for import in schema.all("import") {
            let location = base.join(import.attr("schemaLocation").unwrap()).unwrap();
            imported.insert(location.path().to_owned());
        }
    }
    assert!(imported.len() >= 6, "{imported:?}");
    let mut schemas: BTreeSet<String> = BTreeSet::new();
    for entry in std::fs::read_dir(repo_path("schemas")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".xsd") {
            schemas.insert(name);
        }
    }
    for name in &schemas {
        let got = minvu
            .get(node.agency_url(&format!("/schemas/{name}")))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), 200, "{name}");
        let shipped = std::fs::read_to_string(repo_path(&format!("schemas/{name}"))).unwrap();
        assert_eq!(got.text().await.unwrap(), shipped, "{name}");
    }
    for path in &imported {
        let got = minvu.get(node.agency_url(path)).send().await.unwrap();
        assert_eq!(got.status(), 200, "{path} (imported by a WSDL)");
    }
    for missing in [
        "/schemas/nada-v1.xsd",
        "/schemas/..%2FCargo.toml",
        "/soap/Nada?wsdl",
    ] {
        let got = minvu.get(node.agency_url(missing)).send().await.unwrap();
        assert_eq!(got.status(), 404, "{missing}");
    }
    node.stop().await;
}

#[tokio::test]
async fn a_forged_host_never_reaches_the_wsdl() {
    let node = TestNode::start(Backend::Sqlite).await;
    let minvu = node.client(Some("minvu"));
    let evil = "x\"/><evil/><a b=\"";
    let wsdl = minvu
        .get(node.agency_url("/soap/ConsultaFichaFPS?wsdl"))
        .header("X-Forwarded-Host", evil)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !wsdl.contains("<evil/>"),
        "the forged host is not pasted in"
    );
    xml::parse(&wsdl).expect("the WSDL stays well-formed");
    assert!(
        wsdl.contains(&format!(
            "https://{}/soap/ConsultaFichaFPS",
            node.node.agency
        )),
        "falls back to the listener's address"
    );
}

#[tokio::test]
async fn a_soap_12_request_with_another_charset_gets_a_soap_12_fault() {
    let node = TestNode::start(Backend::Sqlite).await;
    let minvu = node.client(Some("minvu"));
    let url = node.agency_url("/soap/Metaservicios");
    let a = super::client::post_raw(
        &minvu,
        &url,
        "application/soap+xml; charset=iso-8859-1",
        None,
        "<x/>".to_owned(),
    )
    .await;
    // A Sender Fault in SOAP 1.2: HTTP 400.
    assert_eq!(a.status, 400);
    assert!(
        a.content_type.starts_with("application/soap+xml"),
        "{}",
        a.content_type
    );
    assert!(a.text.contains("http://www.w3.org/2003/05/soap-envelope"));
}

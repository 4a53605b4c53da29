//! Every answer the node can produce validates against its XSD (xmllint): a success of every
//! operation, the outcomes 03 and 05, and the `s:detalle` of Faults.

use siis::convenios::ConvenioSet;

use super::client::{
    ACCESOS, Answer, ELEGIBILIDAD, FICHA, IDENTIDAD, META, SERVICES, Svc, V, call, check_schema,
    check_schema_text, envelope, estado, operation, post, run_xml, validate, xmllint_available,
};
use super::xml::{self, Element};
use super::{bad_dv_xml, unknown_xml};
use crate::per_backend;
use crate::registry;
use crate::support::{Setup, TestNode, repo_path};

per_backend!(
    async fn every_answer_validates_against_its_schema(backend) {
        if !xmllint_available() {
            return;
        }
        // The validator validates: an example passes after our re-serialisation, a broken one
        // fails.
        let example =
            std::fs::read_to_string(repo_path("schemas/ejemplos/ConsultarFichaFPSRespuesta.xml"))
                .unwrap();
        let parsed = xml::parse(&example).unwrap();
        check_schema("fichafps-v1.xsd", &parsed).expect("the shipped example validates");
        let broken = example.replace(
            "<s:estadoSobre>00</s:estadoSobre>",
            "<s:estadoSobre>0</s:estadoSobre>",
        );
        assert!(check_schema_text("fichafps-v1.xsd", &broken).is_err());
        let misplaced = example.replace("<f:folio>1308245117</f:folio>", "");
        let misplaced = misplaced.replace("</f:puntaje>", "</f:puntaje><f:folio>1</f:folio>");
        assert!(check_schema_text("fichafps-v1.xsd", &misplaced).is_err());

        let set = ConvenioSet::load_dir(&repo_path("convenios")).unwrap();
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 4_000,
                extra_clients: vec!["sin-convenio"],
                ..Setup::default()
            },
        )
        .await;
        let found = registry::with_ficha(&mut node.db(), None);
        let deceased = registry::deceased_with_ficha(&mut node.db());
        let without = registry::without_ficha(&mut node.db());
        let (nombres, _, materno, nacimiento) = registry::identity(&mut node.db(), found);
        let minvu = node.client(Some("minvu"));
        let ips = node.client(Some("ips"));
        for v in V::BOTH {
            let mut seen: Vec<(String, &Svc, Element)> = Vec::new();
            let mut ok = |label: &str, svc: &'static Svc, op: &str, a: Answer| {
                let r = a.respuesta(v, svc, op);
                assert_eq!(estado(&r), "00", "{label}: {}", a.shown());
                assert!(r.child("cuerpo").is_some(), "{label}: a cuerpo");
                seen.push((format!("{label} ({v:?})"), svc, r));
            };
            // A success answer of every operation, under an agreement that grants it.
            let fp = "f";
            let a = call(
                &minvu,
                &node,
                v,
                &FICHA,
                "ConsultarFichaFPS",
                None,
                &run_xml(fp, found),
            )
            .await;
            ok("ficha", &FICHA, "ConsultarFichaFPS", a);
            let a = call(
                &minvu,
                &node,
                v,
                &FICHA,
                "ConsultarFichaFPS",
                None,
                &run_xml(fp, deceased),
            )
            .await;
            ok("ficha of a deceased person", &FICHA, "ConsultarFichaFPS", a);
            let lote = [
                run_xml(fp, found),
                unknown_xml(fp),
                bad_dv_xml(fp, found),
                run_xml(fp, without),
                run_xml(fp, deceased),
            ]
            .concat();
            let a = call(
                &minvu,
                &node,
                v,
                &FICHA,
                "ConsultarFichaFPSLote",
                None,
                &lote,
            )
            .await;
            let estados: Vec<String> = a
                .respuesta(v, &FICHA, "ConsultarFichaFPSLote")
                .at("cuerpo")
                .map(|c| {
                    c.all("resultado")
                        .map(|r| r.text_at("estado").unwrap_or("").to_owned())
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(
                estados,
                [
                    "encontrado",
                    "no_encontrado",
                    "run_invalido",
                    "sin_ficha",
                    "encontrado"
                ]
            );
            ok("lote", &FICHA, "ConsultarFichaFPSLote", a);
            let claim = format!(
                "{}<i:nombres>{}</i:nombres><i:apellidoPaterno>NADIE</i:apellidoPaterno>\
                 <i:apellidoMaterno>{materno}</i:apellidoMaterno><i:fechaNacimiento>{nacimiento}</i:fechaNacimiento>",
                run_xml("i", found),
                nombres.to_lowercase()
            );
            let a = call(&ips, &node, v, &IDENTIDAD, "ValidarIdentidad", None, &claim).await;
            ok("identidad", &IDENTIDAD, "ValidarIdentidad", a);
            for (convenio, programa) in [
                ("minvu", "FSV1"),
                ("ips", "PBS"),
                ("bbnn", "BBNN_GRATUIDAD"),
            ] {
                let cuerpo = format!("{}<e:programa>{programa}</e:programa>", run_xml("e", found));
                let a = call(
                    &node.client(Some(convenio)),
                    &node,
                    v,
                    &ELEGIBILIDAD,
                    "ConsultarElegibilidad",
                    None,
                    &cuerpo,
                )
                .await;
                ok(
                    &format!("elegibilidad {convenio} {programa}"),
                    &ELEGIBILIDAD,
                    "ConsultarElegibilidad",
                    a,
                );
            }
            let a = call(
                &node.client(Some("operador")),
                &node,
                v,
                &ACCESOS,
                "ConsultarAccesos",
                None,
                &run_xml("a", found),
            )
            .await;
            let accesos = a.respuesta(v, &ACCESOS, "ConsultarAccesos");
            assert!(
                accesos
                    .at("cuerpo/accesos")
                    .is_some_and(|x| x.all("acceso").count() >= 2),
                "the lookups above are listed: {}",
                a.shown()
            );
            ok("accesos", &ACCESOS, "ConsultarAccesos", a);
            let a = call(&minvu, &node, v, &META, "listMethods", None, "").await;
            ok("listMethods", &META, "listMethods", a);
            for convenio in set.agencias() {
                let id = convenio.id.as_str();
                let a = call(
                    &node.client(Some(id)),
                    &node,
                    v,
                    &META,
                    "allowedMethods",
                    None,
                    "",
                )
                .await;
                ok(&format!("allowedMethods {id}"), &META, "allowedMethods", a);
            }
            for svc in SERVICES {
                let cuerpo = format!("<m:servicio>{}</m:servicio>", svc.name);
                let a = call(&minvu, &node, v, &META, "getWsdl", None, &cuerpo).await;
                ok(&format!("getWsdl {}", svc.name), &META, "getWsdl", a);
            }

            // Outcomes: a normal answer with estadoSobre 03 or 05 and no cuerpo.
            let outcomes: Vec<(&str, &Svc, &str, reqwest::Client, String, &str)> = vec![
                (
                    "RUN_INVALIDO",
                    &FICHA,
                    "ConsultarFichaFPS",
                    minvu.clone(),
                    bad_dv_xml(fp, found),
                    "03",
                ),
                (
                    "LOTE_EXCEDIDO",
                    &FICHA,
                    "ConsultarFichaFPSLote",
                    minvu.clone(),
                    run_xml(fp, found).repeat(501),
                    "03",
                ),
                (
                    "PROGRAMA_DESCONOCIDO",
                    &ELEGIBILIDAD,
                    "ConsultarElegibilidad",
                    minvu.clone(),
                    format!("{}<e:programa>NOPE</e:programa>", run_xml("e", found)),
                    "03",
                ),
                (
                    "RUN_INVALIDO",
                    &IDENTIDAD,
                    "ValidarIdentidad",
                    ips.clone(),
                    bad_dv_xml("i", found),
                    "03",
                ),
                (
                    "NO_ENCONTRADO",
                    &FICHA,
                    "ConsultarFichaFPS",
                    minvu.clone(),
                    unknown_xml(fp),
                    "05",
                ),
                (
                    "SIN_FICHA",
                    &FICHA,
                    "ConsultarFichaFPS",
                    minvu.clone(),
                    run_xml(fp, without),
                    "05",
                ),
                (
                    "NO_ENCONTRADO",
                    &IDENTIDAD,
                    "ValidarIdentidad",
                    ips.clone(),
                    unknown_xml("i"),
                    "05",
                ),
                (
                    "NO_ENCONTRADO",
                    &ELEGIBILIDAD,
                    "ConsultarElegibilidad",
                    ips.clone(),
                    format!("{}<e:programa>PBS</e:programa>", unknown_xml("e")),
                    "05",
                ),
            ];
            for (what, svc, op, c, cuerpo, expected) in outcomes {
                let a = call(&c, &node, v, svc, op, None, &cuerpo).await;
                let r = a.respuesta(v, svc, op);
                assert_eq!(estado(&r), expected, "{what} {op}: {}", a.shown());
                assert!(
                    r.child("cuerpo").is_none(),
                    "{what}: no cuerpo: {}",
                    a.shown()
                );
                validate(svc.xsd, &r, &format!("{what} {op} ({v:?})"));
            }
            for (label, svc, r) in &seen {
                validate(svc.xsd, r, label);
            }

            // The s:detalle of Faults, against sobre-v1.xsd.
            let mut faults: Vec<Answer> = Vec::new();
            let malformed = envelope(v, &FICHA, "", "<f:ConsultarFichaFPS><f:cuerpo>");
            faults.push(post(&minvu, &node, v, &FICHA, "ConsultarFichaFPS", malformed).await);
            faults.push(call(&minvu, &node, v, &FICHA, "ConsultarNada", None, "").await);
            faults.push(
                call(
                    &node.client(Some("sin-convenio")),
                    &node,
                    v,
                    &META,
                    "listMethods",
                    None,
                    "",
                )
                .await,
            );
            let cuerpo = format!("{}<e:programa>FSV1</e:programa>", run_xml("e", found));
            faults.push(
                call(
                    &ips,
                    &node,
                    v,
                    &ELEGIBILIDAD,
                    "ConsultarElegibilidad",
                    None,
                    &cuerpo,
                )
                .await,
            );
            let id = format!("validar-{v:?}-{backend:?}");
            call(&minvu, &node, v, &META, "listMethods", Some(&id), "").await;
            faults.push(call(&minvu, &node, v, &META, "listMethods", Some(&id), "").await);
            let huge = envelope(
                v,
                &META,
                "",
                &operation(&META, "listMethods", Some(&"x".repeat(2 << 20)), ""),
            );
            faults.push(post(&minvu, &node, v, &META, "listMethods", huge).await);
            for a in &faults {
                let fault = a.fault(v);
                validate(
                    "sobre-v1.xsd",
                    &fault.detalle,
                    &format!("detalle {} ({v:?})", fault.codigo),
                );
            }
            let codes: Vec<String> = faults.iter().map(|a| a.fault(v).codigo).collect();
            assert_eq!(
                codes,
                [
                    "XML_INVALIDO",
                    "OPERACION_DESCONOCIDA",
                    "NO_AUTORIZADO",
                    "NO_AUTORIZADO",
                    "MENSAJE_REPETIDO",
                    "DEMASIADO_GRANDE"
                ]
            );
        }
        node.stop().await;
    }
);

//! The same question over REST and over SOAP discloses exactly the same data, under every
//! shipped agreement; what one refuses, the other refuses with the same stable code.

use serde_json::{Value, json};
use siis::catalog::Operation;
use siis::convenios::ConvenioSet;
use siis::domain::Run;

use super::client::{Answer, ELEGIBILIDAD, FICHA, IDENTIDAD, Svc, V, call, estado, run_xml};
use super::xml::{Pairs, json_pairs, soap_pairs};
use crate::per_backend;
use crate::registry;
use crate::support::{SHIPPED, Setup, TestNode, convenios_without_limits, repo_path};

/// What a caller learns from an answer, comparable across transports.
#[derive(Debug, PartialEq, Eq)]
enum Learned {
    /// The data: (path, value) pairs.
    Data(Pairs),
    /// No data, and why: the stable code.
    Outcome(String),
    /// Refused: whether the request is blamed (REST 4xx, SOAP Client / Sender) rather than the
    /// node (REST 5xx, SOAP Server / Receiver), and the stable code.
    Refused(bool, String),
}

async fn over_rest(response: reqwest::Response) -> Learned {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("JSON answer");
    match status {
        200 => Learned::Data(json_pairs(&body)),
        // What SOAP answers as an outcome (estadoSobre 03 or 05) rather than a Fault.
        400 | 404 | 413
            if matches!(
                body["code"].as_str(),
                Some(
                    "RUN_INVALIDO"
                        | "LOTE_EXCEDIDO"
                        | "PROGRAMA_DESCONOCIDO"
                        | "NO_ENCONTRADO"
                        | "SIN_FICHA"
                )
            ) =>
        {
            Learned::Outcome(body["code"].as_str().unwrap().to_owned())
        }
        _ => Learned::Refused(status < 500, body["code"].as_str().unwrap_or("").to_owned()),
    }
}

/// The SOAP answer's data below `cuerpo/{wrapper}` (or the cuerpo itself when `wrapper` is
/// empty); an outcome is told by its estadoSobre, mapped back to the codes it stands for.
fn over_soap(a: &Answer, v: V, svc: &Svc, op: &str, wrapper: &str, rest: &Learned) -> Learned {
    if a.status != 200 {
        let fault = a.fault(v);
        let sender = matches!(fault.code.as_str(), "Client" | "Sender");
        assert_eq!(a.status, super::fault_status(v, sender), "{}", a.shown());
        return Learned::Refused(sender, fault.codigo);
    }
    let r = a.respuesta(v, svc, op);
    match estado(&r) {
        "00" => {
            let cuerpo = r.child("cuerpo").expect("a cuerpo with 00");
            let data = if wrapper.is_empty() {
                cuerpo.clone()
            } else {
                cuerpo
                    .child(wrapper)
                    .unwrap_or_else(|| panic!("cuerpo/{wrapper}: {}", a.shown()))
                    .clone()
            };
            Learned::Data(soap_pairs(&data))
        }
        e => {
            assert!(r.child("cuerpo").is_none(), "no cuerpo with {e}");
            // estadoSobre names a class of outcomes; take REST's code when it is of that class.
            let class: &[&str] = match e {
                "03" => &["RUN_INVALIDO", "LOTE_EXCEDIDO", "PROGRAMA_DESCONOCIDO"],
                "05" => &["NO_ENCONTRADO", "SIN_FICHA"],
                _ => &[],
            };
            match rest {
                Learned::Outcome(code) if class.contains(&code.as_str()) => {
                    Learned::Outcome(code.clone())
                }
                _ => Learned::Outcome(format!("estadoSobre {e}")),
            }
        }
    }
}

fn assert_same(rest: &Learned, soap: &Learned, what: &str) {
    assert_eq!(soap, rest, "{what}: SOAP and REST must disclose the same");
}

per_backend!(
    async fn rest_and_soap_disclose_the_same_data_under_every_convenio(backend) {
        let set = ConvenioSet::load_dir(&repo_path("convenios")).unwrap();
        let ids: Vec<&str> = set.agencias().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, SHIPPED, "every shipped agreement is compared");
        // The shipped grants with their limits out of the way: this compares answers.
        let convenios = tempfile::TempDir::new().unwrap();
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 4_000,
                convenios: Some(convenios_without_limits(convenios.path())),
                ..Setup::default()
            },
        )
        .await;
        let without = registry::without_ficha(&mut node.db());
        let deceased = registry::deceased_with_ficha(&mut node.db());
        let mut compared = 0;
        for (n, convenio) in set.agencias().enumerate() {
            let id = convenio.id.as_str();
            let client = node.client(Some(id));
            let scope = convenio.ambito_prefijo().map(str::to_owned);
            let run = registry::with_ficha(&mut node.db(), scope.as_deref());
            let mut persons = vec![run, registry::unknown()];
            if let Some(cut) = &scope {
                persons.push(registry::with_ficha_outside(&mut node.db(), cut));
            } else {
                persons.push(deceased);
            }
            let v = if n % 2 == 0 { V::V11 } else { V::V12 };
            let grants = |op| convenio.grant(op).is_some();

            // ConsultarFichaFPS, for a person with ficha, an unknown one and one outside the
            // scope (or deceased).
            for person in &persons {
                let rest = over_rest(
                    client
                        .get(node.agency_url(&format!("/api/v1/personas/{person}/ficha")))
                        .send()
                        .await
                        .unwrap(),
                )
                .await;
                let a = call(
                    &client,
                    &node,
                    v,
                    &FICHA,
                    "ConsultarFichaFPS",
                    None,
                    &run_xml("f", *person),
                )
                .await;
                let soap = over_soap(&a, v, &FICHA, "ConsultarFichaFPS", "ficha", &rest);
                assert_same(&rest, &soap, &format!("{id} ConsultarFichaFPS"));
                if *person == run && grants(Operation::ConsultarFichaFPS) {
                    assert!(
                        matches!(&soap, Learned::Data(d) if d.len() >= 5),
                        "{id}: a ficha is disclosed: {soap:?}"
                    );
                }
                compared += 1;
            }
            if grants(Operation::ConsultarFichaFPS) {
                // The batch: found, unknown, invalid, without ficha.
                let runs = [
                    run.to_string(),
                    registry::unknown().to_string(),
                    bad(run),
                    without.to_string(),
                ];
                let rest = over_rest(
                    client
                        .post(node.agency_url("/api/v1/fichas/consultas"))
                        .json(&json!({ "runs": runs }))
                        .send()
                        .await
                        .unwrap(),
                )
                .await;
                let cuerpo: String = [
                    run_xml("f", run),
                    run_xml("f", registry::unknown()),
                    bad_xml(run),
                    run_xml("f", without),
                ]
                .concat();
                let a = call(
                    &client,
                    &node,
                    v,
                    &FICHA,
                    "ConsultarFichaFPSLote",
                    None,
                    &cuerpo,
                )
                .await;
                let soap = over_soap(&a, v, &FICHA, "ConsultarFichaFPSLote", "", &rest);
                assert_same(&rest, &soap, &format!("{id} ConsultarFichaFPSLote"));
            }

            // ValidarIdentidad: the registry's names right and wrong, only fields it may compare.
            let (nombres, paterno, materno, nacimiento) = registry::identity(&mut node.db(), run);
            let may = |f: &str| {
                convenio
                    .grant(Operation::ValidarIdentidad)
                    .is_some_and(|g| g.fields.iter().any(|x| x == f))
            };
            let mut claim = json!({ "run": run.dotted() });
            let mut cuerpo = run_xml("i", run);
            if may("coincidencias.nombres") {
                claim["nombres"] = json!(nombres.to_lowercase());
                cuerpo += &format!("<i:nombres>{}</i:nombres>", nombres.to_lowercase());
            }
            if may("coincidencias.apellidoPaterno") {
                claim["apellidoPaterno"] = json!(format!("{paterno}X"));
                cuerpo += &format!("<i:apellidoPaterno>{paterno}X</i:apellidoPaterno>");
            }
            if may("coincidencias.apellidoMaterno") {
                claim["apellidoMaterno"] = json!(materno);
                cuerpo += &format!("<i:apellidoMaterno>{materno}</i:apellidoMaterno>");
            }
            if may("coincidencias.fechaNacimiento") {
                claim["fechaNacimiento"] = json!(nacimiento);
                cuerpo += &format!("<i:fechaNacimiento>{nacimiento}</i:fechaNacimiento>");
            }
            let rest = over_rest(
                client
                    .post(node.agency_url("/api/v1/identidad/validaciones"))
                    .json(&claim)
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            let a = call(
                &client,
                &node,
                v,
                &IDENTIDAD,
                "ValidarIdentidad",
                None,
                &cuerpo,
            )
            .await;
            let soap = over_soap(&a, v, &IDENTIDAD, "ValidarIdentidad", "validacion", &rest);
            assert_same(&rest, &soap, &format!("{id} ValidarIdentidad"));
            if grants(Operation::ValidarIdentidad) {
                let Learned::Data(pairs) = &soap else {
                    panic!("{id}: ValidarIdentidad answered: {soap:?}")
                };
                assert!(
                    pairs.contains(&("coincidencias.apellidoPaterno".into(), "false".into())),
                    "{pairs:?}"
                );
            } else {
                assert!(
                    matches!(&soap, Learned::Refused(true, c) if c == "NO_AUTORIZADO"),
                    "{id}: {soap:?}"
                );
            }

            // The deceased (or, for a municipality, someone outside its comuna), asking nothing.
            let other = persons[2];
            let rest = over_rest(
                client
                    .post(node.agency_url("/api/v1/identidad/validaciones"))
                    .json(&json!({ "run": other.to_string() }))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            let a = call(
                &client,
                &node,
                v,
                &IDENTIDAD,
                "ValidarIdentidad",
                None,
                &run_xml("i", other),
            )
            .await;
            let soap = over_soap(&a, v, &IDENTIDAD, "ValidarIdentidad", "validacion", &rest);
            assert_same(&rest, &soap, &format!("{id} ValidarIdentidad of {other}"));
            if grants(Operation::ValidarIdentidad) && scope.is_none() {
                // Nothing compared (an empty coincidencias, `{}` in JSON), and not alive.
                assert_eq!(
                    soap,
                    Learned::Data(vec![
                        ("coincidencias".into(), String::new()),
                        ("run".into(), other.to_string()),
                        ("vivo".into(), "false".into())
                    ]),
                    "{id}"
                );
            }

            // ConsultarElegibilidad: up to three programs the agreement lists (PBS when it lists
            // none; more would run into the municipalities' rate limits), and one it does not.
            let mut programas: Vec<String> = convenio
                .grant(Operation::ConsultarElegibilidad)
                .and_then(|g| g.programas.as_ref())
                .map(|p| p.iter().take(3).cloned().collect())
                .unwrap_or_else(|| vec!["PBS".to_owned()]);
            programas.push(
                ["PBS", "FSV1", "BBNN_GRATUIDAD"]
                    .into_iter()
                    .find(|p| !programas.iter().any(|x| x == p))
                    .unwrap_or("NOPE")
                    .to_owned(),
            );
            for programa in &programas {
                for person in [run, registry::unknown()] {
                    let rest = over_rest(
                        client
                            .get(node.agency_url(&format!(
                                "/api/v1/personas/{person}/elegibilidad/{programa}"
                            )))
                            .send()
                            .await
                            .unwrap(),
                    )
                    .await;
                    let cuerpo = format!(
                        "{}<e:programa>{programa}</e:programa>",
                        run_xml("e", person)
                    );
                    let a = call(
                        &client,
                        &node,
                        v,
                        &ELEGIBILIDAD,
                        "ConsultarElegibilidad",
                        None,
                        &cuerpo,
                    )
                    .await;
                    let soap = over_soap(
                        &a,
                        v,
                        &ELEGIBILIDAD,
                        "ConsultarElegibilidad",
                        "elegibilidad",
                        &rest,
                    );
                    assert_same(
                        &rest,
                        &soap,
                        &format!("{id} ConsultarElegibilidad {programa}"),
                    );
                    compared += 1;
                }
            }
        }
        assert!(compared > 40, "{compared} comparisons");
        node.stop().await;
    }
);

/// A RUN with a wrong check digit, as text and as `t:Run`.
fn bad(run: Run) -> String {
    format!(
        "{}-{}",
        run.numero(),
        if run.dv() == '0' { '1' } else { '0' }
    )
}

fn bad_xml(run: Run) -> String {
    let (numero, dv) = bad(run)
        .split_once('-')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    format!("<f:run><t:numero>{numero}</t:numero><t:dv>{dv}</t:dv></f:run>")
}

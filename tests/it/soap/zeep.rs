//! A real third-party SOAP client, zeep (Python), pointed at the node's WSDL URL alone: it
//! fetches the WSDL and the schemas it imports, then calls ConsultarFichaFPS on both ports.
//! When zeep is missing, the test fails in CI (CI set) and is skipped with a notice elsewhere.

use serde_json::Value;

use super::client::tool_available;
use crate::registry;
use crate::support::{Backend, Setup, TestNode, repo_path};

#[tokio::test]
async fn zeep_reads_the_wsdl_and_gets_the_same_ficha_as_rest() {
    let zeep = tool_available(
        std::process::Command::new("python3").args(["-c", "import zeep"]),
        "Python's zeep (python3 -m pip install zeep)",
    );
    if !zeep {
        return;
    }
    let node = TestNode::start_with(
        Backend::Sqlite,
        Setup {
            persons: 300,
            ..Setup::default()
        },
    )
    .await;
    let run = registry::with_ficha(&mut node.db(), None);
    let unknown = registry::unknown();
    let rest: Value = node
        .client(Some("minvu"))
        .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let clients = node.pki.join("clients");
    let args: Vec<String> = vec![
        repo_path("tests/soap_zeep.py").display().to_string(),
        node.agency_url("/soap/ConsultaFichaFPS?wsdl"),
        clients.join("minvu.pem").display().to_string(),
        clients.join("minvu-key.pem").display().to_string(),
        node.pki.join("ca.pem").display().to_string(),
        run.numero().to_string(),
        run.dv().to_string(),
        unknown.numero().to_string(),
        unknown.dv().to_string(),
        "zeep-0001".to_owned(),
    ];
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args(&args)
            .env("NO_PROXY", "*")
            .output()
            .expect("run python3")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "soap_zeep.py failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let got: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));

    // zeep found both ports of the service with both operations, from the WSDL URL alone.
    let both = serde_json::json!(["ConsultarFichaFPS", "ConsultarFichaFPSLote"]);
    assert_eq!(got["operaciones"]["ConsultaFichaFPSSoap11"], both, "{got}");
    assert_eq!(got["operaciones"]["ConsultaFichaFPSSoap12"], both, "{got}");

    for port in ["Soap11", "Soap12"] {
        let answer = &got[port];
        assert_eq!(answer["estadoSobre"], "00", "{port}: {answer}");
        let ficha = &answer["ficha"];
        assert_eq!(
            ficha["puntaje"], rest["puntaje"],
            "{port}: {ficha} vs {rest}"
        );
        assert_eq!(ficha["quintil"], rest["quintil"], "{port}");
        assert_eq!(ficha["folio"], rest["folio"], "{port}");
        assert_eq!(ficha["fechaAplicacion"], rest["fechaAplicacion"], "{port}");
        assert_eq!(
            ficha["comuna"]["codigo"], rest["comuna"]["codigo"],
            "{port}"
        );
        assert_eq!(ficha["fallecido"], rest["fallecido"], "{port}");
        assert_eq!(
            format!(
                "{}-{}",
                ficha["run"]["numero"],
                ficha["run"]["dv"].as_str().unwrap_or("")
            ),
            run.to_string(),
            "{port}"
        );
        let members = ficha["integrantes"]["integrante"].as_array().map(Vec::len);
        assert_eq!(
            members,
            rest["integrantes"].as_array().map(Vec::len),
            "{port}: the household"
        );
    }
    assert_eq!(got["desconocido"]["estadoSobre"], "05", "{got}");
    assert_eq!(got["desconocido"]["ficha"], Value::Null);
    let repeated = &got["repetido"];
    assert_eq!(repeated["primero"]["estadoSobre"], "00");
    assert_eq!(repeated["primero"]["idSobre"], "zeep-0001");
    assert_eq!(
        repeated["falla"]["codigo"], "MENSAJE_REPETIDO",
        "{repeated}"
    );
    assert_eq!(repeated["falla"]["estadoSobre"], "03", "{repeated}");
    assert!(
        repeated["falla"]["faultcode"]
            .as_str()
            .is_some_and(|c| c.ends_with("Client")),
        "{repeated}"
    );
    node.stop().await;
}

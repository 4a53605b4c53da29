//! The DCI (spdci) Social Registry API (`docs/dci.md`): sync search by RUN and txn/status,
//! every request sent and every answer validated against the vendored spec
//! (`tests/dci_validar.py`), the envelope's ids checked against the certificate's agreement,
//! replays, scope, projection parity with REST and the audit record.

use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::schema::auditoria;

mod asincrono;
mod push;

use crate::per_backend;
use crate::registry;
use crate::soap::client::tool_available;
use crate::support::{Setup, TestNode, repo_path};

const SEARCH: &str = "/registry/sync/search";
const TXN_STATUS: &str = "/registry/sync/txn/status";

/// The messages a test sent and received, validated against the spec when it ends.
#[derive(Default)]
struct Mensajes(Vec<Value>);

impl Mensajes {
    fn add(&mut self, path: &str, kind: &str, body: &Value) {
        self.0
            .push(json!({ "path": path, "kind": kind, "body": body }));
    }

    /// Validates every message with tests/dci_validar.py (skipped with a notice where Python
    /// or its modules are missing, required in CI).
    fn validar(&self) {
        if !tool_available(
            std::process::Command::new("python3")
                .args(["-c", "import openapi_schema_validator, referencing, yaml"]),
            "python3 with openapi-schema-validator and PyYAML (pip install openapi-spec-validator)",
        ) {
            return;
        }
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), Value::Array(self.0.clone()).to_string()).unwrap();
        let out = std::process::Command::new("python3")
            .arg(repo_path("tests/dci_validar.py"))
            .arg(repo_path("schemas/dci/social_api_v1.0.0.yaml"))
            .arg(file.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "DCI messages do not follow the spec:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A request envelope.
fn sobre(action: &str, message_id: &str, sender: &str, total: usize, message: Value) -> Value {
    json!({
        "signature": "Signature: namespace=\"spdci\", algorithm=\"ed25519\", signature=\"x\"",
        "header": {
            "version": "1.0.0",
            "message_id": message_id,
            "message_ts": "2026-12-01T10:00:00-03:00",
            "action": action,
            "sender_id": sender,
            "receiver_id": "siis",
            "total_count": total,
            "is_msg_encrypted": false,
        },
        "message": message,
    })
}

/// A search of `runs` (reference ids `r-0`, `r-1`, …) for `entity` records.
fn busqueda<R: AsRef<str>>(
    message_id: &str,
    sender: &str,
    tx: &str,
    runs: &[R],
    entity: &str,
) -> Value {
    let items: Vec<Value> = runs
        .iter()
        .enumerate()
        .map(|(i, run)| {
            json!({
                "reference_id": format!("r-{i}"),
                "timestamp": "2026-12-01T10:00:00-03:00",
                "search_criteria": {
                    "version": "1.0.0",
                    "reg_type": "ns:org:RegistryType:Social",
                    "reg_record_type": entity,
                    "query_type": "idtype-value",
                    "response_entity": entity,
                    "query": { "type": "RUN", "value": run.as_ref() },
                },
            })
        })
        .collect();
    sobre(
        "search",
        message_id,
        sender,
        runs.len(),
        json!({ "transaction_id": tx, "search_request": items }),
    )
}

/// Posts `body` to the DCI `path` as `convenio`; the status and the answer, both recorded.
async fn post(
    node: &TestNode,
    convenio: &str,
    path: &str,
    body: &Value,
    mensajes: &mut Mensajes,
) -> (u16, Value) {
    mensajes.add(path, "request", body);
    let response = node
        .client(Some(convenio))
        .post(node.agency_url(&format!("/dci/v1{path}")))
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap();
    mensajes.add(
        path,
        if status == 200 { "response" } else { "error" },
        &answer,
    );
    (status, answer)
}

/// An answer without what differs between two answers of the same kind: ids and times.
fn sin_ids(mut answer: Value) -> String {
    for key in ["message_id", "message_ts"] {
        answer["header"][key] = json!("-");
    }
    if answer.get("message").is_some() {
        answer["message"]["correlation_id"] = json!("-");
        for item in answer["message"]["search_response"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            item["timestamp"] = json!("-");
        }
    }
    answer.to_string()
}

fn records(answer: &Value, i: usize) -> &Vec<Value> {
    answer["message"]["search_response"][i]["data"]["reg_records"]
        .as_array()
        .unwrap()
}

/// (transporte, operacion, sujetos, campos, resultado, estado_http) of the record of
/// `message_id`.
fn record(node: &TestNode, message_id: &str) -> (String, String, String, String, String, i32) {
    auditoria::table
        .filter(auditoria::id_mensaje.eq(message_id))
        .select((
            auditoria::transporte,
            auditoria::operacion,
            auditoria::sujetos,
            auditoria::campos,
            auditoria::resultado,
            auditoria::estado_http,
        ))
        .first(&mut node.db())
        .expect("the request's audit record")
}

fn seeded() -> Setup {
    Setup {
        persons: 300,
        ..Setup::default()
    }
}

per_backend!(
    async fn a_search_by_run_answers_the_household_as_rest_does(backend) {
        let node = TestNode::start_with(backend, seeded()).await;
        let mut m = Mensajes::default();
        let run = registry::with_ficha(&mut node.db(), None).to_string();

        let body = busqueda("minvu-dci-1", "minvu", "t-1", &[run.as_str()], "Group");
        let (status, answer) = post(&node, "minvu", SEARCH, &body, &mut m).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["header"]["status"], "succ");
        assert_eq!(answer["header"]["action"], "on-search");
        assert_eq!(answer["header"]["sender_id"], "siis");
        assert_eq!(answer["header"]["receiver_id"], "minvu");
        assert_eq!(answer["message"]["transaction_id"], "t-1");
        assert_eq!(answer["message"]["correlation_id"], "minvu-dci-1");
        let item = &answer["message"]["search_response"][0];
        assert_eq!(item["reference_id"], "r-0");
        assert_eq!(item["status"], "succ");
        let group = &records(&answer, 0)[0];

        // The same lookup on REST, under the same agreement: the same facts, the same fields.
        let rest: Value = node
            .client(Some("minvu"))
            .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
            .header("X-Request-Id", "minvu-rest-1")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(group["poverty_score"], rest["puntaje"]);
        assert_eq!(group["poverty_score_type"], "FPS");
        assert_eq!(
            group["group_identifier"][0]["identifier_value"],
            rest["folio"].to_string()
        );
        assert_eq!(group["registration_date"], rest["fechaAplicacion"]);
        let integrantes = rest["integrantes"].as_array().unwrap();
        assert_eq!(group["group_size"], integrantes.len());
        for (member, integrante) in group["member_list"].as_array().unwrap().iter().zip(integrantes) {
            assert_eq!(member["member_identifier"][0]["identifier_value"], integrante["run"]);
            assert_eq!(member["demographic_info"]["name"]["given_name"], integrante["nombres"]);
            assert_eq!(member["demographic_info"]["birth_date"], integrante["fechaNacimiento"]);
        }
        let attribute = |name: &str| {
            group["additional_attributes"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["name"] == name)
                .map(|a| a["value"].clone())
        };
        assert_eq!(attribute("quintil"), Some(rest["quintil"].clone()));
        assert_eq!(attribute("comuna_cut"), Some(rest["comuna"]["codigo"].clone()));

        // Audited as DCI, naming the person, with the fields REST's record names.
        let (transporte, operacion, sujetos, campos, resultado, estado) =
            record(&node, "minvu-dci-1");
        assert_eq!((transporte.as_str(), operacion.as_str()), ("dci", "ConsultarFichaFPS"));
        assert!(sujetos.contains(&run), "{sujetos}");
        assert_eq!((resultado.as_str(), estado), ("OK", 200));
        let (rest_transporte, _, _, rest_campos, _, _) = record(&node, "minvu-rest-1");
        assert_eq!(rest_transporte, "rest");
        assert_eq!(campos, rest_campos);

        // A Member: the person asked about.
        let body = busqueda("minvu-dci-2", "minvu", "t-2", &[run.as_str()], "Member");
        let (status, answer) = post(&node, "minvu", SEARCH, &body, &mut m).await;
        assert_eq!(status, 200, "{answer}");
        let item = &answer["message"]["search_response"][0];
        assert_eq!(item["data"]["reg_record_type"], "Member");
        let member = &records(&answer, 0)[0];
        assert_eq!(member["member_identifier"][0]["identifier_value"], run.as_str());
        m.validar();
    }
);

per_backend!(
    async fn a_field_the_grant_withholds_is_absent_in_dci_too(backend) {
        let node = TestNode::start_with(backend, seeded()).await;
        let mut m = Mensajes::default();
        let run = registry::with_ficha(&mut node.db(), None).to_string();
        // IPS sees run, puntaje, quintil, fallecido and estado: no folio, no members.
        let body = busqueda("ips-dci-1", "ips", "t-1", &[run.as_str()], "Group");
        let (status, answer) = post(&node, "ips", SEARCH, &body, &mut m).await;
        assert_eq!(status, 200, "{answer}");
        let group = records(&answer, 0)[0].as_object().unwrap().clone();
        let mut keys: Vec<&str> = group.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            ["additional_attributes", "group_type", "poverty_score", "poverty_score_type"]
        );
        let names: Vec<&str> = group["additional_attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["quintil", "estado_ficha", "persona_fallecida"]);
        let rest = node
            .client(Some("ips"))
            .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
            .header("X-Request-Id", "ips-rest-1")
            .send()
            .await
            .unwrap();
        assert_eq!(rest.status(), 200);
        assert_eq!(record(&node, "ips-dci-1").3, record(&node, "ips-rest-1").3);
        m.validar();
    }
);

per_backend!(
    async fn several_runs_are_one_batch_each_answered_in_its_item(backend) {
        let node = TestNode::start_with(backend, seeded()).await;
        let mut m = Mensajes::default();
        let found = registry::with_ficha(&mut node.db(), None).to_string();
        let unknown = registry::unknown().to_string();
        let runs = [found.clone(), unknown.clone(), "12345678-9".to_owned()];
        let body = busqueda("minvu-lote-1", "minvu", "t-lote", &runs, "Group");
        let (status, answer) = post(&node, "minvu", SEARCH, &body, &mut m).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["header"]["total_count"], 3);
        let items = answer["message"]["search_response"].as_array().unwrap();
        assert_eq!(items[0]["status"], "succ");
        assert_eq!(records(&answer, 0).len(), 1);
        assert_eq!(items[1]["status"], "succ");
        assert!(records(&answer, 1).is_empty());
        assert_eq!(items[2]["status"], "rjct");
        assert_eq!(items[2]["status_reason_code"], "rjct.search_criteria.invalid");
        let (transporte, _, sujetos, _, _, _) = record(&node, "minvu-lote-1");
        assert_eq!(transporte, "dci");
        assert!(sujetos.contains(&found) && sujetos.contains(&unknown), "{sujetos}");

        // More persons than the agreement's burst (ORASMI: 10): the message is refused whole.
        let many: Vec<String> = (0..11).map(|_| found.clone()).collect();
        let body = busqueda("orasmi-lote-1", "orasmi-13", "t-many", &many, "Group");
        let (status, answer) = post(&node, "orasmi-13", SEARCH, &body, &mut m).await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["header"]["status"], "rjct");
        assert_eq!(answer["header"]["status_reason_code"], "rjct.total_count.limit_exceeded");
        assert!(answer.get("message").is_none());
        assert_eq!(record(&node, "orasmi-lote-1").4, "LOTE_SUPERA_RAFAGA");
        m.validar();
    }
);

per_backend!(
    async fn the_envelope_ids_must_match_the_certificate_and_the_node(backend) {
        let node = TestNode::start_with(backend, seeded()).await;
        let mut m = Mensajes::default();
        let run = registry::with_ficha(&mut node.db(), None).to_string();

        // MINVU's certificate claiming to be IPS: refused, audited under MINVU.
        let body = busqueda("minvu-ids-1", "ips", "t-1", &[run.as_str()], "Group");
        let (status, answer) = post(&node, "minvu", SEARCH, &body, &mut m).await;
        assert_eq!(status, 403, "{answer}");
        assert_eq!(answer["errors"][0]["code"], "err.sender_id.invalid");
        assert!(answer.to_string().contains("\"REMITENTE_INVALIDO"), "{answer}");
        let (transporte, _, _, _, resultado, estado) = record(&node, "minvu-ids-1");
        assert_eq!((transporte.as_str(), resultado.as_str(), estado), ("dci", "REMITENTE_INVALIDO", 403));

        // Addressed to another node.
        let mut body = busqueda("minvu-ids-2", "minvu", "t-2", &[run.as_str()], "Group");
        body["header"]["receiver_id"] = json!("otro-nodo");
        let (status, answer) = post(&node, "minvu", SEARCH, &body, &mut m).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["errors"][0]["code"], "err.receiver_id.invalid");
        assert_eq!(record(&node, "minvu-ids-2").4, "DESTINATARIO_INVALIDO");

        // Encrypted: not taken.
        let mut body = busqueda("minvu-ids-3", "minvu", "t-3", &[run.as_str()], "Group");
        body["header"]["is_msg_encrypted"] = json!(true);
        body["message"] = json!({
            "header": { "alg": "RSA-OAEP", "enc": "A256GCM", "kid": "k" },
            "ciphertext": "x", "encrypted_key": "x", "tag": "x", "iv": "x",
        });
        let (status, answer) = post(&node, "minvu", SEARCH, &body, &mut m).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["errors"][0]["code"], "err.encryption.invalid");
        assert_eq!(record(&node, "minvu-ids-3").4, "CIFRADO_NO_SOPORTADO");

        // A query the node does not answer: the whole message is refused, nobody looked up.
        let mut body = busqueda("minvu-ids-4", "minvu", "t-4", &[run.as_str()], "Group");
        body["message"]["search_request"][0]["search_criteria"]["query_type"] = json!("predicate");
        let (status, answer) = post(&node, "minvu", SEARCH, &body, &mut m).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["errors"][0]["code"], "err.request.bad");
        assert_eq!(record(&node, "minvu-ids-4").4, "SOLICITUD_INVALIDA");

        // Another method than POST: refused as DCI, audited.
        let response = node
            .client(Some("minvu"))
            .get(node.agency_url("/dci/v1/registry/sync/search"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["errors"][0]["code"], "err.request.bad");
        m.add(SEARCH, "error", &answer);
        let metodo: i64 = auditoria::table
            .filter(auditoria::transporte.eq("dci"))
            .filter(auditoria::resultado.eq("METODO_NO_PERMITIDO"))
            .count()
            .get_result(&mut node.db())
            .unwrap();
        assert_eq!(metodo, 1);

        // An agreement that does not grant ConsultarFichaFPS.
        let body = busqueda("bbnn-ids-1", "bbnn", "t-5", &[run.as_str()], "Group");
        let (status, answer) = post(&node, "bbnn", SEARCH, &body, &mut m).await;
        assert_eq!(status, 403, "{answer}");
        assert_eq!(answer["errors"][0]["code"], "err.request.forbidden");
        m.validar();
    }
);

per_backend!(
    async fn a_replayed_message_id_is_rejected(backend) {
        let node = TestNode::start_with(backend, seeded()).await;
        let mut m = Mensajes::default();
        let run = registry::with_ficha(&mut node.db(), None).to_string();
        let body = busqueda("minvu-replay-1", "minvu", "t-1", &[run.as_str()], "Group");
        let (status, first) = post(&node, "minvu", SEARCH, &body, &mut m).await;
        assert_eq!((status, first["header"]["status"].as_str()), (200, Some("succ")));
        let (status, again) = post(&node, "minvu", SEARCH, &body, &mut m).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["header"]["status"], "rjct");
        assert_eq!(again["header"]["status_reason_code"], "rjct.message_id.duplicate");
        assert!(again.get("message").is_none(), "{again}");
        let resultados: Vec<String> = auditoria::table
            .filter(auditoria::id_mensaje.eq("minvu-replay-1"))
            .order(auditoria::id)
            .select(auditoria::resultado)
            .load(&mut node.db())
            .unwrap();
        assert_eq!(resultados, ["OK", "MENSAJE_REPETIDO"]);
        m.validar();
    }
);

per_backend!(
    async fn unknown_without_ficha_and_out_of_scope_answer_alike(backend) {
        let node = TestNode::start_with(backend, seeded()).await;
        let mut m = Mensajes::default();
        let mut conn = node.db();
        let inside = registry::with_ficha(&mut conn, Some("13101")).to_string();
        let cases = [
            ("unknown", registry::unknown().to_string()),
            ("sin-ficha", registry::without_ficha(&mut conn).to_string()),
            ("outside", registry::with_ficha_outside(&mut conn, "13101").to_string()),
        ];
        let mut answers = Vec::new();
        for (name, run) in &cases {
            let id = format!("muni-{name}");
            let body = busqueda(&id, "muni-13101", "t-1", &[run.as_str()], "Group");
            let (status, answer) = post(&node, "muni-13101", SEARCH, &body, &mut m).await;
            assert_eq!(status, 200, "{answer}");
            assert!(records(&answer, 0).is_empty(), "{name}: {answer}");
            answers.push(sin_ids(answer));
        }
        assert_eq!(answers[0], answers[1]);
        assert_eq!(answers[0], answers[2]);
        // Its person's access report says why; the municipality was told nothing.
        assert_eq!(record(&node, "muni-outside").4, "FUERA_DE_AMBITO");
        // The municipality's own comuna is answered.
        let body = busqueda("muni-inside", "muni-13101", "t-1", &[inside], "Group");
        let (_, answer) = post(&node, "muni-13101", SEARCH, &body, &mut m).await;
        assert_eq!(records(&answer, 0).len(), 1, "{answer}");
        m.validar();
    }
);

/// A status request for the agreement's transaction named by `attribute_type`.
fn estado(message_id: &str, sender: &str, tx: &str, attribute_type: &str, value: Value) -> Value {
    sobre(
        "txn-status",
        message_id,
        sender,
        1,
        json!({
            "transaction_id": tx,
            "txnstatus_request": {
                "reference_id": "s-0",
                "txn_type": "search",
                "attribute_type": attribute_type,
                "attribute_value": value,
            },
        }),
    )
}

per_backend!(
    async fn txn_status_answers_only_the_agreements_own_searches(backend) {
        let node = TestNode::start_with(backend, seeded()).await;
        let mut m = Mensajes::default();
        let run = registry::with_ficha(&mut node.db(), None).to_string();
        let runs = [run.clone(), "12345678-9".to_owned()];
        let body = busqueda("minvu-txn-1", "minvu", "tx-minvu", &runs, "Group");
        let (status, _) = post(&node, "minvu", SEARCH, &body, &mut m).await;
        assert_eq!(status, 200);

        let check = |answer: &Value, items: &[(&str, &str)]| {
            assert_eq!(answer["header"]["status"], "succ", "{answer}");
            assert_eq!(answer["header"]["action"], "txn-on-status");
            let status = &answer["message"]["txnstatus_response"]["txn_status"];
            assert_eq!(status["transaction_id"], "tx-minvu");
            assert_eq!(status["correlation_id"], "minvu-txn-1");
            let got: Vec<(String, String)> = status["search_response"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    assert!(i.get("data").is_none(), "a status carries no record: {i}");
                    (i["reference_id"].as_str().unwrap().to_owned(), i["status"].as_str().unwrap().to_owned())
                })
                .collect();
            let want: Vec<(String, String)> =
                items.iter().map(|(r, s)| ((*r).to_owned(), (*s).to_owned())).collect();
            assert_eq!(got, want);
        };
        let both = [("r-0", "succ"), ("r-1", "rjct")];
        let body = estado("minvu-st-1", "minvu", "tx-minvu", "transaction_id", json!("tx-minvu"));
        let (status, answer) = post(&node, "minvu", TXN_STATUS, &body, &mut m).await;
        assert_eq!(status, 200, "{answer}");
        check(&answer, &both);
        let body = estado("minvu-st-2", "minvu", "tx-minvu", "correlation_id", json!("minvu-txn-1"));
        let (_, answer) = post(&node, "minvu", TXN_STATUS, &body, &mut m).await;
        check(&answer, &both);
        let body = estado("minvu-st-3", "minvu", "tx-minvu", "reference_id_list", json!(["r-1"]));
        let (_, answer) = post(&node, "minvu", TXN_STATUS, &body, &mut m).await;
        check(&answer, &[("r-1", "rjct")]);
        let (transporte, operacion, sujetos, _, resultado, _) = record(&node, "minvu-st-1");
        assert_eq!(
            (transporte.as_str(), operacion.as_str(), resultado.as_str()),
            ("dci", "DciTxnStatus", "OK")
        );
        assert_eq!(sujetos, "", "a status names no person");

        // Another agreement asking for MINVU's transaction: as unknown as one that never was.
        let body = estado("orasmi-st-1", "orasmi-13", "tx-minvu", "transaction_id", json!("tx-minvu"));
        let (status, ajena) = post(&node, "orasmi-13", TXN_STATUS, &body, &mut m).await;
        assert_eq!(status, 200, "{ajena}");
        assert_eq!(ajena["header"]["status"], "rjct");
        assert!(ajena.get("message").is_none(), "{ajena}");
        let body = estado("orasmi-st-2", "orasmi-13", "tx-minvu", "transaction_id", json!("tx-nunca"));
        let (_, nunca) = post(&node, "orasmi-13", TXN_STATUS, &body, &mut m).await;
        assert_eq!(sin_ids(ajena), sin_ids(nunca));
        assert_eq!(record(&node, "orasmi-st-1").4, "NO_ENCONTRADO");
        m.validar();
    }
);

per_backend!(
    async fn a_refusal_over_the_limits_is_an_http_error_with_retry_after(backend) {
        // A copy of ORASMI's agreement with a daily quota of two persons.
        let dir = tempfile::TempDir::new().unwrap();
        let agreement = std::fs::read_to_string(repo_path("convenios/orasmi-13.toml"))
            .unwrap()
            .replace("\"orasmi-13\"", "\"dci-cuota\"")
            .replace("daily_quota = 5000", "daily_quota = 2");
        assert!(agreement.contains("daily_quota = 2"));
        let convenios = crate::support::convenios_with(dir.path(), &[("dci-cuota.toml", agreement)]);
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 300,
                convenios: Some(convenios),
                ..Setup::default()
            },
        )
        .await;
        let mut m = Mensajes::default();
        let run = registry::with_ficha(&mut node.db(), None).to_string();
        for n in 0..2 {
            let body = busqueda(&format!("cuota-{n}"), "dci-cuota", "t", &[run.as_str()], "Group");
            assert_eq!(post(&node, "dci-cuota", SEARCH, &body, &mut m).await.0, 200);
        }
        let body = busqueda("cuota-2", "dci-cuota", "t", &[run.as_str()], "Group");
        m.add(SEARCH, "request", &body);
        let response = node
            .client(Some("dci-cuota"))
            .post(node.agency_url("/dci/v1/registry/sync/search"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert!(response.headers().contains_key("retry-after"));
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer["errors"][0]["code"], "err.request.too_many_requests");
        m.add(SEARCH, "error", &answer);
        assert_eq!(record(&node, "cuota-2").4, "CUOTA_EXCEDIDA");
        m.validar();
    }
);

per_backend!(
    async fn uin_and_a_run_written_as_a_number_are_the_same_search(backend) {
        let node = TestNode::start_with(backend, seeded()).await;
        let mut m = Mensajes::default();
        let run = registry::with_ficha(&mut node.db(), None);
        let body = busqueda("minvu-uin-0", "minvu", "t", &[run.to_string()], "Group");
        let (_, by_run) = post(&node, "minvu", SEARCH, &body, &mut m).await;
        let mut body = busqueda("minvu-uin-1", "minvu", "t", &[run.to_string()], "Group");
        body["message"]["search_request"][0]["search_criteria"]["query"]["type"] = json!("UIN");
        let (status, by_uin) = post(&node, "minvu", SEARCH, &body, &mut m).await;
        assert_eq!(status, 200, "{by_uin}");
        assert_eq!(sin_ids(by_uin), sin_ids(by_run.clone()));
        // The number with its check digit, as an integer (a K check digit cannot be written so).
        let digits: String = run.to_string().chars().filter(char::is_ascii_digit).collect();
        if !run.to_string().ends_with('K') {
            let mut body = busqueda("minvu-uin-2", "minvu", "t", &[run.to_string()], "Group");
            body["message"]["search_request"][0]["search_criteria"]["query"]["value"] =
                json!(digits.parse::<u64>().unwrap());
            let (_, by_number) = post(&node, "minvu", SEARCH, &body, &mut m).await;
            assert_eq!(sin_ids(by_number), sin_ids(by_run));
        }
        // Another identifier type is not a search the node answers.
        let mut body = busqueda("minvu-uin-3", "minvu", "t", &[run.to_string()], "Group");
        body["message"]["search_request"][0]["search_criteria"]["query"]["type"] = json!("BRN");
        let (status, answer) = post(&node, "minvu", SEARCH, &body, &mut m).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["errors"][0]["code"], "err.request.bad");
        m.validar();
    }
);

//! DCI's asynchronous API: subscribe and unsubscribe over the node's subscriptions, the async
//! search kept for txn/status, and the notify body, every message validated against the spec.

use serde_json::{Value, json};
use siis::dci::notificar::{Aviso, Registro, cuerpo};
use siis::projection::{Campos, FieldSet, Project};
use siis::respuestas::Notificacion;

use super::{Mensajes, SEARCH, TXN_STATUS, busqueda, post, record, records, seeded, sobre};
use crate::per_backend;
use crate::registry;
use crate::support::TestNode;

pub(super) const SUBSCRIBE: &str = "/registry/subscribe";
const UNSUBSCRIBE: &str = "/registry/unsubscribe";
pub(super) const ASYNC_SEARCH: &str = "/registry/search";
const CALLBACK_IPS: &str = "https://notificaciones.ips.gob.cl/siis/eventos";

/// A subscribe message of one item: `reg_event_type`, for every person (`filter: None`) or
/// one RUN, sent with `sender_uri`.
pub(super) fn suscripcion(
    message_id: &str,
    sender: &str,
    sender_uri: Option<&str>,
    reg_event_type: &str,
    run: Option<&str>,
) -> Value {
    let (filter_type, filter) = match run {
        Some(run) => ("idtype-value", json!({ "type": "RUN", "value": run })),
        None => (
            "expression",
            json!({ "type": "ns:siis:QueryType:todos", "value": { "expression": "todos" } }),
        ),
    };
    let mut body = sobre(
        "subscribe",
        message_id,
        sender,
        1,
        json!({
            "transaction_id": format!("tx-{message_id}"),
            "subscribe_request": [{
                "reference_id": "s-0",
                "timestamp": "2026-12-01T10:00:00-03:00",
                "subscribe_criteria": {
                    "reg_type": "ns:org:RegistryType:Social",
                    "reg_event_type": reg_event_type,
                    "filter_type": filter_type,
                    "filter": filter,
                    "notify_record_type": "Member",
                },
            }],
        }),
    );
    if let Some(uri) = sender_uri {
        body["header"]["sender_uri"] = json!(uri);
    }
    body
}

fn desuscripcion(message_id: &str, sender: &str, codes: &[&str]) -> Value {
    sobre(
        "unsubscribe",
        message_id,
        sender,
        1,
        json!({
            "transaction_id": format!("tx-{message_id}"),
            "timestamp": "2026-12-01T10:00:00-03:00",
            "subscription_codes": codes,
        }),
    )
}

/// The status of the agreement's transaction answered to `correlation_id`.
pub(super) async fn estado_de(
    node: &TestNode,
    convenio: &str,
    txn_type: &str,
    correlation_id: &str,
    m: &mut Mensajes,
) -> Value {
    let body = sobre(
        "txn-status",
        &format!("st-{correlation_id}"),
        convenio,
        1,
        json!({
            "transaction_id": "st",
            "txnstatus_request": {
                "reference_id": "q-0",
                "txn_type": txn_type,
                "attribute_type": "correlation_id",
                "attribute_value": correlation_id,
            },
        }),
    );
    let (status, answer) = post(node, convenio, TXN_STATUS, &body, m).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

pub(super) fn acked(answer: &Value, message_id: &str) {
    assert_eq!(answer["message"]["ack_status"], "ACK", "{answer}");
    assert_eq!(answer["message"]["correlation_id"], message_id);
}

/// The agreement's subscriptions over REST.
pub(super) async fn listar(node: &TestNode, convenio: &str) -> Vec<Value> {
    let answer: Value = node
        .client(Some(convenio))
        .get(node.agency_url("/api/v1/suscripciones"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["suscripciones"].as_array().unwrap().clone()
}

fn primer_item(status: &Value) -> &Value {
    &status["message"]["txnstatus_response"]["txn_status"]["search_response"][0]
}

per_backend!(
    async fn subscribe_makes_a_dci_push_subscription_and_unsubscribe_closes_it(backend) {
        let node = TestNode::start_with(backend, seeded()).await;
        let mut m = Mensajes::default();
        let body = suscripcion("ips-sub-1", "ips", Some(CALLBACK_IPS), "spdci-common:RegistryEventType:Death", None);
        let (status, answer) = post(&node, "ips", SUBSCRIBE, &body, &mut m).await;
        assert_eq!(status, 200, "{answer}");
        acked(&answer, "ips-sub-1");
        let (transporte, operacion, _, _, resultado, _) = record(&node, "ips-sub-1");
        assert_eq!(
            (transporte.as_str(), operacion.as_str(), resultado.as_str()),
            ("dci", "Suscripciones", "OK")
        );

        // The same subscription REST lists: push to the callback, DCI format.
        let lista = listar(&node, "ips").await;
        assert_eq!(lista.len(), 1, "{lista:?}");
        let s = &lista[0];
        assert_eq!(s["formato"], "dci");
        assert_eq!(s["entrega"], "push");
        assert_eq!(s["url"], CALLBACK_IPS);
        assert_eq!(s["tipos"], json!(["defuncion"]));
        let code = s["id"].as_str().unwrap().to_owned();

        // Its result through txn/status: the SubscriptionInfo with our id as its code.
        let st = estado_de(&node, "ips", "subscribe", "ips-sub-1", &mut m).await;
        assert_eq!(st["header"]["status"], "succ", "{st}");
        assert_eq!(st["message"]["txnstatus_response"]["txn_type"], "subscribe");
        let item = primer_item(&st);
        assert_eq!(item["reference_id"], "s-0");
        assert_eq!(item["status"], "succ");
        let info = &item["data"]["reg_records"][0];
        assert_eq!(info["code"], code.as_str());
        assert_eq!(info["status"], "subscribe");
        assert_eq!(info["notify_record_type"], "Member");

        // Unsubscribe: closed for REST too.
        let body = desuscripcion("ips-unsub-1", "ips", &[&code]);
        let (status, answer) = post(&node, "ips", UNSUBSCRIBE, &body, &mut m).await;
        assert_eq!(status, 200, "{answer}");
        acked(&answer, "ips-unsub-1");
        assert_eq!(listar(&node, "ips").await[0]["estado"], "cerrada");
        let st = estado_de(&node, "ips", "subscribe", "ips-unsub-1", &mut m).await;
        let item = primer_item(&st);
        assert_eq!(item["status"], "succ", "{st}");
        assert_eq!(item["data"]["reg_records"][0]["code"], code.as_str());
        assert_eq!(item["data"]["reg_records"][0]["status"], "unsubscribe");

        // Again: already closed.
        let body = desuscripcion("ips-unsub-2", "ips", &[&code]);
        let (_, answer) = post(&node, "ips", UNSUBSCRIBE, &body, &mut m).await;
        acked(&answer, "ips-unsub-2");
        let st = estado_de(&node, "ips", "subscribe", "ips-unsub-2", &mut m).await;
        assert_eq!(primer_item(&st)["status"], "rjct");
        assert_eq!(primer_item(&st)["status_reason_message"], "rjct.event.already_unsubscribed");
        assert_eq!(record(&node, "ips-unsub-2").4, "SUSCRIPCION_CERRADA");
        m.validar();
    }
);

per_backend!(
    async fn subscribe_refusals_change_nothing(backend) {
        let node = TestNode::start_with(backend, seeded()).await;
        let mut m = Mensajes::default();

        // A sender_uri that is not one of the agreement's callbacks, or none.
        for (id, uri) in [("ips-uri-1", Some("https://otro.example/cb")), ("ips-uri-2", None)] {
            let body = suscripcion(id, "ips", uri, "Death", None);
            let (status, answer) = post(&node, "ips", SUBSCRIBE, &body, &mut m).await;
            assert_eq!(status, 403, "{answer}");
            assert_eq!(answer["errors"][0]["code"], "err.sender_uri.invalid");
            assert_eq!(record(&node, id).4, "CALLBACK_NO_PERMITIDO");
        }

        // Kinds the agreement is not granted (IPS: deaths and benefits ended), an unknown
        // kind, and a RUN list the agreement may not keep (max_runs 0): acknowledged, and
        // rejected in txn/status with DCI's reason.
        let run = registry::with_ficha(&mut node.db(), None).to_string();
        let cases = [
            ("ips-kind-1", "LiveBirth", None, "rjct.notify_types.invalid", "EVENTO_NO_CONCEDIDO"),
            ("ips-kind-2", "Marriage", None, "rjct.notify_types.invalid", "SUSCRIPCION_INVALIDA"),
            ("ips-kind-3", "Death", Some(run.as_str()), "rjct.notify_details.invalid", "LISTA_EXCEDIDA"),
            ("ips-kind-4", "Death", Some("12345678-9"), "rjct.person_id.invalid", "SUSCRIPCION_INVALIDA"),
        ];
        for (id, kind, run, dci, node_code) in cases {
            let body = suscripcion(id, "ips", Some(CALLBACK_IPS), kind, run);
            let (status, answer) = post(&node, "ips", SUBSCRIBE, &body, &mut m).await;
            assert_eq!(status, 200, "{answer}");
            acked(&answer, id);
            let st = estado_de(&node, "ips", "subscribe", id, &mut m).await;
            let item = primer_item(&st);
            assert_eq!(item["status"], "rjct", "{id}: {st}");
            assert_eq!(item["status_reason_message"], dci, "{id}");
            assert!(item.get("data").is_none(), "{id}");
            assert_eq!(record(&node, id).4, node_code, "{id}");
        }
        assert!(listar(&node, "ips").await.is_empty(), "nothing was subscribed");

        // An agreement that does not grant Suscripciones at all.
        let body = suscripcion("orasmi-sub-1", "orasmi-13", Some(CALLBACK_IPS), "Death", None);
        let (status, answer) = post(&node, "orasmi-13", SUBSCRIBE, &body, &mut m).await;
        assert_eq!(status, 403, "{answer}");
        assert_eq!(answer["errors"][0]["code"], "err.request.forbidden");
        m.validar();
    }
);

per_backend!(
    async fn another_agreements_code_is_unsubscribed_as_an_unknown_one(backend) {
        let node = TestNode::start_with(backend, seeded()).await;
        let mut m = Mensajes::default();
        let body = suscripcion("ips-sub-1", "ips", Some(CALLBACK_IPS), "Death", None);
        post(&node, "ips", SUBSCRIBE, &body, &mut m).await;
        let code = listar(&node, "ips").await[0]["id"].as_str().unwrap().to_owned();

        let mut estados = Vec::new();
        for (id, c) in [("muni-unsub-1", code.as_str()), ("muni-unsub-2", "7d1f0c4e-0000-4000-8000-000000000000")] {
            let body = desuscripcion(id, "muni-13101", &[c]);
            let (status, answer) = post(&node, "muni-13101", UNSUBSCRIBE, &body, &mut m).await;
            assert_eq!(status, 200, "{answer}");
            acked(&answer, id);
            let mut st = estado_de(&node, "muni-13101", "subscribe", id, &mut m).await;
            assert_eq!(primer_item(&st)["status_reason_message"], "rjct.subscription_code.invalid");
            for k in ["message_id", "message_ts"] {
                st["header"][k] = json!("-");
            }
            st["message"]["correlation_id"] = json!("-");
            let status = &mut st["message"]["txnstatus_response"]["txn_status"];
            for k in ["transaction_id", "correlation_id"] {
                status[k] = json!("-");
            }
            status["search_response"][0]["reference_id"] = json!("-");
            status["search_response"][0]["timestamp"] = json!("-");
            estados.push(st.to_string());
            assert_eq!(record(&node, id).4, "NO_ENCONTRADO");
        }
        assert_eq!(estados[0], estados[1], "another agreement's code is an unknown one");
        assert_eq!(listar(&node, "ips").await[0]["estado"], "activa");
        m.validar();
    }
);

per_backend!(
    async fn an_async_search_is_acknowledged_and_txn_status_gives_the_sync_records(backend) {
        let node = TestNode::start_with(backend, seeded()).await;
        let mut m = Mensajes::default();
        let run = registry::with_ficha(&mut node.db(), None).to_string();
        let runs = [run.clone(), "12345678-9".to_owned()];
        let body = busqueda("minvu-sync-1", "minvu", "t-sync", &runs, "Group");
        let (_, sync) = post(&node, "minvu", SEARCH, &body, &mut m).await;

        let body = busqueda("minvu-async-1", "minvu", "t-async", &runs, "Group");
        let (status, answer) = post(&node, "minvu", ASYNC_SEARCH, &body, &mut m).await;
        assert_eq!(status, 200, "{answer}");
        acked(&answer, "minvu-async-1");
        let (transporte, operacion, sujetos, campos, resultado, _) = record(&node, "minvu-async-1");
        assert_eq!((transporte.as_str(), operacion.as_str(), resultado.as_str()), ("dci", "ConsultarFichaFPS", "OK"));
        assert!(sujetos.contains(&run), "{sujetos}");

        let st = estado_de(&node, "minvu", "search", "minvu-async-1", &mut m).await;
        assert_eq!(st["header"]["status"], "succ", "{st}");
        let kept = &st["message"]["txnstatus_response"]["txn_status"];
        assert_eq!(kept["transaction_id"], "t-async");
        let items = kept["search_response"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["data"]["reg_records"], json!(records(&sync, 0)));
        assert_eq!(items[1]["status"], "rjct");
        assert_eq!(items[1]["status_reason_code"], "rjct.search_criteria.invalid");

        // Reading the records is audited as the disclosure it is: the person, the fields.
        let (_, operacion, st_sujetos, st_campos, _, _) = record(&node, "st-minvu-async-1");
        assert_eq!(operacion, "DciTxnStatus");
        assert!(st_sujetos.contains(&run), "{st_sujetos}");
        assert_eq!(st_campos, campos);

        // Another agreement: unknown.
        let st = estado_de(&node, "orasmi-13", "search", "minvu-async-1", &mut m).await;
        assert_eq!(st["header"]["status"], "rjct", "{st}");
        assert!(st.get("message").is_none());

        // A replayed message id: ERR, nothing run again.
        let (status, again) = post(&node, "minvu", ASYNC_SEARCH, &body, &mut m).await;
        assert_eq!(status, 200, "{again}");
        assert_eq!(again["message"]["ack_status"], "ERR");
        assert!(again["message"]["error"]["message"].as_str().unwrap().starts_with("rjct.message_id.duplicate"));
        m.validar();
    }
);

fn completa() -> Notificacion {
    let fecha = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d);
    Notificacion {
        id: Some("sub-7".to_owned()),
        suscripcion: Some("sub".to_owned()),
        secuencia: Some(7),
        tipo: Some("ficha_creada".to_owned()),
        registrado: chrono::DateTime::from_timestamp(1_764_583_200, 0),
        run: Some("12345678-5".to_owned()),
        run_relacionado: Some("15509661-6".to_owned()),
        fecha_defuncion: fecha(2026, 11, 30),
        fecha_nacimiento: fecha(1950, 1, 2),
        sexo: Some("F".to_owned()),
        folio: Some(1_000_002),
        folio_anterior: Some(1_000_001),
        puntaje: Some(4_213),
        quintil: Some(1),
        fecha_aplicacion: fecha(2008, 5, 1),
        comuna: Some("13101".to_owned()),
        comuna_anterior: Some("01101".to_owned()),
        programa: Some("PBS".to_owned()),
        estado: Some("vigente".to_owned()),
        fecha_inicio: fecha(2010, 1, 1),
        fecha_termino: fecha(2026, 11, 30),
        decreto: Some("42".to_owned()),
    }
}

#[test]
fn every_notify_body_follows_the_spec_and_shows_only_granted_values() {
    let mut m = Mensajes::default();
    let mut grants: Vec<Vec<&'static str>> =
        Notificacion::campos().iter().map(|c| vec![*c]).collect();
    grants.push(Notificacion::campos().to_vec());
    grants.push(Vec::new());
    for registro in [Registro::Member, Registro::Group] {
        for grant in &grants {
            let mut n = completa();
            n.project(&FieldSet::new(grant.iter().copied()));
            let aviso = Aviso {
                clave: "sub-7",
                suscripcion: "sub",
                sender_id: "siis",
                receiver_id: "ips",
                registro,
                ahora: "2026-12-05T10:00:00.000Z",
            };
            let body = cuerpo(&n, &aviso);
            // A value the grant withholds appears nowhere in the body.
            let texto = body["message"]["notify_event"][0]["data"]["reg_records"].to_string();
            if !grant.contains(&"puntaje") {
                assert!(!texto.contains("4213"), "{grant:?}: {texto}");
            }
            if !grant.contains(&"run") {
                assert!(!texto.contains("12345678-5"), "{grant:?}: {texto}");
            }
            if !grant.contains(&"fechaNacimiento") {
                assert!(!texto.contains("1950-01-02"), "{grant:?}: {texto}");
            }
            m.add("/registry/notify", "request", &body);
        }
    }
    m.validar();
}

per_backend!(
    async fn a_kept_answer_is_dropped_after_its_retention_and_the_statuses_stay(backend) {
        use siis::ops::retencion::{Purgadas, purgar};
        let node = TestNode::start_with(backend, seeded()).await;
        let mut m = Mensajes::default();
        let run = registry::with_ficha(&mut node.db(), None).to_string();
        let body = busqueda("minvu-ret-1", "minvu", "t-ret", &[run.clone(), "12345678-9".to_owned()], "Group");
        let (status, answer) = post(&node, "minvu", ASYNC_SEARCH, &body, &mut m).await;
        assert_eq!(status, 200, "{answer}");
        let config = siis::config::RetencionConfig { pausa_ms: 0, ..Default::default() };
        let ahora = chrono::Utc::now().timestamp_micros();
        // Within its 7 days: kept.
        assert_eq!(purgar(&mut node.db(), &config, ahora, &|| true).unwrap(), Purgadas::default());
        let st = estado_de(&node, "minvu", "search", "minvu-ret-1", &mut m).await;
        assert!(primer_item(&st).get("data").is_some(), "{st}");
        // Eight days on: the answer goes, the statuses stay, and reading them names nobody.
        let despues = ahora + 8 * 86_400_000_000;
        let hecho = purgar(&mut node.db(), &config, despues, &|| true).unwrap();
        assert_eq!(hecho, Purgadas { dci_resultado: 1, ..Purgadas::default() });
        // (estado_de's message id is taken: the same request under another id.)
        let body = sobre("txn-status", "st2-minvu-ret-1", "minvu", 1, json!({
            "transaction_id": "st",
            "txnstatus_request": {"reference_id": "q-0", "txn_type": "search",
                                  "attribute_type": "correlation_id", "attribute_value": "minvu-ret-1"},
        }));
        let (status, st) = post(&node, "minvu", TXN_STATUS, &body, &mut m).await;
        assert_eq!(status, 200, "{st}");
        assert_eq!(st["header"]["status"], "succ", "{st}");
        let items = st["message"]["txnstatus_response"]["txn_status"]["search_response"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{st}");
        assert_eq!((items[0]["reference_id"].as_str(), items[0]["status"].as_str()), (Some("r-0"), Some("succ")), "{st}");
        assert!(items[0].get("data").is_none(), "{st}");
        assert_eq!(items[1]["status_reason_code"], "rjct.search_criteria.invalid");
        let (_, operacion, sujetos, campos, _, _) = record(&node, "st2-minvu-ret-1");
        assert_eq!(operacion, "DciTxnStatus");
        assert!(!sujetos.contains(&run), "{sujetos}");
        assert_eq!(campos, "", "no field disclosed");
        m.validar();
    }
);

//! Subscriptions to events (Suscripciones): grants, the municipal scope, RUN lists, the pull
//! cursor across a restart, the audit of a pull, closing, and another agreement's id. Events
//! are recorded with SQL ([`outbox`]) until the feeds write them.

mod caida;
mod operador;
pub(crate) mod outbox;
pub(crate) mod push;
mod retencion;
mod soap;

use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::schema::entregas;
use siis::domain::Run;

use self::outbox::{Evento, registrar};
use crate::per_backend;
use crate::support::{TestNode, access_report};

pub(crate) fn persona(numero: u32) -> Run {
    Run::from_numero(numero).unwrap()
}

async fn suscribir(node: &TestNode, convenio: &str, body: Value) -> (u16, Value) {
    let r = node
        .client(Some(convenio))
        .post(node.agency_url("/api/v1/suscripciones"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// A new pull subscription's id.
async fn pull(node: &TestNode, convenio: &str, body: Value) -> String {
    let (status, answer) = suscribir(node, convenio, body).await;
    assert_eq!(status, 201, "{answer}");
    answer["id"].as_str().unwrap().to_owned()
}

async fn leer(
    node: &TestNode,
    convenio: &str,
    id: &str,
    despues: i64,
    limite: u32,
) -> (u16, Value) {
    let r = node
        .client(Some(convenio))
        .get(node.agency_url(&format!(
            "/api/v1/suscripciones/{id}/eventos?despues={despues}&limite={limite}"
        )))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The page's events as (secuencia, run).
fn vistos(page: &Value) -> Vec<(i64, String)> {
    page["notificaciones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["secuencia"].as_i64().unwrap(),
                n["run"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

pub(crate) fn defuncion(numero: u32, cut: &str) -> Evento<'_> {
    Evento::new(
        "defuncion",
        persona(numero),
        cut,
        json!({"fechaDefuncion": "2026-11-30"}),
    )
}

per_backend!(
    async fn refusals_say_what_the_grant_lacks(backend) {
        let node = TestNode::start(backend).await;
        let cases = [
            // IPS is granted deaths and ended benefits, not births.
            ("ips", json!({"tipos": ["defuncion", "nacimiento"], "entrega": "pull"}), 403, "EVENTO_NO_CONCEDIDO"),
            // SERVIU reads (pull) only.
            ("minvu", json!({"tipos": ["ficha_reemplazada"], "entrega": "push", "url": "https://serviu.example/eventos"}), 403, "ENTREGA_NO_CONCEDIDA"),
            // Push only to the agreement's callbacks.
            ("ips", json!({"tipos": ["defuncion"], "entrega": "push", "url": "https://otro.example/eventos"}), 403, "CALLBACK_NO_PERMITIDO"),
            // IPS has no max_runs: no lists.
            ("ips", json!({"tipos": ["defuncion"], "entrega": "pull", "runs": [persona(1_000_001).to_string()]}), 413, "LISTA_EXCEDIDA"),
            ("ips", json!({"tipos": ["defunciones"], "entrega": "pull"}), 400, "SUSCRIPCION_INVALIDA"),
            ("ips", json!({"tipos": ["defuncion"], "entrega": "pull", "url": "https://notificaciones.ips.gob.cl/siis/eventos"}), 400, "SUSCRIPCION_INVALIDA"),
            ("minvu", json!({"tipos": ["ficha_reemplazada"], "entrega": "pull", "runs": ["12.345.678-9"]}), 400, "SUSCRIPCION_INVALIDA"),
            // Not granted Suscripciones at all.
            ("bbnn", json!({"tipos": ["defuncion"], "entrega": "pull"}), 403, "NO_AUTORIZADO"),
        ];
        for (convenio, body, status, code) in cases {
            let (got, answer) = suscribir(&node, convenio, body.clone()).await;
            assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{convenio} {body}: {answer}");
        }
        let (got, answer) = suscribir(&node, "minvu", json!({"tipos": ["ficha_reemplazada"], "entrega": "pull", "runs": ["12.345.678-9"]})).await;
        assert_eq!((got, answer["campo"].as_str()), (400, Some("runs[0]")), "{answer}");
        // Nothing was stored by any refusal.
        let listed: Value = node.client(Some("ips")).get(node.agency_url("/api/v1/suscripciones")).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed, json!({"suscripciones": []}));
        // The push URL the grant lists is accepted.
        let (got, answer) = suscribir(&node, "ips", json!({"tipos": ["defuncion"], "entrega": "push", "url": "https://notificaciones.ips.gob.cl/siis/eventos"})).await;
        assert_eq!(got, 201, "{answer}");
        node.stop().await;
    }
);

per_backend!(
    async fn another_comunas_events_are_never_fanned_out_nor_read(backend) {
        let node = TestNode::start(backend).await;
        let santiago = pull(&node, "muni-13101", json!({"tipos": ["defuncion", "nacimiento"], "entrega": "pull"})).await;
        let valparaiso = pull(&node, "muni-05101", json!({"tipos": ["defuncion"], "entrega": "pull"})).await;
        let ids = registrar(
            &node,
            &[
                defuncion(2_000_001, "05101"),
                defuncion(2_000_002, "13101"),
                // A person without a household: no comuna sees it.
                Evento { cut: None, ..defuncion(2_000_003, "13101") },
            ],
        )
        .await;
        let (status, page) = leer(&node, "muni-13101", &santiago, 0, 20).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(vistos(&page), [(1, persona(2_000_002).to_string())]);
        assert_eq!(page["hasta"], 1);
        let (_, page) = leer(&node, "muni-05101", &valparaiso, 0, 20).await;
        assert_eq!(vistos(&page), [(1, persona(2_000_001).to_string())]);
        // Not even a row: no count, no gap in the sequence tells of the other comuna.
        let filas: Vec<(String, i64)> = entregas::table
            .select((entregas::suscripcion_id, entregas::evento_id))
            .order(entregas::evento_id)
            .load(&mut node.db())
            .unwrap();
        assert_eq!(filas, [(valparaiso.clone(), ids[0]), (santiago.clone(), ids[1])]);
        node.stop().await;
    }
);

per_backend!(
    async fn a_run_list_takes_its_persons_events_and_is_audited(backend) {
        let node = TestNode::start(backend).await;
        let (madre, otro, hijo) = (persona(3_000_001), persona(3_000_002), persona(3_000_003));
        let id = pull(
            &node,
            "muni-13101",
            json!({"tipos": ["defuncion", "nacimiento"], "entrega": "pull", "runs": [madre.to_string()]}),
        )
        .await;
        registrar(
            &node,
            &[
                defuncion(3_000_002, "13101"),
                Evento {
                    run_relacionado: Some(madre),
                    ..Evento::new("nacimiento", hijo, "13101", json!({"fechaNacimiento": "2026-11-29", "sexo": "F"}))
                },
                defuncion(3_000_001, "13101"),
            ],
        )
        .await;
        let (_, page) = leer(&node, "muni-13101", &id, 0, 20).await;
        assert_eq!(vistos(&page), [(1, hijo.to_string()), (2, madre.to_string())]);
        assert_eq!(page["notificaciones"][0]["runRelacionado"], madre.to_string());
        // Subscribing named the mother: her access report says who watches her; the other
        // person's says nothing.
        let report = access_report(&node, madre).await;
        let ops: Vec<&str> = report["accesos"].as_array().unwrap().iter().filter(|a| a["convenio"] == "muni-13101").filter_map(|a| a["operacion"].as_str()).collect();
        assert_eq!(ops.len(), 2, "the subscription and the read: {report}");
        assert!(ops.iter().all(|o| *o == "Suscripciones"), "{report}");
        let report = access_report(&node, otro).await;
        assert_eq!(report["accesos"], json!([]), "{report}");
        node.stop().await;
    }
);

per_backend!(
    async fn the_cursor_repeats_nothing_and_skips_nothing_across_a_restart(backend) {
        let node = TestNode::start(backend).await;
        let id = pull(&node, "ips", json!({"tipos": ["defuncion"], "entrega": "pull"})).await;
        registrar(&node, &(1..=5).map(|n| defuncion(4_000_000 + n, "13101")).collect::<Vec<_>>()).await;
        let mut seen = Vec::new();
        let (_, page) = leer(&node, "ips", &id, 0, 2).await;
        assert_eq!(page["hasta"], 2);
        seen.extend(vistos(&page));
        // The same cursor again: the same page (a lost answer is read again).
        let (_, again) = leer(&node, "ips", &id, 0, 2).await;
        assert_eq!(vistos(&again), vistos(&page));
        let (_, page) = leer(&node, "ips", &id, 2, 2).await;
        seen.extend(vistos(&page));
        let node = node.restart().await;
        registrar(&node, &(6..=7).map(|n| defuncion(4_000_000 + n, "05101")).collect::<Vec<_>>()).await;
        let (_, page) = leer(&node, "ips", &id, 4, 10).await;
        assert_eq!(page["hasta"], 7);
        seen.extend(vistos(&page));
        let (_, page) = leer(&node, "ips", &id, 7, 10).await;
        assert_eq!((page["hasta"].as_i64(), vistos(&page)), (Some(7), vec![]));
        let expected: Vec<(i64, String)> = (1..=7).map(|n| (n, persona(4_000_000 + n as u32).to_string())).collect();
        assert_eq!(seen, expected);
        // Projected onto IPS's grant: no comuna, no birth fields.
        let (_, page) = leer(&node, "ips", &id, 0, 1).await;
        let n = &page["notificaciones"][0];
        let mut keys: Vec<&str> = n.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["fechaDefuncion", "id", "registrado", "run", "secuencia", "suscripcion", "tipo"]);
        node.stop().await;
    }
);

per_backend!(
    async fn a_read_is_charged_its_limit_and_audited_naming_each_person(backend) {
        let node = TestNode::start(backend).await;
        let id = pull(&node, "ips", json!({"tipos": ["defuncion"], "entrega": "pull"})).await;
        registrar(&node, &[defuncion(5_000_001, "13101"), defuncion(5_000_002, "13101")]).await;
        let (status, page) = leer(&node, "ips", &id, 0, 10).await;
        assert_eq!((status, vistos(&page).len()), (200, 2));
        for numero in [5_000_001, 5_000_002] {
            let report = access_report(&node, persona(numero)).await;
            let accesos: Vec<&Value> = report["accesos"].as_array().unwrap().iter().filter(|a| a["convenio"] == "ips").collect();
            assert_eq!(accesos.len(), 1, "{report}");
            assert_eq!(accesos[0]["operacion"], "Suscripciones");
            assert!(accesos[0]["campos"].as_array().unwrap().contains(&json!("fechaDefuncion")), "{report}");
        }
        // More than the burst (IPS: 200) is never read at once.
        let (status, answer) = leer(&node, "ips", &id, 0, 201).await;
        assert_eq!((status, answer["code"].as_str()), (413, Some("LOTE_SUPERA_RAFAGA")), "{answer}");
        let (status, answer) = leer(&node, "ips", &id, 0, 501).await;
        assert_eq!((status, answer["code"].as_str()), (400, Some("CURSOR_INVALIDO")), "{answer}");
        let (status, answer) = leer(&node, "ips", &id, -1, 10).await;
        assert_eq!((status, answer["code"].as_str()), (400, Some("CURSOR_INVALIDO")), "{answer}");
        node.stop().await;
    }
);

per_backend!(
    async fn closing_stops_the_subscription_and_revokes_what_was_not_read(backend) {
        let node = TestNode::start(backend).await;
        let id = pull(&node, "ips", json!({"tipos": ["defuncion"], "entrega": "pull"})).await;
        registrar(&node, &[defuncion(6_000_001, "13101"), defuncion(6_000_002, "13101")]).await;
        let (_, page) = leer(&node, "ips", &id, 0, 1).await;
        assert_eq!(vistos(&page).len(), 1);
        let borrar = || node.client(Some("ips")).delete(node.agency_url(&format!("/api/v1/suscripciones/{id}"))).send();
        let r = borrar().await.unwrap();
        assert_eq!(r.status(), 200);
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["estado"], "cerrada");
        registrar(&node, &[defuncion(6_000_003, "13101")]).await;
        let estados: Vec<(i64, String)> = entregas::table
            .filter(entregas::suscripcion_id.eq(&id))
            .select((entregas::secuencia, entregas::estado))
            .order(entregas::secuencia)
            .load(&mut node.db())
            .unwrap();
        assert_eq!(estados, [(1, "entregada".to_owned()), (2, "revocada".to_owned())]);
        let (status, answer) = leer(&node, "ips", &id, 1, 10).await;
        assert_eq!((status, answer["code"].as_str()), (409, Some("SUSCRIPCION_CERRADA")));
        let r = borrar().await.unwrap();
        assert_eq!(r.status(), 409);
        let listed: Value = node.client(Some("ips")).get(node.agency_url("/api/v1/suscripciones")).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed["suscripciones"][0]["estado"], "cerrada");
        assert_eq!(listed["suscripciones"][0]["ultimaSecuencia"], 2);
        node.stop().await;
    }
);

per_backend!(
    async fn another_agreements_subscription_is_answered_as_an_unknown_one(backend) {
        let node = TestNode::start(backend).await;
        let id = pull(&node, "muni-13101", json!({"tipos": ["defuncion"], "entrega": "pull"})).await;
        registrar(&node, &[defuncion(7_000_001, "13101")]).await;
        let otro = "0b5f6c1e-8d43-4a57-9a39-5d3c1f4e2a10";
        for (path, method) in [("", "DELETE"), ("/eventos", "GET")] {
            let mut answers = Vec::new();
            for target in [id.as_str(), otro, "no-es-un-id"] {
                let url = node.agency_url(&format!("/api/v1/suscripciones/{target}{path}"));
                let client = node.client(Some("muni-05101"));
                let r = match method {
                    "DELETE" => client.delete(url),
                    _ => client.get(url),
                }
                .send()
                .await
                .unwrap();
                let status = r.status().as_u16();
                let body: Value = r.json().await.unwrap();
                answers.push((status, body["code"].clone(), body["detail"].clone()));
            }
            assert_eq!(answers[0].0, 404, "{answers:?}");
            assert!(answers.iter().all(|a| *a == answers[0]), "{method} {path}: {answers:?}");
        }
        let listed: Value = node.client(Some("muni-05101")).get(node.agency_url("/api/v1/suscripciones")).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed, json!({"suscripciones": []}));
        // Still open and unread for its own agreement.
        let (status, page) = leer(&node, "muni-13101", &id, 0, 10).await;
        assert_eq!((status, vistos(&page).len()), (200, 1));
        node.stop().await;
    }
);

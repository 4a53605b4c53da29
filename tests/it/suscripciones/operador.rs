//! The operator's side of push deliveries: dead letters (set by SQL here, as the worker sets
//! them) listed without a RUN, replayed with their keys, discarded to release the person's
//! queue; bad selections refused with nothing changed; each decision audited.

use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::schema::{auditoria, entregas};

use super::outbox::registrar;
use super::{defuncion, persona, suscribir};
use crate::per_backend;
use crate::support::{Backend, Setup, TestNode};

const CALLBACK: &str = "https://notificaciones.ips.gob.cl/siis/eventos";

/// A node whose push worker does not run (its client certificate cannot be read, so push is
/// not started: docs/eventos.md): the test alone sets the entregas' states, and a worker
/// claiming them meanwhile (the callback is unreachable) would race its assertions.
async fn sin_envios(backend: Backend) -> TestNode {
    TestNode::start_with(
        backend,
        Setup {
            configure: Some(Box::new(|config| {
                config.notificaciones.certificado = Some("/nonexistent/nodo.pem".into());
            })),
            ..Setup::default()
        },
    )
    .await
}

/// An IPS push subscription with deaths of persons 1, 1, 2, 3 (secuencias 1 to 4): the
/// first of person 1 and person 2's dead, person 3's delivered.
async fn con_muertas(node: &TestNode, base: u32) -> String {
    let (status, answer) = suscribir(
        node,
        "ips",
        json!({"tipos": ["defuncion"], "entrega": "push", "url": CALLBACK}),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let id = answer["id"].as_str().unwrap().to_owned();
    registrar(
        node,
        &[
            defuncion(base + 1, "13101"),
            defuncion(base + 1, "13101"),
            defuncion(base + 2, "13101"),
            defuncion(base + 3, "13101"),
        ],
    )
    .await;
    let mut conn = node.db();
    for secuencia in [1, 3] {
        diesel::update(entregas::table.find((&id, secuencia)))
            .set((
                entregas::estado.eq("muerta"),
                entregas::intentos.eq(8),
                entregas::ultimo_error.eq("HTTP 503"),
                entregas::estado_http.eq(503),
            ))
            .execute(&mut conn)
            .unwrap();
    }
    diesel::update(entregas::table.find((&id, 4)))
        .set(entregas::estado.eq("entregada"))
        .execute(&mut conn)
        .unwrap();
    id
}

/// Every row of a subscription: (secuencia, evento_id, estado, intentos).
fn filas(node: &TestNode, id: &str) -> Vec<(i64, i64, String, i32)> {
    entregas::table
        .filter(entregas::suscripcion_id.eq(id))
        .order(entregas::secuencia)
        .select((
            entregas::secuencia,
            entregas::evento_id,
            entregas::estado,
            entregas::intentos,
        ))
        .load(&mut node.db())
        .unwrap()
}

fn auditados(node: &TestNode) -> i64 {
    auditoria::table.count().get_result(&mut node.db()).unwrap()
}

async fn admin_get(node: &TestNode, query: &str) -> (u16, Value) {
    let r = node
        .client(None)
        .get(node.admin_url(&format!("/admin/entregas{query}")))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn admin_post(node: &TestNode, accion: &str, body: Value) -> (u16, Value) {
    let r = node
        .client(None)
        .post(node.admin_url(&format!("/admin/entregas/{accion}")))
        .json(&body)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// No form of these persons' RUNs appears in `text`.
fn sin_runs(text: &str, base: u32) {
    for n in 1..=3 {
        let run = persona(base + n);
        for form in [run.to_string(), run.numero().to_string()] {
            assert!(!text.contains(&form), "{form} in {text}");
        }
    }
}

/// Runs `siis` against the node's registry with its admin listener's address.
fn siis(node: &TestNode, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_siis"))
        .env_clear()
        .env("SIIS__DATABASE__URL", node.database_url())
        .env("SIIS__LISTEN__ADMIN", node.node.admin.to_string())
        .args(args)
        .output()
        .expect("run siis")
}

per_backend!(
    async fn dead_letters_are_listed_without_a_run_and_replayed_with_their_keys(backend) {
        let node = sin_envios(backend).await;
        let base = 8_100_000;
        let id = con_muertas(&node, base).await;
        let (status, listado) = admin_get(&node, "?estado=muerta").await;
        assert_eq!(status, 200, "{listado}");
        assert_eq!(
            listado["cuentas"],
            json!([{"convenio": "ips", "suscripcion": id, "estado": "muerta", "entregas": 2}])
        );
        let muertas: Vec<(i64, i64)> = listado["muertas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["secuencia"].as_i64().unwrap(), m["detras"].as_i64().unwrap()))
            .collect();
        // Person 1's second death waits behind the first; person 2 has nothing behind.
        assert_eq!(muertas, [(1, 1), (3, 0)]);
        assert_eq!(listado["muertas"][0]["ultimo_error"], "HTTP 503");
        assert_eq!(listado["muertas"][0]["estado_http"], 503);
        assert_eq!(listado["muertas"][0]["intentos"], 8);
        sin_runs(&listado.to_string(), base);
        let (_, todo) = admin_get(&node, "").await;
        let estados: Vec<(&str, i64)> = todo["cuentas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["estado"].as_str().unwrap(), c["entregas"].as_i64().unwrap()))
            .collect();
        assert_eq!(estados, [("entregada", 1), ("muerta", 2), ("pendiente", 1)]);
        let out = siis(&node, &["entregas", "listar", "--convenio", "ips"]);
        let texto = crate::support::succeeded(&out);
        assert!(texto.contains("muerta") && texto.contains("HTTP 503"), "{texto}");
        sin_runs(&texto, base);

        let antes = filas(&node, &id);
        let registros = auditados(&node);
        let desde = chrono::Utc::now().timestamp_micros();
        let (status, answer) = admin_post(
            &node,
            "reintentar",
            json!({"suscripcion": id, "motivo": "receptor reparado"}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
        assert_eq!((answer["entregas"].as_u64(), answer["estado"].as_str()), (Some(2), Some("pendiente")));
        let despues = filas(&node, &id);
        // Same secuencias and events (so the same idempotency keys), back to pendiente at 0.
        for (a, d) in antes.iter().zip(&despues) {
            assert_eq!((a.0, a.1), (d.0, d.1));
        }
        let estados: Vec<(&str, i32)> = despues.iter().map(|f| (f.2.as_str(), f.3)).collect();
        assert_eq!(estados, [("pendiente", 0), ("pendiente", 0), ("pendiente", 0), ("entregada", 0)]);
        let (proximo, lease): (i64, Option<i64>) = entregas::table
            .find((&id, 1))
            .select((entregas::proximo_us, entregas::lease_us))
            .first(&mut node.db())
            .unwrap();
        assert!(proximo >= desde && lease.is_none());
        // One audit record: the decision, its agreement and reason, no person, no quota.
        assert_eq!(auditados(&node), registros + 1);
        let (convenio, operacion, transporte, sujetos, personas, proposito): (
            Option<String>,
            String,
            String,
            String,
            Option<i64>,
            Option<String>,
        ) = auditoria::table
            .order(auditoria::id.desc())
            .select((
                auditoria::convenio,
                auditoria::operacion,
                auditoria::transporte,
                auditoria::sujetos,
                auditoria::personas,
                auditoria::proposito,
            ))
            .first(&mut node.db())
            .unwrap();
        assert_eq!(
            (convenio.as_deref(), operacion.as_str(), transporte.as_str(), sujetos.as_str(), personas),
            (Some("ips"), "ReintentarEntregas", "admin", "", Some(0))
        );
        let proposito = proposito.unwrap();
        assert!(proposito.contains(&id) && proposito.contains("motivo: receptor reparado"), "{proposito}");
        assert_eq!(answer["registro"].as_i64(), Some(registros + 1));
        // Nothing dead any more: a second replay changes nothing and records nothing.
        let (status, answer) = admin_post(&node, "reintentar", json!({"convenio": "ips"})).await;
        assert_eq!((status, answer["entregas"].as_u64(), &answer["registro"]), (200, Some(0), &Value::Null));
        assert_eq!(auditados(&node), registros + 1);
        node.stop().await;
    }
);

/// Whether entrega `secuencia` of `id` waits for an earlier one of the same person (the
/// worker's order rule: pendiente, en_curso or muerta hold the person's later rows).
fn retenida(node: &TestNode, id: &str, secuencia: i64) -> bool {
    let mut conn = node.db();
    let run: i32 = entregas::table
        .find((id, secuencia))
        .select(entregas::run)
        .first(&mut conn)
        .unwrap();
    let antes: i64 = entregas::table
        .filter(entregas::suscripcion_id.eq(id))
        .filter(entregas::run.eq(run))
        .filter(entregas::secuencia.lt(secuencia))
        .filter(entregas::estado.eq_any(["pendiente", "en_curso", "muerta"]))
        .count()
        .get_result(&mut conn)
        .unwrap();
    antes > 0
}

per_backend!(
    async fn discarding_a_dead_letter_releases_the_persons_queue(backend) {
        let node = sin_envios(backend).await;
        let id = con_muertas(&node, 8_200_000).await;
        assert!(retenida(&node, &id, 2));
        // The row behind is not a dead letter: refused, nothing changed.
        let antes = filas(&node, &id);
        let (status, answer) = admin_post(&node, "descartar", json!({"secuencia": format!("{id}:2")})).await;
        assert_eq!((status, answer["code"].as_str()), (409, Some("ENTREGA_NO_MUERTA")), "{answer}");
        assert_eq!(filas(&node, &id), antes);
        let out = siis(&node, &["entregas", "descartar", "--secuencia", &format!("{id}:1"), "--motivo", "persona ya informada"]);
        let texto = crate::support::succeeded(&out);
        assert!(texto.contains("1 dead letter(s) now descartada"), "{texto}");
        let estados: Vec<String> = filas(&node, &id).into_iter().map(|f| f.2).collect();
        assert_eq!(estados, ["descartada", "pendiente", "muerta", "entregada"]);
        assert!(!retenida(&node, &id, 2), "person 1's second death goes on");
        let (_, listado) = admin_get(&node, &format!("?suscripcion={id}&estado=muerta")).await;
        assert_eq!(listado["muertas"].as_array().unwrap().len(), 1);
        assert_eq!(listado["muertas"][0]["secuencia"], 3);
        let operacion: String = auditoria::table
            .order(auditoria::id.desc())
            .select(auditoria::operacion)
            .first(&mut node.db())
            .unwrap();
        assert_eq!(operacion, "DescartarEntregas");
        node.stop().await;
    }
);

per_backend!(
    async fn bad_selections_are_refused_and_change_nothing(backend) {
        let node = sin_envios(backend).await;
        let id = con_muertas(&node, 8_300_000).await;
        let otro = "0b5f6c1e-8d43-4a57-9a39-5d3c1f4e2a10";
        let antes = filas(&node, &id);
        let registros = auditados(&node);
        let cases = [
            (json!({}), 400, "SELECCION_INVALIDA"),
            (json!({"suscripcion": id, "convenio": "ips"}), 400, "SELECCION_INVALIDA"),
            (json!({"convenio": "ips", "desde": 2}), 400, "SELECCION_INVALIDA"),
            (json!({"suscripcion": "no-es-un-id"}), 400, "SELECCION_INVALIDA"),
            (json!({"secuencia": format!("{id}:cero")}), 400, "SELECCION_INVALIDA"),
            (json!({"convenio": "ips", "runs": ["1-9"]}), 400, "SELECCION_INVALIDA"),
            (json!({"suscripcion": otro}), 404, "NO_ENCONTRADO"),
            (json!({"secuencia": format!("{id}:99")}), 404, "NO_ENCONTRADO"),
            (json!({"convenio": "minvu"}), 404, "NO_ENCONTRADO"),
        ];
        for accion in ["reintentar", "descartar"] {
            for (body, status, code) in &cases {
                let (got, answer) = admin_post(&node, accion, body.clone()).await;
                assert_eq!((got, answer["code"].as_str()), (*status, Some(*code)), "{accion} {body}: {answer}");
            }
        }
        for query in ["?estado=perdida", "?suscripcion=no-es-un-id", "?limite=5000", "?otro=1"] {
            let (got, answer) = admin_get(&node, query).await;
            assert_eq!((got, answer["code"].as_str()), (400, Some("SELECCION_INVALIDA")), "{query}: {answer}");
        }
        let (got, _) = admin_get(&node, &format!("?suscripcion={otro}")).await;
        assert_eq!(got, 404);
        assert_eq!(filas(&node, &id), antes);
        assert_eq!(auditados(&node), registros);
        // A closed subscription's dead letters are not sent again (they may be discarded).
        let r = node.client(Some("ips")).delete(node.agency_url(&format!("/api/v1/suscripciones/{id}"))).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let cerrada = filas(&node, &id);
        let registros = auditados(&node);
        let (got, answer) = admin_post(&node, "reintentar", json!({"suscripcion": id})).await;
        assert_eq!((got, answer["code"].as_str()), (409, Some("SUSCRIPCION_CERRADA")), "{answer}");
        let (got, answer) = admin_post(&node, "reintentar", json!({"convenio": "ips"})).await;
        assert_eq!((got, answer["entregas"].as_u64()), (200, Some(0)), "{answer}");
        assert_eq!(filas(&node, &id), cerrada);
        assert_eq!(cerrada.iter().filter(|f| f.2 == "muerta").count(), 2, "{cerrada:?}");
        assert_eq!(auditados(&node), registros);
        // The command: usage mistakes exit 2 before asking anyone, a node that does not
        // answer 3, a conflict 1.
        let code = |args: &[&str]| siis(&node, args).status.code();
        assert_eq!(code(&["entregas", "reintentar", "--convenio", "ips", "--suscripcion", &id]), Some(2));
        assert_eq!(code(&["entregas", "reintentar", "--desde", "2"]), Some(2));
        assert_eq!(code(&["entregas", "reintentar", "--suscripcion", "no-es-un-id"]), Some(2));
        assert_eq!(code(&["entregas", "listar", "--estado", "perdida"]), Some(2));
        assert_eq!(code(&["entregas", "descartar", "--suscripcion", otro]), Some(2));
        assert_eq!(code(&["entregas", "reintentar", "--suscripcion", &id]), Some(1));
        assert_eq!(code(&["entregas", "reintentar", "--convenio", "ips", "--admin", "http://127.0.0.1:9"]), Some(3));
        assert_eq!(filas(&node, &id), cerrada);
        assert_eq!(auditados(&node), registros);
        node.stop().await;
    }
);

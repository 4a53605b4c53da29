//! Survey requests (SolicitarEncuestaje, TrabajarEncuestaje) over REST: an agency asks, the
//! municipality of the comuna works the request through its states, the survey becomes the
//! household's ficha; every refusal has its code and changes nothing; every request is audited
//! with the RUN it concerned.

use chrono::{Days, NaiveDate};
use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::schema::{encuestaje_eventos, encuestajes, fichas, integrantes};
use siis::domain::Run;

use crate::registry;
use crate::soap::{audit_after, last_audit_id};
use crate::support::{Backend, Setup, TestNode, backends};

const PERSONS: u64 = 3_000;

async fn node(backend: Backend) -> TestNode {
    TestNode::start_with(
        backend,
        Setup {
            persons: PERSONS,
            ..Setup::default()
        },
    )
    .await
}

/// `n` living persons whose household has no ficha, in RUN order.
fn sin_ficha(node: &TestNode, n: usize) -> Vec<Run> {
    use siis::db::schema::personas;
    let mut conn = node.db();
    let with: Vec<i64> = fichas::table
        .filter(fichas::estado.eq("vigente"))
        .select(fichas::hogar_id)
        .load(&mut conn)
        .unwrap();
    let runs: Vec<i32> = integrantes::table
        .inner_join(personas::table)
        .filter(personas::fecha_defuncion.is_null())
        .filter(integrantes::hogar_id.ne_all(with))
        .select(personas::run)
        .order(personas::run)
        .limit(n as i64)
        .load(&mut conn)
        .unwrap();
    assert_eq!(
        runs.len(),
        n,
        "the seeded registry has {n} persons without ficha"
    );
    runs.into_iter()
        .map(|r| Run::from_numero(r as u32).unwrap())
        .collect()
}

/// Status, stable code (errors) and body of a response.
async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

async fn solicitar(node: &TestNode, agreement: &str, body: Value) -> (u16, Value) {
    read(
        node.client(Some(agreement))
            .post(node.agency_url("/api/v1/encuestajes"))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn seguir(node: &TestNode, agreement: &str, id: &str) -> (u16, Value) {
    read(
        node.client(Some(agreement))
            .get(node.agency_url(&format!("/api/v1/encuestajes/{id}")))
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn evento(node: &TestNode, agreement: &str, id: &str, body: Value) -> (u16, Value) {
    read(
        node.client(Some(agreement))
            .post(node.agency_url(&format!("/api/v1/encuestajes/{id}/eventos")))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn cola(node: &TestNode, agreement: &str, cut: &str, query: &str) -> (u16, Value) {
    read(
        node.client(Some(agreement))
            .get(node.agency_url(&format!("/api/v1/municipios/{cut}/encuestajes{query}")))
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Today in Chile, as the node dates requests.
fn hoy() -> NaiveDate {
    siis::broker::local_today()
}

fn programar(dias: u64) -> Value {
    json!({ "evento": "programar_visita", "fechaVisita": hoy() + Days::new(dias) })
}

fn encuestar(puntaje: i64) -> Value {
    json!({ "evento": "encuestar", "puntaje": puntaje, "fechaAplicacion": hoy() })
}

/// A new request by minvu for `run`, routed to Santiago (13101); returns its id.
async fn nueva(node: &TestNode, run: Run) -> String {
    let (status, body) = solicitar(
        node,
        "minvu",
        json!({ "run": run.to_string(), "comuna": "13101" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

/// The stored state of a request (estado, version) and how many events it has.
fn stored(node: &TestNode, id: &str) -> (String, i32, i64) {
    let mut conn = node.db();
    let (estado, version): (String, i32) = encuestajes::table
        .find(id)
        .select((encuestajes::estado, encuestajes::version))
        .first(&mut conn)
        .unwrap();
    let events: i64 = encuestaje_eventos::table
        .filter(encuestaje_eventos::encuestaje_id.eq(id))
        .count()
        .get_result(&mut conn)
        .unwrap();
    (estado, version, events)
}

fn requests(node: &TestNode) -> i64 {
    encuestajes::table
        .count()
        .get_result(&mut node.db())
        .unwrap()
}

#[tokio::test]
async fn a_request_goes_from_agency_to_municipality_to_a_new_ficha() {
    for backend in backends() {
        let node = node(backend).await;
        let run = sin_ficha(&node, 1)[0];
        let before = last_audit_id(&node);

        let (status, created) = solicitar(
            &node,
            "minvu",
            json!({ "run": run.dotted(), "comuna": "13101" }),
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!(created["estado"], "solicitada");
        assert_eq!(created["run"], run.to_string());
        assert_eq!(
            created["comuna"],
            json!({ "codigo": "13101", "nombre": "SANTIAGO" })
        );
        assert_eq!(created["fechaSolicitud"], json!(hoy()));
        assert_eq!(
            created["fechaVencimiento"],
            json!(hoy() + Days::new(30)),
            "due 30 calendar days later, Chile time"
        );
        assert!(created.get("solicitante").is_none(), "not in minvu's grant");

        // The agency follows its request.
        let (status, seen) = seguir(&node, "minvu", &id).await;
        assert_eq!((status, &seen), (200, &created));

        // The municipality sees it in its queue, with who asked.
        let (status, queue) = cola(&node, "muni-13101", "13101", "?estado=solicitada").await;
        assert_eq!(status, 200, "{queue}");
        assert_eq!(queue["total"], 1);
        assert_eq!(queue["encuestajes"][0]["id"], id.as_str());
        assert_eq!(queue["encuestajes"][0]["solicitante"], "minvu");

        // solicitada → visita_programada → visita_fallida → visita_programada → encuestada.
        let (status, r) = evento(&node, "muni-13101", &id, programar(3)).await;
        assert_eq!(
            (status, r["estado"].as_str()),
            (200, Some("visita_programada")),
            "{r}"
        );
        assert_eq!(r["fechaVisita"], json!(hoy() + Days::new(3)));
        let (status, r) = evento(
            &node,
            "muni-13101",
            &id,
            json!({ "evento": "visita_fallida", "motivo": "nadie en el domicilio" }),
        )
        .await;
        assert_eq!(
            (status, r["estado"].as_str()),
            (200, Some("visita_fallida")),
            "{r}"
        );
        assert_eq!(r["visitasFallidas"], 1);
        let (status, r) = evento(&node, "muni-13101", &id, programar(5)).await;
        assert_eq!(
            (status, r["estado"].as_str()),
            (200, Some("visita_programada")),
            "{r}"
        );
        let (status, r) = evento(&node, "muni-13101", &id, encuestar(8_123)).await;
        assert_eq!(
            (status, r["estado"].as_str()),
            (200, Some("encuestada")),
            "{r}"
        );
        assert_eq!(
            (r["puntaje"].as_u64(), r["quintil"].as_u64()),
            (Some(8_123), Some(1))
        );
        let folio = r["folio"].as_i64().expect("the new ficha's folio");

        // The survey is now the household's ficha in force, in the surveyed comuna.
        let (status, ficha) = read(
            node.client(Some("minvu"))
                .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{ficha}");
        assert_eq!(
            (
                ficha["folio"].as_i64(),
                ficha["puntaje"].as_u64(),
                ficha["quintil"].as_u64(),
                ficha["estado"].as_str(),
                ficha["comuna"]["codigo"].as_str(),
            ),
            (
                Some(folio),
                Some(8_123),
                Some(1),
                Some("vigente"),
                Some("13101")
            )
        );
        assert_eq!(ficha["fechaAplicacion"], json!(hoy()));

        // The agency sees the outcome, but not the score (not in its SolicitarEncuestaje grant).
        let (_, seen) = seguir(&node, "minvu", &id).await;
        assert_eq!(
            (seen["estado"].as_str(), seen["folio"].as_i64()),
            (Some("encuestada"), Some(folio))
        );
        assert!(seen.get("puntaje").is_none());

        // Nothing left to ask for: the person has a ficha in force.
        let (status, body) = solicitar(&node, "ips", json!({ "run": run.to_string() })).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("FICHA_VIGENTE"))
        );

        assert_eq!(stored(&node, &id), ("encuestada".into(), 4, 5));

        // Every request was audited with the RUN it concerned.
        let audit = audit_after(&node, before);
        let ops: Vec<(&str, &str, &str)> = audit
            .iter()
            .map(|a| {
                (
                    a.operacion.as_str(),
                    a.resultado.as_str(),
                    a.sujetos.as_str(),
                )
            })
            .collect();
        let r = run.to_string();
        let r = r.as_str();
        assert_eq!(
            ops,
            [
                ("SolicitarEncuestaje", "OK", r),
                ("SolicitarEncuestaje", "OK", r),
                ("TrabajarEncuestaje", "OK", r),
                ("TrabajarEncuestaje", "OK", r),
                ("TrabajarEncuestaje", "OK", r),
                ("TrabajarEncuestaje", "OK", r),
                ("TrabajarEncuestaje", "OK", r),
                ("ConsultarFichaFPS", "OK", r),
                ("SolicitarEncuestaje", "OK", r),
                ("SolicitarEncuestaje", "FICHA_VIGENTE", r),
            ]
        );
        assert_eq!(audit[0].convenio.as_deref(), Some("minvu"));
        assert_eq!(audit[2].convenio.as_deref(), Some("muni-13101"));
        assert!(
            audit[2].campos.contains("solicitante"),
            "{}",
            audit[2].campos
        );
        node.stop().await;
    }
}

#[tokio::test]
async fn a_request_without_comuna_goes_to_the_last_known_one() {
    for backend in backends() {
        let node = node(backend).await;
        let run = sin_ficha(&node, 1)[0];
        let (status, body) = solicitar(&node, "orasmi", json!({ "run": run.to_string() })).await;
        assert_eq!(status, 201, "{body}");
        let hogar_cut: String = {
            use siis::db::schema::hogares;
            integrantes::table
                .inner_join(hogares::table)
                .filter(integrantes::run.eq(run.numero() as i32))
                .select(hogares::cut)
                .first(&mut node.db())
                .unwrap()
        };
        assert_eq!(body["comuna"]["codigo"], hogar_cut.as_str());
        node.stop().await;
    }
}

#[tokio::test]
async fn transitions_the_state_machine_refuses_change_nothing() {
    for backend in backends() {
        let node = node(backend).await;
        let runs = sin_ficha(&node, 3);
        let muni = "muni-13101";
        let refused = |(status, body): (u16, Value), code: &str| {
            assert_eq!((status, body["code"].as_str()), (409, Some(code)), "{body}");
        };

        // solicitada: no failed visit, no survey before a visit.
        let id = nueva(&node, runs[0]).await;
        for body in [json!({ "evento": "visita_fallida" }), encuestar(9_000)] {
            refused(
                evento(&node, muni, &id, body).await,
                "TRANSICION_NO_PERMITIDA",
            );
        }
        assert_eq!(stored(&node, &id), ("solicitada".into(), 0, 1));

        // visita_programada: not scheduled twice.
        assert_eq!(evento(&node, muni, &id, programar(1)).await.0, 200);
        refused(
            evento(&node, muni, &id, programar(2)).await,
            "TRANSICION_NO_PERMITIDA",
        );
        assert_eq!(stored(&node, &id), ("visita_programada".into(), 1, 2));

        // Two failed visits at most: the third is refused, and so is a third visit.
        assert_eq!(
            evento(&node, muni, &id, json!({ "evento": "visita_fallida" }))
                .await
                .0,
            200
        );
        refused(
            evento(&node, muni, &id, json!({ "evento": "visita_fallida" })).await,
            "TRANSICION_NO_PERMITIDA",
        );
        assert_eq!(evento(&node, muni, &id, programar(1)).await.0, 200);
        assert_eq!(
            evento(&node, muni, &id, json!({ "evento": "visita_fallida" }))
                .await
                .0,
            200
        );
        assert_eq!(stored(&node, &id), ("visita_fallida".into(), 4, 5));
        refused(
            evento(&node, muni, &id, json!({ "evento": "visita_fallida" })).await,
            "VISITAS_AGOTADAS",
        );
        refused(
            evento(&node, muni, &id, programar(1)).await,
            "VISITAS_AGOTADAS",
        );
        assert_eq!(stored(&node, &id), ("visita_fallida".into(), 4, 5));

        // An annulment needs its reason; then the request is closed for good.
        let (status, body) = evento(&node, muni, &id, json!({ "evento": "anular" })).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("EVENTO_INVALIDO"))
        );
        let (status, body) = evento(
            &node,
            muni,
            &id,
            json!({ "evento": "anular", "motivo": "la persona se mudó fuera del país" }),
        )
        .await;
        assert_eq!(
            (status, body["estado"].as_str()),
            (200, Some("anulada")),
            "{body}"
        );
        for body in [
            programar(1),
            json!({ "evento": "visita_fallida" }),
            encuestar(9_000),
            json!({ "evento": "anular", "motivo": "otra vez" }),
        ] {
            refused(
                evento(&node, muni, &id, body).await,
                "TRANSICION_NO_PERMITIDA",
            );
        }
        assert_eq!(stored(&node, &id), ("anulada".into(), 5, 6));
        let (_, seen) = seguir(&node, "minvu", &id).await;
        assert_eq!(seen["motivoAnulacion"], "la persona se mudó fuera del país");
        assert_eq!(seen["visitasFallidas"], 2);

        // A survey straight after a failed visit (the person came to the office); encuestada
        // is final.
        let id = nueva(&node, runs[1]).await;
        evento(&node, muni, &id, programar(0)).await;
        evento(&node, muni, &id, json!({ "evento": "visita_fallida" })).await;
        let (status, body) = evento(&node, muni, &id, encuestar(15_000)).await;
        assert_eq!((status, body["quintil"].as_u64()), (200, Some(5)), "{body}");
        for body in [
            programar(1),
            json!({ "evento": "visita_fallida" }),
            encuestar(9_000),
            json!({ "evento": "anular", "motivo": "tarde" }),
        ] {
            refused(
                evento(&node, muni, &id, body).await,
                "TRANSICION_NO_PERMITIDA",
            );
        }
        assert_eq!(stored(&node, &id), ("encuestada".into(), 3, 4));

        // Annulled straight from solicitada.
        let id = nueva(&node, runs[2]).await;
        let (status, _) = evento(
            &node,
            muni,
            &id,
            json!({ "evento": "anular", "motivo": "duplicada" }),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(stored(&node, &id), ("anulada".into(), 1, 2));

        // Bad event data: its code, nothing changes.
        let id = nueva(&node, runs[2]).await;
        for body in [
            json!({ "evento": "volar" }),
            json!({ "evento": "programar_visita" }),
            json!({ "evento": "programar_visita", "fechaVisita": hoy() - Days::new(1) }),
            json!({ "evento": "programar_visita", "fechaVisita": hoy(), "puntaje": 1 }),
        ] {
            let (status, r) = evento(&node, muni, &id, body).await;
            assert_eq!(
                (status, r["code"].as_str()),
                (400, Some("EVENTO_INVALIDO")),
                "{r}"
            );
        }
        evento(&node, muni, &id, programar(0)).await;
        for body in [
            json!({ "evento": "encuestar", "puntaje": 20_001, "fechaAplicacion": hoy() }),
            json!({ "evento": "encuestar", "puntaje": 9_000, "fechaAplicacion": hoy() + Days::new(1) }),
            json!({ "evento": "encuestar", "puntaje": 9_000, "fechaAplicacion": hoy() - Days::new(1) }),
            json!({ "evento": "encuestar", "puntaje": 9_000 }),
        ] {
            let (status, r) = evento(&node, muni, &id, body).await;
            assert_eq!(
                (status, r["code"].as_str()),
                (400, Some("EVENTO_INVALIDO")),
                "{r}"
            );
        }
        let (status, r) = evento(
            &node,
            muni,
            &id,
            json!({ "evento": "encuestar", "extra": 1 }),
        )
        .await;
        assert_eq!(
            (status, r["code"].as_str()),
            (400, Some("SOLICITUD_INVALIDA"))
        );
        assert_eq!(stored(&node, &id), ("visita_programada".into(), 1, 2));
        node.stop().await;
    }
}

#[tokio::test]
async fn concurrent_events_on_one_request_apply_once() {
    for backend in backends() {
        let node = node(backend).await;
        let run = sin_ficha(&node, 1)[0];
        let id = nueva(&node, run).await;
        assert_eq!(evento(&node, "muni-13101", &id, programar(0)).await.0, 200);
        let attempts = (0..6).map(|i| {
            let node = &node;
            let id = id.clone();
            async move { evento(node, "muni-13101", &id, encuestar(5_000 + i)).await }
        });
        let outcomes = futures_util::future::join_all(attempts).await;
        let ok: Vec<&Value> = outcomes
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(ok.len(), 1, "{outcomes:?}");
        for (status, body) in outcomes.iter().filter(|(s, _)| *s != 200) {
            assert_eq!(
                (*status, body["code"].as_str()),
                (409, Some("TRANSICION_NO_PERMITIDA"))
            );
        }
        assert_eq!(stored(&node, &id), ("encuestada".into(), 2, 3));
        // One ficha in force for the household, the winner's.
        let hogar: i64 = integrantes::table
            .filter(integrantes::run.eq(run.numero() as i32))
            .select(integrantes::hogar_id)
            .first(&mut node.db())
            .unwrap();
        let vigentes: Vec<i32> = fichas::table
            .filter(fichas::hogar_id.eq(hogar))
            .filter(fichas::estado.eq("vigente"))
            .select(fichas::puntaje)
            .load(&mut node.db())
            .unwrap();
        assert_eq!(vigentes, [ok[0]["puntaje"].as_i64().unwrap() as i32]);

        // Concurrent requests for one person: one is created, the others are refused.
        let other = sin_ficha(&node, 2)[1];
        let asks = ["minvu", "ips", "orasmi", "minvu"].map(|a| {
            let node = &node;
            async move { solicitar(node, a, json!({ "run": other.to_string() })).await }
        });
        let outcomes = futures_util::future::join_all(asks).await;
        let mut statuses: Vec<u16> = outcomes.iter().map(|(s, _)| *s).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409, 409, 409], "{outcomes:?}");
        node.stop().await;
    }
}

#[tokio::test]
async fn a_municipality_works_its_own_comuna_only() {
    for backend in backends() {
        let node = node(backend).await;
        let runs = sin_ficha(&node, 1);
        let id = nueva(&node, runs[0]).await;
        let forbidden = |(status, body): (u16, Value), code: &str| {
            assert_eq!((status, body["code"].as_str()), (403, Some(code)), "{body}");
        };
        forbidden(
            cola(&node, "muni-05101", "13101", "").await,
            "FUERA_DE_AMBITO",
        );
        forbidden(
            evento(&node, "muni-05101", &id, programar(1)).await,
            "FUERA_DE_AMBITO",
        );
        forbidden(
            solicitar(
                &node,
                "muni-05101",
                json!({ "run": runs[0].to_string(), "comuna": "13101" }),
            )
            .await,
            "FUERA_DE_AMBITO",
        );
        // Agencies without the grant cannot work queues; bbnn cannot ask at all.
        forbidden(cola(&node, "minvu", "13101", "").await, "NO_AUTORIZADO");
        forbidden(
            evento(&node, "minvu", &id, programar(1)).await,
            "NO_AUTORIZADO",
        );
        forbidden(
            solicitar(&node, "bbnn", json!({ "run": runs[0].to_string() })).await,
            "NO_AUTORIZADO",
        );
        assert_eq!(stored(&node, &id), ("solicitada".into(), 0, 1));
        assert_eq!(requests(&node), 1);
        // Its own (empty) queue is fine.
        let (status, body) = cola(&node, "muni-05101", "05101", "").await;
        assert_eq!((status, body["total"].as_i64()), (200, Some(0)), "{body}");
        node.stop().await;
    }
}

#[tokio::test]
async fn an_agency_never_sees_another_agencys_request() {
    for backend in backends() {
        let node = node(backend).await;
        let run = sin_ficha(&node, 1)[0];
        let id = nueva(&node, run).await;
        let before = last_audit_id(&node);
        let (status, theirs) = seguir(&node, "ips", &id).await;
        let (_, missing) = seguir(&node, "ips", &uuid_like()).await;
        let (_, malformed) = seguir(&node, "ips", "42").await;
        assert_eq!(
            (status, theirs["code"].as_str()),
            (404, Some("NO_ENCONTRADO"))
        );
        assert_eq!(
            theirs, missing,
            "indistinguishable from a request that does not exist"
        );
        assert_eq!(theirs, malformed);
        let audit = audit_after(&node, before);
        assert_eq!(audit.len(), 3);
        assert!(
            audit
                .iter()
                .all(|a| a.sujetos.is_empty() && a.resultado == "NO_ENCONTRADO")
        );
        node.stop().await;
    }
}

fn uuid_like() -> String {
    "0b5f6c1e-8d43-4a57-9a39-5d3c1f4e2a10".into()
}

#[tokio::test]
async fn bad_requests_get_their_code_and_change_nothing() {
    for backend in backends() {
        let node = node(backend).await;
        let mut conn = node.db();
        let with = registry::with_ficha(&mut conn, None);
        let deceased = registry::deceased_with_ficha(&mut conn);
        let sin = sin_ficha(&node, 1)[0];
        let wrong_dv = format!(
            "{}-{}",
            sin.numero(),
            if sin.dv() == '0' { '1' } else { '0' }
        );
        let cases: Vec<(Value, u16, &str)> = vec![
            (
                json!({ "run": registry::unknown().to_string() }),
                404,
                "NO_ENCONTRADO",
            ),
            (json!({ "run": wrong_dv }), 400, "RUN_INVALIDO"),
            (json!({ "run": with.to_string() }), 409, "FICHA_VIGENTE"),
            (
                json!({ "run": deceased.to_string() }),
                409,
                "PERSONA_FALLECIDA",
            ),
            (
                json!({ "run": sin.to_string(), "comuna": "99999" }),
                400,
                "COMUNA_DESCONOCIDA",
            ),
            (
                json!({ "run": sin.to_string(), "comuna": "131" }),
                400,
                "COMUNA_DESCONOCIDA",
            ),
            (
                json!({ "run": sin.to_string(), "otro": 1 }),
                400,
                "SOLICITUD_INVALIDA",
            ),
            (json!({ "comuna": "13101" }), 400, "SOLICITUD_INVALIDA"),
        ];
        for (body, status, code) in cases {
            let (s, r) = solicitar(&node, "minvu", body.clone()).await;
            assert_eq!((s, r["code"].as_str()), (status, Some(code)), "{body}: {r}");
        }
        // Not JSON at all.
        let r = node
            .client(Some("minvu"))
            .post(node.agency_url("/api/v1/encuestajes"))
            .header("content-type", "text/plain")
            .body("run=1")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 415);
        assert_eq!(requests(&node), 0, "no refused request was stored");

        // One open request per person, whoever asks (and without saying who did).
        nueva(&node, sin).await;
        for agreement in ["minvu", "ips"] {
            let (s, r) = solicitar(&node, agreement, json!({ "run": sin.to_string() })).await;
            assert_eq!(
                (s, r["code"].as_str()),
                (409, Some("ENCUESTAJE_EN_CURSO")),
                "{r}"
            );
            assert!(!r.to_string().contains("minvu"), "{r}");
        }
        assert_eq!(requests(&node), 1);

        // Queue filters and pagination.
        for (query, status, code) in [
            ("?pagina=0", 400, "PAGINACION_INVALIDA"),
            ("?pagina=-1", 400, "PAGINACION_INVALIDA"),
            ("?porPagina=0", 400, "PAGINACION_INVALIDA"),
            ("?porPagina=101", 400, "PAGINACION_INVALIDA"),
            ("?porPagina=diez", 400, "PAGINACION_INVALIDA"),
            ("?estado=pendiente", 400, "ESTADO_DESCONOCIDO"),
            ("?orden=run", 400, "SOLICITUD_INVALIDA"),
        ] {
            let (s, r) = cola(&node, "muni-13101", "13101", query).await;
            assert_eq!(
                (s, r["code"].as_str()),
                (status, Some(code)),
                "{query}: {r}"
            );
        }
        let (s, r) = cola(&node, "muni-13101", "99999", "").await;
        assert_eq!((s, r["code"].as_str()), (400, Some("COMUNA_DESCONOCIDA")));
        let (s, r) = cola(&node, "muni-13101", "13101", "?pagina=2&porPagina=1").await;
        assert_eq!(
            (
                s,
                r["total"].as_i64(),
                r["encuestajes"].as_array().map(Vec::len)
            ),
            (200, Some(1), Some(0))
        );
        let (s, r) = cola(&node, "muni-13101", "13101", "?pagina=1&porPagina=1").await;
        assert_eq!(
            (s, r["encuestajes"].as_array().map(Vec::len)),
            (200, Some(1))
        );
        let (s, r) = cola(&node, "muni-13101", "13101", "?estado=encuestada").await;
        assert_eq!((s, r["total"].as_i64()), (200, Some(0)));
        node.stop().await;
    }
}

/// The guard itself: a change decided on a version that is no longer stored applies nothing,
/// whatever the timing of real requests (which the test above cannot force).
#[tokio::test]
async fn a_change_decided_on_a_stale_version_is_not_applied() {
    use siis::ops::encuestaje::store::{self, EventoFila};
    for backend in backends() {
        let node = node(backend).await;
        let run = sin_ficha(&node, 1)[0];
        let id = nueva(&node, run).await;
        let mut conn = node.db();
        let stale = store::leer(&mut conn, &id).unwrap().unwrap();
        assert_eq!(evento(&node, "muni-13101", &id, programar(1)).await.0, 200);
        let mut despues = stale.clone();
        despues.estado = "anulada".into();
        despues.version = stale.version + 1;
        let event = EventoFila {
            encuestaje_id: id.clone(),
            secuencia: despues.version,
            evento: "anular".into(),
            estado: "anulada".into(),
            fecha: None,
            motivo: Some("carrera".into()),
            convenio: "muni-13101".into(),
            ts_us: 0,
        };
        let applied = store::aplicar(&mut conn, &stale, &despues, event, None).unwrap();
        assert!(!applied, "the stale change lost");
        assert_eq!(stored(&node, &id), ("visita_programada".into(), 1, 2));
        node.stop().await;
    }
}

/// Surveys of different households at once each get a ficha of their own (on PostgreSQL two of
/// them may pick the same next folio: the loser is retried, not failed).
#[tokio::test]
async fn concurrent_surveys_of_different_households_each_get_their_folio() {
    for backend in backends() {
        let node = node(backend).await;
        let mut ids = Vec::new();
        for run in sin_ficha(&node, 12) {
            let id = nueva(&node, run).await;
            assert_eq!(evento(&node, "muni-13101", &id, programar(0)).await.0, 200);
            ids.push(id);
        }
        let surveys = ids.iter().map(|id| {
            let node = &node;
            async move { evento(node, "muni-13101", id, encuestar(9_000)).await }
        });
        let outcomes = futures_util::future::join_all(surveys).await;
        let mut folios: Vec<i64> = outcomes
            .iter()
            .map(|(status, body)| {
                assert_eq!(*status, 200, "{body}");
                body["folio"].as_i64().expect("folio")
            })
            .collect();
        folios.sort_unstable();
        folios.dedup();
        assert_eq!(folios.len(), ids.len(), "one folio each");
        node.stop().await;
    }
}

/// A registry written by hand: a person with no household at all (a birth not yet placed) and
/// one whose household in Santiago has no ficha; the node's deadline set to 7 days.
#[tokio::test]
async fn a_person_without_household_gets_one_and_the_deadline_follows_the_config() {
    use crate::support::{SHIPPED, TestDb, make_pki, test_config, tls_client};
    use siis::db::models::{Hogar, Integrante, Persona};
    use siis::db::schema::{hogares, personas};

    for backend in backends() {
        let dir = tempfile::TempDir::new().unwrap();
        let db = TestDb::new(backend, dir.path());
        let pki = make_pki(dir.path(), SHIPPED);
        let mut config = test_config(&db, &pki, dir.path());
        config.encuestaje.plazo_dias = 7;
        let pool = siis::db::open_pool(&db.url, 1, std::time::Duration::from_secs(5)).unwrap();
        let mut conn = pool.get().unwrap();
        let persona = |run: u32| Persona {
            run: run as i32,
            nombres: "ANA MARÍA".into(),
            apellido_paterno: "SOTO".into(),
            apellido_materno: "PÉREZ".into(),
            fecha_nacimiento: NaiveDate::from_ymd_opt(1990, 3, 14).unwrap(),
            sexo: "F".into(),
            nacionalidad: "CHILENA".into(),
            fecha_defuncion: None,
        };
        let (sin_hogar, con_hogar) = (15_509_661u32, 30_686_957u32);
        for run in [sin_hogar, con_hogar] {
            diesel::insert_into(personas::table)
                .values(persona(run))
                .execute(&mut *conn)
                .unwrap();
        }
        diesel::insert_into(hogares::table)
            .values(Hogar {
                id: 1,
                cut: "13101".into(),
                direccion: "Calle 1".into(),
            })
            .execute(&mut *conn)
            .unwrap();
        diesel::insert_into(integrantes::table)
            .values(Integrante {
                run: con_hogar as i32,
                hogar_id: 1,
                parentesco: "jefe".into(),
            })
            .execute(&mut *conn)
            .unwrap();
        drop(conn);
        let node = siis::startup::Node::start(std::sync::Arc::new(config)).unwrap();
        let client = |a: &str| {
            tls_client(
                &pki.join("ca.pem"),
                Some((
                    &pki.join("clients").join(format!("{a}.pem")),
                    &pki.join("clients").join(format!("{a}-key.pem")),
                )),
                &[node.agency],
            )
        };
        let url = |p: &str| format!("https://localhost:{}/api/v1{p}", node.agency.port());
        let post = |a: &str, p: &str, body: Value| {
            let request = client(a).post(url(p)).json(&body);
            async move { read(request.send().await.unwrap()).await }
        };
        let run = |n: u32| Run::from_numero(n).unwrap().to_string();

        // No household, no comuna given: nowhere to send it.
        let (status, body) = post("minvu", "/encuestajes", json!({ "run": run(sin_hogar) })).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("COMUNA_DESCONOCIDA"))
        );

        for (who, comuna_antes) in [(sin_hogar, None), (con_hogar, Some("13101"))] {
            let (status, created) = post(
                "minvu",
                "/encuestajes",
                json!({ "run": run(who), "comuna": "05101" }),
            )
            .await;
            assert_eq!(status, 201, "{created}");
            assert_eq!(created["fechaVencimiento"], json!(hoy() + Days::new(7)));
            assert_eq!(created["comuna"]["codigo"], "05101");
            let id = created["id"].as_str().unwrap();
            let eventos = format!("/encuestajes/{id}/eventos");
            assert_eq!(post("muni-05101", &eventos, programar(0)).await.0, 200);
            let (status, done) = post("muni-05101", &eventos, encuestar(10_000)).await;
            assert_eq!((status, done["quintil"].as_u64()), (200, Some(2)), "{done}");

            let (status, ficha) = read(
                client("minvu")
                    .get(url(&format!("/personas/{}/ficha", run(who))))
                    .send()
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(status, 200, "{ficha}");
            assert_eq!(ficha["comuna"]["codigo"], "05101", "{comuna_antes:?}");
            assert_eq!(ficha["folio"], done["folio"]);
            let members: Vec<&str> = ficha["integrantes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["parentesco"].as_str().unwrap())
                .collect();
            assert_eq!(members, ["jefe"]);
        }
        // The household that moved is one household still, now in Valparaíso.
        let cuts: Vec<String> = hogares::table
            .order(hogares::id)
            .select(hogares::cut)
            .load(&mut pool.get().unwrap())
            .unwrap();
        assert_eq!(cuts, ["05101", "05101"]);
        node.stop().await.unwrap();
        drop(pool);
        drop(db);
    }
}

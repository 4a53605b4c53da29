//! What is refused, with its code, and changes nothing: transitions, scope, ownership, bad input.

use super::*;
use crate::per_backend;

per_backend!(
    async fn transitions_the_state_machine_refuses_change_nothing(backend) {
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
);

per_backend!(
    async fn a_municipality_works_its_own_comuna_only(backend) {
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
);

per_backend!(
    async fn an_agency_never_sees_another_agencys_request(backend) {
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
);

fn uuid_like() -> String {
    "0b5f6c1e-8d43-4a57-9a39-5d3c1f4e2a10".into()
}

per_backend!(
    async fn bad_requests_get_their_code_and_change_nothing(backend) {
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

        // One open request per person and comuna, whoever asks (and without saying who did);
        // Santiago's own request goes to Santiago without naming it. (Another comuna's request
        // does not count: tests/it/encuestaje/traslado.rs.)
        nueva(&node, sin).await;
        for (convenio, body) in [
            (
                "minvu",
                json!({ "run": sin.to_string(), "comuna": "13101" }),
            ),
            ("ips", json!({ "run": sin.to_string(), "comuna": "13101" })),
            ("muni-13101", json!({ "run": sin.to_string() })),
        ] {
            let (s, r) = solicitar(&node, convenio, body).await;
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
);

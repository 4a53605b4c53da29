//! A postulation's life: verified, a death fed afterwards shows on the next read, closed by an
//! event; every refusal has its code and changes nothing; REST and SOAP tell the same.

use super::*;
use crate::per_backend;
use crate::soap::client::{POSTULACION, V, call, run_xml};
use crate::soap::{audit_after, last_audit_id};

/// A mother of 35 in 13101 (score 11.734) with children of 3 and 17 in her household.
fn familia(node: &TestNode) -> (Run, Run, Run) {
    let mut conn = node.db();
    let madre = persona(&mut conn, 20_000_001, 35);
    let hijo = persona(&mut conn, 20_000_002, 3);
    let hija = persona(&mut conn, 20_000_003, 17);
    hogar(&mut conn, 1, "13101", Some(11_734), &[madre, hijo, hija]);
    (madre, hijo, hija)
}

fn suf(madre: Run, causantes: &[Run]) -> Value {
    json!({
        "run": madre.to_string(),
        "programa": "SUF",
        "causantes": causantes.iter().map(|c| json!({ "run": c.to_string(), "tipo": "menor" })).collect::<Vec<_>>(),
    })
}

per_backend!(
    async fn a_verified_postulation_shows_a_death_fed_afterwards_at_once(backend) {
        let node = TestNode::start(backend).await;
        let (madre, hijo, hija) = familia(&node);
        let before = last_audit_id(&node);
        let (status, p) = postular(&node, "muni-13101", suf(madre, &[hijo, hija])).await;
        assert_eq!(status, 201, "{p}");
        assert_eq!(p["estado"], "verificada", "{p}");
        assert_eq!(p["puntaje"], 11_734);
        assert_eq!(p["fechaPostulacion"], json!(hoy()));
        assert_eq!(
            chequeos(&p),
            [
                ("SUF-VIVO".to_owned(), true),
                ("SUF-COMUNA".to_owned(), true),
                ("SUF-FICHA".to_owned(), true),
                ("SUF-PUNTAJE".to_owned(), true),
                ("SUF-CAUSANTE-EDAD".to_owned(), true),
                ("SUF-HOGAR".to_owned(), true),
                ("SUF-BENEFICIO".to_owned(), true),
            ]
        );
        assert_eq!(p["causantes"][1], json!({ "run": hija.to_string(), "tipo": "menor" }));
        // The audit names the applicant and each causante: one unit each.
        let record = &audit_after(&node, before)[0];
        assert_eq!(record.operacion, "PostularBeneficio");
        for run in [madre, hijo, hija] {
            assert!(record.sujetos.contains(&run.numero().to_string()), "{record:?}");
        }
        let id = p["id"].as_str().unwrap().to_owned();

        // A read with nothing changed stores no new run of the checks.
        let (status, again) = leer(&node, "muni-13101", &id).await;
        assert_eq!((status, &again), (200, &p));

        // The Registro Civil feeds the mother's death.
        let csv = format!("run,fecha_defuncion,comuna\n{madre},{},13101\n", hoy());
        let report: Value = node
            .client(Some("srcei"))
            .post(node.agency_url("/api/v1/lotes/defunciones"))
            .header("content-type", "text/csv")
            .body(csv)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(report["aplicados"], 1, "{report}");

        let (status, p) = leer(&node, "muni-13101", &id).await;
        assert_eq!(status, 200, "{p}");
        assert_eq!(p["estado"], "rechazada");
        assert_eq!(fallan(&p), ["SUF-VIVO"]);
        assert_eq!(p["chequeos"][0]["motivo"], "La persona registra fecha de defunción");
        let corridas: Vec<i32> = {
            use siis::db::schema::postulacion_chequeos as c;
            c::table
                .filter(c::postulacion_id.eq(&id))
                .select(c::corrida)
                .distinct()
                .load(&mut node.db())
                .unwrap()
        };
        assert_eq!(corridas.len(), 2, "a new run only because an outcome changed");
        // The list shows it too.
        let (status, lista) = listar(&node, "muni-13101", "13101", "?programa=SUF").await;
        assert_eq!(status, 200, "{lista}");
        assert_eq!(lista["postulaciones"][0]["estado"], "rechazada");
    }
);

per_backend!(
    async fn each_check_at_its_edge_through_the_node(backend) {
        let node = TestNode::start(backend).await;
        {
            let mut conn = node.db();
            let a = persona(&mut conn, 20_000_011, 65);
            let b = persona(&mut conn, 20_000_012, 64);
            let c = persona(&mut conn, 20_000_013, 40);
            let d = persona(&mut conn, 20_000_014, 40);
            let nino = persona(&mut conn, 20_000_015, 18);
            hogar(&mut conn, 1, "13101", Some(8_500), &[a]);
            hogar(&mut conn, 2, "13101", Some(8_500), &[b]);
            hogar(&mut conn, 3, "13101", Some(11_735), &[c]);
            hogar(&mut conn, 4, "13101", Some(11_734), &[d, nino]);
        }
        let run = |n: u32| Run::from_numero(n).unwrap().to_string();
        let pasis = |n| json!({ "run": run(n), "programa": "PASIS" });
        // 65 with 8.500: only the income check fails, and it says why.
        let (_, p) = postular(&node, "muni-13101", pasis(20_000_011)).await;
        assert_eq!(fallan(&p), ["PASIS-INGRESO"], "{p}");
        assert!(p["chequeos"][6]["motivo"].as_str().unwrap().ends_with("(sin encuesta con ingresos)"));
        let (_, p) = postular(&node, "muni-13101", pasis(20_000_012)).await;
        assert_eq!(fallan(&p), ["PASIS-EDAD", "PASIS-INGRESO"], "{p}");
        // SAP: 11.734 is the Metropolitana's cut-off.
        let (_, p) = postular(&node, "muni-13101", json!({ "run": run(20_000_013), "programa": "SAP" })).await;
        assert_eq!(fallan(&p), ["SAP-PUNTAJE"], "{p}");
        assert_eq!(p["estado"], "rechazada");
        let (_, p) = postular(&node, "muni-13101", json!({ "run": run(20_000_014), "programa": "SAP" })).await;
        assert_eq!(p["estado"], "verificada", "{p}");
        // SUF: a causante of 18.
        let (_, p) = postular(
            &node,
            "muni-13101",
            json!({ "run": run(20_000_014), "programa": "SUF",
                    "causantes": [{ "run": run(20_000_015), "tipo": "menor" }] }),
        )
        .await;
        assert_eq!(fallan(&p), ["SUF-CAUSANTE-EDAD"], "{p}");
        assert_eq!(p["chequeos"][4]["motivo"], "causantes[0]: Causante mayor de 17 años");
    }
);

per_backend!(
    /// PASIS reads the household's income per head from the questionnaire behind its ficha:
    /// the sum of every member's incomes over the members surveyed, at most the rule's 24,000.
    async fn pasis_reads_the_income_per_head_of_the_surveyed_household(backend) {
        let node = TestNode::start(backend).await;
        {
            let mut conn = node.db();
            let a = persona(&mut conn, 20_000_021, 70);
            let a2 = persona(&mut conn, 20_000_022, 40);
            let b = persona(&mut conn, 20_000_023, 70);
            let b2 = persona(&mut conn, 20_000_024, 40);
            hogar(&mut conn, 1, "13101", Some(8_000), &[a, a2]);
            hogar(&mut conn, 2, "13101", Some(8_000), &[b, b2]);
            // 48,000 for two: 24,000 a head, the edge; 48,002 for two: one peso over.
            encuesta(&mut conn, 1, &[(a, [0, 30_000, 0]), (a2, [10_000, 0, 8_000])]);
            encuesta(&mut conn, 2, &[(b, [0, 30_000, 2]), (b2, [10_000, 0, 8_000])]);
        }
        let run = |n: u32| Run::from_numero(n).unwrap().to_string();
        let (status, p) =
            postular(&node, "muni-13101", json!({ "run": run(20_000_021), "programa": "PASIS" }))
                .await;
        assert_eq!(status, 201, "{p}");
        assert_eq!(p["estado"], "verificada", "{p}");
        let (_, p) =
            postular(&node, "muni-13101", json!({ "run": run(20_000_023), "programa": "PASIS" }))
                .await;
        assert_eq!(fallan(&p), ["PASIS-INGRESO"], "{p}");
        assert!(!p.to_string().contains("24001"), "the check says the rule, not the income");
        node.stop().await;
    }
);

per_backend!(
    async fn an_event_closes_an_open_postulation_once(backend) {
        let node = TestNode::start(backend).await;
        let (madre, hijo, _) = familia(&node);
        let (_, p) = postular(&node, "muni-13101", suf(madre, &[hijo])).await;
        let id = p["id"].as_str().unwrap().to_owned();
        let (status, dup) = postular(&node, "muni-13101", suf(madre, &[hijo])).await;
        assert_eq!((status, dup["code"].as_str()), (409, Some("POSTULACION_EN_CURSO")), "{dup}");

        for (body, code) in [
            (json!({ "evento": "otorgar", "motivo": "x" }), "EVENTO_INVALIDO"),
            (json!({ "evento": "desistir" }), "EVENTO_INVALIDO"),
            (json!({ "evento": "desistir", "motivo": "x".repeat(501) }), "EVENTO_INVALIDO"),
            (json!({ "evento": "desistir", "motivo": "x", "otro": 1 }), "SOLICITUD_INVALIDA"),
        ] {
            let (status, e) = evento(&node, "muni-13101", &id, body).await;
            assert_eq!((status, e["code"].as_str()), (400, Some(code)), "{e}");
        }
        let (status, r) = leer(&node, "muni-13101", &id).await;
        assert_eq!((status, r["estado"].as_str()), (200, Some("verificada")), "nothing changed");

        let (status, p) =
            evento(&node, "muni-13101", &id, json!({ "evento": "desistir", "motivo": "Se cambió de comuna" })).await;
        assert_eq!(status, 200, "{p}");
        assert_eq!((p["estado"].as_str(), p["motivoCierre"].as_str()), (Some("desistida"), Some("Se cambió de comuna")));
        let (status, e) = evento(&node, "muni-13101", &id, json!({ "evento": "anular", "motivo": "x" })).await;
        assert_eq!((status, e["code"].as_str()), (409, Some("TRANSICION_NO_PERMITIDA")), "{e}");
        // Closed, it no longer blocks a new one.
        let (status, p) = postular(&node, "muni-13101", suf(madre, &[hijo])).await;
        assert_eq!(status, 201, "{p}");
    }
);

per_backend!(
    async fn bad_postulations_get_stable_codes_and_change_nothing(backend) {
        let node = TestNode::start(backend).await;
        let (madre, hijo, hija) = familia(&node);
        let m = madre.to_string();
        let h = hijo.to_string();
        for (body, status, code, detail) in [
            (json!({ "run": m, "programa": "SUF" }), 400, "POSTULACION_INVALIDA", "causantes"),
            (json!({ "run": m, "programa": "SUF", "causantes": [{ "run": h, "tipo": "primo" }] }), 400, "POSTULACION_INVALIDA", "causantes[0].tipo"),
            (json!({ "run": m, "programa": "SUF", "causantes": [{ "run": h, "tipo": "menor" }, { "run": h, "tipo": "menor" }] }), 400, "POSTULACION_INVALIDA", "causantes[1].run is named twice"),
            (json!({ "run": m, "programa": "SUF", "causantes": [{ "run": m, "tipo": "madre" }] }), 400, "POSTULACION_INVALIDA", "causantes[0].run is the applicant"),
            (json!({ "run": m, "programa": "SUF", "causantes": [{ "run": "12.345.678-9", "tipo": "menor" }] }), 400, "POSTULACION_INVALIDA", "causantes[0].run"),
            (json!({ "run": m, "programa": "PASIS", "causantes": [{ "run": h, "tipo": "menor" }] }), 400, "POSTULACION_INVALIDA", "PASIS takes no causantes"),
            (json!({ "run": "1-1", "programa": "SAP" }), 400, "RUN_INVALIDO", ""),
            (json!({ "run": m, "programa": "PBS" }), 404, "PROGRAMA_DESCONOCIDO", ""),
            (json!({ "run": m }), 400, "SOLICITUD_INVALIDA", ""),
        ] {
            let (got, e) = postular(&node, "muni-13101", body.clone()).await;
            assert_eq!((got, e["code"].as_str()), (status, Some(code)), "{body} {e}");
            assert!(e["detail"].as_str().unwrap_or("").contains(detail), "{e}");
            assert!(!e.to_string().contains(&hija.numero().to_string()), "no RUN in {e}");
        }
        // Another agreement without the grant.
        let (status, e) = postular(&node, "minvu", suf(madre, &[hijo])).await;
        assert_eq!((status, e["code"].as_str()), (403, Some("NO_AUTORIZADO")), "{e}");
        for (query, code) in [("?estado=pendiente", "ESTADO_DESCONOCIDO"), ("?porPagina=101", "PAGINACION_INVALIDA"), ("?otro=1", "SOLICITUD_INVALIDA")] {
            let (status, e) = listar(&node, "muni-13101", "13101", query).await;
            assert_eq!((status, e["code"].as_str().unwrap_or("")), (400, code), "{query} {e}");
        }
        assert_eq!(postulaciones_guardadas(&node), 0);
    }
);

per_backend!(
    async fn rest_and_soap_tell_the_same(backend) {
        let node = TestNode::start(backend).await;
        let (madre, hijo, _) = familia(&node);
        let client = node.client(Some("muni-13101"));
        let cuerpo = format!(
            "{}<pb:programa>SUF</pb:programa><pb:causantes><pb:causante>{}<pb:tipo>menor</pb:tipo></pb:causante></pb:causantes>",
            run_xml("pb", madre),
            run_xml("pb", hijo)
        );
        let a = call(&client, &node, V::V11, &POSTULACION, "Postular", None, &cuerpo).await;
        assert_eq!(a.status, 200, "{}", a.shown());
        let r = a.respuesta(V::V11, &POSTULACION, "Postular");
        let soap = r.child("cuerpo").unwrap().child("postulacion").unwrap();
        let id = soap.text_at("id").unwrap().to_owned();
        let (status, rest) = leer(&node, "muni-13101", &id).await;
        assert_eq!(status, 200);
        assert_eq!(soap.text_at("estado"), rest["estado"].as_str());
        assert_eq!(soap.text_at("puntaje"), Some(rest["puntaje"].to_string().as_str()));
        let soap_checks: Vec<(String, bool)> = soap
            .child("chequeos")
            .unwrap()
            .all("chequeo")
            .map(|c| (c.text_at("regla").unwrap().to_owned(), c.text_at("cumple") == Some("true")))
            .collect();
        assert_eq!(soap_checks, chequeos(&rest));
        // A SOAP duplicate is an outcome 03 with no data (REST's 409 POSTULACION_EN_CURSO, the
        // code in the audit record); a list answers the same page.
        let before = last_audit_id(&node);
        let a = call(&client, &node, V::V12, &POSTULACION, "Postular", None, &cuerpo).await;
        let r = a.respuesta(V::V12, &POSTULACION, "Postular");
        assert_eq!(crate::soap::client::estado(&r), "03", "{}", a.shown());
        assert!(r.child("cuerpo").is_none());
        assert_eq!(audit_after(&node, before)[0].resultado, "POSTULACION_EN_CURSO");
        let a = call(&client, &node, V::V11, &POSTULACION, "ListarPostulaciones", None, "<pb:comuna>13101</pb:comuna><pb:programa>SUF</pb:programa>").await;
        let r = a.respuesta(V::V11, &POSTULACION, "ListarPostulaciones");
        let lista = r.child("cuerpo").unwrap().child("lista").unwrap();
        assert_eq!(lista.text_at("total"), Some("1"));
        assert_eq!(lista.child("postulacion").unwrap().text_at("id"), Some(id.as_str()));
        let a = call(&client, &node, V::V11, &POSTULACION, "RegistrarEventoPostulacion", None,
            &format!("<pb:id>{id}</pb:id><pb:evento>anular</pb:evento><pb:motivo>Error de digitación</pb:motivo>")).await;
        let r = a.respuesta(V::V11, &POSTULACION, "RegistrarEventoPostulacion");
        assert_eq!(r.child("cuerpo").unwrap().child("postulacion").unwrap().text_at("estado"), Some("anulada"));
        let (_, rest) = leer(&node, "muni-13101", &id).await;
        assert_eq!(rest["motivoCierre"], "Error de digitación");
    }
);

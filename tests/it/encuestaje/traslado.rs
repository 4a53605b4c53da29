//! A person who moved asks for the survey where they now live: the municipality of the new
//! comuna asks in its own comuna for anyone, the survey gives the person a household there, and
//! the household they left (its other members, its ficha) stays where it is, its history
//! recording the departure.

use super::*;
use crate::per_backend;
use siis::db::schema::hogares;

/// Two members of one household of comuna `cut` whose ficha is in force, and that folio.
fn pareja(node: &TestNode, cut: &str) -> (Run, Run, i64, i64) {
    let rows: Vec<(i64, i32, i64)> = integrantes::table
        .inner_join(hogares::table)
        .inner_join(fichas::table.on(fichas::hogar_id.eq(integrantes::hogar_id)))
        .filter(hogares::cut.eq(cut))
        .filter(fichas::estado.eq("vigente"))
        .select((integrantes::hogar_id, integrantes::run, fichas::folio))
        .order((integrantes::hogar_id, integrantes::run))
        .load(&mut node.db())
        .unwrap();
    let pair = rows
        .windows(2)
        .find(|w| w[0].0 == w[1].0)
        .expect("a household of two with a ficha");
    let run = |n: i32| Run::from_numero(n as u32).unwrap();
    (run(pair[0].1), run(pair[1].1), pair[0].0, pair[0].2)
}

async fn ficha(node: &TestNode, convenio: &str, run: Run) -> (u16, Value) {
    read(
        node.client(Some(convenio))
            .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
            .send()
            .await
            .unwrap(),
    )
    .await
}

per_backend!(
    async fn a_survey_moves_the_person_and_never_their_household(backend) {
        let node = node(backend).await;
        let (quien, queda, hogar, folio_antes) = pareja(&node, "13101");

        // Valparaíso asks in its own comuna (no comuna given) for a person of Santiago.
        let (status, created) =
            solicitar(&node, "muni-05101", json!({ "run": quien.to_string() })).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["comuna"]["codigo"], "05101");
        let id = created["id"].as_str().unwrap();
        assert_eq!(evento(&node, "muni-05101", id, programar(0)).await.0, 200);
        let (status, done) = evento(&node, "muni-05101", id, encuestar(9_000)).await;
        assert_eq!(status, 200, "{done}");

        // The person now lives in Valparaíso, alone in a household of their own, with the new
        // ficha; Valparaíso reads that and nothing of the household left behind.
        let (status, nueva) = ficha(&node, "muni-05101", quien).await;
        assert_eq!(status, 200, "{nueva}");
        assert_eq!(nueva["folio"], done["folio"]);
        assert_eq!(nueva["comuna"]["codigo"], "05101");
        let miembros: Vec<&str> = nueva["integrantes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["run"].as_str().unwrap())
            .collect();
        assert_eq!(miembros, [quien.to_string()]);
        assert_eq!(nueva["integrantes"][0]["parentesco"], "jefe");
        let (status, body) = ficha(&node, "muni-05101", queda).await;
        assert_eq!((status, body["code"].as_str()), (404, Some("NO_ENCONTRADO")));

        // The household left behind is still Santiago's, with its ficha, without the person.
        let (status, antigua) = ficha(&node, "muni-13101", queda).await;
        assert_eq!(status, 200, "{antigua}");
        assert_eq!(antigua["folio"], folio_antes);
        assert_eq!(antigua["comuna"]["codigo"], "13101");
        assert!(
            !antigua["integrantes"].to_string().contains(&quien.to_string()),
            "{antigua}"
        );
        let (status, _) = ficha(&node, "muni-13101", quien).await;
        assert_eq!(status, 404);
        let mut conn = node.db();
        let cut: String = hogares::table
            .find(hogar)
            .select(hogares::cut)
            .first(&mut conn)
            .unwrap();
        assert_eq!(cut, "13101");
        let estado: String = fichas::table
            .find(folio_antes)
            .select(fichas::estado)
            .first(&mut conn)
            .unwrap();
        assert_eq!(estado, "vigente");
        drop(conn);
        // Each history records its side, Santiago's without Valparaíso's reason or name; the
        // ficha left behind (a score without a model) is marked for review.
        let (status, alla) = crate::hogar::consultar(&node, "muni-13101", queda).await;
        assert_eq!(status, 200, "{alla}");
        let e = crate::hogar::ultimo(&alla);
        assert_eq!(e["evento"], "quitar_integrante");
        assert_eq!(e["integrantes"][0]["run"], quien.to_string());
        assert_eq!(e["motivo"], "traslado a otro hogar");
        assert!(e.get("convenio").is_none(), "{e}");
        assert_eq!(alla["enRevision"], true);
        let (status, aca) = crate::hogar::consultar(&node, "muni-05101", quien).await;
        assert_eq!(status, 200, "{aca}");
        assert_eq!(aca["eventos"].as_array().map(Vec::len), Some(1), "{aca}");
        assert_eq!(aca["eventos"][0]["evento"], "encuestar");
        assert_eq!(aca["eventos"][0]["convenio"], "muni-05101");
        assert_eq!(
            aca["eventos"][0]["motivo"],
            format!("encuesta aplicada, folio {}", done["folio"])
        );
        node.stop().await;
    }
);

per_backend!(
    async fn another_comunas_open_request_neither_blocks_nor_shows(backend) {
        let node = node(backend).await;
        let run = sin_ficha(&node, 1)[0];
        let (status, first) = solicitar(
            &node,
            "minvu",
            json!({ "run": run.to_string(), "comuna": "13101" }),
        )
        .await;
        assert_eq!(status, 201, "{first}");
        // Valparaíso asks too, in its comuna: its answer does not depend on Santiago's request.
        let (status, second) = solicitar(
            &node,
            "muni-05101",
            json!({ "run": run.to_string(), "comuna": "05101" }),
        )
        .await;
        assert_eq!(status, 201, "{second}");
        // One open request per person and comuna still.
        let (status, again) =
            solicitar(&node, "muni-05101", json!({ "run": run.to_string() })).await;
        assert_eq!(
            (status, again["code"].as_str()),
            (409, Some("ENCUESTAJE_EN_CURSO")),
            "{again}"
        );
        assert_eq!(requests(&node), 2);
        // Each comuna's queue holds its own.
        for cut in ["13101", "05101"] {
            let muni = format!("muni-{cut}");
            let (_, queue) = cola(&node, &muni, cut, "").await;
            assert_eq!(queue["total"], 1, "{queue}");
        }
        node.stop().await;
    }
);

per_backend!(
    async fn a_survey_of_an_unknown_or_deceased_run_is_refused_alike_when_recorded(backend) {
        let node = node(backend).await;
        let mut conn = node.db();
        let muerto = crate::ambito::deceased(&mut conn, "13101", false);
        let mut bodies = Vec::new();
        let hogares_antes: i64 = hogares::table.count().get_result(&mut conn).unwrap();
        let fichas_antes: i64 = fichas::table.count().get_result(&mut conn).unwrap();
        for run in [registry::unknown(), muerto] {
            let (status, created) =
                solicitar(&node, "muni-13101", json!({ "run": run.to_string() })).await;
            assert_eq!(status, 201, "{created}");
            let id = created["id"].as_str().unwrap().to_owned();
            assert_eq!(evento(&node, "muni-13101", &id, programar(0)).await.0, 200);
            let (status, body) = evento(&node, "muni-13101", &id, encuestar(9_000)).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (409, Some("PERSONA_NO_ENCUESTABLE")),
                "{body}"
            );
            bodies.push(body);
            assert_eq!(stored(&node, &id), ("visita_programada".into(), 1, 2));
            // The request can be annulled.
            let (status, _) = evento(
                &node,
                "muni-13101",
                &id,
                json!({ "evento": "anular", "motivo": "no registrada" }),
            )
            .await;
            assert_eq!(status, 200);
        }
        assert_eq!(bodies[0], bodies[1], "one answer for unknown and deceased");
        // Each step, the refusal too, is in the person's access report.
        let seen: Vec<(String, String)> = crate::ambito::report(&node, registry::unknown())
            .await
            .into_iter()
            .map(|(_, operacion, resultado, _)| (operacion, resultado))
            .collect();
        let step = |o: &str, r: &str| (o.to_owned(), r.to_owned());
        assert_eq!(
            seen,
            [
                step("TrabajarEncuestaje", "OK"),
                step("TrabajarEncuestaje", "PERSONA_NO_ENCUESTABLE"),
                step("TrabajarEncuestaje", "OK"),
                step("SolicitarEncuestaje", "OK"),
            ],
            "newest first"
        );
        let hogares_despues: i64 = hogares::table.count().get_result(&mut conn).unwrap();
        let fichas_despues: i64 = fichas::table.count().get_result(&mut conn).unwrap();
        assert_eq!(
            (hogares_despues, fichas_despues),
            (hogares_antes, fichas_antes)
        );

        // A person of the comuna keeps the precise answers.
        let vecino_muerto = crate::ambito::deceased(&mut conn, "13101", true);
        let (status, body) = solicitar(
            &node,
            "muni-13101",
            json!({ "run": vecino_muerto.to_string() }),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (409, Some("PERSONA_FALLECIDA"))
        );
        let vecino = registry::with_ficha(&mut conn, Some("13101"));
        let (status, body) =
            solicitar(&node, "muni-13101", json!({ "run": vecino.to_string() })).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("FICHA_VIGENTE")));
        // An agency without a scope is told at once, and may ask in another comuna for a
        // person whose household has a ficha (a move).
        for (run, status, code) in [
            (registry::unknown(), 404, "NO_ENCONTRADO"),
            (muerto, 409, "PERSONA_FALLECIDA"),
        ] {
            let (s, body) = solicitar(
                &node,
                "minvu",
                json!({ "run": run.to_string(), "comuna": "13101" }),
            )
            .await;
            assert_eq!((s, body["code"].as_str()), (status, Some(code)), "{body}");
        }
        let (status, body) = solicitar(&node, "minvu", json!({ "run": vecino.to_string() })).await;
        assert_eq!((status, body["code"].as_str()), (409, Some("FICHA_VIGENTE")));
        let (status, body) = solicitar(
            &node,
            "minvu",
            json!({ "run": vecino.to_string(), "comuna": "05101" }),
        )
        .await;
        assert_eq!(status, 201, "{body}");
        node.stop().await;
    }
);

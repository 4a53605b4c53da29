//! The flows that work: from agency to municipality to a new ficha, routing, and a registry written by hand.

use super::*;
use crate::per_backend;

per_backend!(
    async fn a_request_goes_from_agency_to_municipality_to_a_new_ficha(backend) {
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
        // The older form, a bare score: no model behind it, the surveyor recorded.
        let (modelo, encuestador): (Option<String>, Option<String>) = fichas::table
            .find(folio)
            .select((fichas::modelo, fichas::encuestador))
            .first(&mut node.db())
            .unwrap();
        assert_eq!(
            (modelo, encuestador.as_deref()),
            (None, Some("muni-13101"))
        );

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
        // And the person's access report names both agencies' work on the request.
        let (status, report) = read(
            node.client(Some("operador"))
                .get(node.agency_url(&format!("/api/v1/personas/{run}/accesos")))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{report}");
        let seen: std::collections::BTreeSet<(&str, &str)> = report["accesos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["convenio"].as_str().unwrap(),
                    a["operacion"].as_str().unwrap(),
                )
            })
            .collect();
        assert!(seen.contains(&("minvu", "SolicitarEncuestaje")), "{seen:?}");
        assert!(
            seen.contains(&("muni-13101", "TrabajarEncuestaje")),
            "{seen:?}"
        );
        node.stop().await;
    }
);

per_backend!(
    async fn a_request_without_comuna_goes_to_the_last_known_one(backend) {
        let node = node(backend).await;
        let run = sin_ficha(&node, 1)[0];
        let (status, body) = solicitar(&node, "minvu", json!({ "run": run.to_string() })).await;
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
);

per_backend!(
    /// A registry written by hand: a person with no household at all (a birth not yet placed) and
    /// one whose household in Santiago has no ficha; the node's deadline set to 7 days.
    async fn a_person_without_household_gets_one_and_the_deadline_follows_the_config(backend) {
        use crate::support::{SHIPPED, TestDb, make_pki, test_config, tls_client};
        use siis::db::models::{Hogar, Integrante, Persona};
        use siis::db::schema::{hogares, personas};

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
                .execute(&mut **conn)
                .unwrap();
        }
        diesel::insert_into(hogares::table)
            .values(Hogar {
                id: 1,
                cut: "13101".into(),
                direccion: "Calle 1".into(),
            })
            .execute(&mut **conn)
            .unwrap();
        diesel::insert_into(integrantes::table)
            .values(Integrante {
                run: con_hogar as i32,
                hogar_id: 1,
                parentesco: "jefe".into(),
            })
            .execute(&mut **conn)
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
        // The person who moved has a household of their own in Valparaíso; the one they left
        // stays in Santiago (a survey never moves a household: tests/it/encuestaje/traslado.rs).
        let cuts: Vec<String> = hogares::table
            .order(hogares::id)
            .select(hogares::cut)
            .load(&mut **pool.get().unwrap())
            .unwrap();
        assert_eq!(cuts, ["13101", "05101", "05101"]);
        node.stop().await.unwrap();
        drop(pool);
        drop(db);
    }
);

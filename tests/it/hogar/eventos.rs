//! Each event, with its reason and author in the history and the review mark where the
//! composition changed.

use super::*;
use crate::per_backend;

per_backend!(
    async fn a_member_added_from_another_comuna_moves_in_and_only_their_old_ficha_knows_why(
        backend
    ) {
        let node = node(backend).await;
        let (hogar, members) = hogar_con(&node, COMUNA, 2, 0);
        let (origen, de_afuera) = hogar_con(&node, OTRA, 2, 0);
        let jefe = members[0].0;
        let llega = de_afuera[1].0;
        let (status, body) = evento(
            &node,
            MUNI,
            jefe,
            json!({
                "evento": "agregar_integrante",
                "run": llega.to_string(),
                "parentesco": "otro_pariente",
                "motivo": "La sobrina se vino a vivir con la familia",
            }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(integrantes_de(&body).contains(&(llega.to_string(), "otro_pariente".into())));
        let e = ultimo(&body);
        assert_eq!(e["evento"], "agregar_integrante");
        assert_eq!(e["motivo"], "La sobrina se vino a vivir con la familia");
        assert_eq!(e["convenio"], MUNI);
        assert_eq!(e["marcaRevision"], true);
        assert_eq!(e["secuencia"], 1);
        assert_eq!(e["integrantes"][0]["run"], llega.to_string());
        assert_eq!(body["enRevision"], true);
        // Nothing of where the person lived reaches Santiago.
        let text = body.to_string();
        assert!(!text.contains(OTRA) && !text.contains("Valpara"), "{text}");
        let (version, miembros, revision) = estado(&node, hogar);
        assert_eq!(version, 1);
        assert!(miembros.contains(&(llega.numero() as i32)));
        assert!(revision.flatten().is_some(), "Santiago's ficha is marked");
        // Valparaíso's household lost a member: its ficha is marked, and its history says so
        // without Santiago's reason or name.
        let (version, miembros, revision) = estado(&node, origen);
        assert_eq!(version, 1);
        assert!(!miembros.contains(&(llega.numero() as i32)));
        assert!(revision.flatten().is_some(), "Valparaíso's ficha is marked");
        let (status, alla) = consultar(&node, "muni-05101", de_afuera[0].0).await;
        assert_eq!(status, 200, "{alla}");
        assert_eq!(alla["enRevision"], true);
        let e = ultimo(&alla);
        assert_eq!(e["evento"], "quitar_integrante");
        assert_eq!(e["integrantes"][0]["run"], llega.to_string());
        assert_eq!(e["motivo"], "traslado a otro hogar");
        assert!(e.get("convenio").is_none() && e.get("usuario").is_none(), "{e}");
        let text = alla.to_string();
        assert!(!text.contains("sobrina") && !text.contains(COMUNA), "{text}");
        // The person is Santiago's now.
        let (status, suyo) = consultar(&node, MUNI, llega).await;
        assert_eq!((status, suyo["run"].as_str()), (200, Some(llega.to_string().as_str())));
        node.stop().await;
    }
);

per_backend!(
    async fn a_member_removed_leaves_for_a_household_of_their_own_without_ficha(backend) {
        let node = node(backend).await;
        let (hogar, members) = hogar_con(&node, COMUNA, 3, 0);
        let (jefe, sale) = (members[0].0, members[2].0);
        let (status, body) = evento(
            &node,
            MUNI,
            jefe,
            json!({
                "evento": "quitar_integrante",
                "run": sale.to_string(),
                "motivo": "Se independizó",
            }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert!(integrantes_de(&body).iter().all(|(r, _)| *r != sale.to_string()));
        let e = ultimo(&body);
        assert_eq!(
            (&e["evento"], &e["motivo"], &e["convenio"], &e["marcaRevision"]),
            (&json!("quitar_integrante"), &json!("Se independizó"), &json!(MUNI), &json!(true))
        );
        assert_eq!(body["enRevision"], true);
        let (version, miembros, revision) = estado(&node, hogar);
        assert_eq!((version, miembros.len()), (1, members.len() - 1));
        assert!(revision.flatten().is_some());
        // Their new household: same comuna, no ficha, them as jefe, and the event that made it.
        let nuevo = hogar_de(&node, sale);
        assert_ne!(nuevo, hogar);
        let (status, suyo) = consultar(&node, MUNI, sale).await;
        assert_eq!(status, 200, "{suyo}");
        assert_eq!(suyo["comuna"]["codigo"], COMUNA);
        assert!(suyo.get("folio").is_none() && suyo.get("enRevision").is_none(), "{suyo}");
        assert_eq!(integrantes_de(&suyo), [(sale.to_string(), "jefe".to_owned())]);
        assert_eq!(ultimo(&suyo)["evento"], "quitar_integrante");
        assert_eq!(ultimo(&suyo)["motivo"], "Se independizó");
        node.stop().await;
    }
);

per_backend!(
    /// What marks a ficha is its model's to say: FPS-2026-2 lists `cambiar_domicilio` in its
    /// `[revision] eventos`, so an address change marks a ficha scored with it, while the same
    /// change leaves a ficha without a model (and one of FPS-2026-1) unmarked.
    async fn a_ficha_is_marked_by_the_events_its_model_lists(backend) {
        let node = node(backend).await;
        let (hogar, members) = hogar_con(&node, COMUNA, 1, 0);
        let (otro, otros) = hogar_con(&node, COMUNA, 1, 1);
        for (h, modelo) in [(hogar, "FPS-2026-2"), (otro, "FPS-2026-1")] {
            diesel::update(
                fichas::table
                    .filter(fichas::hogar_id.eq(h))
                    .filter(fichas::estado.eq("vigente")),
            )
            .set(fichas::modelo.eq(modelo))
            .execute(&mut node.db())
            .unwrap();
        }
        for ((h, run), marcado) in [((hogar, members[0].0), true), ((otro, otros[0].0), false)] {
            let (status, body) = evento(
                &node,
                MUNI,
                run,
                json!({ "evento": "cambiar_domicilio", "direccion": "Serrano 120", "motivo": "Se mudaron" }),
            )
            .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["enRevision"], marcado, "{body}");
            assert_eq!(ultimo(&body)["marcaRevision"], marcado);
            let (_, _, revision) = estado(&node, h);
            assert_eq!(revision.unwrap().is_some(), marcado);
        }
        node.stop().await;
    }
);

per_backend!(
    async fn a_change_of_address_is_kept_in_the_history_and_marks_nothing(backend) {
        let node = node(backend).await;
        let (hogar, members) = hogar_con(&node, COMUNA, 1, 0);
        let run = members[0].0;
        let (status, body) = evento(
            &node,
            MUNI,
            run,
            json!({
                "evento": "cambiar_domicilio",
                "direccion": "Av. Matta 1020, depto. 42",
                "comuna": COMUNA,
                "motivo": "Cambio de arriendo",
            }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["direccion"], "Av. Matta 1020, depto. 42");
        assert_eq!(body["enRevision"], false);
        let e = ultimo(&body);
        assert_eq!(e["evento"], "cambiar_domicilio");
        assert_eq!(e["direccion"], "Av. Matta 1020, depto. 42");
        assert_eq!(e["motivo"], "Cambio de arriendo");
        assert_eq!(e["convenio"], MUNI);
        assert_eq!(e["marcaRevision"], false);
        assert!(e["registrado"].as_str().unwrap().ends_with('Z'));
        let (version, _, revision) = estado(&node, hogar);
        assert_eq!((version, revision), (1, Some(None)));
        // A second one: the history keeps both, in order.
        let (status, body) = evento(
            &node,
            MUNI,
            run,
            json!({ "evento": "cambiar_domicilio", "direccion": "San Diego 50", "motivo": "Otra vez" }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let secuencias: Vec<i64> = body["eventos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["secuencia"].as_i64().unwrap())
            .collect();
        assert_eq!(secuencias, [1, 2]);
        node.stop().await;
    }
);

per_backend!(
    async fn a_split_forms_a_household_without_ficha_and_marks_the_one_that_keeps_it(backend) {
        let node = node(backend).await;
        let (hogar, members) = hogar_con(&node, COMUNA, 3, 0);
        let jefe = members[0].0;
        let se_van: Vec<Run> = members[1..].iter().map(|(r, _)| *r).collect();
        let (status, body) = evento(
            &node,
            MUNI,
            jefe,
            json!({
                "evento": "dividir",
                "runs": se_van.iter().map(Run::to_string).collect::<Vec<_>>(),
                "direccion": "Pasaje 3, casa 12",
                "motivo": "Allegados que formaron su propio hogar",
            }),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            integrantes_de(&body),
            [(jefe.to_string(), "jefe".to_owned())],
            "the jefe keeps the ficha"
        );
        let e = ultimo(&body);
        assert_eq!(e["evento"], "dividir");
        assert_eq!(e["direccion"], "Pasaje 3, casa 12");
        assert_eq!(e["motivo"], "Allegados que formaron su propio hogar");
        assert_eq!(e["marcaRevision"], true);
        let listed: Vec<&str> = e["integrantes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["run"].as_str().unwrap())
            .collect();
        assert_eq!(listed, se_van.iter().map(Run::to_string).collect::<Vec<_>>());
        let (version, _, revision) = estado(&node, hogar);
        assert_eq!(version, 1);
        assert!(revision.flatten().is_some());
        let nuevo = hogar_de(&node, se_van[0]);
        assert_ne!(nuevo, hogar);
        assert!(se_van.iter().all(|r| hogar_de(&node, *r) == nuevo));
        let (status, suyo) = consultar(&node, MUNI, se_van[1]).await;
        assert_eq!(status, 200, "{suyo}");
        assert_eq!(suyo["direccion"], "Pasaje 3, casa 12");
        assert!(suyo.get("folio").is_none(), "no ficha: {suyo}");
        let jefes: Vec<String> = integrantes_de(&suyo)
            .into_iter()
            .filter(|(_, p)| p == "jefe")
            .map(|(r, _)| r)
            .collect();
        assert_eq!(jefes, [se_van[0].to_string()], "the first listed heads it");
        assert_eq!(ultimo(&suyo)["evento"], "dividir");
        node.stop().await;
    }
);

per_backend!(
    /// Whoever a living person is and wherever they lived (another comuna with or without
    /// ficha, no household at all), they join alike; an unknown and a deceased RUN are refused
    /// alike.
    async fn joining_answers_alike_for_every_person_from_elsewhere(backend) {
        let node = node(backend).await;
        let mut conn = node.db();
        let con_ficha = crate::registry::with_ficha(&mut conn, Some(OTRA));
        let sin_hogar = crate::registry::without_household(&mut conn);
        let fallecido = crate::ambito::deceased(&mut conn, COMUNA, false);
        drop(conn);
        let sin_ficha = {
            let with: Vec<i64> = fichas::table
                .select(fichas::hogar_id)
                .load(&mut node.db())
                .unwrap();
            let run: i32 = integrantes::table
                .inner_join(hogares::table)
                .inner_join(personas::table)
                .filter(personas::fecha_defuncion.is_null())
                .filter(hogares::cut.ne(COMUNA))
                .filter(integrantes::hogar_id.ne_all(with))
                .select(personas::run)
                .order(personas::run)
                .first(&mut node.db())
                .unwrap();
            Run::from_numero(run as u32).unwrap()
        };
        let mut shapes = Vec::new();
        for (skip, llega) in [con_ficha, sin_ficha, sin_hogar].into_iter().enumerate() {
            let (_, members) = hogar_con(&node, COMUNA, 2, skip + 1);
            let (status, body) = evento(
                &node,
                MUNI,
                members[0].0,
                json!({ "evento": "agregar_integrante", "run": llega.to_string(),
                        "parentesco": "no_pariente", "motivo": "Llegó a vivir" }),
            )
            .await;
            let mut e = ultimo(&body).clone();
            e["registrado"] = Value::Null;
            e["integrantes"][0]["run"] = json!("RUN");
            shapes.push((status, e, body["enRevision"].clone()));
        }
        assert_eq!(shapes[0].0, 200, "{:?}", shapes[0]);
        assert!(shapes.iter().all(|s| *s == shapes[0]), "{shapes:?}");
        let (_, members) = hogar_con(&node, COMUNA, 2, 5);
        let before = eventos_guardados(&node);
        let mut refusals = Vec::new();
        for llega in [crate::registry::unknown(), fallecido] {
            let (status, body) = evento(
                &node,
                MUNI,
                members[0].0,
                json!({ "evento": "agregar_integrante", "run": llega.to_string(),
                        "parentesco": "hijo", "motivo": "Llegó a vivir" }),
            )
            .await;
            refusals.push((status, body["code"].clone(), body["detail"].clone()));
        }
        assert_eq!(refusals[0].1, "PERSONA_NO_INCORPORABLE");
        assert_eq!(refusals[0], refusals[1]);
        assert_eq!(eventos_guardados(&node), before, "nothing recorded");
        node.stop().await;
    }
);

per_backend!(
    /// An event recorded from the console names the official as well as the agreement (the
    /// console's call carries the user: `Admission::usuario`).
    async fn a_console_user_is_recorded_as_the_author(backend) {
        use siis::convenios::ConvenioSet;
        use siis::domain::ConvenioId;
        use siis::ops::hogar::{Autor, evento::EventoEntrada, registrar};
        let node = node(backend).await;
        let set = ConvenioSet::load_dir(&crate::support::repo_path("convenios")).unwrap();
        let convenio = set.get(&ConvenioId::parse(MUNI).unwrap()).unwrap();
        let usuario = Run::parse("11.111.111-1").unwrap();
        let (_, members) = hogar_con(&node, COMUNA, 1, 0);
        let entrada = EventoEntrada {
            evento: "cambiar_domicilio".into(),
            direccion: Some("Huérfanos 1400".into()),
            motivo: Some("Informado en la ventanilla".into()),
            ..EventoEntrada::default()
        };
        let modelos = siis::modelos::Modelos::load(
            &crate::support::repo_path("conf/modelos"),
            "FPS-2026-1",
        )
        .unwrap();
        let autor = Autor {
            convenio,
            usuario: Some(usuario),
            modelos: &modelos,
        };
        let hogar = registrar(&autor, &mut node.db(), members[0].0, &entrada).unwrap();
        let e = hogar.eventos.unwrap().pop().unwrap();
        assert_eq!(
            (e.convenio.as_deref(), e.usuario.as_deref()),
            (Some(MUNI), Some("11111111-1"))
        );
        // Read back over REST, the history names the official too.
        let (_, body) = consultar(&node, MUNI, members[0].0).await;
        assert_eq!(ultimo(&body)["usuario"], "11111111-1");
        node.stop().await;
    }
);

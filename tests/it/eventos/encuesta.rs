//! A survey's result: each member's ficha, and a move from another comuna.

use super::*;
use crate::per_backend;

per_backend!(
    async fn a_survey_records_each_members_ficha_and_a_move_from_another_comuna(backend) {
        use crate::encuesta::{encuestar, integrante, lista};
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 3_000,
                ..Setup::default()
            },
        )
        .await;
        let mut db = node.db();
        // A questionnaire in Santiago: the person (no ficha) and one who lived in Valparaíso
        // in a household with a ficha.
        let (id, run) = lista(&node, 0).await;
        let (hogar_v, _, folio_v) = hogares_de(&mut db, "05101")
            .into_iter()
            .find(|(_, m, f)| m.len() >= 2 && f.is_some())
            .map(|(h, m, f)| (h, m, f.unwrap()))
            .expect("a household of Valparaíso with a ficha");
        let de_valparaiso: i32 = integrantes::table
            .filter(integrantes::hogar_id.eq(hogar_v))
            .select(integrantes::run)
            .order(integrantes::run)
            .first(&mut db)
            .unwrap();
        let de_valparaiso = Run::from_numero(de_valparaiso as u32).unwrap();
        let cut_antes = hogar(&mut db, run).1;
        let antes = ultimo(&mut db);
        let body = encuestar(vec![
            integrante(run, "jefe", false),
            integrante(de_valparaiso, "conyuge", false),
        ]);
        let (status, done) = crate::encuestaje::evento(&node, "muni-13101", &id, body).await;
        assert_eq!(status, 200, "{done}");
        let folio = done["folio"].as_i64().unwrap();
        let puntaje = done["puntaje"].as_i64().unwrap();
        let (hogar_id, cut) = hogar(&mut db, run);
        assert_eq!(cut, "13101");
        let got = eventos_desde(&mut db, antes);
        let quintil = siis::domain::Puntaje::new(puntaje).unwrap().quintil().number();
        let ficha = |anterior: Option<i64>| {
            let mut d = json!({ "folio": folio, "puntaje": puntaje, "quintil": quintil,
                                "fechaAplicacion": siis::broker::local_today(), "comuna": "13101" });
            if let Some(a) = anterior {
                d["folioAnterior"] = a.into();
            }
            d
        };
        let mudanza = |desde: &str| json!({ "comuna": "13101", "comunaAnterior": desde });
        // Each member in RUN order: a move of comuna first, then the ficha.
        let mut miembros = vec![
            (numero(run), (cut_antes != "13101").then(|| mudanza(&cut_antes)), ficha(None), "ficha_creada"),
            (numero(de_valparaiso), Some(mudanza("05101")), ficha(Some(folio_v)), "ficha_reemplazada"),
        ];
        miembros.sort_by_key(|m| m.0);
        let mut expected = Vec::new();
        for (r, movida, datos, tipo) in miembros {
            if let Some(m) = movida {
                expected.push(("comuna_cambiada", r, m));
            }
            expected.push((tipo, r, datos));
        }
        let shown: Vec<_> = got
            .iter()
            .map(|e| (e.tipo.as_str(), e.run, e.datos.clone()))
            .collect();
        assert_eq!(shown, expected, "{backend:?}");
        assert!(got.iter().all(|e| e.hogar_id == Some(hogar_id)
            && e.cut.as_deref() == Some("13101")
            && e.origen == "encuestaje"
            && e.origen_id == id));

        // A bare score (no questionnaire): a ficha event for each member of the household it
        // scored, which had none.
        let (id2, otro) = lista(&node, 1).await;
        let antes = ultimo(&mut db);
        let solo = json!({ "evento": "encuestar", "puntaje": 8_000,
                           "fechaAplicacion": siis::broker::local_today() });
        let (status, done) = crate::encuestaje::evento(&node, "muni-13101", &id2, solo).await;
        assert_eq!(status, 200, "{done}");
        let (hogar2, _) = hogar(&mut db, otro);
        let miembros: Vec<i32> = integrantes::table
            .filter(integrantes::hogar_id.eq(hogar2))
            .select(integrantes::run)
            .order(integrantes::run)
            .load(&mut db)
            .unwrap();
        let fichas_de: Vec<_> = eventos_desde(&mut db, antes)
            .into_iter()
            .filter(|e| e.tipo != "comuna_cambiada")
            .map(|e| (e.tipo, e.run, e.hogar_id, e.origen_id, e.datos["folio"].clone()))
            .collect();
        let expected: Vec<_> = miembros
            .iter()
            .map(|r| ("ficha_creada".to_owned(), *r, Some(hogar2), id2.clone(), done["folio"].clone()))
            .collect();
        assert_eq!(fichas_de, expected, "{backend:?}");
        node.stop().await;
    }
);

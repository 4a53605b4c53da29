//! A survey with its questionnaire: the score is the model's, stored with the model's name;
//! the household as surveyed replaces the composition only for the persons surveyed.

use diesel::prelude::*;
use serde_json::json;
use siis::db::schema::{encuestas, fichas, integrantes};

use super::{
    de_otra_comuna, encuestar, ficha_de, hogar_de, integrante, lista, node, puntaje_esperado,
};
use crate::encuestaje::evento;
use crate::per_backend;
use crate::support::access_report;

per_backend!(
    async fn el_puntaje_es_del_modelo_y_el_hogar_es_el_encuestado(backend) {
        let node = node(backend).await;
        let (id, jefe) = lista(&node, 0).await;
        // A member from a household of another comuna, which has other members and a ficha.
        let (mudado, hogar_antiguo, folio_antiguo) = de_otra_comuna(&node);
        let (status, r) = evento(
            &node,
            "muni-13101",
            &id,
            encuestar(vec![
                integrante(jefe, "jefe", false),
                integrante(mudado, "conyuge", false),
            ]),
        )
        .await;
        assert_eq!(status, 200, "{r}");
        assert_eq!(r["estado"], "encuestada");
        let (folio, puntaje, modelo, encuestador) = ficha_de(&node, jefe).expect("a ficha");
        assert_eq!(r["folio"], folio);
        assert_eq!(r["puntaje"], puntaje);
        assert_eq!(modelo.as_deref(), Some("FPS-2026-1"), "the model in force");
        assert_eq!(encuestador.as_deref(), Some("muni-13101"));
        assert_eq!(puntaje, i32::from(puntaje_esperado(&node, folio, "FPS-2026-1")));
        let direccion: String = encuestas::table
            .find(folio)
            .select(encuestas::direccion)
            .first(&mut node.db())
            .unwrap();
        assert_eq!(direccion, "Pasaje Los Aromos 1234");
        // The member from elsewhere moved in; their old household keeps its ficha and others.
        let hogar = hogar_de(&node, jefe);
        assert_eq!(hogar_de(&node, mudado), hogar);
        let vigente: String = fichas::table
            .find(folio_antiguo)
            .select(fichas::estado)
            .first(&mut node.db())
            .unwrap();
        assert_eq!(vigente, "vigente", "the old household's ficha stays");
        let quedan: i64 = integrantes::table
            .filter(integrantes::hogar_id.eq(hogar_antiguo))
            .count()
            .get_result(&mut node.db())
            .unwrap();
        assert!(quedan >= 1, "the old household keeps its other members");
        // Both members are the request's subjects: each one's access report shows it (the
        // subjects' index is written just after the record: wait for it a little).
        for run in [jefe, mudado] {
            let mut seen = false;
            for _ in 0..50 {
                let report = access_report(&node, run).await;
                seen = report["accesos"].as_array().unwrap().iter().any(|a| {
                    a["convenio"] == "muni-13101" && a["operacion"] == "TrabajarEncuestaje"
                });
                if seen {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            assert!(seen, "{run} sees the survey in their access report: {}", access_report(&node, run).await);
        }

        // Surveyed again under FPS-2026-2 without the member: they leave for a household of
        // their own in the comuna, without a ficha; the old ficha keeps its score and model.
        diesel::update(fichas::table.find(folio))
            .set(fichas::estado.eq("anulada"))
            .execute(&mut node.db())
            .unwrap();
        let id2 = crate::encuestaje::nueva(&node, jefe).await;
        let (status, r) = evento(&node, "muni-13101", &id2, crate::encuestaje::programar(0)).await;
        assert_eq!(status, 200, "{r}");
        let mut body = encuestar(vec![integrante(jefe, "jefe", false)]);
        body["modelo"] = json!("FPS-2026-2");
        let (status, r) = evento(&node, "muni-13101", &id2, body).await;
        assert_eq!(status, 200, "{r}");
        let (folio2, puntaje2, modelo2, _) = ficha_de(&node, jefe).expect("a new ficha");
        assert_ne!(folio2, folio);
        assert_eq!(modelo2.as_deref(), Some("FPS-2026-2"));
        assert_eq!(puntaje2, i32::from(puntaje_esperado(&node, folio2, "FPS-2026-2")));
        assert_eq!(hogar_de(&node, jefe), hogar, "the surveyed household is kept");
        let propio = hogar_de(&node, mudado);
        assert_ne!(propio, hogar, "the member not listed left");
        assert_eq!(ficha_de(&node, mudado), None, "their new household has no ficha");
        let (p, m): (i32, Option<String>) = fichas::table
            .find(folio)
            .select((fichas::puntaje, fichas::modelo))
            .first(&mut node.db())
            .unwrap();
        assert_eq!((p, m.as_deref()), (puntaje, Some("FPS-2026-1")));
        node.stop().await;
    }
);

per_backend!(
    async fn una_ficha_conserva_puntaje_y_modelo_cuando_cambia_el_vigente(backend) {
        let node = node(backend).await;
        let (id, jefe) = lista(&node, 0).await;
        let (id2, otro) = lista(&node, 1).await;
        let (status, r) = evento(
            &node,
            "muni-13101",
            &id,
            encuestar(vec![integrante(jefe, "jefe", false)]),
        )
        .await;
        assert_eq!(status, 200, "{r}");
        let antes = ficha_de(&node, jefe).unwrap();
        assert_eq!(antes.2.as_deref(), Some("FPS-2026-1"));
        let node = node
            .restart_with(|c| c.encuesta.vigente = "FPS-2026-2".into())
            .await
            .expect("the node starts with another model in force");
        assert_eq!(ficha_de(&node, jefe).unwrap(), antes, "nothing is rescored");
        let lookup: serde_json::Value = node
            .client(Some("minvu"))
            .get(node.agency_url(&format!("/api/v1/personas/{jefe}/ficha")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(lookup["puntaje"], antes.1, "{lookup}");
        // A survey naming no model now uses the new one in force.
        let (status, r) = evento(
            &node,
            "muni-13101",
            &id2,
            encuestar(vec![integrante(otro, "jefe", false)]),
        )
        .await;
        assert_eq!(status, 200, "{r}");
        let (folio, puntaje, modelo, _) = ficha_de(&node, otro).unwrap();
        assert_eq!(modelo.as_deref(), Some("FPS-2026-2"));
        assert_eq!(puntaje, i32::from(puntaje_esperado(&node, folio, "FPS-2026-2")));
        node.stop().await;
    }
);

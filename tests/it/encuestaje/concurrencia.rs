//! Concurrent changes: one event per version, one open request per person, one folio per survey.

use super::*;
use crate::per_backend;

per_backend!(
    async fn concurrent_events_on_one_request_apply_once(backend) {
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
        let asks = ["minvu", "ips", "ips", "minvu"].map(|a| {
            let node = &node;
            async move { solicitar(node, a, json!({ "run": other.to_string() })).await }
        });
        let outcomes = futures_util::future::join_all(asks).await;
        let mut statuses: Vec<u16> = outcomes.iter().map(|(s, _)| *s).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409, 409, 409], "{outcomes:?}");
        node.stop().await;
    }
);

per_backend!(
    /// The guard itself: a change decided on a version that is no longer stored applies nothing,
    /// whatever the timing of real requests (which the test above cannot force).
    async fn a_change_decided_on_a_stale_version_is_not_applied(backend) {
        use siis::ops::encuestaje::store::{self, EventoFila};
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
        assert_eq!(
            applied,
            store::Aplicacion::Cambiada,
            "the stale change lost"
        );
        assert_eq!(stored(&node, &id), ("visita_programada".into(), 1, 2));
        node.stop().await;
    }
);

per_backend!(
    /// Surveys of different households at once each get a ficha of their own (on PostgreSQL two of
    /// them may pick the same next folio: the loser is retried, not failed).
    async fn concurrent_surveys_of_different_households_each_get_their_folio(backend) {
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
);

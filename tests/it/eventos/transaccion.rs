//! The events' transaction: none outlives a failed audit record; ids in commit order.

use super::*;
use crate::per_backend;

per_backend!(
    async fn no_event_outlives_a_failed_audit_record(backend) {
        use crate::encuestaje::{evento, nueva, programar, sin_ficha};
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 3_000,
                ..Setup::default()
            },
        )
        .await;
        let mut db = node.db();
        let run = sin_ficha(&node, 1)[0];
        let id = nueva(&node, run).await;
        assert_eq!(evento(&node, "muni-13101", &id, programar(0)).await.0, 200);
        let muerto = registry::with_ficha(&mut db, None);
        crate::soap::break_audit(&mut db);
        let before = ultimo(&mut db);

        let encuesta = json!({ "evento": "encuestar", "puntaje": 8_000,
                               "fechaAplicacion": siis::broker::local_today() });
        assert_eq!(evento(&node, "muni-13101", &id, encuesta).await.0, 503);
        let response = node
            .client(Some("srcei"))
            .post(node.agency_url("/api/v1/lotes/defunciones"))
            .header("content-type", "text/csv")
            .body(format!("run,fecha_defuncion,comuna\n{muerto},2026-10-02,13101\n"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(ultimo(&mut db), before, "{backend:?}: an event without its change");
        assert!(eventos_desde(&mut db, 0).is_empty());
        node.stop().await;
    }
);

per_backend!(
    async fn a_second_writer_of_events_waits_for_the_first_and_gets_a_greater_id(backend) {
        use siis::eventos::{Evento as Nuevo, Origen, Tipo, registrar};
        let node = start(backend).await;
        let run = registry::with_ficha(&mut node.db(), None);
        let evento = |origen_id: &str| Nuevo {
            tipo: Tipo::Defuncion,
            run,
            run_relacionado: None,
            hogar_id: None,
            cut: None,
            datos: json!({ "fechaDefuncion": "2026-10-02" }),
            origen: Origen::Lote,
            origen_id: origen_id.into(),
        };
        let (primero_listo, listo) = std::sync::mpsc::channel();
        let (seguir, esperar) = std::sync::mpsc::channel::<()>();
        let mut a = node.db();
        let e = evento("a");
        let primero = std::thread::spawn(move || {
            siis::db::write_transaction(&mut a, |c| {
                registrar(c, &e)?;
                primero_listo.send(()).unwrap();
                esperar.recv().unwrap();
                Ok::<_, diesel::result::Error>(())
            })
            .unwrap();
        });
        listo.recv().unwrap();
        let mut b = node.db();
        let e = evento("b");
        let (hecho, segundo_hecho) = std::sync::mpsc::channel();
        let segundo = std::thread::spawn(move || {
            siis::db::write_transaction(&mut b, |c| registrar(c, &e)).unwrap();
            hecho.send(()).unwrap();
        });
        // The second waits while the first has not committed.
        assert!(
            segundo_hecho
                .recv_timeout(std::time::Duration::from_millis(500))
                .is_err(),
            "{backend:?}: the second writer did not wait for the first's commit"
        );
        seguir.send(()).unwrap();
        primero.join().unwrap();
        segundo.join().unwrap();
        let got = eventos_desde(&mut node.db(), 0);
        let orden: Vec<&str> = got.iter().map(|e| e.origen_id.as_str()).collect();
        assert_eq!(orden, ["a", "b"], "{backend:?}");
        node.stop().await;
    }
);

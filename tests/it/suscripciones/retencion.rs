//! Retention (docs/eventos.md, *Retention*): final entregas and events no subscription needs
//! are purged in order, what is not delivered stays however old, and a pull cursor older than
//! what is kept is answered `410 CURSOR_VENCIDO` (REST and SOAP) while a kept one still reads.

use std::time::Duration;

use diesel::prelude::*;
use serde_json::json;
use siis::config::RetencionConfig;
use siis::db::schema::{auditoria, entregas, eventos};
use siis::ops::retencion::{Purgadas, purgar};

use super::outbox::{Evento, esperar_despacho, registrar};
use super::{defuncion, leer, persona, pull, vistos};
use crate::per_backend;
use crate::soap::client::{SUSCRIPCIONES, V, call, estado};
use crate::support::{Setup, TestNode};

const DIA_US: i64 = 86_400_000_000;

fn ahora() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// 30 days for entregas and events, two rows per transaction (so that a purge takes several).
fn retencion() -> RetencionConfig {
    RetencionConfig {
        entregas_dias: 30.0,
        eventos_dias: 30.0,
        lote: 2,
        pausa_ms: 0,
        ..RetencionConfig::default()
    }
}

fn purga(node: &TestNode) -> Purgadas {
    purgar(&mut node.db(), &retencion(), ahora(), &|| true).expect("purge")
}

/// The secuencias subscription `id` keeps.
fn guardadas(node: &TestNode, id: &str) -> Vec<i64> {
    entregas::table
        .filter(entregas::suscripcion_id.eq(id))
        .order(entregas::secuencia)
        .select(entregas::secuencia)
        .load(&mut node.db())
        .unwrap()
}

fn eventos_guardados(node: &TestNode) -> Vec<i64> {
    eventos::table
        .order(eventos::id)
        .select(eventos::id)
        .load(&mut node.db())
        .unwrap()
}

/// Every event, and every delivery already made, recorded `dias` ago.
fn envejecer(node: &TestNode, dias: i64) {
    let antes = ahora() - dias * DIA_US;
    let mut conn = node.db();
    diesel::update(eventos::table)
        .set(eventos::registrado_us.eq(antes))
        .execute(&mut conn)
        .unwrap();
    diesel::update(entregas::table.filter(entregas::entregada_us.is_not_null()))
        .set(entregas::entregada_us.eq(Some(antes)))
        .execute(&mut conn)
        .unwrap();
}

per_backend!(
    async fn final_rows_go_in_order_and_what_is_not_delivered_stays(backend) {
        let node = TestNode::start(backend).await;
        let a = pull(&node, "ips", json!({"tipos": ["defuncion"], "entrega": "pull"})).await;
        let b = pull(&node, "ips", json!({"tipos": ["defuncion"], "entrega": "pull"})).await;
        let ids = registrar(&node, &(1..=6).map(|i| defuncion(9_100_000 + i, "13101")).collect::<Vec<_>>()).await;
        // A reads 1 to 4; B reads nothing.
        let (status, page) = leer(&node, "ips", &a, 0, 4).await;
        assert_eq!((status, vistos(&page).len()), (200, 4), "{page}");
        envejecer(&node, 40);
        // A's fourth was delivered yesterday: it stays, and so does every row after it.
        diesel::update(entregas::table.filter(entregas::suscripcion_id.eq(&a)).filter(entregas::secuencia.eq(4)))
            .set(entregas::entregada_us.eq(Some(ahora() - DIA_US)))
            .execute(&mut node.db())
            .unwrap();

        let hecho = purga(&node);
        assert_eq!(hecho, Purgadas { entregas: 3, eventos: 0, dci_resultado: 0 });
        assert_eq!(guardadas(&node, &a), vec![4, 5, 6]);
        // B's rows were never read: kept however old, and with them every event.
        assert_eq!(guardadas(&node, &b), (1..=6).collect::<Vec<_>>());
        assert_eq!(eventos_guardados(&node), ids);
        // A second purge finds nothing more.
        assert_eq!(purga(&node), Purgadas::default());

        // A cursor older than what A keeps: 410, naming the oldest readable one.
        for despues in [0, 2] {
            let (status, answer) = leer(&node, "ips", &a, despues, 10).await;
            assert_eq!((status, answer["code"].as_str()), (410, Some("CURSOR_VENCIDO")), "{answer}");
            assert!(answer["detail"].as_str().unwrap().contains("despues=3"), "{answer}");
            assert_eq!(answer["campo"], "despues");
        }
        // It is audited as a refusal of the read, naming nobody.
        let (resultado, sujetos): (String, String) = auditoria::table
            .filter(auditoria::convenio.eq("ips"))
            .order(auditoria::id.desc())
            .select((auditoria::resultado, auditoria::sujetos))
            .first(&mut node.db())
            .unwrap();
        assert_eq!(resultado, "CURSOR_VENCIDO");
        assert!(!sujetos.contains("9100"), "{sujetos}");
        // The oldest kept cursor still reads, and nothing after it is missing.
        let (status, page) = leer(&node, "ips", &a, 3, 10).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(vistos(&page).iter().map(|(s, _)| *s).collect::<Vec<_>>(), vec![4, 5, 6]);

        // A dead letter is never purged, nor what follows it.
        envejecer(&node, 40);
        diesel::update(entregas::table.filter(entregas::suscripcion_id.eq(&a)).filter(entregas::secuencia.eq(5)))
            .set(entregas::estado.eq("muerta"))
            .execute(&mut node.db())
            .unwrap();
        // Closing B revokes its rows: final, they go; the events A still holds stay.
        let r = node.client(Some("ips")).delete(node.agency_url(&format!("/api/v1/suscripciones/{b}"))).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let hecho = purga(&node);
        // A's fourth and B's six rows; the events only they named (1 to 4).
        assert_eq!(hecho, Purgadas { entregas: 7, eventos: 4, dci_resultado: 0 });
        assert_eq!(guardadas(&node, &a), vec![5, 6]);
        assert_eq!(guardadas(&node, &b), Vec::<i64>::new());
        assert_eq!(eventos_guardados(&node), ids[4..].to_vec());
        let (status, answer) = leer(&node, "ips", &a, 3, 10).await;
        assert_eq!((status, answer["code"].as_str()), (410, Some("CURSOR_VENCIDO")), "{answer}");
        node.stop().await;
    }
);

per_backend!(
    async fn recent_rows_and_events_stay(backend) {
        let node = TestNode::start(backend).await;
        let a = pull(&node, "ips", json!({"tipos": ["defuncion"], "entrega": "pull"})).await;
        let ids = registrar(&node, &[defuncion(9_200_001, "13101"), defuncion(9_200_002, "13101")]).await;
        let (status, _) = leer(&node, "ips", &a, 0, 10).await;
        assert_eq!(status, 200);
        // Read today, recorded today: nothing is old enough.
        assert_eq!(purga(&node), Purgadas::default());
        assert_eq!(guardadas(&node, &a), vec![1, 2]);
        // An event no subscription took, older than its retention, goes once the fan-out has
        // passed it; a recent one stays.
        let sueltos = registrar(&node, &[Evento::new("nacimiento", persona(9_200_003), "13101", json!({})),
                                        Evento::new("nacimiento", persona(9_200_004), "13101", json!({}))]).await;
        diesel::update(eventos::table.filter(eventos::id.eq(sueltos[0])))
            .set(eventos::registrado_us.eq(ahora() - 31 * DIA_US))
            .execute(&mut node.db())
            .unwrap();
        diesel::update(eventos::table.filter(eventos::id.le(ids[1])))
            .set(eventos::registrado_us.eq(ahora() - 31 * DIA_US))
            .execute(&mut node.db())
            .unwrap();
        assert_eq!(purga(&node), Purgadas { entregas: 0, eventos: 1, dci_resultado: 0 });
        assert_eq!(eventos_guardados(&node), vec![ids[0], ids[1], sueltos[1]]);
        node.stop().await;
    }
);

per_backend!(
    async fn soap_answers_a_purged_cursor_with_a_fault(backend) {
        let node = TestNode::start(backend).await;
        let a = pull(&node, "ips", json!({"tipos": ["defuncion"], "entrega": "pull"})).await;
        registrar(&node, &[defuncion(9_300_001, "13101"), defuncion(9_300_002, "13101")]).await;
        leer(&node, "ips", &a, 0, 1).await;
        envejecer(&node, 40);
        assert_eq!(purga(&node).entregas, 1);
        let ips = node.client(Some("ips"));
        let svc = &SUSCRIPCIONES;
        for v in V::BOTH {
            let answer = call(&ips, &node, v, svc, "LeerEventos", None,
                &format!("<su:id>{a}</su:id><su:despues>0</su:despues><su:limite>10</su:limite>")).await;
            let fault = answer.fault(v);
            assert_eq!((fault.codigo.as_str(), fault.estado.as_str()), ("CURSOR_VENCIDO", "03"), "{}", answer.shown());
            assert!(fault.glosa.contains("despues=1"), "{}", answer.shown());
            let answer = call(&ips, &node, v, svc, "LeerEventos", None,
                &format!("<su:id>{a}</su:id><su:despues>1</su:despues><su:limite>10</su:limite>")).await;
            let r = answer.respuesta(v, svc, "LeerEventos");
            assert_eq!(estado(&r), "00", "{}", answer.shown());
            assert_eq!(r.at("cuerpo/eventos").unwrap().all("notificacion").count(), 1);
        }
        node.stop().await;
    }
);

per_backend!(
    async fn the_node_purges_on_its_own_and_counts_it(backend) {
        let node = TestNode::start_with(backend, Setup {
            configure: Some(Box::new(|c| {
                c.retencion.cada_secs = 1;
                c.retencion.eventos_dias = 0.0001; // about 9 seconds
                c.retencion.pausa_ms = 0;
            })),
            ..Setup::default()
        }).await;
        let ids = registrar(&node, &[Evento::new("nacimiento", persona(9_400_001), "13101", json!({}))]).await;
        diesel::update(eventos::table)
            .set(eventos::registrado_us.eq(ahora() - DIA_US))
            .execute(&mut node.db())
            .unwrap();
        let limite = std::time::Instant::now() + Duration::from_secs(20);
        while eventos_guardados(&node).contains(&ids[0]) {
            assert!(std::time::Instant::now() < limite, "the node never purged the event");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let metrics = crate::metricas::scrape(&node).await;
        assert!(metrics.contains("siis_retencion_purgadas_total{tabla=\"eventos\"} 1"), "{metrics}");
        node.stop().await;
    }
);

per_backend!(
    async fn an_event_the_fan_out_has_not_passed_stays(backend) {
        // The fan-out looks only when told (or every ten minutes): the test decides when.
        let node = TestNode::start_with(backend, Setup {
            configure: Some(Box::new(|c| c.notificaciones.sondeo_ms = 600_000)),
            ..Setup::default()
        }).await;
        let viejo = ahora() - 31 * DIA_US;
        diesel::insert_into(eventos::table)
            .values((
                eventos::tipo.eq("nacimiento"),
                eventos::run.eq(9_500_001),
                eventos::datos.eq("{}"),
                eventos::origen.eq("lote"),
                eventos::origen_id.eq("1"),
                eventos::registrado_us.eq(viejo),
            ))
            .execute(&mut node.db())
            .unwrap();
        let id = eventos_guardados(&node)[0];
        assert_eq!(purga(&node), Purgadas::default());
        assert_eq!(eventos_guardados(&node), vec![id]);
        // Once fanned out (to nobody), it goes.
        node.node.broker.eventos_nuevos.notify_one();
        esperar_despacho(&node, id).await;
        assert_eq!(purga(&node).eventos, 1);
        assert!(eventos_guardados(&node).is_empty());
        node.stop().await;
    }
);

//! A provider batch is checked before its body is read (agreement, kind, limits, batches in
//! progress), costs one unit of the rate and quota per record, is read in bounded records and
//! never has the file's own text echoed back in an error.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{count_lotes, post};
use crate::per_backend;
use crate::support::{Setup, TestNode, convenios_with, repo_path};
use crate::trust::{Raw, RawAnswer, raw_config};

/// Sends `tipo` as `convenio` over a connection of its own, declaring a body of `length` bytes
/// but sending only its first line: a node that reads the body before refusing never answers.
async fn declared(
    node: &TestNode,
    convenio: &str,
    tipo: &str,
    length: u64,
) -> (RawAnswer, Duration) {
    let config = raw_config(&node.pki, convenio);
    let addr = node.node.agency;
    let path = format!("/api/v1/lotes/{tipo}");
    tokio::task::spawn_blocking(move || {
        let mut raw = Raw::connect(&config, addr).unwrap();
        let started = Instant::now();
        let answer = raw
            .send_declaring(
                "POST",
                &path,
                &[("Content-Type", "text/csv")],
                length,
                "run,nombres,apellido_paterno,apellido_materno,fecha_nacimiento,sexo,nacionalidad\n",
            )
            .expect("an answer before the body is sent");
        (answer, started.elapsed())
    })
    .await
    .unwrap()
}

/// A `personas` batch of `n` new persons.
fn personas(n: u32) -> Vec<u8> {
    let mut csv = String::from(
        "run,nombres,apellido_paterno,apellido_materno,fecha_nacimiento,sexo,nacionalidad\n",
    );
    for i in 0..n {
        let run = siis::domain::Run::from_numero(71_500_000 + i).unwrap();
        csv.push_str(&format!(
            "{run},ANA,ROJAS,SOTO,1990-01-0{},F,CL\n",
            1 + i % 9
        ));
    }
    csv.into_bytes()
}

/// SRCeI's agreement under another id, with these limits (a burst never below the rate).
fn proveedor(id: &str, per_second: u32, burst: u32, quota: u64) -> String {
    let shipped = std::fs::read_to_string(repo_path("convenios/srcei.toml")).unwrap();
    let text = shipped.replace("\"srcei\"", &format!("\"{id}\"")).replace(
        "per_second = 2000\nburst = 200000\ndaily_quota = 5000000",
        &format!("per_second = {per_second}\nburst = {burst}\ndaily_quota = {quota}"),
    );
    assert!(
        text.contains(&format!("burst = {burst}\n")),
        "the shipped limits were found"
    );
    text
}

per_backend!(
    async fn a_batch_is_refused_before_its_body_is_read(backend) {
        let node = TestNode::start(backend).await;
        // The listeners start with the runtime's first await.
        assert_eq!(post(&node, "srcei", "nacimientos", "text/csv", Vec::new(), None).await.status(), 400);

        // A kind the agreement does not grant: 403 at once, the 100 MB never awaited.
        let (answer, took) = declared(&node, "srcei", "fichas", 100_000_000).await;
        assert_eq!((answer.status, answer.json()["code"].as_str()), (403, Some("NO_AUTORIZADO")));
        assert!(took < Duration::from_secs(5), "{took:?}");

        // A declared length over broker.lotes_max_bytes: 413 at once.
        let (answer, took) = declared(&node, "srcei", "personas", 5 << 30).await;
        assert_eq!((answer.status, answer.json()["code"].as_str()), (413, Some("DEMASIADO_GRANDE")));
        assert!(took < Duration::from_secs(5), "{took:?}");

        // One batch in progress (its body still arriving) takes the agreement's only place: a
        // second is refused at once, and once the first is gone the second goes through.
        let config = raw_config(&node.pki, "srcei");
        let addr = node.node.agency;
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let first = tokio::task::spawn_blocking(move || {
            let mut raw = Raw::connect(&config, addr).unwrap();
            // Headers and part of the body, then wait: the node holds the batch in progress.
            let _ = raw.send_partial(
                "POST",
                "/api/v1/lotes/personas",
                &[("Content-Type", "text/csv")],
                1_000_000,
                "run,nombres",
            );
            started_tx.send(()).unwrap();
            release_rx.recv().ok();
            drop(raw);
        });
        started_rx.recv().unwrap();
        let mut second = None;
        for _ in 0..50 {
            let response = post(&node, "srcei", "personas", "text/csv", personas(2), None).await;
            if response.status() == 429 {
                second = Some(response);
                break;
            }
            // The first batch may not have been admitted yet.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let second = second.expect("a second batch in progress is refused");
        assert!(second.headers().contains_key("retry-after"));
        let body: Value = second.json().await.unwrap();
        assert_eq!(body["code"], "LOTES_EN_CURSO");
        release_tx.send(()).unwrap();
        first.await.unwrap();
        let mut applied = false;
        for _ in 0..50 {
            let response = post(&node, "srcei", "personas", "text/csv", personas(2), None).await;
            if response.status() == 200 {
                applied = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(applied, "the place is given back when the first batch's client goes away");
        node.stop().await;
    }
);

per_backend!(
    async fn a_batch_costs_one_unit_per_record(backend) {
        // A provider of at most 5 persons at once and 6 a day.
        let dir = tempfile::TempDir::new().unwrap();
        let convenios =
            convenios_with(dir.path(), &[("proveedor-prueba.toml", proveedor("proveedor-prueba", 5, 5, 6))]);
        let node = TestNode::start_with(
            backend,
            Setup {
                convenios: Some(convenios),
                ..Setup::default()
            },
        )
        .await;
        let id = "proveedor-prueba";
        // Six records: more than the burst, refused whole, nothing applied.
        let response = post(&node, id, "personas", "text/csv", personas(6), None).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!((status, body["code"].as_str()), (413, Some("LOTE_SUPERA_RAFAGA")), "{body}");
        assert_eq!(count_lotes(&mut node.db()), 0);
        // Five, once the bucket is full again (5 a second): applied, and with the refused
        // request's unit the day's six are used.
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let response = post(&node, id, "personas", "text/csv", personas(5), None).await;
        assert_eq!(response.status(), 200);
        // The quota is checked before the next body is read (the rate has room again).
        tokio::time::sleep(Duration::from_millis(1_200)).await;
        let (answer, took) = declared(&node, id, "personas", 100_000_000).await;
        assert_eq!((answer.status, answer.json()["code"].as_str()), (429, Some("CUOTA_EXCEDIDA")));
        assert!(took < Duration::from_secs(5), "{took:?}");

        // After a restart the day's records are restored from the batches applied (5 of 6):
        // a batch of 2 no longer fits.
        let node = node.restart().await;
        let response = post(&node, id, "personas", "text/csv", personas(2), None).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!((status, body["code"].as_str()), (429, Some("CUOTA_EXCEDIDA")), "{body}");
        node.stop().await;
    }
);

/// With `cluster.nodo`, a batch's records draw on the budget the nodes share (`limites`): the
/// first before the body is read, the rest once it is read, from the batch's blocking thread.
#[actix_web::test]
async fn a_batch_draws_on_the_budget_the_nodes_share() {
    use diesel::prelude::*;
    let Some(backend) = crate::support::postgres_only() else {
        return;
    };
    let dir = tempfile::TempDir::new().unwrap();
    let id = "proveedor-prueba";
    let convenios = convenios_with(
        dir.path(),
        &[("proveedor-prueba.toml", proveedor(id, 5, 5, 6))],
    );
    let node = TestNode::start_with(
        backend,
        Setup {
            convenios: Some(convenios),
            configure: Some(Box::new(|c| c.cluster.nodo = Some("a".into()))),
            ..Setup::default()
        },
    )
    .await;
    let response = post(&node, id, "personas", "text/csv", personas(5), None).await;
    assert_eq!(response.status(), 200);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let response = post(&node, id, "personas", "text/csv", personas(2), None).await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("CUOTA_EXCEDIDA")),
        "{body}"
    );
    let siis::db::DbConnection::Pg(mut pg) = node.db() else {
        unreachable!()
    };
    let usados: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "usados FROM limites WHERE convenio = 'proveedor-prueba' AND presupuesto = 'lotes'",
    ))
    .get_result(&mut pg)
    .unwrap();
    assert_eq!(usados, 6, "5 records, then the second batch's first");
    assert_eq!(count_lotes(&mut node.db()), 1);
    node.stop().await;
}

/// A batch's error, as (status, code, the whole answer).
async fn refused(
    node: &TestNode,
    tipo: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, String, String) {
    let response = post(node, "srcei", tipo, content_type, body, None).await;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let code = serde_json::from_str::<Value>(&text).unwrap()["code"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    (status, code, text)
}

per_backend!(
    async fn records_are_bounded_and_the_files_text_is_never_echoed(backend) {
        let node = TestNode::start(backend).await;
        let marker = "ZQXSECRETOZQX";
        let header = "run,nombres,apellido_paterno,apellido_materno,fecha_nacimiento,sexo,nacionalidad\n";

        // A quote never closed, and an endless XML text: refused, not held in memory.
        let mut csv = format!("{header}71.000.001-8,\"");
        csv.push_str(&"A".repeat(200_000));
        let (status, code, _) = refused(&node, "personas", "text/csv", csv.into_bytes()).await;
        assert_eq!((status, code.as_str()), (400, "LOTE_REGISTRO_DEMASIADO_GRANDE"));
        let xml = format!(
            "<lote xmlns=\"http://www.siis.gob.cl/esquemas/lotes/v1\" tipo=\"personas\"><registro><run>{}</run></registro></lote>",
            "1".repeat(200_000)
        );
        let (status, code, _) = refused(&node, "personas", "application/xml", xml.into_bytes()).await;
        assert_eq!((status, code.as_str()), (400, "LOTE_REGISTRO_DEMASIADO_GRANDE"));

        // What the file says does not come back: a header, the kind attribute, an element, an
        // end tag, a comuna.
        let cases: Vec<(&str, &str, String)> = vec![
            ("personas", "text/csv", format!("run,{marker},x\n1-9,a,b\n")),
            (
                "personas",
                "application/xml",
                format!("<lote xmlns=\"http://www.siis.gob.cl/esquemas/lotes/v1\" tipo=\"{marker}\"></lote>"),
            ),
            (
                "defunciones",
                "application/xml",
                format!(
                    "<lote xmlns=\"http://www.siis.gob.cl/esquemas/lotes/v1\" tipo=\"defunciones\"><registro><run>71.000.001-8</run></{marker}></lote>"
                ),
            ),
            ("defunciones", "text/csv", format!("run,fecha_defuncion,comuna\n71.000.001-8,2026-01-01,{marker}\n")),
        ];
        for (tipo, content_type, body) in cases {
            let (status, code, text) = refused(&node, tipo, content_type, body.into_bytes()).await;
            assert!(status == 400 || status == 200, "{status} {text}");
            assert!(!code.is_empty() || status == 200, "{text}");
            assert!(!text.contains(marker), "the file's text came back: {text}");
        }
        let xml = format!(
            "<lote xmlns=\"http://www.siis.gob.cl/esquemas/lotes/v1\" tipo=\"defunciones\"><registro><{marker}>1</{marker}><run>71.000.001-8</run></registro></lote>"
        );
        let (_, _, text) = refused(&node, "defunciones", "application/xml", xml.into_bytes()).await;
        assert!(text.contains("CAMPO_DESCONOCIDO"), "{text}");
        assert!(!text.contains(marker), "the element's name came back: {text}");
        // The two batches whose bad part was one record were applied (with it rejected).
        assert_eq!(count_lotes(&mut node.db()), 2);
        node.stop().await;
    }
);

per_backend!(
    async fn a_bad_provider_batch_id_is_refused_and_nothing_is_applied(backend) {
        let node = TestNode::start(backend).await;
        // Empty, longer than 128 characters, or with a space or a control character.
        let long = "x".repeat(129);
        for clave in ["", long.as_str(), "srcei 2026", "srcei\t1"] {
            let answer = post(&node, "srcei", "personas", "text/csv", personas(2), Some(clave)).await;
            assert_eq!(answer.status(), 400, "{clave:?}");
            let problem: Value = answer.json().await.unwrap();
            assert_eq!(problem["code"], "LOTE_CLAVE_INVALIDA", "{clave:?}");
            assert!(
                !problem["detail"].as_str().unwrap().contains("srcei"),
                "the id is not echoed: {problem}"
            );
        }
        assert_eq!(count_lotes(&mut node.db()), 0);
        // The same batch with a good id is applied.
        let answer = post(&node, "srcei", "personas", "text/csv", personas(2), Some("srcei-1")).await;
        assert_eq!(answer.status(), 200);
        assert_eq!(count_lotes(&mut node.db()), 1);
    }
);

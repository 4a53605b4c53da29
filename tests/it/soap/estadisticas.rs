//! EstadisticasTerritoriales over SOAP 1.1 and 1.2: the same cells as REST, answers valid
//! against `schemas/estadisticas-v1.xsd`, bad parameters as estadoSobre 03, refusals as Faults,
//! every request audited as `soap`.

use std::time::Duration;

use diesel::prelude::*;
use serde_json::Value;
use siis::db::schema::{estadisticas_calculo, estadisticas_celdas};
use siis::ops::estadisticas::resumen;

use super::client::{ESTADISTICAS, V, call, check_schema, estado, xmllint_available};
use super::{assert_fault, audit_after, last_audit_id};
use crate::estadisticas::{
    Cifras, Tabla15, assert_nothing_small_nor_derivable, pocos_hogares, tabla15_rest,
};
use crate::per_backend;
use crate::support::{Setup, TestNode};

const OP: &str = "EstadisticasTerritoriales";

/// A cell as both transports show it: code, quintile, reserved, persons, average score.
type Cell = (String, String, String, Option<u64>, Option<f64>);

per_backend!(
    async fn soap_answers_the_same_cells_as_rest_and_refuses_like_it(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 4_000,
                ..Setup::default()
            },
        )
        .await;
        let mut waited = Duration::ZERO;
        while resumen::calculado_en(&mut node.db()).unwrap().is_none() {
            assert!(waited < Duration::from_secs(60), "never computed at start");
            tokio::time::sleep(Duration::from_millis(50)).await;
            waited += Duration::from_millis(50);
        }
        let muni = node.client(Some("muni-13101"));
        let rest: Value = muni
            .get(node.agency_url("/api/v1/estadisticas?nivel=comuna&region=13&quintil=1,2"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let rest_cells: Vec<Cell> = rest["celdas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["codigo"].as_str().unwrap().to_owned(),
                    c["quintil"].as_str().unwrap().to_owned(),
                    c["reservado"].to_string(),
                    c["personas"].as_u64(),
                    c["puntajePromedio"].as_f64(),
                )
            })
            .collect();
        for v in V::BOTH {
            let before = last_audit_id(&node);
            let cuerpo = "<et:nivel>comuna</et:nivel><et:region>13</et:region>\
                          <et:quintil>1</et:quintil><et:quintil>2</et:quintil>";
            let a = call(&muni, &node, v, &ESTADISTICAS, OP, None, cuerpo).await;
            let r = a.respuesta(v, &ESTADISTICAS, OP);
            assert_eq!(estado(&r), "00", "{}", a.shown());
            if xmllint_available() {
                check_schema(ESTADISTICAS.xsd, &r).unwrap_or_else(|e| panic!("{e}"));
            }
            let est = r.at("cuerpo/estadisticas").expect("estadisticas");
            assert_eq!(est.text_at("calculadoEn"), rest["calculadoEn"].as_str());
            let soap_cells: Vec<Cell> = est
                .all("celda")
                .map(|c| {
                    (
                        c.text_at("codigo").unwrap().to_owned(),
                        c.text_at("quintil").unwrap().to_owned(),
                        c.text_at("reservado").unwrap().to_owned(),
                        c.text_at("personas").map(|p| p.parse().unwrap()),
                        c.text_at("puntajePromedio").map(|p| p.parse().unwrap()),
                    )
                })
                .collect();
            assert_eq!(soap_cells, rest_cells, "{v:?}");

            // Bad parameters: an outcome (estadoSobre 03), not a Fault.
            for (cuerpo, codigo) in [
                ("<et:region>99</et:region>", "REGION_DESCONOCIDA"),
                ("<et:comuna>99999</et:comuna>", "COMUNA_DESCONOCIDA"),
                ("<et:quintil>7</et:quintil>", "QUINTIL_INVALIDO"),
                ("<et:nivel>pais</et:nivel>", "NIVEL_INVALIDO"),
            ] {
                let a = call(&muni, &node, v, &ESTADISTICAS, OP, None, cuerpo).await;
                let r = a.respuesta(v, &ESTADISTICAS, OP);
                assert_eq!(estado(&r), "03", "{cuerpo}: {}", a.shown());
                assert!(r.at("cuerpo/estadisticas").is_none());
                let audited = audit_after(&node, last_audit_id(&node) - 1);
                assert_eq!(audited[0].resultado, codigo);
            }
            // Not granted: a Fault with estadoSobre 02.
            let orasmi = node.client(Some("orasmi-13"));
            let a = call(&orasmi, &node, v, &ESTADISTICAS, OP, None, "").await;
            assert_fault(&a, v, true, "02", "NO_AUTORIZADO");

            let audited = audit_after(&node, before);
            assert_eq!(audited.len(), 6);
            for row in &audited {
                assert_eq!(
                    (row.operacion.as_str(), row.transporte.as_str()),
                    (OP, "soap")
                );
                assert!(row.sujetos.is_empty() || row.sujetos == "[]", "{row:?}");
            }
            assert_eq!(audited[0].resultado, "OK");
            assert!(audited[0].campos.contains("celdas.personas"));
        }
        // Before any computation: a Fault 07, the registry's data not available.
        let mut conn = node.db();
        diesel::delete(estadisticas_celdas::table)
            .execute(&mut conn)
            .unwrap();
        diesel::delete(estadisticas_calculo::table)
            .execute(&mut conn)
            .unwrap();
        for v in V::BOTH {
            let before = last_audit_id(&node);
            let a = call(&muni, &node, v, &ESTADISTICAS, OP, None, "").await;
            // A Receiver Fault: 500 in both versions, and so in the audit record.
            assert_fault(&a, v, false, "07", "ESTADISTICAS_NO_CALCULADAS");
            let audited = audit_after(&node, before);
            assert_eq!(audited.len(), 1);
            assert_eq!(audited[0].estado_http, 500, "{v:?}");
        }
        node.stop().await;
    }
);

per_backend!(
    async fn soap_reserves_few_households_among_many_persons_as_rest_does(backend) {
        let node = TestNode::start(backend).await;
        pocos_hogares(&node).await;
        let rest = tabla15_rest(&node, "operador").await;
        let operador = node.client(Some("operador"));
        for v in V::BOTH {
            let mut tabla = Tabla15::new();
            for cuerpo in [
                "<et:nivel>comuna</et:nivel><et:region>15</et:region>",
                "<et:region>15</et:region>",
                "",
            ] {
                let a = call(&operador, &node, v, &ESTADISTICAS, OP, None, cuerpo).await;
                let r = a.respuesta(v, &ESTADISTICAS, OP);
                assert_eq!(estado(&r), "00", "{}", a.shown());
                for c in r.at("cuerpo/estadisticas").expect("estadisticas").all("celda") {
                    let n = |k: &str| c.text_at(k).map(|t| t.parse::<u64>().unwrap());
                    let cifras = if c.text_at("reservado") == Some("true") {
                        assert_eq!((n("personas"), n("hogares"), n("fichas")), (None, None, None));
                        Cifras::Reservada
                    } else {
                        Cifras::Publicada {
                            personas: n("personas").unwrap(),
                            hogares: n("hogares").unwrap(),
                            fichas: n("fichas").unwrap(),
                        }
                    };
                    let key = (
                        c.text_at("codigo").unwrap_or("").to_owned(),
                        c.text_at("quintil").unwrap().to_owned(),
                    );
                    tabla.insert(key, cifras);
                }
            }
            assert_nothing_small_nor_derivable(&tabla);
            assert_eq!(tabla, rest, "{v:?}");
        }
        node.stop().await;
    }
);

//! Cupos and the waiting list: operators set the cupos; the decree's ranking grants the
//! verified postulations by score, then date, then id, within the cupos left; a list shows only
//! its own comuna.

use super::*;
use crate::per_backend;
use siis::ops::postulacion::{clasificar, marcar};
use siis::reglas::Rules;

async fn cupos(node: &TestNode, convenio: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = node.client(Some(convenio));
    let url = node.agency_url(&format!("/api/v1/cupos/{path}"));
    let request = match body {
        Some(body) => client.put(url).json(&body),
        None => client.get(url),
    };
    json_of(request.send().await.unwrap()).await
}

per_backend!(
    async fn operators_set_cupos_and_everyone_else_is_refused(backend) {
        let node = TestNode::start(backend).await;
        let path = format!("13101/SAP/{}", anio());
        let (status, c) = cupos(&node, "operador", &path, None).await;
        assert_eq!(status, 200, "{c}");
        assert_eq!((c["cupos"].as_u64(), c["usados"].as_u64(), c.get("fijadoPor")), (Some(0), Some(0), None));
        let (status, c) = cupos(&node, "operador", &path, Some(json!({ "cupos": 3 }))).await;
        assert_eq!(status, 200, "{c}");
        assert_eq!(
            c,
            json!({ "comuna": { "codigo": "13101", "nombre": "SANTIAGO" }, "programa": "SAP",
                    "anio": anio(), "cupos": 3, "usados": 0, "disponibles": 3, "fijadoPor": "operador" })
        );
        let (_, c) = cupos(&node, "operador", &path, Some(json!({ "cupos": 5 }))).await;
        assert_eq!(c["cupos"], 5, "replaced");
        for (path, body, status, code) in [
            (format!("13101/SAP/{}", anio()), json!({ "cupos": -1 }), 400, "CUPOS_INVALIDOS"),
            (format!("13101/SAP/{}", anio()), json!({ "cupos": 1_000_001 }), 400, "CUPOS_INVALIDOS"),
            ("13101/SAP/1999".to_owned(), json!({ "cupos": 1 }), 400, "CUPOS_INVALIDOS"),
            ("13101/SAP/dos".to_owned(), json!({ "cupos": 1 }), 400, "CUPOS_INVALIDOS"),
            (format!("13101/PBS/{}", anio()), json!({ "cupos": 1 }), 404, "PROGRAMA_DESCONOCIDO"),
            (format!("99999/SAP/{}", anio()), json!({ "cupos": 1 }), 400, "COMUNA_DESCONOCIDA"),
        ] {
            let (got, e) = cupos(&node, "operador", &path, Some(body)).await;
            assert_eq!((got, e["code"].as_str()), (status, Some(code)), "{path} {e}");
        }
        let (_, c) = cupos(&node, "operador", &format!("13101/SAP/{}", anio()), None).await;
        assert_eq!(c["cupos"], 5, "bad input changed nothing");
        // A municipality does not set its own cupos.
        let (status, e) = cupos(&node, "muni-13101", &path, Some(json!({ "cupos": 99 }))).await;
        assert_eq!((status, e["code"].as_str()), (403, Some("NO_AUTORIZADO")), "{e}");
    }
);

per_backend!(
    async fn three_cupos_go_to_the_lowest_scores_then_the_earliest_then_by_id(backend) {
        let node = TestNode::start(backend).await;
        // Five SAP applicants in 13101, one in 05101 (scores), and one whose check fails.
        let puntajes = [9_000, 7_000, 8_000, 7_000, 8_000];
        let mut runs = Vec::new();
        {
            let mut conn = node.db();
            for (i, p) in puntajes.iter().enumerate() {
                let run = persona(&mut conn, 23_000_001 + i as u32, 40);
                hogar(&mut conn, 1 + i as i64, "13101", Some(*p), &[run]);
                runs.push(run);
            }
            let otra = persona(&mut conn, 23_000_100, 40);
            hogar(&mut conn, 100, "05101", Some(1_000), &[otra]);
            let alta = persona(&mut conn, 23_000_200, 40);
            hogar(&mut conn, 200, "13101", Some(15_000), &[alta]);
        }
        let mut ids = Vec::new();
        for run in runs.iter().chain([Run::from_numero(23_000_200).unwrap()].iter()) {
            let (status, p) = postular(&node, "muni-13101", json!({ "run": run.to_string(), "programa": "SAP" })).await;
            assert_eq!(status, 201, "{p}");
            ids.push(p["id"].as_str().unwrap().to_owned());
        }
        let (status, _) = postular(&node, "muni-05101", json!({ "run": Run::from_numero(23_000_100).unwrap().to_string(), "programa": "SAP" })).await;
        assert_eq!(status, 201);
        // The 8.000 of the fifth was postulated a day before the third's.
        let ayer = hoy().pred_opt().unwrap();
        diesel::update(postulaciones::table.find(&ids[4]))
            .set(postulaciones::fecha_postulacion.eq(ayer))
            .execute(&mut node.db())
            .unwrap();
        let (status, _) = cupos(&node, "operador", &format!("13101/SAP/{}", anio()), Some(json!({ "cupos": 3 }))).await;
        assert_eq!(status, 200);

        // 7.000 and 7.000 (same day: by id), then the 8.000 postulated first; the rest wait.
        let mut empatados = [ids[1].clone(), ids[3].clone()];
        empatados.sort();
        let esperado_otorgables = [empatados[0].clone(), empatados[1].clone(), ids[4].clone()];
        let esperado_espera = [ids[2].clone(), ids[0].clone()];

        // The waiting list over REST: verified ones, in priority order, this comuna only.
        let (status, lista) = listar(&node, "muni-13101", "13101", "?programa=SAP&estado=verificada").await;
        assert_eq!(status, 200, "{lista}");
        let orden: Vec<&str> = lista["postulaciones"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
        let todos: Vec<&str> = esperado_otorgables.iter().chain(esperado_espera.iter()).map(String::as_str).collect();
        assert_eq!(orden, todos);
        assert_eq!(lista["total"], 5);

        let rules = Rules::load(&crate::support::repo_path("conf/elegibilidad.toml")).unwrap();
        let mut conn = node.db();
        let c = clasificar(&mut conn, &rules, "13101", "SAP", anio(), hoy()).unwrap();
        let ids_de = |v: &[siis::db::models::PostulacionFila]| v.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
        assert_eq!((c.cupos, c.usados), (3, 0));
        assert_eq!(ids_de(&c.otorgables), esperado_otorgables);
        assert_eq!(ids_de(&c.en_espera), esperado_espera);
        assert!(c.otorgables.iter().chain(&c.en_espera).all(|f| f.cut == "13101"));

        // The decree marks them; the cupos are then used up and the next ranking grants none.
        // (A decree of this year's: the cupos count what the year's decrees granted.)
        {
            use siis::db::schema::decretos;
            diesel::insert_into(decretos::table)
                .values((
                    decretos::folio.eq("DEC-PRUEBA"),
                    decretos::cut.eq("13101"),
                    decretos::programa.eq("SAP"),
                    decretos::periodo.eq(format!("{}-01", anio())),
                    decretos::anio.eq(anio()),
                    decretos::numero.eq(1),
                    decretos::otorgadas.eq(3),
                    decretos::lineas_sha256.eq("0".repeat(64)),
                    decretos::payload.eq("x.y"),
                    decretos::convenio.eq("muni-13101"),
                    decretos::emitido_us.eq(0i64),
                ))
                .execute(&mut conn)
                .unwrap();
        }
        assert_eq!(marcar(&mut conn, &ids_de(&c.otorgables), "otorgada", Some("DEC-PRUEBA")).unwrap(), 3);
        assert_eq!(marcar(&mut conn, &ids_de(&c.en_espera), "en_espera", Some("DEC-PRUEBA")).unwrap(), 2);
        assert!(marcar(&mut conn, &ids_de(&c.en_espera), "anulada", None).is_err());
        drop(conn);
        let (_, used) = cupos(&node, "operador", &format!("13101/SAP/{}", anio()), None).await;
        assert_eq!((used["usados"].as_u64(), used["disponibles"].as_u64()), (Some(3), Some(0)));
        let mut conn = node.db();
        let c = clasificar(&mut conn, &rules, "13101", "SAP", anio(), hoy()).unwrap();
        assert!(c.otorgables.is_empty());
        assert_eq!(ids_de(&c.en_espera), esperado_espera, "en_espera still competes, in order");
        drop(conn);
        let (_, p) = leer(&node, "muni-13101", &ids[1]).await;
        assert_eq!((p["estado"].as_str(), p["decretoFolio"].as_str()), (Some("otorgada"), Some("DEC-PRUEBA")));
    }
);

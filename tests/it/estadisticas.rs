//! EstadisticasTerritoriales over REST: suppression as a user sees it (of persons, households
//! and fichas alike), bad input, grants and projection, the audit record of every request, and
//! how the summary stays fresh. (SOAP: `soap/estadisticas.rs`.)

use std::collections::HashMap;
use std::time::Duration;

use diesel::prelude::*;
use serde_json::Value;
use siis::db::DbConnection;
use siis::db::schema::{auditoria, estadisticas_calculo, estadisticas_celdas, fichas, hogares};
use siis::db::schema::{integrantes, personas};
use siis::ops::estadisticas::resumen;

use crate::per_backend;
use crate::support::{Setup, TestNode};

/// Persons in the test registry: enough for published cells, few enough for suppressed ones.
const PERSONS: u64 = 4_000;

async fn node_with_statistics(backend: crate::support::Backend) -> TestNode {
    let node = TestNode::start_with(
        backend,
        Setup {
            persons: PERSONS,
            ..Setup::default()
        },
    )
    .await;
    wait_computed(&node).await;
    node
}

/// Waits for the computation a node makes by itself when it starts with no summary (after it,
/// nothing else writes the summary for an hour, so tests see a stable one).
async fn wait_computed(node: &TestNode) {
    let mut waited = Duration::ZERO;
    while resumen::calculado_en(&mut node.db()).unwrap().is_none() {
        assert!(waited < Duration::from_secs(60), "never computed at start");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
}

async fn get(node: &TestNode, convenio: &str, query: &str) -> (u16, Value) {
    let response = node
        .client(Some(convenio))
        .get(node.agency_url(&format!("/api/v1/estadisticas{query}")))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("JSON body");
    (status, body)
}

fn celdas(body: &Value) -> &Vec<Value> {
    body["celdas"].as_array().expect("celdas")
}

/// The cells of one territory by quintile (`1`..`5`, `total`).
fn fila<'a>(body: &'a Value, codigo: &str) -> HashMap<String, &'a Value> {
    celdas(body)
        .iter()
        .filter(|c| c["codigo"] == codigo)
        .map(|c| (c["quintil"].as_str().unwrap().to_owned(), c))
        .collect()
}

/// Living members of households with a ficha in force, in comuna `cut`, counted directly.
fn living_with_ficha(conn: &mut DbConnection, cut: &str) -> i64 {
    integrantes::table
        .inner_join(personas::table)
        .inner_join(hogares::table)
        .inner_join(fichas::table.on(fichas::hogar_id.eq(integrantes::hogar_id)))
        .filter(fichas::estado.eq("vigente"))
        .filter(personas::fecha_defuncion.is_null())
        .filter(hogares::cut.eq(cut))
        .count()
        .get_result(conn)
        .expect("count")
}

per_backend!(
    async fn small_cells_are_reserved_and_none_can_be_derived_from_published_ones(backend) {
        let node = node_with_statistics(backend).await;
        let (status, body) = get(&node, "operador", "?nivel=comuna").await;
        assert_eq!(status, 200, "{body}");
        assert!(body["calculadoEn"].as_str().unwrap().ends_with('Z'));
        let cells = celdas(&body);
        assert_eq!(
            cells.len(),
            346 * 6,
            "every comuna, five quintiles and its total"
        );
        let (mut reserved, mut published) = (0, 0);
        for c in cells {
            if c["reservado"] == true {
                reserved += 1;
                for hidden in ["personas", "hogares", "fichas", "puntajePromedio"] {
                    assert!(
                        c.get(hidden).is_none(),
                        "a reserved cell shows no {hidden}: {c}"
                    );
                }
            } else {
                published += 1;
                for count in ["personas", "hogares", "fichas"] {
                    assert!(c[count].as_u64().unwrap() >= 10, "{count}: {c}");
                }
                let avg = c["puntajePromedio"].as_f64().unwrap();
                assert!((2_000.0..=16_400.0).contains(&avg), "{c}");
            }
        }
        assert!(reserved > 0 && published > 0, "{reserved} / {published}");

        // Rows: no comuna has exactly one reserved cell among its quintiles and total.
        let mut by_comuna: HashMap<&str, Vec<bool>> = HashMap::new();
        for c in cells {
            by_comuna
                .entry(c["codigo"].as_str().unwrap())
                .or_default()
                .push(c["reservado"] == true);
        }
        for (cut, row) in &by_comuna {
            assert_ne!(
                row.iter().filter(|r| **r).count(),
                1,
                "comuna {cut}: {row:?}"
            );
            let row = fila(&body, cut);
            let parts: Vec<Cifras> = (1..=5)
                .map(|q| Cifras::from_json(row[&q.to_string()]))
                .collect();
            assert_no_small_sum(
                &Cifras::from_json(row["total"]),
                &parts,
                &format!("comuna {cut}"),
            );
        }
        // Columns: within each region, each quintile (and total) column over its comunas plus
        // the region's own cell never holds exactly one reserved cell.
        let (_, regions) = get(&node, "operador", "?nivel=region").await;
        for region in celdas(&regions) {
            let code = region["codigo"].as_str().unwrap();
            let q = region["quintil"].as_str().unwrap();
            let parts: Vec<Cifras> = cells
                .iter()
                .filter(|c| c["codigo"].as_str().unwrap().starts_with(code) && c["quintil"] == q)
                .map(Cifras::from_json)
                .collect();
            let column: Vec<bool> = parts
                .iter()
                .map(|c| *c == Cifras::Reservada)
                .chain(std::iter::once(region["reservado"] == true))
                .collect();
            assert_ne!(
                column.iter().filter(|r| **r).count(),
                1,
                "region {code} quintile {q}"
            );
            assert_no_small_sum(
                &Cifras::from_json(region),
                &parts,
                &format!("region {code} quintile {q}"),
            );
        }

        // A published total is the registry's own count; published quintiles add up to it
        // when none is reserved.
        let (cut, row) = by_comuna
            .keys()
            .map(|cut| (*cut, fila(&body, cut)))
            .find(|(_, row)| row.values().all(|c| c["reservado"] == false))
            .expect("a comuna published whole");
        let total = row["total"]["personas"].as_i64().unwrap();
        assert_eq!(
            total,
            living_with_ficha(&mut node.db(), cut),
            "comuna {cut}"
        );
        let sum: i64 = (1..=5)
            .map(|q| row[&q.to_string()]["personas"].as_i64().unwrap())
            .sum();
        assert_eq!(sum, total);
        node.stop().await;
    }
);

per_backend!(
    async fn filters_narrow_the_answer_to_the_territory_and_quintiles_asked(backend) {
        let node = node_with_statistics(backend).await;
        let (status, body) = get(&node, "operador", "").await;
        assert_eq!(status, 200);
        let national = celdas(&body);
        assert_eq!(national.len(), 6);
        assert!(national.iter().all(|c| c["ambito"] == "nacional"));
        let total = national.iter().find(|c| c["quintil"] == "total").unwrap();
        assert_eq!(total["reservado"], false);

        let (_, body) = get(&node, "operador", "?region=13&quintil=1,2").await;
        let cells = celdas(&body);
        assert_eq!(
            cells.len(),
            3,
            "quintiles 1 and 2 and the total of region 13"
        );
        assert!(
            cells
                .iter()
                .all(|c| c["ambito"] == "region" && c["codigo"] == "13")
        );

        let (_, body) = get(&node, "operador", "?nivel=comuna&region=05").await;
        let cells = celdas(&body);
        assert!(!cells.is_empty());
        assert!(
            cells
                .iter()
                .all(|c| c["ambito"] == "comuna" && c["codigo"].as_str().unwrap().starts_with("05"))
        );

        let (_, body) = get(&node, "operador", "?comuna=13101&quintil=3").await;
        let cells = celdas(&body);
        assert_eq!(cells.len(), 2);
        assert_eq!(cells[0]["nombre"], "SANTIAGO");
        // The same cell is reserved or not whatever the request: the pattern is national.
        let (_, wide) = get(&node, "operador", "?nivel=comuna").await;
        for c in cells {
            let same = celdas(&wide)
                .iter()
                .find(|w| w["codigo"] == c["codigo"] && w["quintil"] == c["quintil"])
                .unwrap();
            assert_eq!(same, c);
        }
        node.stop().await;
    }
);

per_backend!(
    async fn bad_parameters_get_stable_codes_change_nothing_and_are_audited(backend) {
        let node = node_with_statistics(backend).await;
        let before: (i64, i64) = estadisticas_calculo::table
            .select((
                estadisticas_calculo::calculado_en_us,
                estadisticas_calculo::duracion_ms,
            ))
            .first(&mut node.db())
            .unwrap();
        let cells_before: i64 = estadisticas_celdas::table
            .count()
            .get_result(&mut node.db())
            .unwrap();
        let cases = [
            ("?region=99", "REGION_DESCONOCIDA"),
            ("?region=RM", "REGION_DESCONOCIDA"),
            ("?comuna=99999", "COMUNA_DESCONOCIDA"),
            ("?comuna=1310", "COMUNA_DESCONOCIDA"),
            ("?region=13&comuna=05101", "COMUNA_DESCONOCIDA"),
            ("?quintil=6", "QUINTIL_INVALIDO"),
            ("?quintil=0", "QUINTIL_INVALIDO"),
            ("?quintil=I", "QUINTIL_INVALIDO"),
            ("?quintil=1,,2", "QUINTIL_INVALIDO"),
            ("?nivel=pais", "NIVEL_INVALIDO"),
            ("?nivel=nacional&region=13", "NIVEL_INVALIDO"),
            ("?nivel=region&comuna=13101", "NIVEL_INVALIDO"),
            ("?cuantil=1", "SOLICITUD_INVALIDA"),
        ];
        let audited_before: i64 = auditoria::table.count().get_result(&mut node.db()).unwrap();
        for (query, code) in cases {
            let (status, body) = get(&node, "operador", query).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (400, Some(code)),
                "{query}: {body}"
            );
            assert!(body.get("celdas").is_none());
        }
        let outcomes: Vec<String> = auditoria::table
            .filter(auditoria::operacion.eq("EstadisticasTerritoriales"))
            .order(auditoria::id.asc())
            .select(auditoria::resultado)
            .load(&mut node.db())
            .unwrap();
        let audited_after: i64 = auditoria::table.count().get_result(&mut node.db()).unwrap();
        assert_eq!(audited_after - audited_before, cases.len() as i64);
        let expected: Vec<&str> = cases.iter().map(|(_, code)| *code).collect();
        assert_eq!(outcomes, expected);
        let after: (i64, i64) = estadisticas_calculo::table
            .select((
                estadisticas_calculo::calculado_en_us,
                estadisticas_calculo::duracion_ms,
            ))
            .first(&mut node.db())
            .unwrap();
        let cells_after: i64 = estadisticas_celdas::table
            .count()
            .get_result(&mut node.db())
            .unwrap();
        assert_eq!((before, cells_before), (after, cells_after));
        node.stop().await;
    }
);

per_backend!(
    async fn grants_decide_who_may_ask_and_which_fields_come_back_and_each_request_is_audited(
        backend
    ) {
        let node = node_with_statistics(backend).await;
        // Not granted.
        let (status, body) = get(&node, "orasmi-13", "?nivel=region").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("NO_AUTORIZADO"))
        );

        // MINVU: persons and households only.
        let (status, body) = get(&node, "minvu", "?nivel=region").await;
        assert_eq!(status, 200);
        for c in celdas(&body) {
            assert!(
                c.get("fichas").is_none() && c.get("puntajePromedio").is_none(),
                "{c}"
            );
            if c["reservado"] == false {
                assert!(c["personas"].as_u64().is_some() && c["hogares"].as_u64().is_some());
            }
        }

        // A municipality sees the national table (the suppressed aggregates are not personal
        // data), not only its comuna.
        let (status, body) = get(&node, "muni-13101", "?nivel=comuna&region=05").await;
        assert_eq!(status, 200);
        assert!(celdas(&body).iter().any(|c| c["codigo"] == "05101"));
        let with_fichas = celdas(&body)
            .iter()
            .any(|c| c.get("puntajePromedio").is_some());
        assert!(with_fichas, "municipalities are granted every field");

        // The audit log: one record per request, no subjects, the fields actually disclosed.
        let rows: Vec<(Option<String>, String, String, String)> = auditoria::table
            .filter(auditoria::operacion.eq("EstadisticasTerritoriales"))
            .order(auditoria::id.asc())
            .select((
                auditoria::convenio,
                auditoria::sujetos,
                auditoria::campos,
                auditoria::resultado,
            ))
            .load(&mut node.db())
            .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].0.as_deref(), Some("orasmi-13"));
        assert_eq!(rows[0].3, "NO_AUTORIZADO");
        assert_eq!(rows[1].0.as_deref(), Some("minvu"));
        assert_eq!(rows[1].3, "OK");
        assert!(
            rows.iter().all(|r| r.1.is_empty() || r.1 == "[]"),
            "{rows:?}"
        );
        assert!(rows[1].2.contains("celdas.hogares"), "{}", rows[1].2);
        assert!(!rows[1].2.contains("puntajePromedio"), "{}", rows[1].2);
        assert!(
            rows[2].2.contains("celdas.puntajePromedio"),
            "{}",
            rows[2].2
        );
        node.stop().await;
    }
);

per_backend!(
    async fn the_summary_stays_fresh_by_command_and_says_when_it_was_computed(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: PERSONS,
                ..Setup::default()
            },
        )
        .await;
        // The node computes a missing summary by itself when it starts.
        wait_computed(&node).await;
        let (_, first) = get(&node, "operador", "").await;
        let persons = |b: &Value| {
            celdas(b).iter().find(|c| c["quintil"] == "total").unwrap()["personas"]
                .as_u64()
                .unwrap()
        };

        // A ficha is annulled: answers keep the summary until it is recomputed.
        let hogar: i64 = fichas::table
            .filter(fichas::estado.eq("vigente"))
            .select(fichas::hogar_id)
            .order(fichas::folio)
            .first(&mut node.db())
            .unwrap();
        let members: i64 = integrantes::table
            .inner_join(personas::table)
            .filter(integrantes::hogar_id.eq(hogar))
            .filter(personas::fecha_defuncion.is_null())
            .count()
            .get_result(&mut node.db())
            .unwrap();
        diesel::update(fichas::table.filter(fichas::hogar_id.eq(hogar)))
            .set(fichas::estado.eq("anulada"))
            .execute(&mut node.db())
            .unwrap();
        let (_, same) = get(&node, "operador", "").await;
        assert_eq!(same, first);

        let out = node.siis(&["estadisticas", "recalcular"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("territorial statistics computed at"),
            "{stdout}"
        );
        let (_, fresh) = get(&node, "operador", "").await;
        assert_eq!(persons(&fresh), persons(&first) - members as u64);
        assert!(fresh["calculadoEn"].as_str() >= first["calculadoEn"].as_str());
        node.stop().await;
    }
);

per_backend!(
    async fn before_the_first_computation_the_answer_is_a_clear_503(backend) {
        let node = node_with_statistics(backend).await;
        let mut conn = node.db();
        diesel::delete(estadisticas_celdas::table)
            .execute(&mut conn)
            .unwrap();
        diesel::delete(estadisticas_calculo::table)
            .execute(&mut conn)
            .unwrap();
        let (status, body) = get(&node, "operador", "").await;
        assert_eq!(
            (status, body["code"].as_str()),
            (503, Some("ESTADISTICAS_NO_CALCULADAS")),
            "{body}"
        );
        node.stop().await;
    }
);

/// The region of [`pocos_hogares`]: Arica y Parinacota and its four comunas.
pub(crate) const REGION_POCOS_HOGARES: &str = "15";
const COMUNAS_15: [&str; 4] = ["15101", "15102", "15201", "15202"];
/// 30 persons in 3 households, 3 fichas.
pub(crate) const TRES_HOGARES: (&str, &str) = ("15101", "1");
/// 16 living persons in 8 households, and 4 more fichas of households whose members died.
pub(crate) const OCHO_HOGARES: (&str, &str) = ("15201", "3");

/// An empty registry but for region 15, every cell of whose comunas holds 12 persons in 12
/// households (12 fichas), except two with plenty of persons: [`TRES_HOGARES`] and
/// [`OCHO_HOGARES`]. Every other region is empty (reserved zeros), so within region 15 a
/// reserved cell is protected only by the complements suppression chooses. Then the summary is
/// recomputed (the command line, as an operator would).
pub(crate) async fn pocos_hogares(node: &TestNode) {
    use chrono::NaiveDate;
    use siis::db::models::{Ficha, Hogar, Integrante, Persona};
    wait_computed(node).await;
    // Scores inside each quintile (I ≤ 8,500 … V ≥ 14,558).
    let puntaje = |q: u32| [5_000, 10_000, 12_500, 14_000, 15_500][q as usize - 1];
    let fecha = NaiveDate::from_ymd_opt(2009, 5, 4).expect("date");
    let (mut personas_, mut hogares_, mut integrantes_, mut fichas_) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut run = 40_000_000;
    let mut hogar = 0i64;
    for cut in COMUNAS_15 {
        for q in 1..=5u32 {
            // (households, living members each, households whose members all died)
            let forma = match (cut, q.to_string().as_str()) {
                c if c == TRES_HOGARES => (3, 10, 0),
                c if c == OCHO_HOGARES => (8, 2, 4),
                _ => (12, 1, 0),
            };
            let (vivos, por_hogar, sin_vivos) = forma;
            for h in 0..vivos + sin_vivos {
                hogar += 1;
                hogares_.push(Hogar {
                    id: hogar,
                    cut: cut.to_owned(),
                    direccion: format!("Pasaje {hogar}"),
                });
                fichas_.push(Ficha {
                    folio: 9_000_000 + hogar,
                    hogar_id: hogar,
                    puntaje: puntaje(q),
                    fecha_aplicacion: fecha,
                    cut: cut.to_owned(),
                    estado: "vigente".into(),
                });
                let (miembros, fallecidos) = if h < vivos {
                    (por_hogar, false)
                } else {
                    (1, true)
                };
                for m in 0..miembros {
                    run += 1;
                    personas_.push(Persona {
                        run,
                        nombres: "ROSA".into(),
                        apellido_paterno: "MAMANI".into(),
                        apellido_materno: "CHOQUE".into(),
                        fecha_nacimiento: NaiveDate::from_ymd_opt(1970, 1, 1).expect("date"),
                        sexo: "F".into(),
                        nacionalidad: "CHILENA".into(),
                        fecha_defuncion: fallecidos.then_some(fecha),
                    });
                    integrantes_.push(Integrante {
                        run,
                        hogar_id: hogar,
                        parentesco: if m == 0 { "jefe" } else { "hijo" }.into(),
                    });
                }
            }
        }
    }
    let mut conn = node.db();
    // Row by row: `MultiConnection` has no multi-row INSERT (about a thousand rows here).
    conn.transaction(|conn| {
        for p in &personas_ {
            diesel::insert_into(personas::table)
                .values(p)
                .execute(conn)?;
        }
        for h in &hogares_ {
            diesel::insert_into(hogares::table)
                .values(h)
                .execute(conn)?;
        }
        for i in &integrantes_ {
            diesel::insert_into(integrantes::table)
                .values(i)
                .execute(conn)?;
        }
        for f in &fichas_ {
            diesel::insert_into(fichas::table).values(f).execute(conn)?;
        }
        diesel::QueryResult::Ok(())
    })
    .expect("region 15");
    let out = node.siis(&["estadisticas", "recalcular"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One cell as an agency reads it: reserved, or its three counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cifras {
    Reservada,
    Publicada {
        personas: u64,
        hogares: u64,
        fichas: u64,
    },
}

impl Cifras {
    pub(crate) fn from_json(c: &Value) -> Cifras {
        if c["reservado"] == true {
            return Cifras::Reservada;
        }
        let n = |k: &str| c[k].as_u64().unwrap_or_else(|| panic!("{k} in {c}"));
        Cifras::Publicada {
            personas: n("personas"),
            hogares: n("hogares"),
            fichas: n("fichas"),
        }
    }

    fn counts(&self) -> Option<[u64; 3]> {
        match self {
            Cifras::Reservada => None,
            Cifras::Publicada {
                personas,
                hogares,
                fichas,
            } => Some([*personas, *hogares, *fichas]),
        }
    }
}

/// What subtraction gives an agency in one relation: with the total published, the total less
/// the published parts is the sum of the reserved parts, for each count; it must be 0 or at
/// least 10.
fn assert_no_small_sum(total: &Cifras, parts: &[Cifras], relation: &str) {
    let Some(total) = total.counts() else {
        return;
    };
    let mut derived = total;
    for counts in parts.iter().filter_map(Cifras::counts) {
        for (d, n) in derived.iter_mut().zip(counts) {
            *d -= n;
        }
    }
    for (count, n) in ["personas", "hogares", "fichas"].into_iter().zip(derived) {
        assert!(n == 0 || n >= 10, "{relation}: {n} {count} by subtraction");
    }
}

/// The table of region 15 as answers show it: (territory code, quintile) → cell, for its
/// comunas, the region and the nation.
pub(crate) type Tabla15 = HashMap<(String, String), Cifras>;

/// Checks what an agency can do with [`pocos_hogares`]'s table: every published count is at
/// least 10, the two cells with few households are reserved, and no additive relation (a
/// territory's quintiles to its total, the comunas to the region, the regions to the nation)
/// lets subtraction recover any count of a reserved cell, or a sum of reserved cells under 10.
pub(crate) fn assert_nothing_small_nor_derivable(tabla: &Tabla15) {
    for (cell, cifras) in tabla {
        if let Some(counts) = cifras.counts() {
            assert!(
                counts.iter().all(|n| *n >= 10),
                "{cell:?} publishes {cifras:?}"
            );
        }
    }
    for (cut, q) in [TRES_HOGARES, OCHO_HOGARES] {
        let key = (cut.to_owned(), q.to_owned());
        assert_eq!(tabla[&key], Cifras::Reservada, "{key:?}");
    }
    let cell = |code: &str, q: &str| &tabla[&(code.to_owned(), q.to_owned())];
    let quintiles = ["1", "2", "3", "4", "5"];
    let mut relations: Vec<(&Cifras, Vec<&Cifras>)> = Vec::new();
    for code in COMUNAS_15.iter().chain([&REGION_POCOS_HOGARES]) {
        relations.push((
            cell(code, "total"),
            quintiles.iter().map(|q| cell(code, q)).collect(),
        ));
    }
    for q in quintiles.iter().chain([&"total"]) {
        relations.push((
            cell(REGION_POCOS_HOGARES, q),
            COMUNAS_15.iter().map(|c| cell(c, q)).collect(),
        ));
    }
    for (total, parts) in relations {
        let hidden = parts
            .iter()
            .chain([&total])
            .filter(|c| c.counts().is_none())
            .count();
        assert_ne!(hidden, 1, "one reserved cell in {total:?} = {parts:?}");
        let parts: Vec<Cifras> = parts.into_iter().cloned().collect();
        assert_no_small_sum(total, &parts, &format!("{total:?} = {parts:?}"));
    }
    // The nation is region 15 (every other region is empty), so publishing both is no leak.
    assert_eq!(cell("", "total"), cell(REGION_POCOS_HOGARES, "total"));
}

/// The answers' cells of region 15 (its comunas and itself) and the nation, keyed for
/// [`assert_nothing_small_nor_derivable`]; the nation's code is empty.
fn tabla15(answers: &[&Value]) -> Tabla15 {
    answers
        .iter()
        .flat_map(|a| celdas(a))
        .map(|c| {
            (
                (
                    c["codigo"].as_str().unwrap_or("").to_owned(),
                    c["quintil"].as_str().unwrap().to_owned(),
                ),
                Cifras::from_json(c),
            )
        })
        .collect()
}

/// The REST view of [`pocos_hogares`]'s table.
pub(crate) async fn tabla15_rest(node: &TestNode, convenio: &str) -> Tabla15 {
    let (s1, comunas) = get(node, convenio, "?nivel=comuna&region=15").await;
    let (s2, region) = get(node, convenio, "?region=15").await;
    let (s3, nacion) = get(node, convenio, "").await;
    assert_eq!((s1, s2, s3), (200, 200, 200), "{comunas} {region} {nacion}");
    tabla15(&[&comunas, &region, &nacion])
}

per_backend!(
    async fn many_persons_in_few_households_are_reserved_and_cannot_be_derived(backend) {
        let node = TestNode::start(backend).await;
        pocos_hogares(&node).await;
        let tabla = tabla15_rest(&node, "operador").await;
        assert_eq!(tabla.len(), 6 * 6, "four comunas, the region and the nation");
        assert_nothing_small_nor_derivable(&tabla);
        // Cells of 12 persons in 12 households are published as they are.
        assert_eq!(
            tabla[&("15202".to_owned(), "2".to_owned())],
            Cifras::Publicada {
                personas: 12,
                hogares: 12,
                fichas: 12
            }
        );
        // A municipality sees the same table; MINVU (persons and households) the same pattern.
        assert_eq!(tabla15_rest(&node, "muni-13101").await, tabla);
        let (_, minvu) = get(&node, "minvu", "?nivel=comuna&region=15").await;
        for c in celdas(&minvu) {
            let key = (
                c["codigo"].as_str().unwrap().to_owned(),
                c["quintil"].as_str().unwrap().to_owned(),
            );
            assert_eq!(c["reservado"] == true, tabla[&key] == Cifras::Reservada, "{c}");
            if let Some(h) = c["hogares"].as_u64() {
                assert!(h >= 10, "{c}");
            }
        }
        node.stop().await;
    }
);

//! The outbox (docs/eventos.md): each change a feed, a survey or a decree applies is an event
//! of `eventos` in the same transaction, about the right person, in the right comuna, with its
//! data and origin; rejected lines, a repeated batch and a change whose audit record failed
//! write none; and a second writer of events waits for the first's commit, so ids are in commit
//! order.

use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::DbConnection;
use siis::db::schema::{beneficios, eventos, fichas, hogares, integrantes};
use siis::domain::Run;

use crate::per_backend;
use crate::registry;
use crate::support::{Setup, TestNode};

/// One stored event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Evento {
    pub id: i64,
    pub tipo: String,
    pub run: i32,
    pub run_relacionado: Option<i32>,
    pub hogar_id: Option<i64>,
    pub cut: Option<String>,
    pub datos: Value,
    pub origen: String,
    pub origen_id: String,
}

type Fila = (
    i64,
    String,
    i32,
    Option<i32>,
    Option<i64>,
    Option<String>,
    String,
    String,
    String,
);

/// The events after id `after`, in id order.
pub(crate) fn eventos_desde(conn: &mut DbConnection, after: i64) -> Vec<Evento> {
    let filas: Vec<Fila> = eventos::table
        .filter(eventos::id.gt(after))
        .order(eventos::id)
        .select((
            eventos::id,
            eventos::tipo,
            eventos::run,
            eventos::run_relacionado,
            eventos::hogar_id,
            eventos::cut,
            eventos::datos,
            eventos::origen,
            eventos::origen_id,
        ))
        .load(conn)
        .unwrap();
    filas
        .into_iter()
        .map(
            |(id, tipo, run, run_relacionado, hogar_id, cut, datos, origen, origen_id)| Evento {
                id,
                tipo,
                run,
                run_relacionado,
                hogar_id,
                cut,
                datos: serde_json::from_str(&datos).expect("datos is JSON"),
                origen,
                origen_id,
            },
        )
        .collect()
}

pub(crate) fn ultimo(conn: &mut DbConnection) -> i64 {
    eventos::table
        .select(diesel::dsl::max(eventos::id))
        .first::<Option<i64>>(conn)
        .unwrap()
        .unwrap_or(0)
}

/// A person's household and its comuna.
pub(crate) fn hogar(conn: &mut DbConnection, run: Run) -> (i64, String) {
    integrantes::table
        .inner_join(hogares::table)
        .filter(integrantes::run.eq(run.numero() as i32))
        .select((hogares::id, hogares::cut))
        .first(conn)
        .unwrap()
}

fn numero(run: Run) -> i32 {
    run.numero() as i32
}

async fn post(node: &TestNode, convenio: &str, tipo: &str, csv: String) -> Value {
    let response = node
        .client(Some(convenio))
        .post(node.agency_url(&format!("/api/v1/lotes/{tipo}")))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn start(backend: crate::support::Backend) -> TestNode {
    TestNode::start_with(
        backend,
        Setup {
            persons: 400,
            ..Setup::default()
        },
    )
    .await
}

per_backend!(
    async fn a_death_feed_records_each_death_and_each_benefit_in_force_it_ends(backend) {
        let node = start(backend).await;
        let mut db = node.db();
        // A living person in a household with benefits in force, and one without any.
        let con: i32 = beneficios::table
            .inner_join(integrantes::table.on(integrantes::run.eq(beneficios::run)))
            .inner_join(siis::db::schema::personas::table.on(
                siis::db::schema::personas::run.eq(beneficios::run),
            ))
            .filter(beneficios::estado.eq("vigente"))
            .filter(siis::db::schema::personas::fecha_defuncion.is_null())
            .select(beneficios::run)
            .order(beneficios::run)
            .first(&mut db)
            .expect("a living beneficiary in a household");
        let con = Run::from_numero(con as u32).unwrap();
        let vigentes: Vec<(i64, String, chrono::NaiveDate, Option<String>)> = beneficios::table
            .filter(beneficios::run.eq(numero(con)))
            .filter(beneficios::estado.eq("vigente"))
            .order(beneficios::id)
            .select((
                beneficios::id,
                beneficios::programa,
                beneficios::fecha_inicio,
                beneficios::decreto_folio,
            ))
            .load(&mut db)
            .unwrap();
        // A person in a household without any benefit in force.
        let en_vigor: Vec<i32> = beneficios::table
            .filter(beneficios::estado.eq("vigente"))
            .select(beneficios::run)
            .load(&mut db)
            .unwrap();
        let sin: i32 = integrantes::table
            .filter(integrantes::run.ne_all(en_vigor))
            .select(integrantes::run)
            .order(integrantes::run)
            .first(&mut db)
            .unwrap();
        let sin = Run::from_numero(sin as u32).unwrap();
        let csv = format!(
            "run,fecha_defuncion,comuna\n{con},2026-10-02,13101\n{},2026-10-02,13101\n\
             {sin},2026-10-03,05101\n",
            registry::unknown()
        );
        let antes = ultimo(&mut db);
        let report = post(&node, "srcei", "defunciones", csv.clone()).await;
        assert_eq!((report["aplicados"].as_u64(), report["rechazados"].as_u64()), (Some(2), Some(1)), "{report}");
        let lote = report["lote"].to_string();

        let got = eventos_desde(&mut db, antes);
        let (hogar_con, cut_con) = hogar(&mut db, con);
        let (hogar_sin, cut_sin) = hogar(&mut db, sin);
        let evento = |tipo: &str, run: Run, hogar_id, cut: &str, datos| Evento {
            id: 0,
            tipo: tipo.into(),
            run: numero(run),
            run_relacionado: None,
            hogar_id: Some(hogar_id),
            cut: Some(cut.to_owned()),
            datos,
            origen: "lote".into(),
            origen_id: lote.clone(),
        };
        let mut expected = vec![
            evento("defuncion", con, hogar_con, &cut_con, json!({ "fechaDefuncion": "2026-10-02" })),
            evento("defuncion", sin, hogar_sin, &cut_sin, json!({ "fechaDefuncion": "2026-10-03" })),
        ];
        for (_, programa, inicio, decreto) in &vigentes {
            let mut datos = json!({
                "programa": programa,
                "estado": "extinguido",
                "fechaInicio": inicio,
                "fechaTermino": "2026-10-02",
            });
            if let Some(d) = decreto {
                datos["decreto"] = d.as_str().into();
            }
            expected.push(evento("beneficio_terminado", con, hogar_con, &cut_con, datos));
        }
        let sin_id: Vec<Evento> = got.iter().map(|e| Evento { id: 0, ..e.clone() }).collect();
        assert_eq!(sin_id, expected, "{backend:?}");
        assert!(got.windows(2).all(|w| w[0].id < w[1].id));

        // The same batch again: the first report, no event.
        let again = post(&node, "srcei", "defunciones", csv).await;
        assert_eq!(again["repetido"], true);
        assert_eq!(ultimo(&mut db), got.last().unwrap().id);
        node.stop().await;
    }
);

per_backend!(
    async fn a_birth_feed_records_each_newborn_with_the_mother_and_rejected_lines_none(backend) {
        let node = start(backend).await;
        let mut db = node.db();
        let madre = registry::with_ficha(&mut db, None);
        let (hogar_id, cut) = hogar(&mut db, madre);
        let csv = format!(
            "run,nombres,apellido_paterno,apellido_materno,fecha_nacimiento,sexo,run_madre\n\
             74000001-2,AGUSTÍN,ROJAS,MUÑOZ,2026-11-02,M,{madre}\n\
             74000003-9,LUZ,ROJAS,MUÑOZ,2026-11-02,F,71000001-8\n\
             {madre},SOL,ROJAS,MUÑOZ,2026-11-03,F,{madre}\n"
        );
        let antes = ultimo(&mut db);
        let report = post(&node, "srcei", "nacimientos", csv).await;
        assert_eq!((report["aplicados"].as_u64(), report["rechazados"].as_u64()), (Some(1), Some(2)), "{report}");
        let got = eventos_desde(&mut db, antes);
        assert_eq!(got.len(), 1, "{got:?}");
        let e = &got[0];
        assert_eq!(
            (e.tipo.as_str(), e.run, e.run_relacionado, e.hogar_id, e.cut.as_deref()),
            ("nacimiento", 74_000_001, Some(numero(madre)), Some(hogar_id), Some(cut.as_str()))
        );
        assert_eq!(e.datos, json!({ "fechaNacimiento": "2026-11-02", "sexo": "M" }));
        assert_eq!((e.origen.as_str(), e.origen_id.clone()), ("lote", report["lote"].to_string()));
        node.stop().await;
    }
);

/// Households of comuna `cut`: (id, members in RUN order, folio in force).
fn hogares_de(conn: &mut DbConnection, cut: &str) -> Vec<(i64, Vec<i32>, Option<i64>)> {
    let filas: Vec<(i64, i32, Option<i64>)> = integrantes::table
        .inner_join(hogares::table)
        .left_join(
            fichas::table.on(fichas::hogar_id
                .eq(integrantes::hogar_id)
                .and(fichas::estado.eq("vigente"))),
        )
        .filter(hogares::cut.eq(cut))
        .select((
            integrantes::hogar_id,
            integrantes::run,
            fichas::folio.nullable(),
        ))
        .order((integrantes::hogar_id, integrantes::run))
        .load(conn)
        .unwrap();
    let mut out: Vec<(i64, Vec<i32>, Option<i64>)> = Vec::new();
    for (h, run, folio) in filas {
        match out.last_mut() {
            Some((id, runs, _)) if *id == h => runs.push(run),
            _ => out.push((h, vec![run], folio)),
        }
    }
    out
}

per_backend!(
    async fn a_fichas_feed_records_the_new_ficha_for_each_member_of_each_household(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 3_000,
                ..Setup::default()
            },
        )
        .await;
        let mut db = node.db();
        let santiago = hogares_de(&mut db, "13101");
        let con = santiago
            .iter()
            .find(|(_, m, f)| m.len() >= 2 && f.is_some())
            .expect("a household of two with a ficha")
            .clone();
        let sin = santiago
            .iter()
            .find(|(_, _, f)| f.is_none())
            .expect("a household without a ficha")
            .clone();
        let fuera = registry::with_ficha_outside(&mut db, "13101");
        let run = |n: i32| Run::from_numero(n as u32).unwrap();
        let hoy = siis::broker::local_today();
        let csv = format!(
            "run,puntaje,fecha_aplicacion\n{},9850,{hoy}\n{fuera},9000,{hoy}\n{},14600,{hoy}\n",
            run(con.1[1]),
            run(sin.1[0]),
        );
        let antes = ultimo(&mut db);
        let report = post(&node, "muni-13101", "fichas", csv).await;
        assert_eq!((report["aplicados"].as_u64(), report["rechazados"].as_u64()), (Some(2), Some(1)), "{report}");
        let lote = report["lote"].to_string();
        let got = eventos_desde(&mut db, antes);
        let folio_de = |hogar_id: i64, db: &mut DbConnection| -> i64 {
            fichas::table
                .filter(fichas::hogar_id.eq(hogar_id))
                .filter(fichas::estado.eq("vigente"))
                .select(fichas::folio)
                .first(db)
                .unwrap()
        };
        let (nuevo_con, nuevo_sin) = (folio_de(con.0, &mut db), folio_de(sin.0, &mut db));
        let mut expected = Vec::new();
        for m in &con.1 {
            expected.push((
                "ficha_reemplazada".to_owned(),
                *m,
                Some(con.0),
                json!({ "folio": nuevo_con, "folioAnterior": con.2.unwrap(), "puntaje": 9850,
                        "quintil": 2, "fechaAplicacion": hoy, "comuna": "13101" }),
            ));
        }
        for m in &sin.1 {
            expected.push((
                "ficha_creada".to_owned(),
                *m,
                Some(sin.0),
                json!({ "folio": nuevo_sin, "puntaje": 14600, "quintil": 5,
                        "fechaAplicacion": hoy, "comuna": "13101" }),
            ));
        }
        let shown: Vec<_> = got
            .iter()
            .map(|e| (e.tipo.clone(), e.run, e.hogar_id, e.datos.clone()))
            .collect();
        assert_eq!(shown, expected, "{backend:?}");
        assert!(got.iter().all(|e| e.cut.as_deref() == Some("13101")
            && e.origen == "lote"
            && e.origen_id == lote
            && e.run_relacionado.is_none()));
        node.stop().await;
    }
);

per_backend!(
    async fn benefit_feeds_record_each_grant_and_each_suspension(backend) {
        let node = start(backend).await;
        let mut db = node.db();
        let con_hogar: Vec<i32> = integrantes::table
            .select(integrantes::run)
            .load(&mut db)
            .unwrap();
        let con_beneficio: Vec<i32> = beneficios::table
            .select(beneficios::run)
            .load(&mut db)
            .unwrap();
        let libre: i32 = siis::db::schema::personas::table
            .filter(siis::db::schema::personas::fecha_defuncion.is_null())
            .filter(siis::db::schema::personas::fecha_nacimiento
                .lt(chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()))
            .filter(siis::db::schema::personas::run.ne_all(con_beneficio))
            .filter(siis::db::schema::personas::run.eq_any(con_hogar))
            .select(siis::db::schema::personas::run)
            .order(siis::db::schema::personas::run)
            .first(&mut db)
            .unwrap();
        let libre = Run::from_numero(libre as u32).unwrap();
        let (pensionado, desde): (i32, chrono::NaiveDate) = beneficios::table
            .inner_join(integrantes::table.on(integrantes::run.eq(beneficios::run)))
            .filter(beneficios::programa.eq("PBS"))
            .filter(beneficios::estado.eq("vigente"))
            .select((beneficios::run, beneficios::fecha_inicio))
            .order(beneficios::run)
            .first(&mut db)
            .expect("a PBS in force in the seeded registry");
        let pensionado = Run::from_numero(pensionado as u32).unwrap();
        let antes = ultimo(&mut db);
        let csv = format!(
            "run,programa,movimiento,monto,fecha\n{libre},PBS,concesion,224004,2026-11-01\n\
             {pensionado},PBS,suspension,,2026-11-15\n{},PBS,concesion,1,2026-11-01\n",
            registry::unknown()
        );
        let report = post(&node, "ips", "pensiones", csv).await;
        assert_eq!((report["aplicados"].as_u64(), report["rechazados"].as_u64()), (Some(2), Some(1)), "{report}");
        let got = eventos_desde(&mut db, antes);
        let shown: Vec<_> = got
            .iter()
            .map(|e| (e.tipo.as_str(), e.run, e.datos.clone()))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "beneficio_terminado",
                    numero(pensionado),
                    json!({ "programa": "PBS", "estado": "suspendido", "fechaInicio": desde,
                            "fechaTermino": "2026-11-15" })
                ),
                (
                    "beneficio_otorgado",
                    numero(libre),
                    json!({ "programa": "PBS", "estado": "vigente", "fechaInicio": "2026-11-01" })
                ),
            ],
            "{backend:?}"
        );
        for (e, run) in got.iter().zip([pensionado, libre]) {
            let (h, cut) = hogar(&mut db, run);
            assert_eq!((e.hogar_id, e.cut.clone()), (Some(h), Some(cut)));
            assert_eq!((e.origen.as_str(), e.origen_id.clone()), ("lote", report["lote"].to_string()));
        }
        node.stop().await;
    }
);

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

//! Feeds: deaths (and the benefits they end), births, municipal fichas, benefit movements.

use super::*;
use crate::per_backend;

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

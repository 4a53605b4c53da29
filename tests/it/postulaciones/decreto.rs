//! The monthly decree (EmitirDecreto, ConsultarDecreto): from verified postulations within the
//! cupos to a signed PDF whose QR code verifies online, to benefits in force; the waiting list
//! beyond the cupos; refusals that change nothing; and SUSESO reading the SUF decrees it pays.

use base64::Engine;
use siis::db::schema::{beneficios, decretos};

use super::*;
use crate::per_backend;
use crate::support::access_report;

fn periodo() -> String {
    hoy().format("%Y-%m").to_string()
}

async fn fijar_cupos(node: &TestNode, programa: &str, cupos: u32) {
    let url = node.agency_url(&format!("/api/v1/cupos/13101/{programa}/{}", anio()));
    let r = node
        .client(Some("operador"))
        .put(url)
        .json(&json!({ "cupos": cupos }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn emitir(node: &TestNode, convenio: &str, cut: &str, body: Value) -> (u16, Value) {
    let url = node.agency_url(&format!("/api/v1/municipios/{cut}/decretos"));
    json_of(
        node.client(Some(convenio))
            .post(url)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn consultar(node: &TestNode, convenio: &str, path: &str) -> (u16, Value) {
    let url = node.agency_url(&format!("/api/v1/decretos{path}"));
    json_of(node.client(Some(convenio)).get(url).send().await.unwrap()).await
}

fn decretos_guardados(node: &TestNode) -> i64 {
    decretos::table.count().get_result(&mut node.db()).unwrap()
}

per_backend!(
    async fn a_decree_grants_the_waiting_list_within_the_cupos_signed_and_in_force(backend) {
        let node = TestNode::start(backend).await;
        let puntajes = [9_000, 7_000, 8_000, 6_000, 8_500];
        let mut runs = Vec::new();
        {
            let mut conn = node.db();
            for (i, p) in puntajes.iter().enumerate() {
                let run = persona(&mut conn, 24_000_001 + i as u32, 40);
                hogar(&mut conn, 1 + i as i64, "13101", Some(*p), &[run]);
                runs.push(run);
            }
        }
        for run in &runs {
            let (status, p) =
                postular(&node, "muni-13101", json!({ "run": run.to_string(), "programa": "SAP" })).await;
            assert_eq!((status, p["estado"].as_str()), (201, Some("verificada")), "{p}");
        }
        fijar_cupos(&node, "SAP", 3).await;
        let (status, d) =
            emitir(&node, "muni-13101", "13101", json!({ "programa": "SAP", "periodo": periodo() })).await;
        assert_eq!(status, 200, "{d}");
        let folio = d["folio"].as_str().unwrap().to_owned();
        assert!(folio.starts_with("DEC-"), "{folio}");
        assert_eq!((d["numero"].as_u64(), d["otorgadas"].as_u64(), d["enEspera"].as_u64()), (Some(1), Some(3), Some(2)));
        // The lowest scores, in order: 6.000, 7.000, 8.000.
        let lineas: Vec<(String, u64, u64)> = d["lineas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["run"].as_str().unwrap().to_owned(), l["puntaje"].as_u64().unwrap(), l["monto"].as_u64().unwrap()))
            .collect();
        assert_eq!(
            lineas,
            [
                (runs[3].to_string(), 6_000, 6_000),
                (runs[1].to_string(), 7_000, 6_000),
                (runs[2].to_string(), 8_000, 6_000),
            ]
        );
        // The PDF's QR code carries the payload, which verifies online with the printed code;
        // the public answer names nobody.
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(d["pdf"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            siis::ops::certificados::pdf::payload_from_pdf(&pdf).unwrap(),
            d["payload"].as_str().unwrap()
        );
        let v: Value = node
            .client(None)
            .get(node.public_url(&format!("/verificar/{folio}")))
            .query(&[("codigo", d["codigo"].as_str().unwrap())])
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!((v["valido"].as_bool(), v["decreto"]["otorgadas"].as_u64()), (Some(true), Some(3)), "{v}");
        for run in &runs {
            assert!(!v.to_string().contains(&run.to_string()), "{v}");
        }
        // The postulations moved on, and the benefits are in force from the month's first day.
        let (_, lista) = listar(&node, "muni-13101", "13101", "?programa=SAP").await;
        let estados: Vec<(String, String)> = lista["postulaciones"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["run"].as_str().unwrap().to_owned(), p["estado"].as_str().unwrap().to_owned()))
            .collect();
        for (run, estado) in &estados {
            let otorgada = lineas.iter().any(|(r, _, _)| r == run);
            assert_eq!(estado, if otorgada { "otorgada" } else { "en_espera" }, "{lista}");
        }
        let vigentes: Vec<(i32, String, chrono::NaiveDate, Option<String>)> = beneficios::table
            .filter(beneficios::programa.eq("SAP"))
            .select((beneficios::run, beneficios::fuente, beneficios::fecha_inicio, beneficios::decreto_folio))
            .order(beneficios::run)
            .load(&mut node.db())
            .unwrap();
        let primero = hoy().with_day(1).unwrap();
        let mut esperados: Vec<_> = [3, 1, 2]
            .iter()
            .map(|i| (runs[*i].numero() as i32, "MUNICIPALIDAD".to_owned(), primero, Some(folio.clone())))
            .collect();
        esperados.sort();
        assert_eq!(vigentes, esperados);
        // Each person granted sees the decree in their access report.
        let accesos = access_report(&node, runs[3]).await;
        assert!(accesos.to_string().contains("EmitirDecreto"), "{accesos}");
        let accesos = access_report(&node, runs[0]).await;
        assert!(!accesos.to_string().contains("EmitirDecreto"), "not granted: {accesos}");
        // A person granted may postulate again; the benefit in force refuses it.
        let (status, p) =
            postular(&node, "muni-13101", json!({ "run": runs[3].to_string(), "programa": "SAP" })).await;
        assert_eq!((status, p["estado"].as_str()), (201, Some("rechazada")), "{p}");
        // A second decree of the month is refused and changes nothing.
        let (status, e) =
            emitir(&node, "muni-13101", "13101", json!({ "programa": "SAP", "periodo": periodo() })).await;
        assert_eq!((status, e["code"].as_str()), (409, Some("DECRETO_YA_EMITIDO")), "{e}");
        assert_eq!(decretos_guardados(&node), 1);
        // The municipality reads it again; another comuna cannot tell it exists.
        let (status, c) = consultar(&node, "muni-13101", &format!("/{folio}")).await;
        assert_eq!(status, 200, "{c}");
        assert_eq!((c["lineas"].as_array().unwrap().len(), c.get("enEspera")), (3, None));
        assert_eq!(c["payload"], d["payload"]);
        let (status, e) = consultar(&node, "muni-05101", &format!("/{folio}")).await;
        assert_eq!((status, e["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e}");
        let (status, e) = consultar(&node, "muni-05101", "/DEC-0000-0000-0000").await;
        assert_eq!((status, e["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e}");
        // SUSESO reads SUF decrees only.
        let (status, e) = consultar(&node, "suseso", &format!("/{folio}")).await;
        assert_eq!((status, e["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e}");
        node.stop().await;
    }
);

per_backend!(
    async fn suseso_reads_the_suf_decrees_it_pays_and_each_causante_is_in_force(backend) {
        let node = TestNode::start(backend).await;
        let (madre, hijo, hija) = {
            let mut conn = node.db();
            let madre = persona(&mut conn, 24_100_001, 35);
            let hijo = persona(&mut conn, 24_100_002, 3);
            let hija = persona(&mut conn, 24_100_003, 12);
            hogar(&mut conn, 1, "13101", Some(9_000), &[madre, hijo, hija]);
            (madre, hijo, hija)
        };
        let body = json!({ "run": madre.to_string(), "programa": "SUF", "causantes": [
            { "run": hijo.to_string(), "tipo": "menor" }, { "run": hija.to_string(), "tipo": "menor" } ] });
        let (status, p) = postular(&node, "muni-13101", body).await;
        assert_eq!((status, p["estado"].as_str()), (201, Some("verificada")), "{p}");
        fijar_cupos(&node, "SUF", 5).await;
        let (status, d) =
            emitir(&node, "muni-13101", "13101", json!({ "programa": "SUF", "periodo": periodo() })).await;
        assert_eq!(status, 200, "{d}");
        let linea = &d["lineas"][0];
        assert_eq!((linea["causantes"].as_u64(), linea["monto"].as_u64()), (Some(2), Some(15_000)), "{d}");
        let folio = d["folio"].as_str().unwrap();
        // SUF pays each causante: one benefit in force for each.
        let mut pagados: Vec<i32> = beneficios::table
            .filter(beneficios::decreto_folio.eq(folio))
            .select(beneficios::run)
            .load(&mut node.db())
            .unwrap();
        pagados.sort();
        assert_eq!(pagados, [hijo.numero() as i32, hija.numero() as i32]);
        // Each benefit it put in force is an event of the causante, naming the payee.
        let (hogar_id, _) = crate::eventos::hogar(&mut node.db(), madre);
        let inicio = format!("{}-01", periodo());
        let eventos: Vec<_> = crate::eventos::eventos_desde(&mut node.db(), 0)
            .into_iter()
            .map(|e| (e.tipo, e.run, e.run_relacionado, e.hogar_id, e.cut, e.datos, e.origen, e.origen_id))
            .collect();
        let otorgado = |run: Run| {
            (
                "beneficio_otorgado".to_owned(),
                run.numero() as i32,
                Some(madre.numero() as i32),
                Some(hogar_id),
                Some("13101".to_owned()),
                json!({ "programa": "SUF", "estado": "vigente", "fechaInicio": inicio, "decreto": folio }),
                "decreto".to_owned(),
                folio.to_owned(),
            )
        };
        assert_eq!(eventos, [otorgado(hijo), otorgado(hija)], "{backend:?}");
        // A causante's death ends that benefit: the event names the decree and the payee.
        let antes = crate::eventos::ultimo(&mut node.db());
        let r = node
            .client(Some("srcei"))
            .post(node.agency_url("/api/v1/lotes/defunciones"))
            .header("content-type", "text/csv")
            .body(format!("run,fecha_defuncion,comuna\n{hija},{},13101\n", hoy()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let terminado = crate::eventos::eventos_desde(&mut node.db(), antes)
            .into_iter()
            .find(|e| e.tipo == "beneficio_terminado")
            .expect("the benefit the death ended");
        assert_eq!(
            (terminado.run, terminado.run_relacionado, terminado.datos),
            (
                hija.numero() as i32,
                Some(madre.numero() as i32),
                json!({ "programa": "SUF", "estado": "extinguido", "fechaInicio": inicio,
                        "fechaTermino": hoy(), "decreto": folio })
            )
        );
        // SUSESO lists the month's SUF decrees (headings, nobody named) and reads each one's
        // lines, without PDF or score; IPS reads no SUF decree.
        let (status, l) = consultar(&node, "suseso", &format!("?programa=SUF&periodo={}", periodo())).await;
        assert_eq!(status, 200, "{l}");
        assert_eq!(l["decretos"].as_array().unwrap().len(), 1);
        assert_eq!((l["decretos"][0]["folio"].as_str(), l["decretos"][0].get("lineas")), (Some(folio), None));
        let (status, c) = consultar(&node, "suseso", &format!("/{folio}")).await;
        assert_eq!(status, 200, "{c}");
        assert_eq!(c["lineas"][0]["run"], madre.to_string());
        assert!(c.get("pdf").is_none() && c["lineas"][0].get("puntaje").is_none(), "{c}");
        let (status, e) = consultar(&node, "suseso", &format!("?programa=PASIS&periodo={}", periodo())).await;
        assert_eq!((status, e["code"].as_str()), (403, Some("NO_AUTORIZADO")), "{e}");
        let (status, e) = consultar(&node, "ips", &format!("/{folio}")).await;
        assert_eq!((status, e["code"].as_str()), (404, Some("NO_ENCONTRADO")), "{e}");
        let accesos = access_report(&node, madre).await;
        assert!(accesos.to_string().contains("suseso"), "{accesos}");
        // The causantes, whose benefit the decree put in force, see it in their report too.
        let accesos = access_report(&node, hija).await;
        assert!(accesos.to_string().contains("EmitirDecreto"), "{accesos}");
        node.stop().await;
    }
);

per_backend!(
    async fn bad_decree_requests_get_stable_codes_and_change_nothing(backend) {
        let node = TestNode::start(backend).await;
        {
            let mut conn = node.db();
            let run = persona(&mut conn, 24_200_001, 40);
            hogar(&mut conn, 1, "13101", Some(6_000), &[run]);
        }
        let run = Run::from_numero(24_200_001).unwrap();
        let (status, _) =
            postular(&node, "muni-13101", json!({ "run": run.to_string(), "programa": "SAP" })).await;
        assert_eq!(status, 201);
        let lejano = (hoy().with_day(1).unwrap() + Months::new(2)).format("%Y-%m").to_string();
        for (convenio, cut, body, status, code) in [
            // No cupos set: nothing to grant.
            ("muni-13101", "13101", json!({ "programa": "SAP", "periodo": periodo() }), 409, "DECRETO_SIN_OTORGABLES"),
            ("muni-13101", "05101", json!({ "programa": "SAP", "periodo": periodo() }), 403, "FUERA_DE_AMBITO"),
            ("muni-13101", "13101", json!({ "programa": "PBS", "periodo": periodo() }), 404, "PROGRAMA_DESCONOCIDO"),
            ("muni-13101", "13101", json!({ "programa": "SAP", "periodo": "2026-13" }), 400, "SOLICITUD_INVALIDA"),
            ("muni-13101", "13101", json!({ "programa": "SAP", "periodo": lejano }), 400, "SOLICITUD_INVALIDA"),
            ("muni-13101", "13101", json!({ "programa": "SAP" }), 400, "SOLICITUD_INVALIDA"),
            ("muni-13101", "1310", json!({ "programa": "SAP", "periodo": periodo() }), 400, "SOLICITUD_INVALIDA"),
            ("minvu", "13101", json!({ "programa": "SAP", "periodo": periodo() }), 403, "NO_AUTORIZADO"),
        ] {
            let (got, e) = emitir(&node, convenio, cut, body.clone()).await;
            assert_eq!((got, e["code"].as_str()), (status, Some(code)), "{convenio} {cut} {body} {e}");
        }
        assert_eq!(decretos_guardados(&node), 0);
        let (_, p) = listar(&node, "muni-13101", "13101", "?programa=SAP").await;
        assert_eq!(p["postulaciones"][0]["estado"], "verificada", "nothing changed");
        let n: i64 = beneficios::table
            .filter(beneficios::decreto_folio.is_not_null())
            .count()
            .get_result(&mut node.db())
            .unwrap();
        assert_eq!(n, 0);
        let (status, e) = consultar(&node, "muni-13101", "/no-es-un-folio").await;
        assert_eq!((status, e["code"].as_str()), (400, Some("SOLICITUD_INVALIDA")), "{e}");
        node.stop().await;
    }
);

per_backend!(
    /// A decree's persons are charged one unit each to the agreement's batch budget: one naming
    /// more than its burst is refused whole (`LOTE_SUPERA_RAFAGA`) and nothing is granted.
    async fn a_decree_beyond_the_batch_budgets_burst_is_refused_whole(backend) {
        use crate::support::{Setup, convenios_with, repo_path};
        let muni = std::fs::read_to_string(repo_path("convenios/muni-13101.toml")).unwrap();
        let lotes = "[limits.lotes]\nper_second = 100\nburst = 1000\n";
        assert!(muni.contains(lotes), "the shipped batch budget");
        let estrecho = muni.replace(lotes, "[limits.lotes]\nper_second = 1\nburst = 2\n");
        let dir = tempfile::tempdir().unwrap();
        let convenios = convenios_with(dir.path(), &[("muni-13101.toml", &estrecho)]);
        let node = TestNode::start_with(
            backend,
            Setup {
                convenios: Some(convenios),
                ..Setup::default()
            },
        )
        .await;
        {
            let mut conn = node.db();
            for i in 0..3u32 {
                let run = persona(&mut conn, 24_300_001 + i, 40);
                hogar(&mut conn, 1 + i64::from(i), "13101", Some(6_000), &[run]);
            }
        }
        for i in 0..3u32 {
            let run = Run::from_numero(24_300_001 + i).unwrap();
            let (status, _) =
                postular(&node, "muni-13101", json!({ "run": run.to_string(), "programa": "SAP" })).await;
            assert_eq!(status, 201);
        }
        fijar_cupos(&node, "SAP", 3).await;
        let (status, e) =
            emitir(&node, "muni-13101", "13101", json!({ "programa": "SAP", "periodo": periodo() })).await;
        assert_eq!((status, e["code"].as_str()), (413, Some("LOTE_SUPERA_RAFAGA")), "{e}");
        assert_eq!(decretos_guardados(&node), 0);
        let (_, l) = listar(&node, "muni-13101", "13101", "?programa=SAP").await;
        assert!(
            l["postulaciones"].as_array().unwrap().iter().all(|p| p["estado"] == "verificada"),
            "{l}"
        );
        node.stop().await;
    }
);

//! Provider feeds (RecepcionLotes): the shipped sample batches apply over REST and the command
//! line, once; bad records are reported by line and change nothing; a batch killed mid-apply
//! leaves nothing, and a resend applies it whole; deaths show in lookups and eligibility.

mod admision;
mod nacimientos;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use diesel::prelude::*;
use serde_json::Value;
use siis::db::DbConnection;
use siis::db::schema::{auditoria, beneficios, lotes, personas, procedencia};

use crate::per_backend;
use crate::registry;
use crate::support::{Backend, Setup, TestNode, repo_path};

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(repo_path(&format!("schemas/lotes/{name}"))).unwrap()
}

async fn post(
    node: &TestNode,
    convenio: &str,
    tipo: &str,
    content_type: &str,
    body: Vec<u8>,
    lote_id: Option<&str>,
) -> reqwest::Response {
    let mut request = node
        .client(Some(convenio))
        .post(node.agency_url(&format!("/api/v1/lotes/{tipo}")))
        .header("content-type", content_type)
        .body(body);
    if let Some(id) = lote_id {
        request = request.header("x-lote-id", id);
    }
    request.send().await.unwrap()
}

fn count_lotes(conn: &mut DbConnection) -> i64 {
    lotes::table.count().get_result(conn).unwrap()
}

fn person(conn: &mut DbConnection, run: i32) -> Option<(String, Option<chrono::NaiveDate>)> {
    personas::table
        .find(run)
        .select((personas::nombres, personas::fecha_defuncion))
        .first(conn)
        .optional()
        .unwrap()
}

fn rechazos(report: &Value) -> Vec<(u64, String)> {
    report["rechazos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["linea"].as_u64().unwrap(),
                r["codigo"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

per_backend!(
    async fn the_sample_person_batches_apply_once_over_rest_in_csv_and_xml(backend) {
        let node = TestNode::start(backend).await;
        let mut db = node.db();

        let first = post(
            &node,
            "srcei",
            "personas",
            "text/csv",
            sample("personas.csv"),
            None,
        )
        .await;
        assert_eq!(first.status(), 200, "{backend:?}");
        assert!(first.headers().get("x-lote-repetido").is_none());
        let report: Value = first.json().await.unwrap();
        assert_eq!(report["leidos"], 3);
        assert_eq!(report["aplicados"], 3);
        assert_eq!(report["rechazados"], 0);
        assert_eq!(report["repetido"], false);
        assert!(report["clave"].as_str().unwrap().starts_with("sha256:"));
        assert_eq!(
            person(&mut db, 71_000_003).unwrap().0,
            "ANA, LUISA",
            "quoted CSV field"
        );

        // The same file again: the first report, nothing applied twice.
        let again = post(
            &node,
            "srcei",
            "personas",
            "text/csv",
            sample("personas.csv"),
            None,
        )
        .await;
        assert_eq!(again.status(), 200);
        assert_eq!(again.headers()["x-lote-repetido"], "true");
        let second: Value = again.json().await.unwrap();
        assert_eq!(second["lote"], report["lote"]);
        assert_eq!(second["repetido"], true);
        assert_eq!(second["aplicado"], report["aplicado"]);
        assert_eq!(count_lotes(&mut db), 1);
        let rows: i64 = procedencia::table.count().get_result(&mut db).unwrap();
        assert_eq!(rows, 3);

        let xml = post(
            &node,
            "srcei",
            "personas",
            "application/xml",
            sample("personas.xml"),
            Some("srcei-2026-11-28-001"),
        )
        .await;
        assert_eq!(xml.status(), 200);
        let report: Value = xml.json().await.unwrap();
        assert_eq!(report["aplicados"], 2, "{report}");
        assert_eq!(report["clave"], "srcei-2026-11-28-001");
        assert_eq!(person(&mut db, 71_000_005).unwrap().0, "JOSEFINA");

        // A provider batch id reused for other content is refused, not applied.
        let reused = post(
            &node,
            "srcei",
            "personas",
            "text/csv",
            sample("personas.csv"),
            Some("srcei-2026-11-28-001"),
        )
        .await;
        assert_eq!(reused.status(), 409);
        let problem: Value = reused.json().await.unwrap();
        assert_eq!(problem["code"], "LOTE_CLAVE_REUTILIZADA");
        assert_eq!(count_lotes(&mut db), 2);

        // One audit record per batch, naming no person.
        let audited: Vec<(String, String, String)> = auditoria::table
            .filter(auditoria::operacion.eq("RecepcionLotes"))
            .select((
                auditoria::convenio.assume_not_null(),
                auditoria::sujetos,
                auditoria::resultado,
            ))
            .load(&mut db)
            .unwrap();
        assert_eq!(audited.len(), 4);
        assert!(
            audited.iter().all(|(c, s, _)| c == "srcei" && s.is_empty()),
            "{audited:?}"
        );
        node.stop().await;
    }
);

per_backend!(
    async fn a_death_batch_shows_in_the_ficha_and_eligibility_ends_benefits_and_has_provenance(
        backend
    ) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 400,
                ..Setup::default()
            },
        )
        .await;
        let mut db = node.db();
        let run = registry::with_ficha(&mut db, None);
        let csv = format!("run,fecha_defuncion,comuna\n{run},2026-10-02,13101\n");
        let response = post(
            &node,
            "srcei",
            "defunciones",
            "text/csv",
            csv.into_bytes(),
            None,
        )
        .await;
        assert_eq!(response.status(), 200, "{backend:?}");
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["aplicados"], 1, "{report}");

        let ficha: Value = node
            .client(Some("ips"))
            .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ficha["fallecido"], true, "{ficha}");
        let elegibilidad: Value = node
            .client(Some("ips"))
            .get(node.agency_url(&format!("/api/v1/personas/{run}/elegibilidad/PBS")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(elegibilidad["datos"]["fallecido"], true, "{elegibilidad}");
        assert_eq!(elegibilidad["elegible"], false, "{elegibilidad}");
        let vigentes: i64 = beneficios::table
            .filter(beneficios::run.eq(run.numero() as i32))
            .filter(beneficios::estado.ne("extinguido"))
            .count()
            .get_result(&mut db)
            .unwrap();
        assert_eq!(vigentes, 0);

        // "Where did this death date come from?"
        let out = node.siis(&[
            "lotes",
            "procedencia",
            "--run",
            &run.to_string(),
            "--campo",
            "fecha_defuncion",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(stdout.as_bytes())
            .records()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows.len(), 1, "{stdout}");
        let row = &rows[0];
        assert_eq!(
            (&row[0], &row[1], &row[2]),
            (report["lote"].to_string().as_str(), "srcei", "defunciones")
        );
        assert_eq!(&row[6], report["sha256"].as_str().unwrap());
        // The values, a JSON object with commas and quotes, are one CSV field.
        let valores: Value = serde_json::from_str(&row[7]).expect("valores is JSON");
        assert_eq!(valores["fecha_defuncion"], "2026-10-02", "{stdout}");
        // Name fields were not set by any batch.
        let out = node.siis(&[
            "lotes",
            "procedencia",
            "--run",
            &run.to_string(),
            "--campo",
            "nombres",
        ]);
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
        node.stop().await;
    }
);

per_backend!(
    async fn bad_records_are_reported_by_line_and_only_good_ones_apply(backend) {
        let node = TestNode::start(backend).await;
        let mut db = node.db();
        // A BOM and CRLF line ends are accepted and noted.
        let personas = "\u{feff}run,nombres,apellido_paterno,apellido_materno,fecha_nacimiento,sexo,nacionalidad\r\n\
            72000001-6,ANA,ROJAS,SOTO,1980-01-01,F,CL\r\n\
            72000002-4,LUIS,ROJAS,SOTO,1981-01-01,M,CL\r\n\
            72000003-2,EVA,ROJAS,SOTO,1982-13-01,F,CL\r\n\
            72000001-6,ANA,ROJAS,SOTO,1980-01-01,F,CL\r\n\
            72000004-0,PEDRO,ROJAS,SOTO,1983-01-01,X,CL\r\n\
            72000005-9,SOFÍA,ROJAS\r\n\
            72000006-7,TOMÁS,ROJAS,SOTO,1984-01-01,M,CL\r\n\
            72000007-5,IGNACIA,ROJAS";
        let response = post(
            &node,
            "srcei",
            "personas",
            "text/csv",
            personas.into(),
            None,
        )
        .await;
        assert_eq!(response.status(), 200, "{backend:?}");
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["leidos"], 8, "{report}");
        assert_eq!(report["aplicados"], 3, "{report}");
        assert_eq!(report["rechazados"], 5);
        assert_eq!(
            rechazos(&report),
            [
                (4, "FECHA_INVALIDA".to_owned()),
                (5, "RUN_DUPLICADO".to_owned()),
                (6, "SEXO_INVALIDO".to_owned()),
                (7, "CAMPOS_INCORRECTOS".to_owned()),
                (9, "REGISTRO_TRUNCADO".to_owned()),
            ]
        );
        assert!(
            report["rechazos"][1]["motivo"]
                .as_str()
                .unwrap()
                .contains("line 2"),
            "{report}"
        );
        let avisos = report["avisos"].to_string();
        assert!(
            avisos.contains("BOM") && avisos.contains("CRLF"),
            "{avisos}"
        );
        assert_eq!(person(&mut db, 72_000_001).unwrap().0, "ANA");
        assert!(person(&mut db, 72_000_003).is_none());
        assert!(person(&mut db, 72_000_006).is_some());

        // Deaths: wrong check digit, unknown comuna, unknown RUN, before the birth.
        let defunciones = "run,fecha_defuncion,comuna\n\
            72000001-7,2020-01-01,13101\n\
            72000002-4,2020-01-01,99999\n\
            72999999-7,2020-01-01,13101\n\
            72000002-4,1970-01-01,13101\n\
            72000006-7,2025-05-05,05101\n";
        let response = post(
            &node,
            "srcei",
            "defunciones",
            "text/csv",
            defunciones.into(),
            None,
        )
        .await;
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.unwrap();
        let codes = rechazos(&report);
        assert_eq!(codes[0], (2, "RUN_INVALIDO".to_owned()));
        assert_eq!(codes[1], (3, "COMUNA_DESCONOCIDA".to_owned()));
        assert_eq!(codes[2], (4, "RUN_DESCONOCIDO".to_owned()));
        assert_eq!(codes[3], (5, "DEFUNCION_ANTES_DE_NACIMIENTO".to_owned()));
        assert_eq!(report["aplicados"], 1);
        assert!(person(&mut db, 72_000_002).unwrap().1.is_none());
        assert_eq!(
            person(&mut db, 72_000_006).unwrap().1,
            chrono::NaiveDate::from_ymd_opt(2025, 5, 5)
        );

        // XML: a record with an unknown element, one with a field missing, by line.
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<lote xmlns="http://www.siis.gob.cl/esquemas/lotes/v1" tipo="defunciones">
  <registro><run>72000003-2</run><fecha_defuncion>2026-01-01</fecha_defuncion><comuna>13101</comuna></registro>
  <registro><run>72000006-7</run><fecha>2026-01-01</fecha><comuna>13101</comuna></registro>
  <registro>
    <run>72000001-6</run>
    <comuna>13101</comuna>
  </registro>
</lote>
"#;
        let response = post(
            &node,
            "srcei",
            "defunciones",
            "application/xml",
            xml.into(),
            None,
        )
        .await;
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.unwrap();
        assert_eq!(
            rechazos(&report),
            [
                (3, "RUN_DESCONOCIDO".to_owned()),
                (4, "CAMPO_DESCONOCIDO".to_owned()),
                (5, "CAMPOS_INCORRECTOS".to_owned()),
            ],
            "{report}"
        );
        assert_eq!(report["aplicados"], 0);
        let before = count_lotes(&mut db);

        // Refused whole, nothing applied: a wrong header, a truncated XML document, an empty
        // file, an unknown kind, a wrong content type.
        let cases: [(&str, &str, Vec<u8>, u16, &str); 7] = [
            (
                "personas",
                "application/xml",
                sample("defunciones.xml"),
                400,
                "LOTE_ENCABEZADO_INVALIDO",
            ),
            (
                "personas",
                "application/xml",
                b"<?xml version=\"1.0\"?><!DOCTYPE lote [<!ENTITY x \"y\">]><lote/>".to_vec(),
                400,
                "LOTE_MALFORMADO",
            ),
            (
                "personas",
                "text/csv",
                b"rut,nombre\n72000009-2,X\n".to_vec(),
                400,
                "LOTE_ENCABEZADO_INVALIDO",
            ),
            (
                "personas",
                "application/xml",
                sample("personas.xml")[..300].to_vec(),
                400,
                "LOTE_MALFORMADO",
            ),
            (
                "personas",
                "text/csv",
                b"run,nombres,apellido_paterno,apellido_materno,fecha_nacimiento,sexo,nacionalidad\n"
                    .to_vec(),
                400,
                "LOTE_VACIO",
            ),
            ("subsidios", "text/csv", b"x".to_vec(), 404, "LOTE_TIPO_DESCONOCIDO"),
            ("personas", "application/json", b"{}".to_vec(), 415, "TIPO_NO_SOPORTADO"),
        ];
        for (tipo, content_type, body, status, code) in cases {
            let response = post(&node, "srcei", tipo, content_type, body, None).await;
            assert_eq!(response.status(), status, "{code}");
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["code"], code);
        }
        assert_eq!(count_lotes(&mut db), before);
        node.stop().await;
    }
);

#[tokio::test]
async fn only_a_provider_convenio_may_send_batches() {
    let node = TestNode::start(Backend::Sqlite).await;
    for convenio in ["minvu", "ips", "operador"] {
        let response = post(
            &node,
            convenio,
            "personas",
            "text/csv",
            sample("personas.csv"),
            None,
        )
        .await;
        assert_eq!(response.status(), 403, "{convenio}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "NO_AUTORIZADO");
    }
    let mut db = node.db();
    assert_eq!(count_lotes(&mut db), 0);
    assert!(person(&mut db, 71_000_001).is_none());
    node.stop().await;
}

fn siis(node: &TestNode) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_siis"));
    cmd.env_clear()
        .env("SIIS__DATABASE__URL", node.database_url())
        .env("SIIS__CONVENIOS__DIR", repo_path("convenios"))
        .stdin(Stdio::null());
    cmd
}

/// Runs `siis ingest` with `args` and kills it (`kill -9`) once part of its batch is written
/// inside its transaction.
fn kill_mid_apply(node: &TestNode, args: &[&str], backend: Backend) {
    use std::os::unix::process::ExitStatusExt;
    let mut child = siis(node)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.starts_with("applying: ") && !line.starts_with("applying: 0/") {
            child.kill().unwrap();
            break;
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "{backend:?}: not killed mid-apply: {seen:?}"
    );
}

fn write_feed(path: &Path, n: u64) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    siis::ops::lotes::generar_personas(&mut out, siis::ops::lotes::Formato::Csv, n, 73_000_000, 7)
        .unwrap();
}

per_backend!(
    async fn a_batch_killed_while_applying_leaves_nothing_and_a_resend_applies_it_whole(backend) {
        let node = TestNode::start(backend).await;
        let dir = tempfile::TempDir::new().unwrap();
        let file = dir.path().join("personas.csv");
        let n = 300_000;
        write_feed(&file, n);
        let file_arg = file.to_str().unwrap();
        let args = [
            "ingest",
            "--provider",
            "srcei",
            "--tipo",
            "personas",
            file_arg,
        ];

        kill_mid_apply(&node, &args, backend);

        let mut db = node.db();
        let applied: i64 = personas::table
            .filter(personas::run.ge(73_000_000))
            .count()
            .get_result(&mut db)
            .unwrap();
        assert_eq!(applied, 0, "{backend:?}: a killed batch left records");
        assert_eq!(count_lotes(&mut db), 0);

        let out = siis(&node).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stdout)
                .contains(&format!("{n} record(s) read, {n} applied, 0 rejected"))
        );
        let applied: i64 = personas::table
            .filter(personas::run.ge(73_000_000))
            .count()
            .get_result(&mut db)
            .unwrap();
        assert_eq!(applied, n as i64);
        let provenance: i64 = procedencia::table.count().get_result(&mut db).unwrap();
        assert_eq!(provenance, n as i64);

        // And once more: already applied, nothing changes.
        let out = siis(&node).args(args).output().unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("was already applied"));
        assert_eq!(count_lotes(&mut db), 1);
        node.stop().await;
    }
);

per_backend!(
    async fn a_death_batch_killed_while_applying_leaves_no_event_and_a_resend_writes_each_once(
        backend
    ) {
        use siis::db::schema::eventos;
        // Two chunks of deaths (APPLY_CHUNK is 50,000): killed once the first is applied.
        let n = 100_000;
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 120_000,
                ..Setup::default()
            },
        )
        .await;
        let mut db = node.db();
        let runs: Vec<i32> = personas::table
            .filter(personas::fecha_defuncion.is_null())
            .filter(personas::fecha_nacimiento.lt(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()))
            .select(personas::run)
            .order(personas::run)
            .limit(n)
            .load(&mut db)
            .unwrap();
        assert_eq!(runs.len() as i64, n);
        let muertos: std::collections::HashSet<i32> = runs.iter().copied().collect();
        let vigentes: Vec<i32> = beneficios::table
            .filter(beneficios::estado.eq("vigente"))
            .select(beneficios::run)
            .load(&mut db)
            .unwrap();
        let en_vigor = vigentes.iter().filter(|r| muertos.contains(r)).count() as i64;
        assert!(en_vigor > 0);
        let dir = tempfile::TempDir::new().unwrap();
        let file = dir.path().join("defunciones.csv");
        let mut csv = String::from("run,fecha_defuncion,comuna\n");
        for r in &runs {
            let run = siis::domain::Run::from_numero(*r as u32).unwrap();
            csv.push_str(&format!("{run},2026-01-01,13101\n"));
        }
        std::fs::write(&file, csv).unwrap();
        let args = [
            "ingest",
            "--provider",
            "srcei",
            "--tipo",
            "defunciones",
            file.to_str().unwrap(),
        ];
        kill_mid_apply(&node, &args, backend);
        let events = |db: &mut DbConnection| -> i64 { eventos::table.count().get_result(db).unwrap() };
        let dead = |db: &mut DbConnection| -> i64 {
            personas::table
                .filter(personas::fecha_defuncion.eq(chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()))
                .count()
                .get_result(db)
                .unwrap()
        };
        assert_eq!((events(&mut db), dead(&mut db)), (0, 0), "{backend:?}: a killed batch left events or deaths");

        let out = siis(&node).args(args).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let defunciones: i64 = eventos::table
            .filter(eventos::tipo.eq("defuncion"))
            .count()
            .get_result(&mut db)
            .unwrap();
        assert_eq!(defunciones, n, "{backend:?}");
        // And one for each benefit in force the deaths ended.
        assert_eq!(events(&mut db), n + en_vigor, "{backend:?}");
        assert_eq!(dead(&mut db), n);
        node.stop().await;
    }
);

#[test]
fn the_command_line_refuses_what_the_convenio_does_not_grant() {
    let dir = tempfile::TempDir::new().unwrap();
    let file = repo_path("schemas/lotes/personas.csv");
    let out = Command::new(env!("CARGO_BIN_EXE_siis"))
        .env_clear()
        .env(
            "SIIS__DATABASE__URL",
            format!("sqlite://{}", dir.path().join("x.db").display()),
        )
        .env("SIIS__CONVENIOS__DIR", repo_path("convenios"))
        .args(["ingest", "--provider", "minvu", "--tipo", "personas"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not grant RecepcionLotes for personas"),
        "{stderr}"
    );
    assert!(!dir.path().join("x.db").exists(), "nothing created");
}

per_backend!(
    async fn a_birth_batch_adds_the_newborn_to_the_mothers_household(backend) {
        use siis::db::schema::integrantes;
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 300,
                ..Setup::default()
            },
        )
        .await;
        let mut db = node.db();
        let madre = registry::with_ficha(&mut db, None);
        let hogar: i64 = integrantes::table
            .find(madre.numero() as i32)
            .select(integrantes::hogar_id)
            .first(&mut db)
            .unwrap();
        // The shipped samples name 12.345.678-5 as the mother: here, a member of the registry.
        let with_mother = |name: &str| {
            String::from_utf8(sample(name))
                .unwrap()
                .replace("12.345.678-5", &madre.to_string())
                .into_bytes()
        };
        let response = post(
            &node,
            "srcei",
            "nacimientos",
            "text/csv",
            with_mother("nacimientos.csv"),
            None,
        )
        .await;
        assert_eq!(response.status(), 200, "{backend:?}");
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["aplicados"], 1, "{report}");
        let response = post(
            &node,
            "srcei",
            "nacimientos",
            "application/xml",
            with_mother("nacimientos.xml"),
            None,
        )
        .await;
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["aplicados"], 1, "{report}");
        for run in [74_000_001, 74_000_002] {
            let (hogar_id, parentesco): (i64, String) = integrantes::table
                .find(run)
                .select((integrantes::hogar_id, integrantes::parentesco))
                .first(&mut db)
                .unwrap();
            assert_eq!((hogar_id, parentesco.as_str()), (hogar, "hijo"));
        }
        // The newborn now shows among the household's members.
        let ficha: Value = node
            .client(Some("minvu"))
            .get(node.agency_url(&format!("/api/v1/personas/{madre}/ficha")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(
            ficha["integrantes"].to_string().contains("74.000.001-2")
                || ficha["integrantes"].to_string().contains("74000001-2"),
            "{ficha}"
        );

        // Refused by line: already registered, a mother in no household, born before her.
        let csv = format!(
            "run,nombres,apellido_paterno,apellido_materno,fecha_nacimiento,sexo,run_madre\n\
             74000001-2,AGUSTÍN,ROJAS,MUÑOZ,2026-11-02,M,{madre}\n\
             74000003-9,LUZ,ROJAS,MUÑOZ,2026-11-02,F,71000001-8\n\
             74000004-7,SOL,ROJAS,MUÑOZ,1900-01-01,F,{madre}\n"
        );
        let response = post(
            &node,
            "srcei",
            "nacimientos",
            "text/csv",
            csv.into_bytes(),
            None,
        )
        .await;
        let report: Value = response.json().await.unwrap();
        assert_eq!(
            rechazos(&report),
            [
                (2, "RUN_EXISTENTE".to_owned()),
                (3, "MADRE_SIN_HOGAR".to_owned()),
                (4, "NACIMIENTO_ANTES_QUE_MADRE".to_owned()),
            ],
            "{report}"
        );
        assert_eq!(report["aplicados"], 0);
        node.stop().await;
    }
);

per_backend!(
    async fn the_same_batch_sent_twice_at_once_applies_once(backend) {
        // Two batches of one agreement in progress at once, as the configuration may allow.
        let node = TestNode::start_with(
            backend,
            Setup {
                lotes_max_concurrent: Some(2),
                ..Setup::default()
            },
        )
        .await;
        let dir = tempfile::TempDir::new().unwrap();
        let file = dir.path().join("p.csv");
        write_feed(&file, 20_000);
        let body = std::fs::read(&file).unwrap();
        let (a, b) = tokio::join!(
            post(&node, "srcei", "personas", "text/csv", body.clone(), None),
            post(&node, "srcei", "personas", "text/csv", body, None)
        );
        let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
        assert_eq!(a["lote"], b["lote"], "{backend:?}: {a} {b}");
        let mut repetidos = [
            a["repetido"].as_bool().unwrap(),
            b["repetido"].as_bool().unwrap(),
        ];
        repetidos.sort();
        assert_eq!(repetidos, [false, true]);
        let mut db = node.db();
        assert_eq!(count_lotes(&mut db), 1);
        let rows: i64 = procedencia::table.count().get_result(&mut db).unwrap();
        assert_eq!(rows, 20_000);
        node.stop().await;
    }
);

/// The household of `run` and its fichas: (folio, puntaje, fecha_aplicacion, estado), by folio.
fn fichas_del_hogar(
    conn: &mut DbConnection,
    run: i32,
) -> (i64, Vec<(i64, i32, chrono::NaiveDate, String)>) {
    use siis::db::schema::{fichas, integrantes};
    let hogar: i64 = integrantes::table
        .find(run)
        .select(integrantes::hogar_id)
        .first(conn)
        .unwrap();
    let rows = fichas::table
        .filter(fichas::hogar_id.eq(hogar))
        .order(fichas::folio)
        .select((
            fichas::folio,
            fichas::puntaje,
            fichas::fecha_aplicacion,
            fichas::estado,
        ))
        .load(conn)
        .unwrap();
    (hogar, rows)
}

per_backend!(
    async fn a_municipal_ficha_batch_replaces_the_households_ficha_only_in_its_comuna(backend) {
        use siis::db::schema::{fichas, integrantes};
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 300,
                ..Setup::default()
            },
        )
        .await;
        let mut db = node.db();
        // A household of Santiago with a ficha and at least two members.
        let miembros: Vec<(i64, i32)> = integrantes::table
            .inner_join(siis::db::schema::hogares::table)
            .inner_join(fichas::table.on(fichas::hogar_id.eq(integrantes::hogar_id)))
            .filter(siis::db::schema::hogares::cut.eq("13101"))
            .filter(fichas::estado.eq("vigente"))
            .select((integrantes::hogar_id, integrantes::run))
            .order((integrantes::hogar_id, integrantes::run))
            .load(&mut db)
            .unwrap();
        let (vecino, companero) = miembros
            .windows(2)
            .find(|w| w[0].0 == w[1].0)
            .map(|w| {
                (
                    siis::domain::Run::from_numero(w[0].1 as u32).unwrap(),
                    siis::domain::Run::from_numero(w[1].1 as u32).unwrap(),
                )
            })
            .expect("a household of two in Santiago");
        let (hogar, antes) = fichas_del_hogar(&mut db, vecino.numero() as i32);
        let vigente = antes.iter().find(|f| f.3 == "vigente").unwrap().0;
        // The shipped samples name 12.345.678-5: here, a member of a household of Santiago.
        let of_vecino = |name: &str| {
            String::from_utf8(sample(name))
                .unwrap()
                .replace("12.345.678-5", &vecino.to_string())
                .into_bytes()
        };
        let response = post(
            &node,
            "muni-13101",
            "fichas",
            "text/csv",
            of_vecino("fichas.csv"),
            None,
        )
        .await;
        assert_eq!(response.status(), 200, "{backend:?}");
        let report: Value = response.json().await.unwrap();
        assert_eq!(
            (report["aplicados"].as_u64(), report["rechazados"].as_u64()),
            (Some(1), Some(0)),
            "{report}"
        );
        let (_, despues) = fichas_del_hogar(&mut db, vecino.numero() as i32);
        let old = despues.iter().find(|f| f.0 == vigente).unwrap();
        assert_eq!(old.3, "reemplazada");
        let new: Vec<_> = despues.iter().filter(|f| f.3 == "vigente").collect();
        assert_eq!(new.len(), 1);
        assert_eq!(
            (new[0].1, new[0].2.to_string()),
            (9850, "2026-11-20".to_owned())
        );
        assert!(new[0].0 > vigente);

        // The municipality (and anyone allowed) now reads the new ficha, quintile derived.
        let ficha: Value = node
            .client(Some("muni-13101"))
            .get(node.agency_url(&format!("/api/v1/personas/{vecino}/ficha")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(ficha["folio"], new[0].0, "{ficha}");
        assert_eq!(ficha["puntaje"], 9850);
        assert_eq!(ficha["quintil"], 2);
        assert_eq!(ficha["fechaAplicacion"], "2026-11-20");

        // The XML sample replaces it again; the provenance names both batches.
        let response = post(
            &node,
            "muni-13101",
            "fichas",
            "application/xml",
            of_vecino("fichas.xml"),
            Some("muni-13101-2026-11-25"),
        )
        .await;
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["aplicados"], 1, "{report}");
        let (_, despues) = fichas_del_hogar(&mut db, vecino.numero() as i32);
        let vigentes: Vec<_> = despues.iter().filter(|f| f.3 == "vigente").collect();
        assert_eq!((vigentes.len(), vigentes[0].1), (1, 7420));
        assert_eq!(despues.len(), antes.len() + 2);
        let trail = siis::ops::lotes::procedencia(&mut db, vecino, Some("puntaje")).unwrap();
        assert_eq!(trail.len(), 2);
        assert_eq!(trail[0].convenio, "muni-13101");
        assert_eq!(trail[0].valores["puntaje"], 7420);
        assert_eq!(trail[0].valores["quintil"], 1);
        // Eligibility reads the new ficha: the score of the latest survey.
        let elegibilidad: Value = node
            .client(Some("muni-13101"))
            .get(node.agency_url(&format!("/api/v1/personas/{vecino}/elegibilidad/SUF")))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(elegibilidad["datos"]["puntaje"], 7420, "{elegibilidad}");

        // Bad records, each by line, and nothing of theirs applied.
        let afuera = registry::with_ficha_outside(&mut db, "13101");
        let otro = registry::with_ficha(&mut db, Some("13101"));
        let otro = {
            // A second household of Santiago, other than the first.
            let runs: Vec<i32> = integrantes::table
                .inner_join(siis::db::schema::hogares::table)
                .filter(siis::db::schema::hogares::cut.eq("13101"))
                .filter(integrantes::hogar_id.ne(hogar))
                .select(integrantes::run)
                .order(integrantes::run)
                .load(&mut db)
                .unwrap();
            runs.first()
                .map(|r| siis::domain::Run::from_numero(*r as u32).unwrap())
                .unwrap_or(otro)
        };
        // 71.000.001-8 is a registered person in no household.
        let response = post(
            &node,
            "srcei",
            "personas",
            "text/csv",
            sample("personas.csv"),
            None,
        )
        .await;
        assert_eq!(response.status(), 200);
        let fichas_antes: i64 = fichas::table.count().get_result(&mut db).unwrap();
        let unknown = registry::unknown();
        let hoy = siis::broker::local_today();
        let manana = hoy.succ_opt().unwrap();
        let csv = format!(
            "run,puntaje,fecha_aplicacion\n\
             {afuera},9000,2026-11-26\n\
             {unknown},9000,2026-11-26\n\
             71000001-8,9000,2026-11-26\n\
             {otro},25000,2026-11-26\n\
             {vecino},9000,2026-11-01\n\
             {otro},9000,{manana}\n\
             {otro},9000,2026-11-26\n\
             {companero},9100,2026-11-27\n"
        );
        let response = post(
            &node,
            "muni-13101",
            "fichas",
            "text/csv",
            csv.into_bytes(),
            None,
        )
        .await;
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.unwrap();
        let expected = [
            (2, "FUERA_DE_AMBITO".to_owned()),
            // Unknown and without a household: to a municipality, like any RUN it may not
            // touch (tests/it/ambito.rs).
            (3, "FUERA_DE_AMBITO".to_owned()),
            (4, "FUERA_DE_AMBITO".to_owned()),
            (5, "PUNTAJE_INVALIDO".to_owned()),
            (6, "FICHA_POSTERIOR".to_owned()),
            (7, "FECHA_INVALIDA".to_owned()),
        ];
        assert_eq!(rechazos(&report), expected, "{report}");
        // Line 8 (another household) and line 9 (the first household, dated after its ficha
        // in force) apply.
        assert_eq!(report["aplicados"], 2, "{report}");
        let fichas_despues: i64 = fichas::table.count().get_result(&mut db).unwrap();
        assert_eq!(fichas_despues, fichas_antes + 2);
        let vigentes = |db: &mut DbConnection| -> Vec<i32> {
            fichas_del_hogar(db, vecino.numero() as i32)
                .1
                .iter()
                .filter(|f| f.3 == "vigente")
                .map(|f| f.1)
                .collect()
        };
        assert_eq!(vigentes(&mut db), [9100]);

        // Two members of one household in one batch: the second is refused.
        let (_, otras) = fichas_del_hogar(&mut db, otro.numero() as i32);
        let csv =
            format!("run,puntaje,fecha_aplicacion\n{vecino},9200,{hoy}\n{companero},9300,{hoy}\n");
        let response = post(
            &node,
            "muni-13101",
            "fichas",
            "text/csv",
            csv.into_bytes(),
            None,
        )
        .await;
        let report: Value = response.json().await.unwrap();
        assert_eq!(
            rechazos(&report),
            [(3, "HOGAR_DUPLICADO".to_owned())],
            "{report}"
        );
        assert_eq!(report["aplicados"], 1);
        assert_eq!(fichas_del_hogar(&mut db, otro.numero() as i32).1, otras);
        assert_eq!(vigentes(&mut db), [9200]);

        // Valparaíso may not touch a household of Santiago; neither may the Registro Civil send
        // fichas, nor Santiago persons.
        let response = post(
            &node,
            "muni-05101",
            "fichas",
            "text/csv",
            of_vecino("fichas.csv"),
            None,
        )
        .await;
        let report: Value = response.json().await.unwrap();
        assert_eq!(
            rechazos(&report),
            [(2, "FUERA_DE_AMBITO".to_owned())],
            "{report}"
        );
        for (convenio, tipo) in [("srcei", "fichas"), ("muni-13101", "personas")] {
            let response = post(
                &node,
                convenio,
                tipo,
                "text/csv",
                sample(&format!("{tipo}.csv")),
                None,
            )
            .await;
            assert_eq!(response.status(), 403, "{convenio} {tipo}");
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["code"], "NO_AUTORIZADO");
        }
        let fichas_fin: i64 = fichas::table.count().get_result(&mut db).unwrap();
        assert_eq!(fichas_fin, fichas_despues + 1);
        node.stop().await;
    }
);

/// Living persons born before 2020 who have no benefit at all, by RUN.
fn sin_beneficios(conn: &mut DbConnection) -> Vec<siis::domain::Run> {
    let with: Vec<i32> = beneficios::table
        .select(beneficios::run)
        .load(conn)
        .unwrap();
    let runs: Vec<i32> = personas::table
        .filter(personas::fecha_defuncion.is_null())
        .filter(personas::fecha_nacimiento.lt(chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap()))
        .filter(personas::run.ne_all(with))
        .select(personas::run)
        .order(personas::run)
        .limit(10)
        .load(conn)
        .unwrap();
    runs.into_iter()
        .map(|r| siis::domain::Run::from_numero(r as u32).unwrap())
        .collect()
}

/// A person's benefits of `programa`: (estado, monto, fecha_inicio, fecha_termino, fuente), by id.
fn beneficios_de(
    conn: &mut DbConnection,
    run: siis::domain::Run,
    programa: &str,
) -> Vec<(String, i32, String, Option<String>, String)> {
    beneficios::table
        .filter(beneficios::run.eq(run.numero() as i32))
        .filter(beneficios::programa.eq(programa))
        .order(beneficios::id)
        .select((
            beneficios::estado,
            beneficios::monto,
            beneficios::fecha_inicio,
            beneficios::fecha_termino,
            beneficios::fuente,
        ))
        .load::<(
            String,
            i32,
            chrono::NaiveDate,
            Option<chrono::NaiveDate>,
            String,
        )>(conn)
        .unwrap()
        .into_iter()
        .map(|(e, m, i, t, f)| (e, m, i.to_string(), t.map(|t| t.to_string()), f))
        .collect()
}

fn todos_los_beneficios(conn: &mut DbConnection) -> Vec<(i64, String, Option<chrono::NaiveDate>)> {
    beneficios::table
        .order(beneficios::id)
        .select((
            beneficios::id,
            beneficios::estado,
            beneficios::fecha_termino,
        ))
        .load(conn)
        .unwrap()
}

per_backend!(
    async fn benefit_batches_grant_and_suspend_benefits_and_refuse_what_does_not_fit(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 300,
                ..Setup::default()
            },
        )
        .await;
        let mut db = node.db();
        let libres = sin_beneficios(&mut db);
        assert!(libres.len() >= 7, "{libres:?}");
        let nino = libres[0];
        let with = |name: &str, uno: siis::domain::Run, otro: Option<siis::domain::Run>| {
            let mut text = String::from_utf8(sample(name))
                .unwrap()
                .replace("12.345.678-5", &uno.to_string());
            if let Some(otro) = otro {
                text = text.replace("11.111.111-1", &otro.to_string());
            }
            text.into_bytes()
        };

        // SUSESO grants the SUF (CSV), then suspends it (XML).
        let response = post(
            &node,
            "suseso",
            "suf",
            "text/csv",
            with("suf.csv", nino, None),
            None,
        )
        .await;
        assert_eq!(response.status(), 200, "{backend:?}");
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["aplicados"], 1, "{report}");
        assert_eq!(
            beneficios_de(&mut db, nino, "SUF"),
            [(
                "vigente".into(),
                21243,
                "2026-11-01".into(),
                None,
                "SUSESO".into()
            )]
        );
        let response = post(
            &node,
            "suseso",
            "suf",
            "application/xml",
            with("suf.xml", nino, None),
            None,
        )
        .await;
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["aplicados"], 1, "{report}");
        assert_eq!(
            beneficios_de(&mut db, nino, "SUF"),
            [(
                "suspendido".into(),
                21243,
                "2026-11-01".into(),
                Some("2026-11-20".into()),
                "SUSESO".into()
            )]
        );
        // Granted again: the suspended grant is closed, the new one is in force.
        let csv =
            format!("run,programa,movimiento,monto,fecha\n{nino},SUF,concesion,22000,2026-11-25\n");
        let report: Value = post(&node, "suseso", "suf", "text/csv", csv.into_bytes(), None)
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(report["aplicados"], 1, "{report}");
        let suf = beneficios_de(&mut db, nino, "SUF");
        assert_eq!(suf.len(), 2);
        assert_eq!(suf[0].0, "extinguido");
        assert_eq!(
            suf[1],
            (
                "vigente".into(),
                22000,
                "2026-11-25".into(),
                None,
                "SUSESO".into()
            )
        );
        let trail = siis::ops::lotes::procedencia(&mut db, nino, Some("estado")).unwrap();
        assert_eq!(trail.len(), 3);
        assert_eq!(trail[0].convenio, "suseso");
        assert_eq!(trail[0].valores["monto"], 22000);
        assert_eq!(trail[1].valores["movimiento"], "suspension");

        // IPS: a PBS granted and one suspended (a person of the seed with a PBS in force).
        let pensionado: i32 = beneficios::table
            .filter(beneficios::programa.eq("PBS"))
            .filter(beneficios::estado.eq("vigente"))
            .select(beneficios::run)
            .order(beneficios::run)
            .first(&mut db)
            .expect("a PBS in force in the seeded registry");
        let pensionado = siis::domain::Run::from_numero(pensionado as u32).unwrap();
        let nuevo = libres[1];
        let response = post(
            &node,
            "ips",
            "pensiones",
            "text/csv",
            with("pensiones.csv", nuevo, Some(pensionado)),
            None,
        )
        .await;
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.unwrap();
        assert_eq!(report["aplicados"], 2, "{report}");
        assert_eq!(
            beneficios_de(&mut db, nuevo, "PBS"),
            [(
                "vigente".into(),
                224004,
                "2026-11-01".into(),
                None,
                "IPS".into()
            )]
        );
        let pbs = beneficios_de(&mut db, pensionado, "PBS");
        assert_eq!(
            (pbs[0].0.as_str(), pbs[0].3.as_deref()),
            ("suspendido", Some("2026-11-15"))
        );
        // The XML sample suspends the new one.
        let report: Value = post(
            &node,
            "ips",
            "pensiones",
            "application/xml",
            with("pensiones.xml", nuevo, None),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(report["aplicados"], 1, "{report}");
        assert_eq!(beneficios_de(&mut db, nuevo, "PBS")[0].0, "suspendido");

        // Bad records, each by line; nothing of theirs applied.
        let antes = todos_los_beneficios(&mut db);
        let muerto = registry::deceased_with_ficha(&mut db);
        let unknown = registry::unknown();
        let lines = [
            format!("{unknown},SUF,concesion,21243,2026-11-01"),
            format!("{},PBS,concesion,21243,2026-11-01", libres[2]),
            format!("{},SUF,alta,21243,2026-11-01", libres[3]),
            format!("{},SUF,concesion,,2026-11-01", libres[4]),
            format!("{},SUF,suspension,,2026-11-01", libres[5]),
            format!("{nino},SUF,concesion,21243,2026-11-27"),
            format!(
                "{muerto},SUF,concesion,21243,{}",
                siis::broker::local_today()
            ),
            format!("{},SUF,concesion,21243,1900-01-01", libres[6]),
            format!("{pensionado},PBS,suspension,,2026-11-16"),
            format!("{nuevo},PBS,concesion,224004,2026-11-10"),
        ];
        let suf_lines = lines[..8].join("\n");
        let report: Value = post(
            &node,
            "suseso",
            "suf",
            "text/csv",
            format!("run,programa,movimiento,monto,fecha\n{suf_lines}\n").into_bytes(),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(
            rechazos(&report),
            [
                (2, "RUN_DESCONOCIDO".to_owned()),
                (3, "PROGRAMA_DESCONOCIDO".to_owned()),
                (4, "MOVIMIENTO_INVALIDO".to_owned()),
                (5, "MONTO_INVALIDO".to_owned()),
                (6, "BENEFICIO_NO_VIGENTE".to_owned()),
                (7, "BENEFICIO_YA_VIGENTE".to_owned()),
                (8, "PERSONA_FALLECIDA".to_owned()),
                (9, "FECHAS_DESORDENADAS".to_owned()),
            ],
            "{report}"
        );
        assert_eq!(report["aplicados"], 0);
        // Out of order against the registry: a suspension of a benefit already suspended (not
        // in force), a grant dated before the end of the earlier one.
        let report: Value = post(
            &node,
            "ips",
            "pensiones",
            "text/csv",
            format!(
                "run,programa,movimiento,monto,fecha\n{}\n{}\n",
                lines[8], lines[9]
            )
            .into_bytes(),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
        assert_eq!(
            rechazos(&report),
            [
                (2, "BENEFICIO_NO_VIGENTE".to_owned()),
                (3, "FECHAS_DESORDENADAS".to_owned()),
            ],
            "{report}"
        );
        assert_eq!(todos_los_beneficios(&mut db), antes);

        // Each provider sends only its own kind.
        for (convenio, tipo) in [("srcei", "suf"), ("suseso", "pensiones"), ("ips", "suf")] {
            let response = post(
                &node,
                convenio,
                tipo,
                "text/csv",
                sample(&format!("{tipo}.csv")),
                None,
            )
            .await;
            assert_eq!(response.status(), 403, "{convenio} {tipo}");
        }
        assert_eq!(todos_los_beneficios(&mut db), antes);
        node.stop().await;
    }
);

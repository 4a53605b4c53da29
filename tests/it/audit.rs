//! The audit log: one record per request, committed before the answer; a verifiable chain;
//! and the accesses a person can ask about.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::DbConnection;
use siis::db::schema::auditoria;

use crate::per_backend;
use crate::registry;
use crate::soap::break_audit;
use crate::support::{Setup, TestNode, access_report};

per_backend!(
    async fn every_request_is_audited_under_concurrent_load_and_the_chain_verifies(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 2_000,
                ..Setup::default()
            },
        )
        .await;
        let run = registry::with_ficha(&mut node.db(), None);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..240usize {
            let convenio = ["minvu", "ips", "orasmi-13", "bbnn"][i % 4];
            let client = node.client(Some(convenio));
            let url = match i % 6 {
                0 => node.agency_url("/api/v1/ping"),
                1 | 2 => node.agency_url(&format!("/api/v1/personas/{run}/ficha")),
                3 => node.agency_url(&format!("/api/v1/personas/{run}/elegibilidad/PBS")),
                4 => node.agency_url("/api/v1/personas/1-1/ficha"),
                _ => node.agency_url("/api/v1/metaservicios/operaciones"),
            };
            tasks.spawn(async move { client.get(url).send().await.unwrap().status().as_u16() });
        }
        let statuses = tasks.join_all().await;
        assert_eq!(statuses.len(), 240);
        assert!(statuses.contains(&200) && statuses.contains(&403) && statuses.contains(&400));
        let records: i64 = auditoria::table.count().get_result(&mut node.db()).unwrap();
        assert_eq!(records, 240, "one audit record per request served");

        let out = node.siis(&["audit", "verify"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains("240 record(s) verified"), "{stdout}");
        node.stop().await;
    }
);

/// Lifts the append-only guard, as someone with database access could, to tamper.
fn allow_tampering(conn: &mut DbConnection) {
    let sql = match conn {
        DbConnection::Sqlite(_) => "DROP TRIGGER auditoria_solo_insercion_u",
        DbConnection::Pg(_) => "DROP TRIGGER auditoria_solo_insercion ON auditoria",
    };
    conn.batch_execute(sql).unwrap();
}

per_backend!(
    async fn an_edited_record_is_named_by_verify(backend) {
        let node = TestNode::start(backend).await;
        let client = node.client(Some("minvu"));
        for _ in 0..3 {
            client
                .get(node.agency_url("/api/v1/ping"))
                .send()
                .await
                .unwrap();
        }
        let refused = node
            .client(Some("minvu"))
            .get(node.agency_url("/api/v1/personas/6-0/ficha"))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400);
        assert!(node.siis(&["audit", "verify"]).status.success());

        // Someone rewrites the refusal as a success.
        let mut conn = node.db();
        allow_tampering(&mut conn);
        let changed = diesel::update(auditoria::table.filter(auditoria::id.eq(4)))
            .set(auditoria::resultado.eq("OK"))
            .execute(&mut conn)
            .unwrap();
        assert_eq!(changed, 1);
        let out = node.siis(&["audit", "verify"]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("broken at record 4"), "{stderr}");
        node.stop().await;
    }
);

per_backend!(
    async fn a_person_can_learn_who_consulted_them(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 1_000,
                ..Setup::default()
            },
        )
        .await;
        let run = registry::with_ficha(&mut node.db(), None);
        let other = registry::without_ficha(&mut node.db());
        node.client(Some("minvu"))
            .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
            .send()
            .await
            .unwrap();
        node.client(Some("ips"))
            .post(node.agency_url("/api/v1/identidad/validaciones"))
            .json(&json!({ "run": run.to_string() }))
            .send()
            .await
            .unwrap();
        node.client(Some("orasmi-13"))
            .get(node.agency_url(&format!("/api/v1/personas/{other}/ficha")))
            .send()
            .await
            .unwrap();
        // A refused request disclosed nothing: it is listed with its refusal and no field.
        node.client(Some("orasmi-13"))
            .get(node.agency_url(&format!("/api/v1/personas/{run}/elegibilidad/PBS")))
            .send()
            .await
            .unwrap();

        let body: Value = access_report(&node, run).await;
        let accesos = body["accesos"].as_array().unwrap();
        let who: Vec<(&str, &str, &str)> = accesos
            .iter()
            .map(|a| {
                (
                    a["convenio"].as_str().unwrap(),
                    a["operacion"].as_str().unwrap(),
                    a["resultado"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            who,
            [
                ("orasmi-13", "ConsultarElegibilidad", "NO_AUTORIZADO"),
                ("ips", "ValidarIdentidad", "OK"),
                ("minvu", "ConsultarFichaFPS", "OK")
            ],
            "newest first"
        );
        assert_eq!(accesos[0]["campos"], json!([]));
        assert!(
            accesos[2]["institucion"]
                .as_str()
                .unwrap()
                .contains("Vivienda")
        );
        assert!(!accesos[2]["proposito"].as_str().unwrap().is_empty());
        assert!(
            accesos[2]["campos"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "puntaje")
        );

        let out = node.siis(&["audit", "accesos", &run.dotted()]);
        assert!(out.status.success());
        let csv = String::from_utf8_lossy(&out.stdout);
        assert!(csv.starts_with("fecha,convenio,operacion,resultado,proposito,campos"));
        // RFC 4180: a purpose with commas stays one field, as the agreement states it.
        let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(csv.as_bytes())
            .records()
            .map(Result::unwrap)
            .collect();
        let minvu = rows.iter().find(|r| &r[1] == "minvu").expect("minvu's row");
        assert_eq!(minvu.len(), 6);
        assert_eq!(
            &minvu[4],
            "Verificar el puntaje FPS, el quintil y la composición del hogar de postulantes a los subsidios habitacionales FSV I y FSV II"
        );
        assert!(csv.contains(",minvu,ConsultarFichaFPS,OK,"), "{csv}");
        assert!(
            csv.contains(",operador,ConsultarAccesos,OK,"),
            "the operator's own look is listed too: {csv}"
        );
        assert!(
            csv.contains(",orasmi-13,ConsultarElegibilidad,NO_AUTORIZADO,"),
            "{csv}"
        );
        assert!(!csv.contains(&other.to_string()));
        node.stop().await;
    }
);

per_backend!(
    async fn no_answer_leaves_without_its_audit_record(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 300,
                ..Setup::default()
            },
        )
        .await;
        let run = registry::with_ficha(&mut node.db(), None);
        let url = node.agency_url(&format!("/api/v1/personas/{run}/ficha"));
        let client = node.client(Some("minvu"));
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
        break_audit(&mut node.db());
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 503);
        let body = response.text().await.unwrap();
        assert!(body.contains("NO_DISPONIBLE"), "{body}");
        assert!(
            !body.contains("puntaje") && !body.contains(&run.to_string()),
            "no data without audit: {body}"
        );
        node.stop().await;
    }
);

per_backend!(
    async fn a_batch_names_every_person_and_the_fields_only_of_those_it_disclosed(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 4_000,
                ..Setup::default()
            },
        )
        .await;
        let mine = registry::with_ficha(&mut node.db(), Some("13101"));
        let other = registry::with_ficha_outside(&mut node.db(), "13101");
        let r = node
            .client(Some("muni-13101"))
            .post(node.agency_url("/api/v1/fichas/consultas"))
            .json(&json!({ "runs": [mine.to_string(), other.to_string()] }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let (sujetos, campos): (String, String) = auditoria::table
            .order(auditoria::id.desc())
            .select((auditoria::sujetos, auditoria::campos))
            .first(&mut node.db())
            .unwrap();
        assert_eq!(
            sujetos,
            format!("{mine},{other}:FUERA_DE_AMBITO"),
            "the person outside the comuna was named, with nothing disclosed"
        );
        assert!(campos.contains("integrantes.nombres"), "{campos}");
        // The other person's access report shows the probe, with no field.
        let report: Value = access_report(&node, other).await;
        let accesos = report["accesos"].as_array().unwrap();
        assert_eq!(accesos.len(), 1, "{report}");
        assert_eq!(
            (
                accesos[0]["convenio"].as_str(),
                accesos[0]["resultado"].as_str()
            ),
            (Some("muni-13101"), Some("FUERA_DE_AMBITO"))
        );
        assert_eq!(accesos[0]["campos"], json!([]));
        // ValidarIdentidad records only the comparisons it made.
        node.client(Some("ips"))
            .post(node.agency_url("/api/v1/identidad/validaciones"))
            .json(&json!({ "run": mine.to_string(), "nombres": "X" }))
            .send()
            .await
            .unwrap();
        let campos: String = auditoria::table
            .order(auditoria::id.desc())
            .select(auditoria::campos)
            .first(&mut node.db())
            .unwrap();
        assert_eq!(campos, "coincidencias.nombres,run,vivo");
        node.stop().await;
    }
);

per_backend!(
    async fn signed_checkpoints_let_the_command_line_catch_a_truncated_log(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                checkpoint_secs: Some(1),
                ..Setup::default()
            },
        )
        .await;
        let client = node.client(Some("minvu"));
        for _ in 0..3 {
            let r = client.get(node.agency_url("/api/v1/ping")).send().await.unwrap();
            assert_eq!(r.status(), 200);
        }
        let head: i64 = auditoria::table
            .select(diesel::dsl::max(auditoria::id))
            .first::<Option<i64>>(&mut node.db())
            .unwrap()
            .unwrap();
        let file = node.config.checkpoints();
        let signed_head = || {
            std::fs::read_to_string(&file)
                .unwrap_or_default()
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok()?["id"].as_i64())
                .max()
        };
        for _ in 0..50 {
            if signed_head() >= Some(head) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert!(signed_head() >= Some(head), "no checkpoint of record {head}");
        let (file_arg, key) = (
            file.display().to_string(),
            node.pki.join("auditoria.pem").display().to_string(),
        );
        let verify = || {
            node.siis(&[
                "audit", "verify", "--checkpoints", &file_arg, "--clave-publica", &key,
            ])
        };
        let out = verify();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("checkpoint(s) verified"));
        // An empty checkpoint file proves nothing: it is a no, not a pass.
        let empty = tempfile::NamedTempFile::new().unwrap();
        let empty_arg = empty.path().display().to_string();
        let out = node.siis(&["audit", "verify", "--checkpoints", &empty_arg, "--clave-publica", &key]);
        assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));

        // Someone with write access cuts the tail off: the chain that is left is intact.
        let tamper = match backend {
            crate::support::Backend::Sqlite => {
                "DROP TRIGGER audit.auditoria_solo_insercion_d; \
                 DELETE FROM auditoria WHERE id = (SELECT max(id) FROM auditoria);"
            }
            crate::support::Backend::Postgres => {
                "ALTER TABLE auditoria DISABLE TRIGGER USER; \
                 DELETE FROM auditoria WHERE id = (SELECT max(id) FROM auditoria);"
            }
        };
        node.db().batch_execute(tamper).unwrap();
        let out = verify();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "a truncated log passed: {stderr}");
        assert!(stderr.contains("truncated"), "{stderr}");
        node.stop().await;
    }
);

per_backend!(
    async fn the_access_report_pages_and_says_its_total_instead_of_stopping(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 300,
                ..Setup::default()
            },
        )
        .await;
        let run = registry::with_ficha(&mut node.db(), None);
        let minvu = node.client(Some("minvu"));
        for _ in 0..7 {
            let r = minvu
                .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
        let operador = node.client(Some("operador"));
        let page = |query: &'static str| {
            let (client, url) = (
                operador.clone(),
                node.agency_url(&format!("/api/v1/personas/{run}/accesos{query}")),
            );
            async move {
                let r = client.get(url).send().await.unwrap();
                (r.status().as_u16(), r.json::<Value>().await.unwrap())
            }
        };
        let (_, first) = page("?porPagina=3").await;
        assert_eq!((first["total"].as_u64(), first["pagina"].as_u64()), (Some(7), Some(1)), "{first}");
        assert_eq!(first["porPagina"], 3);
        assert_eq!(first["accesos"].as_array().unwrap().len(), 3);
        // The operator's own look is an access too: the report grew by one.
        let (_, last) = page("?pagina=3&porPagina=3").await;
        assert_eq!(last["total"], 8, "{last}");
        assert_eq!(last["accesos"].as_array().unwrap().len(), 2, "{last}");
        // Newest first, and the pages do not overlap.
        let fechas = |v: &Value| -> Vec<String> {
            v["accesos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a["fecha"].as_str().unwrap().to_owned())
                .collect()
        };
        let (a, b) = (fechas(&first), fechas(&last));
        assert!(a.windows(2).all(|w| w[0] >= w[1]) && a.last() >= b.first(), "{a:?} {b:?}");
        let (_, beyond) = page("?pagina=9&porPagina=3").await;
        assert_eq!(beyond["total"], 9);
        assert_eq!(beyond["accesos"].as_array().unwrap().len(), 0);
        for bad in ["?pagina=0", "?porPagina=1001", "?porPagina=x"] {
            let (status, body) = page(bad).await;
            assert_eq!((status, body["code"].as_str()), (400, Some("PAGINACION_INVALIDA")), "{bad}");
        }
        let (status, body) = page("?pagina=1&orden=asc").await;
        assert_eq!((status, body["code"].as_str()), (400, Some("SOLICITUD_INVALIDA")));
        node.stop().await;
    }
);

//! The unit of accounting is the person: a batch of N RUNs takes N from the agreement's rate
//! and quota, the quota survives a restart in persons, refusals cost their certificate (a
//! flood meets 429 and the audit grows by at most the refusal budget, every refusal still
//! accounted for), and identity comparisons that do not match are limited per person and day.

use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::schema::auditoria;
use siis::domain::Run;

use crate::per_backend;
use crate::registry;
use crate::soap::client::{FICHA, IDENTIDAD, V, call, run_xml};
use crate::support::{Setup, TestNode, access_report, convenios_with, repo_path};

/// `n` distinct valid RUNs (persons the registry may or may not hold).
fn runs(n: u32) -> Vec<String> {
    (0..n)
        .map(|i| Run::from_numero(5_000_000 + i).unwrap().to_string())
        .collect()
}

async fn batch(node: &TestNode, convenio: &str, runs: &[String]) -> (u16, Value) {
    let response = node
        .client(Some(convenio))
        .post(node.agency_url("/api/v1/fichas/consultas"))
        .json(&json!({ "runs": runs }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// A copy of ORASMI's agreement under another id, with these limits.
fn orasmi_con(id: &str, per_second: u32, burst: u32, quota: u64) -> String {
    std::fs::read_to_string(repo_path("convenios/orasmi-13.toml"))
        .unwrap()
        .replace("\"orasmi-13\"", &format!("\"{id}\""))
        .replace(
            "per_second = 5\nburst = 10\ndaily_quota = 5000",
            &format!("per_second = {per_second}\nburst = {burst}\ndaily_quota = {quota}"),
        )
}

per_backend!(
    async fn a_batch_takes_one_unit_of_the_rate_per_person(backend) {
        // ORASMI: 5 persons a second, 10 at once ("one by one at the counter").
        let node = TestNode::start(backend).await;
        let (status, body) = batch(&node, "orasmi-13", &runs(11)).await;
        assert_eq!((status, body["code"].as_str()), (413, Some("LOTE_SUPERA_RAFAGA")));

        // One person named eleven times is eleven lookups, and eleven units.
        let same = vec![runs(1)[0].clone(); 11];
        let (status, body) = batch(&node, "orasmi-13", &same).await;
        assert_eq!((status, body["code"].as_str()), (413, Some("LOTE_SUPERA_RAFAGA")));

        // The same over SOAP: a whole-batch refusal, as an outcome with estadoSobre 03.
        let cuerpo: String = runs(11)
            .iter()
            .map(|r| run_xml("f", Run::parse(r).unwrap()))
            .collect();
        let client = node.client(Some("orasmi-13"));
        let answer = call(&client, &node, V::V11, &FICHA, "ConsultarFichaFPSLote", None, &cuerpo)
            .await;
        let respuesta = answer.respuesta(V::V11, &FICHA, "ConsultarFichaFPSLote");
        assert_eq!(crate::soap::client::estado(&respuesta), "03", "{}", answer.shown());

        // Ten persons empty the bucket: the next ten must wait (two seconds at 5 a second).
        let (status, _) = batch(&node, "orasmi-13", &runs(10)).await;
        assert_eq!(status, 200);
        let response = node
            .client(Some("orasmi-13"))
            .post(node.agency_url("/api/v1/fichas/consultas"))
            .json(&json!({ "runs": runs(10) }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert!(response.headers().contains_key("retry-after"));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["code"], "LIMITE_EXCEDIDO");
        node.stop().await;
    }
);

per_backend!(
    async fn the_daily_quota_counts_persons_and_is_restored_in_persons(backend) {
        let dir = tempfile::TempDir::new().unwrap();
        let convenios = convenios_with(
            dir.path(),
            &[("cuota-prueba.toml", orasmi_con("cuota-prueba", 1000, 100, 25))],
        );
        let node = TestNode::start_with(
            backend,
            Setup {
                convenios: Some(convenios),
                ..Setup::default()
            },
        )
        .await;
        let id = "cuota-prueba";
        assert_eq!(batch(&node, id, &runs(10)).await.0, 200);
        assert_eq!(batch(&node, id, &runs(10)).await.0, 200);
        let (status, body) = batch(&node, id, &runs(10)).await;
        assert_eq!((status, body["code"].as_str()), (429, Some("CUOTA_EXCEDIDA")));
        assert_eq!(batch(&node, id, &runs(5)).await.0, 200, "25 persons in all");
        let (status, body) = batch(&node, id, &runs(1)).await;
        assert_eq!((status, body["code"].as_str()), (429, Some("CUOTA_EXCEDIDA")));

        // Restored from the audit log at start-up: 25 persons, not 4 requests.
        let node = node.restart().await;
        let (status, body) = batch(&node, id, &runs(1)).await;
        assert_eq!((status, body["code"].as_str()), (429, Some("CUOTA_EXCEDIDA")));
        node.stop().await;
    }
);

/// Records of the audit log and the refusals their summaries stand for.
fn audited(node: &TestNode) -> (i64, i64) {
    let rows: Vec<Option<i64>> = auditoria::table
        .select(auditoria::omitidos)
        .load(&mut node.db())
        .unwrap();
    let omitted: i64 = rows.iter().flatten().sum();
    (rows.len() as i64, omitted)
}

per_backend!(
    async fn a_flood_of_refusals_meets_429_and_the_audit_grows_by_the_refusal_budget(backend) {
        // A certificate of the CA under no agreement, and a budget of 20 refusals at once, then
        // 2 a second.
        let node = TestNode::start_with(
            backend,
            Setup {
                extra_clients: vec!["desconocido"],
                refusal_budget: Some((2, 20)),
                ..Setup::default()
            },
        )
        .await;
        let client = node.client(Some("desconocido"));
        let started = std::time::Instant::now();
        let (mut refused, mut limited) = (0, 0);
        for _ in 0..300 {
            let response = client
                .get(node.agency_url("/api/v1/ping"))
                .send()
                .await
                .unwrap();
            match response.status().as_u16() {
                403 => refused += 1,
                429 => {
                    assert!(response.headers().contains_key("retry-after"));
                    let body: Value = response.json().await.unwrap();
                    assert_eq!(body["code"], "LIMITE_EXCEDIDO");
                    limited += 1;
                }
                other => panic!("unexpected status {other}"),
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let (records, _) = audited(&node);
        eprintln!(
            "refusal flood: 300 requests in {seconds:.1} s: {refused} answered 403 and audited, \
             {limited} answered 429 and counted; {records} audit records"
        );
        let budget = 20 + (2.0 * seconds).ceil() as i64 + 1;
        assert!(refused as i64 <= budget, "{refused} refusals audited one by one");
        assert_eq!(records, refused as i64, "only those within the budget have a record");
        assert!(limited >= 300 - budget as usize);

        // One summary record (written every refusals_summary_secs, and when the node stops)
        // stands for every refusal without a record of its own.
        assert_eq!(node.node.broker.summarize_refusals().await, 1);
        let (records, omitted) = audited(&node);
        assert_eq!(records, refused as i64 + 1, "one summary for the certificate");
        assert_eq!(omitted, limited as i64, "every refusal is accounted for");
        let summary: (String, String, Option<String>) = auditoria::table
            .filter(auditoria::omitidos.is_not_null())
            .select((
                auditoria::operacion,
                auditoria::resultado,
                auditoria::certificado,
            ))
            .first(&mut node.db())
            .unwrap();
        assert_eq!(
            (summary.0.as_str(), summary.1.as_str()),
            ("RechazosOmitidos", "LIMITE_EXCEDIDO")
        );
        assert!(summary.2.is_some(), "the summary names the certificate");
        node.stop().await;
    }
);

async fn validar(node: &TestNode, convenio: &str, claim: Value) -> (u16, Value) {
    let response = node
        .client(Some(convenio))
        .post(node.agency_url("/api/v1/identidad/validaciones"))
        .json(&claim)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

per_backend!(
    async fn identity_comparisons_that_do_not_match_are_limited_per_person_and_day(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 300,
                failed_validations_per_day: Some(3),
                ..Setup::default()
            },
        )
        .await;
        let run = registry::with_ficha(&mut node.db(), None);
        let other = registry::without_ficha(&mut node.db());
        let (_, _, _, nacimiento) = registry::identity(&mut node.db(), run);
        let right = json!({ "run": run.to_string(), "fechaNacimiento": nacimiento });
        let guess = |days: u64| {
            json!({ "run": run.to_string(), "fechaNacimiento": nacimiento + chrono::Days::new(days) })
        };
        // Comparisons that match cost nothing.
        for _ in 0..5 {
            let (status, body) = validar(&node, "ips", right.clone()).await;
            assert_eq!(status, 200);
            assert_eq!(body["coincidencias"]["fechaNacimiento"], true);
        }
        for days in 1..=3 {
            let (status, body) = validar(&node, "ips", guess(days)).await;
            assert_eq!(status, 200);
            assert_eq!(body["coincidencias"]["fechaNacimiento"], false);
        }
        // The fourth guess, and even the right date now, are refused until midnight.
        for claim in [guess(4), right.clone()] {
            let (status, body) = validar(&node, "ips", claim).await;
            assert_eq!((status, body["code"].as_str()), (429, Some("VALIDACIONES_AGOTADAS")));
        }
        // Per agreement and per person.
        assert_eq!(validar(&node, "bbnn", guess(5)).await.0, 200);
        let other_claim = json!({ "run": other.to_string(), "fechaNacimiento": "1900-01-01" });
        assert_eq!(validar(&node, "ips", other_claim).await.0, 200);

        // SOAP asks through the same limit.
        let client = node.client(Some("ips"));
        let cuerpo = format!("{}<i:fechaNacimiento>{nacimiento}</i:fechaNacimiento>", run_xml("i", run));
        let answer =
            call(&client, &node, V::V12, &IDENTIDAD, "ValidarIdentidad", None, &cuerpo).await;
        let fault = answer.fault(V::V12);
        assert_eq!((fault.estado.as_str(), fault.codigo.as_str()), ("02", "VALIDACIONES_AGOTADAS"));

        // Audited: the failed comparisons as NO_COINCIDE, and the person sees them.
        let outcomes: Vec<String> = auditoria::table
            .filter(auditoria::operacion.eq("ValidarIdentidad"))
            .filter(auditoria::convenio.eq("ips"))
            .select(auditoria::resultado)
            .load(&mut node.db())
            .unwrap();
        assert_eq!(outcomes.iter().filter(|o| *o == "NO_COINCIDE").count(), 4);
        assert_eq!(outcomes.iter().filter(|o| *o == "VALIDACIONES_AGOTADAS").count(), 3);
        let report: Value = access_report(&node, run).await;
        let listed = report["accesos"].as_array().unwrap();
        assert!(
            listed
                .iter()
                .filter(|a| a["operacion"] == "ValidarIdentidad" && a["convenio"] == "ips")
                .count()
                >= 8,
            "{report}"
        );

        // The day's count survives a restart (restored from the audit log).
        let node = node.restart().await;
        let (status, body) = validar(&node, "ips", guess(6)).await;
        assert_eq!((status, body["code"].as_str()), (429, Some("VALIDACIONES_AGOTADAS")));
        node.stop().await;
    }
);

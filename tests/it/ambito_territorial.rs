//! Scope by province and region (issue 24): an Intendencia's agreement (`orasmi-13`, shipped,
//! `ambito = { region = "13" }`) and a Gobernación's (`{ provincia = "131" }`, a test fixture)
//! see the persons of their territory, and answer a person outside it exactly as an unknown RUN
//! (status, code and body apart from the RUN), over REST and SOAP, single and batch.

use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::DbConnection;
use siis::db::schema::{fichas, hogares, integrantes, personas};
use siis::domain::Run;
use tempfile::TempDir;

use crate::per_backend;
use crate::soap::client::{FICHA, V, call, run_xml};
use crate::support::{Setup, TestNode, convenios_with, repo_path};

/// A living person with a ficha in force whose household's comuna starts (or, `dentro` false,
/// does not start) with `prefijo`.
fn persona(conn: &mut DbConnection, prefijo: &str, dentro: bool) -> Run {
    let con_ficha: Vec<i64> = fichas::table
        .filter(fichas::estado.eq("vigente"))
        .select(fichas::hogar_id)
        .load(conn)
        .unwrap();
    let patron = format!("{prefijo}%");
    let mut query = integrantes::table
        .inner_join(hogares::table)
        .inner_join(personas::table)
        .filter(personas::fecha_defuncion.is_null())
        .filter(integrantes::hogar_id.eq_any(con_ficha))
        .select(personas::run)
        .order(personas::run)
        .into_boxed();
    query = match dentro {
        true => query.filter(hogares::cut.like(patron)),
        false => query.filter(hogares::cut.not_like(patron)),
    };
    let run: i32 = query.first(conn).expect("a person of that territory");
    Run::from_numero(run as u32).unwrap()
}

/// An unknown RUN (valid check digit, no person).
fn desconocido(conn: &mut DbConnection) -> Run {
    let max: Option<i32> = personas::table
        .select(diesel::dsl::max(personas::run))
        .first(conn)
        .unwrap();
    Run::from_numero(max.unwrap_or(1) as u32 + 1).unwrap()
}

/// What `cliente` receives about `run` through each transport, with the RUN written `RUN`.
async fn respuestas(node: &TestNode, cliente: &str, run: Run) -> Vec<(u16, String)> {
    let client = node.client(Some(cliente));
    let sin_run = |text: String| {
        text.replace(&run.to_string(), "RUN")
            .replace(&run.dotted(), "RUN")
            .replace(&run.numero().to_string(), "RUN")
    };
    let mut out = Vec::new();
    let r = client
        .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let mut body: Value = r.json().await.unwrap();
    body.as_object_mut().map(|o| o.remove("id"));
    out.push((status, sin_run(body.to_string())));
    let r = client
        .post(node.agency_url("/api/v1/fichas/consultas"))
        .json(&json!({ "runs": [run.to_string()] }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    out.push((status, sin_run(body["resultados"].to_string())));
    // A survey request without a comuna: the person's comuna is used only when it is of the
    // territory.
    let r = client
        .post(node.agency_url("/api/v1/encuestajes"))
        .json(&json!({ "run": run.to_string() }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    out.push((status, sin_run(body.to_string())));
    let a = call(
        &client,
        node,
        V::V11,
        &FICHA,
        "ConsultarFichaFPS",
        None,
        &run_xml("f", run),
    )
    .await;
    let pares: Vec<String> = crate::soap::xml::parse(&a.text)
        .map(|e| crate::soap::xml::soap_pairs(&e))
        .unwrap_or_default()
        .into_iter()
        .filter(|(path, _)| {
            let last = path.rsplit('.').next().unwrap_or(path);
            !["idSobre", "fechaHora", "id"].contains(&last)
        })
        .map(|(path, value)| format!("{path}={value}"))
        .collect();
    out.push((a.status, sin_run(pares.join("\n"))));
    out
}

per_backend!(
    async fn an_intendencia_and_a_gobernacion_see_their_territory_and_nothing_beyond(backend) {
        let dir = TempDir::new().unwrap();
        let orasmi = std::fs::read_to_string(repo_path("convenios/orasmi-13.toml")).unwrap();
        let gobernacion = orasmi
            .replace("\"orasmi-13\"", "\"gob-131\"")
            .replace("ambito = { region = \"13\" }", "ambito = { provincia = \"131\" }");
        let convenios = convenios_with(dir.path(), &[("gob-131.toml", gobernacion)]);
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 3_000,
                convenios: Some(convenios),
                ..Setup::default()
            },
        )
        .await;
        let mut conn = node.db();
        let unknown = desconocido(&mut conn);
        for (cliente, prefijo) in [("orasmi-13", "13"), ("gob-131", "131")] {
            // Inside: the ficha, with its comuna of the territory.
            let dentro = persona(&mut conn, prefijo, true);
            let r = node
                .client(Some(cliente))
                .get(node.agency_url(&format!("/api/v1/personas/{dentro}/ficha")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{cliente}");
            let body: Value = r.json().await.unwrap();
            let comuna = body["comuna"]["codigo"].as_str().unwrap();
            assert!(comuna.starts_with(prefijo), "{cliente}: {comuna}");
            assert!(body["puntaje"].is_number(), "{cliente}: {body}");

            // Outside: exactly what an unknown RUN gets, in every transport.
            let fuera = persona(&mut conn, prefijo, false);
            let visto = respuestas(&node, cliente, fuera).await;
            let nadie = respuestas(&node, cliente, unknown).await;
            assert_eq!(visto, nadie, "{cliente}");
            assert_eq!(visto[0].0, 404, "{cliente}: {visto:?}");
        }
        // The agreement says its scope when asked (allowedMethods).
        let r = node
            .client(Some("orasmi-13"))
            .get(node.agency_url("/api/v1/metaservicios/operaciones"))
            .send()
            .await
            .unwrap();
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["ambitoRegion"], "13", "{body}");
        assert!(body.get("ambitoComuna").is_none(), "{body}");
    }
);

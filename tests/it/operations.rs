//! Each operation for each shipped agreement: what is granted is answered with exactly the
//! granted fields, what is not is refused; municipalities see their own comuna only.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use siis::catalog::Operation;
use siis::convenios::ConvenioSet;

use crate::per_backend;
use crate::registry;
use crate::support::{Backend, Setup, TestNode, postgres_only, repo_path};

/// Every leaf of a JSON document as a dotted path (array elements share their parent's path).
pub fn leaf_paths(value: &Value) -> BTreeSet<String> {
    fn walk(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let path = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(v, &path, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, prefix, out)),
            _ => {
                out.insert(prefix.to_owned());
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(value, "", &mut out);
    out
}

fn granted(set: &ConvenioSet, id: &str, op: Operation) -> Option<BTreeSet<String>> {
    let id = siis::domain::ConvenioId::parse(id).unwrap();
    set.get(&id)
        .unwrap()
        .grant(op)
        .map(|g| g.fields.iter().map(str::to_owned).collect())
}

per_backend!(
    async fn each_convenio_gets_exactly_its_grant_for_each_operation(backend) {
        let set = ConvenioSet::load_dir(&repo_path("convenios")).unwrap();
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 10_000,
                ..Setup::default()
            },
        )
        .await;
        for convenio in set.agencias() {
            let id = convenio.id.as_str();
            let client = node.client(Some(id));
            let run = registry::with_ficha(&mut node.db(), convenio.ambito_prefijo());
            let (nombres, paterno, materno, nacimiento) = registry::identity(&mut node.db(), run);

            // ConsultarFichaFPS
            let response = client
                .get(node.agency_url(&format!("/api/v1/personas/{run}/ficha")))
                .send()
                .await
                .unwrap();
            match granted(&set, id, Operation::ConsultarFichaFPS) {
                Some(fields) => {
                    assert_eq!(response.status(), 200, "{id} ficha");
                    let body: Value = response.json().await.unwrap();
                    assert_eq!(
                        leaf_paths(&body),
                        fields,
                        "{id}: ficha discloses exactly its grant"
                    );
                }
                None => assert_eq!(response.status(), 403, "{id} ficha"),
            }

            // ValidarIdentidad, comparing only what the agreement may compare.
            let fields = granted(&set, id, Operation::ValidarIdentidad);
            let may = |f: &str| fields.as_ref().is_some_and(|g| g.contains(f));
            let mut claim = json!({ "run": run.dotted() });
            if may("coincidencias.nombres") {
                claim["nombres"] = json!(nombres.to_lowercase());
            }
            if may("coincidencias.apellidoPaterno") {
                claim["apellidoPaterno"] = json!(paterno);
            }
            if may("coincidencias.apellidoMaterno") {
                claim["apellidoMaterno"] = json!(materno);
            }
            if may("coincidencias.fechaNacimiento") {
                claim["fechaNacimiento"] = json!(nacimiento);
            }
            let response = client
                .post(node.agency_url("/api/v1/identidad/validaciones"))
                .json(&claim)
                .send()
                .await
                .unwrap();
            match fields {
                Some(fields) => {
                    assert_eq!(response.status(), 200, "{id} identidad");
                    let body: Value = response.json().await.unwrap();
                    assert_eq!(leaf_paths(&body), fields, "{id}: identidad");
                    for (k, v) in body["coincidencias"].as_object().into_iter().flatten() {
                        assert_eq!(v, &json!(true), "{id}: {k} should match");
                    }
                    assert!(
                        !body.to_string().contains(&paterno),
                        "registry values are never echoed"
                    );
                }
                None => assert_eq!(response.status(), 403, "{id} identidad"),
            }

            // ConsultarElegibilidad, for a program the agreement may ask about.
            let grant = convenio.grant(Operation::ConsultarElegibilidad);
            let programa = grant
                .and_then(|g| g.programas.as_ref())
                .and_then(|p| p.iter().next().cloned())
                .unwrap_or_else(|| "PBS".to_owned());
            let response = client
                .get(node.agency_url(&format!("/api/v1/personas/{run}/elegibilidad/{programa}")))
                .send()
                .await
                .unwrap();
            match granted(&set, id, Operation::ConsultarElegibilidad) {
                Some(fields) => {
                    assert_eq!(response.status(), 200, "{id} elegibilidad");
                    let body: Value = response.json().await.unwrap();
                    let paths = leaf_paths(&body);
                    assert!(
                        paths.is_subset(&fields),
                        "{id}: {paths:?} beyond {fields:?}"
                    );
                    // The decision itself is always there when granted (only `datos.*` varies
                    // with the rules that were read).
                    for core in ["run", "programa", "elegible", "regla", "motivo"] {
                        assert_eq!(
                            paths.contains(core),
                            fields.contains(core),
                            "{id}: {core} in {paths:?}"
                        );
                    }
                    if fields.contains("regla") {
                        assert!(
                            body["regla"]
                                .as_str()
                                .is_some_and(|r| r.starts_with(&programa)),
                            "{body}"
                        );
                    }
                }
                None => assert_eq!(response.status(), 403, "{id} elegibilidad"),
            }

            // ConsultarAccesos
            let response = client
                .get(node.agency_url(&format!("/api/v1/personas/{run}/accesos")))
                .send()
                .await
                .unwrap();
            match granted(&set, id, Operation::ConsultarAccesos) {
                Some(fields) => {
                    assert_eq!(response.status(), 200, "{id} accesos");
                    let body: Value = response.json().await.unwrap();
                    let paths = leaf_paths(&body);
                    assert!(paths.is_subset(&fields), "{id}: accesos");
                    // Earlier requests of this test consulted the RUN, so accesses are listed.
                    assert!(
                        paths.contains("run") && paths.contains("accesos.convenio"),
                        "{id}: {body}"
                    );
                }
                None => assert_eq!(response.status(), 403, "{id} accesos"),
            }

            // allowedMethods lists exactly the granted operations and fields.
            let meta: Value = client
                .get(node.agency_url("/api/v1/metaservicios/operaciones"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(meta["convenio"], id);
            let listed: BTreeSet<String> = meta["operaciones"]
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o["operacion"].as_str().unwrap().to_owned())
                .collect();
            let expected: BTreeSet<String> = convenio
                .grants
                .keys()
                .map(|op| op.name().to_owned())
                .collect();
            assert_eq!(listed, expected, "{id}");
        }
        node.stop().await;
    }
);

per_backend!(
    async fn municipalities_see_only_their_own_comuna(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 10_000,
                ..Setup::default()
            },
        )
        .await;
        let mine = registry::with_ficha(&mut node.db(), Some("13101"));
        let other = registry::with_ficha_outside(&mut node.db(), "13101");
        let client = node.client(Some("muni-13101"));
        let own = client
            .get(node.agency_url(&format!("/api/v1/personas/{mine}/ficha")))
            .send()
            .await
            .unwrap();
        assert_eq!(own.status(), 200);
        assert_eq!(
            own.json::<Value>().await.unwrap()["comuna"]["codigo"],
            "13101"
        );

        let outside = client
            .get(node.agency_url(&format!("/api/v1/personas/{other}/ficha")))
            .send()
            .await
            .unwrap();
        assert_eq!(
            outside.status(),
            404,
            "existence elsewhere is not disclosed"
        );
        assert_eq!(
            outside.json::<Value>().await.unwrap()["code"],
            "NO_ENCONTRADO"
        );
        use diesel::prelude::*;
        use siis::db::schema::auditoria;
        let outcome: String = auditoria::table
            .order(auditoria::id.desc())
            .select(auditoria::resultado)
            .first(&mut node.db())
            .unwrap();
        assert_eq!(outcome, "FUERA_DE_AMBITO");

        for path in [format!("/api/v1/personas/{other}/elegibilidad/PBS")] {
            let r = client.get(node.agency_url(&path)).send().await.unwrap();
            assert_eq!(r.status(), 404, "{path}");
        }
        let r = client
            .post(node.agency_url("/api/v1/identidad/validaciones"))
            .json(&json!({ "run": other.to_string(), "nombres": "X" }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);

        let batch: Value = client
            .post(node.agency_url("/api/v1/fichas/consultas"))
            .json(&json!({ "runs": [mine.to_string(), other.to_string()] }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(batch["resultados"][0]["estado"], "encontrado");
        assert_eq!(batch["resultados"][1]["estado"], "no_encontrado");
        assert!(batch["resultados"][1].get("ficha").is_none());
        node.stop().await;
    }
);

per_backend!(
    async fn a_batch_answers_each_run_with_its_own_status(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 2_000,
                ..Setup::default()
            },
        )
        .await;
        let found = registry::with_ficha(&mut node.db(), None);
        let deceased = registry::deceased_with_ficha(&mut node.db());
        let without = registry::without_ficha(&mut node.db());
        let runs = json!([
            found.dotted(),
            registry::unknown().to_string(),
            "12.345.678-4",
            without.to_string(),
            deceased.to_string()
        ]);
        let response = node
            .client(Some("minvu"))
            .post(node.agency_url("/api/v1/fichas/consultas"))
            .json(&json!({ "runs": runs }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        let estados: Vec<&str> = body["resultados"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["estado"].as_str().unwrap())
            .collect();
        assert_eq!(
            estados,
            [
                "encontrado",
                "no_encontrado",
                "run_invalido",
                "sin_ficha",
                "encontrado"
            ]
        );
        assert_eq!(body["resultados"][0]["run"], found.to_string());
        assert_eq!(body["resultados"][4]["ficha"]["fallecido"], true);
        assert!(
            body["resultados"][0]["ficha"]["integrantes"]
                .as_array()
                .is_some_and(|m| !m.is_empty())
        );
        node.stop().await;
    }
);

per_backend!(
    async fn identity_validation_reports_mismatches_and_death_without_echoing(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 2_000,
                ..Setup::default()
            },
        )
        .await;
        let run = registry::with_ficha(&mut node.db(), None);
        let (nombres, paterno, _, nacimiento) = registry::identity(&mut node.db(), run);
        let client = node.client(Some("ips"));
        let url = node.agency_url("/api/v1/identidad/validaciones");
        let body: Value = client
            .post(&url)
            .json(&json!({ "run": run.to_string(), "nombres": "NADIE", "apellidoPaterno": paterno.to_lowercase(), "fechaNacimiento": nacimiento.succ_opt() }))
            .send().await.unwrap().json().await.unwrap();
        assert_eq!(body["coincidencias"]["nombres"], false);
        assert_eq!(body["coincidencias"]["apellidoPaterno"], true);
        assert_eq!(body["coincidencias"]["fechaNacimiento"], false);
        assert!(
            body["coincidencias"].get("apellidoMaterno").is_none(),
            "not asked, not answered"
        );
        assert_eq!(body["vivo"], true);
        assert!(!body.to_string().contains(&nombres));

        let deceased = registry::deceased_with_ficha(&mut node.db());
        let body: Value = client
            .post(&url)
            .json(&json!({ "run": deceased.to_string() }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["vivo"], false);

        // An unknown field in the claim is refused rather than ignored.
        let r = client
            .post(&url)
            .json(&json!({ "run": run.to_string(), "puntaje": 1 }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        node.stop().await;
    }
);

#[tokio::test]
async fn comparing_a_field_the_convenio_does_not_grant_is_refused() {
    let dir = tempfile::TempDir::new().unwrap();
    let convenios = dir.path().join("convenios");
    std::fs::create_dir(&convenios).unwrap();
    std::fs::write(
        convenios.join("vivos.toml"),
        "id = \"vivos\"\nagency = \"Agencia\"\nlegal_basis = \"Ley 19.628\"\npurpose = \"Supervivencia\"\n\
         valid_from = 2026-01-01\nvalid_until = 2030-12-31\n[limits]\nper_second = 10\nburst = 10\ndaily_quota = 100\n\
         [[clients]]\nsubject_cn = \"vivos\"\n[operations.ValidarIdentidad]\nfields = [\"run\", \"vivo\"]\n",
    )
    .unwrap();
    let node = TestNode::start_with(
        crate::support::Backend::Sqlite,
        Setup {
            persons: 300,
            convenios: Some(convenios),
            ..Setup::default()
        },
    )
    .await;
    let run = registry::with_ficha(&mut node.db(), None);
    let client = node.client(Some("vivos"));
    let url = node.agency_url("/api/v1/identidad/validaciones");
    let r = client
        .post(&url)
        .json(&json!({ "run": run.to_string(), "nombres": "JUAN" }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "CAMPO_NO_PERMITIDO"
    );
    let ok: Value = client
        .post(&url)
        .json(&json!({ "run": run.to_string() }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        leaf_paths(&ok),
        BTreeSet::from(["run".to_owned(), "vivo".to_owned()])
    );
    node.stop().await;
}

per_backend!(
    /// A single lookup (its own statement, kept prepared), a batch (`consultar_varios`: the
    /// group read, `read_many`, judged RUN by RUN) and the one statement groups use on
    /// PostgreSQL (`read_together`, run here on both backends: SQL of its own, unlike the
    /// others on SQLite) give the same answer for every kind of person, the same RUN twice
    /// among them, with and without scope and members.
    async fn single_and_batch_lookups_answer_alike(backend) {
        use siis::domain::{Ambito, Nivel};
        use siis::ops::ficha::{Lookup, consultar_varios, read, read_together};
        let setup = Setup {
            persons: 4_000,
            ..Setup::default()
        };
        let node = TestNode::start_with(backend, setup).await;
        let mut conn = node.db();
        let mut runs = registry::every_kind(&mut conn);
        // The same RUN asked twice in one group.
        runs.push(runs[0]);
        let mut kinds = BTreeSet::new();
        let comuna = Ambito::parse(Nivel::Comuna, "13101").unwrap();
        let region = Ambito::parse(Nivel::Region, "13").unwrap();
        for scope in [None, Some(comuna), Some(region)] {
            for members in [false, true] {
                let batch = consultar_varios(&mut conn, &runs, scope, members).unwrap();
                // The one statement PostgreSQL's groups use, run here on either backend.
                let together = read_together(&mut conn, &runs, members).unwrap();
                assert_eq!((batch.len(), together.len()), (runs.len(), runs.len()));
                for ((run, from_batch), together) in runs.iter().zip(batch).zip(together) {
                    let single = read(&mut conn, *run, members).unwrap().judge(*run, scope, members);
                    let context = format!("{run} scope {scope:?} members {members}");
                    assert_eq!(single, from_batch, "batch: {context}");
                    let together = together.judge(*run, scope, members);
                    assert_eq!(single, together, "together: {context}");
                    kinds.insert(match &single {
                        Lookup::Found(f) => {
                            assert_eq!(f.integrantes.is_some(), members);
                            if members {
                                let found = f.integrantes.as_ref().unwrap();
                                assert!(found.iter().any(|m| m.run == f.run));
                            }
                            "found"
                        }
                        Lookup::NotFound => "not found",
                        Lookup::NoFicha => "no ficha",
                        Lookup::OutOfScope => "out of scope",
                    });
                }
            }
        }
        assert_eq!(
            kinds.len(),
            4,
            "every kind of answer was compared: {kinds:?}"
        );
    }
);

/// A node with 4,000 persons, a connection to its registry whose queries are recorded from
/// now on, and two persons with a ficha (in comuna 13101 and outside it).
async fn statement_probe(
    backend: Backend,
) -> (
    TestNode,
    siis::db::DbConnection,
    [siis::domain::Run; 2],
    QueryLog,
) {
    let setup = Setup {
        persons: 4_000,
        ..Setup::default()
    };
    let node = TestNode::start_with(backend, setup).await;
    let mut conn = node.db();
    let first = registry::with_ficha(&mut conn, Some("13101"));
    let second = registry::with_ficha_outside(&mut conn, "13101");
    let seen = record_queries(&mut conn);
    (node, conn, [first, second], seen)
}

/// The SQL of each query (with its binds, as Diesel logs it) and how many statements went
/// into the connection's prepared-statement cache.
type QueryLog = std::sync::Arc<std::sync::Mutex<(Vec<String>, usize)>>;

/// Records what runs on `conn` from now on.
fn record_queries(conn: &mut siis::db::DbConnection) -> QueryLog {
    use diesel::Connection;
    use diesel::connection::InstrumentationEvent;
    let seen = QueryLog::default();
    let log = seen.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        let mut log = log.lock().unwrap();
        match event {
            InstrumentationEvent::StartQuery { query, .. } => log.0.push(query.to_string()),
            InstrumentationEvent::CacheQuery { .. } => log.1 += 1,
            _ => {}
        }
    });
    seen
}

per_backend!(
    /// A single lookup runs on statements that stay prepared between requests, on every backend:
    /// the second lookup prepares nothing new, and no statement binds a value SQLite's planner
    /// reads (a bound `LIMIT` or the partial index's `estado`), which makes SQLite prepare the
    /// statement again at every execution (a lookup's three-table join cost 61 µs instead of 7).
    async fn single_lookups_keep_their_statements_prepared(backend) {
        use siis::ops::ficha::read;
        let (_node, mut conn, [first, second], seen) = statement_probe(backend).await;
        assert!(matches!(
            read(&mut conn, first, true).unwrap().judge(first, None, true),
            siis::ops::ficha::Lookup::Found(_)
        ));
        let prepared_by_first = std::mem::take(&mut seen.lock().unwrap().1);
        assert!(
            prepared_by_first > 0,
            "the first lookup prepares its statements"
        );
        seen.lock().unwrap().0.clear();
        read(&mut conn, second, true).unwrap().judge(second, None, true);
        let (queries, prepared) = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!(
            prepared, 0,
            "the second lookup prepared again: {queries:#?}"
        );
        // The members with their household and its ficha in force: one join.
        assert_eq!(queries.len(), 1, "{queries:#?}");
        // Without members: the household with its ficha, one join too.
        read(&mut conn, first, false).unwrap().judge(first, None, false);
        let (without, prepared) = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!(without.len(), 1, "{without:#?}");
        read(&mut conn, second, false).unwrap().judge(second, None, false);
        let (again, prepared_again) = std::mem::take(&mut *seen.lock().unwrap());
        assert_eq!((prepared > 0, prepared_again), (true, 0), "{again:#?}");
        for sql in queries.iter().chain(&without) {
            let sql = sql.to_lowercase();
            assert!(!sql.contains("limit"), "a bound LIMIT: {sql}");
            assert!(
                !sql.contains("\"estado\" = $") && !sql.contains("`estado` = ?"),
                "a bound estado: {sql}"
            );
        }
    }
);

/// On PostgreSQL a batch, like single lookups waiting together (`read_many`, the one read path
/// both share), binds its RUNs as one array (`= ANY($1)`), so its one statement stays prepared
/// whatever the batch's size: a batch costs the server no parsing or planning, with members or
/// without. (SQLite has no array bind; `read_many` runs the single lookup's statement per RUN
/// there.)
#[tokio::test]
async fn postgres_batch_lookups_keep_their_statements_prepared() {
    use siis::db::DbConnection;
    use siis::domain::Run;
    use siis::ops::ficha::{Lookup, consultar_varios, read_many};
    let Some(backend) = postgres_only() else {
        return;
    };
    let (_node, mut conn, [first, second], seen) = statement_probe(backend).await;
    // Reads two RUNs, then three: the statements run and prepared for two, after checking
    // that three ran the same SQL and prepared nothing new.
    let mut statements = |read: &dyn Fn(&mut DbConnection, &[Run]) -> Vec<Lookup>| {
        let answers = read(&mut conn, &[first, second]);
        assert!(
            answers.iter().all(|a| matches!(a, Lookup::Found(_))),
            "{answers:?}"
        );
        let (queries, cached) = std::mem::take(&mut *seen.lock().unwrap());
        let answers = read(&mut conn, &[second, first, second]);
        assert_eq!(answers.len(), 3);
        assert!(matches!(&answers[1], Lookup::Found(_)), "{answers:?}");
        let (again, cached_again) = std::mem::take(&mut *seen.lock().unwrap());
        // The logged text ends with the bound values ("-- binds: […]"); the SQL is before.
        let sql = |logged: &[String]| -> Vec<String> {
            logged
                .iter()
                .map(|q| q.split(" -- binds:").next().unwrap_or(q).to_owned())
                .collect()
        };
        assert_eq!(sql(&again), sql(&queries), "another size ran other SQL");
        assert!(
            queries.iter().all(|q| q.contains("= ANY($1)")),
            "{queries:#?}"
        );
        assert_eq!(cached_again, 0, "another size prepared again");
        (queries.len(), cached)
    };
    // Households, fichas and members in one statement, kept prepared.
    let batch = statements(&|conn, runs| consultar_varios(conn, runs, None, true).unwrap());
    assert_eq!(batch, (1, 1));
    // A group with members runs the batch's very statement: nothing new to prepare.
    for (members, prepared) in [(true, 0), (false, 1)] {
        let together = statements(&|conn, runs| {
            let readings = read_many(conn, runs, members).unwrap();
            let judged = readings.into_iter().zip(runs);
            judged
                .map(|(r, run)| r.judge(*run, None, members))
                .collect()
        });
        assert_eq!(together, (1, prepared), "members {members}");
    }
}

per_backend!(
    /// A large batch read in two halves on two connections answers exactly as on one: same
    /// results, same order, invalid RUNs in place.
    async fn a_batch_split_over_two_connections_answers_as_one(backend) {
        use diesel::prelude::*;
        use siis::db::schema::personas;
        use siis::ops::lote;
        let setup = Setup {
            persons: 2_000,
            ..Setup::default()
        };
        let node = TestNode::start_with(backend, setup).await;
        let mut conn = node.db();
        let mut runs: Vec<String> = personas::table
            .select(personas::run)
            .order(personas::run.desc())
            .limit(150)
            .load::<i32>(&mut conn)
            .unwrap()
            .into_iter()
            .map(|r| {
                siis::domain::Run::from_numero(r as u32)
                    .unwrap()
                    .to_string()
            })
            .collect();
        runs.insert(3, "1-0".into());
        runs.push(registry::unknown().to_string());
        let pool = siis::db::open_pool(
            &node.config.database.url,
            2,
            std::time::Duration::from_secs(5),
        )
        .unwrap();
        let alone = lote::consultar(&mut conn, &runs, None, true, None).unwrap();
        let split = lote::consultar(&mut conn, &runs, None, true, Some(&pool)).unwrap();
        assert_eq!(
            serde_json::to_value(&split).unwrap(),
            serde_json::to_value(&alone).unwrap()
        );
        let found = alone
            .resultados
            .iter()
            .filter(|r| r.estado == "encontrado")
            .count();
        assert!(found > 50, "{found} found");
        assert_eq!(alone.resultados[3].estado, "run_invalido");
        assert_eq!(alone.resultados.last().unwrap().estado, "no_encontrado");
    }
);

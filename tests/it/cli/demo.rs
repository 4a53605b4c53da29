//! `serve --demo` seeds the municipal loop once per registry (src/cli/demo/municipal.rs), and
//! the README's walkthrough ("A municipality's day") works against it: the same requests, sent
//! by a real client with the demo's municipal certificate.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::DatabaseUrl;
use siis::db::schema::{cupos, encuestas, fichas, postulaciones};
use tempfile::TempDir;

use super::{siis, wait_with_timeout};
use crate::per_backend;
use crate::support::{Backend, TestDb, tls_client};

/// A `serve --demo` in `dir` (on `url` when given, else the demo's own SQLite file), its
/// agency address, and its standard error's lines as they come.
struct Demo {
    child: Child,
    agency: std::net::SocketAddr,
    _stderr: Receiver<String>,
}

impl Demo {
    fn start(dir: &Path, url: Option<&DatabaseUrl>) -> Demo {
        Demo::spawn(siis(dir), url)
    }

    /// [`Demo::start`] with a command of the test's own.
    fn spawn(mut cmd: std::process::Command, url: Option<&DatabaseUrl>) -> Demo {
        cmd.args(["serve", "--demo"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(url) = url {
            cmd.env("SIIS__DATABASE__URL", crate::support::url_arg(url));
        }
        let mut child = cmd.spawn().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // Population and loop seeded on a fresh registry: minutes on a busy debug build.
        let deadline = Instant::now() + Duration::from_secs(300);
        let mut log = Vec::new();
        let agency = loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("node did not start: {log:?}"));
            if line.contains("node started") {
                let addr = line.split("agency=").nth(1).unwrap();
                break addr.split_whitespace().next().unwrap().parse().unwrap();
            }
            log.push(line);
        };
        Demo {
            child,
            agency,
            _stderr: rx,
        }
    }

    /// Stops it (SIGTERM) and returns what it printed.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(killed.success());
        assert!(wait_with_timeout(&mut self.child, Duration::from_secs(30)).success());
        std::io::read_to_string(self.child.stdout.take().unwrap()).unwrap()
    }

    fn client(&self, dir: &Path, convenio: &str) -> reqwest::Client {
        let pki = dir.join("var/pki");
        let cert = pki.join(format!("clients/{convenio}.pem"));
        let key = pki.join(format!("clients/{convenio}-key.pem"));
        tls_client(&pki.join("ca.pem"), Some((&cert, &key)), &[self.agency])
    }

    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}/api/v1{path}", self.agency.port())
    }
}

/// The sample file's RUNs by category.
fn muestra(dir: &Path) -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(dir.join("var/sample.csv")).unwrap();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (categoria, run) in text.lines().skip(1).filter_map(|l| l.split_once(',')) {
        out.entry(categoria.into()).or_default().push(run.into());
    }
    out
}

/// Rows of the municipal loop's tables: questionnaires, fichas scored by a model, postulations,
/// cupos.
fn filas(url: &DatabaseUrl) -> [i64; 4] {
    let mut conn = siis::db::ConnectionManager::new(url.clone())
        .open()
        .unwrap();
    [
        encuestas::table.count().get_result(&mut conn).unwrap(),
        fichas::table
            .filter(fichas::modelo.is_not_null())
            .count()
            .get_result(&mut conn)
            .unwrap(),
        postulaciones::table.count().get_result(&mut conn).unwrap(),
        cupos::table.count().get_result(&mut conn).unwrap(),
    ]
}

async fn get(client: &reqwest::Client, url: &str) -> Value {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.json().await.unwrap()
}

/// The checks of a postulation that do not hold.
fn fallidas(p: &Value) -> Vec<&str> {
    p["chequeos"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["cumple"] == false)
        .map(|c| c["regla"].as_str().unwrap())
        .collect()
}

per_backend!(
    /// The first start seeds surveyed households, cupos and postulations with the expected
    /// states (a SUF waiting list longer than the cupos), the README's requests work against
    /// them, and a second start seeds nothing.
    fn the_demo_seeds_the_municipal_loop_once_and_the_walkthrough_works(backend) {
    let dir = TempDir::new().unwrap();
    let db = (backend == Backend::Postgres).then(|| TestDb::new(backend, dir.path()));
    let url = match &db {
        Some(db) => db.url.clone(),
        None => DatabaseUrl::Sqlite(dir.path().join("var/siis.db")),
    };
    let demo = Demo::start(dir.path(), db.as_ref().map(|d| &d.url));
    let sample = muestra(dir.path());
    let one = |c: &str| sample.get(c).and_then(|r| r.first()).cloned().unwrap_or_else(|| panic!("no {c} in the sample: {sample:?}"));
    let count = |c: &str| sample.get(c).map_or(0, Vec::len);
    assert_eq!(count("jefe_encuestado"), 8, "{sample:?}");
    assert_eq!(count("jefe_encuestado_05101"), 2);
    assert_eq!(count("postulado_suf"), 5);
    assert_eq!(count("postulante_suf"), 1);
    assert_eq!(count("causante_suf"), 1);
    assert_eq!(count("postulado_pasis"), 1);
    assert_eq!(count("rechazado_pasis"), 1);
    assert_eq!(count("postulado_sap"), 1);
    // Ten questionnaires, each behind a ficha that names its model; 8 postulations; cupos for
    // three programs in two comunas.
    assert_eq!(filas(&url), [10, 10, 8, 6]);

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let m = demo.client(dir.path(), "muni-13101");
        let o = demo.client(dir.path(), "operador");
        let anio = siis::broker::local_today().format("%Y").to_string();
        for (comuna, programa) in [("13101", "SUF"), ("13101", "PASIS"), ("05101", "SAP")] {
            let c = get(&o, &demo.url(&format!("/cupos/{comuna}/{programa}/{anio}"))).await;
            assert_eq!((c["cupos"].as_i64(), c["fijadoPor"].as_str()), (Some(3), Some("operador")));
        }
        // The waiting list: five verified SUF postulations for three cupos, most vulnerable
        // first; the first names two causantes.
        let lista = |programa: &str| demo.url(&format!("/municipios/13101/postulaciones?programa={programa}"));
        let suf = get(&m, &lista("SUF")).await;
        let suf = suf["postulaciones"].as_array().unwrap().clone();
        assert_eq!(suf.len(), 5);
        assert!(suf.iter().all(|p| p["estado"] == "verificada"), "{suf:?}");
        let puntajes: Vec<i64> = suf.iter().map(|p| p["puntaje"].as_i64().unwrap()).collect();
        assert!(puntajes.is_sorted(), "{puntajes:?}");
        assert_eq!(suf.iter().map(|p| p["causantes"].as_array().unwrap().len()).max(), Some(2));
        let pasis = get(&m, &lista("PASIS")).await;
        let de = |run: &str| pasis["postulaciones"].as_array().unwrap().iter().find(|p| p["run"] == run).cloned().unwrap();
        let verificada = de(&one("postulado_pasis"));
        assert_eq!(verificada["estado"], "verificada");
        let rechazada = de(&one("rechazado_pasis"));
        assert_eq!(rechazada["estado"], "rechazada");
        assert_eq!(fallidas(&rechazada), ["PASIS-EDAD"], "only the age fails: {rechazada}");
        let sap = get(&m, &lista("SAP")).await;
        assert_eq!(sap["postulaciones"][0]["estado"], "verificada");
        assert_eq!(sap["postulaciones"][0]["run"], one("postulado_sap"));

        // The seeding's requests were the municipality's, audited: the applicant's access
        // report shows their survey and their postulation.
        let accesos = get(&o, &demo.url(&format!("/personas/{}/accesos", one("postulado_pasis")))).await;
        let vistos: Vec<(&str, &str)> = accesos["accesos"].as_array().unwrap().iter()
            .map(|a| (a["convenio"].as_str().unwrap(), a["operacion"].as_str().unwrap()))
            .collect();
        for op in ["SolicitarEncuestaje", "TrabajarEncuestaje", "PostularBeneficio"] {
            assert!(vistos.contains(&("muni-13101", op)), "{op}: {vistos:?}");
        }

        // The walkthrough: a surveyed household, then a postulation, its checks, the list.
        let hogar = get(&m, &demo.url(&format!("/personas/{}/hogar", one("jefe_encuestado")))).await;
        assert!(hogar["folio"].as_i64().is_some(), "{hogar}");
        assert!(hogar["integrantes"].as_array().unwrap().len() >= 2, "{hogar}");
        let body = json!({
            "run": one("postulante_suf"),
            "programa": "SUF",
            "causantes": [{ "run": one("causante_suf"), "tipo": "menor" }],
        });
        let created = m.post(demo.url("/postulaciones")).json(&body).send().await.unwrap();
        assert_eq!(created.status(), 201);
        let created: Value = created.json().await.unwrap();
        assert_eq!(created["estado"], "verificada", "{created}");
        let id = created["id"].as_str().unwrap();
        let leida = get(&m, &demo.url(&format!("/postulaciones/{id}"))).await;
        assert_eq!(leida["chequeos"].as_array().unwrap().len(), 7);
        assert!(fallidas(&leida).is_empty(), "{leida}");
        let espera = get(&m, &format!("{}&estado=verificada", lista("SUF"))).await;
        assert_eq!(espera["total"], 6);
        assert_eq!(espera["postulaciones"][5]["id"], id, "the README's family earns most: last");

        // Chile Solidario: four Santiago households, three in Puente and one in Vínculos,
        // one of them egresada; FOSIS reads a Puente one by its titular's RUN.
        let chs = get(&m, &demo.url("/municipios/13101/chile-solidario")).await;
        assert_eq!(chs["total"], 4, "{chs}");
        let ps = chs["participaciones"].as_array().unwrap();
        assert_eq!(ps.iter().filter(|p| p["programa"] == "vinculos").count(), 1, "{chs}");
        assert_eq!(ps.iter().filter(|p| p["estado"] == "egresada").count(), 1, "{chs}");
        let puente = ps.iter().find(|p| p["programa"] == "puente").unwrap();
        let f = demo.client(dir.path(), "fosis");
        let leida = get(&f, &demo.url(&format!("/personas/{}/chile-solidario", puente["run"].as_str().unwrap()))).await;
        assert_eq!(leida["participaciones"][0]["programa"], "puente", "{leida}");
        assert!(leida["participaciones"][0].get("bonos").is_none(), "{leida}");

        // Chile Crece Contigo: Santiago's municipio tray holds the SUF referral of its
        // gestante in her 22nd week.
        let tray = get(&m, &demo.url("/crece-contigo/derivaciones?estado=enviada&porPagina=5")).await;
        let derivaciones = tray["derivaciones"].as_array().unwrap();
        assert!(derivaciones.iter().any(|d| d["prestacion"] == "suf"), "{tray}");
    });
    let stdout = demo.stop();
    assert!(stdout.contains("municipal loop seeded: 10 households surveyed"), "{stdout}");
    assert!(stdout.contains("SUF verificada 5"), "{stdout}");
    assert!(stdout.contains("Chile Solidario: 4 households of Santiago taken in"), "{stdout}");
    assert!(stdout.contains("Chile Crece Contigo: 2 follow-ups in Santiago"), "{stdout}");

    // A second start seeds nothing: the same rows (the walkthrough's postulation included) and
    // the same sample file.
    let again = Demo::start(dir.path(), db.as_ref().map(|d| &d.url));
    let stdout = again.stop();
    assert!(!stdout.contains("municipal loop"), "{stdout}");
    assert!(!stdout.contains("Chile Solidario"), "{stdout}");
    assert!(!stdout.contains("Chile Crece Contigo"), "{stdout}");
    assert_eq!(filas(&url), [10, 10, 9, 6]);
    assert_eq!(muestra(dir.path()), sample);
});

/// Without a municipality's agreement the loop cannot be the API's: the demo seeds none of
/// it, says why, and serves.
#[test]
fn a_demo_without_the_municipal_agreements_seeds_no_loop_and_serves() {
    let dir = TempDir::new().unwrap();
    let convenios = dir.path().join("convenios");
    std::fs::create_dir(&convenios).unwrap();
    for id in ["minvu", "operador"] {
        std::fs::copy(
            crate::support::repo_path(&format!("convenios/{id}.toml")),
            convenios.join(format!("{id}.toml")),
        )
        .unwrap();
    }
    let mut cmd = siis(dir.path());
    cmd.env("SIIS__CONVENIOS__DIR", "convenios");
    let demo = Demo::spawn(cmd, None);
    let stdout = demo.stop();
    assert!(stdout.contains("seeded 100000 persons"), "{stdout}");
    assert!(
        stdout.contains("the municipal loop is not seeded: agreement muni-13101 is not loaded"),
        "{stdout}"
    );
    assert_eq!(
        filas(&DatabaseUrl::Sqlite(dir.path().join("var/siis.db"))),
        [0, 0, 0, 0]
    );
    assert!(!muestra(dir.path()).contains_key("postulante_suf"));
}

//! Scope is a boundary of knowledge (DESIGN, *Agreements*): for a municipal agreement, every
//! operation that takes a RUN, over REST and SOAP, answers an unknown valid RUN and a person of
//! another comuna (with ficha, without ficha, deceased) or without a household exactly alike
//! (status, code, body apart from ids, timestamps and the RUN itself), while a person of its
//! own comuna keeps the precise answer.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::prelude::*;
use serde_json::{Value, json};
use siis::db::DbConnection;
use siis::db::schema::{fichas, hogares, integrantes, personas};
use siis::domain::Run;
use tempfile::TempDir;

use crate::per_backend;
use crate::registry;
use crate::soap::client::{
    CERTIFICADOS, ELEGIBILIDAD, ENCUESTAJE, FICHA, HOGAR, IDENTIDAD, RECEPCION, Svc, V, call,
    run_xml,
};
use crate::soap::xml::{Pairs, json_pairs, soap_pairs};
use crate::support::{Setup, TestNode, access_report, convenios_without_limits};

const MUNI: &str = "muni-13101";
const COMUNA: &str = "13101";

/// Living persons of households outside `cut`, whose household has a ficha in force
/// (`with_ficha`) or has none, in RUN order.
fn outside(conn: &mut DbConnection, cut: &str, with_ficha: bool) -> Run {
    let with: Vec<i64> = fichas::table
        .filter(fichas::estado.eq("vigente"))
        .select(fichas::hogar_id)
        .load(conn)
        .unwrap();
    let mut query = integrantes::table
        .inner_join(hogares::table)
        .inner_join(personas::table)
        .filter(personas::fecha_defuncion.is_null())
        .filter(hogares::cut.ne(cut.to_owned()))
        .select(personas::run)
        .order(personas::run)
        .into_boxed();
    query = if with_ficha {
        query.filter(integrantes::hogar_id.eq_any(with))
    } else {
        query.filter(integrantes::hogar_id.ne_all(with))
    };
    let run: i32 = query.first(conn).expect("a person outside the comuna");
    Run::from_numero(run as u32).unwrap()
}

/// A deceased person of a household in (`inside`) or outside comuna `cut`.
pub(crate) fn deceased(conn: &mut DbConnection, cut: &str, inside: bool) -> Run {
    let mut query = integrantes::table
        .inner_join(hogares::table)
        .inner_join(personas::table)
        .filter(personas::fecha_defuncion.is_not_null())
        .select(personas::run)
        .order(personas::run)
        .into_boxed();
    query = if inside {
        query.filter(hogares::cut.eq(cut.to_owned()))
    } else {
        query.filter(hogares::cut.ne(cut.to_owned()))
    };
    let run: i32 = query.first(conn).expect("a deceased person");
    Run::from_numero(run as u32).unwrap()
}

/// What a caller received, with what varies by request (ids, times, batch keys) left out and
/// the RUN asked about written `RUN`.
type Answer = (u16, Pairs);

/// Paths whose values differ from one request to the next whatever the person.
const VARYING: &[&str] = &[
    "id",
    "idSobre",
    "fechaHora",
    "lote",
    "clave",
    "sha256",
    "recibido",
    "aplicado",
    "folio",
    "emitido",
];

fn normalised(run: Run, pairs: Pairs) -> Pairs {
    let forms = [run.to_string(), run.dotted(), run.numero().to_string()];
    let mut out: Pairs = pairs
        .into_iter()
        .filter(|(path, _)| {
            let last = path.rsplit('.').next().unwrap_or(path);
            !VARYING.contains(&last)
        })
        .map(|(path, value)| {
            let value = if forms.contains(&value) {
                "RUN".to_owned()
            } else {
                value
            };
            (path, value)
        })
        .collect();
    out.sort();
    out
}

async fn rest(run: Run, response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    (status, normalised(run, json_pairs(&body)))
}

async fn soap(node: &TestNode, run: Run, svc: &Svc, op: &str, cuerpo: &str) -> Answer {
    let client = node.client(Some(MUNI));
    // SOAP 1.1 and 1.2 alternate by operation; each answers alike (tests/it/soap/faults.rs).
    let v = if op.len().is_multiple_of(2) {
        V::V11
    } else {
        V::V12
    };
    let a = call(&client, node, v, svc, op, None, cuerpo).await;
    let pairs = crate::soap::xml::parse(&a.text)
        .map(|e| soap_pairs(&e))
        .unwrap_or_default();
    (a.status, normalised(run, pairs))
}

/// A one-line `fichas` batch for `run` (its score makes each batch's content its own).
fn ficha_csv(run: Run, puntaje: u32) -> Vec<u8> {
    format!("run,puntaje,fecha_aplicacion\n{run},{puntaje},2026-11-20\n").into_bytes()
}

/// The answer of every operation that takes a RUN, asked by Santiago about `run`, labelled.
async fn every_answer(node: &TestNode, run: Run, n: u32) -> Vec<(&'static str, Answer)> {
    let client = node.client(Some(MUNI));
    let url = |path: &str| node.agency_url(path);
    let mut out = Vec::new();

    // ConsultarFichaFPS: single and batch.
    let r = client
        .get(url(&format!("/api/v1/personas/{run}/ficha")))
        .send()
        .await
        .unwrap();
    out.push(("REST ConsultarFichaFPS", rest(run, r).await));
    let r = client
        .post(url("/api/v1/fichas/consultas"))
        .json(&json!({ "runs": [run.to_string()] }))
        .send()
        .await
        .unwrap();
    out.push(("REST ConsultarFichaFPS lote", rest(run, r).await));
    let a = soap(node, run, &FICHA, "ConsultarFichaFPS", &run_xml("f", run)).await;
    out.push(("SOAP ConsultarFichaFPS", a));
    let a = soap(
        node,
        run,
        &FICHA,
        "ConsultarFichaFPSLote",
        &run_xml("f", run),
    )
    .await;
    out.push(("SOAP ConsultarFichaFPSLote", a));

    // ValidarIdentidad, claiming every field the agreement may compare.
    let claim = json!({
        "run": run.to_string(),
        "nombres": "ANA MARÍA",
        "apellidoPaterno": "SOTO",
        "apellidoMaterno": "PÉREZ",
        "fechaNacimiento": "1960-05-17",
    });
    let r = client
        .post(url("/api/v1/identidad/validaciones"))
        .json(&claim)
        .send()
        .await
        .unwrap();
    out.push(("REST ValidarIdentidad", rest(run, r).await));
    let cuerpo = format!(
        "{}<i:nombres>ANA MARÍA</i:nombres><i:apellidoPaterno>SOTO</i:apellidoPaterno>\
         <i:apellidoMaterno>PÉREZ</i:apellidoMaterno><i:fechaNacimiento>1960-05-17\
         </i:fechaNacimiento>",
        run_xml("i", run)
    );
    let a = soap(node, run, &IDENTIDAD, "ValidarIdentidad", &cuerpo).await;
    out.push(("SOAP ValidarIdentidad", a));

    // ConsultarElegibilidad.
    let r = client
        .get(url(&format!("/api/v1/personas/{run}/elegibilidad/PBS")))
        .send()
        .await
        .unwrap();
    out.push(("REST ConsultarElegibilidad", rest(run, r).await));
    let cuerpo = format!("{}<e:programa>PBS</e:programa>", run_xml("e", run));
    let a = soap(node, run, &ELEGIBILIDAD, "ConsultarElegibilidad", &cuerpo).await;
    out.push(("SOAP ConsultarElegibilidad", a));

    // EmitirCertificado, both kinds.
    for (tipo, rest_label, soap_label) in [
        (
            "constancia",
            "REST EmitirCertificado constancia",
            "SOAP EmitirCertificado constancia",
        ),
        (
            "certificado_fps",
            "REST EmitirCertificado certificado_fps",
            "SOAP EmitirCertificado certificado_fps",
        ),
    ] {
        let r = client
            .post(url("/api/v1/certificados"))
            .json(&json!({ "run": run.to_string(), "tipo": tipo }))
            .send()
            .await
            .unwrap();
        out.push((rest_label, rest(run, r).await));
        let cuerpo = format!("{}<c:tipo>{tipo}</c:tipo>", run_xml("c", run));
        let a = soap(node, run, &CERTIFICADOS, "EmitirCertificado", &cuerpo).await;
        out.push((soap_label, a));
    }

    // SolicitarEncuestaje: without a comuna, with Santiago's, again (one open request per
    // person and comuna), and over SOAP once the first is annulled.
    let r = client
        .post(url("/api/v1/encuestajes"))
        .json(&json!({ "run": run.to_string() }))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    let id = body["id"].as_str().map(str::to_owned);
    out.push((
        "REST SolicitarEncuestaje",
        (status, normalised(run, json_pairs(&body))),
    ));
    let r = client
        .post(url("/api/v1/encuestajes"))
        .json(&json!({ "run": run.to_string(), "comuna": COMUNA }))
        .send()
        .await
        .unwrap();
    out.push(("REST SolicitarEncuestaje again", rest(run, r).await));
    if let Some(id) = id {
        let r = client
            .post(url(&format!("/api/v1/encuestajes/{id}/eventos")))
            .json(&json!({ "evento": "anular", "motivo": "prueba" }))
            .send()
            .await
            .unwrap();
        out.push(("REST TrabajarEncuestaje anular", rest(run, r).await));
        let r = client
            .get(url(&format!("/api/v1/encuestajes/{id}")))
            .send()
            .await
            .unwrap();
        out.push(("REST SolicitarEncuestaje seguir", rest(run, r).await));
    }
    let cuerpo = format!("{}<n:comuna>{COMUNA}</n:comuna>", run_xml("n", run));
    let a = soap(node, run, &ENCUESTAJE, "SolicitarEncuestaje", &cuerpo).await;
    out.push(("SOAP SolicitarEncuestaje", a));

    // ActualizarHogar: the household addressed by the RUN (read, and an address change), and
    // the RUN removed from a household of the comuna (not a member, whoever they are).
    let r = client
        .get(url(&format!("/api/v1/personas/{run}/hogar")))
        .send()
        .await
        .unwrap();
    out.push(("REST ConsultarHogar", rest(run, r).await));
    let a = soap(node, run, &HOGAR, "ConsultarHogar", &run_xml("h", run)).await;
    out.push(("SOAP ConsultarHogar", a));
    let r = client
        .post(url(&format!("/api/v1/personas/{run}/hogar/eventos")))
        .json(&json!({ "evento": "cambiar_domicilio", "direccion": "Calle 1", "motivo": "prueba" }))
        .send()
        .await
        .unwrap();
    out.push((
        "REST RegistrarEventoHogar cambiar_domicilio",
        rest(run, r).await,
    ));
    let cuerpo = format!(
        "{}<h:evento>cambiar_domicilio</h:evento><h:direccion>Calle 2</h:direccion>\
         <h:motivo>prueba</h:motivo>",
        run_xml("h", run)
    );
    let a = soap(node, run, &HOGAR, "RegistrarEventoHogar", &cuerpo).await;
    out.push(("SOAP RegistrarEventoHogar cambiar_domicilio", a));
    let miembro = registry::with_ficha(&mut node.db(), Some(COMUNA));
    let r = client
        .post(url(&format!("/api/v1/personas/{miembro}/hogar/eventos")))
        .json(&json!({ "evento": "quitar_integrante", "run": run.to_string(), "motivo": "prueba" }))
        .send()
        .await
        .unwrap();
    out.push((
        "REST RegistrarEventoHogar quitar_integrante",
        rest(run, r).await,
    ));

    // The `fichas` feed's per-line report.
    let r = client
        .post(url("/api/v1/lotes/fichas"))
        .header("content-type", "text/csv")
        .body(ficha_csv(run, 9_000 + n))
        .send()
        .await
        .unwrap();
    out.push(("REST RecepcionLotes fichas", rest(run, r).await));
    let cuerpo = format!(
        "<rl:tipo>fichas</rl:tipo><rl:formato>csv</rl:formato><rl:contenido>{}</rl:contenido>",
        STANDARD.encode(ficha_csv(run, 9_500 + n))
    );
    let a = soap(node, run, &RECEPCION, "RecibirLote", &cuerpo).await;
    out.push(("SOAP RecibirLote fichas", a));

    // ConsultarAccesos is not granted to a municipality: refused alike.
    let r = client
        .get(url(&format!("/api/v1/personas/{run}/accesos")))
        .send()
        .await
        .unwrap();
    out.push(("REST ConsultarAccesos", rest(run, r).await));
    out
}

per_backend!(
    async fn a_municipality_cannot_tell_an_unknown_run_from_a_person_of_another_comuna(backend) {
        let dir = TempDir::new().unwrap();
        // The shipped grants, with room for every request of the walk in their rates.
        let convenios = convenios_without_limits(dir.path());
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
        let kinds = [
            ("unknown", registry::unknown()),
            ("another comuna, with ficha", outside(&mut conn, COMUNA, true)),
            ("another comuna, without ficha", outside(&mut conn, COMUNA, false)),
            ("another comuna, deceased", deceased(&mut conn, COMUNA, false)),
            ("without household", registry::without_household(&mut conn)),
        ];
        let mut reference = Vec::new();
        let mut differences = Vec::new();
        for (n, (kind, run)) in kinds.iter().enumerate() {
            let answers = every_answer(&node, *run, n as u32).await;
            if n == 0 {
                reference = answers;
                continue;
            }
            let labels = |a: &[(&'static str, Answer)]| a.iter().map(|(l, _)| *l).collect::<Vec<_>>();
            assert_eq!(labels(&answers), labels(&reference), "{kind}: the same operations ran");
            for ((label, got), (_, expected)) in answers.iter().zip(&reference) {
                if got != expected {
                    differences.push(format!(
                        "{label}, {kind}:\n  got     {got:?}\n  unknown {expected:?}"
                    ));
                }
            }
        }
        assert!(
            differences.is_empty(),
            "answers that tell a person outside the comuna from an unknown RUN:\n{}",
            differences.join("\n")
        );
        // The walk can tell: a person of the comuna gets precise answers.
        let mine = registry::with_ficha(&mut conn, Some(COMUNA));
        let answers = every_answer(&node, mine, 99).await;
        let differing = answers
            .iter()
            .zip(&reference)
            .filter(|((_, got), (_, unknown))| got != unknown)
            .count();
        assert!(
            differing >= 10,
            "only {differing} answers tell a person of the comuna from an unknown RUN"
        );
        node.stop().await;
    }
);

/// The person's access report, as the operator reads it: (agreement, operation, outcome,
/// fields) for each access, newest first.
pub(crate) async fn report(
    node: &TestNode,
    run: Run,
) -> Vec<(String, String, String, Vec<String>)> {
    let body: Value = access_report(node, run).await;
    body["accesos"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|a| {
            let text = |k: &str| a[k].as_str().unwrap_or("").to_owned();
            let campos = a["campos"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c.as_str().unwrap().to_owned())
                .collect();
            (
                text("convenio"),
                text("operacion"),
                text("resultado"),
                campos,
            )
        })
        .collect()
}

per_backend!(
    async fn every_request_that_names_a_person_shows_in_their_access_report(backend) {
        let node = TestNode::start_with(
            backend,
            Setup {
                persons: 3_000,
                ..Setup::default()
            },
        )
        .await;
        let mut conn = node.db();
        let afuera = outside(&mut conn, COMUNA, true);
        let mine = registry::with_ficha(&mut conn, Some(COMUNA));
        let unknown = registry::unknown();
        let client = node.client(Some(MUNI));
        let url = |path: &str| node.agency_url(path);
        // Santiago probes a person of another comuna: a single lookup, a batch (REST and
        // SOAP), a survey request and a feed line; and an unknown RUN in a batch.
        client
            .get(url(&format!("/api/v1/personas/{afuera}/ficha")))
            .send()
            .await
            .unwrap();
        let r = client
            .post(url("/api/v1/fichas/consultas"))
            .json(&json!({ "runs": [mine.to_string(), afuera.to_string(), unknown.to_string()] }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let cuerpo = format!("{}{}", run_xml("f", afuera), run_xml("f", mine));
        let a = call(&client, &node, V::V11, &FICHA, "ConsultarFichaFPSLote", None, &cuerpo).await;
        assert_eq!(a.status, 200, "{}", a.shown());
        let r = client
            .post(url("/api/v1/encuestajes"))
            .json(&json!({ "run": afuera.to_string() }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = client
            .post(url("/api/v1/lotes/fichas"))
            .header("content-type", "text/csv")
            .body(ficha_csv(afuera, 9_000))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);

        let seen = report(&node, afuera).await;
        let seen: Vec<(&str, &str, &str, usize)> = seen
            .iter()
            .map(|(c, o, r, f)| (c.as_str(), o.as_str(), r.as_str(), f.len()))
            .collect();
        let solicitud = seen
            .iter()
            .find(|a| a.1 == "SolicitarEncuestaje")
            .map(|a| a.3)
            .unwrap_or(0);
        assert_eq!(
            seen,
            [
                (MUNI, "RecepcionLotes", "FUERA_DE_AMBITO", 0),
                (MUNI, "SolicitarEncuestaje", "OK", solicitud),
                (MUNI, "ConsultarFichaFPS", "FUERA_DE_AMBITO", 0),
                (MUNI, "ConsultarFichaFPS", "FUERA_DE_AMBITO", 0),
                (MUNI, "ConsultarFichaFPS", "FUERA_DE_AMBITO", 0),
            ],
            "newest first, each probe with its outcome and no field"
        );
        assert!(solicitud > 0, "the request itself was disclosed to Santiago");
        // The unknown RUN's report names the batch that asked about it.
        let seen = report(&node, unknown).await;
        assert_eq!(
            seen,
            [(
                MUNI.to_owned(),
                "ConsultarFichaFPS".to_owned(),
                "NO_ENCONTRADO".to_owned(),
                Vec::new()
            )]
        );
        // The person of the comuna: both batches disclosed the ficha, with its fields.
        let seen = report(&node, mine).await;
        assert_eq!(seen.len(), 2, "{seen:?}");
        for (convenio, operacion, resultado, campos) in &seen {
            assert_eq!(
                (convenio.as_str(), operacion.as_str(), resultado.as_str()),
                (MUNI, "ConsultarFichaFPS", "OK")
            );
            assert!(campos.iter().any(|c| c == "puntaje"), "{campos:?}");
        }
        node.stop().await;
    }
);

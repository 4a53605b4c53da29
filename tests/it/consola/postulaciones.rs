//! Postulations in the console: an official of the applicant's comuna postulates them, sees
//! the checks and the waiting list and closes a postulation, each page through the broker
//! (admitted by agreement and role, audited naming the official). A person of another comuna
//! is answered as an unknown one; another comuna's official sees none of it; roles without
//! PostularBeneficio, persons, forged forms and bad input change nothing.

use diesel::prelude::*;
use serde_json::json;
use siis::catalog::Rol;
use siis::db::schema::{auditoria, postulaciones};
use siis::domain::Run;

use super::{
    ATENCION_VALPARAISO, Consola, JEFE_SANTIAGO, Visitante, code_of, csrf_of, demo_node_on,
    location, official, person_of, shot,
};
use crate::navegador::{Browser, BrowserOptions, Tool, needs};
use crate::per_backend;
use crate::postulaciones::{hogar, persona, postular};
use crate::support::TestNode;

/// Two families of Santiago with a child each: (mother, child) of score 7.000, and of 9.000.
/// RUNs and household ids beyond the synthetic registry's.
fn familias(node: &TestNode) -> ((Run, Run), (Run, Run)) {
    let mut conn = node.db();
    let madre = persona(&mut conn, 40_000_001, 35);
    let hijo = persona(&mut conn, 40_000_002, 3);
    let otra = persona(&mut conn, 40_000_003, 30);
    let hija = persona(&mut conn, 40_000_004, 10);
    hogar(&mut conn, 900_001, "13101", Some(7_000), &[madre, hijo]);
    hogar(&mut conn, 900_002, "13101", Some(9_000), &[otra, hija]);
    ((madre, hijo), (otra, hija))
}

/// A SUF postulation taken over REST by Santiago's agreement; its id.
async fn por_rest(node: &TestNode, madre: Run, hijo: Run) -> String {
    let (status, p) = postular(
        node,
        "muni-13101",
        json!({ "run": madre.to_string(), "programa": "SUF",
                "causantes": [{ "run": hijo.to_string(), "tipo": "menor" }] }),
    )
    .await;
    assert_eq!(status, 201, "{p}");
    p["id"].as_str().unwrap().to_owned()
}

/// (applicant, estado, usuario) of every stored postulation, by applicant.
fn guardadas(node: &TestNode) -> Vec<(i32, String, Option<String>)> {
    postulaciones::table
        .order(postulaciones::run)
        .select((
            postulaciones::run,
            postulaciones::estado,
            postulaciones::usuario,
        ))
        .load(&mut node.db())
        .expect("postulations")
}

/// (usuario, resultado, sujetos) of the console's PostularBeneficio records, oldest first.
fn registros(node: &TestNode) -> Vec<(String, String, String)> {
    auditoria::table
        .filter(auditoria::transporte.eq("consola"))
        .filter(auditoria::operacion.eq("PostularBeneficio"))
        .order(auditoria::id)
        .select((auditoria::usuario, auditoria::resultado, auditoria::sujetos))
        .load::<(Option<String>, String, String)>(&mut node.db())
        .expect("audit records")
        .into_iter()
        .map(|(u, r, s)| (u.unwrap_or_default(), r, s))
        .collect()
}

fn user(run: &str) -> String {
    run.parse::<Run>().unwrap().to_string()
}

#[tokio::test]
async fn an_official_postulates_sees_the_checks_and_the_waiting_list_in_a_browser() {
    if !needs(&[Tool::Browser, Tool::Provider]) {
        return;
    }
    let consola = Consola::start().await;
    let node = &consola.node;
    let ((madre, hijo), (otra, hija)) = familias(node);
    let vecina = person_of(&mut node.db(), "05101");
    // The second family postulated first, over REST.
    let primera = por_rest(node, otra, hija).await;
    let browser = Browser::start_with(BrowserOptions {
        spki_pins: consola.pins.clone(),
        window: (1280, 1600),
    })
    .await;

    // Santiago's head postulates the mother with her child, from the menu's page.
    consola.sign_in(&browser, JEFE_SANTIAGO).await;
    browser.click("Postulaciones").await;
    assert!(browser.text_of("#comuna").await.contains("13101"));
    browser.fill("#run", &madre.to_string()).await;
    browser
        .wait_for("#programa")
        .await
        .select_by_value("SUF")
        .await
        .expect("choose SUF");
    browser.fill("RUN del causante 1", &hijo.to_string()).await;
    browser.click("#postular").await;

    // Its page: every check of SUF with its outcome, all holding.
    let chequeos = browser.text_of("#chequeos").await;
    for regla in ["SUF-VIVO", "SUF-COMUNA", "SUF-PUNTAJE", "SUF-HOGAR"] {
        assert!(chequeos.contains(regla), "{chequeos}");
    }
    assert!(!chequeos.contains("No cumple"), "{chequeos}");
    let datos = browser.text_of("#postulacion").await;
    assert!(
        datos.contains("Verificada") && datos.contains("7000"),
        "{datos}"
    );
    assert!(
        browser
            .text_of("#causantes")
            .await
            .contains(&hijo.to_string())
    );
    shot(&browser, "postulacion.png").await;
    // No RUN travelled in an address.
    let url = browser.current_url().await;
    assert!(!url.as_str().contains(&madre.numero().to_string()), "{url}");

    // The waiting list of SUF: the lower score first, although it came later.
    browser
        .click("Volver a las postulaciones de la comuna")
        .await;
    browser
        .wait_for("#filtro-programa")
        .await
        .select_by_value("SUF")
        .await
        .expect("filter SUF");
    browser
        .wait_for("#filtro-estado")
        .await
        .select_by_value("verificada")
        .await
        .expect("filter the verified");
    browser.click("#filtrar").await;
    browser
        .wait_for_url(&consola.url("/consola/postulaciones?programa=SUF&estado=verificada"))
        .await;
    let lista = browser.text_of("#lista-espera").await;
    let (a, b) = (
        lista.find(&madre.to_string()).expect("the mother listed"),
        lista.find(&otra.to_string()).expect("the other listed"),
    );
    assert!(a < b, "{lista}");
    shot(&browser, "postulaciones.png").await;

    // The other family desists: closed, with its reason, and no form left.
    browser.click(&otra.to_string()).await;
    browser
        .wait_for_url(&consola.url(&format!("/consola/postulaciones/{primera}")))
        .await;
    browser.fill("#motivo-desistir", "La familia desiste").await;
    browser.click("#desistir").await;
    browser.wait_for("#cerrada").await;
    let datos = browser.text_of("#postulacion").await;
    assert!(
        datos.contains("Desistida") && datos.contains("La familia desiste"),
        "{datos}"
    );

    // A person of Valparaíso is answered as an unknown RUN.
    browser.goto(&consola.url("/consola/postulaciones")).await;
    browser.fill("#run", &vecina.to_string()).await;
    browser
        .wait_for("#programa")
        .await
        .select_by_value("SAP")
        .await
        .expect("choose SAP");
    browser.click("#postular").await;
    assert_eq!(browser.text_of("#codigo-error").await, "NO_ENCONTRADO");
    consola.sign_out(&browser).await;

    // Valparaíso's clerk sees Valparaíso's list, without Santiago's postulations, and
    // Santiago's postulation does not exist for them.
    consola.sign_in(&browser, ATENCION_VALPARAISO).await;
    browser.click("Postulaciones").await;
    assert!(browser.text_of("#comuna").await.contains("05101"));
    browser.wait_for("#sin-postulaciones").await;
    browser
        .goto(&consola.url(&format!("/consola/postulaciones/{primera}")))
        .await;
    assert_eq!(browser.text_of("#codigo-error").await, "NO_ENCONTRADO");
    consola.sign_out(&browser).await;
    browser.close().await;

    // The audit names the official behind every page, with the true outcome; the
    // postulation records who took it.
    let (jefe, clerk) = (user(JEFE_SANTIAGO), user(ATENCION_VALPARAISO));
    let records = registros(node);
    let summary: Vec<(&str, &str)> = records
        .iter()
        .map(|(u, r, _)| (u.as_str(), r.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (jefe.as_str(), "OK"),              // the list
            (jefe.as_str(), "OK"),              // Postular
            (jefe.as_str(), "OK"),              // its page
            (jefe.as_str(), "OK"),              // the list again
            (jefe.as_str(), "OK"),              // the waiting list of SUF
            (jefe.as_str(), "OK"),              // the other postulation
            (jefe.as_str(), "OK"),              // desists
            (jefe.as_str(), "OK"),              // its page
            (jefe.as_str(), "OK"),              // the list
            (jefe.as_str(), "FUERA_DE_AMBITO"), // Valparaíso's person, told NO_ENCONTRADO
            (clerk.as_str(), "OK"),
            (clerk.as_str(), "NO_ENCONTRADO"),
        ]
    );
    let postulo = &records[1].2;
    assert!(
        postulo.contains(&madre.to_string()) && postulo.contains(&hijo.to_string()),
        "{postulo}"
    );
    assert!(
        !records[11].2.contains(&otra.to_string()),
        "a refusal names nobody"
    );
    assert_eq!(
        guardadas(node),
        [
            (
                madre.numero() as i32,
                "verificada".into(),
                Some(jefe.clone())
            ),
            (otra.numero() as i32, "desistida".into(), None),
        ]
    );
    consola.node.stop().await;
}

/// Status and error code of a refused page, and its message.
async fn refused(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body = response.text().await.expect("page");
    let at = body.find("<strong>").map(|i| i + 8).unwrap_or(0);
    let mensaje = body[at..].split('<').next().unwrap_or_default().to_owned();
    (status, code_of(&body).to_owned(), mensaje)
}

/// Posts the postulation form `form` with `token` (none: no token), from `origin` (the
/// console's own unless said).
async fn post(
    v: &mut Visitante,
    form: Vec<(&str, String)>,
    token: Option<&str>,
    origin: Option<&str>,
) -> reqwest::Response {
    let mut fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    fields.extend(token.map(|t| ("csrf", t)));
    v.post("/consola/postulaciones", &fields, origin).await
}

/// Posts an event for postulation `id` with the page's token.
async fn evento(
    v: &mut Visitante,
    id: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("csrf", csrf)];
    form.extend_from_slice(fields);
    v.post(&format!("/consola/postulaciones/{id}/eventos"), &form, None)
        .await
}

async fn page(v: &mut Visitante, path: &str) -> String {
    let response = v.get(path).await;
    let status = response.status();
    let body = response.text().await.expect("page");
    assert_eq!(status, 200, "{path}: {}", code_of(&body));
    body
}

per_backend!(
    // actix's runtime: the broker's own calls spawn on it.
    #[actix_web::test]
    async fn postulation_pages_refuse_other_roles_forged_forms_and_bad_input_and_change_nothing(backend) {
    const ATENCION_SANTIAGO: &str = "77.777.777-7";
    const ENCUESTADOR_SANTIAGO: &str = "88.888.888-8";
    let node = demo_node_on(backend).await;
    {
        let mut conn = node.db();
        official(&mut conn, ATENCION_SANTIAGO, "muni-13101", Rol::Atencion);
        official(
            &mut conn,
            ENCUESTADOR_SANTIAGO,
            "muni-13101",
            Rol::Encuestador,
        );
    }
    let ((madre, hijo), _) = familias(&node);
    let vecina = person_of(&mut node.db(), "05101");

    // A clerk of Santiago is offered the page; no decree is offered (their role may not issue one).
    let mut v = Visitante::new(&node);
    v.sign_in_demo(ATENCION_SANTIAGO).await;
    let inicio = page(&mut v, "/consola/").await;
    assert!(
        inicio.contains("href=\"/consola/postulaciones\""),
        "{inicio}"
    );
    let lista = page(
        &mut v,
        "/consola/postulaciones?programa=SUF&estado=&pagina=1",
    )
    .await;
    assert!(lista.contains("id=\"sin-postulaciones\""), "{lista}");
    assert!(!lista.contains("emitir-decreto"), "{lista}");
    for bad in ["<script", "style=", " onclick", " onload"] {
        assert!(!lista.contains(bad), "{bad} in the list's page");
    }
    let csrf = csrf_of(&lista);
    let (m, h) = (madre.to_string(), hijo.to_string());
    let suf = |extra: &[(&'static str, &'static str)]| {
        let mut form: Vec<(&str, String)> = vec![
            ("run", m.clone()),
            ("programa", "SUF".into()),
            ("causante_run", h.clone()),
            ("causante_tipo", "menor".into()),
            ("causante_run", String::new()),
            ("causante_tipo", "menor".into()),
        ];
        form.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        form
    };
    // Forged, missing and cross-site tokens postulate nothing.
    for (token, origin) in [
        (Some("otro"), None),
        (None, None),
        (Some(csrf.as_str()), Some("https://evil.example")),
    ] {
        let (status, code, _) = refused(post(&mut v, suf(&[]), token, origin).await).await;
        assert_eq!((status, code.as_str()), (400, "SOLICITUD_INVALIDA"));
    }

    // Bad input has the operation's codes; a causante is named by its place.
    let solo = |run: &str, programa: &str| {
        vec![("run", run.to_owned()), ("programa", programa.to_owned())]
    };
    /// A form, and the status and code expected.
    type Caso<'a> = (Vec<(&'a str, String)>, (u16, &'a str));
    let cases: Vec<Caso> = vec![
        (suf(&[("comuna", "05101")]), (400, "SOLICITUD_INVALIDA")),
        (solo(&m, "SUF"), (400, "POSTULACION_INVALIDA")),
        (solo(&m, "XYZ"), (404, "PROGRAMA_DESCONOCIDO")),
        (solo("12.345.678-9", "SAP"), (400, "RUN_INVALIDO")),
        (
            vec![
                ("run", m.clone()),
                ("programa", "SUF".into()),
                ("causante_run", h.clone()),
                ("causante_tipo", "primo".into()),
            ],
            (400, "POSTULACION_INVALIDA"),
        ),
    ];
    for (form, expected) in cases {
        let (status, code, _) = refused(post(&mut v, form.clone(), Some(&csrf), None).await).await;
        assert_eq!((status, code.as_str()), expected, "{form:?}");
    }
    let (_, _, primo) = refused(
        post(
            &mut v,
            vec![
                ("run", m.clone()),
                ("programa", "SUF".into()),
                ("causante_run", h.clone()),
                ("causante_tipo", "primo".into()),
            ],
            Some(&csrf),
            None,
        )
        .await,
    )
    .await;
    assert!(primo.contains("causante n.º 1"), "{primo}");

    // A person of another comuna and an unknown RUN get the same page.
    let desconocido = Run::from_numero(40_999_999).unwrap().to_string();
    let (s1, c1, m1) =
        refused(post(&mut v, solo(&vecina.to_string(), "SAP"), Some(&csrf), None).await).await;
    let (s2, c2, m2) =
        refused(post(&mut v, solo(&desconocido, "SAP"), Some(&csrf), None).await).await;
    assert_eq!((s1, c1.as_str()), (404, "NO_ENCONTRADO"));
    assert_eq!((s1, c1, m1), (s2, c2, m2));
    assert!(guardadas(&node).is_empty(), "nothing was postulated");

    // The postulation; a second one while it is open is refused.
    let ok = post(&mut v, suf(&[]), Some(&csrf), None).await;
    assert_eq!(ok.status(), 303);
    let id = location(&ok)
        .strip_prefix("/consola/postulaciones/")
        .expect("its page")
        .to_owned();
    let (status, code, _) = refused(post(&mut v, suf(&[]), Some(&csrf), None).await).await;
    assert_eq!((status, code.as_str()), (409, "POSTULACION_EN_CURSO"));

    // Bad filters, and a comuna in the address, are refused with their codes.
    for (path, expected) in [
        (
            "/consola/postulaciones?programa=XYZ",
            (404, "PROGRAMA_DESCONOCIDO"),
        ),
        (
            "/consola/postulaciones?estado=pendiente",
            (400, "ESTADO_DESCONOCIDO"),
        ),
        (
            "/consola/postulaciones?pagina=0",
            (400, "PAGINACION_INVALIDA"),
        ),
        (
            "/consola/postulaciones?comuna=05101",
            (400, "SOLICITUD_INVALIDA"),
        ),
    ] {
        let (status, code, _) = refused(v.get(path).await).await;
        assert_eq!((status, code.as_str()), expected, "{path}");
    }

    // Closing: a reason is required, an unknown event and id refused; then desisted, once.
    let desconocida = siis::domain::PostulacionId::new().to_string();
    for (target, fields, expected) in [
        (
            &id,
            vec![("evento", "desistir"), ("motivo", "  ")],
            (400, "EVENTO_INVALIDO"),
        ),
        (
            &id,
            vec![("evento", "volar"), ("motivo", "x")],
            (400, "EVENTO_INVALIDO"),
        ),
        (
            &desconocida,
            vec![("evento", "anular"), ("motivo", "x")],
            (404, "NO_ENCONTRADO"),
        ),
        (&id, vec![("evento", "anular"), ("motivo", "x")], (0, "")),
        (
            &id,
            vec![("evento", "desistir"), ("motivo", "x")],
            (409, "TRANSICION_NO_PERMITIDA"),
        ),
    ] {
        let answer = evento(&mut v, target, &csrf, &fields).await;
        if expected.0 == 0 {
            assert_eq!(answer.status(), 303);
            continue;
        }
        let (status, code, _) = refused(answer).await;
        assert_eq!((status, code.as_str()), expected, "{fields:?}");
    }
    let (status, code, _) = refused(v.get("/consola/postulaciones/abc").await).await;
    assert_eq!((status, code.as_str()), (404, "NO_ENCONTRADO"));
    let anulada = page(&mut v, &format!("/consola/postulaciones/{id}")).await;
    assert!(
        anulada.contains("Anulada") && anulada.contains("id=\"cerrada\""),
        "{anulada}"
    );

    // A surveyor's role does not include postulations, nor does a person's agreement: not
    // offered, and refused by the broker, to read and to write.
    let mut x = Visitante::new(&node);
    x.sign_in_demo(ENCUESTADOR_SANTIAGO).await;
    let inicio = page(&mut x, "/consola/").await;
    assert!(!inicio.contains("/consola/postulaciones"), "{inicio}");
    let csrf_x = csrf_of(&inicio);
    let mut persona = Visitante::new(&node);
    persona.sign_in_demo(&madre.to_string()).await;
    let csrf_p = csrf_of(&page(&mut persona, "/consola/").await);
    for (w, token) in [(&mut x, &csrf_x), (&mut persona, &csrf_p)] {
        for path in [
            "/consola/postulaciones".to_owned(),
            format!("/consola/postulaciones/{id}"),
        ] {
            let (status, code, _) = refused(w.get(&path).await).await;
            assert_eq!((status, code.as_str()), (403, "NO_AUTORIZADO"), "{path}");
        }
        let (status, code, _) = refused(post(w, suf(&[]), Some(token), None).await).await;
        assert_eq!((status, code.as_str()), (403, "NO_AUTORIZADO"));
    }
    assert_eq!(
        guardadas(&node),
        [(
            madre.numero() as i32,
            "anulada".into(),
            Some(user(ATENCION_SANTIAGO))
        )]
    );

    // The audit: every request that reached the broker, naming its user and true outcome.
    let (clerk, surveyor, me) = (
        user(ATENCION_SANTIAGO),
        user(ENCUESTADOR_SANTIAGO),
        madre.to_string(),
    );
    let records = registros(&node);
    let summary: Vec<(&str, &str)> = records
        .iter()
        .map(|(u, r, _)| (u.as_str(), r.as_str()))
        .collect();
    let c = clerk.as_str();
    let mut expected = vec![
        (c, "OK"), // the waiting list of SUF
        (c, "SOLICITUD_INVALIDA"),
        (c, "POSTULACION_INVALIDA"),
        (c, "PROGRAMA_DESCONOCIDO"),
        (c, "RUN_INVALIDO"),
        (c, "POSTULACION_INVALIDA"),
        (c, "POSTULACION_INVALIDA"),
        (c, "FUERA_DE_AMBITO"),
        (c, "NO_ENCONTRADO"),
        (c, "OK"),
        (c, "POSTULACION_EN_CURSO"),
        (c, "PROGRAMA_DESCONOCIDO"),
        (c, "ESTADO_DESCONOCIDO"),
        (c, "PAGINACION_INVALIDA"),
        (c, "SOLICITUD_INVALIDA"),
        (c, "EVENTO_INVALIDO"),
        (c, "EVENTO_INVALIDO"),
        (c, "NO_ENCONTRADO"),
        (c, "OK"),
        (c, "TRANSICION_NO_PERMITIDA"),
        (c, "NO_ENCONTRADO"),
        (c, "OK"),
    ];
    for who in [surveyor.as_str(), me.as_str()] {
        expected.extend([(who, "NO_AUTORIZADO"); 3]);
    }
    assert_eq!(summary, expected);
    assert!(records[9].2.contains(&me) && records[9].2.contains(&hijo.to_string()));
    node.stop().await;
}
);

per_backend!(
    /// "Emitir decreto del mes": Santiago's comuna head is offered the month's decree of the
    /// program chosen and gets its signed PDF; a clerk (Atencion) is neither offered it nor
    /// admitted; a forged form issues nothing.
    #[actix_web::test]
    async fn the_comuna_head_issues_the_months_decree_from_the_list(backend) {
    const ATENCION_SANTIAGO: &str = "77.777.777-7";
    const JEFA_SANTIAGO: &str = "66.666.666-6";
    let node = demo_node_on(backend).await;
    official(&mut node.db(), ATENCION_SANTIAGO, "muni-13101", Rol::Atencion);
    official(&mut node.db(), JEFA_SANTIAGO, "muni-13101", Rol::JefeComunal);
    let ((madre, hijo), _) = familias(&node);
    por_rest(&node, madre, hijo).await;
    let anio = siis::broker::local_today().format("%Y").to_string();
    let r = node
        .client(Some("operador"))
        .put(node.agency_url(&format!("/api/v1/cupos/13101/SUF/{anio}")))
        .json(&json!({ "cupos": 2 }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let periodo = siis::broker::local_today().format("%Y-%m").to_string();
    let decretos = |node: &TestNode| -> i64 {
        siis::db::schema::decretos::table
            .count()
            .get_result(&mut node.db())
            .unwrap()
    };

    // The clerk: no button, and the form refused by the broker.
    let mut v = Visitante::new(&node);
    v.sign_in_demo(ATENCION_SANTIAGO).await;
    let lista = page(&mut v, "/consola/postulaciones?programa=SUF").await;
    assert!(!lista.contains("emitir-decreto"), "{lista}");
    let csrf = csrf_of(&lista);
    let form = [("csrf", csrf.as_str()), ("programa", "SUF"), ("periodo", periodo.as_str())];
    let (status, code, _) = refused(v.post("/consola/postulaciones/decreto", &form, None).await).await;
    assert_eq!((status, code.as_str()), (403, "NO_AUTORIZADO"));

    // The comuna head: offered with the month, and a forged token issues nothing.
    let mut w = Visitante::new(&node);
    w.sign_in_demo(JEFA_SANTIAGO).await;
    let lista = page(&mut w, "/consola/postulaciones?programa=SUF").await;
    assert!(lista.contains("id=\"emitir-decreto\""), "{lista}");
    assert!(lista.contains(&format!("value=\"{periodo}\"")), "{lista}");
    let csrf = csrf_of(&lista);
    let forged = [("csrf", "otro"), ("programa", "SUF"), ("periodo", periodo.as_str())];
    let (status, code, _) = refused(w.post("/consola/postulaciones/decreto", &forged, None).await).await;
    assert_eq!((status, code.as_str()), (400, "SOLICITUD_INVALIDA"));
    assert_eq!(decretos(&node), 0);
    let form = [("csrf", csrf.as_str()), ("programa", "SUF"), ("periodo", periodo.as_str())];
    let r = w.post("/consola/postulaciones/decreto", &form, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let disposition = r.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(disposition.contains("DEC-"), "{disposition}");
    let pdf = r.bytes().await.unwrap();
    assert!(siis::ops::certificados::pdf::payload_from_pdf(&pdf).is_ok());
    assert_eq!(decretos(&node), 1);
    // The same month again: refused with its code, nothing more issued.
    let (status, code, _) = refused(w.post("/consola/postulaciones/decreto", &form, None).await).await;
    assert_eq!((status, code.as_str()), (409, "DECRETO_YA_EMITIDO"));
    assert_eq!(decretos(&node), 1);
    node.stop().await;
}
);

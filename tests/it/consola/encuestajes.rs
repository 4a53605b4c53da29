//! The comuna's survey queue in the console: a municipality's official sees the requests of
//! their agreement's comuna only, opens one with its history and records its next event, each
//! through the broker (admitted by agreement and role, audited naming the official). Forged
//! forms, bad filters, unknown ids and other comunas' requests change nothing.

use diesel::prelude::*;
use serde_json::json;
use siis::catalog::Rol;
use siis::db::schema::{auditoria, encuestaje_eventos, encuestajes};
use siis::domain::Run;

use super::{
    Consola, JEFE_SANTIAGO, Visitante, code_of, csrf_of, demo_node, location, official, shot,
};
use crate::encuestaje::{nueva, sin_ficha, solicitar};
use crate::navegador::{Browser, BrowserOptions, Tool, needs};
use crate::support::TestNode;

/// The head of Valparaíso's social department, and a counter clerk of Santiago's.
const JEFE_VALPARAISO: &str = "66.666.666-6";
const ATENCION_SANTIAGO: &str = "77.777.777-7";

fn hoy() -> String {
    siis::broker::local_today().to_string()
}

/// A request's stored state and how many events it has.
fn stored(node: &TestNode, id: &str) -> (String, i64) {
    let mut conn = node.db();
    let estado = encuestajes::table
        .find(id)
        .select(encuestajes::estado)
        .first(&mut conn)
        .expect("the request");
    let eventos = encuestaje_eventos::table
        .filter(encuestaje_eventos::encuestaje_id.eq(id))
        .count()
        .get_result(&mut conn)
        .expect("its events");
    (estado, eventos)
}

/// Status and error code of a refused page.
async fn refused(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body = response.text().await.expect("page");
    (status, code_of(&body).to_owned())
}

async fn page(v: &mut Visitante, path: &str) -> String {
    let response = v.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.expect("page")
}

/// Posts an event for request `id` with the page's token.
async fn post_event(
    v: &mut Visitante,
    id: &str,
    csrf: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let mut form = vec![("csrf", csrf)];
    form.extend_from_slice(fields);
    v.post(&format!("/consola/encuestajes/{id}/eventos"), &form, None)
        .await
}

// actix's runtime: the broker's own calls spawn on it.
#[actix_web::test]
async fn the_queue_shows_only_the_comunas_requests_and_events_go_through_the_broker() {
    let node = demo_node().await;
    {
        let mut conn = node.db();
        official(&mut conn, JEFE_SANTIAGO, "muni-13101", Rol::JefeComunal);
        official(&mut conn, JEFE_VALPARAISO, "muni-05101", Rol::JefeComunal);
        official(&mut conn, ATENCION_SANTIAGO, "muni-13101", Rol::Atencion);
    }
    // MINVU asks for three surveys: two in Santiago, one in Valparaíso.
    let personas = sin_ficha(&node, 3);
    let (a, b, c) = (personas[0], personas[1], personas[2]);
    let ida = nueva(&node, a).await;
    let idb = nueva(&node, b).await;
    let (status, body) = solicitar(
        &node,
        "minvu",
        json!({ "run": c.to_string(), "comuna": "05101" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let idc = body["id"].as_str().unwrap().to_owned();

    // Santiago's head is offered the queue, which lists Santiago's requests and only them.
    let mut v = Visitante::new(&node);
    v.sign_in_demo(JEFE_SANTIAGO).await;
    let inicio = page(&mut v, "/consola/").await;
    assert!(inicio.contains("href=\"/consola/encuestajes\""), "{inicio}");
    let cola = page(&mut v, "/consola/encuestajes").await;
    assert!(cola.contains("SANTIAGO (13101)"), "{cola}");
    for (run, id) in [(a, &ida), (b, &idb)] {
        assert!(cola.contains(&run.to_string()), "{cola}");
        assert!(
            cola.contains(&format!("href=\"/consola/encuestajes/{id}\"")),
            "{cola}"
        );
    }
    assert!(
        !cola.contains(&c.to_string()) && !cola.contains(&idc),
        "{cola}"
    );
    assert!(cola.contains("2 solicitudes en total"), "{cola}");
    for bad in ["<script", "style=", " onclick", " onload"] {
        assert!(!cola.contains(bad), "{bad} in the queue's page");
    }
    let filtrada = page(
        &mut v,
        "/consola/encuestajes?estado=visita_programada&pagina=",
    )
    .await;
    assert!(filtrada.contains("id=\"sin-encuestajes\""), "{filtrada}");

    // Bad filters, and a comuna in the address, are refused with their codes.
    for (path, expected) in [
        (
            "/consola/encuestajes?estado=pendiente",
            (400, "ESTADO_DESCONOCIDO"),
        ),
        (
            "/consola/encuestajes?pagina=0",
            (400, "PAGINACION_INVALIDA"),
        ),
        (
            "/consola/encuestajes?pagina=uno",
            (400, "PAGINACION_INVALIDA"),
        ),
        (
            "/consola/encuestajes?comuna=05101",
            (400, "SOLICITUD_INVALIDA"),
        ),
    ] {
        let (status, code) = refused(v.get(path).await).await;
        assert_eq!((status, code.as_str()), expected, "{path}");
    }

    // One request: its history, and the events its state admits.
    let solicitud = page(&mut v, &format!("/consola/encuestajes/{ida}")).await;
    assert!(solicitud.contains("Solicitud recibida"), "{solicitud}");
    assert!(
        solicitud.contains("value=\"programar_visita\""),
        "{solicitud}"
    );
    assert!(solicitud.contains("value=\"anular\""), "{solicitud}");
    assert!(!solicitud.contains("value=\"encuestar\""), "{solicitud}");
    assert!(
        solicitud.contains("<label for=\"fecha-visita\">"),
        "{solicitud}"
    );
    let csrf = csrf_of(&solicitud);

    // A visit, recorded from the page, then back to the request.
    let hoy = hoy();
    let programada = post_event(
        &mut v,
        &ida,
        &csrf,
        &[("evento", "programar_visita"), ("fecha_visita", &hoy)],
    )
    .await;
    assert_eq!(programada.status(), 303);
    assert_eq!(location(&programada), format!("/consola/encuestajes/{ida}"));
    assert_eq!(stored(&node, &ida), ("visita_programada".into(), 2));

    // A forged token, none at all, or another site's form records nothing.
    let fallida = [
        ("evento", "visita_fallida"),
        ("motivo", "nadie en el domicilio"),
    ];
    let forged = post_event(&mut v, &ida, "otro", &fallida).await;
    assert_eq!(refused(forged).await, (400, "SOLICITUD_INVALIDA".into()));
    let missing = v
        .post(
            &format!("/consola/encuestajes/{ida}/eventos"),
            &fallida,
            None,
        )
        .await;
    assert_eq!(refused(missing).await, (400, "SOLICITUD_INVALIDA".into()));
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(&fallida);
    let cross = v
        .post(
            &format!("/consola/encuestajes/{ida}/eventos"),
            &form,
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(refused(cross).await, (400, "SOLICITUD_INVALIDA".into()));
    assert_eq!(stored(&node, &ida), ("visita_programada".into(), 2));

    // The failed visit with the session's token is recorded, and shows in the history.
    let ok = post_event(&mut v, &ida, &csrf, &fallida).await;
    assert_eq!(ok.status(), 303);
    let solicitud = page(&mut v, &format!("/consola/encuestajes/{ida}")).await;
    assert!(solicitud.contains("Visita programada"), "{solicitud}");
    assert!(solicitud.contains("nadie en el domicilio"), "{solicitud}");
    assert!(solicitud.contains("value=\"encuestar\""), "{solicitud}");
    assert!(
        !solicitud.contains("value=\"visita_fallida\""),
        "{solicitud}"
    );

    // Bad events and unknown ids have their codes and change nothing.
    let desconocido = siis::domain::EncuestajeId::new().to_string();
    /// A request's id, the event's fields, and the status and code expected.
    type Caso<'a> = (&'a str, Vec<(&'a str, &'a str)>, (u16, &'a str));
    let bad_events: [Caso; 6] = [
        (
            &ida,
            vec![
                ("evento", "encuestar"),
                ("puntaje", "mucho"),
                ("fecha_aplicacion", &hoy),
            ],
            (400, "SOLICITUD_INVALIDA"),
        ),
        (
            &ida,
            vec![
                ("evento", "encuestar"),
                ("puntaje", "20001"),
                ("fecha_aplicacion", &hoy),
            ],
            (400, "EVENTO_INVALIDO"),
        ),
        (
            &ida,
            vec![("evento", "anular"), ("motivo", "  ")],
            (400, "EVENTO_INVALIDO"),
        ),
        (&ida, vec![("evento", "volar")], (400, "EVENTO_INVALIDO")),
        (
            &ida,
            vec![("evento", "visita_fallida")],
            (409, "TRANSICION_NO_PERMITIDA"),
        ),
        (
            &desconocido,
            vec![("evento", "anular"), ("motivo", "duplicada")],
            (404, "NO_ENCONTRADO"),
        ),
    ];
    for (id, fields, expected) in bad_events {
        let answer = post_event(&mut v, id, &csrf, &fields).await;
        let (status, code) = refused(answer).await;
        assert_eq!((status, code.as_str()), expected, "{fields:?}");
    }
    for id in [desconocido.as_str(), "abc"] {
        let (status, code) = refused(v.get(&format!("/consola/encuestajes/{id}")).await).await;
        assert_eq!((status, code.as_str()), (404, "NO_ENCONTRADO"), "{id}");
    }
    assert_eq!(stored(&node, &ida), ("visita_fallida".into(), 3));

    // Valparaíso's head sees Valparaíso's queue; Santiago's request is outside their scope,
    // to read and to change.
    let mut w = Visitante::new(&node);
    w.sign_in_demo(JEFE_VALPARAISO).await;
    let otra = page(&mut w, "/consola/encuestajes").await;
    assert!(
        otra.contains(&c.to_string()) && otra.contains(&idc),
        "{otra}"
    );
    assert!(
        !otra.contains(&a.to_string()) && !otra.contains(&ida),
        "{otra}"
    );
    let (status, code) = refused(w.get(&format!("/consola/encuestajes/{ida}")).await).await;
    assert_eq!((status, code.as_str()), (403, "FUERA_DE_AMBITO"));
    let csrf_w = csrf_of(&otra);
    let anular = [("evento", "anular"), ("motivo", "no es nuestra")];
    let (status, code) = refused(post_event(&mut w, &ida, &csrf_w, &anular).await).await;
    assert_eq!((status, code.as_str()), (403, "FUERA_DE_AMBITO"));
    assert_eq!(stored(&node, &ida), ("visita_fallida".into(), 3));

    // A clerk's role does not include the queue: not offered, and refused by the broker.
    let mut x = Visitante::new(&node);
    x.sign_in_demo(ATENCION_SANTIAGO).await;
    let inicio = page(&mut x, "/consola/").await;
    assert!(inicio.contains("Consultar ficha"), "{inicio}");
    assert!(!inicio.contains("/consola/encuestajes"), "{inicio}");
    let csrf_x = csrf_of(&inicio);
    for path in [
        "/consola/encuestajes".to_owned(),
        format!("/consola/encuestajes/{ida}"),
    ] {
        let (status, code) = refused(x.get(&path).await).await;
        assert_eq!((status, code.as_str()), (403, "NO_AUTORIZADO"), "{path}");
    }
    let (status, code) = refused(post_event(&mut x, &ida, &csrf_x, &anular).await).await;
    assert_eq!((status, code.as_str()), (403, "NO_AUTORIZADO"));
    // Nor may a person, whose agreement does not grant it.
    let mut persona = Visitante::new(&node);
    persona.sign_in_demo(&a.to_string()).await;
    let (status, code) = refused(persona.get("/consola/encuestajes").await).await;
    assert_eq!((status, code.as_str()), (403, "NO_AUTORIZADO"));
    assert_eq!(stored(&node, &ida), ("visita_fallida".into(), 3));

    // The audit: every request of these pages, under TrabajarEncuestaje through the console,
    // naming the official and its true outcome; reading a request and changing it name its
    // person.
    let records: Vec<(Option<String>, String, String)> = auditoria::table
        .filter(auditoria::transporte.eq("consola"))
        .filter(auditoria::operacion.eq("TrabajarEncuestaje"))
        .order(auditoria::id)
        .select((auditoria::usuario, auditoria::resultado, auditoria::sujetos))
        .load(&mut node.db())
        .expect("audit records");
    let user = |run: &str| run.parse::<Run>().unwrap().to_string();
    let (jefe, otro_jefe, clerk, me) = (
        user(JEFE_SANTIAGO),
        user(JEFE_VALPARAISO),
        user(ATENCION_SANTIAGO),
        a.to_string(),
    );
    let (jefe, otro_jefe, clerk, me) = (
        jefe.as_str(),
        otro_jefe.as_str(),
        clerk.as_str(),
        me.as_str(),
    );
    let summary: Vec<(&str, &str)> = records
        .iter()
        .map(|(u, r, _)| (u.as_deref().unwrap_or_default(), r.as_str()))
        .collect();
    let expected = [
        (jefe, "OK"), // the queue
        (jefe, "OK"), // filtered
        (jefe, "ESTADO_DESCONOCIDO"),
        (jefe, "PAGINACION_INVALIDA"),
        (jefe, "PAGINACION_INVALIDA"),
        (jefe, "SOLICITUD_INVALIDA"),
        (jefe, "OK"), // the request's page
        (jefe, "OK"), // a visit
        (jefe, "OK"), // a failed visit
        (jefe, "OK"), // the page again
        (jefe, "SOLICITUD_INVALIDA"),
        (jefe, "EVENTO_INVALIDO"),
        (jefe, "EVENTO_INVALIDO"),
        (jefe, "EVENTO_INVALIDO"),
        (jefe, "TRANSICION_NO_PERMITIDA"),
        (jefe, "NO_ENCONTRADO"),
        (jefe, "NO_ENCONTRADO"),
        (jefe, "NO_ENCONTRADO"),
        (otro_jefe, "OK"),
        (otro_jefe, "FUERA_DE_AMBITO"),
        (otro_jefe, "FUERA_DE_AMBITO"),
        (clerk, "NO_AUTORIZADO"),
        (clerk, "NO_AUTORIZADO"),
        (clerk, "NO_AUTORIZADO"),
        (me, "NO_AUTORIZADO"),
    ];
    assert_eq!(summary, expected);
    let sujetos: Vec<&str> = records.iter().map(|(_, _, s)| s.as_str()).collect();
    assert!(
        sujetos[0].contains(me) && sujetos[0].contains(&b.to_string()),
        "the queue's page names its persons: {}",
        sujetos[0]
    );
    for i in [6, 7, 8, 9] {
        assert!(sujetos[i].contains(me), "record {i}: {}", sujetos[i]);
    }
    assert!(!sujetos[19].contains(me), "a refusal discloses nobody");
    node.stop().await;
}

#[tokio::test]
async fn an_official_works_a_request_from_the_queue_in_a_browser() {
    if !needs(&[Tool::Browser, Tool::Provider]) {
        return;
    }
    let consola = Consola::start().await;
    let persona = sin_ficha(&consola.node, 1)[0];
    let id = nueva(&consola.node, persona).await;
    let browser = Browser::start_with(BrowserOptions {
        spki_pins: consola.pins.clone(),
        // Tall enough for the screenshot to hold the whole page.
        window: (1280, 1500),
    })
    .await;

    // Santiago's head opens the queue from the menu, then the request.
    consola.sign_in(&browser, JEFE_SANTIAGO).await;
    browser.click("Encuestajes de la comuna").await;
    let cola = browser.text_of("#encuestajes").await;
    assert!(cola.contains(&persona.to_string()), "{cola}");
    assert!(cola.contains("Solicitada"), "{cola}");
    shot(&browser, "encuestajes.png").await;
    browser.click(&persona.to_string()).await;
    browser
        .wait_for_url(&consola.url(&format!("/consola/encuestajes/{id}")))
        .await;
    assert!(
        browser
            .text_of("#eventos")
            .await
            .contains("Solicitud recibida")
    );

    // A visit today (the date field starts at today), then the survey's result: the request
    // is closed and the new ficha's folio shows.
    browser.click("#programar").await;
    browser.wait_for("#fallida").await;
    assert!(
        browser
            .text_of("#eventos")
            .await
            .contains("Visita programada")
    );
    shot(&browser, "encuestaje.png").await;
    browser.fill("Puntaje (0 a 20.000)", "8123").await;
    browser.click("#encuestar").await;
    browser.wait_for("#cerrada").await;
    let datos = browser.text_of("#encuestaje").await;
    assert!(datos.contains("Encuestada"), "{datos}");
    assert!(datos.contains("8123"), "{datos}");
    assert!(datos.contains("Folio de la ficha"), "{datos}");
    assert!(
        browser
            .text_of("#eventos")
            .await
            .contains("Encuesta aplicada")
    );
    // No RUN travelled in an address.
    assert!(
        !browser
            .current_url()
            .await
            .as_str()
            .contains(&persona.numero().to_string())
    );
    consola.sign_out(&browser).await;
    browser.close().await;

    // What the audit says: the official behind every page, the person named, all admitted.
    let records: Vec<(String, Option<String>, String, String)> = auditoria::table
        .filter(auditoria::transporte.eq("consola"))
        .order(auditoria::id)
        .select((
            auditoria::operacion,
            auditoria::usuario,
            auditoria::resultado,
            auditoria::sujetos,
        ))
        .load(&mut consola.node.db())
        .expect("audit records");
    let jefe = JEFE_SANTIAGO.parse::<Run>().unwrap().to_string();
    // The queue, the request, a visit, the request, the survey, the request.
    assert_eq!(records.len(), 6, "{records:?}");
    for (op, usuario, outcome, sujetos) in &records {
        assert_eq!(
            (op.as_str(), usuario.as_deref(), outcome.as_str()),
            ("TrabajarEncuestaje", Some(jefe.as_str()), "OK")
        );
        assert!(sujetos.contains(&persona.to_string()), "{sujetos}");
    }
    let (estado, eventos) = stored(&consola.node, &id);
    assert_eq!((estado.as_str(), eventos), ("encuestada", 3));
    consola.node.stop().await;
}

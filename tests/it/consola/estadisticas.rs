//! Territorial statistics in the console: the projected cells as a table and persons as an
//! inline SVG chart, a reserved cell shown as "reservado" in both and never as a figure or a
//! bar; the agreement's grant decides the columns; bad parameters have their codes; a role
//! without the operation is neither offered it nor admitted.

use std::time::Duration;

use diesel::prelude::*;
use serde_json::Value;
use siis::catalog::Rol;
use siis::db::schema::auditoria;
use siis::domain::Run;
use siis::ops::estadisticas::resumen;

use super::{Consola, JEFE_SANTIAGO, Visitante, code_of, demo_node, official, shot};
use crate::navegador::{Browser, BrowserOptions, Tool, needs};
use crate::support::TestNode;

/// A supervisor of MINVU (persons and households only), and a counter clerk of Santiago's.
const SUPERVISOR_MINVU: &str = "88.888.888-8";
const ATENCION_SANTIAGO: &str = "77.777.777-7";

/// Waits for the summary the node computes by itself when it starts without one.
async fn wait_computed(node: &TestNode) {
    let mut waited = Duration::ZERO;
    while resumen::calculado_en(&mut node.db()).unwrap().is_none() {
        assert!(waited < Duration::from_secs(60), "never computed at start");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
}

/// The same question over REST, as the agreement `convenio` is answered.
async fn rest(node: &TestNode, convenio: &str, query: &str) -> Vec<Value> {
    let body: Value = node
        .client(Some(convenio))
        .get(node.agency_url(&format!("/api/v1/estadisticas{query}")))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    body["celdas"].as_array().expect("celdas").clone()
}

/// The `<tr>` of a cell, by the id the page gives it.
fn row<'a>(page: &'a str, cell: &Value) -> &'a str {
    let id = format!(
        "id=\"celda-{}-{}\"",
        cell["codigo"].as_str().unwrap_or("CL"),
        cell["quintil"].as_str().expect("quintil")
    );
    let at = page.find(&id).unwrap_or_else(|| panic!("no row {id}"));
    let end = page[at..].find("</tr>").expect("row end");
    &page[at..at + end]
}

/// `1234567` as the page writes it, `1.234.567`.
fn miles(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

fn svg_of(page: &str) -> &str {
    let at = page.find("<svg").expect("an inline SVG chart");
    let end = page[at..].find("</svg>").expect("the SVG's end");
    &page[at..at + end]
}

fn reserved(cell: &Value) -> bool {
    cell["reservado"] != Value::Bool(false)
}

/// No script, inline style or event handler anywhere on the page.
fn no_script(page: &str) {
    assert!(
        !page.contains("<script") && !page.contains("style="),
        "{page}"
    );
    let lower = page.to_ascii_lowercase();
    for (at, _) in lower.match_indices(" on") {
        let name: String = lower[at + 3..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .collect();
        assert!(
            !lower[at + 3 + name.len()..].starts_with('='),
            "a handler on{name}="
        );
    }
}

// actix's runtime: the broker's own calls spawn on it.
#[actix_web::test]
async fn statistics_show_reserved_cells_as_reserved_and_draw_only_published_ones() {
    let node = demo_node().await;
    wait_computed(&node).await;
    {
        let mut conn = node.db();
        official(&mut conn, JEFE_SANTIAGO, "muni-13101", Rol::JefeComunal);
        official(&mut conn, SUPERVISOR_MINVU, "minvu", Rol::Supervisor);
        official(&mut conn, ATENCION_SANTIAGO, "muni-13101", Rol::Atencion);
    }
    let mut v = Visitante::new(&node);
    v.sign_in_demo(JEFE_SANTIAGO).await;
    let inicio = v.get("/consola/").await.text().await.unwrap();
    assert!(
        inicio.contains("href=\"/consola/estadisticas\""),
        "{inicio}"
    );

    // Every region: the table holds what REST answers the same agreement, a reserved cell as
    // the word alone.
    let response = v.get("/consola/estadisticas?nivel=region").await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    no_script(&page);
    assert!(page.contains("<label for=\"region\">"), "{page}");
    let cells = rest(&node, "muni-13101", "?nivel=region").await;
    assert!(
        cells.iter().any(reserved) && cells.iter().any(|c| !reserved(c)),
        "the test registry has reserved and published cells: {cells:?}"
    );
    for cell in &cells {
        let tr = row(&page, cell);
        let figures = &tr[tr.find("</td>").expect("the quintile's cell")..];
        if reserved(cell) {
            // The four granted figures' columns hold the word and nothing else.
            assert_eq!(
                figures, "</td><td colspan=\"4\" class=\"reservado\">reservado</td>",
                "{tr}"
            );
        } else {
            let personas = cell["personas"].as_u64().expect("personas");
            assert!(figures.contains(&format!(">{}<", miles(personas))), "{tr}");
            assert!(!figures.contains("reservado"), "{tr}");
        }
    }
    // The chart: one bar per region's total, none for a reserved one.
    let svg = svg_of(&page);
    for part in ["role=\"img\"", "aria-label=\"", "<title", "<desc"] {
        assert!(svg.contains(part), "{part}: {svg}");
    }
    let totals: Vec<&Value> = cells.iter().filter(|c| c["quintil"] == "total").collect();
    let published = totals.iter().filter(|c| !reserved(c)).count();
    assert_eq!(svg.matches("<rect").count(), published, "{svg}");
    assert_eq!(
        svg.matches(">reservado<").count(),
        totals.len() - published,
        "{svg}"
    );
    for bar in svg.split("<g class=\"barra reservada\">").skip(1) {
        let bar = &bar[..bar.find("</g>").expect("bar end")];
        assert!(!bar.contains("<rect"), "a reserved cell drawn: {bar}");
    }

    // One comuna: its quintiles as bars, the reserved ones as the word.
    let page = v
        .get("/consola/estadisticas?comuna=13101&quintil=1&quintil=2&quintil=3&quintil=4&quintil=5")
        .await
        .text()
        .await
        .unwrap();
    let cells = rest(&node, "muni-13101", "?comuna=13101").await;
    let svg = svg_of(&page);
    let quintiles: Vec<&Value> = cells.iter().filter(|c| c["quintil"] != "total").collect();
    assert_eq!(quintiles.len(), 5);
    let published = quintiles.iter().filter(|c| !reserved(c)).count();
    assert_eq!(svg.matches("<rect").count(), published, "{svg}");
    assert_eq!(svg.matches(">reservado<").count(), 5 - published, "{svg}");
    assert!(
        svg.contains("Personas por quintil: SANTIAGO (13101)"),
        "{svg}"
    );

    // Bad parameters have their codes; a parameter the operation does not read is refused.
    for (query, code) in [
        ("?region=99", "REGION_DESCONOCIDA"),
        ("?quintil=6", "QUINTIL_INVALIDO"),
        ("?nivel=provincia", "NIVEL_INVALIDO"),
        ("?nivel=nacional&region=13", "NIVEL_INVALIDO"),
        ("?comuna=13999", "COMUNA_DESCONOCIDA"),
        ("?orden=personas", "SOLICITUD_INVALIDA"),
    ] {
        let answer = v.get(&format!("/consola/estadisticas{query}")).await;
        assert_eq!(answer.status(), 400, "{query}");
        assert_eq!(code_of(&answer.text().await.unwrap()), code, "{query}");
    }

    // MINVU's grant has persons and households only: so have the page's columns.
    let mut minvu = Visitante::new(&node);
    minvu.sign_in_demo(SUPERVISOR_MINVU).await;
    let page = minvu
        .get("/consola/estadisticas")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(">Hogares</th>"), "{page}");
    assert!(!page.contains(">Fichas</th>") && !page.contains(">Puntaje promedio</th>"));

    // A clerk's role does not include statistics: not offered, and refused by the broker.
    let mut clerk = Visitante::new(&node);
    clerk.sign_in_demo(ATENCION_SANTIAGO).await;
    let inicio = clerk.get("/consola/").await.text().await.unwrap();
    assert!(!inicio.contains("/consola/estadisticas"), "{inicio}");
    let answer = clerk.get("/consola/estadisticas").await;
    assert_eq!(answer.status(), 403);
    assert_eq!(code_of(&answer.text().await.unwrap()), "NO_AUTORIZADO");

    // Each page is audited as the operation, naming its official and its true outcome.
    let records: Vec<(Option<String>, String)> = auditoria::table
        .filter(auditoria::transporte.eq("consola"))
        .filter(auditoria::operacion.eq("EstadisticasTerritoriales"))
        .order(auditoria::id)
        .select((auditoria::usuario, auditoria::resultado))
        .load(&mut node.db())
        .unwrap();
    let user = |run: &str| Some(run.parse::<Run>().unwrap().to_string());
    let (jefe, sup, atencion) = (
        user(JEFE_SANTIAGO),
        user(SUPERVISOR_MINVU),
        user(ATENCION_SANTIAGO),
    );
    let expected: Vec<(Option<String>, String)> = [
        (&jefe, "OK"),
        (&jefe, "OK"),
        (&jefe, "REGION_DESCONOCIDA"),
        (&jefe, "QUINTIL_INVALIDO"),
        (&jefe, "NIVEL_INVALIDO"),
        (&jefe, "NIVEL_INVALIDO"),
        (&jefe, "COMUNA_DESCONOCIDA"),
        (&jefe, "SOLICITUD_INVALIDA"),
        (&sup, "OK"),
        (&atencion, "NO_AUTORIZADO"),
    ]
    .into_iter()
    .map(|(u, r)| (u.clone(), r.to_owned()))
    .collect();
    assert_eq!(records, expected);
    node.stop().await;
}

#[tokio::test]
async fn the_statistics_chart_is_drawn_in_a_browser() {
    if !needs(&[Tool::Browser, Tool::Provider]) {
        return;
    }
    let consola = Consola::start().await;
    wait_computed(&consola.node).await;
    let browser = Browser::start_with(BrowserOptions {
        spki_pins: consola.pins.clone(),
        // Tall enough for the screenshot to hold the whole page.
        window: (1280, 1500),
    })
    .await;
    consola.sign_in(&browser, JEFE_SANTIAGO).await;
    browser.click("Estadísticas territoriales").await;
    browser.wait_for("#grafico").await;

    // The regions, asked for through the form.
    let nivel = browser.wait_for("#nivel").await;
    nivel
        .select_by_value("region")
        .await
        .expect("choose a level");
    browser.click("#consultar").await;
    browser
        .wait_for_url(&consola.url("/consola/estadisticas?nivel=region"))
        .await;
    let svg = browser.wait_for("#grafico").await;
    let (_, _, width, height) = svg.rectangle().await.expect("the chart's box");
    assert!(width > 200.0 && height > 200.0, "{width}x{height}");
    let b = &browser;
    let find_all = move |css: &'static str| async move {
        b.client()
            .find_all(fantoccini::Locator::Css(css))
            .await
            .expect(css)
            .len()
    };
    let bars = find_all("#grafico g.barra").await;
    let drawn = find_all("#grafico g.barra rect").await;
    let reserved = find_all("#grafico g.reservada").await;
    assert_eq!(bars, 15, "a bar per region");
    assert_eq!(drawn + reserved, bars);
    assert_eq!(find_all("#grafico g.reservada rect").await, 0);
    assert!(drawn > 0, "some regions are published");
    shot(&browser, "estadisticas.png").await;
    consola.sign_out(&browser).await;
    browser.close().await;
    consola.node.stop().await;
}

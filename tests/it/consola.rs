//! The web console in a real headless Chromium, signing in at a real OpenID provider
//! (`tests/oidc-op`, Clave Única's shape, over HTTPS from a CA of the test's own): officials
//! look up a ficha through the broker under their agreement and role, a person sees who
//! consulted them, and an official of another comuna is refused. The pages' safety (cookies,
//! CSRF, CSP, no RUN in an address) is checked over plain HTTP too.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use diesel::prelude::*;
use siis::catalog::Rol;
use siis::db::DbConnection;
use siis::db::schema::{auditoria, fichas, hogares, integrantes, personas};
use siis::domain::{ConvenioId, Run};

use crate::navegador::{Browser, BrowserOptions, Provider, ProviderOptions, Tool, needs, spki_pin};
use crate::support::{Backend, Setup, TestNode, make_pki};

const CLIENT_ID: &str = "siis-consola";
const CLIENT_SECRET: &str = "secreto-de-la-consola";
/// Officials: the head of Santiago's social department, and a clerk of Valparaíso's.
const JEFE_SANTIAGO: &str = "44.444.444-4";
const ATENCION_VALPARAISO: &str = "55.555.555-5";

/// A console with a provider: the node's public listener bound first (its address is the
/// provider's redirect), the provider serving HTTPS with a certificate of its own CA, which
/// the node trusts through `consola.ca_proveedor`, and the browser through a pin.
struct Consola {
    node: TestNode,
    provider: Provider,
    base: String,
    pins: Vec<String>,
    _provider_pki: tempfile::TempDir,
}

impl Consola {
    async fn start() -> Consola {
        let public = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!(
            "https://localhost:{}",
            public.local_addr().expect("address").port()
        );
        let provider_pki = tempfile::TempDir::new().expect("tempdir");
        let pki = make_pki(provider_pki.path(), &[]);
        let provider = Provider::start_with(ProviderOptions {
            // Another site than the node (localhost): a SameSite=Strict cookie would fail here
            // as it would with Clave Única.
            host: "127.0.0.1".to_owned(),
            post_logout_redirect_uris: vec![format!("{base}/consola/")],
            tls: Some((pki.join("server.pem"), pki.join("server-key.pem"))),
            ..ProviderOptions::new(
                CLIENT_ID,
                CLIENT_SECRET,
                &[&format!("{base}/consola/retorno")],
            )
        })
        .await;
        let issuer = provider.issuer().to_owned();
        assert!(issuer.starts_with("https://127.0.0.1:"), "{issuer}");
        let ca = pki.join("ca.pem");
        let url_publica = base.clone();
        let node = TestNode::start_with(
            Backend::Sqlite,
            Setup {
                persons: 2_000,
                public: Some(public),
                configure: Some(Box::new(move |config| {
                    let c = &mut config.consola;
                    c.issuer = issuer.clone();
                    c.client_id = CLIENT_ID.into();
                    c.client_secret = CLIENT_SECRET.into();
                    c.url_publica = url_publica;
                    c.url_cierre = format!("{issuer}/api/v1/accounts/app/logout");
                    c.ca_proveedor = Some(ca);
                })),
                ..Setup::default()
            },
        )
        .await;
        let mut conn = node.db();
        official(&mut conn, JEFE_SANTIAGO, "muni-13101", Rol::JefeComunal);
        official(&mut conn, ATENCION_VALPARAISO, "muni-05101", Rol::Atencion);
        let pins = vec![
            spki_pin(&node.pki.join("server.pem")),
            spki_pin(&pki.join("server.pem")),
        ];
        Consola {
            node,
            provider,
            base,
            pins,
            _provider_pki: provider_pki,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs `run` in at the provider, from the console's sign-in page.
    async fn sign_in(&self, browser: &Browser, run: &str) {
        browser.goto(&self.url("/consola/")).await;
        browser.click("#ingresar").await;
        browser
            .wait_for_url(&format!("{}/interaction/", self.provider.issuer()))
            .await;
        browser.fill("#run", run).await;
        browser.fill("#password", "clave").await;
        browser.click("#login").await;
        browser.wait_for_url(&self.url("/consola/")).await;
        browser.wait_for("#usuario").await;
    }

    /// Signs out; the provider's session ends too, and the browser is back at sign-in.
    async fn sign_out(&self, browser: &Browser) {
        browser.click("#salir").await;
        browser.wait_for("#ingresar").await;
        assert!(
            browser
                .current_url()
                .await
                .as_str()
                .starts_with(&self.url("/consola/"))
        );
    }

    async fn look_up(&self, browser: &Browser, run: Run) {
        browser.goto(&self.url("/consola/ficha")).await;
        browser.fill("#run", &run.to_string()).await;
        browser.click("#consultar").await;
    }
}

fn official(conn: &mut DbConnection, run: &str, convenio: &str, rol: Rol) {
    siis::consola::usuarios::alta(
        conn,
        run.parse().expect("RUN"),
        &ConvenioId::parse(convenio).expect("id"),
        rol,
    )
    .expect("official");
}

/// A living person of a household of `cut` whose household has a ficha in force.
fn person_of(conn: &mut DbConnection, cut: &str) -> Run {
    let run: i32 = integrantes::table
        .inner_join(hogares::table)
        .inner_join(personas::table)
        .inner_join(fichas::table.on(fichas::hogar_id.eq(integrantes::hogar_id)))
        .filter(personas::fecha_defuncion.is_null())
        .filter(fichas::estado.eq("vigente"))
        .filter(hogares::cut.eq(cut.to_owned()))
        .select(personas::run)
        .order(personas::run)
        .first(conn)
        .expect("a person of the comuna");
    Run::from_numero(run as u32).expect("RUN")
}

/// (operacion, transporte, usuario, resultado) of the records that name `run`, oldest first.
fn records_of(conn: &mut DbConnection, run: Run) -> Vec<(String, String, Option<String>, String)> {
    auditoria::table
        .filter(auditoria::sujetos.like(format!("%{run}%")))
        .order(auditoria::id)
        .select((
            auditoria::operacion,
            auditoria::transporte,
            auditoria::usuario,
            auditoria::resultado,
        ))
        .load(conn)
        .expect("audit records")
}

fn shots_dir() -> Option<PathBuf> {
    std::env::var_os("SIIS_SCREENSHOTS").map(PathBuf::from)
}

async fn shot(browser: &Browser, name: &str) {
    if let Some(dir) = shots_dir() {
        std::fs::create_dir_all(&dir).expect("screenshots folder");
        browser.screenshot(&Path::new(&dir).join(name)).await;
    }
}

#[tokio::test]
async fn officials_look_up_work_a_survey_and_issue_a_certificate_and_a_person_sees_who_consulted_them()
 {
    if !needs(&[Tool::Browser, Tool::Provider]) {
        return;
    }
    let consola = Consola::start().await;
    let vecino = person_of(&mut consola.node.db(), "13101");
    // MINVU asked for a person of Santiago without ficha to be surveyed.
    let encuestado = crate::encuestaje::sin_ficha(&consola.node, 1)[0];
    let solicitud = crate::encuestaje::nueva(&consola.node, encuestado).await;
    let browser = Browser::start_with(BrowserOptions {
        spki_pins: consola.pins.clone(),
        ..BrowserOptions::default()
    })
    .await;

    // The head of Santiago's social department looks up a neighbour: the ficha as the
    // agreement's projection allows (score, members).
    consola.sign_in(&browser, JEFE_SANTIAGO).await;
    shot(&browser, "inicio.png").await;
    assert!(browser.text_of("#rol").await.contains("Jefe comunal"));
    consola.look_up(&browser, vecino).await;
    let ficha = browser.text_of("#ficha").await;
    assert!(ficha.contains("Puntaje"), "{ficha}");
    assert!(ficha.contains(&vecino.to_string()), "{ficha}");
    browser.wait_for("#integrantes").await;
    shot(&browser, "ficha.png").await;
    // The RUN went in a form, never in an address.
    assert!(
        !browser
            .current_url()
            .await
            .as_str()
            .contains(&vecino.numero().to_string())
    );

    // A survey request of the comuna: its visit scheduled from the queue.
    browser.click("Encuestajes de la comuna").await;
    browser.click(&encuestado.to_string()).await;
    browser
        .wait_for_url(&consola.url(&format!("/consola/encuestajes/{solicitud}")))
        .await;
    browser.click("#programar").await;
    browser.wait_for("#fallida").await;
    assert!(
        browser
            .text_of("#eventos")
            .await
            .contains("Visita programada")
    );

    // A certificado FPS for the neighbour: issued, signed, and downloaded as its PDF.
    browser.click("Emitir certificado").await;
    browser.fill("#run", &vecino.to_string()).await;
    browser
        .wait_for("#tipo")
        .await
        .select_by_value("certificado_fps")
        .await
        .expect("choose the kind");
    shot(&browser, "certificados.png").await;
    browser.click("#emitir").await;
    let pdf = browser
        .downloaded(
            |p| p.extension().is_some_and(|e| e == "pdf"),
            std::time::Duration::from_secs(30),
        )
        .await;
    let bytes = std::fs::read(&pdf).expect("the PDF");
    assert!(bytes.starts_with(b"%PDF-"), "a PDF");
    consola.sign_out(&browser).await;

    // A clerk of Valparaíso is refused the same person, as if the RUN were unknown.
    consola.sign_in(&browser, ATENCION_VALPARAISO).await;
    consola.look_up(&browser, vecino).await;
    let code = browser.text_of("#codigo-error").await;
    assert_eq!(code, "NO_ENCONTRADO");
    assert!(
        browser
            .client()
            .find(fantoccini::Locator::Css("#ficha"))
            .await
            .is_err()
    );
    // A clerk's role does not include the survey queue's operation even where the agreement
    // grants it: the page is not offered.
    let menu = browser.text_of("nav").await;
    assert!(menu.contains("Consultar ficha"), "{menu}");
    consola.sign_out(&browser).await;

    // The neighbour signs in as themself and sees both consultations: who, what, and that
    // Valparaíso's got nothing.
    consola.sign_in(&browser, &vecino.to_string()).await;
    assert!(browser.text_of("#rol").await.contains("Persona"));
    browser.click("Quién consultó mis datos").await;
    let accesos = browser.text_of("#accesos").await;
    shot(&browser, "mis-accesos.png").await;
    assert!(
        accesos.contains("Ilustre Municipalidad de Santiago"),
        "{accesos}"
    );
    assert!(accesos.contains("puntaje"), "{accesos}");
    assert!(accesos.contains("Valparaíso"), "{accesos}");
    assert!(accesos.contains("No entregados"), "{accesos}");
    browser.click("Mi ficha").await;
    assert!(browser.text_of("#ficha").await.contains("Puntaje"));
    // Their own constancia de encuestaje, online.
    browser.click("#constancia").await;
    let constancia = browser
        .downloaded(
            |p| p.extension().is_some_and(|e| e == "pdf") && p != pdf.as_path(),
            std::time::Duration::from_secs(30),
        )
        .await;
    assert!(std::fs::read(&constancia).unwrap().starts_with(b"%PDF-"));
    consola.sign_out(&browser).await;
    browser.close().await;

    // The audit names the official behind each console request, and keeps the true outcome
    // that the clerk's answer did not tell.
    let records = records_of(&mut consola.node.db(), vecino);
    let jefe: Run = JEFE_SANTIAGO.parse().unwrap();
    let clerk: Run = ATENCION_VALPARAISO.parse().unwrap();
    let expected = [
        ("ConsultarFichaFPS", Some(jefe.to_string()), "OK"),
        ("EmitirCertificado", Some(jefe.to_string()), "OK"),
        (
            "ConsultarFichaFPS",
            Some(clerk.to_string()),
            "FUERA_DE_AMBITO",
        ),
        ("ConsultarAccesos", Some(vecino.to_string()), "OK"),
        ("ConsultarFichaFPS", Some(vecino.to_string()), "OK"),
        ("EmitirCertificado", Some(vecino.to_string()), "OK"),
    ];
    assert_eq!(records.len(), expected.len(), "{records:?}");
    for ((op, transport, usuario, outcome), (want_op, want_user, want_outcome)) in
        records.iter().zip(expected)
    {
        assert_eq!((op.as_str(), transport.as_str()), (want_op, "consola"));
        assert_eq!(usuario, &want_user);
        assert_eq!(outcome, want_outcome);
    }
    let verify = consola.node.siis(&["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    consola.node.stop().await;
}

/// A browser without a browser: cookies kept by hand, redirects not followed, so that every
/// answer of the console can be looked at.
struct Visitante {
    http: reqwest::Client,
    node_base: String,
    cookie: Option<String>,
}

impl Visitante {
    fn new(node: &TestNode) -> Visitante {
        Visitante {
            http: crate::support::tls_client_builder(&node.pki.join("ca.pem"), None, &[])
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            node_base: node.public_url(""),
            cookie: None,
        }
    }

    /// Keeps the session cookie an answer sets (or clears).
    fn keep(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().expect("cookie");
            let pair = text.split(';').next().expect("pair");
            let (name, value) = pair.split_once('=').expect("name=value");
            assert_eq!(name, siis::consola::COOKIE);
            self.cookie = (!value.is_empty()).then(|| value.to_owned());
        }
    }

    async fn get(&mut self, path: &str) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.node_base));
        if let Some(c) = &self.cookie {
            request = request.header("cookie", format!("{}={c}", siis::consola::COOKIE));
        }
        let response = request.send().await.expect("GET");
        self.keep(&response);
        response
    }

    /// Posts a form from `origin` (the console's own unless said otherwise).
    async fn post(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}{path}", self.node_base))
            .header("origin", origin.unwrap_or(&self.node_base))
            .form(form);
        if let Some(c) = &self.cookie {
            request = request.header("cookie", format!("{}={c}", siis::consola::COOKIE));
        }
        let response = request.send().await.expect("POST");
        self.keep(&response);
        response
    }
}

impl Visitante {
    /// Signs `run` in with the demo's sign-in, from the start page as a browser would.
    async fn sign_in_demo(&mut self, run: &str) {
        let page = self
            .get("/consola/")
            .await
            .text()
            .await
            .expect("start page");
        let csrf = csrf_of(&page);
        let signed = self
            .post(
                "/consola/ingresar-demo",
                &[("run", run), ("csrf", &csrf)],
                None,
            )
            .await;
        assert_eq!(signed.status(), 303, "demo sign-in of {run}");
    }
}

/// A node whose console offers the demo's sign-in (no provider), with user allowances wide
/// enough for a test's many pages.
async fn demo_node() -> TestNode {
    demo_node_on(Backend::Sqlite).await
}

/// [`demo_node`] on `backend`.
async fn demo_node_on(backend: Backend) -> TestNode {
    let public = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("https://localhost:{}", public.local_addr().unwrap().port());
    TestNode::start_with(
        backend,
        Setup {
            persons: 2_000,
            public: Some(public),
            configure: Some(Box::new(move |config| {
                config.consola.url_publica = base;
                config.consola.ingreso_demo = true;
                config.consola.usuario_por_segundo = 1_000;
                config.consola.usuario_rafaga = 1_000;
            })),
            ..Setup::default()
        },
    )
    .await
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..].split('"').next().expect("value").to_owned()
}

fn location(response: &reqwest::Response) -> &str {
    response.headers()["location"].to_str().expect("location")
}

/// The error code a refusal page shows.
fn code_of(page: &str) -> &str {
    let at = page.find("id=\"codigo-error\">").expect("an error code") + 18;
    page[at..].split('<').next().expect("code")
}

// actix's runtime: the broker's own calls below spawn on it.
#[actix_web::test]
async fn sessions_forms_and_pages_resist_forgery_fixation_and_overuse() {
    let public = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("https://localhost:{}", public.local_addr().unwrap().port());
    let node = TestNode::start_with(
        Backend::Sqlite,
        Setup {
            persons: 2_000,
            public: Some(public),
            configure: Some(Box::new(move |config| {
                config.consola.url_publica = base;
                config.consola.ingreso_demo = true;
                config.consola.ingresos_por_minuto = 1;
                config.consola.ingresos_rafaga = 2;
                config.consola.usuario_por_segundo = 1;
                config.consola.usuario_rafaga = 3;
            })),
            ..Setup::default()
        },
    )
    .await;
    official(
        &mut node.db(),
        JEFE_SANTIAGO,
        "muni-13101",
        Rol::JefeComunal,
    );
    official(
        &mut node.db(),
        ATENCION_VALPARAISO,
        "operador",
        Rol::Supervisor,
    );
    let vecino = person_of(&mut node.db(), "13101");
    let otro = person_of(&mut node.db(), "05101");
    let mut v = Visitante::new(&node);

    // The sign-in page: headers that keep scripts, frames and caches out; the session
    // cookie's flags.
    let page = v.get("/consola/").await;
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    for part in [
        "default-src 'none'",
        "style-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let set = headers["set-cookie"].to_str().unwrap();
    for flag in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(flag), "{set}");
    }
    assert!(
        set.starts_with("__Host-siis-consola=") && !set.contains("Domain"),
        "{set}"
    );
    let body = page.text().await.unwrap();
    assert!(
        !body.contains("<script") && !body.contains("style=") && !body.contains(" on"),
        "inline script or style"
    );
    let anonymous = v.cookie.clone().expect("a session before sign-in");
    let csrf = csrf_of(&body);

    // A form without the session's token, or from another site, signs nobody in.
    let forged = v
        .post(
            "/consola/ingresar-demo",
            &[("run", JEFE_SANTIAGO), ("csrf", "otro")],
            None,
        )
        .await;
    assert_eq!(forged.status(), 400);
    assert_eq!(code_of(&forged.text().await.unwrap()), "SOLICITUD_INVALIDA");
    let cross = v
        .post(
            "/consola/ingresar-demo",
            &[("run", JEFE_SANTIAGO), ("csrf", &csrf)],
            Some("https://evil.example"),
        )
        .await;
    assert_eq!(cross.status(), 400);
    // A form that lacks a field gets the same page, not the framework's text.
    let missing = v
        .post("/consola/ingresar-demo", &[("run", JEFE_SANTIAGO)], None)
        .await;
    assert_eq!(missing.status(), 400);
    assert_eq!(
        code_of(&missing.text().await.unwrap()),
        "SOLICITUD_INVALIDA"
    );

    // Signing in replaces the session: the key from before sign-in opens nothing after it.
    let signed = v
        .post(
            "/consola/ingresar-demo",
            &[("run", JEFE_SANTIAGO), ("csrf", &csrf)],
            None,
        )
        .await;
    assert_eq!(signed.status(), 303);
    assert_eq!(location(&signed), "/consola/");
    let official_cookie = v.cookie.clone().expect("a new session");
    assert_ne!(official_cookie, anonymous);
    let mut planted = Visitante::new(&node);
    planted.cookie = Some(anonymous);
    let refused = planted.get("/consola/ficha").await;
    assert_eq!(
        (refused.status().as_u16(), location(&refused)),
        (303, "/consola/")
    );

    // The official's own allowance: a burst of 3 persons, then refused while another user
    // (and the agreement) goes on.
    let page = v.get("/consola/ficha").await.text().await.unwrap();
    let csrf = csrf_of(&page);
    for _ in 0..3 {
        let found = v
            .post(
                "/consola/ficha",
                &[("run", &vecino.to_string()), ("csrf", &csrf)],
                None,
            )
            .await;
        assert_eq!(found.status(), 200);
        assert!(found.text().await.unwrap().contains("id=\"ficha\""));
    }
    let over = v
        .post(
            "/consola/ficha",
            &[("run", &vecino.to_string()), ("csrf", &csrf)],
            None,
        )
        .await;
    assert_eq!(over.status(), 429);
    assert!(over.headers().contains_key("retry-after"));
    assert_eq!(code_of(&over.text().await.unwrap()), "LIMITE_EXCEDIDO");

    // Signing out ends the session on the node: its cookie opens nothing afterwards.
    let out = v.post("/consola/salir", &[("csrf", &csrf)], None).await;
    assert_eq!((out.status().as_u16(), location(&out)), (303, "/consola/"));
    assert_eq!(v.cookie, None);
    let mut copy = Visitante::new(&node);
    copy.cookie = Some(official_cookie);
    assert_eq!(copy.get("/consola/ficha").await.status(), 303);

    // A role narrows its agreement: the operator's agreement grants ConsultarAccesos, a
    // supervisor of it may not use it (audited as refused, naming the official).
    let broker = node.node.broker.clone().into_inner();
    let core = std::sync::Arc::new(siis::ops::Core {
        broker: broker.clone(),
        certificados: std::sync::Arc::new(
            siis::ops::certificados::Servicio::from_config(&node.config).expect("certificados"),
        ),
    });
    let supervisor = siis::broker::Usuario {
        run: ATENCION_VALPARAISO.parse().unwrap(),
        convenio: ConvenioId::parse("operador").unwrap(),
        rol: Rol::Supervisor,
    };
    let call = siis::broker::Call {
        identity: None,
        transport: siis::broker::Transport::Consola,
        service: siis::broker::Service::Desconocido,
        message_id: None,
        subjects: vec![vecino],
        input_error: None,
        xroad: Vec::new(),
        peer: None,
        usuario: Some(supervisor),
        remitente: None,
        cobro_minimo: 0,
        entrega_a: None,
    };
    let pedido = siis::ops::accesos::Pedido::parse(Some(vecino), None, None).unwrap();
    let reply = siis::ops::run::<siis::ops::accesos::ConsultarAccesos>(core, call, pedido).await;
    let error = reply.result.expect_err("refused");
    assert_eq!(error.code.as_str(), "NO_AUTORIZADO");
    assert!(error.detail.contains("role"), "{}", error.detail);

    // A person signs in as themself and may ask only about themself: another RUN is refused
    // whether or not it exists.
    let mut persona = Visitante::new(&node);
    let page = persona.get("/consola/").await.text().await.unwrap();
    let csrf = csrf_of(&page);
    let signed = persona
        .post(
            "/consola/ingresar-demo",
            &[("run", &vecino.to_string()), ("csrf", &csrf)],
            None,
        )
        .await;
    assert_eq!(signed.status(), 303);
    let page = persona.get("/consola/").await.text().await.unwrap();
    assert!(
        page.contains("Quién consultó mis datos") && !page.contains("/consola/ficha\""),
        "{page}"
    );
    let csrf = csrf_of(&page);
    for other in [otro.to_string(), "12345678-5".to_owned()] {
        let refused = persona
            .post("/consola/ficha", &[("run", &other), ("csrf", &csrf)], None)
            .await;
        assert_eq!(refused.status(), 403);
        assert_eq!(code_of(&refused.text().await.unwrap()), "NO_AUTORIZADO");
    }
    let own = persona.get("/consola/mi-ficha").await;
    assert_eq!(own.status(), 200);

    // Sign-ins started are limited per address (a burst of 2 here).
    let mut codes = Vec::new();
    for _ in 0..3 {
        codes.push(persona.get("/consola/ingresar").await.status().as_u16());
    }
    assert_eq!(
        codes,
        [503, 503, 429],
        "no provider configured, then over the limit"
    );

    // What the audit says: the console's requests name their user; the role's refusal too.
    let records: Vec<(String, String, Option<String>, String)> = auditoria::table
        .filter(auditoria::transporte.eq("consola"))
        .order(auditoria::id)
        .select((
            auditoria::operacion,
            auditoria::transporte,
            auditoria::usuario,
            auditoria::resultado,
        ))
        .load(&mut node.db())
        .unwrap();
    let summary: Vec<(&str, Option<&str>, &str)> = records
        .iter()
        .map(|(op, _, u, r)| (op.as_str(), u.as_deref(), r.as_str()))
        .collect();
    let jefe = JEFE_SANTIAGO.parse::<Run>().unwrap().to_string();
    let sup = ATENCION_VALPARAISO.parse::<Run>().unwrap().to_string();
    let me = vecino.to_string();
    assert_eq!(
        summary,
        [
            ("ConsultarFichaFPS", Some(jefe.as_str()), "OK"),
            ("ConsultarFichaFPS", Some(jefe.as_str()), "OK"),
            ("ConsultarFichaFPS", Some(jefe.as_str()), "OK"),
            ("ConsultarFichaFPS", Some(jefe.as_str()), "LIMITE_EXCEDIDO"),
            ("ConsultarAccesos", Some(sup.as_str()), "NO_AUTORIZADO"),
            ("ConsultarFichaFPS", Some(me.as_str()), "NO_AUTORIZADO"),
            ("ConsultarFichaFPS", Some(me.as_str()), "NO_AUTORIZADO"),
            ("ConsultarFichaFPS", Some(me.as_str()), "OK"),
        ]
    );
    node.stop().await;
}

#[tokio::test]
async fn the_development_sign_in_does_not_exist_outside_the_demo() {
    let node = TestNode::start(Backend::Sqlite).await;
    let mut v = Visitante::new(&node);
    let page = v.get("/consola/").await;
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(!body.contains("ingresar-demo"), "{body}");
    assert_eq!(v.cookie, None, "no session before a sign-in starts");
    let refused = v
        .post(
            "/consola/ingresar-demo",
            &[("run", JEFE_SANTIAGO), ("csrf", "x")],
            None,
        )
        .await;
    assert_eq!(refused.status(), 404);
    assert_eq!(code_of(&refused.text().await.unwrap()), "RUTA_DESCONOCIDA");
    node.stop().await;
}

mod encuestajes;
mod estadisticas;
mod postulaciones;

impl Visitante {
    /// [`Visitante::sign_in_demo`], then the CSRF token of the start page.
    async fn demo_sign_in(&mut self, run: &str) -> String {
        self.sign_in_demo(run).await;
        csrf_of(&self.get("/consola/").await.text().await.unwrap())
    }
}

#[tokio::test]
async fn a_comuna_head_manages_their_own_officials_only_and_every_change_is_audited() {
    let node = demo_node().await;
    official(
        &mut node.db(),
        JEFE_SANTIAGO,
        "muni-13101",
        Rol::JefeComunal,
    );
    official(
        &mut node.db(),
        ATENCION_VALPARAISO,
        "muni-05101",
        Rol::Atencion,
    );
    let mut jefe = Visitante::new(&node);
    let csrf = jefe.demo_sign_in(JEFE_SANTIAGO).await;
    let nuevo = "17.777.777-3";
    let nuevo_run: Run = nuevo.parse().unwrap();

    // The list: Santiago's officials only.
    let page = jefe.get("/consola/usuarios").await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("44444444-4") && !page.contains("55555555-5"),
        "{page}"
    );
    assert!(
        !page.contains("value=\"operador\""),
        "a comuna head cannot make an operator"
    );

    // A surveyor added, then changed, then removed.
    let change = |rol: &'static str, convenio: &'static str| {
        [
            ("run", nuevo),
            ("convenio", convenio),
            ("rol", rol),
            ("csrf", csrf.as_str()),
        ]
    };
    let added = jefe
        .post(
            "/consola/usuarios",
            &change("encuestador", "muni-13101"),
            None,
        )
        .await;
    assert_eq!(
        (added.status().as_u16(), location(&added)),
        (303, "/consola/usuarios")
    );
    let page = jefe.get("/consola/usuarios").await.text().await.unwrap();
    assert!(
        page.contains(&nuevo_run.to_string()) && page.contains("Encuestador"),
        "{page}"
    );
    // The new surveyor signs in as one, with the survey queue's role and not the lookups' of
    // a clerk.
    let mut encuestador = Visitante::new(&node);
    encuestador.demo_sign_in(nuevo).await;
    let home = encuestador.get("/consola/").await.text().await.unwrap();
    assert!(
        home.contains("Encuestador") && !home.contains("/consola/usuarios"),
        "{home}"
    );
    assert_eq!(encuestador.get("/consola/usuarios").await.status(), 403);

    // What a comuna head may not do: make an operator, place someone under another agreement,
    // take another agreement's official, change themself.
    for (form, why) in [
        (change("operador", "muni-13101"), "operator"),
        (change("atencion", "muni-05101"), "own agreement"),
        (
            [
                ("run", ATENCION_VALPARAISO),
                ("convenio", "muni-13101"),
                ("rol", "atencion"),
                ("csrf", csrf.as_str()),
            ],
            "another agreement",
        ),
        (
            [
                ("run", JEFE_SANTIAGO),
                ("convenio", "muni-13101"),
                ("rol", "baja"),
                ("csrf", csrf.as_str()),
            ],
            "their own access",
        ),
    ] {
        let refused = jefe.post("/consola/usuarios", &form, None).await;
        assert_eq!(refused.status(), 403, "{why}");
        assert_eq!(
            code_of(&refused.text().await.unwrap()),
            "NO_AUTORIZADO",
            "{why}"
        );
    }
    // Bad input changes nothing and says why.
    for (form, code) in [
        (
            [
                ("run", "17.777.777-4"),
                ("convenio", "muni-13101"),
                ("rol", "atencion"),
                ("csrf", csrf.as_str()),
            ],
            "RUN_INVALIDO",
        ),
        (
            [
                ("run", nuevo),
                ("convenio", "muni-13101"),
                ("rol", "alcalde"),
                ("csrf", csrf.as_str()),
            ],
            "SOLICITUD_INVALIDA",
        ),
        (
            [
                ("run", nuevo),
                ("convenio", "muni-13101"),
                ("rol", "atencion"),
                ("csrf", "otro"),
            ],
            "SOLICITUD_INVALIDA",
        ),
    ] {
        let refused = jefe.post("/consola/usuarios", &form, None).await;
        assert_eq!(code_of(&refused.text().await.unwrap()), code);
    }
    assert_eq!(
        siis::consola::usuarios::buscar(&mut node.db(), nuevo_run).unwrap(),
        Some((ConvenioId::parse("muni-13101").unwrap(), Rol::Encuestador))
    );
    let removed = jefe
        .post("/consola/usuarios", &change("baja", "muni-13101"), None)
        .await;
    assert_eq!(removed.status(), 303);
    assert_eq!(
        siis::consola::usuarios::buscar(&mut node.db(), nuevo_run).unwrap(),
        None
    );

    // A clerk does not manage users: not offered, and refused.
    let mut clerk = Visitante::new(&node);
    clerk.demo_sign_in(ATENCION_VALPARAISO).await;
    assert!(
        !clerk
            .get("/consola/")
            .await
            .text()
            .await
            .unwrap()
            .contains("/consola/usuarios")
    );
    let refused = clerk.get("/consola/usuarios").await;
    assert_eq!(refused.status(), 403);

    // The audit: each change and each list names who did it, and whom it concerned.
    let records: Vec<(String, Option<String>, String, String)> = auditoria::table
        .filter(auditoria::operacion.eq("AdministrarUsuarios"))
        .order(auditoria::id)
        .select((
            auditoria::sujetos,
            auditoria::usuario,
            auditoria::resultado,
            auditoria::transporte,
        ))
        .load(&mut node.db())
        .unwrap();
    let jefe_run = JEFE_SANTIAGO.parse::<Run>().unwrap().to_string();
    let added = records
        .iter()
        .find(|(s, u, r, _)| {
            s == &nuevo_run.to_string() && u.as_deref() == Some(&jefe_run) && r == "OK"
        })
        .expect("the addition's record");
    assert_eq!(added.3, "consola");
    let outcomes: Vec<&str> = records.iter().map(|(_, _, r, _)| r.as_str()).collect();
    assert_eq!(
        outcomes.iter().filter(|r| **r == "NO_AUTORIZADO").count(),
        6,
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&"RUN_INVALIDO") && outcomes.contains(&"SOLICITUD_INVALIDA"));
    let verify = node.siis(&["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    node.stop().await;
}

/// Whether the page scrolls sideways (a phone would have to pan).
async fn scrolls_sideways(browser: &Browser) -> bool {
    let wide = browser
        .client()
        .execute(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            Vec::new(),
        )
        .await
        .expect("measure the page");
    wide.as_bool().expect("a boolean")
}

/// Types into the element that has the focus.
async fn type_keys(browser: &Browser, keys: &str) {
    browser
        .client()
        .active_element()
        .await
        .expect("the focused element")
        .send_keys(keys)
        .await
        .expect("type");
}

#[tokio::test]
async fn on_a_phone_and_by_keyboard_alone_an_official_signs_in_and_looks_up() {
    if !needs(&[Tool::Browser]) {
        return;
    }
    const TAB: &str = "\u{e004}";
    const ENTER: &str = "\u{e007}";
    let node = demo_node().await;
    official(
        &mut node.db(),
        JEFE_SANTIAGO,
        "muni-13101",
        Rol::JefeComunal,
    );
    let vecino = person_of(&mut node.db(), "13101");
    let browser = Browser::start_with(BrowserOptions {
        spki_pins: vec![spki_pin(&node.pki.join("server.pem"))],
        // A phone's screen, in CSS pixels.
        window: (390, 844),
    })
    .await;
    browser.goto(&node.public_url("/consola/")).await;
    assert!(!scrolls_sideways(&browser).await, "the sign-in page fits");

    // From the top of the page, Tab reaches the development sign-in's RUN field: the links
    // before it, then the field; Enter submits its form.
    let mut focused = String::new();
    for _ in 0..6 {
        type_keys(&browser, TAB).await;
        focused = browser
            .client()
            .active_element()
            .await
            .unwrap()
            .attr("id")
            .await
            .unwrap()
            .unwrap_or_default();
        if focused == "run-demo" {
            break;
        }
    }
    assert_eq!(focused, "run-demo", "the RUN field is reached by Tab");
    type_keys(&browser, &format!("{JEFE_SANTIAGO}{ENTER}")).await;
    browser.wait_for("#usuario").await;

    // A label is tied to its field: clicking it gives the field the focus, and Enter looks up.
    browser.goto(&node.public_url("/consola/ficha")).await;
    browser.click("label[for=run]").await;
    type_keys(&browser, &format!("{vecino}{ENTER}")).await;
    let ficha = browser.text_of("#ficha").await;
    assert!(ficha.contains("Puntaje"), "{ficha}");
    assert!(!scrolls_sideways(&browser).await, "the ficha fits a phone");
    shot(&browser, "telefono.png").await;
    browser.close().await;
    node.stop().await;
}

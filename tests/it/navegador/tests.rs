//! The harness's own tests: a relying party of the test's own signs a person in through the
//! provider in Chromium (authorization code, PKCE), over plain HTTP and over HTTPS; the
//! provider's HTTPS is verified against the node's development CA; and Chromium trusts a pinned
//! test certificate and no other.

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use base64::Engine;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::Value;
use sha2::{Digest, Sha256};
use siis::pki::{CA_CERT, SERVER_CERT, SERVER_KEY};
use tokio::sync::mpsc;

use super::{Browser, BrowserOptions, Provider, ProviderOptions, Tool, needs, spki_pin};

const CLIENT_ID: &str = "consola-prueba";
const CLIENT_SECRET: &str = "secreto-de-prueba";
/// An attachment whose bytes any text handling would change.
const CONSTANCIA: &[u8] = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\r\n\x00\xff constancia de prueba\n%%EOF\n";

/// How the provider is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    /// With the node's development certificate (`siis pki dev`): the test's client trusts its
    /// CA, the browser its pin.
    Https,
}

#[tokio::test]
async fn a_person_signs_in_at_the_provider_by_typing_a_run_and_downloads_an_attachment() {
    signs_in_and_downloads(Scheme::Http).await;
}

#[tokio::test]
async fn a_person_signs_in_at_the_provider_on_https_whose_certificate_the_browser_pins() {
    signs_in_and_downloads(Scheme::Https).await;
}

async fn signs_in_and_downloads(scheme: Scheme) {
    if !needs(&[Tool::Browser, Tool::Provider]) {
        return;
    }
    let dir = tempfile::TempDir::new().expect("tempdir");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let rp_url = format!("http://{}", listener.local_addr().expect("address"));
    let callback = format!("{rp_url}/callback");
    // Over HTTPS the test's client trusts the development CA alone, and the browser the
    // certificate's pin alone.
    let (provider, http, browser, prefix) = match scheme {
        Scheme::Http => (
            Provider::start(CLIENT_ID, CLIENT_SECRET, &[&callback]).await,
            http_client(None),
            Browser::start().await,
            "http://",
        ),
        Scheme::Https => {
            let pki = dev_pki(&dir.path().join("pki"));
            let provider = Provider::start_with(ProviderOptions {
                tls: Some(served_with(&pki)),
                ..ProviderOptions::new(CLIENT_ID, CLIENT_SECRET, &[&callback])
            })
            .await;
            let browser = Browser::start_with(BrowserOptions {
                spki_pins: vec![spki_pin(&pki.join(SERVER_CERT))],
                ..BrowserOptions::default()
            })
            .await;
            (
                provider,
                http_client(Some(&pki.join(CA_CERT))),
                browser,
                "https://",
            )
        }
    };
    assert!(
        provider.issuer().starts_with(prefix),
        "{}",
        provider.issuer()
    );
    let meta: Value = get_json(
        &http,
        &format!("{}/.well-known/openid-configuration", provider.issuer()),
    )
    .await;
    assert_eq!(meta["issuer"], provider.issuer());
    let endpoint = |name: &str| meta[name].as_str().expect("endpoint").to_owned();

    // PKCE is required: an authorization request without a challenge goes back with an error.
    let refused = http
        .get(endpoint("authorization_endpoint"))
        .query(&[
            ("client_id", CLIENT_ID),
            ("response_type", "code"),
            ("scope", "openid run name"),
            ("redirect_uri", &callback),
            ("state", "sin-pkce"),
        ])
        .send()
        .await
        .expect("authorization request");
    let location = refused.headers()["location"].to_str().expect("location");
    assert!(
        location.starts_with(&callback) && location.contains("error=invalid_request"),
        "{location}"
    );

    let (rp_server, mut logins) = RelyingParty::start(listener, endpoint("authorization_endpoint"));
    browser.goto(&format!("{rp_url}/ingresar")).await;
    browser
        .wait_for_url(&format!("{}/interaction/", provider.issuer()))
        .await;
    browser.screenshot(&dir.path().join("login.png")).await;
    let png = std::fs::read(dir.path().join("login.png")).expect("screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");

    // A RUN whose check digit is wrong does not sign in.
    browser.fill("RUN", "44.444.444-5").await;
    browser.click("Autenticar").await;
    assert_eq!(browser.text_of("#error").await, "RUN o clave incorrectos");
    browser.fill("RUN", "44.444.444-4").await;
    browser.fill("Nombres", "María Carmen").await;
    browser.fill("#apellido_paterno", "Del Río").await;
    browser.fill("Apellido materno", "O'Higgins").await;
    browser.click("#login").await;
    browser.wait_for_url(&callback).await;
    assert_eq!(browser.text_of("#estado").await, "Código recibido");
    let login = tokio::time::timeout(Duration::from_secs(5), logins.recv())
        .await
        .expect("the callback was called")
        .expect("a login");

    // The relying party's half: the code and the verifier for tokens, userinfo by POST.
    let tokens = http
        .post(endpoint("token_endpoint"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &login.code),
            ("redirect_uri", &callback),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("code_verifier", &login.verifier),
        ])
        .send()
        .await
        .expect("token request");
    assert!(tokens.status().is_success(), "{}", provider.log());
    let tokens: Value = tokens.json().await.expect("token answer");
    let userinfo: Value = http
        .post(endpoint("userinfo_endpoint"))
        .bearer_auth(tokens["access_token"].as_str().expect("access token"))
        .send()
        .await
        .expect("userinfo request")
        .json()
        .await
        .expect("userinfo answer");
    assert_eq!(
        userinfo["RolUnico"],
        serde_json::json!({ "numero": 44444444, "DV": "4", "tipo": "RUN" })
    );
    assert_eq!(
        userinfo["name"],
        serde_json::json!({ "nombres": ["María", "Carmen"], "apellidos": ["Del Río", "O'Higgins"] })
    );
    let id_token = jwt_claims(tokens["id_token"].as_str().expect("id token"));
    assert_eq!(id_token["iss"], provider.issuer());
    assert_eq!(id_token["aud"], CLIENT_ID);
    assert_eq!(id_token["nonce"], login.nonce.as_str());
    assert_eq!(id_token["sub"], userinfo["sub"]);
    assert_ne!(userinfo["sub"], "44444444", "sub is opaque, not the RUN");
    assert!(
        id_token.get("RolUnico").is_none(),
        "the RUN is in userinfo only"
    );

    browser.click("Descargar constancia").await;
    let file = browser
        .downloaded(
            |path| {
                path.file_name()
                    .is_some_and(|n| n == "constancia-prueba.pdf")
            },
            Duration::from_secs(10),
        )
        .await;
    assert_eq!(std::fs::read(&file).expect("downloaded file"), CONSTANCIA);

    // Clave Única's logout ends the provider's session: signing in asks for the RUN again.
    browser.goto(&provider.logout_url(None)).await;
    assert_eq!(browser.text_of("#logged-out").await, "Sesión cerrada");
    browser.goto(&format!("{rp_url}/ingresar")).await;
    browser.wait_for("#run").await;
    browser.close().await;
    rp_server.stop(true).await;
}

#[tokio::test]
async fn the_browser_trusts_a_pinned_test_certificate_and_no_other() {
    if !needs(&[Tool::Browser]) {
        return;
    }
    let dir = tempfile::TempDir::new().expect("tempdir");
    let (pinned, other) = (dir.path().join("pinned"), dir.path().join("other"));
    let mut server = HttpServer::new(|| {
        App::new().route(
            "/",
            web::get().to(|| async { page("<h1 id=\"titulo\">Consola de prueba</h1>") }),
        )
    })
    .workers(1);
    let mut urls = Vec::new();
    for pki in [&pinned, &other] {
        siis::pki::dev(pki, &[]).expect("test PKI");
        let tls = siis::tls::load(pki, None).expect("TLS").public;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        urls.push(format!(
            "https://{}/",
            listener.local_addr().expect("address")
        ));
        server = server.listen_rustls_0_23(listener, tls).expect("listen");
    }
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);

    let browser = Browser::start_with(BrowserOptions {
        spki_pins: vec![spki_pin(&pinned.join(SERVER_CERT))],
        ..BrowserOptions::default()
    })
    .await;
    browser.goto(&urls[0]).await;
    assert_eq!(browser.text_of("#titulo").await, "Consola de prueba");
    // Chromium shows its interstitial instead of the page (in the browser's language; the
    // error's code is the same in all of them).
    browser.goto(&urls[1]).await;
    let shown = browser.client().source().await.expect("page source");
    assert!(
        shown.contains("ERR_CERT_AUTHORITY_INVALID") && !shown.contains("Consola de prueba"),
        "a certificate of another CA was not refused: {shown}"
    );
    browser.close().await;
    handle.stop(true).await;
}

#[tokio::test]
async fn the_provider_serves_https_that_a_client_trusting_the_nodes_development_ca_verifies() {
    if !needs(&[Tool::Provider]) {
        return;
    }
    let dir = tempfile::TempDir::new().expect("tempdir");
    let (pki, other) = (
        dev_pki(&dir.path().join("pki")),
        dev_pki(&dir.path().join("other")),
    );
    let provider = Provider::start_with(ProviderOptions {
        tls: Some(served_with(&pki)),
        ..ProviderOptions::new(CLIENT_ID, CLIENT_SECRET, &["http://127.0.0.1:9/callback"])
    })
    .await;
    assert!(
        provider.issuer().starts_with("https://"),
        "{}",
        provider.issuer()
    );
    let discovery = format!("{}/.well-known/openid-configuration", provider.issuer());
    let meta = get_json(&http_client(Some(&pki.join(CA_CERT))), &discovery).await;
    assert_eq!(meta["issuer"], provider.issuer());
    for endpoint in [
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
    ] {
        let url = meta[endpoint].as_str().expect("endpoint");
        assert!(url.starts_with(provider.issuer()), "{endpoint}: {url}");
    }

    // Verified, not waved through: a client with no CA refuses it (unknown issuer), and so does
    // one with another development CA (same name, another key: a bad signature).
    for ca in [None, Some(other.join(CA_CERT))] {
        let refused = http_client(ca.as_deref())
            .get(&discovery)
            .send()
            .await
            .expect_err("a certificate of a CA the client does not trust");
        let why = causes(&refused);
        assert!(
            why.contains("invalid peer certificate"),
            "with {ca:?}: {why}"
        );
    }
}

/// What the relying party's callback hands the test.
struct Login {
    code: String,
    verifier: String,
    nonce: String,
}

/// A tiny relying party on plain HTTP (loopback is a secure context for Chromium):
/// `/ingresar` sends the browser to the provider with PKCE (S256), a state and a nonce;
/// `/callback` hands the code to the test and links to `/constancia` (an attachment).
struct RelyingParty {
    authorize: String,
    callback: String,
    pending: Mutex<HashMap<String, (String, String)>>,
    logins: mpsc::UnboundedSender<Login>,
}

impl RelyingParty {
    fn start(
        listener: TcpListener,
        authorize: String,
    ) -> (actix_web::dev::ServerHandle, mpsc::UnboundedReceiver<Login>) {
        let (logins, received) = mpsc::unbounded_channel();
        let callback = format!(
            "http://{}/callback",
            listener.local_addr().expect("address")
        );
        let rp = web::Data::new(RelyingParty {
            authorize,
            callback,
            pending: Mutex::new(HashMap::new()),
            logins,
        });
        let server = HttpServer::new(move || {
            App::new()
                .app_data(rp.clone())
                .route("/ingresar", web::get().to(ingresar))
                .route("/callback", web::get().to(callback_page))
                .route("/constancia", web::get().to(constancia))
        })
        .workers(1)
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        (handle, received)
    }
}

async fn ingresar(rp: web::Data<RelyingParty>) -> HttpResponse {
    let (state, nonce) = (random(), random());
    let verifier = format!("{}{}", random(), random());
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&verifier));
    let mut url = url::Url::parse(&rp.authorize).expect("authorization endpoint");
    url.query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid run name")
        .append_pair("redirect_uri", &rp.callback)
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    rp.pending
        .lock()
        .expect("pending")
        .insert(state, (verifier, nonce));
    HttpResponse::SeeOther()
        .insert_header(("location", url.as_str()))
        .finish()
}

async fn callback_page(
    rp: web::Data<RelyingParty>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let pending = query
        .get("state")
        .and_then(|state| rp.pending.lock().expect("pending").remove(state));
    let (Some((verifier, nonce)), Some(code)) = (pending, query.get("code")) else {
        return HttpResponse::BadRequest().body("unknown state or no code");
    };
    let login = Login {
        code: code.clone(),
        verifier,
        nonce,
    };
    rp.logins.send(login).expect("the test is waiting");
    page(r#"<p id="estado">Código recibido</p><a href="/constancia">Descargar constancia</a>"#)
}

async fn constancia() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((
            "content-disposition",
            "attachment; filename=\"constancia-prueba.pdf\"",
        ))
        .body(CONSTANCIA)
}

fn page(body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("content-security-policy", "default-src 'none'"))
        .body(format!(
            "<!doctype html><html lang=\"es\"><head><meta charset=\"utf-8\"><title>Prueba</title></head><body>{body}</body></html>"
        ))
}

/// 122 random bits as 32 characters a URL and a PKCE verifier take as they are.
fn random() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// A client that trusts the CA certificates in `ca` and no other (`None`: no CA at all, for
/// plain HTTP), and does not follow redirects.
fn http_client(ca: Option<&Path>) -> reqwest::Client {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(ca) = ca {
        for cert in CertificateDer::pem_file_iter(ca).expect("CA file") {
            roots.add(cert.expect("CA certificate")).expect("a CA");
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(siis::tls::provider())
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The node's development PKI (`siis pki dev`) in `dir`: `server.pem` is for `localhost`,
/// the provider's default host.
fn dev_pki(dir: &Path) -> PathBuf {
    siis::pki::dev(dir, &[]).expect("test PKI");
    dir.to_owned()
}

/// The certificate and key a provider serves HTTPS with ([`ProviderOptions::tls`]).
fn served_with(pki: &Path) -> (PathBuf, PathBuf) {
    (pki.join(SERVER_CERT), pki.join(SERVER_KEY))
}

/// An error and its causes, for an assertion on why a request failed.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    http.get(url)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON")
}

/// A JWT's claims, unverified (the console verifies signatures; this checks the provider).
fn jwt_claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

//! Headless Chromium through chromedriver (WebDriver, fantoccini), with helpers that wait for
//! what they look for and say where the browser was when they fail.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde_json::json;
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::process::ProcessGroup;

/// How long a helper waits for what it looks for.
const WAIT: Duration = Duration::from_secs(10);
/// How often it looks again.
const POLL: Duration = Duration::from_millis(100);

/// One browser at a time in the test binary (~400 MB each; the suite runs on two cores).
static TURN: Semaphore = Semaphore::const_new(1);
/// How long a browser waits for its turn: other tests' browsers take 1-5 s each, and a test
/// that starts a second browser while it holds one would otherwise wait forever.
const TURN_WAIT: Duration = Duration::from_secs(300);

/// Chromium's flags: headless, no sandbox (CI runs as root), no GPU, shared memory in files
/// (`/dev/shm` can be small in containers), and nothing that reaches the Internet on its own.
const FLAGS: &[&str] = &[
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// How a browser is started; `BrowserOptions::default()` is what [`Browser::start`] uses.
#[derive(Debug, Clone)]
pub struct BrowserOptions {
    /// Keys whose certificates Chromium accepts without knowing their CA: base64 SHA-256 of a
    /// certificate's SubjectPublicKeyInfo ([`spki_pin`]), e.g. a test node's server
    /// certificate. Any other certificate it cannot verify is refused, as in production.
    pub spki_pins: Vec<String>,
    /// The window's size in pixels (screenshots are this size).
    pub window: (u32, u32),
}

impl Default for BrowserOptions {
    fn default() -> BrowserOptions {
        BrowserOptions {
            spki_pins: Vec::new(),
            window: (1280, 900),
        }
    }
}

/// The pin of the key of the first certificate in a PEM file, for
/// [`BrowserOptions::spki_pins`] (Chromium's `--ignore-certificate-errors-spki-list`).
pub fn spki_pin(cert_pem: &Path) -> String {
    let cert = CertificateDer::pem_file_iter(cert_pem)
        .expect("certificate file")
        .next()
        .expect("a certificate in the file")
        .expect("a readable certificate");
    let (_, parsed) = x509_parser::parse_x509_certificate(&cert).expect("X.509 certificate");
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(parsed.public_key().raw))
}

/// A headless Chromium session. Dropping it kills chromedriver and every Chromium process;
/// its profile and downloads are in a temporary folder of its own.
pub struct Browser {
    client: Client,
    _driver: ProcessGroup,
    /// Profile, downloads and Chromium's temporary files (`TMPDIR`).
    dir: TempDir,
    _turn: SemaphorePermit<'static>,
}

impl Browser {
    pub async fn start() -> Browser {
        Self::start_with(BrowserOptions::default()).await
    }

    pub async fn start_with(options: BrowserOptions) -> Browser {
        let (chromium, chromedriver) = match (super::chromium(), super::chromedriver()) {
            (Ok(chromium), Ok(chromedriver)) => (chromium, chromedriver),
            (Err(why), _) | (_, Err(why)) => panic!("{why} (see navegador::needs)"),
        };
        let Ok(Ok(turn)) = tokio::time::timeout(TURN_WAIT, TURN.acquire()).await else {
            panic!("no browser turn within {TURN_WAIT:?}: does this test already hold a Browser?");
        };
        let dir = TempDir::new().expect("browser folder");
        for sub in ["profile", "downloads", "tmp"] {
            std::fs::create_dir(dir.path().join(sub)).expect("browser folder");
        }
        let (driver, port) = start_driver(&chromedriver, &dir.path().join("tmp")).await;
        let webdriver = format!("http://127.0.0.1:{port}");

        let mut args: Vec<String> = FLAGS.iter().map(|f| (*f).to_owned()).collect();
        args.push(format!(
            "--user-data-dir={}",
            dir.path().join("profile").display()
        ));
        args.push(format!(
            "--window-size={},{}",
            options.window.0, options.window.1
        ));
        if !options.spki_pins.is_empty() {
            args.push(format!(
                "--ignore-certificate-errors-spki-list={}",
                options.spki_pins.join(",")
            ));
        }
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": args,
                "prefs": {
                    "download.default_directory": dir.path().join("downloads"),
                    "download.prompt_for_download": false,
                    "plugins.always_open_pdf_externally": true,
                    "intl.accept_languages": "es-CL,es",
                },
            },
            "timeouts": { "pageLoad": 30_000, "script": 10_000 },
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("an object")
        };
        let client = ClientBuilder::rustls()
            .expect("WebDriver client")
            .capabilities(capabilities)
            .connect(&webdriver)
            .await
            .expect("a Chromium session through chromedriver");
        Browser {
            client,
            _driver: driver,
            dir,
            _turn: turn,
        }
    }

    /// The fantoccini client, for what the helpers do not do.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Loads `url` and waits for its load event.
    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.client.goto(url).await {
            panic!("cannot load {url}: {e}; {}", self.whereabouts().await);
        }
    }

    pub async fn current_url(&self) -> url::Url {
        self.client.current_url().await.expect("current URL")
    }

    /// Waits until the address starts with `prefix` (after a redirect or a form), and returns it.
    pub async fn wait_for_url(&self, prefix: &str) -> url::Url {
        let started = Instant::now();
        loop {
            let url = self.current_url().await;
            if url.as_str().starts_with(prefix) {
                return url;
            }
            if started.elapsed() > WAIT {
                panic!(
                    "the browser never reached {prefix}; {}",
                    self.whereabouts().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Types `text` into a field, found by its label's text (`RUN`), else by a CSS selector
    /// (`#run`, `input[name=run]`), replacing what it held.
    pub async fn fill(&self, field: &str, text: &str) {
        let element = self.find(field, Self::by_label).await;
        element.clear().await.expect("clear the field");
        element.send_keys(text).await.expect("type into the field");
    }

    /// Clicks a button or link, found by its text (`Autenticar`), else by a CSS selector.
    pub async fn click(&self, target: &str) {
        let element = self.find(target, Self::by_text).await;
        if let Err(e) = element.click().await {
            panic!("cannot click {target:?}: {e}; {}", self.whereabouts().await);
        }
    }

    /// The visible text of the first element matching `css`, once there is one.
    pub async fn text_of(&self, css: &str) -> String {
        self.wait_for(css).await.text().await.expect("element text")
    }

    /// The first element matching `css`, once there is one.
    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(POLL)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "no {css:?} within {WAIT:?} ({e}); {}",
                self.whereabouts().await
            ),
        }
    }

    /// Waits for a finished download whose path satisfies `wanted` (Chromium names a file
    /// `*.crdownload` until it is whole), and returns its path.
    pub async fn downloaded(&self, wanted: impl Fn(&Path) -> bool, timeout: Duration) -> PathBuf {
        let folder = self.dir.path().join("downloads");
        let started = Instant::now();
        loop {
            let found = std::fs::read_dir(&folder)
                .expect("downloads folder")
                .map(|entry| entry.expect("downloads entry").path())
                .find(|path| {
                    path.extension().is_none_or(|e| e != "crdownload")
                        && path.is_file()
                        && wanted(path)
                });
            if let Some(path) = found {
                return path;
            }
            if started.elapsed() > timeout {
                let names: Vec<_> = std::fs::read_dir(&folder)
                    .expect("downloads folder")
                    .map(|entry| entry.expect("downloads entry").file_name())
                    .collect();
                panic!(
                    "no download as wanted within {timeout:?}; the folder holds {names:?}; {}",
                    self.whereabouts().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Saves a PNG of the window (for the README, or to see why a test failed).
    pub async fn screenshot(&self, path: &Path) {
        let png = self.client.screenshot().await.expect("screenshot");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("screenshot folder");
        }
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Ends the session (dropping the browser kills it instead).
    pub async fn close(self) {
        self.client
            .clone()
            .close()
            .await
            .expect("close the session");
    }

    /// Looks for `what` until [`WAIT`]: first as `primary` understands it, then as CSS.
    async fn find(&self, what: &str, primary: fn(&str) -> String) -> Element {
        let xpath = primary(what);
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client.find(Locator::XPath(&xpath)).await {
                return element;
            }
            // Text that is no CSS selector is an error here, not a failure: keep looking.
            if let Ok(element) = self.client.find(Locator::Css(what)).await {
                return element;
            }
            if started.elapsed() > WAIT {
                panic!(
                    "nothing matches {what:?} (as {xpath} or as CSS) within {WAIT:?}; {}",
                    self.whereabouts().await
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The field a `<label>` with this text names (`for`), or holds.
    fn by_label(text: &str) -> String {
        let text = xpath_literal(text);
        format!(
            "(//*[@id=//label[normalize-space()={text}]/@for] \
             | //label[normalize-space()={text}]//*[self::input or self::textarea or self::select])[1]"
        )
    }

    /// A button or link with this text (or a submit input with this value).
    fn by_text(text: &str) -> String {
        let text = xpath_literal(text);
        format!(
            "(//button[normalize-space()={text}] | //a[normalize-space()={text}] \
             | //input[(@type='submit' or @type='button') and @value={text}])[1]"
        )
    }

    /// Where the browser is, for a failure's message.
    async fn whereabouts(&self) -> String {
        let url = self.client.current_url().await.map(String::from);
        let title = self.client.title().await;
        let body = match self.client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let body: String = body.chars().take(500).collect();
        format!("the browser is at {url:?}, title {title:?}, showing {body:?}")
    }
}

/// `text` as an XPath 1.0 string literal (which has no escapes: `concat` joins the quotes).
fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        return format!("'{text}'");
    }
    if !text.contains('"') {
        return format!("\"{text}\"");
    }
    let parts: Vec<String> = text.split('\'').map(|p| format!("'{p}'")).collect();
    format!("concat({})", parts.join(", \"'\", "))
}

/// How many times chromedriver is started when the port it picked is taken on one of
/// loopback's addresses (IPv4 and IPv6) by the time it binds the other.
const DRIVER_TRIES: usize = 3;

/// Starts chromedriver on a port it picks and binds itself (`--port=0`: no free port is
/// chosen here and then raced for by another process), and answers its port once it listens.
async fn start_driver(chromedriver: &Path, tmp: &Path) -> (ProcessGroup, u16) {
    let mut said = String::new();
    for _ in 0..DRIVER_TRIES {
        let mut command = Command::new(chromedriver);
        command
            .arg("--port=0")
            .env("TMPDIR", tmp)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut driver = ProcessGroup::spawn(&mut command).expect("start chromedriver");
        let stdout = driver.leader().stdout.take().expect("stdout");
        let (ready, port) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut said = String::new();
            let mut line = String::new();
            while stdout.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Some(port) = driver_port(&line) {
                    let _ = ready.send(Ok(port));
                    // Read on so chromedriver never blocks on a full pipe.
                    let _ = std::io::copy(&mut stdout, &mut std::io::sink());
                    return;
                }
                said.push_str(&line);
                line.clear();
            }
            let _ = ready.send(Err(said));
        });
        match tokio::time::timeout(WAIT, port).await {
            Ok(Ok(Ok(port))) => return (driver, port),
            Ok(Ok(Err(output))) if output.contains("port not available") => said = output,
            Ok(Ok(Err(output))) => panic!("chromedriver stopped before it listened: {output}"),
            Ok(Err(_)) => panic!("chromedriver's output could not be read"),
            Err(_) => panic!("chromedriver did not listen within {WAIT:?}"),
        }
    }
    panic!("chromedriver found no port in {DRIVER_TRIES} tries; it said: {said}");
}

/// The port in chromedriver's `ChromeDriver was started successfully on port 41703.`
fn driver_port(line: &str) -> Option<u16> {
    line.trim_end()
        .strip_prefix("ChromeDriver was started successfully on port ")?
        .trim_end_matches('.')
        .parse()
        .ok()
}

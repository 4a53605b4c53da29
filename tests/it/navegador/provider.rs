//! The test provider (`tests/oidc-op/server.js`): Clave Única's login, tokens and userinfo on
//! oidc-provider, one process per test on a port of its own.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::process::ProcessGroup;

/// How long the provider may take to listen (0.4-1.2 s when idle; more on a loaded machine).
const READY: Duration = Duration::from_secs(30);

/// Starts of the provider tried before a test gives up. Now and then (twice in clean CI runs
/// on 2026-12-06, each time one test of four) a `node server.js` never says it listens, not
/// even after 90 s, while the same test passes in seconds when run again: the provider is the
/// test's tool, not what it tests, so a start that hangs is killed and tried again, and the
/// panic of the last one keeps each attempt's output and the process's kernel state.
const STARTS: u32 = 3;

/// The folder of `server.js` and its `node_modules`.
pub fn dir() -> PathBuf {
    crate::support::repo_path("tests/oidc-op")
}

/// A provider's settings; [`ProviderOptions::new`] has the defaults.
#[derive(Debug, Clone)]
pub struct ProviderOptions {
    pub client_id: String,
    pub client_secret: String,
    /// Where it may send the browser back with a code (exact match).
    pub redirect_uris: Vec<String>,
    /// Where its logouts may send the browser (`end_session`, and Clave Única's
    /// `/api/v1/accounts/app/logout?redirect=`).
    pub post_logout_redirect_uris: Vec<String>,
    /// The issuer's host name (it listens on 127.0.0.1 whatever the name). The default,
    /// `localhost`, makes it another site than a node on `127.0.0.1`, as Clave Única is for a
    /// node, so that a session cookie with `SameSite=Strict` fails as it would in production.
    pub host: String,
    /// Accounts by RUN (a JSON file; the format is in `server.js`). With one, only its RUNs
    /// sign in; without, any RUN whose check digit is right, with a name made from the RUN
    /// unless one is typed at the login page.
    pub accounts: Option<PathBuf>,
    /// A certificate chain and its key (PEM files) to serve HTTPS with: the issuer is then
    /// `https://HOST:PORT`, and the certificate must be valid for [`host`](Self::host), as a
    /// node's development `server.pem` is for `localhost`. `None`: plain HTTP.
    pub tls: Option<(PathBuf, PathBuf)>,
}

impl ProviderOptions {
    pub fn new(client_id: &str, client_secret: &str, redirect_uris: &[&str]) -> ProviderOptions {
        ProviderOptions {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            redirect_uris: redirect_uris.iter().map(|u| (*u).to_owned()).collect(),
            post_logout_redirect_uris: Vec::new(),
            host: "localhost".to_owned(),
            accounts: None,
            tls: None,
        }
    }
}

/// A running provider; dropping it stops it.
pub struct Provider {
    issuer: String,
    log: Arc<Mutex<String>>,
    _process: ProcessGroup,
}

impl Provider {
    /// A provider with one client, on a free port (see [`ProviderOptions`] for the rest).
    pub async fn start(client_id: &str, client_secret: &str, redirect_uris: &[&str]) -> Provider {
        Self::start_with(ProviderOptions::new(
            client_id,
            client_secret,
            redirect_uris,
        ))
        .await
    }

    pub async fn start_with(options: ProviderOptions) -> Provider {
        let mut failures = Vec::new();
        for attempt in 1..=STARTS {
            match Self::try_start(&options).await {
                Ok(provider) => return provider,
                Err(failure) => {
                    eprintln!("test provider, start {attempt} of {STARTS}: {failure}");
                    failures.push(failure);
                }
            }
        }
        panic!(
            "the test provider did not start: {}",
            failures.join("\n---\n")
        );
    }

    async fn try_start(options: &ProviderOptions) -> Result<Provider, String> {
        let mut command = Command::new("node");
        command
            .current_dir(dir())
            .arg("server.js")
            .args(["--port", "0", "--host", &options.host])
            .args(["--client-id", &options.client_id])
            .args(["--client-secret", &options.client_secret])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for uri in &options.redirect_uris {
            command.args(["--redirect-uri", uri]);
        }
        for uri in &options.post_logout_redirect_uris {
            command.args(["--post-logout-redirect-uri", uri]);
        }
        if let Some(accounts) = &options.accounts {
            command.arg("--accounts").arg(accounts);
        }
        if let Some((cert, key)) = &options.tls {
            command.arg("--tls-cert").arg(cert);
            command.arg("--tls-key").arg(key);
        }
        let mut process = ProcessGroup::spawn(&mut command).expect("start node tests/oidc-op");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = process.leader().stderr.take().expect("stderr");
        let stderr = std::thread::spawn({
            let log = log.clone();
            move || keep(stderr, &log)
        });
        let mut stdout = BufReader::new(process.leader().stdout.take().expect("stdout"));
        let (ready, issuer) = tokio::sync::oneshot::channel();
        std::thread::spawn({
            let log = log.clone();
            move || {
                let mut line = String::new();
                while stdout.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if let Some(issuer) = line.trim_end().strip_prefix("listening ") {
                        let _ = ready.send(issuer.to_owned());
                        break;
                    }
                    line.clear();
                }
                keep(stdout, &log);
            }
        });
        let waited = tokio::time::timeout(READY, issuer).await;
        let Ok(Ok(issuer)) = waited else {
            // Said apart: a provider that exited (and how) from one that never said it listens.
            let pid = process.leader().id();
            let how = match (&waited, process.leader().try_wait()) {
                (_, Ok(Some(status))) => format!("exited ({status})"),
                (Ok(Err(_)), _) => "closed its output without listening".to_owned(),
                _ => format!("did not listen within {READY:?} ({})", kernel_state(pid)),
            };
            process.kill();
            let _ = stderr.join();
            let log = log.lock().expect("log").clone();
            return Err(format!("it {how}; its output:\n{log}"));
        };
        Ok(Provider {
            issuer,
            log,
            _process: process,
        })
    }

    /// `https://localhost:PORT` with [`ProviderOptions::tls`], else `http://localhost:PORT`
    /// (the host is [`ProviderOptions::host`]): discovery is at `/.well-known/openid-configuration`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Clave Única's logout: ends the provider's session, then sends the browser to
    /// `redirect` if it is one of the client's post-logout redirect URIs, or shows
    /// "Sesión cerrada" (`#logged-out`).
    pub fn logout_url(&self, redirect: Option<&str>) -> String {
        let mut url = url::Url::parse(&self.issuer).expect("issuer");
        url.set_path("/api/v1/accounts/app/logout");
        if let Some(redirect) = redirect {
            url.query_pairs_mut().append_pair("redirect", redirect);
        }
        url.into()
    }

    /// What the provider wrote to stdout and stderr so far (for a failing test's message).
    pub fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }
}

/// Reads a pipe to its end so the provider never blocks on it, keeping the first 64 KiB.
fn keep(mut pipe: impl Read, log: &Mutex<String>) {
    let mut buf = [0u8; 4096];
    while let Ok(n @ 1..) = pipe.read(&mut buf) {
        let mut log = log.lock().expect("log");
        if log.len() < 64 * 1024 {
            log.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
}

/// What the kernel says a process is doing: its state and the call it waits in.
fn kernel_state(pid: u32) -> String {
    let read =
        |what: &str| std::fs::read_to_string(format!("/proc/{pid}/{what}")).unwrap_or_default();
    let status = read("status");
    let state = status
        .lines()
        .find(|l| l.starts_with("State:"))
        .unwrap_or("State: ?")
        .to_owned();
    format!("{state}, wchan {}", read("wchan").trim())
}

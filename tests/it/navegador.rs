//! Browser tests' harness: a real OpenID provider standing in for Clave Única
//! ([`Provider`]: `tests/oidc-op/server.js`, oidc-provider on Node.js) and a real headless
//! Chromium driven through chromedriver ([`Browser`]: WebDriver, fantoccini).
//!
//! A test says what it needs first, and goes on only when it is here:
//!
//! ```ignore
//! if !navegador::needs(&[Tool::Browser, Tool::Provider]) {
//!     return;
//! }
//! let provider = Provider::start("siis-consola", "secreto", &[&callback]).await;
//! let browser = Browser::start().await;
//! browser.goto(&login).await;
//! browser.fill("RUN", "44.444.444-4").await;
//! browser.click("Autenticar").await;
//! ```
//!
//! A provider on HTTPS ([`ProviderOptions::tls`], e.g. with the `server.pem` of `siis pki dev`,
//! valid for `localhost`) is trusted by a client through that PKI's `ca.pem` and by the browser
//! through the certificate's pin ([`BrowserOptions::spki_pins`], [`spki_pin`]).
//!
//! With `SIIS_TEST_BROWSER=1` (as `.ci/run` sets it) a missing tool fails the test, naming it;
//! without it the test says why on stderr and passes without running. Browsers take turns (one
//! at a time in the whole test binary: each holds ~400 MB). Every process a helper starts is in
//! a process group of its own, killed whole when its handle is dropped, a panic included.

mod browser;
pub mod process;
mod provider;
mod tests;

use std::path::PathBuf;
use std::sync::OnceLock;

pub use browser::{Browser, BrowserOptions, spki_pin};
pub use provider::{Provider, ProviderOptions};

/// What a browser test needs beyond cargo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// Chromium and chromedriver (Debian: `chromium chromium-driver`).
    Browser,
    /// Node.js 20.18 or newer, and `npm ci` done in `tests/oidc-op`.
    Provider,
}

/// Whether everything in `tools` is here. When something is missing: with `SIIS_TEST_BROWSER`
/// set (to anything but `0` or nothing) it panics naming it and how to install it; otherwise it
/// says so on stderr and answers `false`, and the test returns without running.
pub fn needs(tools: &[Tool]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .flat_map(|tool| match tool {
            Tool::Browser => browser_missing(),
            Tool::Provider => provider_missing(),
        })
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return true;
    }
    let missing = missing.join("; ");
    if required() {
        panic!("SIIS_TEST_BROWSER is set, but this browser test cannot run: {missing}");
    }
    eprintln!("NOTICE: a browser test did not run (SIIS_TEST_BROWSER=1 makes it fail): {missing}");
    false
}

/// Whether browser tests must run (`SIIS_TEST_BROWSER`, set by `.ci/run`).
fn required() -> bool {
    std::env::var("SIIS_TEST_BROWSER").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A program named by the environment variable `var` when it is set, else `name` on `PATH`;
/// or why it is not there, with `install` (how to get it).
fn program(var: &str, name: &str, install: &str) -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os(var).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        return Err(format!(
            "{var} names {}, which is not a file",
            path.display()
        ));
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join(name))
        .find(|path| path.is_file())
        .ok_or_else(|| format!("{name} is not on PATH ({install}; or set {var})"))
}

/// Chromium (`SIIS_TEST_CHROMIUM`, else `chromium` on `PATH`).
fn chromium() -> Result<PathBuf, String> {
    program("SIIS_TEST_CHROMIUM", "chromium", "apt-get install chromium")
}

/// chromedriver (`SIIS_TEST_CHROMEDRIVER`, else `chromedriver` on `PATH`).
fn chromedriver() -> Result<PathBuf, String> {
    program(
        "SIIS_TEST_CHROMEDRIVER",
        "chromedriver",
        "apt-get install chromium-driver",
    )
}

fn browser_missing() -> &'static [String] {
    static MISSING: OnceLock<Vec<String>> = OnceLock::new();
    MISSING.get_or_init(|| {
        [chromium(), chromedriver()]
            .into_iter()
            .filter_map(Result::err)
            .collect()
    })
}

/// The oldest Node.js that runs oidc-provider 9 (`URL.parse`, Node 20.18).
const NODE_MIN: (u32, u32) = (20, 18);

fn provider_missing() -> &'static [String] {
    static MISSING: OnceLock<Vec<String>> = OnceLock::new();
    MISSING.get_or_init(|| {
        let mut missing = Vec::new();
        let version = std::process::Command::new("node")
            .arg("--version")
            .output()
            .ok()
            .filter(|out| out.status.success())
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned());
        match version {
            None => missing.push("node is not on PATH (Node.js 20.18 or newer)".to_owned()),
            Some(v) if node_version(&v).is_none_or(|found| found < NODE_MIN) => {
                missing.push(format!("node is {v}; the provider needs 20.18 or newer"));
            }
            Some(_) => {}
        }
        if !provider::dir().join("node_modules/oidc-provider").is_dir() {
            missing.push(format!(
                "oidc-provider is not installed (cd {} && npm ci)",
                provider::dir().display()
            ));
        }
        missing
    })
}

/// `v20.20.2` → `(20, 20)`.
fn node_version(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.strip_prefix('v')?.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

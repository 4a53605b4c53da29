//! Who a certificate is: an agreement can bind the CA that issued it (besides its name and
//! key), `siis convenios check` warns about a name bound alone, `serve` refuses to hold a CA's
//! private key, and private keys stay readable by their owner only.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use siis::domain::ConvenioId;
use tempfile::TempDir;

use super::Started;
use crate::per_backend;
use crate::support::{convenios_with, make_pki, repo_path};

/// The `[[clients]]` block `siis pki dev` wrote for `id` in `pki/pins.toml`.
fn pinned_block(pki: &Path, id: &str) -> String {
    let pins = std::fs::read_to_string(pki.join("pins.toml")).unwrap();
    let start = pins
        .find(&format!("# convenios/{id}.toml\n"))
        .unwrap_or_else(|| panic!("no block for {id}: {pins}"));
    let block = &pins[start..];
    let end = block[1..].find("\n# ").map_or(block.len(), |e| e + 1);
    block[..end].to_owned()
}

per_backend!(
    async fn a_convenio_binding_its_ca_refuses_the_same_name_from_another_ca_of_the_bundle(
        backend
    ) {
        let other = TempDir::new().unwrap();
        let other_pki = make_pki(other.path(), &["minvu", "ips"]);
        let node = Started::start(backend, |pki, config| {
            // The bundle trusts a second CA, which issues certificates with the same names.
            let mut bundle = std::fs::read_to_string(pki.join("ca.pem")).unwrap();
            bundle.push_str(&std::fs::read_to_string(other_pki.join("ca.pem")).unwrap());
            std::fs::write(pki.join("ca.pem"), bundle).unwrap();
            // minvu pastes the block `siis pki dev` wrote for it; ips keeps its name alone.
            let minvu = std::fs::read_to_string(repo_path("convenios/minvu.toml"))
                .unwrap()
                .replace("[[clients]]\nsubject_cn = \"minvu\"\n", &pinned_block(pki, "minvu"));
            assert!(minvu.contains("ca_spki_sha256"), "{minvu}");
            let dir = pki.parent().unwrap().join("convenios");
            std::fs::create_dir(&dir).unwrap();
            config.convenios.dir = convenios_with(&dir, &[("minvu.toml", minvu)]);
        })
        .await;
        let ping = |pki: &Path, id: &str| {
            let client = node.client_with(
                &pki.join(format!("clients/{id}.pem")),
                &pki.join(format!("clients/{id}-key.pem")),
            );
            let url = node.agency_url("/api/v1/ping");
            async move { client.get(url).send().await.unwrap() }
        };
        assert_eq!(ping(&node.pki, "minvu").await.status(), 200);
        // Another CA of the bundle: the handshake succeeds, the agreement does not match.
        let foreign = ping(&other_pki, "minvu").await;
        assert_eq!(foreign.status(), 403);
        let body: serde_json::Value = foreign.json().await.unwrap();
        assert_eq!(body["code"], "NO_AUTORIZADO", "{body}");
        // What the binding closes: a name bound alone is taken from any CA of the bundle.
        assert_eq!(ping(&other_pki, "ips").await.status(), 200);
        node.stop().await;
    }
);

per_backend!(
    async fn start_up_tightens_a_private_key_readable_by_others(backend) {
        let node = Started::start(backend, |pki, _| {
            for key in ["server-key.pem", "documentos-key.pem"] {
                let loose = std::fs::Permissions::from_mode(0o644);
                std::fs::set_permissions(pki.join(key), loose).unwrap();
            }
        })
        .await;
        for key in ["server-key.pem", "documentos-key.pem"] {
            let mode = std::fs::metadata(node.pki.join(key)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
        let mode = std::fs::metadata(node.pki.join("server.pem")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "certificates are left alone");
        node.stop().await;
    }
);

fn siis(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_siis"));
    cmd.current_dir(dir)
        .env_clear()
        .env("SIIS__LISTEN__AGENCY", "127.0.0.1:0")
        .env("SIIS__LISTEN__PUBLIC", "127.0.0.1:0")
        .env("SIIS__LISTEN__ADMIN", "127.0.0.1:0")
        .env("SIIS__DATABASE__URL", "sqlite://siis.db")
        .env("SIIS__CONVENIOS__DIR", repo_path("convenios"))
        .env(
            "SIIS__ELEGIBILIDAD__REGLAS",
            repo_path("conf/elegibilidad.toml"),
        )
        .env("SIIS__ENCUESTA__MODELOS", repo_path("conf/modelos"))
        .env("SIIS__TLS__DIR", "pki")
        .stdin(Stdio::null());
    cmd
}

/// The lines of a child's standard error, as they come.
fn lines(child: &mut std::process::Child) -> Receiver<String> {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    rx
}

fn wait_for(rx: &Receiver<String>, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| panic!("no line with {needle:?}"));
        if line.contains(needle) {
            return line;
        }
    }
}

/// A handshake with `id`'s certificate and a ping; `None` when the handshake fails.
fn blocking_ping(pki: &Path, id: &str, agency: &str) -> Option<u16> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let addr: std::net::SocketAddr = agency.parse().unwrap();
    let client = crate::support::tls_client(
        &pki.join("ca.pem"),
        Some((
            &pki.join(format!("clients/{id}.pem")),
            &pki.join(format!("clients/{id}-key.pem")),
        )),
        &[addr],
    );
    let url = format!("https://localhost:{}/api/v1/ping", addr.port());
    runtime.block_on(async { Some(client.get(url).send().await.ok()?.status().as_u16()) })
}

#[test]
fn serve_refuses_a_tls_folder_holding_the_ca_key_unless_allowed() {
    let dir = TempDir::new().unwrap();
    let ids: Vec<ConvenioId> = ["minvu", "ips"]
        .iter()
        .map(|i| ConvenioId::parse(i).unwrap())
        .collect();
    let pki = dir.path().join("pki");
    siis::pki::dev(&pki, &ids).unwrap();
    let out = siis(dir.path()).arg("serve").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("pki/ca-key.pem"), "{stderr}");
    assert!(stderr.contains("tls.allow_ca_key"), "{stderr}");

    // Allowed explicitly, it serves; SIGHUP then rereads the revocation list.
    siis::pki::revoke_dev(&pki, &[]).unwrap();
    let mut child = siis(dir.path())
        .arg("serve")
        .env("SIIS__TLS__ALLOW_CA_KEY", "true")
        .env("SIIS__TLS__CRL", "pki/crl.pem")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = lines(&mut child);
    let started = wait_for(&rx, "node started");
    let agency = started
        .split("agency=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert_eq!(blocking_ping(&pki, "minvu", &agency), Some(200));
    siis::pki::revoke_dev(&pki, &ids[..1]).unwrap();
    let hup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    assert!(wait_for(&rx, "revocation list reloaded").contains("crl.entries=1"));
    assert_eq!(blocking_ping(&pki, "minvu", &agency), None);
    assert_eq!(blocking_ping(&pki, "ips", &agency), Some(200));

    // A broken list on SIGHUP is refused, and the list in force stays.
    std::fs::write(pki.join("crl.pem"), "roto").unwrap();
    Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(wait_for(&rx, "revocation list not reloaded").contains("crl.pem"));
    assert_eq!(blocking_ping(&pki, "minvu", &agency), None);
    assert_eq!(blocking_ping(&pki, "ips", &agency), Some(200));
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the node did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn convenios_check_warns_about_a_client_named_by_its_cn_alone() {
    let dir = TempDir::new().unwrap();
    let out = siis(dir.path())
        .args(["convenios", "check"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "warnings do not fail the check: {stdout}"
    );
    let warnings: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(": warning: "))
        .collect();
    // Every shipped agreement but the one for persons (which has no client).
    let shipped = std::fs::read_dir(crate::support::repo_path("convenios"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "toml")
        })
        .count();
    assert_eq!(
        warnings.len(),
        shipped - 1,
        "one per shipped agreement: {stdout}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("convenios/minvu.toml:") && w.contains("\"minvu\"")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{} warning(s)", shipped - 1)),
        "{stdout}"
    );

    // Pinned as `siis pki dev` suggests: no warning.
    let pki = make_pki(dir.path(), &["minvu"]);
    let minvu = std::fs::read_to_string(repo_path("convenios/minvu.toml"))
        .unwrap()
        .replace(
            "[[clients]]\nsubject_cn = \"minvu\"\n",
            &pinned_block(&pki, "minvu"),
        );
    let folder = dir.path().join("pinned");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("minvu.toml"), minvu).unwrap();
    let out = siis(dir.path())
        .args(["convenios", "check", "pinned"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(!stdout.contains("warning"), "{stdout}");
}

//! Who a certificate is: an agreement can bind the CA that issued it (besides its name and
//! key), and `siis agreements check` warns about a name bound alone.

use std::path::Path;
use std::process::{Command, Stdio};

use tempfile::TempDir;

use super::Started;
use crate::per_backend;
use crate::support::{agreements_with, make_pki, repo_path};

/// The `[[clients]]` block `siis pki dev` wrote for `id` in `pki/pins.toml`.
fn pinned_block(pki: &Path, id: &str) -> String {
    let pins = std::fs::read_to_string(pki.join("pins.toml")).unwrap();
    let start = pins
        .find(&format!("# agreements/{id}.toml\n"))
        .unwrap_or_else(|| panic!("no block for {id}: {pins}"));
    let block = &pins[start..];
    let end = block[1..].find("\n# ").map_or(block.len(), |e| e + 1);
    block[..end].to_owned()
}

per_backend!(
    async fn an_agreement_binding_its_ca_refuses_the_same_name_from_another_ca_of_the_bundle(
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
            let minvu = std::fs::read_to_string(repo_path("agreements/minvu.toml"))
                .unwrap()
                .replace("[[clients]]\nsubject_cn = \"minvu\"\n", &pinned_block(pki, "minvu"));
            assert!(minvu.contains("ca_spki_sha256"), "{minvu}");
            let dir = pki.parent().unwrap().join("convenios");
            std::fs::create_dir(&dir).unwrap();
            config.agreements.dir = agreements_with(&dir, &[("minvu.toml", minvu)]);
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

fn siis(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_siis"));
    cmd.current_dir(dir)
        .env_clear()
        .env("SIIS__LISTEN__AGENCY", "127.0.0.1:0")
        .env("SIIS__LISTEN__PUBLIC", "127.0.0.1:0")
        .env("SIIS__LISTEN__ADMIN", "127.0.0.1:0")
        .env("SIIS__DATABASE__URL", "sqlite://siis.db")
        .env("SIIS__AGREEMENTS__DIR", repo_path("agreements"))
        .env(
            "SIIS__ELIGIBILITY__RULES",
            repo_path("conf/elegibilidad.toml"),
        )
        .stdin(Stdio::null());
    cmd
}

#[test]
fn agreements_check_warns_about_a_client_named_by_its_cn_alone() {
    let dir = TempDir::new().unwrap();
    let out = siis(dir.path())
        .args(["agreements", "check"])
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
    assert_eq!(warnings.len(), 9, "one per shipped agreement: {stdout}");
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("agreements/minvu.toml:") && w.contains("\"minvu\"")),
        "{stdout}"
    );
    assert!(stdout.contains("9 warning(s)"), "{stdout}");

    // Pinned as `siis pki dev` suggests: no warning.
    let pki = make_pki(dir.path(), &["minvu"]);
    let minvu = std::fs::read_to_string(repo_path("agreements/minvu.toml"))
        .unwrap()
        .replace(
            "[[clients]]\nsubject_cn = \"minvu\"\n",
            &pinned_block(&pki, "minvu"),
        );
    let folder = dir.path().join("pinned");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("minvu.toml"), minvu).unwrap();
    let out = siis(dir.path())
        .args(["agreements", "check", "pinned"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(!stdout.contains("warning"), "{stdout}");
}

//! `siis pki dev`: the development CA, server and client certificates.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use tempfile::TempDir;

#[test]
fn writes_a_ca_server_and_one_client_per_convenio() {
    let dir = TempDir::new().unwrap();
    let convenios = dir.path().join("convenios");
    std::fs::create_dir(&convenios).unwrap();
    for id in ["minvu", "muni-13101"] {
        std::fs::write(convenios.join(format!("{id}.toml")), "").unwrap();
    }
    std::fs::write(convenios.join("README.md"), "not an agreement").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_siis"))
        .current_dir(dir.path())
        .env_clear()
        .args(["pki", "dev", "--out", "pki", "--convenios", "convenios"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pki = dir.path().join("pki");
    for file in [
        "ca.pem",
        "ca-key.pem",
        "server.pem",
        "server-key.pem",
        "clients/minvu.pem",
        "clients/minvu-key.pem",
        "clients/muni-13101.pem",
        "clients/muni-13101-key.pem",
    ] {
        assert!(pki.join(file).is_file(), "{file}");
    }
    assert!(!pki.join("clients/README.pem").exists());
    for key in ["ca-key.pem", "server-key.pem", "clients/minvu-key.pem"] {
        let mode = std::fs::metadata(pki.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{key} must be private, mode {mode:o}");
    }
    // The client certificate names its agreement.
    let pem = std::fs::read_to_string(pki.join("clients/muni-13101.pem")).unwrap();
    let der = rustls_pki_types::CertificateDer::from(pem_body(&pem));
    assert!(der.windows(10).any(|w| w == b"muni-13101"));

    // A second run keeps what exists.
    let ca_before = std::fs::read(pki.join("ca.pem")).unwrap();
    let report = siis::pki::dev(&pki, &siis::pki::convenio_ids(&convenios).unwrap()).unwrap();
    assert!(report.created.is_empty(), "{:?}", report.created);
    assert_eq!(std::fs::read(pki.join("ca.pem")).unwrap(), ca_before);
}

#[test]
fn private_keys_are_owner_only_even_when_they_replace_a_looser_file() {
    let dir = TempDir::new().unwrap();
    let pki = dir.path().join("pki");
    std::fs::create_dir(&pki).unwrap();
    // Left over from an earlier attempt, readable by everyone: no ca.pem or server.pem beside
    // them, so both keys are issued again over these files.
    for key in ["ca-key.pem", "server-key.pem"] {
        std::fs::write(pki.join(key), "old").unwrap();
        std::fs::set_permissions(pki.join(key), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    siis::pki::dev(&pki, &[]).unwrap();
    for key in ["ca-key.pem", "server-key.pem", "documentos-key.pem"] {
        let mode = std::fs::metadata(pki.join(key))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{key}: mode {mode:o}");
    }
}

#[test]
fn pins_of_the_ca_and_of_each_client_are_written_to_paste_into_convenios() {
    let dir = TempDir::new().unwrap();
    let pki = dir.path().join("pki");
    let ids: Vec<_> = ["minvu", "muni-13101"]
        .iter()
        .map(|i| siis::domain::ConvenioId::parse(i).unwrap())
        .collect();
    siis::pki::dev(&pki, &ids).unwrap();
    let spki = |file: &str| {
        let pem = std::fs::read_to_string(pki.join(file)).unwrap();
        let id = siis::tls::ClientIdentity::from_der(&pem_body(&pem)).unwrap();
        hex::encode(id.spki_sha256)
    };
    let text = std::fs::read_to_string(pki.join("pins.toml")).unwrap();
    let pins: toml::Value = toml::from_str(&text).unwrap();
    let ca = spki("ca.pem");
    assert_eq!(pins["ca_spki_sha256"].as_str(), Some(ca.as_str()));
    let clients = pins["clients"].as_array().unwrap();
    assert_eq!(clients.len(), 2);
    for (client, id) in clients.iter().zip(["minvu", "muni-13101"]) {
        assert_eq!(client["subject_cn"].as_str(), Some(id));
        let own = spki(&format!("clients/{id}.pem"));
        assert_eq!(client["spki_sha256"].as_str(), Some(own.as_str()));
        assert_eq!(client["ca_spki_sha256"].as_str(), Some(ca.as_str()));
    }
    assert!(
        text.contains("# convenios/minvu.toml\n[[clients]]\n"),
        "{text}"
    );

    // Unchanged certificates, unchanged file; a certificate issued again, new pins.
    let report = siis::pki::dev(&pki, &ids).unwrap();
    assert!(report.created.is_empty(), "{:?}", report.created);
    std::fs::remove_file(pki.join("clients/minvu.pem")).unwrap();
    let report = siis::pki::dev(&pki, &ids).unwrap();
    assert!(
        report.created.contains(&pki.join("pins.toml")),
        "{:?}",
        report.created
    );
    assert_ne!(
        std::fs::read_to_string(pki.join("pins.toml")).unwrap(),
        text
    );
}

#[test]
fn a_badly_named_convenio_file_is_refused() {
    let dir = TempDir::new().unwrap();
    std::fs::write(dir.path().join("Bad Name.toml"), "").unwrap();
    let err = siis::pki::convenio_ids(dir.path()).unwrap_err();
    assert!(err.to_string().contains("Bad Name.toml"), "{err}");
}

fn pem_body(pem: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

//! Reading the revocation list: what is refused, what reloads, and when a list expires.

use std::fs;
use std::path::Path;

use chrono::{TimeDelta, Utc};

use super::*;
use crate::domain::ConvenioId;

fn ids(names: &[&str]) -> Vec<ConvenioId> {
    names
        .iter()
        .map(|n| ConvenioId::parse(n).unwrap())
        .collect()
}

fn dev_pki(clients: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    pki::dev(dir.path(), &ids(clients)).unwrap();
    dir
}

fn crl_error(dir: &Path, crl: &Path) -> String {
    match load(dir, Some(crl)) {
        Ok(_) => panic!("{} was accepted", crl.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_crl_that_is_not_one_or_not_signed_by_its_ca_is_refused() {
    let dir = dev_pki(&["minvu"]);
    let garbage = dir.path().join("garbage.pem");
    fs::write(&garbage, "not a CRL").unwrap();
    assert!(crl_error(dir.path(), &garbage).contains("garbage.pem"));

    // Another CA with the same name (every development CA has it) signs a list.
    let other = dev_pki(&["minvu"]);
    let forged = pki::revoke_dev(other.path(), &ids(&["minvu"])).unwrap();
    let err = crl_error(dir.path(), &forged);
    assert!(err.contains("not signed by it"), "{err}");

    let good = pki::revoke_dev(dir.path(), &ids(&["minvu"])).unwrap();
    let tls = load(dir.path(), Some(&good)).unwrap();
    let status = tls.trust.status().unwrap();
    assert_eq!((status.entries, status.expired), (1, false));
}

#[test]
fn every_ca_of_the_bundle_needs_its_list() {
    let dir = dev_pki(&["minvu"]);
    let other = dev_pki(&[]);
    let mut bundle = fs::read_to_string(dir.path().join(pki::CA_CERT)).unwrap();
    bundle.push_str(&fs::read_to_string(other.path().join(pki::CA_CERT)).unwrap());
    fs::write(dir.path().join(pki::CA_CERT), &bundle).unwrap();
    let crl = pki::revoke_dev(dir.path(), &[]).unwrap();
    let err = crl_error(dir.path(), &crl);
    assert!(err.contains("no list of the CA"), "{err}");

    // Both lists in one file: accepted.
    let theirs = pki::revoke_dev(other.path(), &[]).unwrap();
    let mut both = fs::read_to_string(&crl).unwrap();
    both.push_str(&fs::read_to_string(theirs).unwrap());
    fs::write(&crl, both).unwrap();
    assert!(load(dir.path(), Some(&crl)).is_ok());
}

#[test]
fn a_list_expires_at_its_next_update_not_only_at_start() {
    let dir = dev_pki(&[]);
    let next = Utc::now() + TimeDelta::hours(1);
    let crl = pki::dev_crl(dir.path(), &[], next).unwrap();
    let trust = load(dir.path(), Some(&crl)).unwrap().trust;
    let at = |t| trust.status_at(t).unwrap().expired;
    assert!(!at(Utc::now()));
    assert!(!at(next - TimeDelta::seconds(2)));
    assert!(at(next + TimeDelta::seconds(1)));

    // An expired list loads (the node then refuses every client), and says so.
    let expired = pki::dev_crl(dir.path(), &[], Utc::now() - TimeDelta::hours(1)).unwrap();
    let trust = load(dir.path(), Some(&expired)).unwrap().trust;
    assert!(trust.status().unwrap().expired);
}

#[test]
fn a_reload_reads_the_file_again_and_a_broken_one_changes_nothing() {
    let dir = dev_pki(&["minvu"]);
    let crl = pki::revoke_dev(dir.path(), &[]).unwrap();
    let trust = load(dir.path(), Some(&crl)).unwrap().trust;
    assert_eq!(trust.status().unwrap().entries, 0);

    pki::revoke_dev(dir.path(), &ids(&["minvu"])).unwrap();
    let pending = trust.read_crl().unwrap().unwrap();
    assert_eq!(
        trust.status().unwrap().entries,
        0,
        "not in force before install"
    );
    assert_eq!(trust.install(pending).unwrap().entries, 1);

    fs::write(
        &crl,
        "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n",
    )
    .unwrap();
    assert!(trust.read_crl().is_err());
    assert_eq!(trust.status().unwrap().entries, 1);

    // Without tls.crl there is nothing to read.
    let none = load(dir.path(), None).unwrap().trust;
    assert!(none.read_crl().unwrap().is_none());
    assert!(none.status().is_none());
}

#[test]
fn a_connection_identity_is_checked_against_the_list_in_force() {
    let dir = dev_pki(&["minvu", "ips"]);
    let crl = pki::revoke_dev(dir.path(), &[]).unwrap();
    let trust = load(dir.path(), Some(&crl)).unwrap().trust;
    let identity = |id: &str| {
        let chain = read_certs(&pki::client_cert_path(dir.path(), &ids(&[id])[0])).unwrap();
        trust.identify(&chain).unwrap()
    };
    let (minvu, ips) = (identity("minvu"), identity("ips"));
    let ca_pem = read_certs(&dir.path().join(pki::CA_CERT)).unwrap();
    let ca = crate::tls::ClientIdentity::from_der(&ca_pem[0])
        .unwrap()
        .spki_sha256;
    assert_eq!(minvu.ca_spki_sha256, Some(ca));
    assert!(minvu.check_revocation().is_ok());

    pki::revoke_dev(dir.path(), &ids(&["minvu"])).unwrap();
    trust.install(trust.read_crl().unwrap().unwrap());
    let refused = minvu.check_revocation().unwrap_err();
    assert_eq!(
        (refused.code.as_str(), refused.status()),
        ("CERTIFICADO_REVOCADO", 403)
    );
    assert_eq!(refused.estado_sobre(), ("01", true));
    assert!(ips.check_revocation().is_ok());
    // A new connection of the same chain reads its path from memory: the same CA, the same
    // verdict.
    let again = identity("minvu");
    assert_eq!(again.ca_spki_sha256, Some(ca));
    assert_eq!(
        again.check_revocation().unwrap_err().code,
        "CERTIFICADO_REVOCADO"
    );

    let expired = Utc::now() - TimeDelta::minutes(1);
    pki::dev_crl(dir.path(), &[], expired).unwrap();
    trust.install(trust.read_crl().unwrap().unwrap());
    let refused = ips.check_revocation().unwrap_err();
    assert_eq!(
        (refused.code.as_str(), refused.status()),
        ("REVOCACION_VENCIDA", 503)
    );
    assert_eq!(refused.estado_sobre(), ("01", true));
}

//! Finding the agreement of a certificate, and validity dates.

use super::*;

fn identity(cn: Option<&str>, pin: u8) -> ClientIdentity {
    ClientIdentity {
        subject_cn: cn.map(str::to_owned),
        spki_sha256: [pin; 32],
        cert_sha256: [0xEE; 32],
        ca_spki_sha256: None,
        revocation: None,
    }
}

#[test]
fn find_matches_by_subject_by_pin_and_by_both() {
    let pin = |b: u8| hex::encode([b; 32]);
    let by_pin = good("porpin").replace(
        "subject_cn = \"porpin\"",
        &format!("spki_sha256 = \"{}\"", pin(1)),
    );
    let by_both = good("ambos").replace(
        "subject_cn = \"ambos\"",
        &format!("subject_cn = \"ambos\"\nspki_sha256 = \"{}\"", pin(2)),
    );
    let dir = write_all(&[
        ("porcn.toml", &good("porcn")),
        ("porpin.toml", &by_pin),
        ("ambos.toml", &by_both),
    ]);
    let set = AgreementSet::load_dir(dir.path()).unwrap();
    let found = |cn: Option<&str>, p: u8| set.find(&identity(cn, p)).map(|a| a.id.to_string());

    assert_eq!(found(Some("porcn"), 9).as_deref(), Some("porcn"));
    assert_eq!(found(None, 1).as_deref(), Some("porpin"));
    assert_eq!(found(Some("cualquiera"), 1).as_deref(), Some("porpin"));
    assert_eq!(found(Some("ambos"), 2).as_deref(), Some("ambos"));
    // Both criteria are required when both are given.
    assert_eq!(found(Some("ambos"), 3), None);
    assert_eq!(found(Some("otro"), 2), None);
    assert_eq!(found(None, 2), None);
    // Nothing matches: refused.
    assert_eq!(found(Some("desconocido"), 9), None);
    assert_eq!(found(None, 9), None);
    // Matching two agreements (subject of one, pin of another): refused, not guessed.
    assert_eq!(found(Some("porcn"), 1), None);
}

#[test]
fn find_works_from_a_real_certificate() {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "cualquiera");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let id = ClientIdentity::from_der(cert.der()).unwrap();
    let text = good("pinned").replace(
        "subject_cn = \"pinned\"",
        &format!("spki_sha256 = \"{}\"", hex::encode(id.spki_sha256)),
    );
    let set = AgreementSet::load_dir(
        write_all(&[("pinned.toml", &text), ("otro.toml", &good("otro"))]).path(),
    )
    .unwrap();
    assert_eq!(set.find(&id).unwrap().id.as_str(), "pinned");
}

#[test]
fn in_force_from_the_first_day_to_the_last_inclusive() {
    let g = good("demo")
        .replace("2026-01-01", "2026-03-01")
        .replace("2028-12-31", "2027-02-28");
    let set = AgreementSet::load_dir(write_all(&[("demo.toml", &g)]).path()).unwrap();
    let a = set.get(&AgreementId::parse("demo").unwrap()).unwrap();
    assert!(!a.is_in_force(date(2026, 2, 28)));
    assert!(a.is_in_force(date(2026, 3, 1)));
    assert!(a.is_in_force(date(2026, 11, 28)));
    assert!(a.is_in_force(date(2027, 2, 28)));
    assert!(!a.is_in_force(date(2027, 3, 1)));
}

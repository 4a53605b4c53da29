//! Finding the agreement of a certificate, and validity dates.

use super::*;

fn identity(cn: Option<&str>, pin: u8) -> ClientIdentity {
    issued_by(cn, pin, None)
}

fn issued_by(cn: Option<&str>, pin: u8, ca: Option<u8>) -> ClientIdentity {
    ClientIdentity {
        subject_cn: cn.map(str::to_owned),
        spki_sha256: [pin; 32],
        cert_sha256: [0xEE; 32],
        ca_spki_sha256: ca.map(|b| [b; 32]),
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
    let set = ConvenioSet::load_dir(dir.path()).unwrap();
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
fn a_bound_ca_must_be_the_one_the_chain_leads_to() {
    let ca = |b: u8| hex::encode([b; 32]);
    let cn_and_ca = good("conca").replace(
        "subject_cn = \"conca\"",
        &format!("subject_cn = \"conca\"\nca_spki_sha256 = \"{}\"", ca(7)),
    );
    let all_three = good("tres").replace(
        "subject_cn = \"tres\"",
        &format!(
            "subject_cn = \"tres\"\nspki_sha256 = \"{}\"\nca_spki_sha256 = \"{}\"",
            hex::encode([3; 32]),
            ca(7)
        ),
    );
    let dir = write_all(&[("conca.toml", &cn_and_ca), ("tres.toml", &all_three)]);
    let set = ConvenioSet::load_dir(dir.path()).unwrap();
    assert!(set.warnings().is_empty(), "{:?}", set.warnings());
    let found = |cn: &str, pin: u8, ca: Option<u8>| {
        set.find(&issued_by(Some(cn), pin, ca))
            .map(|a| a.id.to_string())
    };
    assert_eq!(found("conca", 1, Some(7)).as_deref(), Some("conca"));
    // The same name from another CA, or from a CA the node could not tell: refused.
    assert_eq!(found("conca", 1, Some(8)), None);
    assert_eq!(found("conca", 1, None), None);
    // All three given: all three must match.
    assert_eq!(found("tres", 3, Some(7)).as_deref(), Some("tres"));
    assert_eq!(found("tres", 3, Some(8)), None);
    assert_eq!(found("tres", 4, Some(7)), None);
    assert_eq!(found("otro", 3, Some(7)), None);
}

#[test]
fn a_client_named_by_its_cn_alone_loads_with_a_warning_on_its_line() {
    let g = good("solo");
    let dir = write_all(&[("solo.toml", &g)]);
    let set = ConvenioSet::load_dir(dir.path()).unwrap();
    let warnings = set.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].line, Some(line_of(&g, "subject_cn")));
    assert!(
        warnings[0].to_string().contains("solo.toml"),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].message.starts_with("warning: "),
        "{}",
        warnings[0]
    );
    assert!(
        warnings[0].message.contains("ca_spki_sha256"),
        "{}",
        warnings[0]
    );
    // A pin, of the client or of its CA, silences it.
    for key in ["spki_sha256", "ca_spki_sha256"] {
        let pinned = g.replace(
            "subject_cn = \"solo\"",
            &format!(
                "subject_cn = \"solo\"\n{key} = \"{}\"",
                hex::encode([5; 32])
            ),
        );
        let dir = write_all(&[("solo.toml", &pinned)]);
        assert!(
            ConvenioSet::load_dir(dir.path())
                .unwrap()
                .warnings()
                .is_empty()
        );
    }
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
    let set = ConvenioSet::load_dir(
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
    let set = ConvenioSet::load_dir(write_all(&[("demo.toml", &g)]).path()).unwrap();
    let a = set.get(&ConvenioId::parse("demo").unwrap()).unwrap();
    assert!(!a.is_in_force(date(2026, 2, 28)));
    assert!(a.is_in_force(date(2026, 3, 1)));
    assert!(a.is_in_force(date(2026, 11, 28)));
    assert!(a.is_in_force(date(2027, 2, 28)));
    assert!(!a.is_in_force(date(2027, 3, 1)));
}

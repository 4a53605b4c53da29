//! Development certificates: a CA, a server certificate for localhost, one client
//! certificate per agreement file, the node's own client certificate (for the calls it makes
//! to agencies) and the example receiver's server certificate. Production certificates come from the ministry's own CA;
//! this is for the demo, the tests and newcomers.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::Datelike;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

use rustls_pki_types::pem::PemObject;

use crate::domain::ConvenioId;

/// What `siis pki dev` wrote (paths of files created now; existing ones are kept).
#[derive(Debug, Default)]
pub struct PkiReport {
    pub created: Vec<PathBuf>,
    pub clients: Vec<ConvenioId>,
}

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("certificate generation: {0}")]
    Rcgen(#[from] rcgen::Error),
    #[error("{path}: file name is not a valid agreement id ({reason})")]
    ConvenioName { path: PathBuf, reason: String },
    #[error("document key: {0}")]
    DocumentKey(#[from] openssl::error::ErrorStack),
    #[error("{path}: not a readable certificate ({reason})")]
    Certificate { path: PathBuf, reason: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_owned(),
        source,
    }
}

/// File names inside the PKI folder.
pub const CA_CERT: &str = "ca.pem";
pub const CA_KEY: &str = "ca-key.pem";
pub const SERVER_CERT: &str = "server.pem";
pub const SERVER_KEY: &str = "server-key.pem";
pub const CLIENTS_DIR: &str = "clients";
/// The node's client certificate, presented when it calls an agency's endpoint.
pub const NODE_CERT: &str = "nodo.pem";
pub const NODE_KEY: &str = "nodo-key.pem";
/// The subject CN of the development node certificate.
pub const NODE_CN: &str = "siis-nodo";
/// The example receiver's server certificate (`siis receptor`, for localhost).
pub const RECEPTOR_CERT: &str = "receptor.pem";
pub const RECEPTOR_KEY: &str = "receptor-key.pem";
pub use crate::config::{AUDIT_KEY, AUDIT_PUB, DOC_KEY, DOC_PUB};
/// The SPKI pins of the CA and of each client certificate, as `[[clients]]` blocks to paste
/// into agreements.
pub const PINS: &str = "pins.toml";

/// The agreement ids named by the `*.toml` files of a folder (file stem = agreement id), but
/// the agreement for persons, under which no certificate acts.
pub fn convenio_ids(dir: &Path) -> Result<Vec<ConvenioId>, PkiError> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let path = entry.map_err(io_error(dir))?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            let id = ConvenioId::parse(stem).map_err(|e| PkiError::ConvenioName {
                path: path.clone(),
                reason: e.to_string(),
            })?;
            // No certificate acts under the agreement for persons (`personas = true`).
            let personas = fs::read_to_string(&path)
                .ok()
                .and_then(|text| text.parse::<toml::Table>().ok())
                .and_then(|table| table.get("personas").and_then(toml::Value::as_bool))
                .unwrap_or(false);
            if !personas {
                ids.push(id);
            }
        }
    }
    ids.sort();
    Ok(ids)
}

/// Writes whatever is missing of a development PKI under `out`: the CA (reused when its key is
/// present), the server certificate, and a client certificate for each agreement.
pub fn dev(out: &Path, convenios: &[ConvenioId]) -> Result<PkiReport, PkiError> {
    let mut report = PkiReport::default();
    fs::create_dir_all(out.join(CLIENTS_DIR)).map_err(io_error(out))?;

    let ca_key_path = out.join(CA_KEY);
    let ca_params = ca_params();
    let ca_key = if ca_key_path.is_file() && out.join(CA_CERT).is_file() {
        let pem = fs::read_to_string(&ca_key_path).map_err(io_error(&ca_key_path))?;
        KeyPair::from_pem(&pem)?
    } else {
        let key = KeyPair::generate()?;
        let cert = ca_params.self_signed(&key)?;
        write_file(&out.join(CA_CERT), &cert.pem(), false, &mut report)?;
        write_file(&ca_key_path, &key.serialize_pem(), true, &mut report)?;
        // A new CA invalidates whatever it did not sign.
        for cert in [SERVER_CERT, NODE_CERT, RECEPTOR_CERT] {
            remove_if_present(&out.join(cert))?;
        }
        for id in convenios {
            remove_if_present(&client_cert_path(out, id))?;
        }
        key
    };
    let issuer = Issuer::new(ca_params, ca_key);

    let localhost = ["localhost", "127.0.0.1", "::1"];
    leaf(
        out,
        SERVER_CERT,
        SERVER_KEY,
        Leaf::Server(&localhost),
        &issuer,
        &mut report,
    )?;
    // The node's own client certificate, presented when it calls an agency (push
    // notifications), and the example receiver's server certificate (`siis receptor`).
    leaf(
        out,
        NODE_CERT,
        NODE_KEY,
        Leaf::Client(NODE_CN),
        &issuer,
        &mut report,
    )?;
    leaf(
        out,
        RECEPTOR_CERT,
        RECEPTOR_KEY,
        Leaf::Server(&localhost),
        &issuer,
        &mut report,
    )?;

    for id in convenios {
        let cert = format!("{CLIENTS_DIR}/{id}.pem");
        let key = format!("{CLIENTS_DIR}/{id}-key.pem");
        leaf(
            out,
            &cert,
            &key,
            Leaf::Client(id.as_str()),
            &issuer,
            &mut report,
        )?;
        report.clients.push(id.clone());
    }

    for (key, public) in [(DOC_KEY, DOC_PUB), (AUDIT_KEY, AUDIT_PUB)] {
        if !out.join(key).is_file() || !out.join(public).is_file() {
            let (private, public_pem) = generate_pem()?;
            write_file(&out.join(public), &public_pem, false, &mut report)?;
            write_file(&out.join(key), &private, true, &mut report)?;
        }
    }
    let pins = pins(out, convenios)?;
    let pins_path = out.join(PINS);
    if fs::read_to_string(&pins_path).ok().as_deref() != Some(pins.as_str()) {
        write_file(&pins_path, &pins, false, &mut report)?;
    }
    Ok(report)
}

/// `pins.toml`: the CA's SPKI pin, and a `[[clients]]` block per client certificate that binds
/// its subject CN, its own pin and its CA's, ready to paste into its agreement.
fn pins(out: &Path, convenios: &[ConvenioId]) -> Result<String, PkiError> {
    let ca = spki_sha256(&out.join(CA_CERT))?;
    let mut text = format!(
        "# SPKI SHA-256 pins of the development certificates in this folder, written by\n\
         # `siis pki dev` (and rewritten when it issues a certificate again). Paste a client's\n\
         # [[clients]] block into its agreement (convenios/ID.toml): the agreement then admits\n\
         # only that key, with that name, issued by this CA.\n\n\
         # The CA (ca.pem).\n\
         ca_spki_sha256 = \"{ca}\"\n"
    );
    for id in convenios {
        let client = spki_sha256(&client_cert_path(out, id))?;
        text.push_str(&format!(
            "\n# convenios/{id}.toml\n[[clients]]\nsubject_cn = \"{id}\"\n\
             spki_sha256 = \"{client}\"\nca_spki_sha256 = \"{ca}\"\n"
        ));
    }
    Ok(text)
}

/// The SHA-256 of a PEM certificate's DER SubjectPublicKeyInfo, in hex.
fn spki_sha256(path: &Path) -> Result<String, PkiError> {
    use sha2::{Digest, Sha256};
    let der = read_cert(path)?;
    let (_, cert) =
        x509_parser::parse_x509_certificate(&der).map_err(|e| PkiError::Certificate {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    Ok(hex::encode(Sha256::digest(
        cert.tbs_certificate.subject_pki.raw,
    )))
}

fn read_cert(path: &Path) -> Result<rustls_pki_types::CertificateDer<'static>, PkiError> {
    let pem = fs::read(path).map_err(io_error(path))?;
    rustls_pki_types::CertificateDer::from_pem_slice(&pem).map_err(|e| PkiError::Certificate {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// The CRL file `revoke_dev` writes.
pub const CRL: &str = "crl.pem";

/// Writes `DIR/crl.pem`, signed by the development CA, revoking the client certificates of
/// `revoked` (for trying and testing revocation: set `tls.crl` to it). Its nextUpdate is the
/// end of next year.
pub fn revoke_dev(dir: &Path, revoked: &[ConvenioId]) -> Result<PathBuf, PkiError> {
    let year = chrono::Utc::now().year();
    let next_update = chrono::NaiveDate::from_ymd_opt(year + 1, 12, 31)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or_default();
    dev_crl(dir, revoked, next_update)
}

/// Like [`revoke_dev`], with the list's nextUpdate given (one in the past makes an expired
/// list, for trying and testing what the node does with one).
pub fn dev_crl(
    dir: &Path,
    revoked: &[ConvenioId],
    next_update: chrono::DateTime<chrono::Utc>,
) -> Result<PathBuf, PkiError> {
    let key_path = dir.join(CA_KEY);
    let pem = fs::read_to_string(&key_path).map_err(io_error(&key_path))?;
    let issuer = Issuer::new(ca_params(), KeyPair::from_pem(&pem)?);
    let this_update = (chrono::Utc::now() - chrono::TimeDelta::days(1))
        .min(next_update - chrono::TimeDelta::seconds(1));
    let at = |t: chrono::DateTime<chrono::Utc>| {
        rcgen::date_time_ymd(1970, 1, 1)
            + std::time::Duration::from_secs(t.timestamp().max(0).unsigned_abs())
    };
    let mut revoked_certs = Vec::new();
    for id in revoked {
        let path = client_cert_path(dir, id);
        let der = read_cert(&path)?;
        let (_, cert) =
            x509_parser::parse_x509_certificate(&der).map_err(|e| PkiError::Certificate {
                path: path.clone(),
                reason: e.to_string(),
            })?;
        revoked_certs.push(rcgen::RevokedCertParams {
            serial_number: rcgen::SerialNumber::from_slice(cert.raw_serial()),
            revocation_time: at(this_update),
            reason_code: Some(rcgen::RevocationReason::KeyCompromise),
            invalidity_date: None,
        });
    }
    let params = rcgen::CertificateRevocationListParams {
        this_update: at(this_update),
        next_update: at(next_update),
        crl_number: rcgen::SerialNumber::from(chrono::Utc::now().timestamp().unsigned_abs()),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: rcgen::KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&issuer)?;
    let out = dir.join(CRL);
    let mut report = PkiReport::default();
    write_file(&out, &crl.pem()?, false, &mut report)?;
    Ok(out)
}

/// What a leaf certificate is for.
enum Leaf<'a> {
    /// A TLS server under these names (the subject CN is the first).
    Server(&'a [&'a str]),
    /// A TLS client with this subject CN.
    Client(&'a str),
}

/// Writes a leaf certificate and its key under `out`, unless both are there already.
fn leaf(
    out: &Path,
    cert: &str,
    key: &str,
    what: Leaf<'_>,
    issuer: &Issuer<'_, KeyPair>,
    report: &mut PkiReport,
) -> Result<(), PkiError> {
    let (cert_path, key_path) = (out.join(cert), out.join(key));
    if cert_path.is_file() && key_path.is_file() {
        return Ok(());
    }
    let mut params = match what {
        Leaf::Server(names) => {
            let mut params =
                CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())?;
            params.distinguished_name = name(names.first().copied().unwrap_or("localhost"));
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            params
        }
        Leaf::Client(cn) => {
            let mut params = CertificateParams::new(Vec::<String>::new())?;
            params.distinguished_name = name(cn);
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            params
        }
    };
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    set_validity(&mut params);
    let pair = KeyPair::generate()?;
    let signed = params.signed_by(&pair, issuer)?;
    write_file(&cert_path, &signed.pem(), false, report)?;
    write_file(&key_path, &pair.serialize_pem(), true, report)
}

pub fn client_cert_path(dir: &Path, id: &ConvenioId) -> PathBuf {
    dir.join(CLIENTS_DIR).join(format!("{id}.pem"))
}

pub fn client_key_path(dir: &Path, id: &ConvenioId) -> PathBuf {
    dir.join(CLIENTS_DIR).join(format!("{id}-key.pem"))
}

fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = name("SIIS development CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut params);
    params
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CountryName, "CL");
    dn.push(DnType::OrganizationName, "SIIS node (development)");
    dn.push(DnType::CommonName, common_name);
    dn
}

fn set_validity(params: &mut CertificateParams) {
    let year = chrono::Utc::now().year();
    params.not_before = rcgen::date_time_ymd(year - 1, 1, 1);
    params.not_after = rcgen::date_time_ymd(year + 3, 12, 31);
}

fn remove_if_present(path: &Path) -> Result<(), PkiError> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(path)(e)),
        _ => Ok(()),
    }
}

/// Writes a PEM file; private keys are readable by their owner only, also when they replace a
/// file that was not (the creation mode applies to new files only).
fn write_file(
    path: &Path,
    contents: &str,
    private: bool,
    report: &mut PkiReport,
) -> Result<(), PkiError> {
    let mut file = if private {
        crate::fsperm::create_private(path)
    } else {
        fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    }
    .map_err(io_error(path))?;
    file.write_all(contents.as_bytes())
        .map_err(io_error(path))?;
    report.created.push(path.to_owned());
    Ok(())
}

/// A fresh Ed25519 key pair as (private PKCS#8 PEM, public SPKI PEM): the document signing key
/// certificates are signed with.
pub fn generate_pem() -> Result<(String, String), openssl::error::ErrorStack> {
    let key = openssl::pkey::PKey::generate_ed25519()?;
    let private = String::from_utf8_lossy(&key.private_key_to_pem_pkcs8()?).into_owned();
    let public = String::from_utf8_lossy(&key.public_key_to_pem()?).into_owned();
    Ok((private, public))
}

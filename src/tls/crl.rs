//! The certificate revocation list file (`tls.crl`): read, checked against the CAs of
//! `ca.pem`, and kept in the two forms the node needs (DER for rustls' verifier, parsed for the
//! per-request check).

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use openssl::pkey::PKey;
use openssl::x509::X509Crl;
use rustls_pki_types::CertificateRevocationListDer;
use webpki::{CertRevocationList, OwnedCertRevocationList};

use super::{Ca, TlsError};

/// The lists of one CRL file, every one of them parsed and, when its issuer is a CA of
/// `ca.pem`, its signature checked.
pub(super) struct CrlFile {
    pub path: PathBuf,
    pub ders: Vec<CertificateRevocationListDer<'static>>,
    lists: Vec<CertRevocationList<'static>>,
    /// The earliest nextUpdate of the lists: from then on the file no longer vouches for
    /// anything and every agency client is refused until a fresh one is loaded.
    pub next_update: DateTime<Utc>,
    /// Revoked certificates listed, over all the lists.
    pub entries: usize,
}

impl CrlFile {
    /// Reads `path` and checks it: every PEM block a well-formed CRL (version 2, with a
    /// nextUpdate: what webpki enforces), each list whose issuer is a CA of `ca.pem` signed by
    /// that CA, and every CA of `ca.pem` covered by a list (otherwise each of its clients would
    /// fail the handshake with an unknown revocation status). A list issued by an intermediate
    /// CA is kept; the handshake checks its signature against the intermediate.
    pub fn read(path: &Path, cas: &[Ca]) -> Result<CrlFile, TlsError> {
        let ders = super::read_crls(path)?;
        let problem = |reason: String| TlsError::Crl {
            path: path.to_owned(),
            reason,
        };
        let mut lists = Vec::with_capacity(ders.len());
        let mut covered = vec![false; cas.len()];
        let mut next_update = DateTime::<Utc>::MAX_UTC;
        let mut entries = 0;
        for (n, der) in ders.iter().enumerate().map(|(i, d)| (i + 1, d)) {
            let list = CertRevocationList::from(
                OwnedCertRevocationList::from_der(der)
                    .map_err(|e| problem(format!("list {n} is not a usable CRL ({e})")))?,
            );
            let (_, parsed) = x509_parser::parse_x509_crl(der)
                .map_err(|e| problem(format!("list {n} is not a usable CRL ({e})")))?;
            let Some(next) = parsed
                .next_update()
                .and_then(|t| DateTime::from_timestamp(t.timestamp(), 0))
            else {
                return Err(problem(format!("list {n} has no nextUpdate")));
            };
            next_update = next_update.min(next);
            entries += parsed.iter_revoked_certificates().count();
            let named: Vec<usize> = (0..cas.len())
                .filter(|&i| cas[i].anchor.subject.as_ref() == list.issuer())
                .collect();
            if !named.is_empty() {
                let crl = X509Crl::from_der(der)
                    .map_err(|e| problem(format!("list {n} is not a usable CRL ({e})")))?;
                let Some(&signer) = named.iter().find(|&&i| signed_by(&crl, &cas[i])) else {
                    return Err(problem(format!(
                        "list {n} names the CA \"{}\" as its issuer but is not signed by it",
                        parsed.issuer()
                    )));
                };
                covered[signer] = true;
            }
            lists.push(list);
        }
        if let Some(ca) = covered.iter().position(|c| !c).map(|i| &cas[i]) {
            return Err(problem(format!(
                "no list of the CA \"{}\" of ca.pem: with tls.crl set, every CA there needs its \
                 CRL (without one, each of its clients would be refused)",
                ca.name
            )));
        }
        Ok(CrlFile {
            path: path.to_owned(),
            ders,
            lists,
            next_update,
            entries,
        })
    }

    /// Whether a certificate (its issuer's raw DER name and its serial) is listed.
    pub fn lists(&self, issuer: &[u8], serial: &[u8]) -> bool {
        self.lists
            .iter()
            .filter(|list| list.issuer() == issuer)
            // A list whose entries cannot be read revokes everything it might name.
            .any(|list| !matches!(list.find_serial(serial), Ok(None)))
    }
}

fn signed_by(crl: &X509Crl, ca: &Ca) -> bool {
    PKey::public_key_from_der(&webpki::spki_for_anchor(&ca.anchor))
        .and_then(|key| crl.verify(&key))
        .unwrap_or(false)
}

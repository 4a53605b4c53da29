//! rustls configurations for the two TLS listeners, built with an explicit crypto provider,
//! and what the agency listener trusts ([`Trust`]: the CAs, and a revocation list that reloads).

mod crl;
pub mod identity;
mod keys;
mod trust;
mod verifier;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::pki;

pub use identity::{ClientIdentity, IdentityError};
pub use keys::{refuse_ca_key, tighten as tighten_private_keys};
pub use trust::{CrlStatus, PendingCrl, RevocationCheck, Trust, watch_expiry};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "missing certificate file {0} (create a development set with `siis pki dev --out DIR`, or set tls.dir)"
    )]
    Missing(PathBuf),
    #[error("{path}: not a usable PEM file: {reason}")]
    Pem { path: PathBuf, reason: String },
    #[error("TLS configuration: {0}")]
    Rustls(String),
    #[error("tls.crl {path}: {reason}")]
    Crl { path: PathBuf, reason: String },
    #[error(
        "{0} is the private key of a CA that the agency listener trusts: a production node must not hold the key that issues agency certificates; move it offline, or set tls.allow_ca_key = true (SIIS__TLS__ALLOW_CA_KEY=true) to run anyway"
    )]
    CaKey(PathBuf),
}

/// The server configurations of the agency (mutual TLS) and public listeners, and the trust
/// the agency listener's verifier reads (its revocation list reloads).
#[derive(Clone)]
pub struct TlsConfigs {
    pub agency: ServerConfig,
    pub public: ServerConfig,
    pub trust: Arc<Trust>,
}

/// A CA of `ca.pem`: a trust anchor, and its name for messages.
pub(crate) struct Ca {
    pub anchor: rustls_pki_types::TrustAnchor<'static>,
    pub name: String,
}

pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads `ca.pem`, `server.pem` and `server-key.pem` from `dir`, and the agency listener's
/// certificate revocation list from `crl` when given.
pub fn load(dir: &Path, crl: Option<&Path>) -> Result<TlsConfigs, TlsError> {
    let ca = read_certs(&dir.join(pki::CA_CERT))?;
    let chain = read_certs(&dir.join(pki::SERVER_CERT))?;
    let key = read_key(&dir.join(pki::SERVER_KEY))?;

    let ca_error = |reason: String| TlsError::Pem {
        path: dir.join(pki::CA_CERT),
        reason,
    };
    let mut roots = RootCertStore::empty();
    let mut cas = Vec::new();
    for cert in ca {
        let (_, parsed) =
            x509_parser::parse_x509_certificate(&cert).map_err(|e| ca_error(e.to_string()))?;
        let anchor = webpki::anchor_from_trusted_cert(&cert)
            .map_err(|e| ca_error(e.to_string()))?
            .to_owned();
        cas.push(Ca {
            name: parsed.subject().to_string(),
            anchor: anchor.clone(),
        });
        roots.roots.push(anchor);
    }
    let provider = provider();
    let trust = Trust::load(cas, roots, provider.clone(), crl.map(Path::to_owned))?;
    let verifier = Arc::new(verifier::LiveVerifier::new(trust.clone()));
    let rustls_error = |e: rustls::Error| TlsError::Rustls(e.to_string());
    let agency = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(rustls_error)?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain.clone(), key.clone_key())
        .map_err(rustls_error)?;
    let public = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(rustls_error)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(rustls_error)?;
    Ok(TlsConfigs {
        agency,
        public,
        trust,
    })
}

fn ensure_present(path: &Path) -> Result<(), TlsError> {
    if path.is_file() {
        Ok(())
    } else {
        Err(TlsError::Missing(path.to_owned()))
    }
}

pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    ensure_present(path)?;
    let pem_error = |reason: String| TlsError::Pem {
        path: path.to_owned(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| pem_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(pem_error("no certificate in it".into()));
    }
    Ok(certs)
}

pub fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    ensure_present(path)?;
    let pem_error = |reason: String| TlsError::Pem {
        path: path.to_owned(),
        reason,
    };
    let crls = CertificateRevocationListDer::pem_file_iter(path)
        .map_err(|e| pem_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(e.to_string()))?;
    if crls.is_empty() {
        return Err(pem_error("no CRL in it".into()));
    }
    Ok(crls)
}

pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    ensure_present(path)?;
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Pem {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// A TLS client that presents `cert` and `key` and trusts the CAs of `ca`: how the node calls
/// an agency's endpoint (push notifications) and how `siis bench` calls the node.
pub fn client_config(ca: &Path, cert: &Path, key: &Path) -> Result<rustls::ClientConfig, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    for der in read_certs(ca)? {
        roots.add(der).map_err(|e| TlsError::Pem {
            path: ca.to_owned(),
            reason: e.to_string(),
        })?;
    }
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Rustls(e.to_string()))?
        .with_root_certificates(roots)
        .with_client_auth_cert(read_certs(cert)?, read_key(key)?)
        .map_err(|e| TlsError::Rustls(e.to_string()))
}

#[cfg(test)]
mod tests;

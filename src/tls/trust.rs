//! What the agency listener trusts now: the CAs of `ca.pem` and the revocation list in force.
//!
//! The CAs are read once, at start-up. The revocation list (`tls.crl`) is read again with the
//! agreements (SIGHUP, `POST /admin/convenios/reload`): the verifier that new handshakes use
//! is swapped whole ([`super::verifier::LiveVerifier`]), and every request is checked against
//! the list in force ([`RevocationCheck`]), because an open connection, or a resumed TLS
//! session, keeps the certificate it was verified with.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls_pki_types::{CertificateDer, UnixTime};
use sha2::{Digest, Sha256};

use super::crl::CrlFile;
use super::{Ca, TlsError};
use crate::error::ApiError;
use crate::tls::{ClientIdentity, IdentityError};

pub struct Trust {
    cas: Vec<Ca>,
    roots: Arc<RootCertStore>,
    provider: Arc<CryptoProvider>,
    crl_path: Option<PathBuf>,
    in_force: ArcSwap<InForce>,
    /// The paths of chains seen, by the SHA-256 of the chain: a chain's path depends only on
    /// the chain and on the CAs, which do not change, and building it costs about as much as
    /// the handshake's own verification of the client certificate.
    paths: Mutex<HashMap<[u8; 32], ChainPath>>,
}

/// Most chain paths remembered (agencies present a few certificates each); past it the memory
/// starts afresh.
const PATHS_KEPT: usize = 1024;

/// What a verified chain's path says: the CA it leads to, and its certificates as CRLs name them.
#[derive(Clone)]
struct ChainPath {
    ca_spki_sha256: [u8; 32],
    links: Arc<[Link]>,
}

/// A verifier and the revocation list it was built on, swapped together.
pub(super) struct InForce {
    pub verifier: Arc<dyn ClientCertVerifier>,
    crl: Option<CrlFile>,
    /// Set once this list's expiry has been logged, so that it is logged once.
    expiry_logged: AtomicBool,
}

/// A revocation list read and checked, with its verifier built: put in force by
/// [`Trust::install`].
pub struct PendingCrl(InForce);

/// The revocation list in force, as readiness and the reload answer report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlStatus {
    pub path: PathBuf,
    pub next_update: DateTime<Utc>,
    pub entries: usize,
    /// Past its nextUpdate: every agency client is refused until a fresh list is loaded.
    pub expired: bool,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Trust")
            .field("cas", &self.cas.len())
            .field("crl", &self.crl_path)
            .finish()
    }
}

impl Trust {
    /// The CAs of `ca.pem` and, when `crl_path` is set, its revocation list (an expired one is
    /// accepted, and logged: the node then refuses every agency client and is not ready).
    pub(super) fn load(
        cas: Vec<Ca>,
        roots: RootCertStore,
        provider: Arc<CryptoProvider>,
        crl_path: Option<PathBuf>,
    ) -> Result<Arc<Trust>, TlsError> {
        let roots = Arc::new(roots);
        let crl = match &crl_path {
            Some(path) => Some(CrlFile::read(path, &cas)?),
            None => None,
        };
        let in_force = build(&roots, &provider, crl)?;
        let trust = Arc::new(Trust {
            cas,
            roots,
            provider,
            crl_path,
            in_force: ArcSwap::from_pointee(in_force),
            paths: Mutex::new(HashMap::new()),
        });
        if let Some(status) = trust.status() {
            tracing::info!(
                crl.entries = status.entries,
                crl.next_update = %status.next_update,
                "revocation list loaded"
            );
        }
        Ok(trust)
    }

    /// The verifier new handshakes use now.
    pub(super) fn verifier(&self) -> Arc<dyn ClientCertVerifier> {
        self.in_force.load().verifier.clone()
    }

    /// Reads `tls.crl` again and builds its verifier, without putting it in force; `None` when
    /// no list is configured. A broken file is an error and changes nothing.
    pub fn read_crl(&self) -> Result<Option<PendingCrl>, TlsError> {
        let Some(path) = &self.crl_path else {
            return Ok(None);
        };
        let crl = CrlFile::read(path, &self.cas)?;
        Ok(Some(PendingCrl(build(
            &self.roots,
            &self.provider,
            Some(crl),
        )?)))
    }

    /// Puts a list in force: new handshakes and every request from now on are checked
    /// against it.
    pub fn install(&self, pending: PendingCrl) -> Option<CrlStatus> {
        self.in_force.store(Arc::new(pending.0));
        let status = self.status();
        if let Some(status) = &status {
            tracing::info!(
                crl.entries = status.entries,
                crl.next_update = %status.next_update,
                "revocation list reloaded"
            );
        }
        status
    }

    /// The list in force, now (`None` without `tls.crl`); its expiry is logged the first time
    /// it is seen.
    pub fn status(&self) -> Option<CrlStatus> {
        self.status_at(Utc::now())
    }

    pub fn status_at(&self, now: DateTime<Utc>) -> Option<CrlStatus> {
        let in_force = self.in_force.load();
        let crl = in_force.crl.as_ref()?;
        let expired = now >= crl.next_update;
        if expired && !in_force.expiry_logged.swap(true, Ordering::Relaxed) {
            tracing::error!(
                crl.next_update = %crl.next_update,
                "the revocation list (tls.crl) is past its nextUpdate: every agency client is \
                 refused until a fresh list is loaded (SIGHUP or POST /admin/convenios/reload)"
            );
        }
        Some(CrlStatus {
            path: crl.path.clone(),
            next_update: crl.next_update,
            entries: crl.entries,
            expired,
        })
    }

    /// The identity of a client whose chain the handshake verified: its certificate, the CA of
    /// `ca.pem` the chain leads to (the path is built again, as the handshake built it, to learn
    /// which; remembered per chain), and a handle on this trust for the per-request revocation
    /// check.
    pub fn identify(
        self: &Arc<Self>,
        chain: &[CertificateDer<'_>],
    ) -> Result<ClientIdentity, IdentityError> {
        let Some(end_entity) = chain.first() else {
            return Err(IdentityError::Malformed("no certificate".into()));
        };
        let mut identity = ClientIdentity::from_der(end_entity)?;
        let links = match self.path(chain) {
            Ok(path) => {
                identity.ca_spki_sha256 = Some(path.ca_spki_sha256);
                path.links
            }
            // Verified moments ago by the handshake; if the path no longer builds, no CA is
            // named (an agreement that binds one does not match) and the end entity alone is
            // checked against the revocation list.
            Err(error) => {
                tracing::warn!(error = %error, "client chain: no path to a CA");
                let cert = webpki::EndEntityCert::try_from(end_entity)
                    .map_err(|e| IdentityError::Malformed(e.to_string()))?;
                Arc::from([Link::of(&cert)])
            }
        };
        identity.revocation = Some(RevocationCheck {
            links,
            trust: self.clone(),
        });
        Ok(identity)
    }

    /// The path of `chain` to a CA of `ca.pem`, remembered or built.
    fn path(&self, chain: &[CertificateDer<'_>]) -> Result<ChainPath, webpki::Error> {
        let mut hash = Sha256::new();
        for cert in chain {
            hash.update((cert.len() as u64).to_be_bytes());
            hash.update(cert.as_ref());
        }
        let key: [u8; 32] = hash.finalize().into();
        let remembered = |paths: &HashMap<_, ChainPath>| paths.get(&key).cloned();
        if let Some(path) = self.paths.lock().ok().as_deref().and_then(remembered) {
            return Ok(path);
        }
        let cert = webpki::EndEntityCert::try_from(&chain[0])?;
        let verified = cert.verify_for_usage(
            self.provider.signature_verification_algorithms.all,
            &self.roots.roots,
            &chain[1..],
            UnixTime::now(),
            webpki::KeyUsage::client_auth(),
            None,
            None,
        )?;
        let anchor = webpki::spki_for_anchor(verified.anchor());
        let mut links = vec![Link::of(&cert)];
        links.extend(verified.intermediate_certificates().map(Link::of));
        let path = ChainPath {
            ca_spki_sha256: Sha256::digest(anchor.as_ref()).into(),
            links: links.into(),
        };
        if let Ok(mut paths) = self.paths.lock() {
            if paths.len() >= PATHS_KEPT {
                paths.clear();
            }
            paths.insert(key, path.clone());
        }
        Ok(path)
    }

    fn check(&self, links: &[Link]) -> Result<(), ApiError> {
        let in_force = self.in_force.load();
        let Some(crl) = &in_force.crl else {
            return Ok(());
        };
        if Utc::now() >= crl.next_update {
            self.status();
            return Err(ApiError::revocacion_vencida());
        }
        if links.iter().any(|l| crl.lists(&l.issuer, &l.serial)) {
            return Err(ApiError::certificado_revocado());
        }
        Ok(())
    }
}

/// Logs the revocation list's expiry when it comes, even when no client and no readiness probe
/// asks (checked every minute while the node runs; nothing to do without `tls.crl`).
pub fn watch_expiry(trust: &Arc<Trust>) {
    if trust.crl_path.is_none() {
        return;
    }
    let trust = Arc::downgrade(trust);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(std::time::Duration::from_secs(60)).await;
            let Some(trust) = trust.upgrade() else {
                return;
            };
            trust.status();
        }
    });
}

/// A verifier for `roots` that also checks `crl`, its nextUpdate included.
fn build(
    roots: &Arc<RootCertStore>,
    provider: &Arc<CryptoProvider>,
    crl: Option<CrlFile>,
) -> Result<InForce, TlsError> {
    let mut builder = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone());
    if let Some(crl) = &crl {
        builder = builder
            .with_crls(crl.ders.iter().cloned())
            .enforce_revocation_expiration();
    }
    let verifier = builder
        .build()
        .map_err(|e| TlsError::Rustls(e.to_string()))?;
    Ok(InForce {
        verifier,
        crl,
        expiry_logged: AtomicBool::new(false),
    })
}

/// One certificate of a verified chain, as a CRL names it.
#[derive(Debug, Clone)]
struct Link {
    issuer: Vec<u8>,
    serial: Vec<u8>,
}

impl Link {
    fn of(cert: &webpki::Cert<'_>) -> Link {
        Link {
            issuer: cert.issuer().to_vec(),
            serial: cert.serial().to_vec(),
        }
    }
}

/// A connection's certificate chain and the trust that verified it, so that each request can
/// ask whether the chain is still trusted ([`ClientIdentity::check_revocation`]).
#[derive(Clone)]
pub struct RevocationCheck {
    links: Arc<[Link]>,
    trust: Arc<Trust>,
}

impl RevocationCheck {
    /// `CERTIFICADO_REVOCADO` when the list in force names a certificate of the chain,
    /// `REVOCACION_VENCIDA` when the list is past its nextUpdate.
    pub fn check(&self) -> Result<(), ApiError> {
        self.trust.check(&self.links)
    }
}

impl std::fmt::Debug for RevocationCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationCheck")
            .field("chain", &self.links.len())
            .finish()
    }
}

//! The agency listener's client certificate verifier: every check is rustls' own
//! `WebPkiClientVerifier`, the one in force now, which a reload swaps for one built on the new
//! revocation list. Nothing here decides anything.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use rustls_pki_types::{CertificateDer, UnixTime};

use super::trust::Trust;

#[derive(Debug)]
pub(super) struct LiveVerifier {
    trust: Arc<Trust>,
    /// The CA names offered to clients: those of `ca.pem`, which a reload does not change.
    hints: Vec<DistinguishedName>,
}

impl LiveVerifier {
    pub fn new(trust: Arc<Trust>) -> LiveVerifier {
        let hints = trust.verifier().root_hint_subjects().to_vec();
        LiveVerifier { trust, hints }
    }
}

impl ClientCertVerifier for LiveVerifier {
    fn offer_client_auth(&self) -> bool {
        self.trust.verifier().offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.trust.verifier().client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let verified = self
            .trust
            .verifier()
            .verify_client_cert(end_entity, intermediates, now);
        if let Err(Error::InvalidCertificate(
            CertificateError::ExpiredRevocationList
            | CertificateError::ExpiredRevocationListContext { .. },
        )) = &verified
        {
            // Logs the expiry the first time it is seen.
            self.trust.status();
        }
        verified
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.trust
            .verifier()
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        self.trust
            .verifier()
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.trust.verifier().supported_verify_schemes()
    }

    fn requires_raw_public_keys(&self) -> bool {
        self.trust.verifier().requires_raw_public_keys()
    }
}

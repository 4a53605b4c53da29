//! The identity of a client certificate: what an agreement's `[[clients]]` entries match on.
//!
//! The TLS layer has already verified the chain against the agency CA; [`ClientIdentity::from_der`]
//! only reads the end-entity certificate to name who is calling, and the TLS layer
//! ([`crate::tls::Trust::identify`]) adds what it learnt from the verified chain: the CA it leads
//! to, and a handle on the live revocation state that the broker checks on every request.

use sha2::{Digest, Sha256};

use super::RevocationCheck;
use crate::error::ApiError;

/// Who presented a client certificate, as agreements see it.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// The subject's common name, when the subject has exactly one that reads as text.
    pub subject_cn: Option<String>,
    /// SHA-256 of the DER SubjectPublicKeyInfo (the SPKI pin).
    pub spki_sha256: [u8; 32],
    /// SHA-256 of the whole DER certificate (its fingerprint, for the audit log).
    pub cert_sha256: [u8; 32],
    /// SPKI pin of the CA of `tls.dir/ca.pem` that the verified chain leads to (its trust
    /// anchor). `None` when not known (an identity read from a certificate alone): an agreement
    /// that binds a CA then never matches.
    pub ca_spki_sha256: Option<[u8; 32]>,
    /// The chain's standing against the revocation list in force now; `None` for an identity
    /// that did not come from a TLS connection (nothing to revoke it against).
    pub revocation: Option<RevocationCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("the client certificate is not a DER X.509 certificate: {0}")]
    Malformed(String),
    #[error("the client certificate has trailing bytes after its DER encoding")]
    TrailingData,
}

impl ClientIdentity {
    /// From the DER of the client's end-entity certificate (as rustls gives it).
    ///
    /// A subject with no common name, several, or one that is not text gives `subject_cn: None`:
    /// such a certificate can still be matched by its SPKI pin, never by a guessed name.
    pub fn from_der(der: &[u8]) -> Result<ClientIdentity, IdentityError> {
        let (rest, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| IdentityError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(IdentityError::TrailingData);
        }
        let mut names = cert.subject().iter_common_name();
        let subject_cn = match (names.next(), names.next()) {
            (Some(cn), None) => cn.as_str().ok().map(str::to_owned),
            _ => None,
        };
        Ok(ClientIdentity {
            subject_cn,
            spki_sha256: Sha256::digest(cert.tbs_certificate.subject_pki.raw).into(),
            cert_sha256: Sha256::digest(der).into(),
            ca_spki_sha256: None,
            revocation: None,
        })
    }

    /// Refuses a certificate revoked since its connection's handshake (a CRL reloaded since),
    /// or any certificate while the CRL in force is past its nextUpdate. The broker asks this
    /// on every request: an open connection, or a resumed TLS session (which skips certificate
    /// verification), would otherwise keep a revoked identity.
    pub fn check_revocation(&self) -> Result<(), ApiError> {
        self.revocation
            .as_ref()
            .map_or(Ok(()), RevocationCheck::check)
    }

    /// Lower-case hex of the certificate's SHA-256, for the audit log.
    pub fn fingerprint_hex(&self) -> String {
        hex::encode(self.cert_sha256)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PublicKeyData};

    fn certificate(names: &[&str]) -> (rcgen::Certificate, KeyPair) {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CountryName, "CL");
        // rcgen keeps one value per type: a second CN goes in under its raw OID (2.5.4.3).
        for (i, name) in names.iter().enumerate() {
            let ty = match i {
                0 => DnType::CommonName,
                _ => DnType::CustomDnType(vec![2, 5, 4, 3]),
            };
            dn.push(ty, *name);
        }
        params.distinguished_name = dn;
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        (cert, key)
    }

    #[test]
    fn reads_the_common_name_the_pin_and_the_fingerprint() {
        let (cert, key) = certificate(&["muni-13101"]);
        let der: &[u8] = cert.der();
        let id = ClientIdentity::from_der(der).unwrap();

        assert_eq!(id.subject_cn.as_deref(), Some("muni-13101"));
        let pin: [u8; 32] = Sha256::digest(key.subject_public_key_info()).into();
        assert_eq!(id.spki_sha256, pin);
        let fingerprint: [u8; 32] = Sha256::digest(der).into();
        assert_eq!(id.cert_sha256, fingerprint);
        assert_eq!(id.fingerprint_hex(), hex::encode(fingerprint));
        assert_eq!(id.fingerprint_hex().len(), 64);
        assert!(!id.fingerprint_hex().bytes().any(|b| b.is_ascii_uppercase()));
        assert_ne!(id.spki_sha256, id.cert_sha256);
    }

    #[test]
    fn two_keys_give_two_pins() {
        let a = ClientIdentity::from_der(certificate(&["ips"]).0.der()).unwrap();
        let b = ClientIdentity::from_der(certificate(&["ips"]).0.der()).unwrap();
        assert_eq!(a.subject_cn, b.subject_cn);
        assert_ne!(a.spki_sha256, b.spki_sha256);
    }

    #[test]
    fn no_single_common_name_gives_none() {
        let none = ClientIdentity::from_der(certificate(&[]).0.der()).unwrap();
        assert_eq!(none.subject_cn, None);
        let two = ClientIdentity::from_der(certificate(&["ips", "minvu"]).0.der()).unwrap();
        assert_eq!(two.subject_cn, None);
    }

    #[test]
    fn refuses_what_is_not_one_certificate() {
        assert!(matches!(
            ClientIdentity::from_der(b"not a certificate"),
            Err(IdentityError::Malformed(_))
        ));
        let mut der = certificate(&["bbnn"]).0.der().to_vec();
        der.push(0);
        assert!(matches!(
            ClientIdentity::from_der(&der),
            Err(IdentityError::TrailingData)
        ));
    }
}

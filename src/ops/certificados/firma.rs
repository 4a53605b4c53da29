//! The document key: Ed25519 through OpenSSL. Signs a certificate's canonical content and
//! verifies a payload with only the public key.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use openssl::pkey::{PKey, Private, Public};
use openssl::sign::{Signer, Verifier};
use sha2::{Digest, Sha256};

use super::contenido::Contenido;

pub use crate::pki::generate_pem;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: not an Ed25519 key")]
    NotEd25519 { path: PathBuf },
    #[error("{private} and {public} are not one key pair")]
    Mismatch { private: PathBuf, public: PathBuf },
}

fn read(path: &Path) -> Result<Vec<u8>, KeyError> {
    std::fs::read(path).map_err(|e| KeyError::Unreadable {
        path: path.to_owned(),
        reason: e.to_string(),
    })
}

/// Reads a public key (SPKI PEM) and checks it is Ed25519.
pub fn load_public(path: &Path) -> Result<PKey<Public>, KeyError> {
    let key = PKey::public_key_from_pem(&read(path)?).map_err(|e| KeyError::Unreadable {
        path: path.to_owned(),
        reason: format!("not a PEM public key ({e})"),
    })?;
    if key.id() != openssl::pkey::Id::ED25519 {
        return Err(KeyError::NotEd25519 {
            path: path.to_owned(),
        });
    }
    Ok(key)
}

/// The node's document keys: the public one always, the private one when it issues.
pub struct DocumentKeys {
    private: Option<PKey<Private>>,
    public: PKey<Public>,
}

impl DocumentKeys {
    /// Loads the pair and checks they belong together (a signature made now verifies).
    pub fn load(private: &Path, public: &Path) -> Result<DocumentKeys, KeyError> {
        let key =
            PKey::private_key_from_pem(&read(private)?).map_err(|e| KeyError::Unreadable {
                path: private.to_owned(),
                reason: format!("not a PEM private key ({e})"),
            })?;
        if key.id() != openssl::pkey::Id::ED25519 {
            return Err(KeyError::NotEd25519 {
                path: private.to_owned(),
            });
        }
        let keys = DocumentKeys {
            private: Some(key),
            public: load_public(public)?,
        };
        let probe = b"siis document key check";
        let matches = keys
            .sign(probe)
            .is_some_and(|sig| verify_raw(&keys.public, probe, &sig));
        if !matches {
            return Err(KeyError::Mismatch {
                private: private.to_owned(),
                public: public.to_owned(),
            });
        }
        Ok(keys)
    }

    /// Only the public key: the node verifies but does not issue.
    pub fn verify_only(public: &Path) -> Result<DocumentKeys, KeyError> {
        Ok(DocumentKeys {
            private: None,
            public: load_public(public)?,
        })
    }

    pub fn can_sign(&self) -> bool {
        self.private.is_some()
    }

    pub fn public(&self) -> &PKey<Public> {
        &self.public
    }

    fn sign(&self, data: &[u8]) -> Option<Vec<u8>> {
        let key = self.private.as_ref()?;
        let mut signer = Signer::new_without_digest(key).ok()?;
        signer.sign_oneshot_to_vec(data).ok()
    }

    /// Signs a certificate's content into its payload (`None` without a private key or if
    /// OpenSSL fails, which callers answer as unavailable).
    pub fn sign_payload(&self, contenido: &Contenido) -> Option<Payload> {
        let firmado = self.sign_text(contenido.canonical())?;
        Some(Payload {
            contenido: contenido.clone(),
            signature: firmado.signature,
        })
    }

    /// Signs any document's canonical text (a certificate's or a decree's).
    pub fn sign_text(&self, text: String) -> Option<Firmado> {
        let signature = self.sign(text.as_bytes())?;
        Some(Firmado { text, signature })
    }
}

fn verify_raw(key: &PKey<Public>, data: &[u8], signature: &[u8]) -> bool {
    Verifier::new_without_digest(key)
        .and_then(|mut v| v.verify_oneshot(signature, data))
        .unwrap_or(false)
}

/// A certificate as the QR code carries it: its content and the signature over it.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    pub contenido: Contenido,
    pub signature: Vec<u8>,
}

/// Why a payload is not a valid certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("the payload is not a certificate payload (base64url content \".\" signature)")]
    Malformed,
    #[error("the signature does not match the content: altered, or not signed by this key")]
    BadSignature,
}

impl Invalid {
    /// The stable code for machines.
    pub fn code(self) -> &'static str {
        match self {
            Invalid::Malformed => "PAYLOAD_INVALIDO",
            Invalid::BadSignature => "FIRMA_INVALIDA",
        }
    }
}

/// Longest payload read (a certificate's is about 300 characters, a decree's about 350).
pub const MAX_PAYLOAD: usize = 2048;

/// A signed document's canonical text and the signature over it: what every QR code of the
/// node carries, whatever the document (certificate or decree) says.
#[derive(Debug, Clone, PartialEq)]
pub struct Firmado {
    pub text: String,
    pub signature: Vec<u8>,
}

impl Firmado {
    /// `base64url(text).base64url(signature)`.
    pub fn encode(&self) -> String {
        format!("{}.{}", B64.encode(&self.text), B64.encode(&self.signature))
    }

    /// Decodes and checks the signature with `key`; the text is not interpreted.
    pub fn verify(text: &str, key: &PKey<Public>) -> Result<Firmado, Invalid> {
        let text = text.trim();
        if text.len() > MAX_PAYLOAD {
            return Err(Invalid::Malformed);
        }
        let (content, signature) = text.split_once('.').ok_or(Invalid::Malformed)?;
        let content = B64.decode(content).map_err(|_| Invalid::Malformed)?;
        let signature = B64.decode(signature).map_err(|_| Invalid::Malformed)?;
        if signature.len() != 64 {
            return Err(Invalid::Malformed);
        }
        if !verify_raw(key, &content, &signature) {
            return Err(Invalid::BadSignature);
        }
        let text = String::from_utf8(content).map_err(|_| Invalid::Malformed)?;
        Ok(Firmado { text, signature })
    }

    /// The verification code (see [`Payload::code`]).
    pub fn code(&self) -> String {
        code_of(&self.signature)
    }
}

impl Payload {
    /// `base64url(content).base64url(signature)`.
    pub fn encode(&self) -> String {
        Firmado {
            text: self.contenido.canonical(),
            signature: self.signature.clone(),
        }
        .encode()
    }

    /// Decodes and checks the signature with `key`; only a signed, well-formed content passes.
    pub fn verify(text: &str, key: &PKey<Public>) -> Result<Payload, Invalid> {
        let firmado = Firmado::verify(text, key)?;
        let contenido = Contenido::parse(&firmado.text).ok_or(Invalid::Malformed)?;
        Ok(Payload {
            contenido,
            signature: firmado.signature,
        })
    }

    /// The verification code: SHA-256 of the signature, first 50 bits, Crockford base32.
    pub fn code(&self) -> String {
        code_of(&self.signature)
    }
}

const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Crockford base32 of the top `5 * chars` bits of `bytes`.
pub fn crockford(bytes: &[u8], chars: usize) -> String {
    let mut out = String::with_capacity(chars);
    for i in 0..chars {
        let mut v = 0usize;
        for bit in i * 5..i * 5 + 5 {
            v = (v << 1) | usize::from((bytes[bit / 8] >> (7 - bit % 8)) & 1);
        }
        out.push(char::from(CROCKFORD[v]));
    }
    out
}

fn code_of(signature: &[u8]) -> String {
    let digest = Sha256::digest(signature);
    let c = crockford(&digest, 10);
    format!("{}-{}", &c[..5], &c[5..])
}

/// A typed code in canonical form (upper case, without separators, Crockford's aliases
/// O→0, I/L→1), or `None` if it cannot be a code.
pub fn normalize_code(text: &str) -> Option<String> {
    let mut out = String::new();
    for c in text.chars() {
        let c = match c.to_ascii_uppercase() {
            '-' | ' ' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if CROCKFORD.contains(&(c as u8)) && c.is_ascii() => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == 10).then_some(out)
}

/// Whether a typed code is the payload's (compared in constant time).
pub fn code_matches(payload: &Payload, typed: &str) -> bool {
    signature_code_matches(&payload.signature, typed)
}

/// Whether a typed code is the one derived from `signature` (compared in constant time).
pub fn signature_code_matches(signature: &[u8], typed: &str) -> bool {
    let Some(typed) = normalize_code(typed) else {
        return false;
    };
    let expected = code_of(signature).replace('-', "");
    openssl::memcmp::eq(expected.as_bytes(), typed.as_bytes())
}

/// A fresh random folio: `prefix`, then 12 Crockford base32 characters from 60 random bits
/// in groups of four (`DEC-7K3M-9Q2X-HB4T`), so folios cannot be enumerated.
pub fn random_folio(prefix: &str) -> Result<String, openssl::error::ErrorStack> {
    let mut bytes = [0u8; 8];
    openssl::rand::rand_bytes(&mut bytes)?;
    let c = crockford(&bytes, 12);
    Ok(format!("{prefix}-{}-{}-{}", &c[..4], &c[4..8], &c[8..]))
}

/// A folio as typed (case-insensitive) if it has one of `prefixes` and the shape of
/// [`random_folio`]'s, in upper case.
pub fn parse_folio(text: &str, prefixes: &[&str]) -> Option<String> {
    let upper = text.trim().to_ascii_uppercase();
    let (prefix, rest) = upper.split_once('-')?;
    if !prefixes.contains(&prefix) {
        return None;
    }
    let groups: Vec<&str> = rest.split('-').collect();
    let ok = groups.len() == 3
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.bytes().all(|b| CROCKFORD.contains(&b)));
    ok.then_some(upper)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::certificados::contenido::tests::sample;

    fn keys() -> DocumentKeys {
        let dir = tempfile::tempdir().unwrap();
        let (private, public) = generate_pem().unwrap();
        std::fs::write(dir.path().join("k"), private).unwrap();
        std::fs::write(dir.path().join("p"), public).unwrap();
        DocumentKeys::load(&dir.path().join("k"), &dir.path().join("p")).unwrap()
    }

    #[test]
    fn a_signed_payload_verifies_and_any_change_breaks_it() {
        let keys = keys();
        let payload = keys.sign_payload(&sample()).unwrap();
        let text = payload.encode();
        assert_eq!(Payload::verify(&text, keys.public()).unwrap(), payload);
        // Change the score inside the content: the signature no longer matches.
        let mut altered = sample();
        altered.puntaje = Some(16000);
        let forged = format!(
            "{}.{}",
            B64.encode(altered.canonical()),
            text.split_once('.').unwrap().1
        );
        assert_eq!(
            Payload::verify(&forged, keys.public()),
            Err(Invalid::BadSignature)
        );
        assert_eq!(
            Payload::verify("not a payload", keys.public()),
            Err(Invalid::Malformed)
        );
        // Another key does not verify it.
        assert_eq!(
            Payload::verify(&text, self::keys().public()),
            Err(Invalid::BadSignature)
        );
    }

    #[test]
    fn codes_are_typable_and_forgiving() {
        let keys = keys();
        let payload = keys.sign_payload(&sample()).unwrap();
        let code = payload.code();
        assert_eq!(code.len(), 11);
        assert!(code_matches(&payload, &code));
        assert!(code_matches(
            &payload,
            &code.to_lowercase().replace('-', " ")
        ));
        assert!(!code_matches(&payload, "00000-00000"));
        assert!(!code_matches(&payload, "short"));
        assert_eq!(normalize_code("oiL00-00000").as_deref(), Some("0110000000"));
        assert_eq!(normalize_code("UUUUU-UUUUU"), None);
    }

    #[test]
    fn mismatched_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (private, _) = generate_pem().unwrap();
        let (_, public) = generate_pem().unwrap();
        std::fs::write(dir.path().join("k"), private).unwrap();
        std::fs::write(dir.path().join("p"), public).unwrap();
        let err = DocumentKeys::load(&dir.path().join("k"), &dir.path().join("p"))
            .err()
            .unwrap();
        assert!(matches!(err, KeyError::Mismatch { .. }), "{err}");
        let err = DocumentKeys::load(&dir.path().join("none"), &dir.path().join("p"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("none"), "{err}");
    }
}

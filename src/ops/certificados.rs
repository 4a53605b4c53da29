//! Signed certificates (EmitirCertificado / VerificarCertificado): a `constancia` (the person's
//! household was surveyed: ficha folio and date) or a `certificado_fps` (score, quintile,
//! household size, comuna), each with a unique folio, signed with the node's document key and
//! printed as a one-page PDF whose QR code carries the signed content.
//!
//! The wire format, which a third party needs only the public key to check:
//! - content: the UTF-8 fields of [`Contenido`] joined by `|` in a fixed order (see
//!   [`Contenido::canonical`]); no field may hold `|` or a control character;
//! - signature: Ed25519 over exactly those bytes (`openssl pkeyutl -verify -rawin`);
//! - payload (the QR code): `base64url(content) "." base64url(signature)`, no padding;
//! - verification code: the first 50 bits of SHA-256(signature) in Crockford base32, shown
//!   `XXXXX-XXXXX` (derived, so nothing secret is stored beside the certificate).

pub mod contenido;
pub mod firma;
pub mod pdf;
pub mod store;
pub mod verificar;

pub use contenido::{Contenido, Folio, Tipo};
pub use firma::{DocumentKeys, Payload};

use std::sync::Arc;

use crate::config::Config;

/// What issuing and verifying need: the keys and the published verification address. (The
/// broker limits verifications per address: `broker/publico.rs`.)
pub struct Servicio {
    pub keys: Option<Arc<DocumentKeys>>,
    pub url_base: String,
}

impl Servicio {
    /// Loads the document keys the configuration names. A node that issues needs both (a
    /// missing or unreadable key stops start-up); one that does not verifies with the public
    /// key when it is there.
    pub fn from_config(config: &Config) -> Result<Servicio, firma::KeyError> {
        let (private, public) = (
            config.clave_privada_documentos(),
            config.clave_publica_documentos(),
        );
        let keys = if config.certificados.emitir {
            Some(Arc::new(DocumentKeys::load(&private, &public)?))
        } else {
            match DocumentKeys::verify_only(&public) {
                Ok(keys) => Some(Arc::new(keys)),
                Err(error) => {
                    tracing::warn!(error = %error, "no document public key: certificates cannot be verified online");
                    None
                }
            }
        };
        Ok(Servicio {
            keys,
            url_base: config.certificados.url_verificacion.clone(),
        })
    }
}

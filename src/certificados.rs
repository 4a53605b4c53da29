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

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::Config;

/// What the transports need to issue and verify: the keys, the published verification
/// address and the per-IP verification limiter.
pub struct Servicio {
    pub keys: Option<Arc<DocumentKeys>>,
    pub url_base: String,
    limiter: DefaultKeyedRateLimiter<IpAddr>,
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
        let per_minute =
            NonZeroU32::new(config.certificados.verificar_por_minuto).unwrap_or(NonZeroU32::MIN);
        let burst =
            NonZeroU32::new(config.certificados.verificar_rafaga).unwrap_or(NonZeroU32::MIN);
        Ok(Servicio {
            keys,
            url_base: config.certificados.url_verificacion.clone(),
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute).allow_burst(burst)),
        })
    }

    /// Admits one verification from `ip`, or says in how many seconds it may retry.
    pub fn admit(&self, ip: IpAddr) -> Result<(), u64> {
        use governor::clock::{Clock, DefaultClock};
        // Forget addresses whose allowance is full again, so memory stays bounded.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&ip).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }
}

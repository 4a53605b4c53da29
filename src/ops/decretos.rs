//! Decrees (EmitirDecreto / ConsultarDecreto): a municipality's monthly decree per program
//! granting the postulations the waiting list puts within the comuna's cupos, signed with the
//! node's document key like a certificate (`ops::certificados`) and printed as a PDF of as
//! many pages as it needs.
//!
//! The wire format, which a third party needs only the public key to check:
//! - content: [`ContenidoDecreto::canonical`], whose last field is the SHA-256 of the lines
//!   ([`contenido::lineas_sha256`]): a decree names every person it grants, which no QR code
//!   can hold;
//! - signature, payload and verification code: as a certificate's
//!   (`ops::certificados::firma::Firmado`).

pub mod contenido;
pub mod pdf;
pub mod store;

pub use contenido::{ContenidoDecreto, FolioDecreto, Linea, Periodo};

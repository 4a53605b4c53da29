//! Domain types that carry the registry's rules: once you hold one, it is valid.
//!
//! Each type has a `parse` constructor that is the only way in from untrusted text.

mod convenio_id;
mod cut;
mod evento;
mod id_aleatorio;
mod puntaje;
mod run;

pub use convenio_id::{ConvenioId, ConvenioIdError};
pub use cut::{Comuna, Cut, CutError, Region, comunas, regiones};
pub use evento::TipoEvento;
pub use id_aleatorio::{
    EncuestajeId, EncuestajeIdError, PostulacionId, PostulacionIdError, SuscripcionId,
    SuscripcionIdError,
};
pub use puntaje::{Puntaje, PuntajeError, Quintil};
pub use run::{Run, RunError};

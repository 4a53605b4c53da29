//! Domain types that carry the registry's rules: once you hold one, it is valid.
//!
//! Each type has a `parse` constructor that is the only way in from untrusted text.

mod convenio_id;
mod cut;
mod encuestaje_id;
mod postulacion_id;
mod puntaje;
mod run;

pub use convenio_id::{ConvenioId, ConvenioIdError};
pub use cut::{Comuna, Cut, CutError, Region, comunas, regiones};
pub use encuestaje_id::{EncuestajeId, EncuestajeIdError};
pub use postulacion_id::{PostulacionId, PostulacionIdError};
pub use puntaje::{Puntaje, PuntajeError, Quintil};
pub use run::{Run, RunError};

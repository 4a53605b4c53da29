//! Domain types that carry the registry's rules: once you hold one, it is valid.
//!
//! Each type has a `parse` constructor that is the only way in from untrusted text.

mod ambito;
mod convenio_id;
mod cut;
mod evento;
mod id_aleatorio;
mod puntaje;
mod run;

pub use ambito::{Ambito, AmbitoError, Nivel};
pub use convenio_id::{ConvenioId, ConvenioIdError};
pub use cut::{Comuna, Cut, CutError, Provincia, Region, comunas, provincias, regiones};
pub use evento::TipoEvento;
pub use id_aleatorio::{
    EncuestajeId, EncuestajeIdError, PostulacionId, PostulacionIdError, SuscripcionId,
    SuscripcionIdError,
};
pub use puntaje::{Puntaje, PuntajeError, Quintil};
pub use run::{Run, RunError};

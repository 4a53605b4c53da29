//! The service core: every operation written once, as a transport-free function over typed
//! input and output. `rest/` and `soap/` only decode, call these through the broker, and encode.

pub mod accesos;
pub mod certificado;
pub mod elegibilidad;
pub mod encuestaje;
pub mod estadisticas;
pub mod ficha;
pub mod identidad;
pub mod lote;
pub mod meta;

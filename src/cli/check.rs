//! `siis config check`: everything `siis serve` reads before it starts, checked together and
//! each problem listed, without binding a port or opening the registry: the configuration,
//! the TLS material (and the CA key a production node must not hold), the document and
//! audit checkpoint keys, the agreements and the eligibility rules.

use crate::config::Config;
use crate::convenios::ConvenioSet;
use crate::reglas::Rules;
use crate::startup;

/// Every problem found, each on its own line (empty: all is well), and the warnings (the
/// node starts with them).
pub fn problems(config: &Config) -> (Vec<String>, Vec<String>) {
    let (mut found, mut warnings) = (Vec::new(), Vec::new());
    if let Err(e) = startup::load_tls(config) {
        found.push(format!("tls: {e}"));
    }
    if let Err(e) = startup::refuse_ca_key(config) {
        found.push(format!("tls: {e}"));
    }
    if let Err(e) = crate::ops::certificados::Servicio::from_config(config) {
        found.push(format!("certificados: {e}"));
    }
    if let Err(e) = crate::audit::signed::read_private_key(&config.clave_checkpoints()) {
        found.push(format!("audit: {e}"));
    }
    match ConvenioSet::load_dir(&config.convenios.dir) {
        Ok(set) => warnings.extend(set.warnings().iter().map(|w| format!("convenios: {w}"))),
        Err(errors) => found.extend(errors.0.iter().map(|i| format!("convenios: {i}"))),
    }
    if let Err(e) = Rules::load(&config.elegibilidad.reglas) {
        found.push(format!("elegibilidad: {e}"));
    }
    if let Err(e) =
        crate::modelos::Modelos::load(&config.encuesta.modelos, &config.encuesta.vigente)
    {
        found.push(format!("encuesta: {e}"));
    }
    (found, warnings)
}

//! The SOAP side of EstadisticasTerritoriales: reading the request's `cuerpo` and writing the
//! cells (schema `schemas/estadisticas-v1.xsd`).

use super::parse::Request;
use crate::broker::Call;
use crate::error::ApiError;
use crate::ops::estadisticas::{Consulta, Parametros};

/// The request's parameters: `nivel`, `region`, `comuna` and any number of `quintil`; a bad one
/// is the call's input error.
pub fn consulta(request: &Request, call: &mut Call) -> Option<Consulta> {
    parametros(request)
        .map_err(|e| call.input_error.get_or_insert(e).clone())
        .ok()
}

fn parametros(request: &Request) -> Result<Consulta, ApiError> {
    let quintiles: Vec<&str> = request
        .leaves
        .iter()
        .filter(|(path, _)| path == "cuerpo/quintil")
        .map(|(_, value)| value.as_str())
        .collect();
    let quintil = quintiles.join(",");
    Consulta::parse(&Parametros {
        nivel: request.value("cuerpo/nivel"),
        region: request.value("cuerpo/region"),
        comuna: request.value("cuerpo/comuna"),
        quintil: (!quintiles.is_empty()).then_some(quintil.as_str()),
    })
}

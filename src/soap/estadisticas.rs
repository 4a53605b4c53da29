//! The SOAP side of EstadisticasTerritoriales: reading the request's `cuerpo` and writing the
//! cells (schema `schemas/estadisticas-v1.xsd`).

use super::parse::Request;
use super::xml::Xml;
use crate::broker::Call;
use crate::error::ApiError;
use crate::ops::estadisticas::{Consulta, Estadisticas, Parametros};

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

pub fn encode(x: &mut Xml, p: &str, e: &Estadisticas) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("estadisticas"))
        .opt(&t("calculadoEn"), &e.calculado_en);
    for c in e.celdas.iter().flatten() {
        x.open(&t("celda"))
            .opt(&t("ambito"), &c.ambito)
            .opt(&t("codigo"), &c.codigo)
            .opt(&t("nombre"), &c.nombre)
            .opt(&t("quintil"), &c.quintil)
            .opt(&t("reservado"), &c.reservado)
            .opt(&t("personas"), &c.personas)
            .opt(&t("hogares"), &c.hogares)
            .opt(&t("fichas"), &c.fichas)
            .opt(&t("puntajePromedio"), &c.puntaje_promedio)
            .close(&t("celda"));
    }
    x.close(&t("estadisticas"));
}

//! The SOAP transport (D.S. 81): SOAP 1.1 and 1.2, document/literal, one WSDL per service in
//! `wsdl/`, message types in `schemas/`. Like `rest/`, it only decodes, calls the operation
//! through the broker (same enforcement, projection, limits and audit) and encodes.

mod contract;
mod encode;
mod estadisticas;
mod handler;
mod parse;
mod xml;

use actix_web::web;

pub use crate::broker::SoapVersion;

/// Namespaces of the envelope, the D.S. 81 schemas and X-Road.
pub mod ns {
    pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
    pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
    pub const SOBRE: &str = "http://www.siis.gob.cl/esquemas/sobre/v1";
    pub const TIPOS: &str = "http://www.siis.gob.cl/esquemas/tipos/v1";
    pub const XROAD: &str = "http://x-road.eu/xsd/xroad.xsd";
    pub const XROAD_ID: &str = "http://x-road.eu/xsd/identifiers";
}

/// A published SOAP service: its WSDL, schema namespace and operations.
pub struct Servicio {
    pub nombre: &'static str,
    pub prefix: &'static str,
    pub namespace: &'static str,
    pub operaciones: &'static [&'static str],
    pub wsdl: &'static str,
}

impl Servicio {
    /// The SOAPAction of one of its operations.
    pub fn action(&self, operation: &str) -> String {
        format!(
            "http://www.siis.gob.cl/servicios/{}/{operation}",
            self.nombre
        )
    }
}

pub const SERVICIOS: &[Servicio] = &[
    Servicio {
        nombre: "ConsultaFichaFPS",
        prefix: "f",
        namespace: "http://www.siis.gob.cl/esquemas/fichafps/v1",
        operaciones: &["ConsultarFichaFPS", "ConsultarFichaFPSLote"],
        wsdl: include_str!("../wsdl/ConsultaFichaFPS.wsdl"),
    },
    Servicio {
        nombre: "ValidacionIdentidad",
        prefix: "i",
        namespace: "http://www.siis.gob.cl/esquemas/identidad/v1",
        operaciones: &["ValidarIdentidad"],
        wsdl: include_str!("../wsdl/ValidacionIdentidad.wsdl"),
    },
    Servicio {
        nombre: "ConsultaElegibilidad",
        prefix: "e",
        namespace: "http://www.siis.gob.cl/esquemas/elegibilidad/v1",
        operaciones: &["ConsultarElegibilidad"],
        wsdl: include_str!("../wsdl/ConsultaElegibilidad.wsdl"),
    },
    Servicio {
        nombre: "ConsultaAccesos",
        prefix: "a",
        namespace: "http://www.siis.gob.cl/esquemas/accesos/v1",
        operaciones: &["ConsultarAccesos"],
        wsdl: include_str!("../wsdl/ConsultaAccesos.wsdl"),
    },
    Servicio {
        nombre: "CertificadosFPS",
        prefix: "c",
        namespace: "http://www.siis.gob.cl/esquemas/certificados/v1",
        operaciones: &["EmitirCertificado"],
        wsdl: include_str!("../wsdl/CertificadosFPS.wsdl"),
    },
    Servicio {
        nombre: "EstadisticasTerritoriales",
        prefix: "et",
        namespace: "http://www.siis.gob.cl/esquemas/estadisticas/v1",
        operaciones: &["EstadisticasTerritoriales"],
        wsdl: include_str!("../wsdl/EstadisticasTerritoriales.wsdl"),
    },
    Servicio {
        nombre: "Metaservicios",
        prefix: "m",
        namespace: "http://www.siis.gob.cl/esquemas/metaservicios/v1",
        operaciones: &["listMethods", "allowedMethods", "getWsdl"],
        wsdl: include_str!("../wsdl/Metaservicios.wsdl"),
    },
    Servicio {
        nombre: "SolicitudEncuestaje",
        prefix: "n",
        namespace: "http://www.siis.gob.cl/esquemas/encuestaje/v1",
        operaciones: &[
            "SolicitarEncuestaje",
            "ConsultarEncuestaje",
            "ListarEncuestajes",
            "RegistrarEventoEncuestaje",
        ],
        wsdl: include_str!("../wsdl/SolicitudEncuestaje.wsdl"),
    },
    Servicio {
        nombre: "PostulacionBeneficios",
        prefix: "pb",
        namespace: "http://www.siis.gob.cl/esquemas/postulacion/v1",
        operaciones: &[
            "Postular",
            "ConsultarPostulacion",
            "ListarPostulaciones",
            "RegistrarEventoPostulacion",
            "FijarCupos",
            "ConsultarCupos",
        ],
        wsdl: include_str!("../wsdl/PostulacionBeneficios.wsdl"),
    },
    Servicio {
        nombre: "RecepcionLotes",
        prefix: "rl",
        namespace: "http://www.siis.gob.cl/esquemas/recepcionlotes/v1",
        operaciones: &["RecibirLote"],
        wsdl: include_str!("../wsdl/RecepcionLotes.wsdl"),
    },
    Servicio {
        nombre: "ActualizacionHogar",
        prefix: "h",
        namespace: "http://www.siis.gob.cl/esquemas/hogar/v1",
        operaciones: &["ConsultarHogar", "RegistrarEventoHogar"],
        wsdl: include_str!("../wsdl/ActualizacionHogar.wsdl"),
    },
    Servicio {
        nombre: "Suscripciones",
        prefix: "su",
        namespace: "http://www.siis.gob.cl/esquemas/suscripciones/v1",
        operaciones: &[
            "Suscribir",
            "ListarSuscripciones",
            "Desuscribir",
            "LeerEventos",
        ],
        wsdl: include_str!("../wsdl/Suscripciones.wsdl"),
    },
    Servicio {
        nombre: "ChileSolidario",
        prefix: "chs",
        namespace: "http://www.siis.gob.cl/esquemas/chilesolidario/v1",
        operaciones: &[
            "IngresarFamiliaCHS",
            "ConsultarParticipacionCHSPorId",
            "ListarParticipacionesCHS",
            "RegistrarEventoCHS",
            "ConsultarParticipacionCHS",
        ],
        wsdl: include_str!("../wsdl/ChileSolidario.wsdl"),
    },
    Servicio {
        nombre: "RegistroEmergencias",
        prefix: "em",
        namespace: "http://www.siis.gob.cl/esquemas/emergencias/v1",
        operaciones: handler::emergencias::OPERACIONES,
        wsdl: include_str!("../wsdl/RegistroEmergencias.wsdl"),
    },
    // Chile Crece Contigo (src/soap/handler/crece_contigo.rs).
    Servicio {
        nombre: "ChileCreceContigo",
        prefix: "ccc",
        namespace: "http://www.siis.gob.cl/esquemas/crececontigo/v1",
        operaciones: &[
            "IngresarSeguimientoChCC",
            "RegistrarEventoChCC",
            "ConsultarSeguimientoChCC",
            "ListarDerivacionesChCC",
            "ResponderDerivacionChCC",
        ],
        wsdl: include_str!("../wsdl/ChileCreceContigo.wsdl"),
    },
];

pub fn servicio(nombre: &str) -> Option<&'static Servicio> {
    SERVICIOS.iter().find(|s| s.nombre == nombre)
}

/// The agency listener's SOAP routes: the services, their WSDLs and the schemas they import.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/soap/{servicio}", web::post().to(handler::post))
        .route("/soap/{servicio}", web::get().to(contract::wsdl))
        .route("/schemas/{file}", web::get().to(contract::schema));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_travel_with_500_or_a_sender_400_and_outcomes_with_200() {
        use crate::broker::Transport::Soap;
        use crate::error::ApiError;
        use SoapVersion::{V11, V12};
        let cases = [
            // (error, REST status, SOAP 1.1, SOAP 1.2)
            (ApiError::xml_invalido("x"), 400, 500, 400),
            (ApiError::sin_convenio(), 403, 500, 400),
            (ApiError::mensaje_repetido(), 409, 500, 400),
            (ApiError::demasiado_grande(1), 413, 500, 400),
            (ApiError::tipo_no_soportado_soap(), 415, 500, 400),
            (ApiError::limite_excedido(1), 429, 500, 400),
            (ApiError::cuota_excedida(60), 429, 500, 400),
            (ApiError::unavailable(), 503, 500, 500),
            (ApiError::estadisticas_no_calculadas(), 503, 500, 500),
            // Outcomes: a normal answer with its estadoSobre.
            (ApiError::no_encontrado(), 404, 200, 200),
            (ApiError::run_invalido("x"), 400, 200, 200),
        ];
        for (error, rest, v11, v12) in cases {
            assert_eq!(error.status(), rest, "{}", error.code);
            assert_eq!(
                (Soap(V11).status_of(&error), Soap(V12).status_of(&error)),
                (v11, v12),
                "{}",
                error.code
            );
        }
    }
}

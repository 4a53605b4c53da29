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

pub use parse::SoapVersion;

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
        nombre: "RecepcionLotes",
        prefix: "rl",
        namespace: "http://www.siis.gob.cl/esquemas/recepcionlotes/v1",
        operaciones: &["RecibirLote"],
        wsdl: include_str!("../wsdl/RecepcionLotes.wsdl"),
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

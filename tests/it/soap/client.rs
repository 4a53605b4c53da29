//! A SOAP caller for tests: envelopes built by hand (as any client would send them), answers
//! read with the tree of `xml.rs`, and XSD validation with xmllint.

use std::path::Path;
use std::time::{Duration, Instant};

use siis::domain::Run;

use super::xml::{self, Element, SOAP11, SOAP12, SOBRE, TIPOS};
use crate::support::{TestNode, repo_path};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum V {
    V11,
    V12,
}

impl V {
    pub const BOTH: [V; 2] = [V::V11, V::V12];

    pub fn namespace(self) -> &'static str {
        match self {
            V::V11 => SOAP11,
            V::V12 => SOAP12,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            V::V11 => "text/xml",
            V::V12 => "application/soap+xml",
        }
    }
}

/// A published SOAP service as the contract (schemas/README.md, wsdl/README.md) describes it.
pub struct Svc {
    pub name: &'static str,
    pub prefix: &'static str,
    pub ns: &'static str,
    pub xsd: &'static str,
    pub operations: &'static [&'static str],
}

pub const FICHA: Svc = Svc {
    name: "ConsultaFichaFPS",
    prefix: "f",
    ns: "http://www.siis.gob.cl/esquemas/fichafps/v1",
    xsd: "fichafps-v1.xsd",
    operations: &["ConsultarFichaFPS", "ConsultarFichaFPSLote"],
};
pub const IDENTIDAD: Svc = Svc {
    name: "ValidacionIdentidad",
    prefix: "i",
    ns: "http://www.siis.gob.cl/esquemas/identidad/v1",
    xsd: "identidad-v1.xsd",
    operations: &["ValidarIdentidad"],
};
pub const ELEGIBILIDAD: Svc = Svc {
    name: "ConsultaElegibilidad",
    prefix: "e",
    ns: "http://www.siis.gob.cl/esquemas/elegibilidad/v1",
    xsd: "elegibilidad-v1.xsd",
    operations: &["ConsultarElegibilidad"],
};
pub const ACCESOS: Svc = Svc {
    name: "ConsultaAccesos",
    prefix: "a",
    ns: "http://www.siis.gob.cl/esquemas/accesos/v1",
    xsd: "accesos-v1.xsd",
    operations: &["ConsultarAccesos"],
};
pub const ESTADISTICAS: Svc = Svc {
    name: "EstadisticasTerritoriales",
    prefix: "et",
    ns: "http://www.siis.gob.cl/esquemas/estadisticas/v1",
    xsd: "estadisticas-v1.xsd",
    operations: &["EstadisticasTerritoriales"],
};
pub const META: Svc = Svc {
    name: "Metaservicios",
    prefix: "m",
    ns: "http://www.siis.gob.cl/esquemas/metaservicios/v1",
    xsd: "metaservicios-v1.xsd",
    operations: &["listMethods", "allowedMethods", "getWsdl"],
};
pub const CERTIFICADOS: Svc = Svc {
    name: "CertificadosFPS",
    prefix: "c",
    ns: "http://www.siis.gob.cl/esquemas/certificados/v1",
    xsd: "certificados-v1.xsd",
    operations: &["EmitirCertificado"],
};
pub const ENCUESTAJE: Svc = Svc {
    name: "SolicitudEncuestaje",
    prefix: "n",
    ns: "http://www.siis.gob.cl/esquemas/encuestaje/v1",
    xsd: "encuestaje-v1.xsd",
    operations: &[
        "SolicitarEncuestaje",
        "ConsultarEncuestaje",
        "ListarEncuestajes",
        "RegistrarEventoEncuestaje",
    ],
};
pub const RECEPCION: Svc = Svc {
    name: "RecepcionLotes",
    prefix: "rl",
    ns: "http://www.siis.gob.cl/esquemas/recepcionlotes/v1",
    xsd: "recepcionlotes-v1.xsd",
    operations: &["RecibirLote"],
};
pub const HOGAR: Svc = Svc {
    name: "ActualizacionHogar",
    prefix: "h",
    ns: "http://www.siis.gob.cl/esquemas/hogar/v1",
    xsd: "hogar-v1.xsd",
    operations: &["ConsultarHogar", "RegistrarEventoHogar"],
};
pub const POSTULACION: Svc = Svc {
    name: "PostulacionBeneficios",
    prefix: "pb",
    ns: "http://www.siis.gob.cl/esquemas/postulacion/v1",
    xsd: "postulacion-v1.xsd",
    operations: &[
        "Postular",
        "ConsultarPostulacion",
        "ListarPostulaciones",
        "RegistrarEventoPostulacion",
        "FijarCupos",
        "ConsultarCupos",
    ],
};
pub const SUSCRIPCIONES: Svc = Svc {
    name: "Suscripciones",
    prefix: "su",
    ns: "http://www.siis.gob.cl/esquemas/suscripciones/v1",
    xsd: "suscripciones-v1.xsd",
    operations: &[
        "Suscribir",
        "ListarSuscripciones",
        "Desuscribir",
        "LeerEventos",
    ],
};

pub const CHILE_SOLIDARIO: Svc = Svc {
    name: "ChileSolidario",
    prefix: "chs",
    ns: "http://www.siis.gob.cl/esquemas/chilesolidario/v1",
    xsd: "chilesolidario-v1.xsd",
    operations: &[
        "IngresarFamiliaCHS",
        "ConsultarParticipacionCHSPorId",
        "ListarParticipacionesCHS",
        "RegistrarEventoCHS",
        "ConsultarParticipacionCHS",
    ],
};

pub const EMERGENCIAS: Svc = Svc {
    name: "RegistroEmergencias",
    prefix: "em",
    ns: "http://www.siis.gob.cl/esquemas/emergencias/v1",
    xsd: "emergencias-v1.xsd",
    operations: &[
        "DeclararEmergencia",
        "ConsultarEmergencia",
        "ListarEmergencias",
        "CerrarEmergencia",
        "RegistrarHogarDamnificado",
        "RegistrarAyuda",
        "ConsultarHogarDamnificado",
        "ListarHogaresDamnificados",
        "InformeEmergencia",
    ],
};

pub const CRECE_CONTIGO: Svc = Svc {
    name: "ChileCreceContigo",
    prefix: "ccc",
    ns: "http://www.siis.gob.cl/esquemas/crececontigo/v1",
    xsd: "crececontigo-v1.xsd",
    operations: &[
        "IngresarSeguimientoChCC",
        "RegistrarEventoChCC",
        "ConsultarSeguimientoChCC",
        "ListarDerivacionesChCC",
        "ResponderDerivacionChCC",
    ],
};

pub const SERVICES: [&Svc; 15] = [
    &FICHA,
    &IDENTIDAD,
    &ELEGIBILIDAD,
    &ACCESOS,
    &CERTIFICADOS,
    &ESTADISTICAS,
    &META,
    &ENCUESTAJE,
    &POSTULACION,
    &RECEPCION,
    &HOGAR,
    &SUSCRIPCIONES,
    &CHILE_SOLIDARIO,
    &EMERGENCIAS,
    &CRECE_CONTIGO,
];

pub fn action(svc: &Svc, operation: &str) -> String {
    format!("http://www.siis.gob.cl/servicios/{}/{operation}", svc.name)
}

/// `<p:tag><t:numero>…</t:numero><t:dv>…</t:dv></p:tag>`
pub fn run_xml(prefix: &str, run: Run) -> String {
    format!(
        "<{prefix}:run><t:numero>{}</t:numero><t:dv>{}</t:dv></{prefix}:run>",
        run.numero(),
        run.dv()
    )
}

/// A whole envelope: `header` is the inside of the SOAP Header (none when empty), `body` the
/// inside of the Body; `s`, `t` and the service's prefix are declared on the Envelope.
pub fn envelope(v: V, svc: &Svc, header: &str, body: &str) -> String {
    let header = if header.is_empty() {
        String::new()
    } else {
        format!("<soapenv:Header>{header}</soapenv:Header>")
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<soapenv:Envelope xmlns:soapenv=\"{}\" \
         xmlns:s=\"{SOBRE}\" xmlns:t=\"{TIPOS}\" xmlns:{}=\"{}\">{header}<soapenv:Body>{body}\
         </soapenv:Body></soapenv:Envelope>",
        v.namespace(),
        svc.prefix,
        svc.ns
    )
}

/// The operation element: an `s:encabezado` with `idSobre` when given, then the `cuerpo`.
pub fn operation(svc: &Svc, op: &str, id: Option<&str>, cuerpo: &str) -> String {
    let p = svc.prefix;
    let encabezado = match id {
        Some(id) => format!(
            "<s:encabezado><s:idSobre>{id}</s:idSobre><s:fechaHora>2026-11-28T10:15:00-03:00\
             </s:fechaHora><s:consumidor>prueba</s:consumidor></s:encabezado>"
        ),
        None => String::new(),
    };
    format!("<{p}:{op}>{encabezado}<{p}:cuerpo>{cuerpo}</{p}:cuerpo></{p}:{op}>")
}

/// What came back.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub retry_after: Option<String>,
    pub text: String,
    pub elapsed: Duration,
}

/// A SOAP Fault's parts.
#[derive(Debug)]
pub struct Fault {
    /// `Client`/`Server` (1.1) or `Sender`/`Receiver` (1.2), the prefix resolved away.
    pub code: String,
    pub code_ns: String,
    pub estado: String,
    pub codigo: String,
    pub glosa: String,
    pub detalle: Element,
}

impl Answer {
    pub fn envelope(&self) -> Element {
        xml::parse(&self.text)
            .unwrap_or_else(|e| panic!("the answer is not well-formed XML ({e}): {}", self.shown()))
    }

    /// The answer, shortened for assertion messages.
    pub fn shown(&self) -> String {
        let text: String = self.text.chars().take(1500).collect();
        format!("HTTP {} [{}] {text}", self.status, self.content_type)
    }

    /// Checks the envelope is of version `v` (namespace and Content-Type) and holds a Body.
    pub fn body_of(&self, v: V) -> Element {
        let envelope = self.envelope();
        assert_eq!(
            (envelope.ns.as_str(), envelope.name.as_str()),
            (v.namespace(), "Envelope"),
            "envelope of the version asked: {}",
            self.shown()
        );
        let essence = self.content_type.split(';').next().unwrap_or("").trim();
        assert_eq!(essence, v.content_type(), "{}", self.shown());
        let body = envelope
            .children
            .iter()
            .find(|c| c.name == "Body" && c.ns == v.namespace())
            .cloned()
            .unwrap_or_else(|| panic!("no Body: {}", self.shown()));
        assert_eq!(body.children.len(), 1, "one element in the Body");
        body
    }

    /// The single element inside the Body.
    pub fn payload(&self, v: V) -> Element {
        self.body_of(v).children.remove(0)
    }

    /// The Fault of a version-`v` answer (panics if the answer is not a Fault).
    pub fn fault(&self, v: V) -> Fault {
        let fault = self.payload(v);
        assert_eq!(
            (fault.ns.as_str(), fault.name.as_str()),
            (v.namespace(), "Fault"),
            "{}",
            self.shown()
        );
        let (code, detail) = match v {
            V::V11 => (
                fault.child("faultcode").expect("faultcode").text.clone(),
                fault.child("detail").expect("detail"),
            ),
            V::V12 => (
                fault.text_at("Code/Value").expect("Code/Value").to_owned(),
                fault.child("Detail").expect("Detail"),
            ),
        };
        // A QName: its prefix must be bound to the envelope's namespace where it is used.
        let (prefix, local) = code.split_once(':').expect("a prefixed fault code");
        let envelope = self.envelope();
        let body = envelope.child("Body").expect("Body");
        let mut chain = vec![&envelope, body, &fault];
        chain.extend(match v {
            V::V11 => fault.child("faultcode"),
            V::V12 => fault.child("Code"),
        });
        chain.extend(fault.at("Code/Value").filter(|_| v == V::V12));
        let code_ns = chain
            .iter()
            .rev()
            .find_map(|e| e.decls.iter().find(|(p, _)| p == prefix))
            .map(|(_, ns)| ns.clone())
            .unwrap_or_default();
        let detalle = detail
            .children
            .iter()
            .find(|c| c.name == "detalle" && c.ns == SOBRE)
            .cloned()
            .unwrap_or_else(|| panic!("no s:detalle: {}", self.shown()));
        Fault {
            code: local.to_owned(),
            code_ns,
            estado: detalle.text_at("estadoSobre").unwrap_or("").to_owned(),
            codigo: detalle.text_at("codigo").unwrap_or("").to_owned(),
            glosa: detalle.text_at("glosa").unwrap_or("").to_owned(),
            detalle,
        }
    }

    /// The `…Respuesta` element of a normal answer, checked to be `op`'s in `svc`'s namespace.
    pub fn respuesta(&self, v: V, svc: &Svc, op: &str) -> Element {
        assert_eq!(self.status, 200, "{}", self.shown());
        let r = self.payload(v);
        assert_eq!(
            (r.ns.as_str(), r.name.as_str()),
            (svc.ns, format!("{op}Respuesta").as_str()),
            "{}",
            self.shown()
        );
        r
    }
}

/// The estadoSobre of a `…Respuesta`.
pub fn estado(respuesta: &Element) -> &str {
    respuesta
        .text_at("encabezado/metadataOperacional/estadoSobre")
        .unwrap_or("")
}

/// POSTs a body to `/soap/{service}` as SOAP `v` with the given action (SOAPAction header for
/// 1.1, `action` parameter for 1.2).
pub async fn post_raw(
    client: &reqwest::Client,
    url: &str,
    content_type: &str,
    soap_action: Option<&str>,
    body: impl Into<reqwest::Body>,
) -> Answer {
    let started = Instant::now();
    let mut request = client
        .post(url)
        .header("content-type", content_type)
        .body(body);
    if let Some(a) = soap_action {
        request = request.header("SOAPAction", format!("\"{a}\""));
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {e:?}"));
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap_or("").to_owned())
    };
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after");
    let text = response.text().await.expect("answer body");
    Answer {
        status,
        content_type,
        retry_after,
        text,
        elapsed: started.elapsed(),
    }
}

/// POSTs an envelope as SOAP `v` with the action of `op`.
pub async fn post(
    client: &reqwest::Client,
    node: &TestNode,
    v: V,
    svc: &Svc,
    op: &str,
    body: String,
) -> Answer {
    let url = node.agency_url(&format!("/soap/{}", svc.name));
    let action = action(svc, op);
    match v {
        V::V11 => post_raw(client, &url, "text/xml; charset=utf-8", Some(&action), body).await,
        V::V12 => {
            let ct = format!("application/soap+xml; charset=utf-8; action=\"{action}\"");
            post_raw(client, &url, &ct, None, body).await
        }
    }
}

/// Calls `op` of `svc` with this `cuerpo` (and an idSobre when given).
pub async fn call(
    client: &reqwest::Client,
    node: &TestNode,
    v: V,
    svc: &Svc,
    op: &str,
    id: Option<&str>,
    cuerpo: &str,
) -> Answer {
    let body = envelope(v, svc, "", &operation(svc, op, id, cuerpo));
    post(client, node, v, svc, op, body).await
}

/// Whether a tool the tests need is here; when it is not, CI fails and a developer's machine
/// skips with a notice.
pub fn tool_available(check: &mut std::process::Command, what: &str) -> bool {
    let ok = check
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        if std::env::var_os("CI").is_some() {
            panic!("{what} is required in CI (CI is set) but is not available");
        }
        eprintln!("NOTICE: {what} is not available: skipping that check (it is required in CI)");
    }
    ok
}

pub fn xmllint_available() -> bool {
    tool_available(
        std::process::Command::new("xmllint").arg("--version"),
        "xmllint (libxml2-utils)",
    )
}

/// Validates `element` as a standalone document against `schemas/{xsd}` with xmllint; the
/// error (xmllint's messages and the document) when it does not validate.
pub fn check_schema(xsd: &str, element: &Element) -> Result<(), String> {
    let doc = xml::standalone(element);
    check_schema_text(xsd, &doc)
}

pub fn check_schema_text(xsd: &str, doc: &str) -> Result<(), String> {
    let dir = tempfile::TempDir::new().expect("tempdir");
    let file = dir.path().join("doc.xml");
    std::fs::write(&file, doc).expect("write doc");
    let schema = repo_path("schemas").join(xsd);
    let out = run_xmllint(&schema, &file);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "xmllint --schema {xsd}: {}\n{doc}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn run_xmllint(schema: &Path, file: &Path) -> std::process::Output {
    std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(schema)
        .arg(file)
        .output()
        .expect("run xmllint")
}

/// Validates or panics with xmllint's explanation.
pub fn validate(xsd: &str, element: &Element, what: &str) {
    if let Err(e) = check_schema(xsd, element) {
        panic!("{what} does not validate: {e}");
    }
}

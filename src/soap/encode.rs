//! Answers as D.S. 81 envelopes inside SOAP 1.1 or 1.2, and failures as SOAP Faults.

use chrono::{SecondsFormat, Utc};

use super::ns;
use super::parse::XRoadHeader;
use super::xml::Xml;
use crate::broker::SoapVersion;
use crate::error::ApiError;
use crate::ops::lote::RespuestaLote;
use crate::ops::meta::OperacionesPermitidas;
use crate::projection::{Campos, Escritor};

fn glosa(estado: &str) -> &'static str {
    match estado {
        "00" => "Transacción exitosa",
        "01" => "Error de autenticación",
        "02" => "Error de autorización",
        "03" => "Error en los parámetros de entrada",
        "04" => "Error en el XML de entrada",
        "05" => "No hay datos para la consulta",
        "06" => "Tiempo de espera agotado",
        _ => "Datos no disponibles",
    }
}

/// What goes around every answer.
pub struct Sobre<'a> {
    pub version: SoapVersion,
    /// Prefix and namespace of the service's schema.
    pub prefix: &'static str,
    pub namespace: &'static str,
    pub operation: &'a str,
    pub message_id: &'a str,
    pub consumidor: Option<&'a str>,
    pub xroad: &'a [XRoadHeader],
}

fn envelope_open(x: &mut Xml, sobre: &Sobre<'_>) {
    x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .raw("<soap:Envelope xmlns:soap=\"")
        .raw(sobre.version.namespace())
        .raw("\" xmlns:s=\"")
        .raw(ns::SOBRE)
        .raw("\" xmlns:t=\"")
        .raw(ns::TIPOS)
        .raw("\" xmlns:")
        .raw(sobre.prefix)
        .raw("=\"")
        .raw(sobre.namespace)
        .raw("\">");
    if !sobre.xroad.is_empty() {
        x.raw("<soap:Header xmlns:xroad=\"")
            .raw(ns::XROAD)
            .raw("\" xmlns:id=\"")
            .raw(ns::XROAD_ID)
            .raw("\">");
        for h in sobre.xroad {
            let tag = format!("xroad:{}", h.name);
            match &h.object_type {
                Some(kind) => {
                    x.raw("<")
                        .raw(&tag)
                        .raw(" id:objectType=\"")
                        .raw(&quick_xml::escape::escape(kind.as_str()))
                        .raw("\">");
                }
                None => {
                    x.open(&tag);
                }
            }
            if h.parts.is_empty() {
                x.text(&h.text);
            }
            for (part, value) in &h.parts {
                x.leaf(&format!("id:{part}"), value);
            }
            x.close(&tag);
        }
        x.raw("</soap:Header>");
    }
    x.raw("<soap:Body>");
}

/// An answer: the operation's `…Respuesta` with the header and, on success, the `cuerpo`.
/// `campo` names the request's field at fault in an answer that refuses it (`ENCUESTA_INVALIDA`).
pub fn answer(
    sobre: &Sobre<'_>,
    estado: &str,
    campo: Option<&str>,
    cuerpo: Option<&dyn Fn(&mut Xml)>,
) -> String {
    let mut x = Xml::new();
    envelope_open(&mut x, sobre);
    let element = format!("{}:{}Respuesta", sobre.prefix, sobre.operation);
    x.open(&element)
        .open("s:encabezado")
        .leaf("s:idSobre", sobre.message_id)
        .leaf(
            "s:fechaHora",
            Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        )
        .leaf("s:proveedor", "SIIS");
    if let Some(consumidor) = sobre.consumidor {
        x.leaf("s:consumidor", consumidor);
    }
    x.open("s:metadataOperacional")
        .leaf("s:estadoSobre", estado)
        .leaf("s:glosaSobre", glosa(estado));
    if let Some(campo) = campo {
        x.leaf("s:campo", campo);
    }
    x.close("s:metadataOperacional").close("s:encabezado");
    if let Some(write) = cuerpo {
        let tag = format!("{}:cuerpo", sobre.prefix);
        x.open(&tag);
        write(&mut x);
        x.close(&tag);
    }
    x.close(&element).raw("</soap:Body></soap:Envelope>");
    x.finish()
}

/// A SOAP Fault carrying the estadoSobre and the stable code in its detail.
pub fn fault(sobre: &Sobre<'_>, error: &ApiError, estado: &str) -> String {
    // Details are the node's own words, but keep them short whatever they hold.
    let detail: String = error.detail.chars().take(300).collect();
    let mut x = Xml::new();
    envelope_open(&mut x, sobre);
    let sender = error.blames_request();
    x.open("soap:Fault");
    match sobre.version {
        SoapVersion::V11 => {
            x.leaf(
                "faultcode",
                if sender { "soap:Client" } else { "soap:Server" },
            )
            .leaf("faultstring", &detail)
            .open("detail");
        }
        SoapVersion::V12 => {
            x.open("soap:Code")
                .leaf(
                    "soap:Value",
                    if sender {
                        "soap:Sender"
                    } else {
                        "soap:Receiver"
                    },
                )
                .close("soap:Code")
                .open("soap:Reason")
                .raw("<soap:Text xml:lang=\"es\">")
                .text(&detail)
                .raw("</soap:Text>")
                .close("soap:Reason")
                .open("soap:Detail");
        }
    }
    x.open("s:detalle")
        .leaf("s:estadoSobre", estado)
        .leaf("s:codigo", error.code)
        .leaf("s:glosa", &detail);
    if let Some(campo) = &error.campo {
        x.leaf("s:campo", campo);
    }
    x.close("s:detalle");
    match sobre.version {
        SoapVersion::V11 => x.close("detail"),
        SoapVersion::V12 => x.close("soap:Detail"),
    };
    x.close("soap:Fault").raw("</soap:Body></soap:Envelope>");
    x.finish()
}

/// An answer type as the element `raiz` of the service's schema (prefix `p`): its fields in
/// declaration order, each named as the type declares it (`respuestas`, `projection::Campos`);
/// a field projection cleared is not written.
pub fn elemento<T: Campos>(x: &mut Xml, p: &str, raiz: &str, value: &T) {
    let mut w = Escribe { x, p };
    w.abrir(raiz);
    value.escribir(&mut w);
    w.cerrar(raiz);
}

/// The encoder of an answer that is one element `raiz` (see [`elemento`]).
pub fn como<T: Campos>(raiz: &'static str) -> impl Fn(&mut Xml, &str, &T) {
    move |x, p, value| elemento(x, p, raiz, value)
}

/// [`Escritor`] onto the envelope: each name in the service's namespace.
struct Escribe<'a> {
    x: &'a mut Xml,
    p: &'a str,
}

impl Escritor for Escribe<'_> {
    fn abrir(&mut self, nombre: &str) {
        self.x.open(&format!("{}:{nombre}", self.p));
    }

    fn cerrar(&mut self, nombre: &str) {
        self.x.close(&format!("{}:{nombre}", self.p));
    }

    fn hoja(&mut self, nombre: &str, texto: &str) {
        self.x.leaf(&format!("{}:{nombre}", self.p), texto);
    }

    fn run(&mut self, nombre: &str, run: &str) {
        self.x.run(&format!("{}:{nombre}", self.p), Some(run));
    }
}

pub fn lote(x: &mut Xml, p: &str, r: &RespuestaLote) {
    for item in &r.resultados {
        x.open(&format!("{p}:resultado"))
            .leaf(&format!("{p}:run"), &item.run)
            .leaf(&format!("{p}:estado"), item.estado);
        if let Some(f) = &item.ficha {
            elemento(x, p, "ficha", f);
        }
        x.close(&format!("{p}:resultado"));
    }
}

pub fn allowed_methods(x: &mut Xml, p: &str, o: &OperacionesPermitidas) {
    let t = |name: &str| format!("{p}:{name}");
    x.leaf(&t("convenio"), &o.convenio)
        .leaf(&t("institucion"), &o.institucion);
    let ambito = [
        ("comuna", &o.ambito_comuna),
        ("provincia", &o.ambito_provincia),
        ("region", &o.ambito_region),
    ];
    for (nivel, codigo) in ambito {
        if let Some(codigo) = codigo {
            x.open(&t("ambito"))
                .leaf(&t("nivel"), nivel)
                .leaf(&t("codigo"), codigo)
                .close(&t("ambito"));
        }
    }
    for op in &o.operaciones {
        x.open(&t("operacion")).leaf(&t("nombre"), op.operacion);
        for campo in &op.campos {
            x.leaf(&t("campo"), campo);
        }
        for programa in op.programas.iter().flatten() {
            x.leaf(&t("programa"), programa);
        }
        for (clave, valores) in &op.listas {
            x.open(&t("lista")).leaf(&t("clave"), clave);
            for valor in valores {
                x.leaf(&t("valor"), valor);
            }
            x.close(&t("lista"));
        }
        x.close(&t("operacion"));
    }
}

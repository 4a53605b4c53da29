//! Answers as D.S. 81 envelopes inside SOAP 1.1 or 1.2, and failures as SOAP Faults.

use chrono::{SecondsFormat, Utc};

use super::ns;
use super::parse::XRoadHeader;
use super::xml::Xml;
use crate::broker::SoapVersion;
use crate::error::ApiError;
use crate::ops::accesos::Accesos;
use crate::ops::elegibilidad::Elegibilidad;
use crate::ops::ficha::FichaFps;
use crate::ops::identidad::ValidacionIdentidad;
use crate::ops::lote::RespuestaLote;
use crate::ops::meta::OperacionesPermitidas;

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
pub fn answer(sobre: &Sobre<'_>, estado: &str, cuerpo: Option<&dyn Fn(&mut Xml)>) -> String {
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
        .leaf("s:glosaSobre", glosa(estado))
        .close("s:metadataOperacional")
        .close("s:encabezado");
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
        .leaf("s:glosa", &detail)
        .close("s:detalle");
    match sobre.version {
        SoapVersion::V11 => x.close("detail"),
        SoapVersion::V12 => x.close("soap:Detail"),
    };
    x.close("soap:Fault").raw("</soap:Body></soap:Envelope>");
    x.finish()
}

pub fn ficha(x: &mut Xml, p: &str, f: &FichaFps) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("ficha"))
        .run(&t("run"), &f.run)
        .opt(&t("folio"), &f.folio)
        .opt(&t("puntaje"), &f.puntaje)
        .opt(&t("quintil"), &f.quintil)
        .opt(&t("fechaAplicacion"), &f.fecha_aplicacion);
    if let Some(c) = &f.comuna {
        x.open(&t("comuna"))
            .opt(&t("codigo"), &c.codigo)
            .opt(&t("nombre"), &c.nombre)
            .close(&t("comuna"));
    }
    x.opt(&t("estado"), &f.estado)
        .opt(&t("fallecido"), &f.fallecido);
    if let Some(members) = &f.integrantes {
        x.open(&t("integrantes"));
        for m in members {
            x.open(&t("integrante"))
                .run(&t("run"), &m.run)
                .opt(&t("nombres"), &m.nombres)
                .opt(&t("apellidoPaterno"), &m.apellido_paterno)
                .opt(&t("apellidoMaterno"), &m.apellido_materno)
                .opt(&t("fechaNacimiento"), &m.fecha_nacimiento)
                .opt(&t("sexo"), &m.sexo)
                .opt(&t("parentesco"), &m.parentesco)
                .close(&t("integrante"));
        }
        x.close(&t("integrantes"));
    }
    x.close(&t("ficha"));
}

pub fn lote(x: &mut Xml, p: &str, r: &RespuestaLote) {
    for item in &r.resultados {
        x.open(&format!("{p}:resultado"))
            .leaf(&format!("{p}:run"), &item.run)
            .leaf(&format!("{p}:estado"), item.estado);
        if let Some(f) = &item.ficha {
            ficha(x, p, f);
        }
        x.close(&format!("{p}:resultado"));
    }
}

pub fn validacion(x: &mut Xml, p: &str, v: &ValidacionIdentidad) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("validacion")).run(&t("run"), &v.run);
    if let Some(c) = &v.coincidencias {
        x.open(&t("coincidencias"))
            .opt(&t("nombres"), &c.nombres)
            .opt(&t("apellidoPaterno"), &c.apellido_paterno)
            .opt(&t("apellidoMaterno"), &c.apellido_materno)
            .opt(&t("fechaNacimiento"), &c.fecha_nacimiento)
            .close(&t("coincidencias"));
    }
    x.opt(&t("vivo"), &v.vivo).close(&t("validacion"));
}

pub fn elegibilidad(x: &mut Xml, p: &str, e: &Elegibilidad) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("elegibilidad"))
        .run(&t("run"), &e.run)
        .opt(&t("programa"), &e.programa)
        .opt(&t("elegible"), &e.elegible)
        .opt(&t("regla"), &e.regla)
        .opt(&t("motivo"), &e.motivo);
    if let Some(d) = &e.datos {
        x.open(&t("datos"))
            .opt(&t("puntaje"), &d.puntaje)
            .opt(&t("quintil"), &d.quintil)
            .opt(&t("edad"), &d.edad)
            .opt(&t("fallecido"), &d.fallecido)
            .opt(&t("tieneFicha"), &d.tiene_ficha)
            .opt(&t("comuna"), &d.comuna)
            .close(&t("datos"));
    }
    x.close(&t("elegibilidad"));
}

pub fn accesos(x: &mut Xml, p: &str, a: &Accesos) {
    let t = |name: &str| format!("{p}:{name}");
    x.open(&t("accesos")).run(&t("run"), &a.run);
    for acceso in a.accesos.iter().flatten() {
        x.open(&t("acceso"))
            .opt(&t("fecha"), &acceso.fecha)
            .opt(&t("convenio"), &acceso.convenio)
            .opt(&t("institucion"), &acceso.institucion)
            .opt(&t("operacion"), &acceso.operacion)
            .opt(&t("proposito"), &acceso.proposito)
            .opt(&t("resultado"), &acceso.resultado);
        for campo in acceso.campos.iter().flatten() {
            x.leaf(&t("campo"), campo);
        }
        x.close(&t("acceso"));
    }
    x.close(&t("accesos"));
}

pub fn allowed_methods(x: &mut Xml, p: &str, o: &OperacionesPermitidas) {
    let t = |name: &str| format!("{p}:{name}");
    x.leaf(&t("convenio"), &o.convenio)
        .leaf(&t("institucion"), &o.institucion);
    for op in &o.operaciones {
        x.open(&t("operacion")).leaf(&t("nombre"), op.operacion);
        for campo in &op.campos {
            x.leaf(&t("campo"), campo);
        }
        for programa in op.programas.iter().flatten() {
            x.leaf(&t("programa"), programa);
        }
        x.close(&t("operacion"));
    }
}

pub fn certificado(x: &mut Xml, p: &str, e: &crate::ops::certificado::Emision) {
    use base64::Engine;
    let t = |name: &str| format!("{p}:{name}");
    let emitido = e
        .emitido
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    let pdf = e
        .pdf
        .as_ref()
        .map(|b| base64::engine::general_purpose::STANDARD.encode(b));
    x.open(&t("certificado"))
        .opt(&t("folio"), &e.folio)
        .opt(&t("tipo"), &e.tipo)
        .opt(&t("emitido"), &emitido)
        .opt(&t("codigo"), &e.codigo)
        .opt(&t("urlVerificacion"), &e.url_verificacion)
        .opt(&t("payload"), &e.payload)
        .opt(&t("pdf"), &pdf);
    if let Some(d) = &e.datos {
        x.open(&t("datos"))
            .run(&t("run"), &d.run)
            .opt(&t("nombre"), &d.nombre)
            .opt(&t("folioFicha"), &d.folio_ficha)
            .opt(&t("fechaAplicacion"), &d.fecha_aplicacion)
            .opt(&t("comuna"), &d.comuna)
            .opt(&t("puntaje"), &d.puntaje)
            .opt(&t("quintil"), &d.quintil)
            .opt(&t("integrantes"), &d.integrantes)
            .close(&t("datos"));
    }
    x.close(&t("certificado"));
}

//! A streaming reader for SOAP requests (quick-xml; no tree of the whole body). It never
//! expands entities or fetches anything: a DTD, an entity other than the five predefined ones,
//! nesting deeper than [`MAX_DEPTH`], an encoding other than UTF-8, a missing or doubled
//! Envelope, Body or operation element are all `XML_INVALIDO`.
//!
//! What it keeps of the operation element is a flat list of leaf values by path (for example
//! `cuerpo/run/numero`), which the operation's decoder reads.

use crate::broker::SoapVersion;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use super::ns;
use crate::error::ApiError;

/// Deepest element nesting accepted (a real request needs about eight).
pub const MAX_DEPTH: usize = 32;
/// Most leaf values kept from one operation element: more than a body within the 1 MiB limit
/// can hold (a leaf takes at least 8 bytes), so that a batch over `broker.batch_max` is
/// answered LOTE_EXCEDIDO, as the contract says, rather than refused here.
const MAX_LEAVES: usize = 1 << 17;
/// Longest element name accepted (the contract's longest is under 30 characters).
const MAX_NAME: usize = 64;
/// Most bytes of paths and values kept from one message (a 1 MiB body of real values needs
/// less than this; a body of long names and many empty elements does not get it).
const MAX_KEPT: usize = 4 << 20;
/// Longest X-Road header value accepted (each is echoed and audited).
pub const MAX_XROAD_VALUE: usize = 256;
/// The X-Road headers accepted and echoed.
const XROAD_HEADERS: &[&str] = &[
    "client",
    "service",
    "id",
    "userId",
    "issue",
    "protocolVersion",
];

impl SoapVersion {
    pub fn namespace(self) -> &'static str {
        match self {
            SoapVersion::V11 => ns::SOAP11,
            SoapVersion::V12 => ns::SOAP12,
        }
    }
}

/// One X-Road header, kept in the order it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XRoadHeader {
    /// `client`, `service`, `id`, `userId`, `issue` or `protocolVersion`.
    pub name: String,
    /// Text content for simple headers.
    pub text: String,
    /// For `client` and `service`: `objectType` and the identifier parts, in order.
    pub object_type: Option<String>,
    pub parts: Vec<(String, String)>,
}

/// A decoded request: the operation element and what it carried.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Namespace and local name of the operation element.
    pub namespace: String,
    pub operation: String,
    pub xroad: Vec<XRoadHeader>,
    /// Leaf values below the operation element, by path relative to it.
    pub leaves: Vec<(String, String)>,
}

impl Request {
    /// The first non-empty value at `path`.
    pub fn value(&self, path: &str) -> Option<&str> {
        self.leaves
            .iter()
            .find(|(p, v)| p == path && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// The X-Road headers as (name, value) pairs for the audit log; identifiers are written
    /// `objectType:part/part/…`.
    pub fn xroad_pairs(&self) -> Vec<(String, String)> {
        self.xroad
            .iter()
            .map(|h| {
                let value = if h.parts.is_empty() {
                    h.text.clone()
                } else {
                    let parts: Vec<&str> = h.parts.iter().map(|(_, v)| v.as_str()).collect();
                    match &h.object_type {
                        Some(kind) => format!("{kind}:{}", parts.join("/")),
                        None => parts.join("/"),
                    }
                };
                (h.name.clone(), value)
            })
            .collect()
    }

    /// The X-Road message id, if the caller sent one.
    pub fn xroad_id(&self) -> Option<&str> {
        self.xroad
            .iter()
            .find(|h| h.name == "id")
            .map(|h| h.text.as_str())
    }
}

fn invalid(detail: &str) -> ApiError {
    ApiError::xml_invalido(detail.to_owned())
}

/// Where the reader is in the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Before,
    InEnvelope,
    InHeader,
    InBody,
    InOperation,
    AfterBody,
    Done,
}

/// Reads a whole SOAP request of the given version.
pub fn read(body: &[u8], version: SoapVersion) -> Result<Request, ApiError> {
    let text = std::str::from_utf8(body).map_err(|_| invalid("the body is not UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = NsReader::from_str(text);
    let config = reader.config_mut();
    // Not trim_text: it trims each text event, so the spaces next to an entity or character
    // reference (`Jos&#233; Luis`) would be lost. Values are trimmed whole in `value_of`.
    config.trim_text(false);
    config.check_end_names = true;
    config.expand_empty_elements = true;

    let mut place = Place::Before;
    let mut request = Request::default();
    // Element names (local) from the operation element down, for leaf paths.
    let mut path: Vec<String> = Vec::new();
    let mut header_item: Option<XRoadHeader> = None;
    let mut header_path: Vec<String> = Vec::new();
    let mut depth = 0usize;
    let mut text_buf = String::new();
    let mut seen_body = false;
    let mut kept = 0usize;

    loop {
        let (resolved, event) = reader
            .read_resolved_event()
            // quick-xml's message quotes the client's text: it is not echoed.
            .map_err(|_| invalid("malformed XML"))?;
        let namespace = match resolved {
            ResolveResult::Bound(ns) => Some(ns.as_ref().to_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(_) => return Err(invalid("an undeclared namespace prefix")),
        };
        match event {
            Event::Decl(decl) => {
                if let Some(encoding) = decl.encoding() {
                    let encoding = encoding.map_err(|_| invalid("unreadable XML declaration"))?;
                    if !encoding.eq_ignore_ascii_case("utf-8") {
                        return Err(invalid("only UTF-8 is accepted"));
                    }
                }
            }
            Event::DocType(_) => return Err(invalid("a DTD is not accepted")),
            Event::PI(_) => return Err(invalid("processing instructions are not accepted")),
            Event::GeneralRef(reference) => {
                let resolved = crate::xml::referencia(&reference).map_err(invalid)?;
                check_chars(resolved.encode_utf8(&mut [0; 4]))?;
                text_buf.push(resolved);
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                check_chars(&content)?;
                if place != Place::InOperation && place != Place::InHeader {
                    // Text outside the operation element or the headers means nothing here.
                    if !content.trim().is_empty() {
                        return Err(invalid("text outside the expected elements"));
                    }
                }
                text_buf.push_str(&content);
            }
            Event::CData(c) => {
                let content = c.xml10_content();
                check_chars(&content)?;
                text_buf.push_str(&content);
            }
            Event::Comment(_) => {}
            Event::Start(start) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(invalid("elements nested too deep"));
                }
                text_buf.clear();
                let local = start.local_name().as_ref().to_owned();
                if local.len() > MAX_NAME {
                    return Err(invalid("an element name is too long"));
                }
                let in_soap = namespace.as_deref() == Some(version.namespace());
                place = match (place, depth) {
                    (Place::Before, 1) if in_soap && local == "Envelope" => Place::InEnvelope,
                    (Place::Before, _) => {
                        return Err(invalid(
                            "the document is not a SOAP Envelope of the version asked",
                        ));
                    }
                    (Place::InEnvelope, 2) if in_soap && local == "Header" && !seen_body => {
                        Place::InHeader
                    }
                    (Place::InEnvelope, 2) if in_soap && local == "Body" && !seen_body => {
                        seen_body = true;
                        Place::InBody
                    }
                    (Place::InEnvelope, _) => {
                        return Err(invalid("the Envelope holds an unexpected or doubled part"));
                    }
                    (Place::AfterBody, _) => return Err(invalid("nothing may follow the Body")),
                    (Place::Done, _) => return Err(invalid("nothing may follow the Envelope")),
                    (Place::InHeader, 3) => {
                        if namespace.as_deref() == Some(ns::XROAD)
                            && XROAD_HEADERS.contains(&local.as_str())
                        {
                            let object_type = match start
                                .attributes()
                                .flatten()
                                .find(|a| a.key.local_name().as_ref() == "objectType")
                            {
                                Some(a) => {
                                    let value = a
                                        .normalized_value(XmlVersion::Implicit1_0)
                                        .map_err(|_| invalid("a malformed attribute value"))?;
                                    check_chars(&value)?;
                                    Some(value.into_owned())
                                }
                                None => None,
                            };
                            header_item = Some(XRoadHeader {
                                name: local.clone(),
                                text: String::new(),
                                object_type,
                                parts: Vec::new(),
                            });
                        }
                        header_path.clear();
                        Place::InHeader
                    }
                    (Place::InHeader, _) => {
                        // Echoed as an element name: it must be one.
                        if header_item.is_some() && !is_simple_name(&local) {
                            return Err(invalid("a malformed element name in a header"));
                        }
                        header_path.push(local.clone());
                        Place::InHeader
                    }
                    (Place::InBody, 3) => {
                        if !request.operation.is_empty() {
                            return Err(invalid("the Body holds more than one operation"));
                        }
                        request.operation = local.clone();
                        request.namespace = namespace.clone().unwrap_or_default();
                        path.clear();
                        Place::InOperation
                    }
                    (Place::InOperation, _) => {
                        let known = matches!(namespace.as_deref(), Some(n) if n == request.namespace || n == ns::SOBRE || n == ns::TIPOS);
                        if !known {
                            return Err(invalid("an element from an unexpected namespace"));
                        }
                        path.push(local.clone());
                        Place::InOperation
                    }
                    (other, _) => other,
                };
            }
            Event::End(_) => {
                match place {
                    Place::InOperation if depth == 3 => place = Place::InBody,
                    Place::InOperation => {
                        // Every element's end is kept, empty ones too, so that repeated
                        // groups (a batch's `run`) keep their boundaries.
                        let value = value_of(&mut text_buf);
                        let key = path.join("/");
                        kept += key.len() + value.len();
                        if request.leaves.len() >= MAX_LEAVES || kept > MAX_KEPT {
                            return Err(invalid("too many values in one message"));
                        }
                        request.leaves.push((key, value));
                        path.pop();
                    }
                    Place::InHeader if depth == 2 => place = Place::InEnvelope,
                    Place::InHeader if depth == 3 => {
                        if let Some(mut item) = header_item.take() {
                            item.text = value_of(&mut text_buf);
                            let too_long = item.text.chars().count() > MAX_XROAD_VALUE
                                || item.parts.len() > 8
                                || item
                                    .parts
                                    .iter()
                                    .any(|(_, v)| v.chars().count() > MAX_XROAD_VALUE);
                            if too_long {
                                return Err(invalid("an X-Road header is too long"));
                            }
                            if request.xroad.iter().any(|h| h.name == item.name) {
                                return Err(invalid("an X-Road header is repeated"));
                            }
                            request.xroad.push(item);
                        }
                    }
                    Place::InHeader => {
                        if let (Some(item), Some(part)) = (header_item.as_mut(), header_path.pop())
                        {
                            item.parts.push((part, value_of(&mut text_buf)));
                        }
                    }
                    Place::InBody if depth == 2 => place = Place::AfterBody,
                    Place::InEnvelope | Place::AfterBody if depth == 1 => place = Place::Done,
                    _ => {}
                }
                text_buf.clear();
                depth -= 1;
            }
            Event::Empty(_) => unreachable_empty()?,
            Event::Eof => break,
        }
    }
    if depth != 0 || place != Place::Done {
        return Err(invalid("the Envelope is incomplete"));
    }
    if request.operation.is_empty() {
        return Err(invalid("the Body holds no operation"));
    }
    Ok(request)
}

/// Whether XML 1.0 allows this character in a document (quick-xml does not check, and text
/// from headers is echoed).
fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn check_chars(text: &str) -> Result<(), ApiError> {
    if text.chars().all(is_xml_char) {
        Ok(())
    } else {
        Err(invalid("a character XML does not allow"))
    }
}

/// A name made of ASCII letters, digits, `_`, `-` and `.`, starting with a letter or `_`.
fn is_simple_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The text gathered for an element, without the whitespace around it.
fn value_of(buf: &mut String) -> String {
    let value = buf.trim().to_owned();
    buf.clear();
    value
}

/// `expand_empty_elements` turns every `<a/>` into a start and an end.
fn unreachable_empty() -> Result<(), ApiError> {
    Err(invalid("unexpected empty element"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const F: &str = "http://www.siis.gob.cl/esquemas/fichafps/v1";

    fn envelope(body: &str) -> String {
        format!(
            "<soapenv:Envelope xmlns:soapenv=\"{}\" xmlns:s=\"{}\" xmlns:t=\"{}\" xmlns:f=\"{F}\"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>",
            ns::SOAP11,
            ns::SOBRE,
            ns::TIPOS
        )
    }

    const OP: &str = "<f:ConsultarFichaFPS><s:encabezado><s:idSobre>m-1</s:idSobre></s:encabezado><f:cuerpo><f:run><t:numero>12345678</t:numero><t:dv>5</t:dv></f:run></f:cuerpo></f:ConsultarFichaFPS>";

    fn code(text: &str) -> &'static str {
        match read(text.as_bytes(), SoapVersion::V11) {
            Ok(_) => "OK",
            Err(e) => e.code.as_str(),
        }
    }

    #[test]
    fn reads_the_operation_and_its_values() {
        let r = read(envelope(OP).as_bytes(), SoapVersion::V11).unwrap();
        assert_eq!(
            (r.namespace.as_str(), r.operation.as_str()),
            (F, "ConsultarFichaFPS")
        );
        assert_eq!(r.value("encabezado/idSobre"), Some("m-1"));
        assert_eq!(r.value("cuerpo/run/numero"), Some("12345678"));
        assert_eq!(r.value("cuerpo/run/dv"), Some("5"));
    }

    #[test]
    fn predefined_and_character_references_are_text_other_entities_are_refused() {
        let op = OP.replace("m-1", "a&amp;b&#x41;&lt;");
        let r = read(envelope(&op).as_bytes(), SoapVersion::V11).unwrap();
        assert_eq!(r.value("encabezado/idSobre"), Some("a&bA<"));
        assert_eq!(code(&envelope(&OP.replace("m-1", "&xxe;"))), "XML_INVALIDO");
    }

    #[test]
    fn hostile_documents_are_refused() {
        let dtd = format!(
            "<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
            envelope(&OP.replace("m-1", "&xxe;"))
        );
        assert_eq!(code(&dtd), "XML_INVALIDO");
        let laughs = format!(
            "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;\">]>{}",
            envelope(OP)
        );
        assert_eq!(code(&laughs), "XML_INVALIDO");
        let deep = format!("{}{}", "<f:x>".repeat(10_000), "</f:x>".repeat(10_000));
        assert_eq!(
            code(&envelope(&format!(
                "<f:ConsultarFichaFPS>{deep}</f:ConsultarFichaFPS>"
            ))),
            "XML_INVALIDO"
        );
        let latin1 = format!(
            "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>{}",
            envelope(OP)
        );
        assert_eq!(code(&latin1), "XML_INVALIDO");
        assert_eq!(
            read(b"<a>\xff</a>", SoapVersion::V11).unwrap_err().code,
            "XML_INVALIDO"
        );
        assert_eq!(code(&format!("<?pi x?>{}", envelope(OP))), "XML_INVALIDO");
    }

    #[test]
    fn long_names_and_floods_of_values_are_refused_before_they_cost_memory() {
        let long = "n".repeat(MAX_NAME + 1);
        let op = OP.replace("<f:cuerpo>", &format!("<f:cuerpo><f:{long}>1</f:{long}>"));
        assert_eq!(code(&envelope(&op)), "XML_INVALIDO");
        // Names at the limit, nested deep, around many empty elements: the kept bytes are capped.
        let name = "n".repeat(MAX_NAME);
        let open: String = (0..25).map(|_| format!("<f:{name}>")).collect();
        let close: String = (0..25).map(|_| format!("</f:{name}>")).collect();
        let flood = format!(
            "<f:ConsultarFichaFPS>{open}{}{close}</f:ConsultarFichaFPS>",
            "<f:a/>".repeat(5_000)
        );
        let started = std::time::Instant::now();
        assert_eq!(code(&envelope(&flood)), "XML_INVALIDO");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        // A control character in a name is malformed XML, and the message does not echo it.
        let bad = envelope(&OP.replace("</f:cuerpo>", "</f:cuerpo\u{1}>"));
        let err = read(bad.as_bytes(), SoapVersion::V11).unwrap_err();
        assert_eq!(err.code, "XML_INVALIDO");
        assert!(!err.detail.contains('\u{1}'));
    }

    #[test]
    fn missing_doubled_or_misplaced_parts_are_refused() {
        assert_eq!(code(""), "XML_INVALIDO");
        assert_eq!(code(OP), "XML_INVALIDO", "no envelope");
        assert_eq!(code(&envelope("")), "XML_INVALIDO", "no operation");
        assert_eq!(
            code(&envelope(&format!("{OP}{OP}"))),
            "XML_INVALIDO",
            "two operations"
        );
        let two_bodies = envelope(OP).replace(
            "</soapenv:Body>",
            "</soapenv:Body><soapenv:Body></soapenv:Body>",
        );
        assert_eq!(code(&two_bodies), "XML_INVALIDO");
        assert_eq!(
            code(&format!("{}{}", envelope(OP), envelope(OP))),
            "XML_INVALIDO",
            "two envelopes"
        );
        let truncated = envelope(OP);
        assert_eq!(code(&truncated[..truncated.len() - 20]), "XML_INVALIDO");
        assert_eq!(
            code(&envelope(OP).replace("</f:cuerpo>", "</f:cuerpoo>")),
            "XML_INVALIDO"
        );
        // The 1.2 namespace is not a 1.1 envelope.
        let v12 = envelope(OP).replace(ns::SOAP11, ns::SOAP12);
        assert_eq!(code(&v12), "XML_INVALIDO");
        assert!(read(v12.as_bytes(), SoapVersion::V12).is_ok());
    }

    #[test]
    fn namespace_tricks_do_not_confuse_it() {
        // Another prefix bound to the same namespace is the same element.
        let renamed = envelope(OP).replace("xmlns:f=", "xmlns:g=\"urn:otro\" xmlns:f=");
        assert_eq!(code(&renamed), "OK");
        // The right local names in a foreign namespace are not the SOAP envelope.
        let foreign = envelope(OP).replace(
            &format!("xmlns:soapenv=\"{}\"", ns::SOAP11),
            "xmlns:soapenv=\"urn:falso\"",
        );
        assert_eq!(code(&foreign), "XML_INVALIDO");
        // An undeclared prefix is refused.
        assert_eq!(
            code(&envelope(
                &OP.replace("<f:cuerpo>", "<zz:cuerpo>")
                    .replace("</f:cuerpo>", "</zz:cuerpo>")
            )),
            "XML_INVALIDO"
        );
        // An element from a foreign namespace inside the operation is refused.
        assert_eq!(
            code(&envelope(&OP.replace(
                "<f:cuerpo>",
                "<f:cuerpo><x:y xmlns:x=\"urn:x\">1</x:y>"
            ))),
            "XML_INVALIDO"
        );
    }

    #[test]
    fn xroad_headers_are_kept_in_order() {
        let header = format!(
            "<soapenv:Header xmlns:xroad=\"{}\" xmlns:id=\"{}\"><xroad:protocolVersion>4.0</xroad:protocolVersion><xroad:id>xr-9</xroad:id><xroad:client id:objectType=\"SUBSYSTEM\"><id:xRoadInstance>CL</id:xRoadInstance><id:memberClass>GOV</id:memberClass><id:memberCode>61000000</id:memberCode><id:subsystemCode>serviu</id:subsystemCode></xroad:client><xroad:userId>CL123</xroad:userId></soapenv:Header>",
            ns::XROAD,
            ns::XROAD_ID
        );
        let text = envelope(OP).replace("<soapenv:Body>", &format!("{header}<soapenv:Body>"));
        let r = read(text.as_bytes(), SoapVersion::V11).unwrap();
        let names: Vec<&str> = r.xroad.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names, ["protocolVersion", "id", "client", "userId"]);
        assert_eq!(r.xroad_id(), Some("xr-9"));
        assert_eq!(r.xroad[2].object_type.as_deref(), Some("SUBSYSTEM"));
        assert_eq!(
            r.xroad[2].parts[3],
            ("subsystemCode".to_owned(), "serviu".to_owned())
        );
    }
}

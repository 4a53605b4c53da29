//! Reading the node's SOAP answers in tests: a small namespace-aware tree (quick-xml), its
//! re-serialisation as a standalone document for xmllint, and the (path, value) pairs of a
//! document for comparing SOAP with REST.

use std::collections::BTreeMap;
use std::fmt::Write;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};
use serde_json::Value;

pub const SOAP11: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const SOAP12: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const SOBRE: &str = "http://www.siis.gob.cl/esquemas/sobre/v1";
pub const TIPOS: &str = "http://www.siis.gob.cl/esquemas/tipos/v1";
pub const XROAD: &str = "http://x-road.eu/xsd/xroad.xsd";
pub const XROAD_ID: &str = "http://x-road.eu/xsd/identifiers";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// An element: namespace, local name, attributes (namespace, local name, value), children and
/// the text directly inside it.
#[derive(Debug, Clone, Default)]
pub struct Element {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String, String)>,
    pub children: Vec<Element>,
    pub text: String,
    /// Namespace declarations made on this element: (prefix, namespace), `""` for the default.
    pub decls: Vec<(String, String)>,
}

impl Element {
    /// The first child with this local name (any namespace).
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child with this local name.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at a `/`-separated path of local names below this one.
    pub fn at(&self, path: &str) -> Option<&Element> {
        path.split('/')
            .filter(|p| !p.is_empty())
            .try_fold(self, |e, name| e.child(name))
    }

    /// The text of the element at `path`.
    pub fn text_at(&self, path: &str) -> Option<&str> {
        self.at(path).map(|e| e.text.as_str())
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(_, n, _)| n == name)
            .map(|(_, _, v)| v.as_str())
    }
}

/// Parses a whole document into its root element; any XML or namespace error is an `Err`.
pub fn parse(text: &str) -> Result<Element, String> {
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let position = reader.buffer_position();
        let (resolved, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("malformed XML after byte {position}: {e}"))?;
        let ns = match resolved {
            ResolveResult::Bound(ns) => ns.as_ref().to_owned(),
            ResolveResult::Unbound => String::new(),
            ResolveResult::Unknown(p) => {
                return Err(format!("undeclared prefix {}", p));
            }
        };
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                let mut element = Element {
                    ns,
                    name: start.local_name().as_ref().to_owned(),
                    ..Element::default()
                };
                for attr in start.attributes() {
                    let attr = attr.map_err(|e| format!("bad attribute: {e}"))?;
                    let key = attr.key.as_ref();
                    if key == "xmlns" || key.starts_with("xmlns:") {
                        let prefix = key.strip_prefix("xmlns:").unwrap_or("");
                        let value = attr
                            .normalized_value(XmlVersion::Implicit1_0)
                            .map_err(|e| format!("bad namespace: {e}"))?;
                        element.decls.push((prefix.to_owned(), value.into_owned()));
                        continue;
                    }
                    let (ans, local) = reader.resolver().resolve_attribute(attr.key);
                    let ans = match ans {
                        ResolveResult::Bound(n) => n.as_ref().to_owned(),
                        ResolveResult::Unbound => String::new(),
                        ResolveResult::Unknown(p) => {
                            return Err(format!("undeclared attribute prefix {}", p));
                        }
                    };
                    let value = attr
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|e| format!("bad attribute value: {e}"))?
                        .into_owned();
                    element.attrs.push((ans, local.as_ref().to_owned(), value));
                }
                if matches!(event, Event::Start(_)) {
                    stack.push(element);
                } else {
                    close(element, &mut stack, &mut root)?;
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or("an end tag without a start")?;
                close(element, &mut stack, &mut root)?;
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(e) => e.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err("text outside the root element".into()),
                }
            }
            Event::CData(c) => {
                if let Some(e) = stack.last_mut() {
                    e.text.push_str(&c.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .ok()
                        .flatten()
                        .ok_or("a bad character reference")?
                } else {
                    match r.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        _ => return Err("an entity reference in an answer".into()),
                    }
                };
                if let Some(e) = stack.last_mut() {
                    e.text.push(c);
                }
            }
            Event::DocType(_) => return Err("a DTD in an answer".into()),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err("unclosed elements".into());
    }
    root.ok_or_else(|| "no root element".into())
}

fn close(
    element: Element,
    stack: &mut [Element],
    root: &mut Option<Element>,
) -> Result<(), String> {
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None if root.is_none() => *root = Some(element),
        None => return Err("more than one root element".into()),
    }
    Ok(())
}

/// The element as a standalone document, every namespace it uses declared on it (prefixes
/// `n0`, `n1`… in order of first use; `xml:` kept).
pub fn standalone(element: &Element) -> String {
    fn collect(e: &Element, out: &mut Vec<String>) {
        let mut add = |ns: &str| {
            if !ns.is_empty() && ns != XML_NS && !out.iter().any(|n| n == ns) {
                out.push(ns.to_owned());
            }
        };
        add(&e.ns);
        for (ns, _, _) in &e.attrs {
            add(ns);
        }
        for c in &e.children {
            collect(c, out);
        }
    }
    let mut namespaces = Vec::new();
    collect(element, &mut namespaces);
    let prefixes: BTreeMap<&str, String> = namespaces
        .iter()
        .enumerate()
        .map(|(i, ns)| (ns.as_str(), format!("n{i}")))
        .collect();
    let qname = |ns: &str, local: &str| match ns {
        "" => local.to_owned(),
        XML_NS => format!("xml:{local}"),
        _ => format!("{}:{local}", prefixes[ns]),
    };
    fn write(
        e: &Element,
        qname: &dyn Fn(&str, &str) -> String,
        declarations: &str,
        out: &mut String,
    ) {
        let tag = qname(&e.ns, &e.name);
        write!(out, "<{tag}{declarations}").unwrap();
        for (ns, local, value) in &e.attrs {
            write!(
                out,
                " {}=\"{}\"",
                qname(ns, local),
                quick_xml::escape::escape(value.as_str())
            )
            .unwrap();
        }
        out.push('>');
        out.push_str(&quick_xml::escape::escape(e.text.as_str()));
        for c in &e.children {
            write(c, qname, "", out);
        }
        write!(out, "</{tag}>").unwrap();
    }
    let declarations: String = namespaces
        .iter()
        .map(|ns| format!(" xmlns:{}=\"{ns}\"", prefixes[ns.as_str()]))
        .collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    write(element, &qname, &declarations, &mut out);
    out
}

/// A multiset of (dotted path, value) pairs, sorted.
pub type Pairs = Vec<(String, String)>;

/// The (path, value) pairs of a SOAP document below `element`: a `t:Run` (`numero` + `dv`) is
/// one value `numero-dv`; repeated items take their list's name (`integrantes/integrante/x`
/// is `integrantes.x`, `acceso` is `accesos`, `campo` is `campos`, `resultado` is
/// `resultados`), as in the JSON answers.
pub fn soap_pairs(element: &Element) -> Pairs {
    fn walk(e: &Element, path: &str, out: &mut Pairs) {
        let is_run = e.children.len() == 2
            && e.children.iter().all(|c| c.ns == TIPOS)
            && e.children[0].name == "numero"
            && e.children[1].name == "dv";
        if is_run {
            out.push((
                path.to_owned(),
                format!("{}-{}", e.children[0].text, e.children[1].text),
            ));
            return;
        }
        if e.children.is_empty() {
            out.push((path.to_owned(), e.text.clone()));
            return;
        }
        for c in &e.children {
            let name = match (e.name.as_str(), c.name.as_str()) {
                ("integrantes", "integrante") | ("eventos", "evento") => None,
                // Chile Crece Contigo's follow-up.
                ("controles", "control")
                | ("alertas", "alerta")
                | ("derivaciones", "derivacion") => None,
                (_, "acceso") => Some("accesos"),
                (_, "campo") => Some("campos"),
                (_, "resultado") => Some("resultados"),
                (_, other) => Some(other),
            };
            let child_path = match name {
                None => path.to_owned(),
                Some(n) if path.is_empty() => n.to_owned(),
                Some(n) => format!("{path}.{n}"),
            };
            walk(c, &child_path, out);
        }
    }
    let mut out = Vec::new();
    walk(element, "", &mut out);
    out.sort();
    out
}

/// The (path, value) pairs of a JSON answer: array items share their array's path, numbers
/// and booleans as text, an empty object or array as an empty value (an empty element).
pub fn json_pairs(value: &Value) -> Pairs {
    fn walk(value: &Value, path: &str, out: &mut Pairs) {
        match value {
            // What an empty element is in XML.
            Value::Object(map) if map.is_empty() && !path.is_empty() => {
                out.push((path.to_owned(), String::new()))
            }
            Value::Array(items) if items.is_empty() && !path.is_empty() => {
                out.push((path.to_owned(), String::new()))
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(v, &p, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, path, out)),
            Value::String(s) => out.push((path.to_owned(), s.clone())),
            Value::Null => out.push((path.to_owned(), "null".to_owned())),
            other => out.push((path.to_owned(), other.to_string())),
        }
    }
    let mut out = Vec::new();
    walk(value, "", &mut out);
    out.sort();
    out
}

//! XML batches (`schemas/lotes-v1.xsd`): a `lote` element in namespace `http://www.siis.gob.cl/esquemas/lotes/v1`
//! whose `tipo` attribute names the kind, holding `registro` elements whose children are named
//! as the kind's CSV columns. Read as a stream; no DTD, no entities beyond the predefined ones.
//! A document that is not well formed (a truncated file) is refused whole.

use std::cell::Cell;
use std::io::{BufRead, Read};
use std::rc::Rc;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

use super::lectura::{Estado, Huella, Limite};
use super::{LoteError, Progreso, TipoLote};

pub const NAMESPACE: &str = "http://www.siis.gob.cl/esquemas/lotes/v1";
/// Longest value of one field kept (longer ones reject their record, and are not kept).
const MAX_VALUE: usize = 1_000;
const PROGRESS_EVERY: u64 = 10_000;

fn invalid(detail: impl Into<String>) -> LoteError {
    LoteError::Formato {
        formato: "xml",
        detail: detail.into(),
    }
}

/// The record being read: each column's value, and what was wrong with it, if anything.
struct Registro {
    linea: u64,
    values: Vec<Option<String>>,
    current: Option<usize>,
    problem: Option<(&'static str, String)>,
}

pub(super) fn leer(
    reader: impl BufRead,
    limite: &Limite,
    tipo: TipoLote,
    huella: &Huella,
    state: &mut Estado<'_>,
    progreso: &mut dyn Progreso,
) -> Result<(), LoteError> {
    let columnas = tipo.columnas();
    let newlines = Rc::new(Cell::new(0u64));
    let mut reader = NsReader::from_reader(Lineas {
        inner: reader,
        newlines: newlines.clone(),
    });
    let config = reader.config_mut();
    config.trim_text(false);
    config.check_end_names = true;
    config.expand_empty_elements = true;
    let mut buf = Vec::new();
    let mut depth = 0usize;
    let mut root_seen = false;
    let mut registro: Option<Registro> = None;
    loop {
        buf.clear();
        let line = newlines.get() + 1;
        // Each event (a tag, a text) is bounded: an endless one is refused, not buffered.
        limite.fin();
        let (resolved, event) = reader.read_resolved_event_into(&mut buf).map_err(|e| {
            if limite.excedido() {
                LoteError::RegistroDemasiadoGrande { linea: line }
            } else {
                invalid(format!("malformed XML near line {line}: {}", problema(&e)))
            }
        })?;
        let in_ns = matches!(&resolved, ResolveResult::Bound(ns) if ns.as_ref() == NAMESPACE);
        match event {
            Event::Decl(_) | Event::Comment(_) => {}
            Event::DocType(_) => return Err(invalid("a DTD is not accepted")),
            Event::PI(_) => return Err(invalid("processing instructions are not accepted")),
            Event::Start(start) => {
                depth += 1;
                let name = start.local_name();
                let name: &str = name.as_ref();
                match depth {
                    1 => {
                        if !in_ns || name != "lote" {
                            return Err(invalid(format!(
                                "the root element must be lote in namespace {NAMESPACE}"
                            )));
                        }
                        root_seen = true;
                        let found = start
                            .try_get_attribute("tipo")
                            .ok()
                            .flatten()
                            .map(|a| a.value.into_owned())
                            .unwrap_or_default();
                        if found != tipo.as_str() {
                            return Err(LoteError::Encabezado {
                                tipo,
                                expected: format!("<lote tipo=\"{tipo}\">"),
                                diferencia: format!("the tipo attribute of lote is not \"{tipo}\""),
                            });
                        }
                    }
                    2 => {
                        if !in_ns || name != "registro" {
                            return Err(invalid(format!(
                                "line {line}: lote holds registro elements only"
                            )));
                        }
                        registro = Some(Registro {
                            linea: line,
                            values: vec![None; columnas.len()],
                            current: None,
                            problem: None,
                        });
                    }
                    3 => {
                        let r = registro
                            .as_mut()
                            .ok_or_else(|| invalid("misplaced element"))?;
                        match columnas.iter().position(|c| *c == name).filter(|_| in_ns) {
                            None => {
                                r.problem.get_or_insert((
                                    "CAMPO_DESCONOCIDO",
                                    format!(
                                        "an element is not a field of {tipo}; the fields are {}",
                                        columnas.join(", ")
                                    ),
                                ));
                                r.current = None;
                            }
                            Some(i) if r.values[i].is_some() => {
                                r.problem.get_or_insert((
                                    "CAMPO_REPETIDO",
                                    format!("{name} is given twice"),
                                ));
                                r.current = None;
                            }
                            Some(i) => {
                                r.values[i] = Some(String::new());
                                r.current = Some(i);
                            }
                        }
                    }
                    _ => return Err(invalid(format!("line {line}: elements nested too deep"))),
                }
            }
            Event::End(_) => {
                if depth == 2
                    && let Some(r) = registro.take()
                {
                    finish(r, tipo, state)?;
                    if state.lectura.leidos.is_multiple_of(PROGRESS_EVERY) {
                        progreso.validando(
                            reader.buffer_position(),
                            huella.size,
                            state.lectura.leidos,
                        );
                    }
                } else if depth == 3
                    && let Some(r) = registro.as_mut()
                {
                    r.current = None;
                }
                depth -= 1;
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                push_text(&mut registro, depth, &content, line)?;
            }
            Event::CData(c) => {
                let content = c.xml10_content();
                push_text(&mut registro, depth, &content, line)?;
            }
            Event::GeneralRef(reference) => {
                let resolved = crate::xml::referencia(&reference)
                    .map_err(|why| invalid(format!("line {line}: {why}")))?;
                push_text(
                    &mut registro,
                    depth,
                    resolved.encode_utf8(&mut [0; 4]),
                    line,
                )?;
            }
            Event::Empty(_) => return Err(invalid("unexpected empty element")),
            Event::Eof => {
                if !root_seen || depth > 0 {
                    return Err(invalid(
                        "the document ends before </lote>: the file is truncated or empty",
                    ));
                }
                return Ok(());
            }
        }
    }
}

/// What was wrong with a document quick-xml could not read, in the node's words: its own
/// messages can quote the document (an end tag's name), which is not sent back.
fn problema(error: &quick_xml::Error) -> &'static str {
    use quick_xml::Error;
    match error {
        Error::Syntax(_) => "a syntax error (an unclosed tag, comment or CDATA section)",
        Error::IllFormed(_) => "the elements are not well nested",
        Error::Encoding(_) => "the text is not valid UTF-8",
        Error::Escape(_) => "a bad character or entity reference",
        Error::Namespace(_) => "an undeclared namespace prefix",
        Error::InvalidAttr(_) => "a malformed attribute",
        _ => "the document cannot be read",
    }
}

/// A reader that counts the line ends the XML reader has consumed: an event starts on the line
/// after those consumed before it was read.
struct Lineas<R> {
    inner: R,
    newlines: Rc<Cell<u64>>,
}

impl<R: BufRead> Read for Lineas<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(out)?;
        self.count(&out[..n]);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Lineas<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.inner.fill_buf() {
            let n = buf[..amt.min(buf.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.newlines.set(self.newlines.get() + n as u64);
        }
        self.inner.consume(amt);
    }
}

impl<R> Lineas<R> {
    fn count(&self, bytes: &[u8]) {
        let n = bytes.iter().filter(|&&b| b == b'\n').count();
        self.newlines.set(self.newlines.get() + n as u64);
    }
}

fn push_text(
    registro: &mut Option<Registro>,
    depth: usize,
    content: &str,
    line: u64,
) -> Result<(), LoteError> {
    match (depth, registro.as_mut()) {
        (3, Some(r)) => {
            if let Some(i) = r.current
                && let Some(value) = r.values[i].as_mut()
            {
                if value.len() + content.len() > MAX_VALUE {
                    r.problem.get_or_insert((
                        "CAMPO_INVALIDO",
                        format!("a value is longer than {MAX_VALUE} bytes"),
                    ));
                    r.current = None;
                } else {
                    value.push_str(content);
                }
            }
            Ok(())
        }
        _ if content.trim().is_empty() => Ok(()),
        _ => Err(invalid(format!(
            "line {line}: text outside the fields of a registro"
        ))),
    }
}

fn finish(r: Registro, tipo: TipoLote, state: &mut Estado<'_>) -> Result<(), LoteError> {
    if let Some((codigo, motivo)) = r.problem {
        state.rechazo(r.linea, codigo, motivo)?;
        return Ok(());
    }
    let missing: Vec<&str> = tipo
        .columnas()
        .iter()
        .zip(&r.values)
        .filter(|(_, v)| v.is_none())
        .map(|(c, _)| *c)
        .collect();
    if !missing.is_empty() {
        state.rechazo(
            r.linea,
            "CAMPOS_INCORRECTOS",
            format!("missing field(s): {}", missing.join(", ")),
        )?;
        return Ok(());
    }
    let fields: Vec<&str> = r
        .values
        .iter()
        .map(|v| v.as_deref().unwrap_or(""))
        .collect();
    state.registro(r.linea, &fields)
}

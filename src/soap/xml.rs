//! A small XML writer for answers: elements are written in schema order straight into a
//! string, text always escaped.

use std::fmt::Display;

use quick_xml::escape::escape;

pub struct Xml {
    out: String,
}

impl Xml {
    pub fn new() -> Xml {
        Xml {
            out: String::with_capacity(2048),
        }
    }

    pub fn raw(&mut self, text: &str) -> &mut Self {
        self.out.push_str(text);
        self
    }

    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// `<tag>text</tag>`, text escaped (and stripped of characters XML 1.0 forbids).
    pub fn leaf(&mut self, tag: &str, text: impl Display) -> &mut Self {
        self.open(tag);
        self.text(&text.to_string());
        self.close(tag)
    }

    /// Escaped text, without characters XML 1.0 forbids.
    pub fn text(&mut self, text: &str) -> &mut Self {
        if text.chars().all(is_xml_char) {
            self.out.push_str(&escape(text));
        } else {
            let kept: String = text.chars().filter(|c| is_xml_char(*c)).collect();
            self.out.push_str(&escape(kept.as_str()));
        }
        self
    }

    /// A leaf only when the value is present.
    pub fn opt<T: Display>(&mut self, tag: &str, value: &Option<T>) -> &mut Self {
        if let Some(v) = value {
            self.leaf(tag, v);
        }
        self
    }

    /// A RUN written as `t:Run` (`numero` + `dv`) from its canonical text `12345678-5`.
    pub fn run(&mut self, tag: &str, value: Option<&str>) -> &mut Self {
        if let Some((numero, dv)) = value.and_then(|r| r.split_once('-')) {
            self.open(tag)
                .leaf("t:numero", numero)
                .leaf("t:dv", dv)
                .close(tag);
        }
        self
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Whether XML 1.0 allows this character in a document.
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

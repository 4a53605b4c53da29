//! What a certificate says, and its canonical byte encoding (the bytes that are signed).

use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::domain::{Cut, Run};

/// The two kinds of certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Tipo {
    /// The person's household was surveyed: ficha folio, date and comuna.
    #[serde(rename = "constancia")]
    Constancia,
    /// The FPS itself: also score, quintile and household size.
    #[serde(rename = "certificado_fps")]
    CertificadoFps,
}

impl Tipo {
    pub fn as_str(self) -> &'static str {
        match self {
            Tipo::Constancia => "constancia",
            Tipo::CertificadoFps => "certificado_fps",
        }
    }

    pub fn parse(text: &str) -> Option<Tipo> {
        match text {
            "constancia" => Some(Tipo::Constancia),
            "certificado_fps" => Some(Tipo::CertificadoFps),
            _ => None,
        }
    }

    /// The folio prefix of this kind.
    fn prefix(self) -> &'static str {
        match self {
            Tipo::Constancia => "CON",
            Tipo::CertificadoFps => "CFP",
        }
    }

    /// The title printed on the PDF.
    pub fn titulo(self) -> &'static str {
        match self {
            Tipo::Constancia => "Constancia de Encuestaje",
            Tipo::CertificadoFps => "Certificado de Ficha de Protección Social",
        }
    }
}

/// A certificate's folio: `CFP-` or `CON-` and 12 Crockford base32 characters from 60 random
/// bits in groups of four (`CFP-7K3M-9Q2X-HB4T`), so folios cannot be enumerated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Folio(String);

impl Folio {
    /// A fresh random folio for `tipo`.
    pub fn generate(tipo: Tipo) -> Result<Folio, openssl::error::ErrorStack> {
        super::firma::random_folio(tipo.prefix()).map(Folio)
    }

    /// A folio as typed (case-insensitive); `None` if it cannot be one.
    pub fn parse(text: &str) -> Option<Folio> {
        super::firma::parse_folio(text, &["CFP", "CON"]).map(Folio)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Folio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The signed content of a certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct Contenido {
    pub tipo: Tipo,
    pub folio: Folio,
    /// Issue time, whole seconds, UTC.
    pub emitido: DateTime<Utc>,
    /// The agreement it was issued under (`muni-13101`).
    pub emisor: String,
    pub run: Run,
    /// Full name as the registry holds it.
    pub nombre: String,
    pub folio_ficha: i64,
    pub fecha_aplicacion: NaiveDate,
    pub comuna: Cut,
    /// `certificado_fps` only.
    pub puntaje: Option<u16>,
    pub quintil: Option<u8>,
    /// Persons in the household (`certificado_fps` only).
    pub integrantes: Option<u32>,
}

/// Format version, the first field of the canonical encoding.
const VERSION: &str = "1";
const FIELDS: usize = 13;

/// A text field as it may appear in the content: `|` and control characters become spaces.
pub fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c == '|' || c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

impl Contenido {
    /// The canonical encoding: `1|tipo|folio|emitido|emisor|run|nombre|folioFicha|
    /// fechaAplicacion|comuna|puntaje|quintil|integrantes` in UTF-8, with `emitido` as RFC 3339
    /// UTC seconds (`2026-11-28T09:30:00Z`), the RUN as `12345678-5`, dates `YYYY-MM-DD`, the
    /// comuna as its CUT, and the last three empty in a `constancia`.
    pub fn canonical(&self) -> String {
        let opt = |v: Option<String>| v.unwrap_or_default();
        [
            VERSION.to_owned(),
            self.tipo.as_str().to_owned(),
            self.folio.to_string(),
            self.emitido.to_rfc3339_opts(SecondsFormat::Secs, true),
            clean(&self.emisor),
            self.run.to_string(),
            clean(&self.nombre),
            self.folio_ficha.to_string(),
            self.fecha_aplicacion.to_string(),
            self.comuna.to_string(),
            opt(self.puntaje.map(|v| v.to_string())),
            opt(self.quintil.map(|v| v.to_string())),
            opt(self.integrantes.map(|v| v.to_string())),
        ]
        .join("|")
    }

    /// Parses a canonical encoding; anything that does not re-encode to the same bytes is
    /// refused.
    pub fn parse(text: &str) -> Option<Contenido> {
        let f: Vec<&str> = text.split('|').collect();
        if f.len() != FIELDS || f[0] != VERSION {
            return None;
        }
        let tipo = Tipo::parse(f[1])?;
        fn num(s: &str) -> Option<&str> {
            if s.is_empty() { None } else { Some(s) }
        }
        let contenido = Contenido {
            tipo,
            folio: Folio::parse(f[2])?,
            emitido: DateTime::parse_from_rfc3339(f[3]).ok()?.with_timezone(&Utc),
            emisor: f[4].to_owned(),
            run: Run::parse(f[5]).ok()?,
            nombre: f[6].to_owned(),
            folio_ficha: f[7].parse().ok()?,
            fecha_aplicacion: f[8].parse().ok()?,
            comuna: Cut::parse(f[9]).ok()?,
            puntaje: num(f[10]).map(str::parse).transpose().ok()?,
            quintil: num(f[11]).map(str::parse).transpose().ok()?,
            integrantes: num(f[12]).map(str::parse).transpose().ok()?,
        };
        let fps = [
            contenido.puntaje.is_some(),
            contenido.quintil.is_some(),
            contenido.integrantes.is_some(),
        ];
        let shape_ok = match tipo {
            Tipo::Constancia => fps == [false; 3],
            Tipo::CertificadoFps => fps == [true; 3],
        };
        (shape_ok && contenido.canonical() == text).then_some(contenido)
    }

    /// The RUN as the public verification page shows it: only the last three digits and
    /// the check digit (`**.***.678-5`).
    pub fn run_enmascarado(&self) -> String {
        let dotted = self.run.dotted();
        let keep = dotted.len().saturating_sub(5);
        dotted
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i < keep && c.is_ascii_digit() {
                    '*'
                } else {
                    c
                }
            })
            .collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Contenido {
        Contenido {
            tipo: Tipo::CertificadoFps,
            folio: Folio::parse("CFP-7K3M-9Q2X-HB4T").unwrap(),
            emitido: "2026-11-28T09:30:00Z".parse().unwrap(),
            emisor: "muni-13101".into(),
            run: Run::parse("12.345.678-5").unwrap(),
            nombre: "María José Núñez Pérez".into(),
            folio_ficha: 1234567,
            fecha_aplicacion: "2025-03-02".parse().unwrap(),
            comuna: Cut::parse("13101").unwrap(),
            puntaje: Some(8123),
            quintil: Some(1),
            integrantes: Some(4),
        }
    }

    #[test]
    fn the_canonical_encoding_is_fixed_and_round_trips() {
        let c = sample();
        let text = c.canonical();
        assert_eq!(
            text,
            "1|certificado_fps|CFP-7K3M-9Q2X-HB4T|2026-11-28T09:30:00Z|muni-13101|12345678-5|\
             María José Núñez Pérez|1234567|2025-03-02|13101|8123|1|4"
        );
        assert_eq!(Contenido::parse(&text), Some(c));
    }

    #[test]
    fn non_canonical_or_misshapen_content_is_refused() {
        let text = sample().canonical();
        // A constancia does not carry a score.
        assert_eq!(
            Contenido::parse(&text.replace("certificado_fps|CFP", "constancia|CFP")),
            None
        );
        assert_eq!(Contenido::parse(&text.replace("|8123|", "|08123|")), None);
        assert_eq!(Contenido::parse(&format!("{text}|x")), None);
        assert_eq!(Contenido::parse(&text.replace("1|cert", "2|cert")), None);
        assert_eq!(clean("a|b\nc"), "a b c");
    }

    #[test]
    fn folios_are_random_and_parse_back() {
        let a = Folio::generate(Tipo::CertificadoFps).unwrap();
        let b = Folio::generate(Tipo::CertificadoFps).unwrap();
        assert_ne!(a, b);
        assert_eq!(Folio::parse(&a.as_str().to_lowercase()), Some(a.clone()));
        assert!(a.as_str().starts_with("CFP-"));
        assert!(
            Folio::generate(Tipo::Constancia)
                .unwrap()
                .as_str()
                .starts_with("CON-")
        );
        assert_eq!(Folio::parse("CFP-1234-5678"), None);
        assert_eq!(Folio::parse("XXX-1234-5678-9ABC"), None);
        assert_eq!(Folio::parse("CFP-UUUU-5678-9ABC"), None);
    }

    #[test]
    fn the_public_page_masks_the_run() {
        assert_eq!(sample().run_enmascarado(), "**.***.678-5");
    }
}

//! What a decree says, and its canonical encoding (the bytes that are signed). A decree names
//! every person it grants, which no QR code can hold; so the signed text carries the SHA-256
//! of its lines ([`lineas_sha256`]), and the lines are kept beside it (`decreto_lineas`).

use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use crate::domain::{Cut, Run};
use crate::ops::certificados::contenido::clean;
use crate::ops::certificados::firma::{parse_folio, random_folio};

/// Folio prefix of decrees.
pub const PREFIJO: &str = "DEC";

/// A decree's folio: `DEC-` and 12 random Crockford base32 characters (`DEC-7K3M-9Q2X-HB4T`).
/// Random like a certificate's, so folios cannot be enumerated; the human number is
/// [`ContenidoDecreto::numero`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct FolioDecreto(String);

impl FolioDecreto {
    pub fn generate() -> Result<FolioDecreto, openssl::error::ErrorStack> {
        random_folio(PREFIJO).map(FolioDecreto)
    }

    /// A folio as typed (case-insensitive); `None` if it cannot be a decree's.
    pub fn parse(text: &str) -> Option<FolioDecreto> {
        parse_folio(text, &[PREFIJO]).map(FolioDecreto)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FolioDecreto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The month a decree grants for: `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Periodo {
    pub anio: i32,
    pub mes: u32,
}

impl Periodo {
    /// `YYYY-MM` with a month 01-12 and a year 2000-2999; `None` otherwise.
    pub fn parse(text: &str) -> Option<Periodo> {
        let (anio, mes) = text.split_once('-')?;
        if anio.len() != 4
            || mes.len() != 2
            || !(anio.bytes().chain(mes.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let (anio, mes): (i32, u32) = (anio.parse().ok()?, mes.parse().ok()?);
        ((2000..3000).contains(&anio) && (1..=12).contains(&mes)).then_some(Periodo { anio, mes })
    }

    /// The month holding `day`.
    pub fn of(day: NaiveDate) -> Periodo {
        use chrono::Datelike;
        Periodo {
            anio: day.year(),
            mes: day.month(),
        }
    }

    /// Its first day: when the benefits it grants start.
    pub fn inicio(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.anio, self.mes, 1).expect("a parsed period is a month")
    }

    /// The month's name and year in Spanish (`diciembre de 2026`).
    pub fn nombre(self) -> String {
        const MESES: [&str; 12] = [
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ];
        format!("{} de {}", MESES[(self.mes - 1) as usize], self.anio)
    }
}

impl fmt::Display for Periodo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.anio, self.mes)
    }
}

/// One granted postulation as the decree lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Linea {
    /// 1, 2, … in the waiting list's order.
    pub orden: u32,
    /// The person granted (for SUF, the payee; its causantes are counted).
    pub run: Run,
    pub nombre: String,
    /// The score the ranking used (the ficha in force at the decree).
    pub puntaje: Option<u16>,
    /// SUF: how many causantes the grant pays for; 1 otherwise.
    pub causantes: u32,
    /// The monthly amount granted, CLP.
    pub monto: i64,
    /// The postulation granted.
    pub postulacion: String,
}

impl Linea {
    /// `orden|run|nombre|puntaje|causantes|monto|postulacion`.
    pub fn canonical(&self) -> String {
        [
            self.orden.to_string(),
            self.run.to_string(),
            clean(&self.nombre),
            self.puntaje.map(|p| p.to_string()).unwrap_or_default(),
            self.causantes.to_string(),
            self.monto.to_string(),
            clean(&self.postulacion),
        ]
        .join("|")
    }
}

/// SHA-256 (lower-case hex) of the lines' canonical encodings joined by `\n`: what the signed
/// content names, so anyone holding the lines can check they are the decree's.
pub fn lineas_sha256(lineas: &[Linea]) -> String {
    let text = lineas
        .iter()
        .map(Linea::canonical)
        .collect::<Vec<_>>()
        .join("\n");
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The signed content of a decree.
#[derive(Debug, Clone, PartialEq)]
pub struct ContenidoDecreto {
    pub folio: FolioDecreto,
    /// Issue time, whole seconds, UTC.
    pub emitido: DateTime<Utc>,
    /// The agreement it was issued under (`muni-13101`).
    pub emisor: String,
    pub comuna: Cut,
    /// `SUF`, `PASIS` or `SAP`.
    pub programa: String,
    pub periodo: Periodo,
    /// The municipality's decree number in its year (`N° 15/2026`).
    pub numero: u32,
    pub otorgadas: u32,
    pub lineas_sha256: String,
}

const VERSION: &str = "1";
const TIPO: &str = "decreto";
const FIELDS: usize = 11;

impl ContenidoDecreto {
    /// `1|decreto|folio|emitido|emisor|comuna|programa|periodo|numero|otorgadas|lineasSha256`,
    /// `emitido` as RFC 3339 UTC seconds and `periodo` as `YYYY-MM`.
    pub fn canonical(&self) -> String {
        [
            VERSION.to_owned(),
            TIPO.to_owned(),
            self.folio.to_string(),
            self.emitido.to_rfc3339_opts(SecondsFormat::Secs, true),
            clean(&self.emisor),
            self.comuna.to_string(),
            clean(&self.programa),
            self.periodo.to_string(),
            self.numero.to_string(),
            self.otorgadas.to_string(),
            self.lineas_sha256.clone(),
        ]
        .join("|")
    }

    /// Parses a canonical encoding; anything that does not re-encode to the same bytes is
    /// refused.
    pub fn parse(text: &str) -> Option<ContenidoDecreto> {
        let f: Vec<&str> = text.split('|').collect();
        if f.len() != FIELDS || f[0] != VERSION || f[1] != TIPO {
            return None;
        }
        let contenido = ContenidoDecreto {
            folio: FolioDecreto::parse(f[2])?,
            emitido: DateTime::parse_from_rfc3339(f[3]).ok()?.with_timezone(&Utc),
            emisor: f[4].to_owned(),
            comuna: Cut::parse(f[5]).ok()?,
            programa: f[6].to_owned(),
            periodo: Periodo::parse(f[7])?,
            numero: f[8].parse().ok()?,
            otorgadas: f[9].parse().ok()?,
            lineas_sha256: f[10].to_owned(),
        };
        let hash_ok = contenido.lineas_sha256.len() == 64
            && contenido
                .lineas_sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        (hash_ok && contenido.canonical() == text).then_some(contenido)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn lineas() -> Vec<Linea> {
        vec![
            Linea {
                orden: 1,
                run: Run::parse("12.345.678-5").unwrap(),
                nombre: "María José Núñez Pérez".into(),
                puntaje: Some(4213),
                causantes: 2,
                monto: 15_000,
                postulacion: "POS-1".into(),
            },
            Linea {
                orden: 2,
                run: Run::parse("11.111.111-1").unwrap(),
                nombre: "Juan | Pérez".into(),
                puntaje: None,
                causantes: 1,
                monto: 7_500,
                postulacion: "POS-2".into(),
            },
        ]
    }

    pub(crate) fn sample() -> ContenidoDecreto {
        ContenidoDecreto {
            folio: FolioDecreto::parse("DEC-7K3M-9Q2X-HB4T").unwrap(),
            emitido: "2026-12-01T09:30:00Z".parse().unwrap(),
            emisor: "muni-13101".into(),
            comuna: Cut::parse("13101").unwrap(),
            programa: "SUF".into(),
            periodo: Periodo::parse("2026-12").unwrap(),
            numero: 15,
            otorgadas: 2,
            lineas_sha256: lineas_sha256(&lineas()),
        }
    }

    #[test]
    fn the_canonical_encoding_is_fixed_and_round_trips() {
        let c = sample();
        let text = c.canonical();
        assert_eq!(
            text,
            format!(
                "1|decreto|DEC-7K3M-9Q2X-HB4T|2026-12-01T09:30:00Z|muni-13101|13101|SUF|2026-12|15|2|{}",
                c.lineas_sha256
            )
        );
        assert_eq!(ContenidoDecreto::parse(&text), Some(c));
        assert_eq!(
            ContenidoDecreto::parse(&text.replace("|15|", "|015|")),
            None
        );
        assert_eq!(
            ContenidoDecreto::parse(&text.replace("1|decreto", "1|constancia")),
            None
        );
        assert_eq!(ContenidoDecreto::parse(&format!("{text}|x")), None);
    }

    #[test]
    fn the_lines_hash_covers_every_line_and_field() {
        let lineas = lineas();
        assert_eq!(
            lineas[1].canonical(),
            "2|11111111-1|Juan   Pérez||1|7500|POS-2",
            "a | in a name is cleaned out"
        );
        let hash = lineas_sha256(&lineas);
        assert_eq!(hash.len(), 64);
        let mut altered = lineas.clone();
        altered[0].monto += 1;
        assert_ne!(lineas_sha256(&altered), hash);
        assert_ne!(lineas_sha256(&lineas[..1]), hash);
    }

    #[test]
    fn periods_and_folios_parse_strictly() {
        assert_eq!(Periodo::parse("2026-12").unwrap().to_string(), "2026-12");
        assert_eq!(
            Periodo::parse("2026-12").unwrap().nombre(),
            "diciembre de 2026"
        );
        for bad in [
            "2026-13", "2026-00", "26-12", "2026-1", "2026/12", "1999-01", "2026-+1",
        ] {
            assert_eq!(Periodo::parse(bad), None, "{bad}");
        }
        let a = FolioDecreto::generate().unwrap();
        assert!(a.as_str().starts_with("DEC-"));
        assert_eq!(FolioDecreto::parse(&a.as_str().to_lowercase()), Some(a));
        assert_eq!(FolioDecreto::parse("CFP-7K3M-9Q2X-HB4T"), None);
    }
}

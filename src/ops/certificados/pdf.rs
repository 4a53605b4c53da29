//! The certificate as a one-page A4 PDF (Spanish, standard Helvetica, no embedded fonts) with
//! a QR code image that carries the payload, and reading that QR code back from a PDF.

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, ObjectId, Stream, StringFormat, dictionary};
use qrcode::{Color, EcLevel, QrCode};

use super::contenido::{Contenido, Tipo};

/// Pixels per QR module in the embedded image, and the quiet zone in modules.
const SCALE: usize = 4;
const QUIET: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("QR code: {0}")]
    Qr(#[from] qrcode::types::QrError),
    #[error("PDF: {0}")]
    Pdf(#[from] lopdf::Error),
    #[error("PDF output: {0}")]
    Io(#[from] std::io::Error),
    #[error("the PDF holds no readable certificate QR code")]
    NoQr,
}

/// The QR code of `payload` as an 8-bit greyscale image (width, pixels), quiet zone included.
pub fn qr_image(payload: &str) -> Result<(usize, Vec<u8>), PdfError> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M)?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, color) in colors.iter().enumerate() {
        if *color == Color::Dark {
            let (mx, my) = (i % modules + QUIET, i / modules + QUIET);
            for y in my * SCALE..(my + 1) * SCALE {
                pixels[y * side + mx * SCALE..y * side + (mx + 1) * SCALE].fill(0);
            }
        }
    }
    Ok((side, pixels))
}

/// Text in the standard fonts' WinAnsiEncoding (Latin-1 for Spanish letters; anything
/// else becomes `?`).
pub(crate) fn win_ansi(text: &str) -> Object {
    let bytes = text
        .chars()
        .map(|c| match c as u32 {
            0x20..=0x7e | 0xa0..=0xff => c as u8,
            _ => b'?',
        })
        .collect();
    Object::String(bytes, StringFormat::Literal)
}

pub(crate) fn thousands(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// The lines printed as (label, value).
fn rows(c: &Contenido) -> Vec<(&'static str, String)> {
    let comuna = c.comuna.comuna();
    let mut rows = vec![
        ("Folio del certificado", c.folio.to_string()),
        (
            "Fecha de emisión",
            c.emitido.format("%d-%m-%Y %H:%M UTC").to_string(),
        ),
        ("Nombre", c.nombre.clone()),
        ("RUN", c.run.dotted()),
        ("Comuna", format!("{} (código {})", comuna.nombre, c.comuna)),
        ("Folio de la ficha", c.folio_ficha.to_string()),
        (
            "Fecha de aplicación",
            c.fecha_aplicacion.format("%d-%m-%Y").to_string(),
        ),
    ];
    if let (Some(p), Some(q), Some(n)) = (c.puntaje, c.quintil, c.integrantes) {
        rows.push(("Puntaje FPS", thousands(p)));
        rows.push(("Quintil", q.to_string()));
        rows.push(("Integrantes del hogar", n.to_string()));
    }
    rows
}

fn declaration(c: &Contenido) -> [&'static str; 2] {
    match c.tipo {
        Tipo::Constancia => [
            "Se deja constancia de que el hogar de la persona individualizada fue encuestado",
            "con la Ficha de Protección Social en la fecha y con el folio que se indican.",
        ],
        Tipo::CertificadoFps => [
            "Se certifica que la persona individualizada tiene la Ficha de Protección Social",
            "vigente que se indica, con el puntaje y la composición de hogar siguientes.",
        ],
    }
}

/// A new PDF 1.5 with what every page of the node's documents uses: the standard fonts
/// (`F1` Helvetica, `F2` Helvetica-Bold, WinAnsiEncoding) and the QR code of `payload` (`QR`).
/// Returns the document, the id reserved for its page tree and the resources' id.
pub(crate) fn documento(payload: &str) -> Result<(Document, ObjectId, ObjectId), PdfError> {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = |doc: &mut Document, name: &str| {
        doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => name.to_owned(),
            "Encoding" => "WinAnsiEncoding",
        })
    };
    let regular = font(&mut doc, "Helvetica");
    let bold = font(&mut doc, "Helvetica-Bold");
    let (side, pixels) = qr_image(payload)?;
    let mut image = Stream::new(
        dictionary! {
            "Type" => "XObject",
            "Subtype" => "Image",
            "Width" => side as i64,
            "Height" => side as i64,
            "ColorSpace" => "DeviceGray",
            "BitsPerComponent" => 8,
            "Interpolate" => false,
        },
        pixels,
    );
    image.compress()?;
    let image_id = doc.add_object(image);
    let resources = doc.add_object(dictionary! {
        "Font" => dictionary! { "F1" => regular, "F2" => bold },
        "XObject" => dictionary! { "QR" => image_id },
    });
    Ok((doc, pages_id, resources))
}

/// Renders the certificate: `payload` goes in the QR code, `code` and `url` (the online
/// verification address, folio included) are printed.
pub fn render(c: &Contenido, payload: &str, code: &str, url: &str) -> Result<Vec<u8>, PdfError> {
    let (mut doc, pages_id, resources) = documento(payload)?;

    let mut ops = Vec::new();
    let mut text = |font: &str, size: i64, x: i64, y: i64, s: &str| {
        ops.push(Operation::new("BT", vec![]));
        ops.push(Operation::new("Tf", vec![font.into(), size.into()]));
        ops.push(Operation::new("Td", vec![x.into(), y.into()]));
        ops.push(Operation::new("Tj", vec![win_ansi(s)]));
        ops.push(Operation::new("ET", vec![]));
    };
    text("F1", 10, 60, 790, "República de Chile");
    text(
        "F1",
        10,
        60,
        776,
        "Sistema Integrado de Información Social (SIIS)",
    );
    text("F2", 18, 60, 730, c.tipo.titulo());
    let [l1, l2] = declaration(c);
    text("F1", 10, 60, 700, l1);
    text("F1", 10, 60, 686, l2);
    let mut y = 650;
    for (label, value) in rows(c) {
        text("F2", 11, 60, y, label);
        text("F1", 11, 230, y, &value);
        y -= 20;
    }
    y -= 14;
    text("F2", 13, 60, y, &format!("Código de verificación: {code}"));
    text(
        "F1",
        9,
        60,
        y - 24,
        "Verifique este documento en línea con su folio y código:",
    );
    text("F1", 9, 60, y - 37, url);
    text(
        "F1",
        9,
        60,
        y - 56,
        "o sin conexión, leyendo el código QR y comprobando su firma Ed25519 con la clave",
    );
    text(
        "F1",
        9,
        60,
        y - 69,
        "pública de documentos del SIIS (siis certificados verificar ARCHIVO.pdf).",
    );
    text(
        "F1",
        8,
        60,
        60,
        &format!(
            "Emitido bajo el convenio {} el {}. Documento firmado electrónicamente.",
            c.emisor,
            c.emitido.format("%d-%m-%Y")
        ),
    );
    // The QR code, 170 pt square, bottom right.
    ops.push(Operation::new("q", vec![]));
    ops.push(Operation::new(
        "cm",
        vec![
            170.into(),
            0.into(),
            0.into(),
            170.into(),
            370.into(),
            90.into(),
        ],
    ));
    ops.push(Operation::new("Do", vec!["QR".into()]));
    ops.push(Operation::new("Q", vec![]));

    let content = Content { operations: ops };
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode()?));
    let page_id = doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => pages_id,
        "Contents" => content_id,
        "Resources" => resources,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Kids" => vec![page_id.into()],
            "Count" => 1,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let info = doc.add_object(dictionary! {
        "Title" => win_ansi(&format!("{} {}", c.tipo.titulo(), c.folio)),
        "Producer" => win_ansi("SIIS node"),
    });
    doc.trailer.set("Info", info);
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}

/// Decodes the first QR code found among the PDF's greyscale images.
pub fn payload_from_pdf(bytes: &[u8]) -> Result<String, PdfError> {
    let doc = Document::load_mem(bytes)?;
    for object in doc.objects.values() {
        let Object::Stream(stream) = object else {
            continue;
        };
        let is_image = stream
            .dict
            .get(b"Subtype")
            .and_then(Object::as_name)
            .is_ok_and(|n| n == b"Image");
        if !is_image {
            continue;
        }
        let dim = |key: &[u8]| stream.dict.get(key).and_then(Object::as_i64).ok();
        let (Some(w), Some(h)) = (dim(b"Width"), dim(b"Height")) else {
            continue;
        };
        let Ok(pixels) = stream.decompressed_content() else {
            continue;
        };
        let (w, h) = (w as usize, h as usize);
        if w == 0 || h == 0 || pixels.len() != w * h {
            continue;
        }
        if let Some(text) = decode_qr(w, h, &pixels) {
            return Ok(text);
        }
    }
    Err(PdfError::NoQr)
}

/// The text of the first QR code in a greyscale image.
pub fn decode_qr(w: usize, h: usize, pixels: &[u8]) -> Option<String> {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| pixels[y * w + x]);
    img.detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, text)| text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::certificados::contenido::tests::sample;

    #[test]
    fn the_qr_code_in_the_pdf_reads_back() {
        let payload = "Zm9v.YmFy-some_payload_with_url_safe_chars";
        let pdf = render(&sample(), payload, "ABCDE-12345", "https://x/verificar/F").unwrap();
        assert!(pdf.starts_with(b"%PDF-1.5"));
        let doc = Document::load_mem(&pdf).unwrap();
        assert_eq!(doc.get_pages().len(), 1);
        assert_eq!(payload_from_pdf(&pdf).unwrap(), payload);
        let text = doc.extract_text(&[1]).unwrap();
        for shown in [
            "Certificado de Ficha de Protección Social",
            "CFP-7K3M-9Q2X-HB4T",
            "María José Núñez Pérez",
            "12.345.678-5",
            "SANTIAGO (código 13101)",
            "Puntaje FPS",
            "8.123",
            "Código de verificación: ABCDE-12345",
            "https://x/verificar/F",
        ] {
            assert!(text.contains(shown), "{shown:?} missing from {text}");
        }
        assert!(matches!(
            payload_from_pdf(b"not a pdf"),
            Err(PdfError::Pdf(_))
        ));
    }

    #[test]
    fn spanish_text_uses_win_ansi() {
        assert_eq!(
            win_ansi("Ñuñoa €"),
            Object::String(
                vec![0xd1, b'u', 0xf1, b'o', b'a', b' ', b'?'],
                StringFormat::Literal
            )
        );
        assert_eq!(thousands(8123u16), "8.123");
        assert_eq!(thousands(812u16), "812");
        assert_eq!(thousands(1_234_567u32), "1.234.567");
    }
}

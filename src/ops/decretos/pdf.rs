//! The decree as an A4 PDF of as many pages as its lines need (standard Helvetica, no embedded
//! fonts): a heading and the resolution on the first page, the table of persons granted on
//! every page, and on the last one the total, the verification code and the QR code carrying
//! the signed content (whose lines hash covers the table).

use lopdf::content::{Content, Operation};
use lopdf::{Document, Object, ObjectId, Stream, dictionary};

use super::contenido::{ContenidoDecreto, Linea};
use crate::ops::certificados::pdf::{PdfError, documento, thousands, win_ansi};

/// Table rows on the first page (below the heading) and on each following one.
const FILAS_PRIMERA: usize = 24;
const FILAS_SIGUIENTES: usize = 40;
/// Where the table starts on the first page (below the heading) and on the others.
const TOP_PRIMERA: i64 = 600;
const TOP_SIGUIENTES: i64 = 760;
/// A row's height, and the table heading's.
const FILA: i64 = 14;
const CABECERA: i64 = 18;
/// The lowest the table may end on the last page: the total and the hash go below it, and
/// below those the code, the address and the QR code (from y = 212 down).
const FIN_ULTIMA: i64 = 240;

/// A program's name as the decree prints it.
pub fn nombre_programa(programa: &str) -> &'static str {
    match programa {
        "SUF" => "Subsidio Familiar (SUF, Ley 18.020)",
        "PASIS" => "Pensión Asistencial (PASIS, D.L. 869)",
        "SAP" => "Subsidio al Pago del Consumo de Agua Potable (SAP, Ley 18.778)",
        _ => "programa",
    }
}

struct Pagina {
    ops: Vec<Operation>,
}

impl Pagina {
    fn new() -> Pagina {
        Pagina { ops: Vec::new() }
    }

    fn text(&mut self, font: &str, size: i64, x: i64, y: i64, s: &str) {
        self.ops.push(Operation::new("BT", vec![]));
        self.ops
            .push(Operation::new("Tf", vec![font.into(), size.into()]));
        self.ops
            .push(Operation::new("Td", vec![x.into(), y.into()]));
        self.ops.push(Operation::new("Tj", vec![win_ansi(s)]));
        self.ops.push(Operation::new("ET", vec![]));
    }

    fn rule(&mut self, y: i64) {
        self.ops.push(Operation::new("w", vec![0.5.into()]));
        self.ops
            .push(Operation::new("m", vec![60.into(), y.into()]));
        self.ops
            .push(Operation::new("l", vec![535.into(), y.into()]));
        self.ops.push(Operation::new("S", vec![]));
    }
}

/// Column x positions: N°, RUN, name, score, causantes, amount.
const COLUMNAS: [i64; 6] = [60, 90, 170, 380, 430, 480];

fn cabecera_tabla(p: &mut Pagina, y: i64) {
    for (x, titulo) in COLUMNAS
        .iter()
        .zip(["N°", "RUN", "Nombre", "Puntaje", "Caus.", "Monto $"])
    {
        p.text("F2", 9, *x, y, titulo);
    }
    p.rule(y - 4);
}

fn fila(p: &mut Pagina, y: i64, l: &Linea) {
    let nombre: String = l.nombre.chars().take(38).collect();
    let cells = [
        l.orden.to_string(),
        l.run.dotted(),
        nombre,
        l.puntaje.map(thousands).unwrap_or_else(|| "-".into()),
        l.causantes.to_string(),
        thousands(u64::try_from(l.monto).unwrap_or(0)),
    ];
    for (x, cell) in COLUMNAS.iter().zip(cells) {
        p.text("F1", 9, *x, y, &cell);
    }
}

/// How the lines are cut into pages: the first holds fewer (the heading), and the last must
/// end above [`FIN_ULTIMA`] for the signature block, or one more page holds only that.
fn paginar(n: usize) -> Vec<std::ops::Range<usize>> {
    let mut pages = Vec::new();
    let mut start = 0;
    loop {
        let (room, top) = if pages.is_empty() {
            (FILAS_PRIMERA, TOP_PRIMERA)
        } else {
            (FILAS_SIGUIENTES, TOP_SIGUIENTES)
        };
        let end = (start + room).min(n);
        pages.push(start..end);
        if end == n {
            let bottom = top - CABECERA - FILA * (end - start) as i64;
            if bottom < FIN_ULTIMA {
                pages.push(n..n);
            }
            return pages;
        }
        start = end;
    }
}

/// Renders the decree: `payload` goes in the QR code, `code` and `url` (the online
/// verification address, folio included) are printed with the lines hash.
pub fn render(
    c: &ContenidoDecreto,
    lineas: &[Linea],
    payload: &str,
    code: &str,
    url: &str,
) -> Result<Vec<u8>, PdfError> {
    let (mut doc, pages_id, resources) = documento(payload)?;
    let comuna = c.comuna.comuna();
    let rangos = paginar(lineas.len());
    let total = rangos.len();
    let mut kids: Vec<Object> = Vec::new();
    for (i, rango) in rangos.iter().enumerate() {
        let mut p = Pagina::new();
        p.text("F1", 9, 60, 800, "República de Chile");
        p.text(
            "F1",
            9,
            60,
            788,
            &format!("Ilustre Municipalidad de {}", comuna.nombre),
        );
        p.text(
            "F1",
            8,
            400,
            800,
            &format!("Decreto {}/{}  {}", c.numero, c.periodo.anio, c.folio),
        );
        p.text("F1", 8, 400, 788, &format!("Página {} de {}", i + 1, total));
        let mut y = TOP_SIGUIENTES;
        if i == 0 {
            p.text(
                "F2",
                16,
                60,
                740,
                &format!("Decreto alcaldicio N° {} / {}", c.numero, c.periodo.anio),
            );
            p.text("F2", 11, 60, 716, nombre_programa(&c.programa));
            p.text(
                "F1",
                10,
                60,
                698,
                &format!(
                    "Comuna de {} (código {}). Período: {}.",
                    comuna.nombre,
                    c.comuna,
                    c.periodo.nombre()
                ),
            );
            p.text(
                "F1",
                10,
                60,
                672,
                "VISTOS: las postulaciones registradas en el SIIS y su verificación automática",
            );
            p.text(
                "F1",
                10,
                60,
                658,
                "contra el registro y las reglas del programa, y los cupos de la comuna para el año.",
            );
            p.text(
                "F1",
                10,
                60,
                636,
                &format!(
                    "DECRETO: Concédese el beneficio, a contar del {}, a las {} personas siguientes:",
                    c.periodo.inicio().format("%d-%m-%Y"),
                    c.otorgadas
                ),
            );
            y = TOP_PRIMERA;
        }
        if !rango.is_empty() {
            cabecera_tabla(&mut p, y);
            y -= CABECERA;
            for l in &lineas[rango.clone()] {
                fila(&mut p, y, l);
                y -= FILA;
            }
        }
        if i + 1 == total {
            let suma: i64 = lineas.iter().map(|l| l.monto).sum();
            y -= 10;
            p.text(
                "F2",
                10,
                60,
                y,
                &format!(
                    "Total: {} personas, ${} mensuales.",
                    c.otorgadas,
                    thousands(u64::try_from(suma).unwrap_or(0))
                ),
            );
            p.text(
                "F1",
                7,
                60,
                y - 14,
                &format!("SHA-256 de las líneas: {}", c.lineas_sha256),
            );
            p.text(
                "F2",
                12,
                60,
                200,
                &format!("Código de verificación: {code}"),
            );
            p.text(
                "F1",
                9,
                60,
                184,
                "Verifique este decreto en línea con su folio y código:",
            );
            p.text("F1", 9, 60, 172, url);
            p.text(
                "F1",
                8,
                60,
                150,
                "La verificación pública muestra comuna, programa, período, número y cantidad,",
            );
            p.text(
                "F1",
                8,
                60,
                140,
                "nunca las personas que el decreto nombra.",
            );
            p.text(
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
            p.ops.push(Operation::new("q", vec![]));
            p.ops.push(Operation::new(
                "cm",
                vec![
                    140.into(),
                    0.into(),
                    0.into(),
                    140.into(),
                    395.into(),
                    80.into(),
                ],
            ));
            p.ops.push(Operation::new("Do", vec!["QR".into()]));
            p.ops.push(Operation::new("Q", vec![]));
        }
        kids.push(add_page(&mut doc, pages_id, resources, p)?.into());
    }
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages",
            "Count" => kids.len() as i64,
            "Kids" => kids,
        }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let info = doc.add_object(dictionary! {
        "Title" => win_ansi(&format!("Decreto {}/{} {}", c.numero, c.periodo.anio, c.folio)),
        "Producer" => win_ansi("SIIS node"),
    });
    doc.trailer.set("Info", info);
    let mut out = Vec::new();
    doc.save_to(&mut out)?;
    Ok(out)
}

fn add_page(
    doc: &mut Document,
    parent: ObjectId,
    resources: ObjectId,
    p: Pagina,
) -> Result<ObjectId, PdfError> {
    let content = Content { operations: p.ops };
    let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode()?));
    Ok(doc.add_object(dictionary! {
        "Type" => "Page",
        "Parent" => parent,
        "Contents" => content_id,
        "Resources" => resources,
        "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Run;
    use crate::ops::certificados::pdf::payload_from_pdf;
    use crate::ops::decretos::contenido::tests::sample;

    fn muchas(n: u32) -> Vec<Linea> {
        (1..=n)
            .map(|i| Linea {
                orden: i,
                run: Run::from_numero(10_000_000 + i).unwrap(),
                nombre: format!("Persona Número {i}"),
                puntaje: Some(4000 + i as u16),
                causantes: 1,
                monto: 7_500,
                postulacion: format!("POS-{i}"),
            })
            .collect()
    }

    #[test]
    fn a_long_decree_takes_several_pages_with_every_line_and_the_qr_on_the_last() {
        let payload = "Zm9v.YmFy";
        let lineas = muchas(130);
        let mut c = sample();
        c.otorgadas = 130;
        let pdf = render(
            &c,
            &lineas,
            payload,
            "ABCDE-12345",
            "https://x/verificar/DEC",
        )
        .unwrap();
        let doc = Document::load_mem(&pdf).unwrap();
        let pages = doc.get_pages().len() as u32;
        // 24 on the first page, 40 on each next: 24 + 40 + 40 + 26 (the last has room).
        assert_eq!(pages, 4);
        assert_eq!(payload_from_pdf(&pdf).unwrap(), payload);
        let all: String = (1..=pages)
            .map(|p| doc.extract_text(&[p]).unwrap())
            .collect();
        for i in [1u32, 24, 25, 64, 65, 130] {
            assert!(
                all.contains(&format!("Persona Número {i}")),
                "line {i} missing"
            );
        }
        let first = doc.extract_text(&[1]).unwrap();
        assert!(first.contains("Decreto alcaldicio N° 15 / 2026"), "{first}");
        assert!(first.contains("Subsidio Familiar"), "{first}");
        assert!(first.contains("Página 1 de 4"), "{first}");
        let last = doc.extract_text(&[pages]).unwrap();
        assert!(
            last.contains("Código de verificación: ABCDE-12345"),
            "{last}"
        );
        assert!(
            last.contains("Total: 130 personas, $975.000 mensuales."),
            "{last}"
        );
        assert!(last.contains(&c.lineas_sha256), "{last}");
    }

    #[test]
    fn pages_leave_room_for_the_signature_block() {
        assert_eq!(paginar(0), vec![0..0]);
        assert_eq!(paginar(3), vec![0..3]);
        assert_eq!(paginar(24), vec![0..24]);
        // 35 rows leave room for the footer on a following page; 36 do not.
        assert_eq!(paginar(24 + 35), vec![0..24, 24..59]);
        assert_eq!(paginar(24 + 36), vec![0..24, 24..60, 60..60]);
        assert_eq!(paginar(64), vec![0..24, 24..64, 64..64]);
        let empty = render(&sample(), &[], "x.y", "ABCDE-12345", "u").unwrap();
        assert_eq!(Document::load_mem(&empty).unwrap().get_pages().len(), 1);
    }
}

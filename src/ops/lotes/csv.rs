//! CSV batches: UTF-8, comma-separated, RFC 4180 quoting, a header row naming the kind's
//! columns in order. A UTF-8 BOM and CRLF line ends are accepted (and noted in the report).

use std::io::Read;

use super::lectura::{Estado, Huella, Limite};
use super::{LoteError, Progreso, TipoLote};

/// Progress is reported every this many records.
const PROGRESS_EVERY: u64 = 10_000;

pub(super) fn leer(
    reader: impl Read,
    limite: &Limite,
    tipo: TipoLote,
    huella: &Huella,
    state: &mut Estado<'_>,
    progreso: &mut dyn Progreso,
) -> Result<(), LoteError> {
    let columnas = tipo.columnas();
    let mut csv = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        // Only LF ends a record, so that line numbers stay exact in CRLF files; the CR left at
        // the end of the last field is trimmed with the rest of its spaces.
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_reader(reader);
    let mut record = ::csv::ByteRecord::new();
    let mut header = true;
    loop {
        let linea_actual = csv.position().line();
        let more = csv.read_byte_record(&mut record).map_err(|e| {
            if limite.excedido() {
                return LoteError::RegistroDemasiadoGrande {
                    linea: linea_actual,
                };
            }
            match e.kind() {
                ::csv::ErrorKind::Io(_) => LoteError::Io(std::io::Error::other(e.to_string())),
                // The csv crate's messages name positions and counts, never the file's text.
                _ => LoteError::Formato {
                    formato: "csv",
                    detail: e.to_string(),
                },
            }
        })?;
        limite.fin();
        if !more {
            break;
        }
        let linea = record.position().map_or(0, ::csv::Position::line);
        let fields: Result<Vec<&str>, _> = record.iter().map(std::str::from_utf8).collect();
        if header {
            header = false;
            let found: Vec<String> = match &fields {
                Ok(f) => f
                    .iter()
                    .enumerate()
                    .map(|(i, name)| {
                        let name = if i == 0 {
                            name.trim_start_matches('\u{feff}')
                        } else {
                            name
                        };
                        name.trim().to_owned()
                    })
                    .collect(),
                Err(_) => {
                    return Err(LoteError::Encabezado {
                        tipo,
                        expected: columnas.join(","),
                        diferencia: "the header is not valid UTF-8".into(),
                    });
                }
            };
            if found != columnas {
                return Err(LoteError::Encabezado {
                    tipo,
                    expected: columnas.join(","),
                    diferencia: diferencia(columnas, &found),
                });
            }
            continue;
        }
        let Ok(fields) = fields else {
            state.rechazo(
                linea,
                "UTF8_INVALIDO",
                "the record is not valid UTF-8".into(),
            )?;
            continue;
        };
        if fields.len() != columnas.len() {
            let at_end = csv.position().byte() >= huella.size;
            if at_end && !huella.ends_with_newline && fields.len() < columnas.len() {
                state.rechazo(
                    linea,
                    "REGISTRO_TRUNCADO",
                    format!(
                        "the file ends inside this record: {} of {} fields",
                        fields.len(),
                        columnas.len()
                    ),
                )?;
            } else {
                state.rechazo(
                    linea,
                    "CAMPOS_INCORRECTOS",
                    format!("expected {} fields, found {}", columnas.len(), fields.len()),
                )?;
            }
            continue;
        }
        state.registro(linea, &fields)?;
        if state.lectura.leidos.is_multiple_of(PROGRESS_EVERY) {
            progreso.validando(csv.position().byte(), huella.size, state.lectura.leidos);
        }
    }
    if header {
        return Err(LoteError::Encabezado {
            tipo,
            expected: columnas.join(","),
            diferencia: "the file has no header row".into(),
        });
    }
    Ok(())
}

/// Where a header differs from the kind's columns, in the node's words: the file's own text is
/// not repeated back.
fn diferencia(columnas: &[&str], found: &[String]) -> String {
    match columnas.iter().zip(found).position(|(c, f)| c != f) {
        Some(i) => format!("column {} should be {}", i + 1, columnas[i]),
        None if found.len() > columnas.len() => format!(
            "it has {} columns, {} more than the kind's",
            found.len(),
            found.len() - columnas.len()
        ),
        None => format!(
            "it has {} columns, {} fewer than the kind's",
            found.len(),
            columnas.len() - found.len()
        ),
    }
}

//! Reading a batch file as a stream: its fingerprint, then its records one at a time (CSV or
//! XML), each checked and staged. Memory stays flat whatever the file's size: a record, a
//! buffer of [`STAGE_ROWS`] valid ones, the first [`MAX_RECHAZOS`] rejections and a fixed
//! bitmap of the RUNs seen (12.5 MB).

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::rc::Rc;

use sha2::{Digest, Sha256};

use super::feeds::{self, Filas, STAGE_ROWS};
use super::{Envio, Formato, LoteError, MAX_RECHAZOS, MAX_REGISTRO, Progreso, Rechazo, TipoLote};
use crate::db::DbConnection;
use crate::domain::Run;

/// What one pass over the file tells before reading its records.
pub(super) struct Huella {
    pub sha256: String,
    pub size: u64,
    pub bom: bool,
    pub crlf: bool,
    pub ends_with_newline: bool,
}

impl Huella {
    pub fn of(path: &Path) -> std::io::Result<Huella> {
        let mut file = File::open(path)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let (mut size, mut first, mut crlf, mut first_line_done) =
            (0u64, Vec::<u8>::new(), false, false);
        let mut last = None;
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            let chunk = &buf[..n];
            hasher.update(chunk);
            if first.len() < 3 {
                first.extend(chunk.iter().take(3 - first.len()));
            }
            if !first_line_done {
                // CRLF is told by the end of the first line.
                if let Some(at) = chunk.iter().position(|&b| b == b'\n') {
                    let before = if at > 0 { Some(chunk[at - 1]) } else { last };
                    crlf = before == Some(b'\r');
                    first_line_done = true;
                }
            }
            last = chunk.last().copied();
            size += n as u64;
        }
        Ok(Huella {
            sha256: hex::encode(hasher.finalize()),
            size,
            bom: first == [0xEF, 0xBB, 0xBF],
            crlf,
            ends_with_newline: last == Some(b'\n'),
        })
    }
}

/// The rejections of a batch: the first [`MAX_RECHAZOS`] in full, the rest counted.
#[derive(Default)]
pub(super) struct Rechazos {
    pub kept: Vec<Rechazo>,
    pub total: u64,
    /// The persons named by lines refused against the registry, each with the line's code,
    /// all of them (not only the kept ones): the batch's audit record names them.
    pub sujetos: Vec<(Run, &'static str)>,
}

impl Rechazos {
    pub fn push(&mut self, linea: u64, codigo: &str, motivo: String) {
        self.total += 1;
        if self.kept.len() < MAX_RECHAZOS {
            self.kept.push(Rechazo {
                linea,
                codigo: codigo.to_owned(),
                motivo,
            });
        }
    }
}

/// What reading found: records read, staged (valid so far), the rejections and notices.
pub(super) struct Lectura {
    pub leidos: u64,
    pub validos: u64,
    /// Last line number staged (staged lines are at most this).
    pub ultima_linea: u64,
    pub rechazos: Rechazos,
    /// Kept duplicate rejections, with the RUN, to name the earlier line once staged.
    pub duplicados: Vec<(usize, u32)>,
    pub avisos: Vec<String>,
}

/// One bit per possible RUN number: 100 million bits.
struct Vistos(Vec<u64>);

impl Vistos {
    fn new() -> Vistos {
        Vistos(vec![0; (Run::MAX as usize).div_ceil(64) + 1])
    }

    /// Marks `run`; false if it was already marked.
    fn insert(&mut self, run: u32) -> bool {
        let (word, bit) = ((run / 64) as usize, run % 64);
        let seen = self.0[word] & (1 << bit) != 0;
        self.0[word] |= 1 << bit;
        !seen
    }

    #[cfg(test)]
    fn contains(&self, run: u32) -> bool {
        self.0[(run / 64) as usize] & (1 << (run % 64)) != 0
    }
}

/// Reads, checks and stages every record of the file.
pub(super) fn leer(
    conn: &mut DbConnection,
    tipo: TipoLote,
    envio: &Envio,
    path: &Path,
    huella: &Huella,
    progreso: &mut dyn Progreso,
    maximo: Option<u64>,
) -> Result<Lectura, LoteError> {
    let mut lectura = Lectura {
        leidos: 0,
        validos: 0,
        ultima_linea: 0,
        rechazos: Rechazos::default(),
        duplicados: Vec::new(),
        avisos: Vec::new(),
    };
    if huella.bom {
        lectura
            .avisos
            .push("the file starts with a UTF-8 byte order mark (BOM); it was ignored".into());
    }
    if huella.crlf && envio.formato == Formato::Csv {
        lectura
            .avisos
            .push("lines end with CRLF; read as line ends".into());
    }
    let mut state = Estado {
        maximo,
        conn,
        filas: Filas::new(tipo),
        vistos: Vistos::new(),
        lectura,
    };
    let (reader, limite) = Acotado::new(BufReader::with_capacity(1 << 16, File::open(path)?));
    match envio.formato {
        Formato::Csv => super::csv::leer(reader, &limite, tipo, huella, &mut state, progreso)?,
        Formato::Xml => super::xml::leer(reader, &limite, tipo, huella, &mut state, progreso)?,
    }
    state.filas.stage(state.conn)?;
    if state.lectura.leidos == 0 {
        return Err(LoteError::Vacio);
    }
    progreso.validando(huella.size, huella.size, state.lectura.leidos);
    Ok(state.lectura)
}

/// A reader that stops once more than [`MAX_REGISTRO`] bytes were read since the reader of
/// the format last said a record (or XML event) ended: a quote never closed or an endless text
/// is refused, never held in memory whole.
pub(super) struct Acotado<R> {
    inner: R,
    limite: Limite,
}

/// The reader's side of [`Acotado`]: where a record ends, and whether the bound was passed.
#[derive(Clone)]
pub(super) struct Limite {
    desde: Rc<Cell<u64>>,
    excedido: Rc<Cell<bool>>,
}

impl<R> Acotado<R> {
    pub fn new(inner: R) -> (Acotado<R>, Limite) {
        let limite = Limite {
            desde: Rc::new(Cell::new(0)),
            excedido: Rc::new(Cell::new(false)),
        };
        (
            Acotado {
                inner,
                limite: limite.clone(),
            },
            limite,
        )
    }

    fn check(&self) -> std::io::Result<()> {
        if self.limite.desde.get() > MAX_REGISTRO {
            self.limite.excedido.set(true);
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "a record is longer than the bound",
            ));
        }
        Ok(())
    }
}

impl Limite {
    /// A record (or XML event) ended: the next one has the whole bound.
    pub fn fin(&self) {
        self.desde.set(0);
    }

    /// Whether reading stopped because a record passed the bound.
    pub fn excedido(&self) -> bool {
        self.excedido.get()
    }
}

impl<R: Read> Read for Acotado<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.check()?;
        let n = self.inner.read(out)?;
        self.limite.desde.set(self.limite.desde.get() + n as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Acotado<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.check()?;
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.limite.desde.set(self.limite.desde.get() + amt as u64);
        self.inner.consume(amt);
    }
}

/// Reading in progress: where valid records go and what has been seen.
pub(super) struct Estado<'c> {
    /// The most records the batch may hold (the sender's burst): reading stops past it.
    maximo: Option<u64>,
    conn: &'c mut DbConnection,
    filas: Filas,
    vistos: Vistos,
    pub lectura: Lectura,
}

impl Estado<'_> {
    /// One record, its fields in the kind's column order.
    pub fn registro(&mut self, linea: u64, campos: &[&str]) -> Result<(), LoteError> {
        self.contar()?;
        let before = self.filas.len();
        match feeds::parse(&mut self.filas, linea, campos) {
            Err((codigo, motivo)) => self.lectura.rechazos.push(linea, codigo, motivo),
            Ok(run) if !self.vistos.insert(run.numero()) => {
                self.filas.truncate(before);
                if self.lectura.rechazos.kept.len() < MAX_RECHAZOS {
                    self.lectura
                        .duplicados
                        .push((self.lectura.rechazos.kept.len(), run.numero()));
                }
                self.lectura.rechazos.push(
                    linea,
                    "RUN_DUPLICADO",
                    "the RUN appears earlier in this batch".into(),
                );
            }
            Ok(_) => {
                self.lectura.validos += 1;
                self.lectura.ultima_linea = linea;
                if self.filas.len() >= STAGE_ROWS {
                    self.filas.stage(self.conn)?;
                }
            }
        }
        Ok(())
    }

    /// A record rejected before its fields could be read (wrong count, not UTF-8).
    pub fn rechazo(&mut self, linea: u64, codigo: &str, motivo: String) -> Result<(), LoteError> {
        self.contar()?;
        self.lectura.rechazos.push(linea, codigo, motivo);
        Ok(())
    }

    /// One more record read; past the most the batch may hold, the batch is refused now,
    /// before the rest of the file is read.
    fn contar(&mut self) -> Result<(), LoteError> {
        self.lectura.leidos += 1;
        match self.maximo {
            Some(maximo) if self.lectura.leidos > maximo => Err(LoteError::Cupo(
                crate::error::ApiError::lote_supera_rafaga(self.lectura.leidos, maximo as u32),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_bitmap_covers_every_run() {
        let mut v = Vistos::new();
        assert!(v.insert(Run::MAX));
        assert!(!v.insert(Run::MAX));
        assert!(v.insert(1));
        assert!(v.contains(1) && !v.contains(2));
    }
}

//! An archive file: gzip over JSON lines. The first line is the header ([`Cabecera`]), then
//! one line per record, in id order, with every column of `auditoria` under its own name
//! ([`AuditRow`]), so that each record's hash can be computed again from the file alone.
//!
//! ```text
//! {"formato":"siis-auditoria-archivo/1","desde":1,"hasta":1000,"hash_anterior":"0000…","registros":1000}
//! {"id":1,"ts_us":1764…,"convenio":"minvu",…,"hash_anterior":"0000…","hash":"9f2c…","xroad":null,"omitidos":null,"personas":1}
//! ```

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::audit::row::AuditRow;

/// What the header's `formato` says: this layout, version 1.
pub const FORMATO: &str = "siis-auditoria-archivo/1";

/// The first line of an archive file: which records it holds and the hash they follow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cabecera {
    pub formato: String,
    /// The first record's id.
    pub desde: i64,
    /// The last record's id.
    pub hasta: i64,
    /// The hash before record `desde`: the previous file's last, or GENESIS.
    pub hash_anterior: String,
    pub registros: i64,
}

/// The name of the file holding records `desde..=hasta`: names sort in chain order.
pub fn nombre(desde: i64, hasta: i64) -> String {
    format!("auditoria-{desde:012}-{hasta:012}.jsonl.gz")
}

/// Whether a file name is one [`nombre`] gives.
pub fn es_nombre(name: &str) -> bool {
    name.strip_prefix("auditoria-")
        .and_then(|rest| rest.strip_suffix(".jsonl.gz"))
        .and_then(|ids| ids.split_once('-'))
        .is_some_and(|(a, b)| {
            [a, b]
                .iter()
                .all(|n| n.len() == 12 && n.bytes().all(|c| c.is_ascii_digit()))
        })
}

/// A file being written under a temporary name beside its own, readable by its owner only.
/// [`Escritor::terminar`] flushes it to disk and gives it its name; dropped before that, the
/// temporary file is removed.
pub struct Escritor {
    /// JSON is written in small pieces; the encoder gets them in large ones (each call into
    /// it costs a pass over its own 32 KB output buffer: half the run's CPU without this).
    gz: Option<BufWriter<GzEncoder<Digesting<File>>>>,
    temporal: PathBuf,
    path: PathBuf,
}

impl Escritor {
    pub fn crear(dir: &Path, cabecera: &Cabecera) -> io::Result<Escritor> {
        let path = dir.join(nombre(cabecera.desde, cabecera.hasta));
        let temporal = dir.join(format!(
            ".{}.parcial",
            nombre(cabecera.desde, cabecera.hasta)
        ));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&temporal)?;
        // `mode` applies only to a file this call created; the umask may have narrowed it too.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        let gz = GzEncoder::new(Digesting::new(file), Compression::default());
        let mut escritor = Escritor {
            gz: Some(BufWriter::with_capacity(1 << 20, gz)),
            temporal,
            path,
        };
        escritor.linea(cabecera)?;
        Ok(escritor)
    }

    pub fn registro(&mut self, row: &AuditRow) -> io::Result<()> {
        self.linea(row)
    }

    fn linea(&mut self, value: &impl Serialize) -> io::Result<()> {
        let gz = self
            .gz
            .as_mut()
            .expect("an Escritor writes until it is finished");
        serde_json::to_writer(&mut *gz, value)?;
        gz.write_all(b"\n")
    }

    /// Ends the gzip stream, flushes the file to disk, renames it to its own name and flushes
    /// the folder. Returns the path, the file's size and its SHA-256 (hex).
    pub fn terminar(mut self) -> io::Result<(PathBuf, u64, String)> {
        let buffered = self.gz.take().expect("finished once");
        let gz = buffered.into_inner().map_err(|e| e.into_error())?;
        let (file, bytes, sha256) = gz.finish()?.finish();
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.temporal, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok((self.path.clone(), bytes, sha256))
    }
}

impl Drop for Escritor {
    fn drop(&mut self) {
        if self.gz.is_some() {
            let _ = std::fs::remove_file(&self.temporal);
        }
    }
}

/// A writer that counts and hashes what passes through it.
struct Digesting<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W> Digesting<W> {
    fn new(inner: W) -> Self {
        Digesting {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    fn finish(self) -> (W, u64, String) {
        (self.inner, self.bytes, hex::encode(self.hasher.finalize()))
    }
}

impl<W: Write> Write for Digesting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A file's size and SHA-256 (hex).
pub fn digest(path: &Path) -> io::Result<(u64, String)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok((bytes, hex::encode(hasher.finalize())));
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
}

/// Reads an archive file back, one line at a time.
pub struct Lector {
    lines: BufReader<GzDecoder<BufReader<File>>>,
    line: String,
    /// Lines read so far (the header is line 1).
    pub numero: u64,
}

/// What a line of an archive file turned out to be.
#[derive(Debug)]
pub enum Linea<T> {
    Leida(T),
    /// Not JSON of the expected shape.
    Ilegible(String),
    Fin,
}

impl Lector {
    pub fn abrir(path: &Path) -> io::Result<Lector> {
        let file = BufReader::with_capacity(1 << 20, File::open(path)?);
        Ok(Lector {
            lines: BufReader::with_capacity(1 << 16, GzDecoder::new(file)),
            line: String::new(),
            numero: 0,
        })
    }

    /// The next line as a `T`. An I/O error is a file that cannot be read (or not gzip).
    pub fn siguiente<T: for<'de> Deserialize<'de>>(&mut self) -> io::Result<Linea<T>> {
        self.line.clear();
        if self.lines.read_line(&mut self.line)? == 0 {
            return Ok(Linea::Fin);
        }
        self.numero += 1;
        Ok(
            match serde_json::from_str(self.line.trim_end_matches('\n')) {
                Ok(value) => Linea::Leida(value),
                // Kind and position only: serde's message may quote a value (a RUN, a name).
                Err(e) => {
                    Linea::Ilegible(format!("{:?} error at column {}", e.classify(), e.column()))
                }
            },
        )
    }
}

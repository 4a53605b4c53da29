//! `siis seed`: fills an empty registry with a deterministic synthetic population at national
//! scale. A generator thread makes households while this thread loads them, a batch at a time,
//! so memory stays flat whatever the number of persons.

mod generator;
pub(crate) mod names;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use generator::{Batch, Categoria, FECHA_CORTE, Generator, MAX_PERSONS};

use crate::db::schema::{beneficios, fichas, hogares, integrantes, personas};
use crate::db::{DbConnection, DbError};
use crate::domain::Run;
use crate::reglas::Rules;

/// Persons per batch (one transaction each).
const BATCH_PERSONS: usize = 50_000;
/// SQLite settings while loading: no fsync (an interrupted seed is redone from scratch), a
/// bounded page cache (memory stays flat whatever the size), and rarer WAL checkpoints.
const SQLITE_BULK_PRAGMAS: &str = "PRAGMA synchronous = OFF; PRAGMA cache_size = -262144; \
    PRAGMA mmap_size = 0; PRAGMA wal_autocheckpoint = 20000;";
/// Rows per multi-row INSERT on SQLite (8 columns × 2,000 stays under its 32,766 parameters).
const SQLITE_ROWS_PER_INSERT: usize = 2_000;

/// The eligibility thresholds the generator grants benefits by (inclusive maximum scores), so
/// that synthetic benefits agree with the rules in `conf/elegibilidad.toml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Umbrales {
    pub pasis: u16,
    pub pbs_aps: u16,
    pub suf: u16,
    pub fsv1: u16,
    pub fsv2: u16,
    /// Age from which old-age pensions (PASIS, PBS, APS) apply.
    pub edad_vejez: u8,
}

impl Umbrales {
    /// The thresholds of the eligibility rules; every program the generator grants must have a
    /// score threshold there.
    pub fn from_rules(rules: &Rules) -> Result<Umbrales, SeedError> {
        let max = |p: &'static str| rules.puntaje_max(p).ok_or(SeedError::Rules(p));
        Ok(Umbrales {
            pasis: max("PASIS")?,
            pbs_aps: max("PBS")?,
            suf: max("SUF")?,
            fsv1: max("FSV1")?,
            fsv2: max("FSV2")?,
            edad_vejez: rules
                .edad_min("PBS")
                .and_then(|a| u8::try_from(a).ok())
                .ok_or(SeedError::Rules("PBS"))?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct SeedOptions {
    pub persons: u64,
    pub seed: u64,
    /// Where to write the CSV of sample RUNs by category, if anywhere.
    pub sample: Option<PathBuf>,
    /// RUNs kept per category in the sample (uniformly chosen from the whole registry).
    pub sample_size: usize,
    pub umbrales: Umbrales,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub persons: u64,
    pub households: u64,
    pub fichas: u64,
    pub benefits: u64,
    pub deceased: u64,
    pub without_ficha: u64,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(
        "the registry already holds {0} persons; seed fills an empty registry only (to start over, delete the SQLite file or recreate the PostgreSQL database, then run seed again)"
    )]
    NotEmpty(i64),
    #[error("--persons must be between 1 and {MAX_PERSONS}")]
    Persons,
    #[error("sample file {path}: {source}")]
    Sample {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the eligibility rules give no threshold for {0}")]
    Rules(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for SeedError {
    fn from(e: diesel::result::Error) -> Self {
        SeedError::Db(DbError::Query(e))
    }
}

/// Loads `options.persons` persons into an empty registry, calling `progress` with the number
/// of persons loaded so far after every batch.
pub fn seed(
    conn: &mut DbConnection,
    options: &SeedOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<SeedReport, SeedError> {
    if options.persons == 0 || options.persons > MAX_PERSONS {
        return Err(SeedError::Persons);
    }
    let present: i64 = personas::table.count().get_result(conn)?;
    if present > 0 {
        return Err(SeedError::NotEmpty(present));
    }
    // Open the sample file before loading anything, so a bad path fails first.
    let sample_file = match &options.sample {
        Some(path) => Some((
            path.clone(),
            crate::fsperm::create_private(path).map_err(|source| SeedError::Sample {
                path: path.clone(),
                source,
            })?,
        )),
        None => None,
    };
    let started = Instant::now();
    let mut report = SeedReport::default();
    let mut sample = Reservoir::new(options.seed, options.sample_size);

    if let DbConnection::Sqlite(c) = conn {
        // Bulk load: the registry is rebuilt from the seed if the load is interrupted.
        c.batch_execute(SQLITE_BULK_PRAGMAS)
            .map_err(DbError::from)?;
    }
    let loaded = std::thread::scope(|scope| -> Result<(), SeedError> {
        let (tx, rx) = sync_channel::<Batch>(4);
        let (seed, persons, umbrales) = (options.seed, options.persons, options.umbrales.clone());
        scope.spawn(move || {
            let mut generator = Generator::new(seed, persons, umbrales);
            while let Some(batch) = generator.next_batch(BATCH_PERSONS) {
                if tx.send(batch).is_err() {
                    break;
                }
            }
        });
        for mut batch in rx {
            // Key order within a batch keeps the B-tree inserts close together.
            batch.personas.sort_unstable_by_key(|p| p.run);
            batch.integrantes.sort_unstable_by_key(|i| i.run);
            load_batch(conn, &batch)?;
            report.persons += batch.personas.len() as u64;
            report.households += batch.hogares.len() as u64;
            report.fichas += batch.fichas.len() as u64;
            report.benefits += batch.beneficios.len() as u64;
            for &(run, categoria) in &batch.categorias {
                match categoria {
                    Categoria::Fallecido => report.deceased += 1,
                    Categoria::SinFicha => report.without_ficha += 1,
                    Categoria::ConFicha => {}
                }
                sample.offer(run, categoria);
            }
            progress(report.persons);
        }
        Ok(())
    });
    let analyzed = loaded.and_then(|()| {
        conn.batch_execute("ANALYZE").map_err(DbError::from)?;
        Ok(crate::db::forget_stat4_samples(conn)?)
    });
    if let DbConnection::Sqlite(c) = conn {
        // Back to the serving settings of `db::conn`.
        c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA wal_autocheckpoint = 1000;")
            .and_then(|()| c.batch_execute(crate::db::SQLITE_PRAGMAS))
            .map_err(DbError::from)?;
    }
    analyzed?;
    if let Some((path, file)) = sample_file {
        sample
            .write(file)
            .map_err(|source| SeedError::Sample { path, source })?;
    }
    report.elapsed = started.elapsed();
    Ok(report)
}

/// Loads one batch in one transaction: multi-row INSERTs on SQLite, COPY on PostgreSQL.
fn load_batch(conn: &mut DbConnection, batch: &Batch) -> Result<(), SeedError> {
    macro_rules! bulk {
        ($conn:expr, $table:expr, $rows:expr) => {
            match $conn {
                DbConnection::Sqlite(c) => {
                    for chunk in $rows.chunks(SQLITE_ROWS_PER_INSERT) {
                        diesel::insert_into($table).values(chunk).execute(c)?;
                    }
                }
                DbConnection::Pg(c) => {
                    diesel::copy_from($table)
                        .from_insertable($rows)
                        .execute(c)?;
                }
            }
        };
    }
    conn.transaction(|conn| {
        bulk!(conn, hogares::table, &batch.hogares);
        bulk!(conn, personas::table, &batch.personas);
        bulk!(conn, integrantes::table, &batch.integrantes);
        bulk!(conn, fichas::table, &batch.fichas);
        bulk!(conn, beneficios::table, &batch.beneficios);
        Ok::<_, diesel::result::Error>(())
    })?;
    Ok(())
}

/// A uniform sample of fixed size per category (reservoir sampling), deterministic per seed.
struct Reservoir {
    rng: ChaCha8Rng,
    size: usize,
    kept: [Vec<Run>; 3],
    seen: [u64; 3],
}

impl Reservoir {
    fn new(seed: u64, size: usize) -> Reservoir {
        Reservoir {
            rng: ChaCha8Rng::seed_from_u64(seed ^ 0x5a4d_504c_4553_4545),
            size,
            kept: Default::default(),
            seen: [0; 3],
        }
    }

    fn offer(&mut self, run: Run, categoria: Categoria) {
        let i = categoria as usize;
        self.seen[i] += 1;
        if self.kept[i].len() < self.size {
            self.kept[i].push(run);
        } else {
            let j = self.rng.random_range(0..self.seen[i]);
            if (j as usize) < self.size {
                self.kept[i][j as usize] = run;
            }
        }
    }

    fn write(&self, file: File) -> std::io::Result<()> {
        let mut out = BufWriter::new(file);
        writeln!(out, "categoria,run")?;
        for categoria in Categoria::ALL {
            for run in &self.kept[categoria as usize] {
                writeln!(out, "{},{run}", categoria.as_str())?;
            }
        }
        out.flush()
    }
}

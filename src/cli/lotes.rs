//! `siis ingest` (an operator applies a provider's batch file) and `siis lotes …` (generate a
//! synthetic feed, ask where a value came from).

use std::io::{BufWriter, IsTerminal};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::broker::local_today;
use crate::catalog::Operation;
use crate::catalog::TipoLote;
use crate::config::Config;
use crate::convenios::ConvenioSet;
use crate::domain::Run;
use crate::ops::lotes::{self, Envio, Formato, Progreso};
use crate::startup;

#[derive(Debug, clap::Args)]
pub struct IngestArgs {
    /// The provider agreement the batch is sent under (e.g. srcei); it must grant
    /// RecepcionLotes for the tipo.
    #[arg(long)]
    provider: String,
    /// The feed kind: personas, defunciones, nacimientos, fichas, suf, pensiones.
    #[arg(long)]
    tipo: String,
    /// csv or xml (default: from the file's extension, csv otherwise).
    #[arg(long)]
    formato: Option<String>,
    /// The provider's own batch id (default: the file's SHA-256 identifies the batch).
    #[arg(long)]
    lote_id: Option<String>,
    /// Also write the full report (JSON) to this file.
    #[arg(long, value_name = "FILE")]
    informe: Option<PathBuf>,
    /// The batch file.
    file: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
pub enum LotesCommand {
    /// Write a synthetic SRCeI personas batch (valid records, consecutive RUNs).
    Generar {
        #[arg(long)]
        registros: u64,
        /// First RUN number.
        #[arg(long, default_value_t = 50_000_000)]
        desde: u32,
        #[arg(long, default_value = "csv")]
        formato: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        file: PathBuf,
    },
    /// Which batches set values of a person (newest first): provider, time, file hash, values.
    Procedencia {
        #[arg(long)]
        run: String,
        /// Only batches that set this field (e.g. fecha_defuncion).
        #[arg(long)]
        campo: Option<String>,
    },
}

fn formato_of(text: Option<&str>, file: &Path) -> anyhow::Result<Formato> {
    let text = text.unwrap_or_else(|| match file.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("xml") => "xml",
        _ => "csv",
    });
    Formato::parse(text)
        .ok_or_else(|| super::exit::Usage("--formato must be csv or xml".into()).into())
}

pub fn ingest(config: &Config, args: IngestArgs) -> anyhow::Result<()> {
    let tipo = TipoLote::parse(&args.tipo).ok_or_else(|| {
        anyhow::anyhow!(
            "--tipo {:?} is not a feed kind; the kinds are {}",
            args.tipo,
            TipoLote::ALL.map(TipoLote::as_str).join(", ")
        )
    })?;
    let formato = formato_of(args.formato.as_deref(), &args.file)?;
    let convenios = ConvenioSet::load_dir(&config.convenios.dir)
        .map_err(|e| anyhow::anyhow!("the agreements do not load:\n{e}"))?;
    let convenio = convenios
        .iter()
        .find(|a| a.id.as_str() == args.provider)
        .ok_or_else(|| anyhow::anyhow!("no agreement {:?}", args.provider))?;
    if !convenio.is_in_force(local_today()) {
        anyhow::bail!("agreement {} is not in force today", convenio.id);
    }
    if !convenio
        .grant(Operation::RecepcionLotes)
        .is_some_and(|g| g.allows_tipo(tipo))
    {
        anyhow::bail!(
            "agreement {} does not grant RecepcionLotes for {tipo}",
            convenio.id
        );
    }
    let envio = Envio {
        convenio: convenio.id.to_string(),
        tipo,
        formato,
        clave_proveedor: args.lote_id,
        transporte: "cli",
        id_mensaje: None,
        alcance: convenio.ambito,
        revision: lotes::Revision::de(&crate::modelos::Modelos::load(
            &config.encuesta.modelos,
            &config.encuesta.vigente,
        )?),
    };
    let pool = startup::open_registry(config)?;
    let mut conn = pool.get()?;
    let mut progreso = Barra::new();
    let informe = lotes::recibir(
        &mut conn,
        &envio,
        &args.file,
        &mut progreso,
        &lotes::SinCupo,
    );
    progreso.finish();
    let informe = informe?;
    if informe.repetido {
        println!(
            "lote {} ({}) was already applied on {}: nothing changed; its report follows",
            informe.lote,
            informe.clave,
            informe.aplicado.to_rfc3339()
        );
    }
    println!(
        "lote {}: {} {} record(s) read, {} applied, {} rejected",
        informe.lote, informe.tipo, informe.leidos, informe.aplicados, informe.rechazados
    );
    for aviso in &informe.avisos {
        println!("note: {aviso}");
    }
    for r in &informe.rechazos {
        println!("line {}: {}: {}", r.linea, r.codigo, r.motivo);
    }
    if informe.rechazos_omitidos > 0 {
        println!(
            "… and {} more rejection(s) not listed",
            informe.rechazos_omitidos
        );
    }
    if let Some(path) = args.informe {
        // The report names rejected lines and their values: private, as the registry is.
        crate::fsperm::write_private(&path, serde_json::to_string_pretty(&informe)?.as_bytes())
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    Ok(())
}

pub fn lotes(config: &Config, command: LotesCommand) -> anyhow::Result<()> {
    match command {
        LotesCommand::Generar {
            registros,
            desde,
            formato,
            seed,
            file,
        } => {
            let formato = formato_of(Some(&formato), &file)?;
            // Synthetic, but RUNs and names all the same: private, as a real feed would be.
            let out = crate::fsperm::create_private(&file)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let mut out = BufWriter::with_capacity(1 << 20, out);
            lotes::generar_personas(&mut out, formato, registros, desde, seed)?;
            println!("wrote {registros} personas record(s) to {}", file.display());
            Ok(())
        }
        LotesCommand::Procedencia { run, campo } => {
            let run = Run::parse(&run).map_err(|e| super::exit::Usage(format!("RUN: {e}")))?;
            let pool = startup::open_registry(config)?;
            let mut conn = pool.get()?;
            let found = lotes::procedencia(&mut conn, run, campo.as_deref())?;
            // RFC 4180 through the csv crate: `valores` is a JSON object (commas and quotes),
            // one field all the same.
            let mut out = csv::Writer::from_writer(std::io::stdout().lock());
            out.write_record([
                "lote",
                "convenio",
                "tipo",
                "recibido",
                "transporte",
                "clave",
                "sha256",
                "valores",
            ])?;
            for p in &found {
                out.write_record([
                    p.lote.to_string().as_str(),
                    p.convenio.as_str(),
                    p.tipo.as_str(),
                    p.recibido
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                        .as_str(),
                    p.transporte.as_str(),
                    p.clave.as_str(),
                    p.sha256.as_str(),
                    p.valores.to_string().as_str(),
                ])?;
            }
            out.flush()?;
            eprintln!("{} batch(es) set values of {run}", found.len());
            Ok(())
        }
    }
}

/// Progress of a batch: a bar with records/s and time left on a terminal, plain lines
/// otherwise (every 10 s while validating, after every chunk while applying).
struct Barra {
    bar: Option<ProgressBar>,
    started: Instant,
    last: Instant,
    applying: bool,
}

const PLAIN_EVERY: Duration = Duration::from_secs(10);

impl Barra {
    fn new() -> Barra {
        let bar = std::io::stderr().is_terminal().then(|| {
            ProgressBar::new(0).with_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} [{bar:40}] {percent}%  {per_sec}  eta {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            )
        });
        Barra {
            bar,
            started: Instant::now(),
            last: Instant::now(),
            applying: false,
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progreso for Barra {
    fn validando(&mut self, bytes: u64, total_bytes: u64, registros: u64) {
        match &self.bar {
            Some(bar) => {
                bar.set_length(total_bytes);
                bar.set_position(bytes);
                bar.set_message(format!("validating: {registros} records"));
            }
            None if self.last.elapsed() >= PLAIN_EVERY => {
                self.last = Instant::now();
                let secs = self.started.elapsed().as_secs_f64().max(0.001);
                let left = (total_bytes.saturating_sub(bytes)) as f64 * secs / bytes.max(1) as f64;
                eprintln!(
                    "validating: {registros} records ({:.0}%), {:.0} records/s, {left:.0} s left",
                    100.0 * bytes as f64 / total_bytes.max(1) as f64,
                    registros as f64 / secs
                );
            }
            None => {}
        }
    }

    fn aplicando(&mut self, aplicados: u64, total: u64) {
        if !self.applying {
            self.applying = true;
            self.started = Instant::now();
        }
        match &self.bar {
            Some(bar) => {
                if aplicados == 0 {
                    bar.reset();
                }
                bar.set_length(total);
                bar.set_position(aplicados);
                bar.set_message("applying");
            }
            None => {
                let secs = self.started.elapsed().as_secs_f64().max(0.001);
                let rate = aplicados as f64 / secs;
                eprintln!(
                    "applying: {aplicados}/{total} records, {rate:.0} records/s, {:.0} s left",
                    (total - aplicados.min(total)) as f64 / rate.max(1.0)
                );
            }
        }
    }
}

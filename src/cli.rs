//! The `siis` command line. Each subcommand is a thin call into the library.

mod auditoria;
mod certificados;
mod check;
mod demo;
mod entregas;
mod estadisticas;
mod exit;
mod lotes;
mod manual;
mod progress;
mod serve;
mod systemd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::convenios::ConvenioSet;
use crate::reglas::Rules;
use crate::seed::{SeedOptions, Umbrales};
use crate::startup;
use crate::{db, pki, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "siis",
    version,
    about = "SIIS node: the social registry's broker for agencies",
    after_long_help = "Files: the configuration is --config FILE, else conf/siis.toml in the current \
        folder when present. The Debian package installs /etc/siis/siis.toml and runs `siis \
        --config /etc/siis/siis.toml serve` as the systemd unit siis.service, as user siis, in \
        /var/lib/siis.\n\n\
        Environment: SIIS__SECTION__KEY overrides one key of the configuration (for example \
        SIIS__DATABASE__URL); RUST_LOG overrides log.filter. Under systemd, NOTIFY_SOCKET and \
        WATCHDOG_USEC make `serve` report readiness, pet the watchdog and report stopping."
)]
pub struct Cli {
    /// Configuration file (default: conf/siis.toml when present). SIIS__SECTION__KEY
    /// environment variables override it.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the node: agency (mutual TLS), public (TLS) and admin (loopback) listeners.
    Serve {
        /// Create whatever is missing for a local trial first: the SQLite registry with a demo
        /// population of 100,000 persons, and development certificates.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and load the territory catalogue.
    Migrate,
    /// Fill an empty registry with a deterministic synthetic population.
    Seed {
        /// Number of persons (households are made until this many persons exist).
        #[arg(long)]
        persons: u64,
        /// Seed of the generator: the same seed always gives the same registry.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write a CSV of sample RUNs by category (con_ficha, sin_ficha, fallecido).
        #[arg(long, value_name = "FILE")]
        sample: Option<PathBuf>,
        /// RUNs per category in the sample file.
        #[arg(long, default_value_t = 10_000)]
        sample_size: usize,
    },
    /// Certificates.
    Pki {
        #[command(subcommand)]
        command: PkiCommand,
    },
    /// Agreements (convenios).
    #[command(visible_alias = "agreements")]
    Convenios {
        #[command(subcommand)]
        command: ConveniosCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: auditoria::AuditCommand,
    },
    /// Load a running node as an agency would: the ping baseline, then a mix of operations.
    Bench(BenchArgs),
    /// An example agency endpoint for push notifications: prints each notification once, by its
    /// Idempotency-Key, and answers 200 to a key it has seen (docs/eventos.md).
    Receptor(ReceptorArgs),
    /// Signed certificates (constancias and certificados FPS).
    Certificados {
        #[command(subcommand)]
        command: CertificadosCommand,
    },
    /// Territorial statistics (EstadisticasTerritoriales).
    Estadisticas {
        #[command(subcommand)]
        command: EstadisticasCommand,
    },
    /// Push deliveries: list them and their dead letters, send dead letters again or give
    /// them up (the node's admin listener audits each decision).
    Entregas {
        #[command(subcommand)]
        command: entregas::EntregasCommand,
    },
    /// Apply a provider's batch file (lote) to the registry, exactly once, all or nothing.
    Ingest(lotes::IngestArgs),
    /// The configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Take a consistent copy of the registry and its audit log while the node serves
    /// (`--out DIR`), or check one (`backup verify DIR`).
    Backup(BackupArgs),
    /// Put a verified backup in place of a registry that does not exist yet (SQLite) or an
    /// empty database (PostgreSQL).
    Restore {
        /// The backup folder.
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
    },
    /// Write the registry and its audit log to a folder neither backend's format (JSON lines,
    /// gzip, with a manifest), to move it to another backend: stop the node first.
    Export {
        /// A new (or empty) folder.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Load an export into the configured database (migrated here; its registry and audit
    /// tables must be empty), all or nothing: every file's digest and rows, the audit chain
    /// and its head are checked before the load commits.
    Import {
        /// The export folder.
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
    },
    /// Provider batches: generate a synthetic feed, ask which batch set a value.
    Lotes {
        #[command(subcommand)]
        command: lotes::LotesCommand,
    },
    /// Print the completion script for a shell, e.g. `siis completions bash >
    /// /etc/bash_completion.d/siis`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page siis(1), or write it and one page per subcommand to a folder.
    Man {
        /// Write siis.1, siis-serve.1, … into this folder instead of printing siis.1.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Check together what `siis serve` reads before it starts: the configuration, the TLS
    /// files, the document and audit checkpoint keys, the agreements and the eligibility
    /// rules. Lists every problem; exits 1 when there is one.
    Check,
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct BackupArgs {
    #[command(subcommand)]
    command: Option<BackupCommand>,
    /// A new (or empty) folder for the copy and its manifest.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum BackupCommand {
    /// Check a backup: every file's size and SHA-256, and (SQLite) the audit copy's chain and
    /// head against the manifest.
    Verify { dir: PathBuf },
}

#[derive(Debug, Subcommand)]
enum CertificadosCommand {
    /// Check a certificate offline with only the public key: a PDF (its QR code is read) or
    /// the payload itself. Prints VALIDO or NO VALIDO with the reason; exits 1 when invalid.
    Verificar {
        /// FILE.pdf, or the payload (base64url content "." base64url signature).
        entrada: String,
        /// The document public key (default: certificados.clave_publica, i.e.
        /// tls.dir/documentos.pem).
        #[arg(long, value_name = "FILE")]
        clave_publica: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum EstadisticasCommand {
    /// Count the registry again and replace the summary the node answers from.
    Recalcular,
}

/// `NAME=PID` for `siis bench --pid`.
fn proceso(text: &str) -> Result<crate::bench::Proceso, String> {
    let (name, pid) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not NAME=PID"))?;
    let pid = pid
        .parse()
        .map_err(|_| format!("{pid:?} is not a process id"))?;
    if name.is_empty() {
        return Err(format!("{text:?} has no name"));
    }
    Ok(crate::bench::Proceso {
        name: name.to_owned(),
        pid,
        tree: false,
    })
}

#[derive(Debug, clap::Args)]
struct ReceptorArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8490")]
    listen: std::net::SocketAddr,
    /// Its server certificate and key (`siis pki dev` writes receptor.pem).
    #[arg(long, default_value = "var/pki/receptor.pem")]
    cert: PathBuf,
    #[arg(long, default_value = "var/pki/receptor-key.pem")]
    key: PathBuf,
    /// The CA the node's client certificate chains to.
    #[arg(long, default_value = "var/pki/ca.pem")]
    ca: PathBuf,
    /// The common name the caller's certificate must carry.
    #[arg(long, default_value = crate::pki::NODE_CN)]
    nodo_cn: String,
    /// SQLite file of the keys applied (a restart remembers them).
    #[arg(long, default_value = "var/receptor-claves.db")]
    claves: PathBuf,
    /// Answer 503 to the first N notifications (to watch the node retry).
    #[arg(long, default_value_t = 0)]
    fallar: u64,
    /// Milliseconds to wait before each answer.
    #[arg(long, default_value_t = 0)]
    lento_ms: u64,
    /// Count only; print nothing (benchmarks).
    #[arg(long)]
    silencioso: bool,
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// The agency listener, e.g. https://localhost:8443.
    #[arg(long, default_value = "https://localhost:8443")]
    target: String,
    /// CA that signed the node's server certificate.
    #[arg(long, default_value = "var/pki/ca.pem")]
    ca: PathBuf,
    /// Client certificate and key of the agreement to act under.
    #[arg(long)]
    cert: PathBuf,
    #[arg(long)]
    key: PathBuf,
    /// Sample RUNs from `siis seed --sample` (con_ficha ones are used).
    #[arg(long, default_value = "var/sample.csv")]
    sample: PathBuf,
    /// Seconds per phase (baseline, then mix).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Skip the ping baseline and run the mix alone (long runs whose point is the node's
    /// state over time, not the ratio to ping, which is then 0).
    #[arg(long)]
    no_baseline: bool,
    /// Seconds each phase runs first without being measured (connections, statements and
    /// pages warm up; the figures are the steady state after).
    #[arg(long, default_value_t = 0)]
    warmup: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Fixed arrival rate (requests per second) instead of a closed loop.
    #[arg(long)]
    rate: Option<u32>,
    /// The mix, as op=weight pairs (ficha, ficha_soap, lote, identidad, elegibilidad, ping).
    #[arg(
        long,
        default_value = "ficha=40,ficha_soap=20,lote=2,identidad=18,elegibilidad=20"
    )]
    mix: String,
    /// Eligibility program asked about.
    #[arg(long, default_value = "PBS")]
    programa: String,
    /// Also write the report as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// The node's process id (same machine): its private memory (RssAnon) and threads are
    /// sampled through the run and reported per phase, with its CPU per request (in all and
    /// by thread) over each phase's measured seconds. Given once per node for several nodes
    /// behind a balancer: each one's CPU per request and their sum (memory: the first's).
    #[arg(long, value_name = "PID")]
    node_pid: Vec<u32>,
    /// Another process whose CPU per request is reported, e.g. --pid haproxy=4242.
    #[arg(long, value_name = "NAME=PID", value_parser = proceso)]
    pid: Vec<crate::bench::Proceso>,
    /// PostgreSQL's postmaster (same machine): the server's CPU per request, its backends
    /// included (`head -1 $PGDATA/postmaster.pid`).
    #[arg(long, value_name = "PID")]
    pg_pid: Option<u32>,
    /// Give each request a message id of its own (X-Request-Id), so the node checks it for
    /// replays as it does for agencies that send ids.
    #[arg(long)]
    message_ids: bool,
}

#[derive(Debug, Subcommand)]
enum ConveniosCommand {
    /// Validate every agreement file; problems are listed as FILE:LINE: problem.
    Check {
        /// Folder to check (default: convenios.dir from the configuration).
        dir: Option<PathBuf>,
    },
    /// Write a new agreement from its template: a municipality's (`--comuna 10401`, file
    /// muni-10401.toml) or an Intendencia's ORASMI agreement (`--region 10`, orasmi-10.toml).
    /// The text is checked before it is written; an existing file is kept unless --force.
    Nuevo {
        /// The comuna whose municipality the agreement is for (its CUT).
        #[arg(
            long,
            value_name = "CUT",
            conflicts_with = "region",
            required_unless_present = "region"
        )]
        comuna: Option<String>,
        /// The region whose Intendencia the ORASMI agreement is for (two digits).
        #[arg(long, value_name = "RR", visible_alias = "intendencia")]
        region: Option<String>,
        /// First day in force.
        #[arg(long, value_name = "YYYY-MM-DD", default_value = "2026-01-01")]
        desde: chrono::NaiveDate,
        /// Last day in force.
        #[arg(long, value_name = "YYYY-MM-DD", default_value = "2028-12-31")]
        hasta: chrono::NaiveDate,
        /// Folder to write to (default: convenios.dir from the configuration).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
        /// Replace an agreement file that exists.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Write a development CA, a server certificate for localhost and one client certificate
    /// per agreement file (what exists is kept; delete the folder to start over).
    Dev {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Convenios folder (default: convenios.dir from the configuration).
        #[arg(long, value_name = "DIR")]
        convenios: Option<PathBuf>,
    },
}

/// The id of the last audit record a copy holds, as the commands print it.
fn head_id(head: &Option<crate::backup::AuditHead>) -> String {
    head.as_ref().map_or("none".into(), |h| h.id.to_string())
}

/// Runs the command line; errors are printed as one line and give a non-zero exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, whatever the cause's own formatting (libpq's messages span lines).
            let message = error.to_string();
            let line: Vec<&str> = message.split_whitespace().collect();
            eprintln!("siis: error: {}", line.join(" "));
            ExitCode::from(exit::code_of(&error))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Generated from the definitions above: no configuration is read (a package build runs
    // these without one), so they are answered before it is.
    let command = match cli.command {
        Command::Completions { shell } => return manual::completions(shell),
        Command::Man { out } => return manual::man(out.as_deref()),
        command => command,
    };
    let config = Config::load(cli.config.as_deref())?;
    telemetry::init(&config.log);
    match command {
        Command::Serve { demo } => serve::serve(config, demo),
        Command::Migrate => {
            crate::fsperm::secure_database(&config.database.url)?;
            let mut conn = db::ConnectionManager::new(config.database.url.clone()).open()?;
            let applied = db::run_migrations(&mut conn)?;
            db::sync_reference(&mut conn)?;
            println!(
                "{}: {} migration(s) applied, territory catalogue loaded",
                config.database.url,
                applied.len()
            );
            Ok(())
        }
        Command::Seed {
            persons,
            seed,
            sample,
            sample_size,
        } => {
            let options = SeedOptions {
                persons,
                seed,
                sample,
                sample_size,
                umbrales: Umbrales::from_rules(&Rules::load(&config.elegibilidad.reglas)?)?,
            };
            let pool = startup::open_registry(&config)?;
            let mut conn = pool.get()?;
            let report = progress::seed_with_progress(&mut conn, &options)?;
            progress::print_seed_report(&report, &config);
            estadisticas::recalcular(&mut conn)?;
            Ok(())
        }
        Command::Backup(BackupArgs { command, out }) => match (command, out) {
            (Some(BackupCommand::Verify { dir }), _) => {
                let manifest = crate::backup::verify(&dir)?;
                println!(
                    "{}: backup intact ({} file(s), {} persons, audit head {})",
                    dir.display(),
                    manifest.files.len(),
                    manifest.personas,
                    head_id(&manifest.audit_head)
                );
                Ok(())
            }
            (None, Some(out)) => {
                let manifest = crate::backup::backup(&config.database.url, &out)?;
                let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
                println!(
                    "{}: {} file(s), {bytes} bytes, {} persons, audit head {}; check it with `siis backup verify {}`",
                    out.display(),
                    manifest.files.len(),
                    manifest.personas,
                    head_id(&manifest.audit_head),
                    out.display()
                );
                Ok(())
            }
            (None, None) => Err(exit::Usage(
                "siis backup needs --out DIR (or: siis backup verify DIR)".into(),
            )
            .into()),
        },
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            let (problems, warnings) = check::problems(&config);
            for line in problems.iter().chain(&warnings) {
                println!("{line}");
            }
            if problems.is_empty() {
                println!(
                    "configuration, TLS files, keys, agreements and eligibility rules: all valid"
                );
                Ok(())
            } else {
                Err(exit::Negative(format!("{} problem(s)", problems.len())).into())
            }
        }
        Command::Restore { from } => {
            let manifest = crate::backup::restore(&from, &config.database.url)?;
            println!(
                "{}: restored from {} ({} persons, audit head {}); run `siis audit verify` before serving",
                config.database.url.redacted(),
                from.display(),
                manifest.personas,
                head_id(&manifest.audit_head)
            );
            Ok(())
        }
        Command::Export { out } => {
            let started = std::time::Instant::now();
            let manifest = crate::backup::export(&config.database.url, &out)?;
            let rows: u64 = manifest.tablas.iter().map(|t| t.filas).sum();
            let bytes: u64 = manifest.tablas.iter().map(|t| t.bytes).sum();
            println!(
                "{}: {} table(s), {rows} rows, {bytes} bytes, {} persons, audit head {} in {:.1} s; load it with `siis import --from {}`",
                out.display(),
                manifest.tablas.len(),
                manifest.personas,
                head_id(&manifest.audit_head),
                started.elapsed().as_secs_f64(),
                out.display()
            );
            Ok(())
        }
        Command::Import { from } => {
            let started = std::time::Instant::now();
            crate::fsperm::secure_database(&config.database.url)?;
            let report = crate::backup::import(&from, &config.database.url)?;
            println!(
                "{}: imported {} rows from {} ({} persons, audit chain verified to head {}) in {:.1} s",
                config.database.url.redacted(),
                report.filas,
                from.display(),
                report.manifest.personas,
                head_id(&report.manifest.audit_head),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Estadisticas {
            command: EstadisticasCommand::Recalcular,
        } => {
            let pool = startup::open_registry(&config)?;
            let mut conn = pool.get()?;
            estadisticas::recalcular(&mut conn)?;
            Ok(())
        }
        Command::Convenios {
            command: ConveniosCommand::Check { dir },
        } => {
            let dir = dir.unwrap_or_else(|| config.convenios.dir.clone());
            match ConvenioSet::load_dir(&dir) {
                Ok(set) => {
                    for warning in set.warnings() {
                        println!("{warning}");
                    }
                    for a in set.iter() {
                        let ambito = a
                            .ambito
                            .map_or(String::from("national"), |s| format!("ambito {s}"));
                        println!(
                            "{}: {} ({} operation(s), {ambito}, in force {} to {})",
                            a.id,
                            a.agency,
                            a.grants.len(),
                            a.valid_from,
                            a.valid_until
                        );
                    }
                    println!("{}: {} agreement(s), all valid", dir.display(), set.len());
                    if !set.warnings().is_empty() {
                        println!("{} warning(s)", set.warnings().len());
                    }
                    Ok(())
                }
                Err(errors) => {
                    println!("{errors}");
                    Err(exit::Negative(format!(
                        "{}: {} problem(s) in the agreements",
                        dir.display(),
                        errors.0.len()
                    ))
                    .into())
                }
            }
        }
        Command::Convenios {
            command:
                ConveniosCommand::Nuevo {
                    comuna,
                    region,
                    desde,
                    hasta,
                    dir,
                    force,
                },
        } => {
            use crate::convenios::nuevo::Plantilla;
            let plantilla = match (comuna, region) {
                (Some(cut), _) => Plantilla::comuna(&cut)?,
                (None, Some(region)) => Plantilla::region(&region)?,
                (None, None) => anyhow::bail!("give --comuna CUT or --region RR"),
            };
            let nuevo = plantilla.escribir(desde, hasta)?;
            let dir = dir.unwrap_or_else(|| config.convenios.dir.clone());
            let ruta = nuevo.ruta(&dir);
            if ruta.exists() && !force {
                anyhow::bail!(
                    "{} exists: it is kept (give --force to replace it)",
                    ruta.display()
                );
            }
            std::fs::write(&ruta, &nuevo.texto)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", ruta.display()))?;
            println!("{}: written ({})", ruta.display(), nuevo.id);
            println!(
                "its client certificate: siis pki dev --convenios {} (development), or add its pins under [[clients]]",
                dir.display()
            );
            Ok(())
        }
        Command::Audit { command } => auditoria::run(&config, command),
        Command::Entregas { command } => entregas::run(&config, command),
        Command::Receptor(args) => {
            let options = crate::receptor::ReceptorOptions {
                listen: args.listen,
                cert: args.cert,
                key: args.key,
                ca: args.ca,
                nodo_cn: args.nodo_cn,
                claves: args.claves,
                fallar: args.fallar,
                lento: std::time::Duration::from_millis(args.lento_ms),
                imprimir: !args.silencioso,
                guardar: 0,
            };
            actix_web::rt::System::new().block_on(async move {
                let receptor = crate::receptor::start(options)?;
                eprintln!("receptor listening on https://{}", receptor.addr);
                let server = receptor.server.handle();
                actix_web::rt::spawn(async move {
                    let _ = actix_web::rt::signal::ctrl_c().await;
                    server.stop(true).await;
                });
                receptor.server.await?;
                anyhow::Ok(())
            })
        }
        Command::Bench(args) => {
            let mut mix = Vec::new();
            for part in args.mix.split(',').filter(|p| !p.trim().is_empty()) {
                let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
                let op = crate::bench::Op::parse(name.trim())
                    .ok_or_else(|| exit::Usage(format!("--mix: unknown operation {name:?}")))?;
                let weight: u32 = weight
                    .trim()
                    .parse()
                    .map_err(|_| exit::Usage(format!("--mix: weight of {name} is not a number")))?;
                if weight > 0 {
                    mix.push((op, weight));
                }
            }
            if mix.is_empty() {
                return Err(exit::Usage("--mix names no operation".into()).into());
            }
            let options = crate::bench::BenchOptions {
                target: args.target,
                ca: args.ca,
                cert: args.cert,
                key: args.key,
                sample: args.sample,
                duration: std::time::Duration::from_secs(args.seconds.max(1)),
                warmup: std::time::Duration::from_secs(args.warmup),
                concurrency: args.concurrency.max(1),
                rate: args.rate,
                mix,
                programa: args.programa,
                node_pids: args.node_pid,
                others: args
                    .pid
                    .into_iter()
                    .chain(args.pg_pid.map(|pid| crate::bench::Proceso {
                        name: "postgres".into(),
                        pid,
                        tree: true,
                    }))
                    .collect(),
                message_ids: args.message_ids,
                baseline: !args.no_baseline,
            };
            let report = crate::bench::run(&options)?;
            crate::bench::print(&report);
            if let Some(path) = args.json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)?)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            }
            Ok(())
        }
        Command::Certificados {
            command:
                CertificadosCommand::Verificar {
                    entrada,
                    clave_publica,
                },
        } => {
            let key = clave_publica.unwrap_or_else(|| config.clave_publica_documentos());
            if certificados::verificar(&entrada, &key)? {
                Ok(())
            } else {
                Err(exit::Negative("the certificate is not valid".into()).into())
            }
        }
        Command::Ingest(args) => lotes::ingest(&config, args),
        Command::Lotes { command } => lotes::lotes(&config, command),
        Command::Completions { shell } => manual::completions(shell),
        Command::Man { out } => manual::man(out.as_deref()),
        Command::Pki {
            command: PkiCommand::Dev { out, convenios },
        } => {
            let dir = convenios.unwrap_or_else(|| config.convenios.dir.clone());
            let report = pki::dev(&out, &pki::convenio_ids(&dir)?)?;
            for path in &report.created {
                println!("wrote {}", path.display());
            }
            println!(
                "pins to paste into agreements (client and CA SPKI SHA-256): {}",
                out.join(pki::PINS).display()
            );
            println!(
                "{}: CA, server certificate, {} client certificate(s), the node's client certificate, the example receiver's certificate and the document signing key ready",
                out.display(),
                report.clients.len()
            );
            Ok(())
        }
    }
}

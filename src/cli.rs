//! The `siis` command line. Each subcommand is a thin call into the library.

mod demo;
mod progress;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::seed::SeedOptions;
use crate::startup::{self, Node};
use crate::{db, pki, telemetry, tls};

#[derive(Debug, Parser)]
#[command(
    name = "siis",
    version,
    about = "SIIS node: the social registry's broker for agencies"
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
}

#[derive(Debug, Subcommand)]
enum PkiCommand {
    /// Write a development CA, a server certificate for localhost and one client certificate
    /// per agreement file (what exists is kept; delete the folder to start over).
    Dev {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Agreements folder (default: agreements.dir from the configuration).
        #[arg(long, value_name = "DIR")]
        agreements: Option<PathBuf>,
    },
}

/// Runs the command line; errors are printed as one line and give a non-zero exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line, whatever the cause's own formatting (libpq's messages span lines).
            let message = format!("{error:#}");
            let line: Vec<&str> = message.split_whitespace().collect();
            eprintln!("siis: error: {}", line.join(" "));
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    telemetry::init(&config.log);
    match cli.command {
        Command::Serve { demo } => serve(config, demo),
        Command::Migrate => {
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
                umbrales: config.umbrales.clone(),
            };
            let pool = startup::open_registry(&config)?;
            let mut conn = pool.get()?;
            let report = progress::seed_with_progress(&mut conn, &options)?;
            progress::print_seed_report(&report, &config);
            Ok(())
        }
        Command::Pki {
            command: PkiCommand::Dev { out, agreements },
        } => {
            let dir = agreements.unwrap_or_else(|| config.agreements.dir.clone());
            let report = pki::dev(&out, &pki::agreement_ids(&dir)?)?;
            for path in &report.created {
                println!("wrote {}", path.display());
            }
            println!(
                "{}: CA, server certificate and {} client certificate(s) ready",
                out.display(),
                report.clients.len()
            );
            Ok(())
        }
    }
}

fn serve(config: Config, demo: bool) -> anyhow::Result<()> {
    let config = Arc::new(config);
    actix_web::rt::System::new().block_on(async move {
        // Bind first: a port in use stops start-up before anything is created.
        let listeners = startup::Listeners::bind(&config.listen)?;
        if demo {
            demo::prepare(&config)?;
        }
        let tls = tls::load(&config.tls.dir)?;
        let pool = startup::open_registry(&config)?;
        if demo {
            demo::ensure_population(&config, &pool)?;
        }
        let node = Node::start_with(config.clone(), listeners, tls, pool)?;
        tracing::info!(
            agency = %node.agency,
            public = %node.public,
            admin = %node.admin,
            backend = config.database.url.backend(),
            "node started"
        );
        if demo {
            demo::print_welcome(&config, &node);
        }
        shutdown_signal().await;
        tracing::info!("shutting down: finishing requests in flight");
        node.stop().await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let terminate = async {
        match term.as_mut() {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}

/// The folder that will hold an SQLite database file, if the URL names one.
fn sqlite_folder(config: &Config) -> Option<&Path> {
    match &config.database.url {
        db::DatabaseUrl::Sqlite(path) => path.parent().filter(|p| !p.as_os_str().is_empty()),
        db::DatabaseUrl::Postgres(_) => None,
    }
}

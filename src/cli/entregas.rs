//! `siis entregas …`: the operator's side of push deliveries (docs/eventos.md, "Dead
//! letters"). `listar` reads the registry (counts and dead letters, never a RUN); `reintentar`
//! and `descartar` ask the running node's admin listener, which audits each decision: the node
//! is the audit chain's only writer (docs/audit.md), so a command cannot append to it.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

use super::exit::{Negative, Unavailable, Usage};
use crate::config::Config;
use crate::error::ApiError;
use crate::ops::suscripciones::operador::{self, Filtro, Listado, Seleccion};
use crate::startup;

#[derive(Debug, clap::Subcommand)]
pub enum EntregasCommand {
    /// Counts by subscription and state, then the dead letters (subscription, secuencia,
    /// attempts, last error, HTTP status, and how many of the same person's later entregas
    /// wait behind each). No RUN, no event's data.
    Listar {
        /// Only this agreement's subscriptions.
        #[arg(long)]
        convenio: Option<String>,
        /// Only this subscription.
        #[arg(long)]
        suscripcion: Option<String>,
        /// Only this state: disponible, pendiente, en_curso, entregada, muerta, descartada,
        /// revocada.
        #[arg(long)]
        estado: Option<String>,
        /// The most dead letters named (the counts cover them all; at most 1,000).
        #[arg(long, default_value_t = 100)]
        limite: u32,
        /// Print the listing as JSON (as `GET /admin/entregas` answers).
        #[arg(long)]
        json: bool,
    },
    /// Send dead letters again: back to pendiente, attempts 0, due now, same secuencia (so the
    /// same idempotency key). Audited by the node.
    Reintentar(DecisionArgs),
    /// Give dead letters up (descartada): the same person's later entregas held behind them
    /// go on. Audited by the node.
    Descartar(DecisionArgs),
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("seleccion").required(true).multiple(false)))]
pub struct DecisionArgs {
    /// A subscription's dead letters.
    #[arg(long, group = "seleccion")]
    suscripcion: Option<String>,
    /// With --suscripcion: only from this secuencia on.
    #[arg(long, requires = "suscripcion")]
    desde: Option<i64>,
    /// Every subscription's of an agreement (a replay skips closed ones).
    #[arg(long, group = "seleccion")]
    convenio: Option<String>,
    /// One entrega, SUSCRIPCION:N.
    #[arg(long, group = "seleccion")]
    secuencia: Option<String>,
    /// Why (kept in the audit record; at most 200 characters).
    #[arg(long)]
    motivo: Option<String>,
    /// The node's admin listener (default: http:// and listen.admin, loopback when it listens
    /// on every address).
    #[arg(long, value_name = "URL")]
    admin: Option<String>,
}

pub fn run(config: &Config, command: EntregasCommand) -> anyhow::Result<()> {
    match command {
        EntregasCommand::Listar {
            convenio,
            suscripcion,
            estado,
            limite,
            json,
        } => {
            let filtro = Filtro::parse(
                convenio.as_deref(),
                suscripcion.as_deref(),
                estado.as_deref(),
                Some(limite),
            )
            .map_err(failure)?;
            let pool = startup::open_registry(config)?;
            let mut conn = pool.get()?;
            let listado = operador::listar(&mut conn, &filtro).map_err(failure)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&listado)?);
            } else {
                print(&listado);
            }
            Ok(())
        }
        EntregasCommand::Reintentar(args) => decidir(config, "reintentar", args),
        EntregasCommand::Descartar(args) => decidir(config, "descartar", args),
    }
}

/// A refusal as the command's failure: a bad or unknown selection is a usage error, a
/// conflict (a closed subscription, a row that is not dead) a no, the rest unavailable.
fn failure(error: ApiError) -> anyhow::Error {
    let detail = format!("{}: {}", error.code.as_str(), error.detail);
    match error.status() {
        400 | 404 => Usage(detail).into(),
        409 => Negative(detail).into(),
        _ => Unavailable(detail).into(),
    }
}

fn print(listado: &Listado) {
    if listado.cuentas.is_empty() {
        println!("no entregas");
    } else {
        println!(
            "{:<16} {:<36} {:<10} {:>9}",
            "convenio", "suscripcion", "estado", "entregas"
        );
        for c in &listado.cuentas {
            println!(
                "{:<16} {:<36} {:<10} {:>9}",
                c.convenio, c.suscripcion, c.estado, c.entregas
            );
        }
    }
    if listado.muertas.is_empty() {
        return;
    }
    println!();
    println!(
        "{:<16} {:<36} {:>9} {:>8} {:>4} {:>6}  ultimo_error",
        "convenio", "suscripcion", "secuencia", "intentos", "http", "detras"
    );
    for m in &listado.muertas {
        println!(
            "{:<16} {:<36} {:>9} {:>8} {:>4} {:>6}  {}",
            m.convenio,
            m.suscripcion,
            m.secuencia,
            m.intentos,
            m.estado_http.map_or("-".into(), |s| s.to_string()),
            m.detras,
            m.ultimo_error.as_deref().unwrap_or("-")
        );
    }
    if listado.muertas_omitidas > 0 {
        println!(
            "… and {} more dead letter(s) not listed (--limite)",
            listado.muertas_omitidas
        );
    }
}

/// The admin listener's base URL.
fn admin_url(config: &Config, given: Option<String>) -> String {
    if let Some(url) = given {
        return url.trim_end_matches('/').to_owned();
    }
    let mut addr: SocketAddr = config.listen.admin;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{addr}")
}

fn decidir(config: &Config, accion: &str, args: DecisionArgs) -> anyhow::Result<()> {
    // Checked here too, so that a mistake is told without a node.
    Seleccion::parse(
        args.suscripcion.as_deref(),
        args.desde,
        args.convenio.as_deref(),
        args.secuencia.as_deref(),
    )
    .map_err(failure)?;
    let url = format!("{}/admin/entregas/{accion}", admin_url(config, args.admin));
    let body = json!({
        "suscripcion": args.suscripcion,
        "desde": args.desde,
        "convenio": args.convenio,
        "secuencia": args.secuencia,
        "motivo": args.motivo,
    });
    let (status, answer) = actix_web::rt::System::new().block_on(post(&url, &body))?;
    if status != 200 {
        let code = answer["code"].as_str().unwrap_or("?");
        let detail = format!(
            "{code}: {}",
            answer["detail"].as_str().unwrap_or("the node refused")
        );
        return Err(match status {
            400 | 404 => Usage(detail).into(),
            409 => Negative(detail).into(),
            403 => Usage(format!("{detail} (is --admin this node's admin listener?)")).into(),
            _ => Unavailable(detail).into(),
        });
    }
    let entregas = answer["entregas"].as_u64().unwrap_or(0);
    let estado = answer["estado"].as_str().unwrap_or("?");
    let seleccion = answer["seleccion"].as_str().unwrap_or("?");
    match answer["registro"].as_i64() {
        Some(registro) => println!(
            "{seleccion}: {entregas} dead letter(s) now {estado} (audit record {registro})"
        ),
        None => println!("{seleccion}: no dead letter to change; nothing recorded"),
    }
    Ok(())
}

async fn post(url: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
    let tls = rustls::ClientConfig::builder_with_provider(crate::tls::provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let client = reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(Duration::from_secs(60))
        .build()?;
    let response = client.post(url).json(body).send().await.map_err(|e| {
        Unavailable(format!(
            "the node's admin listener at {url} does not answer ({e}): is `siis serve` running?"
        ))
    })?;
    let status = response.status().as_u16();
    let answer = response.json().await.unwrap_or(Value::Null);
    Ok((status, answer))
}

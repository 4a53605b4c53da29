//! The node as a client of the agencies: one notification sent to a subscription's callback
//! over mutual TLS, and what its answer means for the delivery (docs/eventos.md, "Push").
//!
//! The node presents its own client certificate (`tls.dir/nodo.pem` in development), checks the
//! receiver's server certificate against the configured CA, follows no redirect and calls
//! `https` only: the callback URLs an agreement lists are the only places it ever calls.

use std::path::PathBuf;
use std::time::Duration;

use rand::Rng;

/// How the node calls agencies.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// The node's client certificate and key.
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The CAs a receiver's server certificate must chain to.
    pub ca: PathBuf,
    pub connect_timeout: Duration,
    /// The whole call, answer included.
    pub timeout: Duration,
    /// Connections kept open per receiver (at least the calls in flight to it).
    pub idle_per_host: usize,
}

impl PushOptions {
    /// From `[notificaciones]`: its certificate, key and CA, by default the development ones
    /// in `tls.dir`.
    pub fn from_config(config: &crate::config::Config) -> PushOptions {
        let n = &config.notificaciones;
        let en = |file: &Option<PathBuf>, name: &str| {
            file.clone().unwrap_or_else(|| config.tls.dir.join(name))
        };
        PushOptions {
            cert: en(&n.certificado, crate::pki::NODE_CERT),
            key: en(&n.clave, crate::pki::NODE_KEY),
            ca: en(&n.ca, crate::pki::CA_CERT),
            connect_timeout: Duration::from_millis(n.timeout_ms.min(5_000)),
            timeout: Duration::from_millis(n.timeout_ms),
            idle_per_host: n.en_vuelo as usize,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("{0}: {1}")]
    File(PathBuf, String),
    #[error("TLS client: {0}")]
    Tls(String),
}

/// The HTTP client every delivery shares (its pool keeps connections to each receiver open).
pub fn client(options: &PushOptions) -> Result<reqwest::Client, PushError> {
    let tls = crate::tls::client_config(&options.ca, &options.cert, &options.key)
        .map_err(|e| PushError::Tls(e.to_string()))?;
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .https_only(true)
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(options.connect_timeout)
        .timeout(options.timeout)
        .pool_max_idle_per_host(options.idle_per_host.max(1))
        // Below the 5 s most servers keep an idle connection (actix-web's default): a call
        // sent on one the receiver is closing would fail in transit.
        .pool_idle_timeout(Duration::from_secs(4))
        .build()
        .map_err(|e| PushError::Tls(e.to_string()))
}

/// What one call's answer means for the delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resultado {
    /// 2xx: the receiver has the notification (a key it had applied already answers so too).
    Entregada { estado: u16 },
    /// Worth trying again later: no answer (connection, TLS, timeout), 408, 425, 429 or 5xx.
    /// `despues`: the receiver's `Retry-After`, when it gave one in seconds.
    Reintentar {
        estado: Option<u16>,
        despues: Option<Duration>,
        motivo: String,
    },
    /// The receiver refuses the content (another 4xx, or a redirect the node does not follow):
    /// trying the same bytes again will not help, so it dies after fewer attempts.
    Rechazada { estado: u16, motivo: String },
}

impl Resultado {
    /// From an HTTP status and its `Retry-After` header.
    pub fn de_estado(estado: u16, retry_after: Option<&str>) -> Resultado {
        match estado {
            200..=299 => Resultado::Entregada { estado },
            408 | 425 | 429 | 500..=599 => Resultado::Reintentar {
                estado: Some(estado),
                despues: retry_after
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs),
                motivo: format!("HTTP {estado}"),
            },
            300..=399 => Resultado::Rechazada {
                estado,
                motivo: format!("HTTP {estado}: redirects are not followed"),
            },
            _ => Resultado::Rechazada {
                estado,
                motivo: format!("HTTP {estado}"),
            },
        }
    }
}

/// Sends one notification: `body` (JSON) to `url`, with its idempotency key in the
/// `Idempotency-Key` header (a Structured Field string, as the IETF draft has it).
pub async fn enviar(client: &reqwest::Client, url: &str, clave: &str, body: Vec<u8>) -> Resultado {
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", format!("\"{clave}\""))
        .body(body)
        .send()
        .await;
    match sent {
        Ok(answer) => {
            let retry_after = answer
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            Resultado::de_estado(answer.status().as_u16(), retry_after.as_deref())
        }
        // The error's text names the URL and the cause (refused, TLS, timeout); it carries no
        // personal data (the body is not in it).
        Err(e) => Resultado::Reintentar {
            estado: None,
            despues: None,
            motivo: cause(&e),
        },
    }
}

/// The innermost cause of a failed call, which says what went wrong (the outer layers only say
/// "error sending request").
fn cause(e: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = e;
    while let Some(inner) = source.source() {
        source = inner;
    }
    let what = match (e.is_timeout(), e.is_connect()) {
        (true, _) => "timeout",
        (_, true) => "connection",
        _ => "call",
    };
    format!("{what}: {source}")
}

/// The wait before attempt `intentos + 1` after `intentos` failures: exponential with full
/// jitter (uniform in `[0, min(tope, base · 2^intentos)]`), never less than the receiver's
/// `Retry-After` when it gave one, nor more than `tope` plus it.
pub fn espera(
    intentos: u32,
    base: Duration,
    tope: Duration,
    retry_after: Option<Duration>,
    rng: &mut impl Rng,
) -> Duration {
    let techo = base
        .saturating_mul(2u32.saturating_pow(intentos.min(30)))
        .min(tope);
    let jitter = Duration::from_micros(rng.random_range(0..=techo.as_micros() as u64));
    match retry_after {
        Some(after) => jitter.max(after.min(tope)),
        None => jitter,
    }
}

/// Starts `trabajo` on a thread `nombre` of its own running an actix system (the broker runs
/// each call as a local task), whatever runtime the node was started from, with a client built
/// on that thread's runtime, whose reactor its connections use. The certificate is read once
/// before, so that a missing one is told at start. The push worker and the DCI callbacks.
pub fn en_hilo<F, Fut>(
    nombre: &str,
    options: PushOptions,
    trabajo: F,
) -> Result<std::thread::JoinHandle<()>, PushError>
where
    F: FnOnce(reqwest::Client) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    client(&options)?;
    let hilo = nombre.to_owned();
    std::thread::Builder::new()
        .name(nombre.into())
        .spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                match client(&options) {
                    Ok(client) => trabajo(client).await,
                    Err(error) => tracing::error!(error = %error, hilo, "push client not built"),
                }
            });
        })
        .map_err(|e| PushError::Tls(format!("thread: {e}")))
}

/// When a row that has failed `intentos` attempts is due again (microseconds since the epoch):
/// now plus [`espera`] with the `[notificaciones]` backoff, at least `despues` (a
/// `Retry-After`). The push worker and the DCI callbacks retry alike.
pub fn vence_us(
    config: &crate::config::NotificacionesConfig,
    intentos: i32,
    despues: Option<Duration>,
) -> i64 {
    let espera = espera(
        u32::try_from(intentos.saturating_sub(1)).unwrap_or(0),
        Duration::from_millis(config.espera_base_ms),
        Duration::from_millis(config.espera_tope_ms),
        despues,
        &mut rand::rng(),
    );
    chrono::Utc::now().timestamp_micros()
        + i64::try_from(espera.as_micros()).unwrap_or(i64::MAX / 4)
}

#[cfg(test)]
mod tests;

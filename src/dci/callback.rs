//! The async search's `on-search` callback (`docs/dci.md`, "Async search"): a worker on the
//! leader that claims due callbacks (`ops::dci::callback`), has each attempt admitted and
//! audited through the broker as the node delivering to the agreement (transport `push`), and
//! POSTs the `on-search` envelope to the search's `sender_uri` over mutual TLS with the node's
//! certificate (`push::client`), with the search's correlation id as `Idempotency-Key`;
//! retried with the push backoff (`push::espera`) up to `notificaciones.intentos_max`. Claims
//! are leased in the database, so a node killed in mid-call leaves nothing lost: the callback
//! is claimed again once its lease is past, with the same key.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::sobre::Cabecera;
use crate::broker::{Call, Service, Transport};
use crate::catalog::Operation;
use crate::config::NotificacionesConfig;
use crate::db::lider::Lider;
use crate::domain::ConvenioId;
use crate::error::{ApiError, ErrorCode};
use crate::ops::Core;
use crate::ops::dci::callback::{self, Desenlace, Reclamado};
use crate::push::{self, Resultado};

/// Callbacks claimed per turn.
const POR_TURNO: i64 = 16;

/// Starts the worker on a thread of its own (an actix system: the broker runs each call as a
/// local task); ends when `stop` fires.
pub fn arrancar(
    core: Arc<Core>,
    lider: Lider,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> Result<std::thread::JoinHandle<()>, push::PushError> {
    let options = push::PushOptions::from_config(&core.broker.config);
    push::en_hilo("siis-dci-callback", options, move |client| {
        trabajar(core, lider, client, stop)
    })
}

async fn trabajar(
    core: Arc<Core>,
    lider: Lider,
    client: reqwest::Client,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let config = core.broker.config.notificaciones.clone();
    let sondeo = Duration::from_millis(config.sondeo_ms);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            () = tokio::time::sleep(sondeo) => {}
        }
        if !lider.es_lider() || core.broker.outage.is_down() {
            continue;
        }
        let pool = core.broker.pool.clone();
        let lease = config.lease_ms;
        let claimed = actix_web::web::block(move || {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let ahora = chrono::Utc::now().timestamp_micros();
            let lease_us = ahora + i64::try_from(lease).unwrap_or(i64::MAX / 2_000) * 1_000;
            callback::reclamar(&mut conn, ahora, lease_us, POR_TURNO).map_err(|e| e.to_string())
        })
        .await;
        let claimed = match claimed {
            Ok(Ok(claimed)) => claimed,
            Ok(Err(error)) => {
                tracing::error!(error = %error, "DCI callbacks not claimed; trying again");
                continue;
            }
            Err(error) => {
                tracing::error!(error = %error, "DCI callback claim task failed");
                continue;
            }
        };
        for reclamado in claimed {
            let (core, client) = (core.clone(), client.clone());
            actix_web::rt::spawn(async move {
                let desenlace = enviar(&core, &client, &reclamado).await;
                let pool = core.broker.pool.clone();
                let escrito = actix_web::web::block(move || {
                    let mut conn = pool.get().map_err(|e| e.to_string())?;
                    callback::registrar_desenlace(
                        &mut conn,
                        &reclamado.convenio,
                        &reclamado.correlation_id,
                        &desenlace,
                    )
                    .map_err(|e| e.to_string())
                })
                .await;
                if !matches!(escrito, Ok(Ok(()))) {
                    // Still en_curso: claimed again once its lease is past, the same key.
                    tracing::error!(
                        "a DCI callback's outcome was not written; it is sent again after its lease"
                    );
                }
            });
        }
    }
}

/// One attempt: through the broker (admitted, audited), then to the callback.
async fn enviar(core: &Arc<Core>, client: &reqwest::Client, r: &Reclamado) -> Desenlace {
    let config = &core.broker.config.notificaciones;
    let Ok(convenio) = ConvenioId::parse(&r.convenio) else {
        return Desenlace::Revocada {
            error: "the transaction's agreement id is not valid".into(),
        };
    };
    let call = Call {
        identity: None,
        transport: Transport::Push,
        service: Service::Op(Operation::ConsultarFichaFPS),
        // One per attempt, so that a retry is not a replay; the key stays the same.
        message_id: Some(format!("{}.on-search.{}", r.correlation_id, r.intentos)),
        // Named by the answer (the records' persons), charged by the search already.
        subjects: Vec::new(),
        input_error: None,
        xroad: Vec::new(),
        peer: None,
        usuario: None,
        remitente: None,
        cobro_minimo: 0,
        entrega_a: Some(convenio.clone()),
    };
    let reply = callback::enviar(core.broker.clone(), call, r.correlation_id.clone()).await;
    let kept = match reply.result {
        Ok(kept) => kept,
        Err(error) => return refusal(config, r.intentos, &error),
    };
    let message = super::estado::estado(&kept);
    let total = message["search_response"]
        .as_array()
        .map_or(1, |items| items.len().max(1));
    let mut header = Cabecera {
        action: "on-search",
        sender_id: &core.broker.config.dci.receiver_id,
        receiver_id: Some(&convenio),
        total_count: total,
    }
    .succ();
    // The same for every attempt: the receiver applies it once.
    header["message_id"] = json!(r.correlation_id);
    let body = json!({ "header": header, "message": message }).to_string();
    let url = r.url.clone().unwrap_or_default();
    let intentos = u32::try_from(r.intentos).unwrap_or(u32::MAX);
    match push::enviar(client, &url, &r.correlation_id, body.into_bytes()).await {
        Resultado::Entregada { estado } => Desenlace::Entregada {
            estado_http: estado,
        },
        Resultado::Reintentar {
            estado,
            despues,
            motivo,
        } => {
            tracing::warn!(intentos, motivo = %motivo, "DCI callback failed");
            if intentos >= config.intentos_max {
                Desenlace::Muerta {
                    estado_http: estado,
                    error: motivo,
                }
            } else {
                pendiente(config, r.intentos, despues, estado, motivo)
            }
        }
        Resultado::Rechazada { estado, motivo } => {
            tracing::warn!(intentos, motivo = %motivo, "DCI callback refused by the receiver");
            if intentos >= config.intentos_4xx {
                Desenlace::Muerta {
                    estado_http: Some(estado),
                    error: motivo,
                }
            } else {
                pendiente(config, r.intentos, None, Some(estado), motivo)
            }
        }
    }
}

/// Back to `pendiente`, due after the push backoff for `intentos` attempts.
fn pendiente(
    config: &NotificacionesConfig,
    intentos: i32,
    despues: Option<Duration>,
    estado_http: Option<u16>,
    error: String,
) -> Desenlace {
    Desenlace::Pendiente {
        proximo_us: push::vence_us(config, intentos, despues),
        estado_http,
        error,
    }
}

/// What a refusal by the broker means: the agreement may no longer receive it (revoked), the
/// node cannot now (later), or the callback is no longer the worker's.
fn refusal(config: &NotificacionesConfig, intentos: i32, error: &ApiError) -> Desenlace {
    let texto = error.code.as_str().to_owned();
    match error.code {
        ErrorCode::NoAutorizado | ErrorCode::ConvenioNoVigente => {
            Desenlace::Revocada { error: texto }
        }
        ErrorCode::NoEncontrado => Desenlace::Nada,
        _ => pendiente(
            config,
            intentos,
            error.retry_after.map(Duration::from_secs),
            None,
            texto,
        ),
    }
}

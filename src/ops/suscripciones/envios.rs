//! The push worker: claims due events of the push subscriptions ([`cola`]), has each one
//! admitted, projected, charged and audited through the broker ([`EntregarEvento`]), sends what
//! the broker answered to the subscription's callback with its idempotency key, and writes
//! the outcomes in groups. It runs on the leader only (as the fan-out), is woken by the fan-out
//! when it adds rows, and looks every `notificaciones.sondeo_ms` otherwise (retries that
//! come due, rows of another node's fan-out).
//!
//! A subscription with `formato = "dci"` is sent exactly like a JSON one (the same admission,
//! key, retries and dead letters); only its body differs: the DCI `notify` envelope, rendered
//! by the [`CuerpoDci`] start-up hands over (`dci::notificar::envio`; `ops` does not know
//! DCI). A node started without one leaves those rows `pendiente`, noting [`SIN_CUERPO_DCI`].
//!
//! At most `notificaciones.en_vuelo` calls are in flight per subscription. A row whose node
//! dies in mid-call stays `en_curso` until its lease (`lease_ms`) is past, and is then claimed
//! and sent again with the same key: the receiver applies each key once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::Notificacion;
use super::cola::{self, Desenlace, Reclamada};
use super::entregar::{EntregarEvento, Envio};
use super::notificacion::clave;
use super::store::{SuscripcionFila, now_us};
use crate::broker::{Call, Service, Transport};
use crate::catalog::Operation;
use crate::config::NotificacionesConfig;
use crate::db::lider::Lider;
use crate::domain::{ConvenioId, Run};
use crate::error::{ApiError, ErrorCode};
use crate::ops::Core;
use crate::push::{self, Resultado};

/// Renders the body of a `formato = "dci"` delivery: from the notification the broker answered
/// (already projected onto the grant), the subscription, the event's idempotency key and the
/// node's DCI id (`dci.receiver_id`). An `Err` names what is missing, never a value.
pub type CuerpoDci = fn(
    notificacion: &Notificacion,
    suscripcion: &SuscripcionFila,
    clave: &str,
    nodo: &str,
) -> Result<Vec<u8>, String>;

/// Why a `formato = "dci"` subscription's rows wait on a node started without [`CuerpoDci`].
pub const SIN_CUERPO_DCI: &str = "formato dci: este nodo no tiene el transporte DCI";

/// A claimed row on its way, with its subscription.
struct Trabajo {
    suscripcion: Arc<SuscripcionFila>,
    fila: Reclamada,
}

/// The outcome of one attempt, for [`cola::registrar`].
struct Hecho {
    suscripcion: String,
    secuencia: i64,
    desenlace: Desenlace,
}

/// Starts the worker on a thread of its own running an actix system (the broker runs each call
/// as a local task), whatever runtime the node was started from; ends when `stop` fires. Calls
/// in flight are then dropped; their rows are claimed again once their lease is past. `dci`
/// renders the bodies of `formato = "dci"` subscriptions.
pub fn arrancar(
    core: Arc<Core>,
    lider: Lider,
    dci: Option<CuerpoDci>,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> Result<std::thread::JoinHandle<()>, push::PushError> {
    let options = push::PushOptions::from_config(&core.broker.config);
    push::en_hilo("siis-push", options, move |client| {
        trabajar(core, lider, client, dci, stop)
    })
}

async fn trabajar(
    core: Arc<Core>,
    lider: Lider,
    client: reqwest::Client,
    dci: Option<CuerpoDci>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    {
        let config = core.broker.config.notificaciones.clone();
        let sondeo = Duration::from_millis(config.sondeo_ms);
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Hecho>();
        let mut en_vuelo: HashMap<String, usize> = HashMap::new();
        let mut hechos: Vec<Hecho> = Vec::new();
        loop {
            let mut sondeo_vencido = false;
            tokio::select! {
                _ = &mut stop => return,
                () = core.broker.entregas_nuevas.notified() => {}
                () = tokio::time::sleep(sondeo) => sondeo_vencido = true,
                Some(hecho) = rx.recv() => hechos.push(hecho),
            }
            while let Ok(hecho) = rx.try_recv() {
                hechos.push(hecho);
            }
            if !hechos.is_empty() {
                let grupo: Vec<(String, i64, Desenlace)> = hechos
                    .drain(..)
                    .map(|h| (h.suscripcion, h.secuencia, h.desenlace))
                    .collect();
                let pool = core.broker.pool.clone();
                let escrito = actix_web::web::block(move || {
                    let mut conn = pool.get().map_err(|e| e.to_string())?;
                    cola::registrar(&mut conn, &grupo)
                        .map(|()| grupo)
                        .map_err(|e| e.to_string())
                })
                .await;
                match escrito {
                    Ok(Ok(grupo)) => {
                        for (id, _, _) in grupo {
                            if let Some(n) = en_vuelo.get_mut(&id) {
                                *n = n.saturating_sub(1);
                            }
                        }
                    }
                    // Their rows stay en_curso and are claimed again once their lease is past.
                    Ok(Err(error)) => {
                        tracing::error!(error = %error, "push outcomes not written; their events are sent again after the lease");
                        en_vuelo.clear();
                    }
                    Err(error) => {
                        tracing::error!(error = %error, "push outcome task failed");
                        en_vuelo.clear();
                    }
                }
            }
            core.broker.push.en_vuelo(en_vuelo.values().sum::<usize>());
            if !lider.es_lider() || core.broker.outage.is_down() {
                continue;
            }
            let trabajos = match reclamar(&core, &config, &en_vuelo, dci.is_some(), sondeo_vencido)
                .await
            {
                Ok(trabajos) => trabajos,
                Err(error) => {
                    tracing::error!(error = %error, "push deliveries not claimed; trying again");
                    continue;
                }
            };
            for trabajo in trabajos {
                *en_vuelo.entry(trabajo.suscripcion.id.clone()).or_default() += 1;
                let (core, client, tx) = (core.clone(), client.clone(), tx.clone());
                actix_web::rt::spawn(async move {
                    let hecho = entregar(&core, &client, dci, trabajo).await;
                    let _ = tx.send(hecho);
                });
            }
        }
    }
}

/// Claims, per active push subscription, as many due rows as it has free places in flight.
/// On a poll (`sondeo`), also measures the oldest pending row, and, without `con_dci`, notes
/// why `dci` rows wait.
async fn reclamar(
    core: &Arc<Core>,
    config: &NotificacionesConfig,
    en_vuelo: &HashMap<String, usize>,
    con_dci: bool,
    sondeo: bool,
) -> Result<Vec<Trabajo>, String> {
    let pool = core.broker.pool.clone();
    let libres: HashMap<String, usize> = en_vuelo
        .iter()
        .map(|(id, n)| (id.clone(), (config.en_vuelo as usize).saturating_sub(*n)))
        .collect();
    let (max, lease) = (config.en_vuelo as usize, config.lease_ms);
    let metrics = core.broker.push.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        let ahora = now_us();
        for fila in cola::suscripciones_push(&mut conn).map_err(|e| e.to_string())? {
            if !enviable(&fila.formato, con_dci) {
                if sondeo {
                    cola::en_espera(&mut conn, &fila.id, SIN_CUERPO_DCI)
                        .map_err(|e| e.to_string())?;
                }
                continue;
            }
            let libres = libres.get(&fila.id).copied().unwrap_or(max);
            if libres == 0 {
                continue;
            }
            let lease_us = ahora + i64::try_from(lease).unwrap_or(i64::MAX / 2) * 1_000;
            let filas = cola::reclamar(&mut conn, &fila.id, ahora, lease_us, libres as i64)
                .map_err(|e| e.to_string())?;
            let fila = Arc::new(fila);
            out.extend(filas.into_iter().map(|f| Trabajo {
                suscripcion: fila.clone(),
                fila: f,
            }));
        }
        if sondeo {
            let desde = cola::pendiente_mas_antigua(&mut conn).map_err(|e| e.to_string())?;
            metrics.pendiente_desde(desde.map_or(0, |d| (ahora - d) / 1_000_000));
        }
        Ok(out)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Whether the worker can render a subscription's bodies: JSON always, DCI with the renderer
/// start-up handed it. The others' rows wait, `pendiente`, never claimed (so never lost).
fn enviable(formato: &str, con_dci: bool) -> bool {
    match formato {
        "json" => true,
        "dci" => con_dci,
        _ => false,
    }
}

fn run_de(numero: i32) -> Option<Run> {
    Run::from_numero(u32::try_from(numero).ok()?).ok()
}

/// One attempt: through the broker (admitted, projected, charged, audited), then, if it
/// answered a notification, to the callback.
async fn entregar(
    core: &Arc<Core>,
    client: &reqwest::Client,
    dci: Option<CuerpoDci>,
    trabajo: Trabajo,
) -> Hecho {
    let Trabajo { suscripcion, fila } = trabajo;
    let config = &core.broker.config.notificaciones;
    let metrics = core.broker.push.clone();
    let clave = clave(&suscripcion.id, fila.secuencia);
    let hecho = |desenlace| Hecho {
        suscripcion: suscripcion.id.clone(),
        secuencia: fila.secuencia,
        desenlace,
    };
    let sujetos: Vec<Run> = std::iter::once(fila.run)
        .chain(fila.run_relacionado)
        .filter_map(run_de)
        .collect();
    let Ok(convenio) = ConvenioId::parse(&suscripcion.convenio) else {
        metrics.intento("revocada");
        return hecho(Desenlace::RevocarTodas {
            error: "the subscription's agreement id is not valid".into(),
        });
    };
    let call = Call {
        identity: None,
        transport: Transport::Push,
        service: Service::Op(Operation::Suscripciones),
        // One per attempt, so that a retry is not a replay; the key stays the same.
        message_id: Some(format!("{clave}.{}", fila.intentos)),
        subjects: sujetos.clone(),
        input_error: None,
        xroad: Vec::new(),
        peer: None,
        usuario: None,
        remitente: None,
        cobro_minimo: 0,
        entrega_a: Some(convenio),
    };
    let envio = Envio {
        suscripcion: suscripcion.id.clone(),
        secuencia: fila.secuencia,
        sujetos,
    };
    let reply = crate::ops::run::<EntregarEvento>(core.clone(), call, Some(envio)).await;
    let notificacion = match reply.result {
        Ok(n) => n,
        Err(error) => return hecho(refusal(config, &metrics, fila.intentos, &error)),
    };
    let body = match (suscripcion.formato.as_str(), dci) {
        ("dci", Some(dci)) => dci(
            &notificacion,
            &suscripcion,
            &clave,
            &core.broker.config.dci.receiver_id,
        ),
        ("json", _) => serde_json::to_vec(&notificacion).map_err(|e| e.to_string()),
        (formato, _) => Err(format!("no body for formato {formato:?}")),
    };
    let body = match body {
        Ok(body) => body,
        Err(error) => {
            tracing::error!(suscripcion = %suscripcion.id, error = %error, "notification not serialized");
            metrics.intento("aplazada");
            return hecho(pendiente(
                config,
                fila.intentos,
                None,
                None,
                "not serialized".into(),
            ));
        }
    };
    let url = suscripcion.url.clone().unwrap_or_default();
    let resultado = push::enviar(client, &url, &clave, body).await;
    let intentos = u32::try_from(fila.intentos).unwrap_or(u32::MAX);
    hecho(match resultado {
        Resultado::Entregada { estado } => {
            let ahora = now_us();
            metrics.intento("entregada");
            metrics.entregada((ahora - fila.registrado_us) as f64 / 1e6);
            Desenlace::Entregada {
                estado_http: estado,
                ahora,
            }
        }
        Resultado::Reintentar {
            estado,
            despues,
            motivo,
        } => {
            tracing::warn!(suscripcion = %suscripcion.id, secuencia = fila.secuencia, intentos, motivo = %motivo, "push delivery failed");
            if intentos >= config.intentos_max {
                metrics.intento("muerta");
                Desenlace::Muerta {
                    estado_http: estado,
                    error: motivo,
                }
            } else {
                metrics.intento("reintentar");
                pendiente(config, fila.intentos, despues, estado, motivo)
            }
        }
        Resultado::Rechazada { estado, motivo } => {
            tracing::warn!(suscripcion = %suscripcion.id, secuencia = fila.secuencia, intentos, motivo = %motivo, "push delivery refused by the receiver");
            if intentos >= config.intentos_4xx {
                metrics.intento("muerta");
                Desenlace::Muerta {
                    estado_http: Some(estado),
                    error: motivo,
                }
            } else {
                metrics.intento("rechazada");
                pendiente(config, fila.intentos, None, Some(estado), motivo)
            }
        }
    })
}

/// The row back to `pendiente`, due after the backoff for `intentos` attempts (at least
/// `despues`, the receiver's or the broker's `Retry-After`).
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

/// What a refusal by the broker means for the row: the agreement may no longer receive it
/// (revoked), the node cannot now (its limits, its database: later, never a dead letter), or
/// the row is no longer the worker's.
fn refusal(
    config: &NotificacionesConfig,
    metrics: &crate::broker::entregas::PushMetrics,
    intentos: i32,
    error: &ApiError,
) -> Desenlace {
    let texto = error.code.as_str().to_owned();
    match error.code {
        ErrorCode::NoAutorizado | ErrorCode::ConvenioNoVigente => {
            metrics.intento("revocada");
            Desenlace::RevocarTodas { error: texto }
        }
        ErrorCode::EventoNoConcedido | ErrorCode::SuscripcionCerrada => {
            metrics.intento("revocada");
            Desenlace::Revocada { error: texto }
        }
        ErrorCode::NoEncontrado => Desenlace::Nada,
        _ => {
            metrics.intento("aplazada");
            let despues = error.retry_after.map(Duration::from_secs);
            pendiente(config, intentos, despues, None, texto)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::enviable;

    #[test]
    fn dci_rows_are_claimed_only_with_the_renderer_and_unknown_formats_never() {
        assert!(enviable("json", false) && enviable("json", true));
        assert!(enviable("dci", true));
        assert!(
            !enviable("dci", false),
            "without the renderer a dci row waits"
        );
        assert!(!enviable("xml", true));
    }
}

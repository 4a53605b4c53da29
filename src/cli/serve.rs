//! `siis serve`: start the node, tell systemd when it serves, stop it on a signal.

use std::sync::Arc;

use super::{demo, systemd};
use crate::config::Config;
use crate::startup::{self, Node};

pub fn serve(mut config: Config, demo: bool) -> anyhow::Result<()> {
    // The console's development sign-in exists only here (no file or variable sets it).
    config.consola.ingreso_demo = demo;
    if demo {
        config.notificaciones.callback_demo = Some(demo::callback());
    }
    let config = Arc::new(config);
    // Read once, before any thread starts: None when not run by systemd as Type=notify.
    let systemd = systemd::Systemd::from_env();
    actix_web::rt::System::new().block_on(async move {
        // Bind first: a port in use stops start-up before anything is created.
        let listeners = startup::Listeners::bind(&config.listen)?;
        if demo {
            demo::prepare(&config)?;
        }
        let tls = startup::load_tls(&config)?;
        let pool = startup::open_registry(&config)?;
        if demo {
            demo::ensure_population(&config, &pool)?;
            demo::ensure_officials(&pool)?;
        } else {
            // After the registry, so that its own problems are reported first.
            startup::refuse_ca_key(&config)?;
        }
        let node = Node::start_with(config.clone(), listeners, tls, pool)?;
        if demo {
            // Through the node's own broker, so every step is admitted and audited.
            demo::ensure_municipal(&config, &node).await;
        }
        // Before "node started": a SIGHUP sent as soon as the node says it is up must reload,
        // not kill it (the default action).
        let mut signals = Signals::install();
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
        // Ready once the three listeners are bound and serving, the registry open and the
        // agreements loaded: `systemctl start` returns, and units ordered after this one start.
        let watchdog = systemd.as_ref().and_then(|s| s.ready(&node));
        wait_for_shutdown(&node, &mut signals).await;
        node.begin_draining();
        if let Some(systemd) = &systemd {
            systemd.stopping(config.listen.drain_secs);
        }
        // Drains first (listen.drain_secs): still serving, the balancer check answers 404.
        // The watchdog goes on being petted meanwhile. A second SIGTERM or Ctrl-C cuts it short.
        tokio::select! {
            _ = node.drain() => {}
            _ = signals.stop() => tracing::warn!("told to stop again: draining cut short"),
        }
        if let Some(watchdog) = watchdog {
            watchdog.abort();
        }
        tracing::info!("shutting down: finishing requests in flight");
        node.stop().await?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// SIGTERM and SIGHUP handlers (none if the platform refuses them: Ctrl-C still stops).
struct Signals(Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>);

impl Signals {
    fn install() -> Signals {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(term), Ok(hup)) => Signals(Some((term, hup))),
            _ => Signals(None),
        }
    }
}

impl Signals {
    /// The next Ctrl-C (SIGINT) or SIGTERM.
    async fn stop(&mut self) {
        match &mut self.0 {
            Some((term, _)) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            },
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

/// Serves until Ctrl-C (SIGINT) or SIGTERM (then the caller drains and stops); SIGHUP reloads
/// the agreements and the revocation list (a broken set or list is refused and both stay as
/// they were).
async fn wait_for_shutdown(node: &Node, signals: &mut Signals) {
    let Signals(Some((term, hup))) = signals else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = term.recv() => return,
            _ = hup.recv() => match node.reload() {
                Ok(_) => {}
                Err(crate::admin::ReloadError::Convenios(errors)) => {
                    tracing::error!(problems = errors.0.len(), "agreements not reloaded: the previous set stays in force");
                    eprintln!("agreements not reloaded:\n{errors}");
                }
                Err(crate::admin::ReloadError::Crl(error)) => {
                    tracing::error!(error = %error, "revocation list not reloaded: it and the agreements stay as they were");
                }
            }
        }
    }
}

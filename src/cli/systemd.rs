//! systemd's notification protocol (sd_notify(3)) for `siis serve` run by a `Type=notify` unit
//! (packaging/siis.service): READY=1 once the node serves, WATCHDOG=1 while its admin listener
//! answers /healthz, STOPPING=1 when it begins to stop. Without NOTIFY_SOCKET (not started by
//! systemd, or by a unit of another type) nothing is sent and no watchdog runs.

use std::net::SocketAddr;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use crate::startup::Node;

pub struct Systemd {
    /// How often to tell systemd the node is alive: half of WATCHDOG_USEC (the unit's
    /// WatchdogSec), when systemd asks for it.
    pet_every: Option<Duration>,
}

impl Systemd {
    /// The service manager to notify, if there is one (NOTIFY_SOCKET is set).
    pub fn from_env() -> Option<Systemd> {
        std::env::var_os("NOTIFY_SOCKET")?;
        Some(Systemd {
            pet_every: sd_notify::watchdog_enabled()
                .map(|limit| limit / 2)
                .filter(|every| !every.is_zero()),
        })
    }

    /// READY=1 with the bound addresses as the unit's status line; then, when the unit has a
    /// watchdog, the task that pets it.
    pub fn ready(&self, node: &Node) -> Option<JoinHandle<()>> {
        let status = format!(
            "serving: agency {}, public {}, admin {}",
            node.agency, node.public, node.admin
        );
        send(&[NotifyState::Ready, NotifyState::Status(&status)]);
        let every = self.pet_every?;
        let admin = node.admin;
        Some(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // A node whose admin listener no longer answers is not petted: systemd then
                // kills it (SIGABRT) and, with Restart=on-failure, starts it again.
                if healthy(admin, every / 2).await {
                    send(&[NotifyState::Watchdog]);
                } else {
                    tracing::warn!(admin = %admin, "admin /healthz did not answer: watchdog not petted");
                }
            }
        }))
    }

    /// STOPPING=1: the node has begun to stop: it drains for `drain_secs` (still serving),
    /// then finishes the requests in flight.
    pub fn stopping(&self, drain_secs: u64) {
        let status = match drain_secs {
            0 => "stopping: finishing requests in flight".to_owned(),
            secs => format!("stopping: draining for {secs} s, then finishing requests in flight"),
        };
        send(&[NotifyState::Stopping, NotifyState::Status(&status)]);
    }
}

fn send(states: &[NotifyState]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::warn!(error = %error, "systemd notification not sent");
    }
}

/// Whether the admin listener answers `GET /healthz` with 200 within `limit`.
async fn healthy(admin: SocketAddr, limit: Duration) -> bool {
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(admin).await?;
        stream
            .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .await?;
        // "HTTP/1.1 200"
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<bool, std::io::Error>(head.starts_with(b"HTTP/1.") && head.ends_with(b" 200"))
    };
    matches!(tokio::time::timeout(limit, probe).await, Ok(Ok(true)))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use super::*;

    /// A listener that reads one request and answers `reply` (nothing at all when None, holding
    /// the connection open for a while).
    fn server(reply: Option<&'static str>) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut request = [0u8; 256];
            let _ = conn.read(&mut request);
            match reply {
                Some(reply) => conn.write_all(reply.as_bytes()).unwrap(),
                None => std::thread::sleep(Duration::from_secs(5)),
            }
        });
        addr
    }

    #[tokio::test]
    async fn only_a_200_from_healthz_in_time_pets_the_watchdog() {
        let limit = Duration::from_millis(500);
        let ok = server(Some("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"));
        assert!(healthy(ok, limit).await);
        let failing = server(Some("HTTP/1.1 503 Service Unavailable\r\n\r\n"));
        assert!(!healthy(failing, limit).await);
        let silent = server(None);
        let started = std::time::Instant::now();
        assert!(!healthy(silent, limit).await);
        assert!(started.elapsed() < Duration::from_secs(2));
        // Nothing listening.
        let closed = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(!healthy(closed, limit).await);
    }
}

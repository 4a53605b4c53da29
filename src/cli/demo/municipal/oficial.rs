//! A demo official at work: each request goes through the broker as a console page's does
//! (`Transport::Consola`, the official as the user), so it is admitted under the official's
//! agreement and role, charged to both allowances, projected and audited like any other. The
//! official keeps to their own allowance (`consola.usuario_por_segundo`, `usuario_rafaga`):
//! each request waits until the persons it names fit, so the seeding is never refused for its
//! pace.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::broker::{Call, Service, Transport, Usuario};
use crate::catalog::Rol;
use crate::config::Config;
use crate::domain::ConvenioId;
use crate::error::{ApiError, ErrorCode};
use crate::ops::{Core, Op};

/// Requests refused for their pace anyway (another node sharing the allowance) are sent again
/// this many times, after the wait the refusal names.
const REINTENTOS: usize = 3;

/// A token bucket that mirrors the broker's limit on one user: the allowance's burst at first,
/// then its rate.
struct Ritmo {
    por_segundo: f64,
    rafaga: f64,
    fichas: f64,
    desde: Instant,
}

impl Ritmo {
    async fn tomar(&mut self, personas: usize) {
        let n = personas.max(1) as f64;
        loop {
            let ahora = Instant::now();
            let pasado = ahora.duration_since(self.desde).as_secs_f64();
            self.fichas = (self.fichas + pasado * self.por_segundo).min(self.rafaga);
            self.desde = ahora;
            if self.fichas >= n {
                self.fichas -= n;
                return;
            }
            // A little more than the bucket needs, so the broker's own clock agrees.
            let falta = (n - self.fichas) / self.por_segundo + 0.05;
            tokio::time::sleep(Duration::from_secs_f64(falta)).await;
        }
    }
}

/// One of the demo's console officials.
pub struct Oficial {
    usuario: Usuario,
    ritmo: Ritmo,
}

impl Oficial {
    pub fn new(config: &Config, run: &str, convenio: &str, rol: Rol) -> anyhow::Result<Oficial> {
        let rafaga = f64::from(config.consola.usuario_rafaga.max(1));
        Ok(Oficial {
            usuario: Usuario {
                run: run.parse()?,
                convenio: ConvenioId::parse(convenio)?,
                rol,
            },
            ritmo: Ritmo {
                por_segundo: f64::from(config.consola.usuario_por_segundo.max(1)),
                rafaga,
                fichas: rafaga,
                desde: Instant::now(),
            },
        })
    }

    /// Runs operation `O` as this official: admission, limits, the operation, projection and
    /// audit, exactly as the console would.
    pub async fn pedir<O: Op>(
        &mut self,
        core: &Arc<Core>,
        request: O::Request,
    ) -> Result<O::Response, ApiError>
    where
        O::Request: Clone,
    {
        let personas = O::subjects(&request).len();
        let mut intentos = 0;
        loop {
            self.ritmo.tomar(personas).await;
            let call = Call {
                identity: None,
                transport: Transport::Consola,
                service: Service::Desconocido,
                message_id: None,
                subjects: Vec::new(),
                input_error: None,
                xroad: Vec::new(),
                peer: None,
                usuario: Some(self.usuario.clone()),
                remitente: None,
                cobro_minimo: 0,
                entrega_a: None,
            };
            let reply = crate::ops::run::<O>(core.clone(), call, Some(request.clone())).await;
            match reply.result {
                Err(e) if e.code == ErrorCode::LimiteExcedido && intentos < REINTENTOS => {
                    intentos += 1;
                    let espera = e.retry_after.unwrap_or(1).min(60);
                    tokio::time::sleep(Duration::from_secs(espera)).await;
                }
                result => return result,
            }
        }
    }
}

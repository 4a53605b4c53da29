//! Single FPS lookups that wait for a registry connection at the same time are read together.
//!
//! A lookup queues its RUN here, then waits for either its reading or a registry permit.
//! Whoever gets a permit takes the queue (up to `broker.lookup_group_max` lookups, oldest
//! first, its own or others') onto one connection and reads them all with
//! [`ficha::read_many`]; each lookup then applies its own agreement (scope, members,
//! projection) and writes its own audit record, exactly as alone. Under load the lookups
//! share one blocking task, one connection checkout and, on PostgreSQL, one statement; a
//! lookup that finds the queue empty reads alone, as before.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::time::Instant;

use super::{Admission, Broker, Call, Disclosed, Reply, Service, projected, task_failed};
use crate::db::Pool;
use crate::domain::Run;
use crate::error::ApiError;
use crate::ops::ficha::{self, FichaFps, Reading};

/// One queued lookup: its RUN, whether its agreement sees members, and where its reading goes.
struct Waiting {
    ticket: u64,
    run: Run,
    with_members: bool,
    reply: oneshot::Sender<Result<Reading, ApiError>>,
}

/// The lookups waiting to be read.
pub struct Coalescer {
    queue: Mutex<Queue>,
    group_max: usize,
    /// One permit per connection that may read queued lookups at a time. Fewer readers than
    /// connections let the queue grow while they read, into larger groups.
    readers: Arc<Semaphore>,
    groups: AtomicU64,
    lookups: AtomicU64,
    largest: AtomicU64,
}

/// Groups of queued lookups read since start: how many, how many lookups they held, and the
/// largest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupStats {
    pub groups: u64,
    pub lookups: u64,
    pub largest: u64,
}

#[derive(Default)]
struct Queue {
    waiting: VecDeque<Waiting>,
    next_ticket: u64,
}

impl Coalescer {
    /// A queue read by at most `readers` connections at a time, each taking at most
    /// `group_max` lookups (the configuration checks both are at least one).
    pub fn new(group_max: usize, readers: usize) -> Coalescer {
        Coalescer {
            queue: Mutex::new(Queue::default()),
            group_max: group_max.max(1),
            readers: Arc::new(Semaphore::new(readers.max(1))),
            groups: AtomicU64::new(0),
            lookups: AtomicU64::new(0),
            largest: AtomicU64::new(0),
        }
    }

    /// The groups read so far.
    pub fn stats(&self) -> GroupStats {
        GroupStats {
            groups: self.groups.load(Ordering::Relaxed),
            lookups: self.lookups.load(Ordering::Relaxed),
            largest: self.largest.load(Ordering::Relaxed),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // The lock guards no invariant a panic could break halfway: a queue is a queue.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn enqueue(
        &self,
        run: Run,
        with_members: bool,
    ) -> (u64, oneshot::Receiver<Result<Reading, ApiError>>) {
        let (reply, receiver) = oneshot::channel();
        let mut queue = self.queue();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.waiting.push_back(Waiting {
            ticket,
            run,
            with_members,
            reply,
        });
        (ticket, receiver)
    }

    /// Whether the lookup is still queued (no reader has taken it yet).
    fn is_queued(&self, ticket: u64) -> bool {
        self.queue().waiting.iter().any(|w| w.ticket == ticket)
    }

    /// Takes the lookup out of the queue, if no reader has taken it yet.
    fn withdraw(&self, ticket: u64) {
        self.queue().waiting.retain(|w| w.ticket != ticket);
    }

    /// The oldest queued lookups, at most `group_max` of them.
    fn take(&self) -> Vec<Waiting> {
        let mut queue = self.queue();
        let n = queue.waiting.len().min(self.group_max);
        queue.waiting.drain(..n).collect()
    }

    /// Runs on a blocking thread that holds a registry permit: takes the queue, reads it on
    /// one connection and hands each lookup its reading. Nothing queued (another reader took
    /// it) is nothing to do. A lookup whose caller gave up is read all the same; its reading
    /// is dropped.
    fn read_queued(&self, pool: &Pool, wait: std::time::Duration) {
        let group = self.take();
        if group.is_empty() {
            return;
        }
        let mut conn = match pool.get_timeout(wait) {
            Ok(conn) => conn,
            Err(error) => {
                tracing::error!(error = %error, "no registry connection");
                for w in group {
                    let _ = w.reply.send(Err(ApiError::unavailable()));
                }
                return;
            }
        };
        let size = group.len() as u64;
        self.groups.fetch_add(1, Ordering::Relaxed);
        self.lookups.fetch_add(size, Ordering::Relaxed);
        self.largest.fetch_max(size, Ordering::Relaxed);
        tracing::debug!(lookups = size, "lookups read together");
        let (with, without): (Vec<Waiting>, Vec<Waiting>) =
            group.into_iter().partition(|w| w.with_members);
        for (part, with_members) in [(with, true), (without, false)] {
            if part.is_empty() {
                continue;
            }
            let runs: Vec<Run> = part.iter().map(|w| w.run).collect();
            match ficha::read_many(&mut conn, &runs, with_members) {
                Ok(readings) => {
                    for (w, reading) in part.into_iter().zip(readings) {
                        let _ = w.reply.send(Ok(reading));
                    }
                }
                Err(error) => {
                    let error = ApiError::from(error);
                    for w in part {
                        let _ = w.reply.send(Err(error.clone()));
                    }
                }
            }
        }
    }
}

impl Broker {
    /// The groups of single lookups read together so far.
    pub fn lookup_groups(&self) -> GroupStats {
        self.lookups.stats()
    }

    /// ConsultarFichaFPS for one RUN (`None`: the request's RUN was not valid), as
    /// [`Broker::call`] answers it: admitted, projected onto the grant and audited, one record
    /// per request. Its registry read is shared with the lookups waiting at the same time
    /// (module documentation).
    pub async fn consultar_ficha(self: Arc<Self>, call: Call, run: Option<Run>) -> Reply<FichaFps> {
        let (message_id, call) = self.message_id(call);
        let id = message_id.clone();
        let task = actix_web::rt::spawn(async move {
            let service = call.service;
            self.call_inner(call, message_id, |admission| {
                self.lookup_coalesced(admission, service, run)
            })
            .await
        });
        task.await.unwrap_or_else(|e| task_failed(e, id))
    }

    async fn lookup_coalesced(
        &self,
        admission: Admission,
        service: Service,
        run: Option<Run>,
    ) -> Result<(FichaFps, Disclosed), ApiError> {
        let run = run.ok_or_else(ApiError::no_encontrado)?;
        let agreement = &admission.agreement;
        let with_members = ficha::wants_members(agreement);
        let reading = self.wait_for_reading(run, with_members).await?;
        let value = reading.judge(run, agreement.scope, with_members).answer()?;
        Ok(projected(value, service, agreement))
    }

    /// A reader's slot, then a registry permit (`None` if the node is shutting down).
    async fn reader_permits(&self) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let reader = self.lookups.readers.clone().acquire_owned().await.ok()?;
        let registry = self.registry_permits.clone().acquire_owned().await.ok()?;
        Some((reader, registry))
    }

    /// Queues the lookup, then waits for its reading, reading the queue itself whenever it
    /// gets a registry permit while its lookup is still queued. The wait counts against the
    /// pool's timeout: a stalled database answers 503, it does not queue forever.
    async fn wait_for_reading(&self, run: Run, with_members: bool) -> Result<Reading, ApiError> {
        let timeout = std::time::Duration::from_secs(self.config.database.pool_timeout_secs);
        let deadline = Instant::now() + timeout;
        let (ticket, mut reading) = self.lookups.enqueue(run, with_members);
        loop {
            let queued = self.lookups.is_queued(ticket);
            tokio::select! {
                biased;
                answer = &mut reading => {
                    // A reader that died (a panic) dropped the sender: 503, as for any task.
                    return answer.unwrap_or_else(|_| Err(ApiError::unavailable()));
                }
                permits = self.reader_permits(), if queued => {
                    let Some(permit) = permits else {
                        return Err(ApiError::unavailable());
                    };
                    let lookups = self.lookups.clone();
                    let pool = self.pool.clone();
                    let wait = deadline.saturating_duration_since(Instant::now());
                    let read = actix_web::web::block(move || {
                        let _permit = permit;
                        lookups.read_queued(&pool, wait);
                    });
                    if let Err(error) = read.await {
                        tracing::error!(error = %error, "blocking task failed");
                    }
                }
                () = tokio::time::sleep_until(deadline) => {
                    self.lookups.withdraw(ticket);
                    tracing::error!("no registry connection within the pool timeout");
                    return Err(ApiError::unavailable());
                }
            }
        }
    }
}

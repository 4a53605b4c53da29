//! Single FPS lookups that wait for a registry connection at the same time are read together.
//!
//! A lookup queues its RUN here, then waits for its reading, its deadline, or a reader's slot
//! and a registry permit. A lookup that gets both while it is still queued starts a reader: a
//! blocking task that takes the queue (up to `broker.lookup_group_max` lookups, oldest first,
//! its own among them) onto one connection and reads them all with [`ficha::read_many`]. At
//! most `broker.lookup_readers` readers run at once, so under load the queue grows while they
//! read. Each lookup then applies its own agreement (scope, members, projection) and writes
//! its own audit record, exactly as alone. Under load the lookups share one blocking task, one
//! connection checkout and, on PostgreSQL, one statement; a lookup that meets no other waiting
//! (and a free reader's slot) is read alone, in a group of one.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::time::Instant;

use super::record::Disclosed;
use super::{Admission, Broker, Call, Reply, Service, projected};
use crate::db::Pool;
use crate::domain::Run;
use crate::error::ApiError;
use crate::ops::catalog::Operation;
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
/// largest; and how many lookups are queued now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupStats {
    pub groups: u64,
    pub lookups: u64,
    pub largest: u64,
    pub queued: usize,
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
            queued: self.queue().waiting.len(),
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
    /// it) is nothing to do. A lookup whose caller gave up (its deadline passed) is read all
    /// the same; its reading is dropped. `wait` bounds the connection checkout (the permit
    /// makes one free unless code outside the permits holds it).
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
    pub async fn consultar_ficha(
        self: Arc<Self>,
        mut call: Call,
        run: Option<Run>,
    ) -> Reply<FichaFps> {
        // Members are read, and the answer projected, by this operation's grant only.
        call.service = Service::Op(Operation::ConsultarFichaFPS);
        self.spawn(call, move |broker, call, message_id| async move {
            let service = call.service;
            broker
                .call_inner(call, message_id, |admission, _| {
                    broker.lookup_coalesced(admission, service, run)
                })
                .await
        })
        .await
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

    /// A reader's slot, then a registry permit (`None` only if a semaphore were closed, which
    /// none is).
    async fn reader_permits(&self) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let reader = self.lookups.readers.clone().acquire_owned().await.ok()?;
        let registry = self.registry_permits.clone().acquire_owned().await.ok()?;
        Some((reader, registry))
    }

    /// Queues the lookup, then waits for its reading. Whenever it gets a reader's slot and a
    /// registry permit while its lookup is still queued, it starts a reader with them and goes
    /// on waiting; permits that come after another reader took its lookup go back at once.
    /// The wait, reading included, ends at the pool's timeout: a stalled database answers
    /// 503, it does not queue forever, and a lookup still queued then leaves the queue unread.
    async fn wait_for_reading(&self, run: Run, with_members: bool) -> Result<Reading, ApiError> {
        let timeout = std::time::Duration::from_secs(self.config.database.pool_timeout_secs);
        let deadline = Instant::now() + timeout;
        let (ticket, mut reading) = self.lookups.enqueue(run, with_members);
        // The reader this lookup started, while it runs: it took the lookup, unless more were
        // queued ahead of it than one group holds.
        let mut reader: Option<tokio::task::JoinHandle<()>> = None;
        loop {
            let queued = self.lookups.is_queued(ticket);
            tokio::select! {
                biased;
                answer = &mut reading => {
                    return answer.unwrap_or_else(|_| {
                        // The reader died (a panic) and dropped the sender.
                        tracing::error!("lookup group read failed");
                        Err(ApiError::unavailable())
                    });
                }
                () = tokio::time::sleep_until(deadline) => {
                    self.lookups.withdraw(ticket);
                    tracing::error!("no registry connection within the pool timeout");
                    return Err(ApiError::unavailable());
                }
                () = async {
                    match reader.as_mut() {
                        Some(running) => drop(running.await),
                        None => std::future::pending().await,
                    }
                } => {
                    reader = None;
                }
                permits = self.reader_permits(), if queued && reader.is_none() => {
                    let Some(permits) = permits else {
                        return Err(ApiError::unavailable());
                    };
                    if !self.lookups.is_queued(ticket) {
                        continue;
                    }
                    let lookups = self.lookups.clone();
                    let pool = self.pool.clone();
                    // Not awaited here: this lookup waits for its reading and its deadline
                    // like any other, and the reader holds the permits until it is done.
                    reader = Some(tokio::task::spawn_blocking(move || {
                        let _permits = permits;
                        lookups.read_queued(&pool, timeout);
                    }));
                }
            }
        }
    }
}

//! Reads that wait for a registry connection at the same time are read together.
//!
//! An operation whose reads are many and small (a single FPS lookup) hands the broker a key
//! and a batch function ([`Broker::call_grouped`]). The key queues in the group of its type;
//! then its caller waits for its reading, its deadline, or a reader's slot and a registry
//! permit. A caller that gets both while its key is still queued starts a reader: a blocking
//! task that takes the queue (up to `broker.lookup_group_max` keys, oldest first, its own among
//! them) onto one connection and reads them all with the batch function. At most
//! `broker.lookup_readers` readers run at once, whatever the group, so under load the queues
//! grow while they read. Each caller then applies its own agreement and writes its own audit
//! record, exactly as alone: only the registry read is shared (one blocking task, one
//! connection checkout and, on PostgreSQL, one statement). A key that meets no other waiting
//! (and a free reader's slot) is read alone, in a group of one.

use std::any::{Any, TypeId};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::time::Instant;

use super::{Admission, Broker, Call, Reply, projected};
use crate::db::DbConnection;
use crate::db::replicas::Replicas;
use crate::error::ApiError;
use crate::projection::Project;

/// Reads a group of keys on one connection: one result per key, in the keys' order. A key
/// type has one batch function: the group of a type is made with the first one handed over,
/// so a key type is best private to the operation that reads it.
pub type ReadGroup<K, V> = fn(&mut DbConnection, &[K]) -> Vec<Result<V, ApiError>>;

type Answer<V> = oneshot::Sender<Result<V, ApiError>>;

/// One queued key and where its reading goes.
struct Waiting<K, V> {
    ticket: u64,
    key: K,
    reply: Answer<V>,
}

struct Queue<K, V> {
    waiting: VecDeque<Waiting<K, V>>,
    next_ticket: u64,
}

/// The keys of one type waiting to be read.
struct Coalescer<K, V> {
    queue: Mutex<Queue<K, V>>,
    read: ReadGroup<K, V>,
    group_max: usize,
    stats: Arc<Counters>,
    /// Keys queued now, over every group (shared with [`Groups`]).
    queued: Arc<AtomicU64>,
}

/// Groups read since start, over every key type.
struct Counters {
    groups: AtomicU64,
    reads: AtomicU64,
    largest: AtomicU64,
    /// Each group's size, for `/metrics` (`siis_lookup_group_size`).
    sizes: Histogram,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            groups: AtomicU64::default(),
            reads: AtomicU64::default(),
            largest: AtomicU64::default(),
            sizes: super::metrics::group_sizes(),
        }
    }
}

/// Groups of reads read together since start: how many, how many reads they held, and the
/// largest; and how many reads are queued now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupStats {
    pub groups: u64,
    pub lookups: u64,
    pub largest: u64,
    pub queued: usize,
}

/// Every group, by key type, and what they share: the readers' slots and the counters.
pub struct Groups {
    by_type: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
    /// One permit per connection that may read queued keys at a time. Fewer readers than
    /// connections let the queues grow while they read, into larger groups.
    readers: Arc<Semaphore>,
    group_max: usize,
    stats: Arc<Counters>,
    /// How many keys are queued now, over every group.
    queued: Arc<AtomicU64>,
}

impl Groups {
    /// Groups read by at most `readers` connections at a time, each taking at most `group_max`
    /// keys (the configuration checks both are at least one).
    pub fn new(group_max: usize, readers: usize) -> Groups {
        Groups {
            by_type: Mutex::new(HashMap::new()),
            readers: Arc::new(Semaphore::new(readers.max(1))),
            group_max: group_max.max(1),
            stats: Arc::default(),
            queued: Arc::default(),
        }
    }

    /// The sizes of the groups read so far (shared with a scrape's registry).
    pub fn sizes(&self) -> Histogram {
        self.stats.sizes.clone()
    }

    pub fn stats(&self) -> GroupStats {
        GroupStats {
            groups: self.stats.groups.load(Ordering::Relaxed),
            lookups: self.stats.reads.load(Ordering::Relaxed),
            largest: self.stats.largest.load(Ordering::Relaxed),
            queued: self.queued.load(Ordering::Relaxed) as usize,
        }
    }

    /// The group of `K`'s keys, made with `read` if it is the first.
    fn of<K, V>(&self, read: ReadGroup<K, V>) -> Arc<Coalescer<K, V>>
    where
        K: Send + 'static,
        V: Send + 'static,
    {
        let mut by_type = self.by_type.lock().unwrap_or_else(PoisonError::into_inner);
        let group = by_type.entry(TypeId::of::<(K, V)>()).or_insert_with(|| {
            Arc::new(Coalescer {
                queue: Mutex::new(Queue {
                    waiting: VecDeque::new(),
                    next_ticket: 0,
                }),
                read,
                group_max: self.group_max,
                stats: self.stats.clone(),
                queued: self.queued.clone(),
            })
        });
        let group = group
            .clone()
            .downcast::<Coalescer<K, V>>()
            .unwrap_or_else(|_| unreachable!("a group is kept under its own key type"));
        debug_assert!(
            std::ptr::fn_addr_eq(group.read, read),
            "one batch function per key type"
        );
        group
    }
}

impl<K: Send + 'static, V: Send + 'static> Coalescer<K, V> {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue<K, V>> {
        // The lock guards no invariant a panic could break halfway: a queue is a queue.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn enqueue(&self, key: K) -> (u64, oneshot::Receiver<Result<V, ApiError>>) {
        let (reply, receiver) = oneshot::channel();
        let mut queue = self.queue();
        let ticket = queue.next_ticket;
        queue.next_ticket += 1;
        queue.waiting.push_back(Waiting { ticket, key, reply });
        self.queued.fetch_add(1, Ordering::Relaxed);
        (ticket, receiver)
    }

    /// Whether the key is still queued (no reader has taken it yet).
    fn is_queued(&self, ticket: u64) -> bool {
        self.queue().waiting.iter().any(|w| w.ticket == ticket)
    }

    /// Takes the key out of the queue, if no reader has taken it yet.
    fn withdraw(&self, ticket: u64) {
        let mut queue = self.queue();
        let before = queue.waiting.len();
        queue.waiting.retain(|w| w.ticket != ticket);
        let gone = (before - queue.waiting.len()) as u64;
        self.queued.fetch_sub(gone, Ordering::Relaxed);
    }

    /// The oldest queued keys, at most `group_max` of them.
    fn take(&self) -> Vec<Waiting<K, V>> {
        let mut queue = self.queue();
        let n = queue.waiting.len().min(self.group_max);
        self.queued.fetch_sub(n as u64, Ordering::Relaxed);
        queue.waiting.drain(..n).collect()
    }

    /// Runs on a blocking thread that holds a registry permit: takes the queue, reads it on
    /// one connection and hands each key its reading. Nothing queued (another reader took it)
    /// is nothing to do. A key whose caller gave up (its deadline passed) is read all the
    /// same; its reading is dropped. `wait` bounds the connection checkout (the permit makes
    /// one free unless code outside the permits holds it).
    fn read_queued(&self, replicas: &Replicas, wait: std::time::Duration) {
        let group = self.take();
        let size = group.len();
        if size == 0 {
            return;
        }
        let (keys, replies): (Vec<K>, Vec<Answer<V>>) =
            group.into_iter().map(|w| (w.key, w.reply)).unzip();
        let mut conn = match replicas.checkout(wait) {
            Ok(conn) => conn,
            Err(error) => {
                tracing::error!(error = %error, "no registry connection");
                for reply in replies {
                    let _ = reply.send(Err(ApiError::unavailable()));
                }
                return;
            }
        };
        self.stats.groups.fetch_add(1, Ordering::Relaxed);
        self.stats.reads.fetch_add(size as u64, Ordering::Relaxed);
        self.stats.largest.fetch_max(size as u64, Ordering::Relaxed);
        self.stats.sizes.observe(size as f64);
        tracing::debug!(reads = size, "reads read together");
        let readings = (self.read)(&mut conn, &keys);
        // One reading per key, in order, or none is handed out: a reading given to the wrong
        // caller would be another person's.
        if readings.len() != size {
            tracing::error!(
                keys = size,
                readings = readings.len(),
                "a batch function answered another number of keys than it was given"
            );
            for reply in replies {
                let _ = reply.send(Err(ApiError::unavailable()));
            }
            return;
        }
        for (reply, reading) in replies.into_iter().zip(readings) {
            let _ = reply.send(reading);
        }
    }
}

impl Broker {
    /// The groups of reads read together so far.
    pub fn lookup_groups(&self) -> GroupStats {
        self.groups.stats()
    }

    /// [`Broker::call`] for a read shared with the same reads waiting at the same time
    /// (module documentation): once admitted, `key` names what to read (or refuses), the key
    /// is read with the others of its type by `read`, and `answer` makes this caller's answer
    /// of its reading, under its own agreement. The answer is then projected onto the grant
    /// and audited, one record per request, exactly as [`Broker::call`] does.
    pub async fn call_grouped<K, V, T, Q, A>(
        self: Arc<Self>,
        call: Call,
        key: Q,
        read: ReadGroup<K, V>,
        answer: A,
    ) -> Reply<T>
    where
        K: Send + 'static,
        V: Send + 'static,
        T: Project + Send + 'static,
        Q: FnOnce(&Admission) -> Result<K, ApiError> + 'static,
        A: FnOnce(&Admission, V) -> Result<T, ApiError> + 'static,
    {
        self.spawn(call, move |broker, call, message_id| async move {
            let service = call.service;
            let this = &*broker;
            this.call_inner(call, message_id, |admission, _| async move {
                let key = key(&admission)?;
                let reading = this.read_grouped(read, key).await?;
                let value = answer(&admission, reading)?;
                Ok::<_, ApiError>(projected(value, service, &admission.convenio))
            })
            .await
        })
        .await
    }

    /// A reader's slot, then a registry permit (`None` only if a semaphore were closed, which
    /// none is).
    async fn reader_permits(&self) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let reader = self.groups.readers.clone().acquire_owned().await.ok()?;
        let registry = self.registry_permits.clone().acquire_owned().await.ok()?;
        Some((reader, registry))
    }

    /// Queues the key, then waits for its reading. Whenever it gets a reader's slot and a
    /// registry permit while its key is still queued, it starts a reader with them and goes on
    /// waiting; permits that come after another reader took its key go back at once. The
    /// wait, reading included, ends at the pool's timeout: a stalled database answers 503, it
    /// does not queue forever, and a key still queued then leaves the queue unread.
    async fn read_grouped<K, V>(&self, read: ReadGroup<K, V>, key: K) -> Result<V, ApiError>
    where
        K: Send + 'static,
        V: Send + 'static,
    {
        let group = self.groups.of(read);
        let timeout = std::time::Duration::from_secs(self.config.database.pool_timeout_secs);
        let deadline = Instant::now() + timeout;
        let (ticket, mut reading) = group.enqueue(key);
        // The reader this caller started, while it runs: it took the key, unless more were
        // queued ahead of it than one group holds.
        let mut reader: Option<tokio::task::JoinHandle<()>> = None;
        loop {
            let is_queued = group.is_queued(ticket);
            tokio::select! {
                biased;
                answer = &mut reading => {
                    return answer.unwrap_or_else(|_| {
                        // The reader died (a panic) and dropped the sender.
                        tracing::error!("group read failed");
                        Err(ApiError::unavailable())
                    });
                }
                () = tokio::time::sleep_until(deadline) => {
                    group.withdraw(ticket);
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
                permits = self.reader_permits(), if is_queued && reader.is_none() => {
                    let Some(permits) = permits else {
                        return Err(ApiError::unavailable());
                    };
                    if !group.is_queued(ticket) {
                        continue;
                    }
                    let group = group.clone();
                    let replicas = self.replicas.clone();
                    // The checkout waits no longer than this caller's deadline.
                    let left = deadline.saturating_duration_since(Instant::now());
                    // Not awaited here: this caller waits for its reading and its deadline
                    // like any other, and the reader holds the permits until it is done.
                    reader = Some(tokio::task::spawn_blocking(move || {
                        let _permits = permits;
                        group.read_queued(&replicas, left);
                    }));
                }
            }
        }
    }
}

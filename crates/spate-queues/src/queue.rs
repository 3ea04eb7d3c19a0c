//! One queue at run time: its delivery state, the bodies of the records it tracks, and its
//! journal. Receives read the stream on demand (up to [`TRACKED_RECORDS_MAX`] records tracked),
//! long polls wake on the shards' durable tails and on visibility timeouts, and every change is
//! durable in the journal before it is answered.

use crate::journal::{self, Snapshot};
use crate::model::{Handle, QueueRecord};
use crate::state::{Change, DeliveryState, Entry, HandleError, Key, Side};
use spate_catalog::Catalog;
use spate_log::{Clock, RecordLog};
use spate_streams::reader::first_of;
use spate_streams::Kinesis;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Records a queue tracks at most (read from the stream and not acknowledged), in records.
pub const TRACKED_RECORDS_MAX: usize = 100_000;
/// Bytes of record bodies a queue keeps in memory at most; others are read again when received.
pub const BODY_CACHE_BYTES_MAX: usize = 256 << 20;
/// Records one read of a shard takes.
const FETCH_RECORDS: usize = 1_000;
const FETCH_BYTES: usize = 4 << 20;

#[derive(Debug, Clone)]
pub struct Body {
    pub partition_key: String,
    pub data: Vec<u8>,
    pub arrival_ms: i64,
}

/// A received record, ready for the answer.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub handle: String,
    pub record_id: String,
    pub body: Body,
    pub entry: Entry,
}

/// The outcome of one entry of an acknowledge / visibility / restore call.
pub type EntryResult = Result<(), HandleError>;

#[derive(Default)]
struct Live {
    state: DeliveryState,
    bodies: HashMap<Key, Body>,
    body_bytes: usize,
}

impl Live {
    fn forget_body(&mut self, key: &Key) {
        if let Some(b) = self.bodies.remove(key) {
            self.body_bytes -= b.data.len() + b.partition_key.len();
        }
    }
}

/// Allocates log shard ids for journals (persisted by the service).
pub type AllocateJournal =
    Arc<dyn Fn() -> futures_like::BoxFuture<Result<u64, String>> + Send + Sync>;

pub mod futures_like {
    pub type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;
}

pub struct Queue {
    pub record: RwLock<Arc<QueueRecord>>,
    live: Mutex<Live>,
    /// The journal's log shard; changes hold the read side across their append, compaction the
    /// write side.
    gate: tokio::sync::RwLock<u64>,
    changes: AtomicU64,
    compact_after: u64,
    fetching: tokio::sync::Mutex<()>,
    log: Arc<dyn RecordLog>,
    catalog: Arc<dyn Catalog>,
    kinesis: Arc<Kinesis>,
    clock: Clock,
    allocate: AllocateJournal,
}

impl Queue {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        record: QueueRecord,
        state: DeliveryState,
        journal: u64,
        changes: (u64, u64),
        log: Arc<dyn RecordLog>,
        catalog: Arc<dyn Catalog>,
        kinesis: Arc<Kinesis>,
        clock: Clock,
        allocate: AllocateJournal,
    ) -> Queue {
        Queue {
            record: RwLock::new(Arc::new(record)),
            live: Mutex::new(Live {
                state,
                ..Live::default()
            }),
            gate: tokio::sync::RwLock::new(journal),
            changes: AtomicU64::new(changes.0),
            compact_after: changes.1,
            fetching: tokio::sync::Mutex::new(()),
            log,
            catalog,
            kinesis,
            clock,
            allocate,
        }
    }

    pub fn record(&self) -> Arc<QueueRecord> {
        self.record
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub async fn journal_shard(&self) -> u64 {
        *self.gate.read().await
    }

    /// Makes `changes` durable (one append, group-committed); compacts when the journal is long.
    async fn persist(self: &Arc<Self>, changes: Vec<Change>) -> Result<(), String> {
        if changes.is_empty() {
            return Ok(());
        }
        {
            let journal = self.gate.read().await;
            let n = changes.len() as u64;
            self.log
                .append(journal::encode(*journal, &changes))
                .await
                .map_err(|e| format!("writing the queue's journal: {e}"))?;
            self.changes.fetch_add(n, Ordering::Relaxed);
        }
        if self.changes.load(Ordering::Relaxed) >= self.compact_after {
            let queue = self.clone();
            tokio::spawn(async move {
                if let Err(e) = queue.compact().await {
                    tracing::warn!("compacting queue {}: {e}", queue.record().name);
                }
            });
        }
        Ok(())
    }

    /// Writes the state as a snapshot naming a fresh journal and drops the old journal.
    pub async fn compact(&self) -> Result<(), String> {
        let mut journal = self.gate.write().await;
        if self.changes.load(Ordering::Relaxed) < self.compact_after {
            return Ok(()); // another compaction got here first
        }
        let fresh = (self.allocate)().await?;
        self.log
            .create_shard(fresh)
            .await
            .map_err(|e| e.to_string())?;
        let snapshot = Snapshot::of(&self.live().state, fresh);
        let (catalog, name) = (self.catalog.clone(), self.record().name.clone());
        tokio::task::spawn_blocking(move || journal::save_snapshot(&catalog, &name, &snapshot))
            .await
            .map_err(|e| e.to_string())??;
        let old = std::mem::replace(&mut *journal, fresh);
        self.changes.store(0, Ordering::Relaxed);
        self.log.delete_shard(old).await.map_err(|e| e.to_string())
    }

    /// Receives up to `limit` records of a side, waiting up to `wait` for one.
    pub async fn receive(
        self: &Arc<Self>,
        side: Side,
        limit: usize,
        wait: Duration,
        visibility_secs: u32,
    ) -> Result<Vec<Delivered>, String> {
        let deadline = Instant::now() + wait;
        let mut tails = self.tails();
        loop {
            tails.iter_mut().for_each(|t| {
                t.borrow_and_update();
            });
            let record = self.record();
            let now = (self.clock)();
            if record.delivers(now) {
                let got = {
                    let mut live = self.live();
                    live.state.expire(now, record.max_receives);
                    let visibility_ms = i64::from(visibility_secs) * 1000;
                    live.state.receive(side, limit, now, visibility_ms)
                };
                if !got.is_empty() {
                    return self.deliver(got).await;
                }
                if side == Side::Queue && self.fetch().await? > 0 {
                    continue;
                }
            }
            if Instant::now() >= deadline {
                return Ok(Vec::new());
            }
            let expiry = self.live().state.next_expiry();
            let until = expiry
                .map(|at| Instant::now() + Duration::from_millis((at - now).max(0) as u64 + 1))
                .map_or(deadline, |t| t.min(deadline));
            let moved = async {
                match tails.as_mut_slice() {
                    [] => std::future::pending::<()>().await,
                    watches => first_of(watches.iter_mut().map(|w| Box::pin(w.changed()))).await,
                }
            };
            tokio::select! {
                _ = moved => {}
                _ = tokio::time::sleep_until(until) => {}
            }
        }
    }

    /// Durable-tail watches of every shard of the queue's streams.
    fn tails(&self) -> Vec<watch::Receiver<u64>> {
        let record = self.record();
        let mut out = Vec::new();
        for stream in &record.streams {
            if let Ok((_, shards)) = self.kinesis.source_shards(&stream.name) {
                out.extend(
                    shards
                        .iter()
                        .filter_map(|s| self.kinesis.source_watch(&stream.name, s.index).ok()),
                );
            }
        }
        out
    }

    /// Reads more records from the streams into the queue; how many it took.
    async fn fetch(&self) -> Result<usize, String> {
        let _one_at_a_time = self.fetching.lock().await;
        let record = self.record();
        let mut taken = 0;
        for (i, stream) in record.streams.iter().enumerate() {
            let Ok((created_ms, shards)) = self.kinesis.source_shards(&stream.name) else {
                continue;
            };
            if created_ms != stream.created_ms {
                continue; // the stream was deleted and created again: not this queue's
            }
            for shard in shards {
                if self.live().state.tracked() >= TRACKED_RECORDS_MAX {
                    return Ok(taken);
                }
                taken += self.fetch_shard(i as u16, stream, shard.index).await?;
            }
        }
        Ok(taken)
    }

    async fn fetch_shard(
        &self,
        index: u16,
        stream: &crate::model::QueueStream,
        shard: u32,
    ) -> Result<usize, String> {
        let key = (index, shard);
        // Shards that existed at creation start where the creation snapshot says; later ones
        // at their beginning.
        let from = self.live().state.fetch_from(key);
        let read = self
            .kinesis
            .source_read(&stream.name, shard, from, FETCH_RECORDS, FETCH_BYTES)
            .await
            .map_err(|e| e.message)?;
        let mut live = self.live();
        if let Some(first) = read.records.first() {
            if first.counter > from {
                // Retention removed what was below: nothing to deliver there any more.
                live.state.apply(&Change::Skip {
                    s: key,
                    p: first.counter,
                });
            }
        }
        let mut taken = 0;
        for r in read.records {
            let k = (index, shard, r.counter);
            if live.state.offer(k) {
                taken += 1;
                let size = r.data.len() + r.partition_key.len();
                if live.body_bytes + size <= BODY_CACHE_BYTES_MAX {
                    live.body_bytes += size;
                    let body = Body {
                        partition_key: r.partition_key,
                        data: r.data,
                        arrival_ms: r.arrival_ms,
                    };
                    live.bodies.insert(k, body);
                }
            }
        }
        live.state.fetched.insert(key, read.next);
        Ok(taken)
    }

    /// The bodies of received records (read again from the stream when not cached), journaled.
    async fn deliver(self: &Arc<Self>, got: Vec<(Key, Entry)>) -> Result<Vec<Delivered>, String> {
        let record = self.record();
        let mut changes = Vec::with_capacity(got.len());
        let mut out = Vec::with_capacity(got.len());
        for (key, entry) in got {
            let cached = self.live().bodies.get(&key).cloned();
            let body = match cached {
                Some(body) => Some(body),
                None => self.read_body(&record, key).await?,
            };
            let Some(body) = body else {
                // Gone from the stream (retention): the queue stops delivering it.
                let change = Change::Ack { k: key };
                self.live().state.apply(&change);
                changes.push(change);
                continue;
            };
            changes.push(Change::Entry { k: key, e: entry });
            let stream = &record.streams[usize::from(key.0)];
            let handle = Handle {
                queue_created_ms: record.created_ms,
                key,
                generation: entry.generation,
            };
            out.push(Delivered {
                handle: handle.encode(),
                record_id: crate::model::record_id(stream.created_ms, key.1, key.2),
                body,
                entry,
            });
        }
        self.persist(changes).await?;
        Ok(out)
    }

    async fn read_body(&self, record: &QueueRecord, key: Key) -> Result<Option<Body>, String> {
        let Some(stream) = record.streams.get(usize::from(key.0)) else {
            return Ok(None);
        };
        let read = self
            .kinesis
            .source_read(&stream.name, key.1, key.2, 1, FETCH_BYTES)
            .await;
        let Ok(read) = read else { return Ok(None) };
        Ok(read
            .records
            .into_iter()
            .find(|r| r.counter == key.2)
            .map(|r| Body {
                partition_key: r.partition_key,
                data: r.data,
                arrival_ms: r.arrival_ms,
            }))
    }

    /// Applies one handle operation per entry; the successful changes are journaled together.
    pub async fn apply_handles(
        self: &Arc<Self>,
        handles: &[String],
        mut op: impl FnMut(&mut DeliveryState, Key, u32, i64) -> Result<Change, HandleError>,
    ) -> Result<Vec<EntryResult>, String> {
        let created_ms = self.record().created_ms;
        let now = (self.clock)();
        let mut changes = Vec::new();
        let results = {
            let mut live = self.live();
            handles
                .iter()
                .map(|text| {
                    let handle = Handle::decode(text)
                        .filter(|h| h.queue_created_ms == created_ms)
                        .ok_or(HandleError::Invalid)?;
                    let change = op(&mut live.state, handle.key, handle.generation, now)?;
                    if matches!(change, Change::Ack { .. }) {
                        live.forget_body(&handle.key);
                    }
                    changes.push(change);
                    Ok(())
                })
                .collect()
        };
        self.persist(changes).await?;
        Ok(results)
    }

    /// Tracked records per state, for DescribeQueue-like reports: (in queue, dead letters).
    pub fn counts(&self) -> (usize, usize) {
        let live = self.live();
        let dead = live.state.entries.values().filter(|e| e.dead).count();
        (live.state.tracked() - dead, dead)
    }
}

//! SubscribeToShard: push delivery of a shard's records to one enhanced fan-out consumer.
//!
//! A subscription waits on the log's durable-tail watch of its shard, so an append wakes it the
//! moment the records are durable; it never polls. It also wakes on any catalog change (a split
//! closing its shard, its consumer deregistered, its stream deleted), on a takeover by a newer
//! subscription, for an empty heartbeat event while idle, and at the end of its lifetime.
//!
//! The transport pulls events one at a time (`next`), so a slow consumer holds back only its own
//! subscription: at most one event is read ahead of what the connection accepted, and producers
//! and other consumers never wait for it.

use crate::consumers::{consumer_status, ConsumerRef, Consumers};
use crate::errors::{internal, log_error, not_found, shard_not_found};
use crate::model::{ShardId, StartingPosition};
use crate::records::{Records, RecordsPage};
use crate::store::{Status, Stream};
use spate_catalog::{Lifecycle, ShardRecord};
use spate_wire::{ApiError, ErrorKind};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
// The exclusive window runs on tokio's clock, which tests pause and advance.
use tokio::time::Instant as TokioInstant;

/// Bytes of records one event carries at most (a single larger record still goes alone).
pub const EVENT_MAX_BYTES: usize = 1 << 20;
/// Records one event carries at most.
pub const EVENT_MAX_RECORDS: usize = 10_000;
/// A newer subscription for the same consumer and shard is refused within this window.
const EXCLUSIVE_WINDOW: Duration = Duration::from_secs(5);

struct Active {
    id: u64,
    started: TokioInstant,
    takeover: watch::Sender<bool>,
}

/// The live subscriptions, per (consumer ARN, shard index).
pub(crate) struct Subscriptions {
    active: Mutex<HashMap<(String, u32), Active>>,
    next_id: AtomicU64,
    /// Set when the server shuts down: live subscriptions end cleanly.
    closing: watch::Sender<bool>,
}

impl Default for Subscriptions {
    fn default() -> Self {
        Subscriptions {
            active: Mutex::default(),
            next_id: AtomicU64::new(0),
            closing: watch::channel(false).0,
        }
    }
}

impl Subscriptions {
    /// Makes a new subscription the live one of its consumer and shard: refused within
    /// [`EXCLUSIVE_WINDOW`] of the previous one, which it otherwise takes over (ends).
    fn claim(&self, key: &(String, u32)) -> Option<(u64, watch::Receiver<bool>)> {
        let (takeover_tx, takeover) = watch::channel(false);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(previous) = active.get(key) {
            if previous.started.elapsed() < EXCLUSIVE_WINDOW {
                return None;
            }
            let _ = previous.takeover.send(true);
        }
        let started = TokioInstant::now();
        active.insert(
            key.clone(),
            Active {
                id,
                started,
                takeover: takeover_tx,
            },
        );
        Some((id, takeover))
    }

    /// Ends every subscription normally (at shutdown: clients resubscribe elsewhere or later,
    /// from their last continuation).
    pub fn close_all(&self) {
        self.closing.send_replace(true);
    }
}

/// What a subscription yields next.
pub enum SubscriptionEvent {
    /// A `SubscribeToShardEvent` (possibly with no records: a heartbeat).
    Records(Box<RecordsPage>),
    /// The subscription ends with this exception.
    Failed(ApiError),
}

pub struct Subscription {
    consumers: Arc<Consumers>,
    records: Arc<Records>,
    stream_name: String,
    stream_created_ms: i64,
    consumer_name: String,
    consumer_created_ms: i64,
    key: (String, u32),
    id: u64,
    position: u64,
    min_arrival_ms: i64,
    deadline: tokio::time::Instant,
    /// When the last event went out (`None` before the first, which goes out at once).
    last_event: Option<tokio::time::Instant>,
    durable: watch::Receiver<u64>,
    changes: watch::Receiver<u64>,
    takeover: watch::Receiver<bool>,
    closing: watch::Receiver<bool>,
    /// Per-consumer read bucket (bytes) when shard limits are enforced: (tokens, last refill).
    bucket: (f64, Instant),
    done: bool,
}

impl Consumers {
    /// Starts a SubscribeToShard subscription; errors here are answered as plain HTTP errors,
    /// before any event.
    pub async fn subscribe(
        self: &Arc<Self>,
        consumer: &ConsumerRef,
        shard_id: &str,
        start: &StartingPosition,
    ) -> Result<Subscription, ApiError> {
        let config = &self.store.config;
        let (stream, consumer) = self.resolve(consumer)?;
        let now = self.store.now();
        if consumer_status(&consumer, now) != "ACTIVE" {
            return Err(ApiError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Consumer {} with creation timestamp {} under stream: {} , account {} is not in ACTIVE status.",
                    consumer.name,
                    consumer.created_ms / 1000,
                    stream.record.name,
                    config.account_id
                ),
            ));
        }
        if !matches!(stream.status(now), Status::Active | Status::Updating) {
            return Err(not_found(config, &stream.record.name));
        }
        let shard = ShardId::resolve(shard_id)
            .and_then(|id| stream.shard(id.0))
            .ok_or_else(|| {
                let shown =
                    ShardId::resolve(shard_id).map_or(shard_id.to_string(), |i| i.to_string());
                shard_not_found(config, &stream.record.name, &shown)
            })?
            .clone();
        let (position, min_arrival_ms) =
            self.records
                .start_position(&stream, &shard, start, "SubscribeToShard")?;
        let key = (stream.consumer_arn(&consumer), shard.index);
        let subscriptions = &self.subscriptions;
        let (id, takeover) = subscriptions
            .claim(&key)
            .ok_or_else(|| self.another_subscription(&stream, &consumer.name, shard.index))?;
        let durable = self.records.log.watch(shard.log_id).map_err(log_error)?;
        let lifetime = Duration::from_millis(config.subscription_lifetime_ms);
        Ok(Subscription {
            consumers: self.clone(),
            records: self.records.clone(),
            stream_name: stream.record.name.clone(),
            stream_created_ms: stream.record.created_ms,
            consumer_name: consumer.name.clone(),
            consumer_created_ms: consumer.created_ms,
            key,
            id,
            position,
            min_arrival_ms,
            deadline: tokio::time::Instant::now() + lifetime,
            last_event: None,
            durable,
            changes: self.store.changes(),
            takeover,
            closing: subscriptions.closing.subscribe(),
            bucket: (config.shard_limits.read_bytes_per_sec, Instant::now()),
            done: false,
        })
    }

    fn another_subscription(&self, stream: &Stream, consumer: &str, shard: u32) -> ApiError {
        ApiError::new(
            ErrorKind::ResourceInUse,
            format!(
                "Another active subscription exists for this consumer: {}:{}:{}:{consumer}",
                self.store.config.account_id,
                stream.record.name,
                ShardId(shard)
            ),
        )
    }
}

impl Subscription {
    fn config(&self) -> &crate::config::ServiceConfig {
        &self.consumers.store.config
    }

    /// The next event, or `None` once the subscription has ended normally.
    pub async fn next(&mut self) -> Option<SubscriptionEvent> {
        if self.done {
            return None;
        }
        let heartbeat = Duration::from_millis(self.config().subscription_heartbeat_ms.max(1));
        loop {
            if *self.takeover.borrow_and_update() {
                self.done = true;
                let stream = self.consumers.store.get_including_gone(&self.stream_name)?;
                return Some(SubscriptionEvent::Failed(
                    self.consumers
                        .another_subscription(&stream, &self.consumer_name, self.key.1),
                ));
            }
            if tokio::time::Instant::now() >= self.deadline || *self.closing.borrow_and_update() {
                self.done = true;
                return None;
            }
            self.changes.borrow_and_update();
            self.durable.borrow_and_update();
            match self.poll_once(heartbeat).await {
                Ok(Some(page)) => return Some(SubscriptionEvent::Records(Box::new(page))),
                Ok(None) => {}
                Err(e) => {
                    self.done = true;
                    return Some(SubscriptionEvent::Failed(e));
                }
            }
            let wake_at = self
                .deadline
                .min(self.last_event.map_or(self.deadline, |t| t + heartbeat));
            tokio::select! {
                _ = self.durable.changed() => {}
                _ = self.changes.changed() => {}
                _ = self.takeover.changed() => {}
                _ = self.closing.changed() => {}
                _ = tokio::time::sleep_until(wake_at) => {}
            }
        }
    }

    /// The next event if there is news or a heartbeat is due, `None` to wait.
    async fn poll_once(&mut self, heartbeat: Duration) -> Result<Option<RecordsPage>, ApiError> {
        let (stream, shard) = self.current()?;
        let tail = self.records.log.tail(shard.log_id).map_err(log_error)?;
        let end = shard.ending_counter.unwrap_or(u64::MAX);
        let has_news = self.position < tail.next_counter.min(end) || self.position >= end;
        let heartbeat_due = self.last_event.is_none_or(|t| t.elapsed() >= heartbeat);
        if !has_news && !heartbeat_due {
            return Ok(None);
        }
        self.wait_for_read_capacity().await;
        let limit = if has_news { EVENT_MAX_RECORDS } else { 0 };
        let records = self.records.clone();
        let (position, min_arrival_ms) = (self.position, self.min_arrival_ms);
        let page = tokio::task::spawn_blocking(move || {
            let now = records.store.now();
            records.read_page(
                &stream,
                shard,
                position,
                min_arrival_ms,
                limit,
                EVENT_MAX_BYTES,
                now,
            )
        })
        .await
        .map_err(internal)??;
        self.position = page.next_position();
        self.done = page.ends_shard();
        self.last_event = Some(tokio::time::Instant::now());
        if self.config().enforce_shard_limits {
            self.bucket.0 -= page.payload_bytes() as f64;
        }
        Ok(Some(page))
    }

    /// The stream and shard as they are now; errors when the stream or consumer is gone.
    fn current(&self) -> Result<(Arc<Stream>, ShardRecord), ApiError> {
        let store = &self.consumers.store;
        let config = &store.config;
        let stream = store
            .get_including_gone(&self.stream_name)
            .filter(|s| {
                s.record.created_ms == self.stream_created_ms
                    && !matches!(s.record.lifecycle, Lifecycle::Deleting { .. })
            })
            .ok_or_else(|| not_found(config, &self.stream_name))?;
        let now = store.now();
        let consumer_live = stream.consumers(now).any(|c| {
            c.name == self.consumer_name
                && c.created_ms == self.consumer_created_ms
                && consumer_status(c, now) == "ACTIVE"
        });
        if !consumer_live {
            return Err(self.consumers.consumer_not_found(&self.consumer_name));
        }
        let shard = stream.shard(self.key.1).cloned().ok_or_else(|| {
            shard_not_found(config, &self.stream_name, &ShardId(self.key.1).to_string())
        })?;
        Ok((stream, shard))
    }

    /// With shard limits on, each consumer reads at most the shard's read rate (AWS: 2 MiB/s
    /// per consumer per shard), with a one-second burst; an event may overdraw it.
    async fn wait_for_read_capacity(&mut self) {
        if !self.config().enforce_shard_limits {
            return;
        }
        let rate = self.config().shard_limits.read_bytes_per_sec;
        loop {
            let (tokens, last) = self.bucket;
            let refilled = (tokens + last.elapsed().as_secs_f64() * rate).min(rate);
            self.bucket = (refilled, Instant::now());
            if refilled > 0.0 {
                return;
            }
            tokio::time::sleep(Duration::from_secs_f64(-refilled / rate + 0.001)).await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut active = self
            .consumers
            .subscriptions
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if active.get(&self.key).is_some_and(|a| a.id == self.id) {
            active.remove(&self.key);
        }
    }
}

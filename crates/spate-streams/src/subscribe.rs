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

use crate::consumers::consumer_status;
use crate::data::RecordsPage;
use crate::registry::{Kinesis, Stream};
use crate::validation::{self as check, format_shard_id, parse_shard_id};
use spate_wire::kinesis::SubscribeToShardInput;
use spate_wire::validate::Validator;
use spate_wire::{ApiError, ErrorKind};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Bytes of records one event carries at most (a single larger record still goes alone).
pub const EVENT_MAX_BYTES: usize = 1 << 20;
/// Records one event carries at most.
pub const EVENT_MAX_RECORDS: usize = 10_000;
/// A newer subscription for the same consumer and shard is refused within this window.
const EXCLUSIVE_WINDOW: Duration = Duration::from_secs(5);

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidArgument, message)
}

struct Active {
    id: u64,
    started: Instant,
    takeover: watch::Sender<bool>,
}

/// The live subscriptions, per (consumer ARN, shard index).
#[derive(Default)]
pub(crate) struct Subscriptions {
    active: Mutex<HashMap<(String, u32), Active>>,
    next_id: AtomicU64,
}

/// What a subscription yields next.
pub enum SubscriptionEvent {
    /// A `SubscribeToShardEvent` (possibly with no records: a heartbeat).
    Records(Box<RecordsPage>),
    /// The subscription ends with this exception.
    Failed(ApiError),
}

pub struct Subscription {
    kinesis: Arc<Kinesis>,
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

impl Kinesis {
    /// Validates a SubscribeToShard request and starts the subscription; errors here are
    /// answered as plain HTTP errors, before any event.
    pub async fn subscribe_to_shard(
        self: &Arc<Self>,
        input: SubscribeToShardInput,
    ) -> Result<Subscription, ApiError> {
        let kind = input
            .starting_position
            .as_ref()
            .and_then(|p| p.kind.clone());
        let kind = kind.as_deref();
        let mut v = Validator::new();
        v.required(&input.consumer_arn, "consumerARN")
            .required(&input.shard_id, "shardId")
            .required(&input.starting_position, "startingPosition");
        if input.starting_position.is_some() {
            v.required(&kind, "startingPosition.type");
        }
        v.length(input.consumer_arn.as_deref(), "consumerARN", 1, 2048);
        check::shard_id(&mut v, input.shard_id.as_deref(), "shardId");
        v.one_of(
            kind,
            "startingPosition.type",
            &[
                "AT_SEQUENCE_NUMBER",
                "AFTER_SEQUENCE_NUMBER",
                "TRIM_HORIZON",
                "LATEST",
                "AT_TIMESTAMP",
            ],
        );
        v.finish()?;
        let consumer_arn = input.consumer_arn.as_deref().unwrap_or_default();
        let (stream, consumer) = self.resolve_consumer(None, None, Some(consumer_arn))?;
        let now = self.now();
        if consumer_status(&consumer, now) != "ACTIVE" {
            return Err(ApiError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Consumer {} with creation timestamp {} under stream: {} , account {} is not in ACTIVE status.",
                    consumer.name,
                    consumer.created_ms / 1000,
                    stream.record.name,
                    self.config.account_id
                ),
            ));
        }
        if !matches!(stream.status(now), "ACTIVE" | "UPDATING") {
            return Err(self.not_found(&stream.record.name));
        }
        let shard_id = input.shard_id.as_deref().unwrap_or_default();
        let shard = parse_shard_id(shard_id)
            .and_then(|i| stream.shard(i))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorKind::ResourceNotFound,
                    format!(
                        "Shard {shard_id} in stream {} under account {} does not exist",
                        stream.record.name, self.config.account_id
                    ),
                )
            })?
            .clone();
        let start = input.starting_position.unwrap_or_default();
        if start.kind.as_deref() == Some("AT_TIMESTAMP") && start.timestamp.is_none() {
            return Err(invalid("Timestamp must be specified for AT_TIMESTAMP."));
        }
        let (position, min_arrival_ms) = self.start_position(
            &stream,
            &shard,
            kind.unwrap_or_default(),
            start.sequence_number.as_deref(),
            start.timestamp,
            "SubscribeToShard",
        )?;
        let key = (stream.consumer_arn(&consumer), shard.index);
        let (takeover_tx, takeover) = watch::channel(false);
        let id = self.subscriptions.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut active = self
                .subscriptions
                .active
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(previous) = active.get(&key) {
                if previous.started.elapsed() < EXCLUSIVE_WINDOW {
                    return Err(self.another_subscription(&stream, &consumer.name, shard.index));
                }
                let _ = previous.takeover.send(true);
            }
            active.insert(
                key.clone(),
                Active {
                    id,
                    started: Instant::now(),
                    takeover: takeover_tx,
                },
            );
        }
        let durable = self
            .log
            .watch(shard.log_id)
            .map_err(crate::registry::log_error)?;
        let lifetime = Duration::from_millis(self.config.subscription_lifetime_ms);
        let now_instant = tokio::time::Instant::now();
        Ok(Subscription {
            kinesis: self.clone(),
            stream_name: stream.record.name.clone(),
            stream_created_ms: stream.record.created_ms,
            consumer_name: consumer.name.clone(),
            consumer_created_ms: consumer.created_ms,
            key,
            id,
            position,
            min_arrival_ms,
            deadline: now_instant + lifetime,
            last_event: None,
            durable,
            changes: self.changes.subscribe(),
            takeover,
            closing: self.closing.subscribe(),
            bucket: (self.config.shard_limits.read_bytes_per_sec, Instant::now()),
            done: false,
        })
    }

    fn another_subscription(&self, stream: &Stream, consumer: &str, shard: u32) -> ApiError {
        ApiError::new(
            ErrorKind::ResourceInUse,
            format!(
                "Another active subscription exists for this consumer: {}:{}:{}:{consumer}",
                self.config.account_id,
                stream.record.name,
                format_shard_id(shard)
            ),
        )
    }
}

impl Subscription {
    /// The next event, or `None` once the subscription has ended normally.
    pub async fn next(&mut self) -> Option<SubscriptionEvent> {
        if self.done {
            return None;
        }
        let heartbeat = Duration::from_millis(self.kinesis.config.subscription_heartbeat_ms.max(1));
        loop {
            if *self.takeover.borrow_and_update() {
                self.done = true;
                let k = &self.kinesis;
                let stream = k.lookup(Some(&self.stream_name), None).ok()?;
                return Some(SubscriptionEvent::Failed(k.another_subscription(
                    &stream,
                    &self.consumer_name,
                    self.key.1,
                )));
            }
            if tokio::time::Instant::now() >= self.deadline || *self.closing.borrow_and_update() {
                self.done = true;
                return None;
            }
            self.changes.borrow_and_update();
            self.durable.borrow_and_update();
            let (stream, shard) = match self.current() {
                Ok(found) => found,
                Err(e) => {
                    self.done = true;
                    return Some(SubscriptionEvent::Failed(e));
                }
            };
            let k = self.kinesis.clone();
            let tail = match k.log.tail(shard.log_id) {
                Ok(tail) => tail,
                Err(e) => {
                    self.done = true;
                    return Some(SubscriptionEvent::Failed(crate::registry::log_error(e)));
                }
            };
            let end = shard.ending_counter.unwrap_or(u64::MAX);
            let has_news = self.position < tail.next_counter.min(end) || self.position >= end;
            let heartbeat_due = self.last_event.is_none_or(|t| t.elapsed() >= heartbeat);
            if has_news || heartbeat_due {
                self.wait_for_read_capacity().await;
                let limit = if has_news { EVENT_MAX_RECORDS } else { 0 };
                let now = k.now();
                let page = match k.read_page(
                    &stream,
                    shard,
                    self.position,
                    self.min_arrival_ms,
                    limit,
                    EVENT_MAX_BYTES,
                    now,
                ) {
                    Ok(page) => page,
                    Err(e) => {
                        self.done = true;
                        return Some(SubscriptionEvent::Failed(e));
                    }
                };
                self.position = page.next_position();
                self.done = page.ends_shard();
                self.last_event = Some(tokio::time::Instant::now());
                if k.config.enforce_shard_limits {
                    self.bucket.0 -= page.payload_bytes() as f64;
                }
                return Some(SubscriptionEvent::Records(Box::new(page)));
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

    /// The stream and shard as they are now; errors when the stream or consumer is gone.
    fn current(&self) -> Result<(Arc<Stream>, spate_catalog::ShardRecord), ApiError> {
        let k = &self.kinesis;
        let stream = k
            .lookup(Some(&self.stream_name), None)
            .ok()
            .filter(|s| {
                s.record.created_ms == self.stream_created_ms
                    && !matches!(
                        s.record.lifecycle,
                        spate_catalog::Lifecycle::Deleting { .. }
                    )
            })
            .ok_or_else(|| k.not_found(&self.stream_name))?;
        let now = k.now();
        let consumer_live = stream.consumers(now).any(|c| {
            c.name == self.consumer_name
                && c.created_ms == self.consumer_created_ms
                && consumer_status(c, now) == "ACTIVE"
        });
        if !consumer_live {
            return Err(ApiError::new(
                ErrorKind::ResourceNotFound,
                format!(
                    "Consumer {}, account {} not found.",
                    self.consumer_name, k.config.account_id
                ),
            ));
        }
        let shard = stream.shard(self.key.1).cloned().ok_or_else(|| {
            ApiError::new(
                ErrorKind::ResourceNotFound,
                format!(
                    "Shard {} in stream {} under account {} does not exist",
                    format_shard_id(self.key.1),
                    self.stream_name,
                    k.config.account_id
                ),
            )
        })?;
        Ok((stream, shard))
    }

    /// With shard limits on, each consumer reads at most the shard's read rate (AWS: 2 MiB/s
    /// per consumer per shard), with a one-second burst; an event may overdraw it.
    async fn wait_for_read_capacity(&mut self) {
        let k = &self.kinesis;
        if !k.config.enforce_shard_limits {
            return;
        }
        let rate = k.config.shard_limits.read_bytes_per_sec;
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
            .kinesis
            .subscriptions
            .active
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if active.get(&self.key).is_some_and(|a| a.id == self.id) {
            active.remove(&self.key);
        }
    }
}

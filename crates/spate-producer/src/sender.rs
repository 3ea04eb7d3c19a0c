//! The background side: sealing aggregates when they are due, PutRecords calls with bounded
//! concurrency, answers per user record, retries of only the failed entries, and shard map
//! refreshes when a record lands on a shard other than the predicted one.

use crate::buffer::{Buffers, Outgoing, UserEntry};
use crate::config::ProducerConfig;
use crate::shards::{hash_key, ShardMap, ShardRange};
use crate::{Pending, ProducerError, Receipt};
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use bytes::Bytes;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify, Semaphore};

/// The shard map is listed again at most this often.
const REFRESH_MIN_INTERVAL: Duration = Duration::from_secs(1);

/// Errors worth sending the record again for.
const RETRYABLE: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "KMSThrottlingException",
    "InternalFailure",
    "InternalFailureException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "LimitExceededException",
];

pub(crate) struct Shared {
    client: aws_sdk_kinesis::Client,
    config: ProducerConfig,
    buffers: Mutex<Buffers>,
    /// Bytes of user records buffered or in flight (`max_buffered_bytes` permits).
    space: Semaphore,
    in_flight: Arc<Semaphore>,
    wake: Notify,
    idle: Notify,
    outstanding: AtomicUsize,
    flushing: AtomicBool,
    closed: AtomicBool,
    last_refresh: Mutex<Option<Instant>>,
    jitter: AtomicU64,
}

/// The open shards of a stream.
pub(crate) async fn list_shards(
    client: &aws_sdk_kinesis::Client,
    stream: &str,
) -> Result<ShardMap, ProducerError> {
    let mut shards = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let request = match &token {
            Some(t) => client.list_shards().next_token(t),
            None => client.list_shards().stream_name(stream),
        };
        let page = request
            .send()
            .await
            .map_err(|e| ProducerError::Shards(describe(&e)))?;
        for shard in page.shards() {
            let open = shard
                .sequence_number_range()
                .and_then(|r| r.ending_sequence_number())
                .is_none();
            let range = shard.hash_key_range();
            let parse = |s: Option<&str>| s.and_then(|s| s.parse::<u128>().ok());
            let (Some(start), Some(end)) = (
                parse(range.map(|r| r.starting_hash_key())),
                parse(range.map(|r| r.ending_hash_key())),
            ) else {
                continue;
            };
            if open {
                shards.push(ShardRange {
                    shard_id: shard.shard_id().to_string(),
                    start,
                    end,
                });
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    if shards.is_empty() {
        return Err(ProducerError::Shards(format!(
            "stream {stream} has no open shards"
        )));
    }
    Ok(ShardMap::new(shards))
}

fn describe<E: std::error::Error + ProvideErrorMetadata>(e: &E) -> String {
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => {
            let mut text = e.to_string();
            let mut cause = e.source();
            while let Some(c) = cause {
                text.push_str(&format!(": {c}"));
                cause = c.source();
            }
            text
        }
    }
}

impl Shared {
    pub async fn new(
        client: aws_sdk_kinesis::Client,
        config: ProducerConfig,
    ) -> Result<Arc<Shared>, ProducerError> {
        let map = list_shards(&client, &config.stream_name).await?;
        let buffers = Buffers::new(Arc::new(map), config.clone());
        Ok(Arc::new(Shared {
            client,
            space: Semaphore::new(config.max_buffered_bytes.max(1)),
            in_flight: Arc::new(Semaphore::new(config.max_in_flight_requests.max(1))),
            config,
            buffers: Mutex::new(buffers),
            wake: Notify::new(),
            idle: Notify::new(),
            outstanding: AtomicUsize::new(0),
            flushing: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            last_refresh: Mutex::new(None),
            jitter: AtomicU64::new(0x9e37_79b9_7f4a_7c15),
        }))
    }

    fn buffers(&self) -> MutexGuard<'_, Buffers> {
        self.buffers.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn permits(&self, entry: &UserEntry) -> u32 {
        u32::try_from(entry.cost().min(self.config.max_buffered_bytes.max(1))).unwrap_or(u32::MAX)
    }

    pub async fn enqueue(
        &self,
        partition_key: String,
        data: Bytes,
    ) -> Result<Pending, ProducerError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(ProducerError::Closed);
        }
        let (reply, answer) = oneshot::channel();
        let now = Instant::now();
        let entry = UserEntry {
            hash: hash_key(&partition_key),
            partition_key,
            data,
            deadline: now + self.config.record_ttl,
            reply,
        };
        let permit = self
            .space
            .acquire_many(self.permits(&entry))
            .await
            .map_err(|_| ProducerError::Closed)?;
        permit.forget();
        self.outstanding.fetch_add(1, Ordering::AcqRel);
        if self.buffers().add(entry, now) {
            self.wake.notify_one();
        }
        Ok(Pending(answer))
    }

    /// Answers a user record and gives its buffer space back.
    fn answer(&self, user: UserEntry, result: Result<Receipt, ProducerError>) {
        let permits = self.permits(&user) as usize;
        let _ = user.reply.send(result);
        self.release(1, permits);
    }

    /// `records` answered, `permits` bytes of buffer space free again (one semaphore update
    /// per Kinesis record rather than per user record: adding permits takes a lock).
    fn release(&self, records: usize, permits: usize) {
        self.space.add_permits(permits);
        if self.outstanding.fetch_sub(records, Ordering::AcqRel) == records {
            self.idle.notify_waiters();
        }
    }

    pub fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::Acquire)
    }

    pub async fn flush(&self) {
        self.flushing.store(true, Ordering::Release);
        loop {
            let idle = self.idle.notified();
            tokio::pin!(idle);
            idle.as_mut().enable();
            if self.outstanding() == 0 {
                break;
            }
            self.wake.notify_one();
            tokio::select! {
                _ = idle => {}
                _ = tokio::time::sleep(Duration::from_millis(10)) => {}
            }
        }
        self.flushing.store(false, Ordering::Release);
    }

    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.wake.notify_one();
    }

    /// Sends calls while records are ready.
    async fn send_ready(self: &Arc<Self>) {
        loop {
            let now = Instant::now();
            let call = {
                let mut buffers = self.buffers();
                buffers.seal_due(now, self.flushing.load(Ordering::Acquire));
                buffers.take_call(now)
            };
            if call.is_empty() {
                return;
            }
            let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
                return;
            };
            let shared = self.clone();
            tokio::spawn(async move {
                shared.put(call).await;
                drop(permit);
                shared.wake.notify_one();
            });
        }
    }

    async fn put(self: &Arc<Self>, mut call: Vec<Outgoing>) {
        for record in &mut call {
            record.encode();
        }
        let entries = match entries_of(&call) {
            Ok(e) => e,
            Err(e) => {
                for record in call {
                    self.fail(record, ProducerError::Invalid(e.clone()));
                }
                return;
            }
        };
        let sent = self
            .client
            .put_records()
            .stream_name(&self.config.stream_name)
            .set_records(Some(entries))
            .send()
            .await;
        let output = match sent {
            Ok(output) => output,
            Err(e) => {
                let text = describe(&e);
                let retryable = e.code().is_none_or(|c| RETRYABLE.contains(&c));
                for record in call {
                    if retryable {
                        self.retry(record, &text);
                    } else {
                        self.fail(record, ProducerError::Refused(text.clone()));
                    }
                }
                return;
            }
        };
        for (record, result) in call.into_iter().zip(output.records()) {
            match (
                result.error_code(),
                result.shard_id(),
                result.sequence_number(),
            ) {
                (None, Some(shard), Some(sequence))
                    if !record.aggregated || shard == record.shard_id =>
                {
                    self.succeed(record, shard, sequence);
                }
                (None, Some(shard), Some(sequence)) => {
                    let (shard, sequence) = (shard.to_string(), sequence.to_string());
                    self.landed_elsewhere(record, &shard, &sequence).await;
                }
                (code, _, _) => {
                    let text = format!(
                        "{}: {}",
                        code.unwrap_or("no result"),
                        result.error_message().unwrap_or_default()
                    );
                    self.retry(record, &text);
                }
            }
        }
    }

    fn succeed(&self, record: Outgoing, shard: &str, sequence: &str) {
        let attempts = record.attempts + 1;
        let (count, mut permits) = (record.users.len(), 0);
        for (i, user) in record.users.into_iter().enumerate() {
            permits += self.permits(&user) as usize;
            if user.reply.is_closed() {
                // Nobody waits for this one's receipt: do not build it.
                continue;
            }
            let receipt = Receipt {
                shard_id: shard.to_string(),
                sequence_number: sequence.to_string(),
                sub_sequence_number: i as u64,
                attempts,
            };
            let _ = user.reply.send(Ok(receipt));
        }
        self.release(count, permits);
    }

    fn fail(&self, record: Outgoing, error: ProducerError) {
        for user in record.users {
            self.answer(user, Err(error.clone()));
        }
    }

    /// An aggregate landed on another shard than predicted (the stream was resharded): the
    /// user records that belong to that shard are done; the others go again, re-aggregated
    /// for the shard that owns them now. (They were written where they landed too, where a
    /// KCL consumer skips them as not its shard's.)
    async fn landed_elsewhere(self: &Arc<Self>, record: Outgoing, shard: &str, sequence: &str) {
        self.refresh_map().await;
        let owned: Option<(u128, u128)> = {
            let buffers = self.buffers();
            let map = buffers.map();
            (0..map.len())
                .filter_map(|i| map.shard(i))
                .find(|s| s.shard_id == shard)
                .map(|s| (s.start, s.end))
        };
        let attempts = record.attempts + 1;
        for (i, user) in record.users.into_iter().enumerate() {
            let belongs = owned.is_none_or(|(start, end)| (start..=end).contains(&user.hash));
            if belongs {
                let receipt = Receipt {
                    shard_id: shard.to_string(),
                    sequence_number: sequence.to_string(),
                    sub_sequence_number: i as u64,
                    attempts,
                };
                self.answer(user, Ok(receipt));
            } else {
                self.buffers().add(user, Instant::now());
            }
        }
    }

    /// Sends a failed record again after a backoff, unless its records' time to live is over.
    fn retry(&self, mut record: Outgoing, error: &str) {
        let now = Instant::now();
        record.attempts += 1;
        let total = record.users.len();
        let (live, expired): (Vec<UserEntry>, Vec<UserEntry>) = std::mem::take(&mut record.users)
            .into_iter()
            .partition(|u| u.deadline > now);
        for user in expired {
            self.answer(user, Err(ProducerError::Expired(error.to_string())));
        }
        if live.is_empty() {
            return;
        }
        let exponent = record.attempts.saturating_sub(1).min(16);
        let backoff = self
            .config
            .retry_initial
            .saturating_mul(1 << exponent)
            .min(self.config.retry_max);
        let backoff = backoff.mul_f64(0.5 + self.jitter());
        tracing::debug!(
            "retrying {} user records in {backoff:?}: {error}",
            live.len()
        );
        if live.len() < total && record.aggregated {
            // Some expired: rebuild the aggregate from those left.
            let mut buffers = self.buffers();
            for user in live {
                buffers.add(user, now);
            }
            return;
        }
        record.users = live;
        record.not_before = now + backoff;
        self.buffers().requeue(record);
    }

    /// A number in [0, 1) (xorshift): spreads retries apart.
    fn jitter(&self) -> f64 {
        let mut x = self.jitter.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.jitter.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    async fn refresh_map(&self) {
        {
            let mut last = self.last_refresh.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < REFRESH_MIN_INTERVAL) {
                return;
            }
            *last = Some(Instant::now());
        }
        match list_shards(&self.client, &self.config.stream_name).await {
            Ok(map) => self.buffers().reroute(Arc::new(map), Instant::now()),
            Err(e) => tracing::warn!("refreshing the shard map: {e}"),
        }
    }
}

/// The PutRecords entries of a call.
fn entries_of(call: &[Outgoing]) -> Result<Vec<PutRecordsRequestEntry>, String> {
    call.iter()
        .map(|o| {
            PutRecordsRequestEntry::builder()
                .partition_key(&o.partition_key)
                .set_explicit_hash_key(o.explicit_hash_key.clone())
                .data(Blob::new(o.data.to_vec()))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Wakes on demand or every half buffered-time, sending what is due; ends once closed and
/// every record is answered.
pub(crate) async fn flush_loop(shared: Arc<Shared>) {
    let tick = (shared.config.record_max_buffered_time / 2).max(Duration::from_millis(1));
    loop {
        tokio::select! {
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep(tick) => {}
        }
        shared.send_ready().await;
        if shared.closed.load(Ordering::Acquire) && shared.outstanding() == 0 {
            break;
        }
    }
}

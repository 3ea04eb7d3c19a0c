//! One delivery stream's worker: fill the buffer from the log, deliver when the buffering
//! hints say so (or when asked), retry failures with backoff, record progress.

mod channel;
mod documents;
mod opensearch;
mod redshift;
mod send;
mod splunk;

use super::http::HttpSender;
use super::{DeliveryStatus, FlushRequest, Statuses, Stop};
use crate::model::{Buffering, DeliveryStreamRecord, Destination};
use crate::seal::SealKeys;
use crate::store::{Progress, Registry};
use spate_log::{ReadBatch, RecordLog};
use spate_objects::ObjectStore;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Records one log read returns at most.
const READ_MAX_RECORDS: usize = 10_000;
/// How long an idle worker waits when nothing wakes it (new records and changes do).
const IDLE_WAKE: Duration = Duration::from_secs(3600);
/// The shortest wait between two looks at the buffer.
const MIN_WAKE: Duration = Duration::from_millis(10);
/// Longest wait between two attempts at an HTTP endpoint (AWS: 2 minutes).
const HTTP_RETRY_MAX_MS: u64 = 120_000;

/// A factor in [0.85, 1.15]: AWS's ±15 % jitter on HTTP endpoint retries.
fn jitter() -> f64 {
    let mut b = [0u8; 2];
    let r = if getrandom::fill(&mut b).is_ok() {
        u16::from_be_bytes(b)
    } else {
        u16::MAX / 2
    };
    0.85 + 0.3 * f64::from(r) / f64::from(u16::MAX)
}

/// Records read from the log and not yet delivered.
#[derive(Default)]
struct Buffer {
    batches: Vec<ReadBatch>,
    records: usize,
    bytes: usize,
    oldest_arrival_ms: Option<i64>,
    newest_arrival_ms: i64,
    /// When the first record of this buffer was read (the interval hint runs from here).
    started: Option<Instant>,
    /// The counter after the last buffered record.
    end: u64,
}

impl Buffer {
    fn is_empty(&self) -> bool {
        self.oldest_arrival_ms.is_none()
    }

    fn push(&mut self, batch: ReadBatch) {
        for record in batch.records() {
            self.oldest_arrival_ms.get_or_insert(record.arrival_ms);
            self.newest_arrival_ms = record.arrival_ms;
            self.bytes += record.data.len();
            self.records += 1;
        }
        if self.started.is_none() && !batch.is_empty() {
            self.started = Some(Instant::now());
        }
        self.end = batch.next_counter;
        self.batches.push(batch);
    }

    /// Whether the buffering hints call for a delivery now.
    fn due(&self, hints: &Buffering) -> bool {
        let interval = Duration::from_millis(hints.interval_ms());
        !self.is_empty()
            && (self.bytes >= hints.size_bytes()
                || self.started.is_some_and(|t| t.elapsed() >= interval))
    }

    /// When the interval hint will call for a delivery.
    fn deadline(&self, hints: &Buffering) -> Option<Instant> {
        self.started
            .map(|t| t + Duration::from_millis(hints.interval_ms()))
    }

    fn clear(&mut self) {
        *self = Buffer {
            end: self.end,
            ..Buffer::default()
        };
    }
}

pub(super) struct Worker {
    name: String,
    log_id: u64,
    registry: Arc<Registry>,
    log: Arc<dyn RecordLog>,
    objects: Arc<dyn ObjectStore>,
    statuses: Statuses,
    buffer: Buffer,
    /// The current buffer's delivery across attempts.
    batch: Batch,
    /// When the next attempt may start, after a failure.
    retry_at: Option<Instant>,
    /// The HTTP client, made at the first HTTP delivery.
    http: Option<Arc<HttpSender>>,
    /// The OpenSearch bulk client, made at the first delivery to a cluster.
    bulk: Option<Arc<crate::delivery::bulk::BulkClient>>,
    /// The Splunk HEC client (one request channel), made at the first delivery to Splunk.
    hec: Option<Arc<crate::delivery::hec::HecClient>>,
    /// Opens records sealed at rest.
    seal: Arc<SealKeys>,
    /// Runs Lambda processors.
    invoker: super::InvokerSlot,
    /// Glue tables for record format conversion.
    schemas: crate::convert::SchemaSlot,
}

/// A buffer's delivery across attempts: it keeps one HTTP request id, and once the endpoint
/// has refused it for good (413, or failures past the retry duration) it goes to the backup
/// bucket instead.
#[derive(Default)]
struct Batch {
    attempts: u32,
    request_id: Option<String>,
    failing_since: Option<Instant>,
    given_up: Option<String>,
    /// The buffer after record transformation (kept across retries, so a function runs once
    /// per batch), and whether its failed records are in the error output already.
    processed: Option<Arc<super::process::Processed>>,
    failures_written: bool,
    /// OpenSearch: documents indexed already (by key), and why the others failed last.
    indexed: std::collections::HashSet<String>,
    doc_errors: std::collections::HashMap<String, (String, String)>,
    /// Splunk: the error that ended the retries (the events go to the backup bucket), and the
    /// time spent waiting for acknowledgements since the first failure.
    hec_failure: Option<crate::delivery::hec::HecError>,
    ack_waited: Duration,
    /// Redshift: the batch's intermediate objects and manifest, written once.
    staged: Option<redshift::Staged>,
}

impl Worker {
    pub(super) fn new(
        name: String,
        log_id: u64,
        registry: Arc<Registry>,
        log: Arc<dyn RecordLog>,
        objects: Arc<dyn ObjectStore>,
        statuses: Statuses,
        (seal, invoker, schemas): (
            Arc<SealKeys>,
            super::InvokerSlot,
            crate::convert::SchemaSlot,
        ),
    ) -> Worker {
        Worker {
            name,
            log_id,
            registry,
            log,
            objects,
            statuses,
            buffer: Buffer::default(),
            batch: Batch::default(),
            retry_at: None,
            http: None,
            bulk: None,
            hec: None,
            seal,
            invoker,
            schemas,
        }
    }

    pub(super) async fn run(
        mut self,
        mut flush: mpsc::Receiver<FlushRequest>,
        mut stop: watch::Receiver<Stop>,
    ) {
        match self.registry.progress(&self.name) {
            Ok(Some(p)) if p.log_id == self.log_id => self.buffer.end = p.delivered,
            Ok(_) => {}
            Err(e) => return self.fail(format!("reading delivery progress: {e}")),
        }
        let mut tail = match self.log.watch(self.log_id) {
            Ok(tail) => tail,
            Err(e) => return self.fail(format!("opening the stream's records: {e}")),
        };
        let mut changes = self.registry.subscribe();
        loop {
            let Ok(stream) = self.registry.get(&self.name) else {
                return;
            };
            let stopping = *stop.borrow_and_update();
            if stopping == Stop::Now {
                return;
            }
            let hints = stream.buffering();
            let delivered = self.step(&stream, &hints, stopping == Stop::Drain).await;
            if stopping == Stop::Drain {
                return;
            }
            if delivered {
                continue;
            }
            let wake = self.wake_at(&hints);
            tokio::select! {
                changed = tail.changed() => if changed.is_err() { return },
                _ = changes.changed() => {}
                Some(reply) = flush.recv() => {
                    // The configuration as it is now: an update may have landed since the loop
                    // looked (both wake-ups can be ready at once).
                    let stream = self.registry.get(&self.name).unwrap_or(stream.clone());
                    let _ = reply.send(self.flush(&stream).await);
                }
                _ = stop.changed() => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// Reads what is new and delivers if the hints (or a drain) call for it; whether a
    /// delivery succeeded (then more records may be waiting in the log already: the buffer
    /// stops filling at the size hint, and their tail change has been seen).
    async fn step(
        &mut self,
        stream: &DeliveryStreamRecord,
        hints: &Buffering,
        drain: bool,
    ) -> bool {
        if let Err(e) = self.fill(hints.size_bytes()).await {
            self.fail(e);
            return false;
        }
        let may_retry = self.retry_at.is_none_or(|t| Instant::now() >= t);
        if (self.buffer.due(hints) || (drain && !self.buffer.is_empty())) && (may_retry || drain) {
            return self.attempt(stream).await.is_ok();
        }
        false
    }

    fn wake_at(&self, hints: &Buffering) -> Instant {
        let now = Instant::now();
        let deadline = self.buffer.deadline(hints).unwrap_or(now + IDLE_WAKE);
        let wake = match self.retry_at {
            Some(retry) if !self.buffer.is_empty() => deadline.max(retry),
            _ => deadline,
        };
        // Never spin: a deadline that has passed without a delivery (a failed read) waits a
        // little before the next look.
        wake.max(now + MIN_WAKE)
    }

    /// Reads durable records after the buffer until it holds `size_bytes`.
    async fn fill(&mut self, size_bytes: usize) -> Result<(), String> {
        while self.buffer.bytes < size_bytes {
            let (log, log_id, from) = (self.log.clone(), self.log_id, self.buffer.end);
            let max_bytes = size_bytes - self.buffer.bytes;
            let batch = tokio::task::spawn_blocking(move || {
                log.read(log_id, from, READ_MAX_RECORDS, max_bytes, i64::MIN)
            })
            .await
            .map_err(|e| format!("reading records: {e}"))?
            .map_err(|e| format!("reading records: {e}"))?;
            if batch.is_empty() {
                self.buffer.end = batch.next_counter;
                return Ok(());
            }
            self.buffer.push(batch);
            self.report(|_| {});
        }
        Ok(())
    }

    /// Delivers everything durable when the flush was asked for, one object per buffer.
    async fn flush(&mut self, stream: &DeliveryStreamRecord) -> Result<(), String> {
        let target = self
            .log
            .tail(self.log_id)
            .map_err(|e| format!("reading the stream's tail: {e}"))?
            .next_counter;
        let size = stream.buffering().size_bytes();
        loop {
            self.fill(size).await?;
            if self.buffer.is_empty() {
                return Ok(());
            }
            self.attempt(stream).await?;
            if self.buffer.end >= target {
                return Ok(());
            }
        }
    }

    /// One delivery attempt of the whole buffer.
    async fn attempt(&mut self, stream: &DeliveryStreamRecord) -> Result<(), String> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let size = (self.buffer.records as u64, self.buffer.bytes as u64);
        let delivered = match &stream.destination {
            Destination::S3 { config, .. } => match &stream.channel {
                Some(channel) => self.deliver_channel(stream, channel).await,
                None => self.write_object(stream, config).await,
            },
            Destination::Http(http) => self.post(stream, http).await,
            Destination::OpenSearch(os) => self.bulk(stream, os).await,
            Destination::Splunk(splunk) => self.hec(stream, splunk).await,
            Destination::Redshift(r) => self.copy(stream, r).await,
        };
        let committed = match delivered {
            Ok(()) => self.commit().await,
            Err(e) => Err(e),
        };
        match committed.map(|()| size) {
            Ok(delivered) => {
                self.batch = Batch::default();
                self.retry_at = None;
                let (records, bytes) = delivered;
                self.report(|s| {
                    s.failure = None;
                    s.delivered_objects += 1;
                    s.delivered_records += records;
                    s.delivered_bytes += bytes;
                });
                Ok(())
            }
            Err(e) => {
                self.batch.attempts = self.batch.attempts.saturating_add(1);
                let wait = self.backoff(&stream.destination);
                self.retry_at = Some(Instant::now() + wait);
                let message = format!(
                    "Delivery to {} failed: {e} (attempt {}; retrying in {} ms)",
                    stream.destination.describe(),
                    self.batch.attempts,
                    wait.as_millis()
                );
                tracing::warn!("Firehose {}: {message}", self.name);
                self.fail(message.clone());
                Err(message)
            }
        }
    }

    /// S3: doubles from `retry_initial_ms` up to `retry_max_ms`. HTTP endpoints (and the
    /// other HTTP destinations): AWS's 1 s doubling to 2 minutes with ±15 % jitter.
    fn backoff(&self, destination: &Destination) -> Duration {
        let config = &self.registry.config;
        let doublings = self.batch.attempts.saturating_sub(1).min(20);
        let ms = config.retry_initial_ms.saturating_mul(1 << doublings);
        match destination {
            Destination::S3 { .. } => Duration::from_millis(ms.min(config.retry_max_ms)),
            Destination::Http(_)
            | Destination::OpenSearch(_)
            | Destination::Splunk(_)
            | Destination::Redshift(_) => {
                let ms = ms.min(HTTP_RETRY_MAX_MS) as f64;
                Duration::from_millis((ms * jitter()) as u64)
            }
        }
    }

    /// Records the progress past the buffer, trims the log below it, empties the buffer.
    async fn commit(&mut self) -> Result<(), String> {
        let progress = Progress {
            log_id: self.log_id,
            delivered: self.buffer.end,
        };
        self.registry
            .save_progress(&self.name, progress)
            .await
            .map_err(|e| format!("recording progress: {e}"))?;
        // Every record that arrived before the newest delivered one is delivered.
        let before_ms = self.buffer.newest_arrival_ms;
        if let Err(e) = self.log.trim(self.log_id, before_ms).await {
            tracing::warn!("Firehose {}: trimming delivered records: {e}", self.name);
        }
        self.buffer.clear();
        self.report(|_| {});
        Ok(())
    }

    fn fail(&self, message: String) {
        self.report(|s| s.failure = Some(message));
    }

    fn report(&self, change: impl FnOnce(&mut DeliveryStatus)) {
        let mut statuses = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        let status = statuses.entry(self.name.clone()).or_default();
        change(status);
        status.buffered_records = self.buffer.records;
        status.buffered_bytes = self.buffer.bytes;
    }
}

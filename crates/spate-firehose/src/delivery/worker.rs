//! One delivery stream's worker: fill the buffer from the log, deliver when the buffering
//! hints say so (or when asked), retry failures with backoff, record progress.

use super::object::build;
use super::{DeliveryStatus, FlushRequest, Statuses, Stop};
use crate::model::{Buffering, DeliveryStreamRecord};
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
    /// Failed attempts in a row, and when the next may start.
    attempts: u32,
    retry_at: Option<Instant>,
}

impl Worker {
    pub(super) fn new(
        name: String,
        log_id: u64,
        registry: Arc<Registry>,
        log: Arc<dyn RecordLog>,
        objects: Arc<dyn ObjectStore>,
        statuses: Statuses,
    ) -> Worker {
        Worker {
            name,
            log_id,
            registry,
            log,
            objects,
            statuses,
            buffer: Buffer::default(),
            attempts: 0,
            retry_at: None,
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
            let hints = stream.s3().buffering;
            self.step(&stream, &hints, stopping == Stop::Drain).await;
            if stopping == Stop::Drain {
                return;
            }
            let wake = self.wake_at(&hints);
            tokio::select! {
                changed = tail.changed() => if changed.is_err() { return },
                _ = changes.changed() => {}
                Some(reply) = flush.recv() => {
                    let _ = reply.send(self.flush(&stream).await);
                }
                _ = stop.changed() => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// Reads what is new and delivers if the hints (or a drain) call for it.
    async fn step(&mut self, stream: &DeliveryStreamRecord, hints: &Buffering, drain: bool) {
        if let Err(e) = self.fill(hints.size_bytes()).await {
            return self.fail(e);
        }
        let may_retry = self.retry_at.is_none_or(|t| Instant::now() >= t);
        if (self.buffer.due(hints) || (drain && !self.buffer.is_empty())) && (may_retry || drain) {
            let _ = self.attempt(stream).await;
        }
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
        let size = stream.s3().buffering.size_bytes();
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
        match self.deliver(stream).await {
            Ok(()) => {
                self.attempts = 0;
                self.retry_at = None;
                self.report(|s| {
                    s.failure = None;
                    s.delivered_objects += 1;
                });
                Ok(())
            }
            Err(e) => {
                self.attempts = self.attempts.saturating_add(1);
                let wait = self.backoff();
                self.retry_at = Some(Instant::now() + wait);
                let bucket = stream.s3().bucket();
                let message = format!(
                    "Delivery to bucket {bucket} failed: {e} (attempt {}; retrying in {} ms)",
                    self.attempts,
                    wait.as_millis()
                );
                tracing::warn!("Firehose {}: {message}", self.name);
                self.fail(message.clone());
                Err(message)
            }
        }
    }

    /// Doubles from `retry_initial_ms` up to `retry_max_ms`.
    fn backoff(&self) -> Duration {
        let config = &self.registry.config;
        let doublings = self.attempts.saturating_sub(1).min(20);
        let ms = config.retry_initial_ms.saturating_mul(1 << doublings);
        Duration::from_millis(ms.min(config.retry_max_ms))
    }

    async fn deliver(&mut self, stream: &DeliveryStreamRecord) -> Result<(), String> {
        let Some(oldest) = self.buffer.oldest_arrival_ms else {
            return Ok(());
        };
        let destination = stream.s3().clone();
        let record = stream.clone();
        let batches = std::mem::take(&mut self.buffer.batches);
        let (object, batches) = tokio::task::spawn_blocking(move || {
            let records = batches.iter().flat_map(|b| b.records().map(|r| r.data));
            let object = build(&record, &destination, oldest, records);
            (object, batches)
        })
        .await
        .map_err(|e| format!("building the object: {e}"))?;
        self.buffer.batches = batches;
        self.objects.put(object?).await.map_err(|e| e.to_string())?;
        let progress = Progress {
            log_id: self.log_id,
            delivered: self.buffer.end,
        };
        self.registry
            .save_progress(&self.name, progress)
            .await
            .map_err(|e| format!("recording progress: {e}"))?;
        // Every record that arrived before the newest delivered one is delivered.
        if let Err(e) = self
            .log
            .trim(self.log_id, self.buffer.newest_arrival_ms)
            .await
        {
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

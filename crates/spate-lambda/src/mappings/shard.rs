//! One shard of a running mapping: read a batch from the checkpoint, wait out the batching
//! window, invoke, handle the verdict (retry with backoff, bisect, resume after partial
//! failures, discard to the on-failure destination), checkpoint. At-least-once: the position
//! is saved only after the records before it were processed or discarded.

use super::batch::{kinesis_event, verdict, EventSource, Verdict};
use super::failure::{self, Condition, Discarded};
use super::filter;
use crate::functions::invoke::Outcome;
use crate::functions::Functions;
use crate::model::{MappingProgress, MappingRecord, StartingPosition};
use crate::store::Registry;
use bytes::Bytes;
use serde_json::Value;
use spate_log::Clock;
use spate_objects::ObjectStore;
use spate_streams::reader::{SourceRecord, SourceShard};
use spate_streams::Kinesis;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// Bytes of record data one batch holds at most: base64 and the event's JSON around it must fit
/// Lambda's 6 MB synchronous payload.
pub const BATCH_MAX_BYTES: usize = 4 * 1024 * 1024;
/// How long an idle reader waits when nothing wakes it.
const IDLE_WAIT: Duration = Duration::from_secs(1);
/// The first retry's backoff; each retry doubles it up to [`BACKOFF_MAX`].
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// What every shard reader of one mapping shares.
pub struct MappingRun {
    pub mapping: Arc<MappingRecord>,
    pub functions: Arc<Functions>,
    pub kinesis: Arc<Kinesis>,
    pub objects: Option<Arc<dyn ObjectStore>>,
    pub registry: Arc<Registry>,
    pub progress: tokio::sync::Mutex<MappingProgress>,
    pub stream_arn: String,
    pub function_arn: String,
    pub role_arn: String,
    pub region: String,
    pub filters: Vec<Value>,
    pub clock: Clock,
    pub results: Arc<Mutex<HashMap<String, String>>>,
}

/// Why a reader stopped.
pub enum Ended {
    /// The shard is closed and every record was processed.
    Done,
    Stopped,
}

impl MappingRun {
    fn report(&self, result: &str) {
        let mut results = self.results.lock().unwrap_or_else(|e| e.into_inner());
        results.insert(self.mapping.uuid.clone(), result.to_string());
    }

    async fn save_position(&self, index: u32, position: u64) {
        let mut progress = self.progress.lock().await;
        progress.positions.insert(index, position);
        if let Err(e) = self
            .registry
            .save_progress(&self.mapping.uuid, &progress)
            .await
        {
            tracing::warn!("mapping {}: saving progress: {e}", self.mapping.uuid);
        }
    }

    async fn mark_done(&self, index: u32) {
        let mut progress = self.progress.lock().await;
        progress.positions.remove(&index);
        progress.done.insert(index);
        if let Err(e) = self
            .registry
            .save_progress(&self.mapping.uuid, &progress)
            .await
        {
            tracing::warn!("mapping {}: saving progress: {e}", self.mapping.uuid);
        }
    }

    /// Where reading the shard starts: its checkpoint, else the mapping's starting position
    /// (saved at once, so LATEST does not move on a restart).
    async fn start(&self, shard: &SourceShard) -> Result<u64, String> {
        if let Some(&p) = self.progress.lock().await.positions.get(&shard.index) {
            return Ok(p);
        }
        let stream = &self.mapping.stream;
        let position = match self.mapping.starting_position {
            StartingPosition::TrimHorizon => 0,
            StartingPosition::Latest if shard.created_ms <= self.mapping.created_ms => self
                .kinesis
                .source_tail(stream, shard.index)
                .map_err(|e| e.message)?,
            StartingPosition::AtTimestamp(t) if shard.created_ms < t => self
                .kinesis
                .source_seek(stream, shard.index, t)
                .map_err(|e| e.message)?,
            _ => 0,
        };
        self.save_position(shard.index, position).await;
        Ok(position)
    }

    /// Reads and processes the shard until it is done or the mapping stops.
    pub async fn read_shard(&self, shard: SourceShard, mut stop: watch::Receiver<bool>) -> Ended {
        let mut position = loop {
            match self.start(&shard).await {
                Ok(p) => break p,
                Err(e) => self.report(&format!("PROBLEM: {e}")),
            }
            if pause(&mut stop, IDLE_WAIT).await {
                return Ended::Stopped;
            }
        };
        let batch_size = self.mapping.batch_size as usize;
        let window = Duration::from_secs(u64::from(self.mapping.batching_window_secs));
        let mut window_start: Option<Instant> = None;
        loop {
            if *stop.borrow() {
                return Ended::Stopped;
            }
            let read = self
                .kinesis
                .source_read(
                    &self.mapping.stream,
                    shard.index,
                    position,
                    batch_size,
                    BATCH_MAX_BYTES,
                )
                .await;
            let read = match read {
                Ok(read) => read,
                Err(e) => {
                    self.report(&format!("PROBLEM: {}", e.message));
                    if pause(&mut stop, IDLE_WAIT).await {
                        return Ended::Stopped;
                    }
                    continue;
                }
            };
            if read.records.is_empty() {
                if read.ended {
                    self.mark_done(shard.index).await;
                    return Ended::Done;
                }
                if self.wait_for_records(&shard, &mut stop, None).await {
                    return Ended::Stopped;
                }
                continue;
            }
            if !window.is_zero() && read.records.len() < batch_size && !read.ended {
                let deadline = *window_start.get_or_insert_with(Instant::now) + window;
                if Instant::now() < deadline {
                    if self
                        .wait_for_records(&shard, &mut stop, Some(deadline))
                        .await
                    {
                        return Ended::Stopped;
                    }
                    continue;
                }
            }
            window_start = None;
            if !self.process(&shard, read.records, &mut stop).await {
                return Ended::Stopped;
            }
            position = read.next;
            self.save_position(shard.index, position).await;
            if read.ended {
                self.mark_done(shard.index).await;
                return Ended::Done;
            }
        }
    }

    /// Waits for the shard's tail to move (or `deadline`, or an idle period); whether stopped.
    async fn wait_for_records(
        &self,
        shard: &SourceShard,
        stop: &mut watch::Receiver<bool>,
        deadline: Option<Instant>,
    ) -> bool {
        let deadline = deadline.unwrap_or_else(|| Instant::now() + IDLE_WAIT);
        let tail = self.kinesis.source_watch(&self.mapping.stream, shard.index);
        let moved = async {
            match tail {
                Ok(mut w) => {
                    let _ = w.changed().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = moved => false,
            _ = tokio::time::sleep_until(deadline) => false,
            _ = stop.changed() => true,
        }
    }

    /// Processes one batch to the end (invoked successfully, or discarded); false if stopped.
    async fn process(
        &self,
        shard: &SourceShard,
        records: Vec<SourceRecord>,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        let m = &self.mapping;
        let source = EventSource {
            stream_arn: &self.stream_arn,
            region: &self.region,
            role_arn: &self.role_arn,
            shard,
        };
        // (records, retries so far): bisected halves go to the front, in order.
        let mut queue: VecDeque<(Vec<SourceRecord>, u32)> = VecDeque::from([(records, 0)]);
        while let Some((batch, retries)) = queue.pop_front() {
            let kept: Vec<SourceRecord> = batch
                .into_iter()
                .filter(|r| {
                    let seq = shard.sequence_number(r);
                    filter::keep(&self.filters, &r.partition_key, &seq, &r.data)
                })
                .collect();
            if kept.is_empty() {
                continue;
            }
            let event = kinesis_event(&source, &kept);
            let outcome = match self
                .functions
                .invoke(&m.function, Bytes::from(event.to_string()))
                .await
            {
                Ok(outcome) => outcome,
                Err(e) => Outcome::error("Spate.FunctionUnavailable", e.message),
            };
            let failed = match verdict(&outcome, m.report_batch_item_failures, shard, &kept) {
                Verdict::Success => {
                    self.report("OK");
                    continue;
                }
                Verdict::FailedFrom(i) => kept[i..].to_vec(),
                Verdict::Failed => kept,
            };
            self.report("PROBLEM: Function call failed");
            self.save_position(shard.index, failed[0].counter).await;
            let oldest = failed.iter().map(|r| r.arrival_ms).min().unwrap_or(0);
            let too_old = m.maximum_record_age_secs >= 0
                && (self.clock)() - oldest > i64::from(m.maximum_record_age_secs) * 1000;
            let condition = if too_old {
                Some(Condition::RecordAgeExceeded)
            } else if m.bisect_on_error && failed.len() > 1 {
                // Splitting does not count against the retry quota.
                let second = failed[failed.len() / 2..].to_vec();
                let first = failed[..failed.len() / 2].to_vec();
                queue.push_front((second, retries));
                queue.push_front((first, retries));
                continue;
            } else if m.maximum_retry_attempts >= 0 && retries >= m.maximum_retry_attempts as u32 {
                Some(Condition::RetryAttemptsExhausted)
            } else {
                None
            };
            match condition {
                Some(condition) => {
                    if !self
                        .discard(
                            shard,
                            &failed,
                            condition,
                            retries + 1,
                            &outcome,
                            &event,
                            stop,
                        )
                        .await
                    {
                        return false;
                    }
                }
                None => {
                    let backoff = BACKOFF_FIRST
                        .saturating_mul(1 << retries.min(16))
                        .min(BACKOFF_MAX);
                    if pause(stop, backoff).await {
                        return false;
                    }
                    queue.push_front((failed, retries + 1));
                }
            }
        }
        true
    }

    /// Writes a discarded batch's record to the destination (retrying until it is written:
    /// a batch is never dropped silently) and moves past it; false if stopped.
    #[allow(clippy::too_many_arguments)]
    async fn discard(
        &self,
        shard: &SourceShard,
        failed: &[SourceRecord],
        condition: Condition,
        invocations: u32,
        outcome: &Outcome,
        event: &Value,
        stop: &mut watch::Receiver<bool>,
    ) -> bool {
        if let Some(destination) = &self.mapping.on_failure {
            let mut backoff = BACKOFF_FIRST;
            loop {
                let discarded = Discarded {
                    mapping_uuid: &self.mapping.uuid,
                    function_arn: &self.function_arn,
                    stream_arn: &self.stream_arn,
                    shard,
                    records: failed,
                    condition,
                    attempts: invocations,
                    last: Some(outcome),
                    now_ms: (self.clock)(),
                };
                let sent = failure::send(
                    destination,
                    &discarded,
                    Some(event),
                    self.objects.as_ref(),
                    &self.kinesis,
                )
                .await;
                match sent {
                    Ok(()) => break,
                    Err(e) => {
                        self.report(&format!("PROBLEM: Destination {}: {e}", destination.arn()));
                        if pause(stop, backoff).await {
                            return false;
                        }
                        backoff = (backoff * 2).min(BACKOFF_MAX);
                    }
                }
            }
        } else {
            tracing::warn!(
                "mapping {}: discarded {} records of {} ({})",
                self.mapping.uuid,
                failed.len(),
                shard.shard_id(),
                condition.as_str()
            );
        }
        if let Some(last) = failed.last() {
            self.save_position(shard.index, last.counter + 1).await;
        }
        true
    }
}

/// Sleeps for `duration` unless stopped first; whether stopped.
async fn pause(stop: &mut watch::Receiver<bool>, duration: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(duration) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

//! One shard of a running mapping: read a batch from the checkpoint, wait out the batching
//! window, invoke, handle the verdict (retry with backoff, bisect, resume after partial
//! failures, discard to the on-failure destination), checkpoint. At-least-once: the position
//! is saved only after the records before it were processed or discarded.

use super::batch::{kinesis_event, verdict, EventSource, Verdict};
use super::failure::{self, Condition, Discarded};
use super::filter;
use super::lanes::{join_all, lane_of};
use super::window::{cut_at_window, Window};
use crate::functions::invoke::Outcome;
use crate::functions::Functions;
use crate::model::{MappingProgress, MappingRecord, StartingPosition};
use crate::store::Registry;
use bytes::Bytes;
use serde_json::json;
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
    /// The open tumbling window of each shard (TumblingWindowInSeconds > 0).
    pub windows: Mutex<HashMap<u32, Window>>,
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
        // The window state that goes with the position: a restart resumes both together.
        progress.windows = {
            let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
            windows.iter().map(|(k, w)| (*k, w.clone())).collect()
        };
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
        let position = loop {
            match self.start(&shard).await {
                Ok(p) => break p,
                Err(e) => self.report(&format!("PROBLEM: {e}")),
            }
            if pause(&mut stop, IDLE_WAIT).await {
                return Ended::Stopped;
            }
        };
        // Subscribed before the first read: a record appended between a read and the wait
        // still wakes the reader.
        let tail = self
            .kinesis
            .source_watch(&self.mapping.stream, shard.index)
            .ok();
        let mut cursor = Cursor {
            position,
            window_start: None,
            tail,
        };
        loop {
            if *stop.borrow() {
                return Ended::Stopped;
            }
            match self.step(&shard, &mut cursor, &mut stop).await {
                Step::Continue => {}
                Step::Ended(ended) => return ended,
            }
        }
    }

    /// One read: wait for records, or process a batch and checkpoint after it.
    async fn step(
        &self,
        shard: &SourceShard,
        cursor: &mut Cursor,
        stop: &mut watch::Receiver<bool>,
    ) -> Step {
        let batch_size = self.mapping.batch_size as usize;
        let lanes = self.mapping.parallelization_factor.max(1) as usize;
        let read_limit = batch_size * lanes;
        if let Some(tail) = cursor.tail.as_mut() {
            tail.borrow_and_update();
        }
        let read = self
            .kinesis
            .source_read(
                &self.mapping.stream,
                shard.index,
                cursor.position,
                read_limit,
                BATCH_MAX_BYTES * lanes,
            )
            .await;
        let read = match read {
            Ok(read) => read,
            Err(e) => {
                self.report(&format!("PROBLEM: {}", e.message));
                return stopped_if(pause(stop, IDLE_WAIT).await);
            }
        };
        let mut read = read;
        let cut = self.roll_window(shard, &mut read.records).await;
        if let Some(next) = cut {
            read.next = next;
            read.ended = false;
        }
        if read.records.is_empty() && read.ended {
            self.mark_done(shard.index).await;
            return Step::Ended(Ended::Done);
        }
        if read.records.is_empty() {
            return stopped_if(wait_for_records(cursor, stop, None).await);
        }
        let window = Duration::from_secs(u64::from(self.mapping.batching_window_secs));
        if !window.is_zero() && read.records.len() < read_limit && !read.ended {
            let deadline = *cursor.window_start.get_or_insert_with(Instant::now) + window;
            if Instant::now() < deadline {
                return stopped_if(wait_for_records(cursor, stop, Some(deadline)).await);
            }
        }
        cursor.window_start = None;
        let processed = if lanes == 1 || self.mapping.tumbling_window_secs > 0 {
            self.process(shard, read.records, stop, true).await
        } else {
            self.process_lanes(shard, read.records, lanes, stop).await
        };
        if !processed {
            return Step::Ended(Ended::Stopped);
        }
        cursor.position = read.next;
        self.save_position(shard.index, cursor.position).await;
        if read.ended {
            self.mark_done(shard.index).await;
            return Step::Ended(Ended::Done);
        }
        Step::Continue
    }

    /// Invokes the function with a batch (records that pass the filters); `None` when no
    /// record passed.
    async fn invoke(&self, shard: &SourceShard, batch: Vec<SourceRecord>) -> Option<Invoked> {
        let records: Vec<SourceRecord> = batch
            .into_iter()
            .filter(|r| {
                let seq = shard.sequence_number(r);
                filter::keep(&self.filters, &r.partition_key, &seq, &r.data)
            })
            .collect();
        if records.is_empty() {
            return None;
        }
        let source = EventSource {
            stream_arn: &self.stream_arn,
            region: &self.region,
            role_arn: &self.role_arn,
            shard,
        };
        let mut event = kinesis_event(&source, &records);
        if let Some(w) = self.window(shard.index) {
            w.decorate(&mut event, &shard.shard_id(), &self.stream_arn, false);
        }
        let payload = Bytes::from(event.to_string());
        let outcome = match self.functions.invoke(&self.mapping.function, payload).await {
            Ok(outcome) => outcome,
            Err(e) => Outcome::error("Spate.FunctionUnavailable", e.message),
        };
        Some(Invoked {
            records,
            event,
            outcome,
        })
    }

    fn window(&self, shard: u32) -> Option<Window> {
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        windows.get(&shard).cloned()
    }

    fn absorb(&self, shard: u32, outcome: &Outcome) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = windows.get_mut(&shard) {
            w.absorb(outcome);
        }
    }

    /// Tumbling windows: ends the shard's open window if `records` (or, with none, the clock)
    /// moved past it, with its final invocation; opens the records' window; cuts the records
    /// at the window's edge (the position after the last record kept, if cut).
    async fn roll_window(
        &self,
        shard: &SourceShard,
        records: &mut Vec<SourceRecord>,
    ) -> Option<u64> {
        let secs = self.mapping.tumbling_window_secs;
        if secs == 0 {
            return None;
        }
        let now = (self.clock)();
        let open = self.window(shard.index);
        let next = records.first().map(|r| Window::of(r.arrival_ms, secs));
        let ends = match (&open, &next) {
            (Some(w), Some(n)) => n.start_ms != w.start_ms,
            (Some(w), None) => now >= w.end_ms,
            _ => false,
        };
        if let (true, Some(w)) = (ends, open) {
            let mut event = json!({ "Records": [] });
            w.decorate(&mut event, &shard.shard_id(), &self.stream_arn, true);
            let payload = Bytes::from(event.to_string());
            if let Ok(Outcome::FunctionError(e)) =
                self.functions.invoke(&self.mapping.function, payload).await
            {
                tracing::warn!(
                    "mapping {}: the final invocation of a window failed: {e}",
                    self.mapping.uuid
                );
            }
            self.windows
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&shard.index);
        }
        let next = next?;
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        windows.entry(shard.index).or_insert(next);
        drop(windows);
        cut_at_window(records, secs)
    }

    /// ParallelizationFactor above 1: records are split into `lanes` by partition key (one key
    /// always in the same lane, so its records stay in order) and the lanes run at once, each
    /// batch by batch. The shard's position moves only when every lane is done.
    async fn process_lanes(
        &self,
        shard: &SourceShard,
        records: Vec<SourceRecord>,
        lanes: usize,
        stop: &watch::Receiver<bool>,
    ) -> bool {
        let mut split: Vec<Vec<SourceRecord>> = vec![Vec::new(); lanes];
        for r in records {
            split[lane_of(&r.partition_key, lanes)].push(r);
        }
        let batch_size = self.mapping.batch_size as usize;
        let runs = split.into_iter().filter(|l| !l.is_empty()).map(|lane| {
            let mut stop = stop.clone();
            Box::pin(async move {
                for batch in lane.chunks(batch_size) {
                    if !self.process(shard, batch.to_vec(), &mut stop, false).await {
                        return false;
                    }
                }
                true
            })
        });
        join_all(runs.collect()).await.into_iter().all(|done| done)
    }

    /// Processes one batch to the end (invoked successfully, or discarded); false if stopped.
    /// `checkpoint_failures`: save the position of a failed record before retrying it (only
    /// right when no other batch of the shard is in flight).
    async fn process(
        &self,
        shard: &SourceShard,
        records: Vec<SourceRecord>,
        stop: &mut watch::Receiver<bool>,
        checkpoint_failures: bool,
    ) -> bool {
        let m = &self.mapping;
        // (records, retries so far): bisected halves go to the front, in order.
        let mut queue: VecDeque<(Vec<SourceRecord>, u32)> = VecDeque::from([(records, 0)]);
        while let Some((batch, retries)) = queue.pop_front() {
            let Some(invoked) = self.invoke(shard, batch).await else {
                continue;
            };
            let report = m.report_batch_item_failures;
            let failed = match verdict(&invoked.outcome, report, shard, &invoked.records) {
                Verdict::Success => {
                    self.report("OK");
                    self.absorb(shard.index, &invoked.outcome);
                    continue;
                }
                Verdict::FailedFrom(i) => invoked.records[i..].to_vec(),
                Verdict::Failed => invoked.records.clone(),
            };
            self.report("PROBLEM: Function call failed");
            if checkpoint_failures {
                self.save_position(shard.index, failed[0].counter).await;
            }
            match self.after_failure(&failed, retries) {
                AfterFailure::Bisect => {
                    // Splitting does not count against the retry quota.
                    let second = failed[failed.len() / 2..].to_vec();
                    let first = failed[..failed.len() / 2].to_vec();
                    queue.push_front((second, retries));
                    queue.push_front((first, retries));
                }
                AfterFailure::Discard(condition) => {
                    let discarded = self
                        .discard(shard, &failed, condition, retries + 1, &invoked, stop)
                        .await;
                    if !discarded {
                        return false;
                    }
                }
                AfterFailure::Retry => {
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

    /// What follows a failed invocation of `failed` after `retries` retries.
    fn after_failure(&self, failed: &[SourceRecord], retries: u32) -> AfterFailure {
        let m = &self.mapping;
        let oldest = failed.iter().map(|r| r.arrival_ms).min().unwrap_or(0);
        let too_old = m.maximum_record_age_secs >= 0
            && (self.clock)() - oldest > i64::from(m.maximum_record_age_secs) * 1000;
        if too_old {
            AfterFailure::Discard(Condition::RecordAgeExceeded)
        } else if m.bisect_on_error && failed.len() > 1 {
            AfterFailure::Bisect
        } else if m.maximum_retry_attempts >= 0 && retries >= m.maximum_retry_attempts as u32 {
            AfterFailure::Discard(Condition::RetryAttemptsExhausted)
        } else {
            AfterFailure::Retry
        }
    }

    /// Writes a discarded batch's record to the destination (retrying until it is written:
    /// a batch is never dropped silently) and moves past it; false if stopped.
    async fn discard(
        &self,
        shard: &SourceShard,
        failed: &[SourceRecord],
        condition: Condition,
        invocations: u32,
        invoked: &Invoked,
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
                    last: Some(&invoked.outcome),
                    now_ms: (self.clock)(),
                };
                let sent = failure::send(
                    destination,
                    &discarded,
                    Some(&invoked.event),
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

/// Where a shard reader is.
struct Cursor {
    position: u64,
    /// When the batching window of the records waiting now began.
    window_start: Option<Instant>,
    /// The shard's durable tail (absent if the shard is gone).
    tail: Option<watch::Receiver<u64>>,
}

enum Step {
    Continue,
    Ended(Ended),
}

fn stopped_if(stopped: bool) -> Step {
    if stopped {
        Step::Ended(Ended::Stopped)
    } else {
        Step::Continue
    }
}

/// A batch as invoked: the records that passed the filters, the event, the result.
struct Invoked {
    records: Vec<SourceRecord>,
    event: Value,
    outcome: Outcome,
}

enum AfterFailure {
    Bisect,
    Retry,
    Discard(Condition),
}

/// Waits for the shard's tail to move since the last read (or `deadline`, or an idle period);
/// whether stopped.
async fn wait_for_records(
    cursor: &mut Cursor,
    stop: &mut watch::Receiver<bool>,
    deadline: Option<Instant>,
) -> bool {
    let deadline = deadline.unwrap_or_else(|| Instant::now() + IDLE_WAIT);
    let moved = async {
        match cursor.tail.as_mut() {
            Some(tail) => {
                if tail.changed().await.is_err() {
                    std::future::pending::<()>().await
                }
            }
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = moved => false,
        _ = tokio::time::sleep_until(deadline) => false,
        _ = stop.changed() => true,
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

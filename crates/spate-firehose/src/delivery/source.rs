//! KinesisStreamAsSource: a pump per delivery stream copies the Kinesis stream's records into
//! the delivery stream's own log, from which the worker delivers them like put records.
//!
//! Shards are read parents before children (a child only once every parent it still has is
//! read to its end), shards that existed at DeliveryStartTimestamp from that time on, later ones
//! from their start. Each shard's position is persisted after the copied records are durable in
//! the log, so a crash loses nothing: records copied but not yet recorded are copied again
//! (at-least-once, as Firehose promises).

use super::process::KinesisMetadata;
use super::{DeliveryStatus, Statuses, Stop};
use crate::store::{Registry, SourceProgress};
use spate_log::{AppendRecord, RecordLog};
use spate_streams::reader::{first_of, readable, SourceShard};
use spate_streams::Kinesis;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Records one read takes at most (GetRecords' limit).
const READ_MAX_RECORDS: usize = 10_000;
/// Bytes one read takes at most.
const READ_MAX_BYTES: usize = 4 << 20;
/// How long an idle pump waits when nothing wakes it.
const IDLE_WAIT: Duration = Duration::from_secs(1);

pub(super) struct Pump {
    pub name: String,
    pub log_id: u64,
    /// The Kinesis stream's name and where reading starts (epoch ms).
    pub stream: String,
    pub start_ms: i64,
    pub kinesis: Arc<Kinesis>,
    pub registry: Arc<Registry>,
    pub log: Arc<dyn RecordLog>,
    pub statuses: Statuses,
}

impl Pump {
    pub(super) async fn run(self, mut stop: watch::Receiver<Stop>) {
        let mut progress = match self.registry.source_progress(&self.name) {
            Ok(p) => p.unwrap_or_default(),
            Err(e) => return self.report(Some(format!("reading source progress: {e}"))),
        };
        let mut changes = self.kinesis.source_changes();
        loop {
            if *stop.borrow_and_update() != Stop::Run {
                return;
            }
            let progressed = match self.pump_once(&mut progress).await {
                Ok(progressed) => {
                    self.report(None);
                    progressed
                }
                Err(e) => {
                    self.report(Some(format!("Reading Kinesis stream {}: {e}", self.stream)));
                    false
                }
            };
            if progressed {
                continue;
            }
            let mut tails = self.tails(&progress);
            let any_tail = async {
                match tails.as_mut_slice() {
                    [] => std::future::pending::<()>().await,
                    watches => {
                        let changed = watches.iter_mut().map(|w| Box::pin(w.changed()));
                        let _ = first_of(changed).await;
                    }
                }
            };
            tokio::select! {
                _ = changes.changed() => {}
                _ = any_tail => {}
                _ = stop.changed() => {}
                _ = tokio::time::sleep(IDLE_WAIT) => {}
            }
        }
    }

    /// Copies what is new in every readable shard; whether anything moved.
    async fn pump_once(&self, progress: &mut SourceProgress) -> Result<bool, String> {
        let (created_ms, shards) = self
            .kinesis
            .source_shards(&self.stream)
            .map_err(|e| e.message)?;
        if progress.stream_created_ms != created_ms {
            // First read, or the stream was deleted and created again: a new stream.
            *progress = SourceProgress {
                stream_created_ms: created_ms,
                ..SourceProgress::default()
            };
        }
        let mut progressed = false;
        let readable: Vec<SourceShard> = readable(&shards, &progress.done).cloned().collect();
        for shard in readable {
            let from = match progress.positions.get(&shard.index) {
                Some(&position) => position,
                None if shard.created_ms < self.start_ms => self
                    .kinesis
                    .source_seek(&self.stream, shard.index, self.start_ms)
                    .map_err(|e| e.message)?,
                None => 0,
            };
            let read = self
                .kinesis
                .source_read(
                    &self.stream,
                    shard.index,
                    from,
                    READ_MAX_RECORDS,
                    READ_MAX_BYTES,
                )
                .await
                .map_err(|e| e.message)?;
            if !read.records.is_empty() {
                // The Kinesis record's metadata rides in the log record's key, for the
                // transformation event's kinesisRecordMetadata.
                let appends = read.records.into_iter().map(|r| AppendRecord {
                    shard: self.log_id,
                    partition_key: KinesisMetadata::of(&shard, &r).encode(),
                    data: r.data,
                    sealed: false,
                });
                self.log
                    .append(appends.collect())
                    .await
                    .map_err(|e| format!("storing the records: {e}"))?;
            }
            let moved = read.next != from || read.ended;
            if read.ended {
                progress.done.insert(shard.index);
                progress.positions.remove(&shard.index);
            } else {
                progress.positions.insert(shard.index, read.next);
            }
            if moved {
                progressed = true;
                self.registry
                    .save_source_progress(&self.name, progress)
                    .await
                    .map_err(|e| e.message)?;
            }
        }
        Ok(progressed)
    }

    /// Durable-tail watches of the shards being read.
    fn tails(&self, progress: &SourceProgress) -> Vec<watch::Receiver<u64>> {
        let Ok((_, shards)) = self.kinesis.source_shards(&self.stream) else {
            return Vec::new();
        };
        readable(&shards, &progress.done)
            .filter_map(|s| self.kinesis.source_watch(&self.stream, s.index).ok())
            .collect()
    }

    fn report(&self, failure: Option<String>) {
        let mut statuses = self.statuses.lock().unwrap_or_else(|e| e.into_inner());
        let status: &mut DeliveryStatus = statuses.entry(self.name.clone()).or_default();
        if failure.is_some() || status.source_failure.is_some() {
            status.source_failure = failure;
        }
    }
}

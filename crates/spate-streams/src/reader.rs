//! Reading a stream from inside the process, for other services: Firehose's
//! KinesisStreamAsSource now, event source mappings later. A reader sees the stream's shards with
//! their lineage (so it can read parents before children), reads a shard by position, records
//! opened (encrypted streams included), and waits on the shard's durable tail. Reads count
//! against the shard's read traffic like GetRecords.

use crate::errors::{internal, log_error, not_found};
use crate::model::StreamName;
use crate::service::Kinesis;
use crate::store::Stream;
use spate_wire::ApiError;
use std::sync::Arc;
use tokio::sync::watch;

/// A shard as a reader needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceShard {
    pub index: u32,
    /// The shards whose records come first (one for a split child, two for a merged one).
    pub parents: Vec<u32>,
    pub created_ms: i64,
    /// Closed: every record is below this position.
    pub ending_counter: Option<u64>,
}

/// A record as a reader gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRecord {
    pub counter: u64,
    pub arrival_ms: i64,
    pub partition_key: String,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRead {
    pub records: Vec<SourceRecord>,
    /// Where the next read starts.
    pub next: u64,
    /// The shard is closed and everything in it has been read.
    pub ended: bool,
}

impl Kinesis {
    fn source_stream(&self, name: &str) -> Result<Arc<Stream>, ApiError> {
        let parsed = StreamName::parse(name).ok_or_else(|| not_found(&self.store.config, name))?;
        self.store.get(&parsed)
    }

    /// The stream's creation time (which tells one stream of a name from a later one) and its
    /// shards with their lineage.
    pub fn source_shards(&self, name: &str) -> Result<(i64, Vec<SourceShard>), ApiError> {
        let stream = self.source_stream(name)?;
        let shards = stream
            .record
            .shards
            .iter()
            .map(|s| SourceShard {
                index: s.index,
                parents: s.parent.into_iter().chain(s.adjacent_parent).collect(),
                created_ms: s.created_ms,
                ending_counter: s.ending_counter,
            })
            .collect();
        Ok((stream.record.created_ms, shards))
    }

    /// The position of the first record of the shard that arrived at or after `epoch_ms`.
    pub fn source_seek(&self, name: &str, index: u32, epoch_ms: i64) -> Result<u64, ApiError> {
        let stream = self.source_stream(name)?;
        let shard = stream
            .shard(index)
            .ok_or_else(|| missing_shard(name, index))?;
        self.records
            .log
            .seek_time(shard.log_id, epoch_ms)
            .map_err(log_error)
    }

    /// Reads the shard from `from`: at most `max_records` records and about `max_bytes`.
    pub async fn source_read(
        &self,
        name: &str,
        index: u32,
        from: u64,
        max_records: usize,
        max_bytes: usize,
    ) -> Result<SourceRead, ApiError> {
        let stream = self.source_stream(name)?;
        let shard = stream
            .shard(index)
            .cloned()
            .ok_or_else(|| missing_shard(name, index))?;
        let (records, now) = (self.records.clone(), self.store.now());
        let page = tokio::task::spawn_blocking(move || {
            records.read_page(&stream, shard, from, i64::MIN, max_records, max_bytes, now)
        })
        .await
        .map_err(internal)??;
        let out = page
            .batch
            .records()
            .enumerate()
            .map(|(i, r)| match page.opened.get(i).cloned().flatten() {
                Some((partition_key, data)) => SourceRecord {
                    counter: r.counter,
                    arrival_ms: r.arrival_ms,
                    partition_key,
                    data,
                },
                None => SourceRecord {
                    counter: r.counter,
                    arrival_ms: r.arrival_ms,
                    partition_key: r.partition_key.to_string(),
                    data: r.data.to_vec(),
                },
            })
            .collect();
        Ok(SourceRead {
            records: out,
            next: page.next_position(),
            ended: page.ends_shard(),
        })
    }

    /// Changes whenever the shard's durable tail moves.
    pub fn source_watch(&self, name: &str, index: u32) -> Result<watch::Receiver<u64>, ApiError> {
        let stream = self.source_stream(name)?;
        let shard = stream
            .shard(index)
            .ok_or_else(|| missing_shard(name, index))?;
        self.records.log.watch(shard.log_id).map_err(log_error)
    }

    /// Changes whenever any stream changes (a reshard closing and opening shards).
    pub fn source_changes(&self) -> watch::Receiver<u64> {
        self.store.changes()
    }
}

fn missing_shard(name: &str, index: u32) -> ApiError {
    internal(format!("stream {name} has no shard {index}"))
}

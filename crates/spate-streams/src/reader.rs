//! Reading a stream from inside the process, for other services: Firehose's
//! KinesisStreamAsSource now, event source mappings later. A reader sees the stream's shards with
//! their lineage (so it can read parents before children), reads a shard by position, records
//! opened (encrypted streams included), and waits on the shard's durable tail. Reads count
//! against the shard's read traffic like GetRecords.

use crate::errors::{internal, log_error, not_found};
use crate::model::{StreamName, StreamRef};
use crate::records::NewRecord;
use crate::sequence::SequenceNumber;
use crate::service::Kinesis;
use crate::store::Stream;
use spate_wire::ApiError;
use std::collections::BTreeSet;
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

    /// Registered enhanced fan-out consumers of the stream.
    pub fn consumer_count(&self, name: &str) -> Result<usize, ApiError> {
        let stream = self.source_stream(name)?;
        Ok(stream.consumers(self.store.now()).count())
    }

    /// The shard's durable tail: where a reader starting at LATEST begins.
    pub fn source_tail(&self, name: &str, index: u32) -> Result<u64, ApiError> {
        Ok(*self.source_watch(name, index)?.borrow())
    }

    /// Writes one record to the stream, as PutRecord does (on-failure destinations).
    pub async fn source_put(
        &self,
        name: &str,
        partition_key: &str,
        data: Vec<u8>,
    ) -> Result<(), ApiError> {
        let parsed = StreamName::parse(name).ok_or_else(|| not_found(&self.store.config, name))?;
        let record = NewRecord {
            data,
            partition_key: partition_key.to_string(),
            explicit_hash_key: None,
        };
        self.records
            .put_record(&StreamRef::Name(parsed), record, None)
            .await
            .map(|_| ())
    }
}

impl SourceShard {
    /// The shard's id as AWS writes it.
    pub fn shard_id(&self) -> String {
        format!("shardId-{:012}", self.index)
    }

    /// The sequence number of a record of this shard.
    pub fn sequence_number(&self, record: &SourceRecord) -> String {
        SequenceNumber {
            shard_created_secs: u64::try_from(self.created_ms / 1000).unwrap_or(0),
            shard_index: self.index,
            counter: record.counter,
            arrival_ms: record.arrival_ms,
        }
        .text()
        .as_str()
        .to_string()
    }
}

/// The shards a reader may read now: not done, and every parent still in the stream done
/// (parents before children).
pub fn readable<'a>(
    shards: &'a [SourceShard],
    done: &'a BTreeSet<u32>,
) -> impl Iterator<Item = &'a SourceShard> + 'a {
    shards.iter().filter(move |s| {
        !done.contains(&s.index)
            && s.parents
                .iter()
                .all(|p| done.contains(p) || !shards.iter().any(|other| other.index == *p))
    })
}

/// Resolves when the first of `futures` does.
pub async fn first_of<F: std::future::Future + Unpin>(futures: impl Iterator<Item = F>) {
    let mut futures: Vec<F> = futures.collect();
    std::future::poll_fn(|cx| {
        for f in futures.iter_mut() {
            if std::pin::Pin::new(f).poll(cx).is_ready() {
                return std::task::Poll::Ready(());
            }
        }
        std::task::Poll::Pending
    })
    .await
}

fn missing_shard(name: &str, index: u32) -> ApiError {
    internal(format!("stream {name} has no shard {index}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(index: u32, parents: &[u32]) -> SourceShard {
        SourceShard {
            index,
            parents: parents.to_vec(),
            created_ms: 0,
            ending_counter: None,
        }
    }

    #[test]
    fn parents_are_read_before_children() {
        // 0 split into 1 and 2; 1 and 2 merged into 3.
        let shards = vec![
            shard(0, &[]),
            shard(1, &[0]),
            shard(2, &[0]),
            shard(3, &[1, 2]),
        ];
        let ids = |done: &[u32]| -> Vec<u32> {
            let done: BTreeSet<u32> = done.iter().copied().collect();
            readable(&shards, &done).map(|s| s.index).collect()
        };
        assert_eq!(ids(&[]), vec![0]);
        assert_eq!(ids(&[0]), vec![1, 2]);
        assert_eq!(ids(&[0, 1]), vec![2]);
        assert_eq!(ids(&[0, 1, 2]), vec![3]);
        // A parent past retention no longer exists: its children are readable.
        assert_eq!(
            readable(&shards[1..], &BTreeSet::new())
                .map(|s| s.index)
                .collect::<Vec<_>>(),
            vec![1, 2]
        );
    }
}

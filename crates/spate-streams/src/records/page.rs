//! One page of records as GetRecords and SubscribeToShard return it.

use crate::output::sequence;
use crate::sequence::{SequenceNumber, SequenceText};
use spate_catalog::ShardRecord;
use spate_log::ReadBatch;
use spate_wire::kinesis::*;
use spate_wire::{BlobRef, Timestamp};

/// One page of GetRecords, owning the bytes its records borrow.
pub struct RecordsPage {
    pub(crate) shard: ShardRecord,
    pub(crate) batch: ReadBatch,
    /// Partition key and data of each sealed record, opened (`None` for plain records; empty
    /// when the page holds no sealed record).
    pub(crate) opened: Vec<Option<(String, Vec<u8>)>>,
    pub(crate) next_shard_iterator: Option<String>,
    pub(crate) millis_behind_latest: i64,
    pub(crate) child_shards: Option<Vec<ChildShard>>,
}

impl RecordsPage {
    pub fn output(&self) -> GetRecordsOutput<'_, SequenceText> {
        GetRecordsOutput {
            records: self
                .batch
                .records()
                .enumerate()
                .map(|(i, r)| {
                    let opened = self.opened.get(i).and_then(Option::as_ref);
                    let (partition_key, data, encryption_type) = match opened {
                        Some((key, data)) => (key.as_str(), data.as_slice(), Some("KMS")),
                        None => (r.partition_key, r.data, None),
                    };
                    Record {
                        sequence_number: sequence(&self.shard, r.counter, r.arrival_ms).text(),
                        approximate_arrival_timestamp: Timestamp::from_millis(r.arrival_ms),
                        data: BlobRef(data),
                        partition_key,
                        encryption_type,
                    }
                })
                .collect(),
            next_shard_iterator: self.next_shard_iterator.clone(),
            millis_behind_latest: self.millis_behind_latest,
            child_shards: self.child_shards.clone(),
        }
    }

    pub fn record_count(&self) -> usize {
        self.batch.len()
    }

    /// Bytes of partition keys and data read for this page.
    pub fn payload_bytes(&self) -> usize {
        self.batch.payload_bytes()
    }

    /// Where reading continues after this page.
    pub fn next_position(&self) -> u64 {
        self.batch.next_counter
    }

    /// This page ends a closed shard (it names the children).
    pub fn ends_shard(&self) -> bool {
        self.child_shards.is_some()
    }

    /// The page as a `SubscribeToShardEvent`. The continuation is the last record's sequence
    /// number; with no records it is the number just before the next position (see
    /// `SequenceNumber::before`), so AFTER_SEQUENCE_NUMBER with it resumes exactly there.
    pub fn event(&self) -> SubscribeToShardEvent<'_, SequenceText> {
        let out = self.output();
        let continuation = (!self.ends_shard()).then(|| {
            match self.batch.records().last() {
                Some(r) => sequence(&self.shard, r.counter, r.arrival_ms),
                None => SequenceNumber::before(
                    (self.shard.created_ms / 1000) as u64,
                    self.shard.index,
                    self.batch.next_counter,
                ),
            }
            .to_string()
        });
        SubscribeToShardEvent {
            records: out.records,
            continuation_sequence_number: continuation,
            millis_behind_latest: out.millis_behind_latest,
            child_shards: out.child_shards,
        }
    }
}

//! Data-plane operations: putting records, iterators, getting records.

use crate::config::limits;
use crate::hashing::{hash_key, parse_hash_key};
use crate::iterator::ShardIterator;
use crate::registry::{log_error, Kinesis, Stream};
use crate::sequence::{SequenceNumber, SequenceText};
use crate::traffic::{hash_slice, WriteOffer};
use crate::validation::{self as check, format_shard_id, parse_shard_id};
use spate_catalog::ShardRecord;
use spate_log::{AppendRecord, ReadBatch};
use spate_wire::kinesis::*;
use spate_wire::validate::{is_hash_key, is_sequence_number, Validator};
use spate_wire::{ApiError, BlobRef, ErrorKind, Timestamp};
use std::sync::Arc;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidArgument, message)
}

fn sequence(shard: &ShardRecord, counter: u64, arrival_ms: i64) -> SequenceNumber {
    SequenceNumber {
        shard_created_secs: (shard.created_ms / 1000) as u64,
        shard_index: shard.index,
        counter,
        arrival_ms,
    }
}

const HASH_KEY_PATTERN: &str = "0|([1-9]\\d{0,38})";
const SEQUENCE_PATTERN: &str = "0|([1-9]\\d{0,128})";

/// Checks one record's members; `at` is the member path prefix (`""` or `records.3.member.`).
fn validate_entry(
    v: &mut Validator,
    at: &str,
    data: Option<usize>,
    key: Option<&str>,
    hash: Option<&str>,
    max_data: usize,
) {
    v.blob_length(data, &format!("{at}data"), max_data)
        .length(
            key,
            &format!("{at}partitionKey"),
            1,
            limits::PARTITION_KEY_MAX_CHARS,
        )
        .pattern(
            hash,
            &format!("{at}explicitHashKey"),
            HASH_KEY_PATTERN,
            is_hash_key,
        );
}

/// The same rules as [`validate_entry`] plus presence, without building any message.
fn entry_is_valid(e: &PutRecordsEntry, max_data: usize) -> bool {
    let key_chars = e.partition_key.as_deref().map(|k| k.chars().count());
    e.data.as_ref().is_some_and(|d| d.0.len() <= max_data)
        && key_chars.is_some_and(|n| (1..=limits::PARTITION_KEY_MAX_CHARS).contains(&n))
        && e.explicit_hash_key.as_deref().is_none_or(is_hash_key)
}

/// The hash key of a record: its explicit hash key, or the MD5 of its partition key.
fn record_hash(partition_key: &str, explicit: Option<&str>) -> Result<u128, ApiError> {
    match explicit {
        Some(text) => parse_hash_key(text).ok_or_else(|| {
            invalid(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {text}"
            ))
        }),
        None => Ok(hash_key(partition_key)),
    }
}

/// One page of GetRecords, owning the bytes its records borrow.
pub struct RecordsPage {
    shard: ShardRecord,
    batch: ReadBatch,
    /// Partition key and data of each sealed record, opened (`None` for plain records; empty
    /// when the page holds no sealed record).
    opened: Vec<Option<(String, Vec<u8>)>>,
    next_shard_iterator: Option<String>,
    millis_behind_latest: i64,
    child_shards: Option<Vec<ChildShard>>,
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

impl Kinesis {
    fn max_data_bytes(stream: &Stream) -> usize {
        (stream.record.max_record_size_kib as usize) * 1024
    }

    pub async fn put_record(&self, input: PutRecordInput) -> Result<PutRecordOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.required(&input.data, "data")
            .required(&input.partition_key, "partitionKey");
        validate_entry(
            &mut v,
            "",
            None,
            input.partition_key.as_deref(),
            input.explicit_hash_key.as_deref(),
            0,
        );
        v.pattern(
            input.sequence_number_for_ordering.as_deref(),
            "sequenceNumberForOrdering",
            SEQUENCE_PATTERN,
            is_sequence_number,
        );
        v.blob_length(
            input.data.as_ref().map(|d| d.0.len()),
            "data",
            10 * 1024 * 1024,
        );
        v.finish()?;
        // Routing and submitting happen under the gate (see `reshard`); waiting does not.
        let gate = self.gate.read().await;
        let stream = self.lookup_writable(input.stream_name(), input.stream_arn())?;
        let data = input.data.unwrap_or_default().0;
        Validator::new()
            .blob_length(Some(data.len()), "data", Self::max_data_bytes(&stream))
            .finish()?;
        let partition_key = input.partition_key.unwrap_or_default();
        let hash = record_hash(&partition_key, input.explicit_hash_key.as_deref())?;
        let shard = stream
            .route(hash)
            .ok_or_else(|| crate::registry::internal("no open shard covers a hash key"))?
            .clone();
        let offer = WriteOffer {
            shard: shard.log_id,
            slice: hash_slice(shard.starting_hash_key, shard.ending_hash_key, hash),
            bytes: data.len() + partition_key.len(),
        };
        let mut admitted = Vec::with_capacity(1);
        self.traffic
            .admit_writes(self.now(), &[offer], &mut admitted);
        if admitted.first() != Some(&true) {
            return Err(ApiError::new(
                ErrorKind::ProvisionedThroughputExceeded,
                self.write_throttled_message(&stream, &shard),
            ));
        }
        let sealer = self.sealer(&stream)?;
        let (partition_key, data, sealed) = sealer.seal(partition_key, data)?;
        let appended = self.log.append(vec![AppendRecord {
            shard: shard.log_id,
            partition_key,
            data,
            sealed,
        }]);
        drop(gate);
        let acks = appended.await.map_err(log_error)?;
        let ack = acks
            .first()
            .ok_or_else(|| crate::registry::internal("log returned no ack"))?;
        Ok(PutRecordOutput {
            shard_id: format_shard_id(shard.index),
            sequence_number: sequence(&shard, ack.counter, ack.arrival_ms).to_string(),
            encryption_type: sealer.encryption_type(),
        })
    }

    pub async fn put_records(&self, input: PutRecordsInput) -> Result<PutRecordsOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.required(&input.records, "records");
        let entries = input.records.unwrap_or_default();
        v.count(
            Some(entries.len()),
            "records",
            1,
            limits::MAX_RECORDS_PER_PUT,
        );
        // Member paths are only formatted for entries that break a rule: the valid (common) case
        // allocates nothing per record.
        for (i, e) in entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !entry_is_valid(e, 10 * 1024 * 1024))
        {
            let at = format!("records.{}.member.", i + 1);
            v.required(&e.data, &format!("{at}data"))
                .required(&e.partition_key, &format!("{at}partitionKey"));
            let len = e.data.as_ref().map(|d| d.0.len());
            validate_entry(
                &mut v,
                &at,
                len,
                e.partition_key.as_deref(),
                e.explicit_hash_key.as_deref(),
                10 * 1024 * 1024,
            );
        }
        v.finish()?;
        let gate = self.gate.read().await;
        let stream =
            self.lookup_writable(input.stream_name.as_deref(), input.stream_arn.as_deref())?;
        let max_data = Self::max_data_bytes(&stream);
        let mut v = Validator::new();
        let mut total = 0usize;
        for (i, e) in entries.iter().enumerate() {
            let len = e.data.as_ref().map_or(0, |d| d.0.len());
            total += len + e.partition_key.as_ref().map_or(0, String::len);
            if len > max_data {
                v.blob_length(
                    Some(len),
                    &format!("records.{}.member.data", i + 1),
                    max_data,
                );
            }
        }
        v.finish()?;
        if total > limits::MAX_PUT_RECORDS_BYTES.max(max_data) {
            return Err(invalid(format!(
                "Records size exceeds {} MB limit",
                limits::MAX_PUT_RECORDS_BYTES.max(max_data) >> 20
            )));
        }
        let mut shards: Vec<&ShardRecord> = Vec::with_capacity(entries.len());
        let mut offers = Vec::with_capacity(entries.len());
        for e in &entries {
            let partition_key = e.partition_key.as_deref().unwrap_or_default();
            let hash = record_hash(partition_key, e.explicit_hash_key.as_deref())?;
            let shard = stream
                .route(hash)
                .ok_or_else(|| crate::registry::internal("no open shard covers a hash key"))?;
            shards.push(shard);
            offers.push(WriteOffer {
                shard: shard.log_id,
                slice: hash_slice(shard.starting_hash_key, shard.ending_hash_key, hash),
                bytes: e.data.as_ref().map_or(0, |d| d.0.len()) + partition_key.len(),
            });
        }
        let mut admitted = Vec::with_capacity(entries.len());
        self.traffic
            .admit_writes(self.now(), &offers, &mut admitted);
        let sealer = self.sealer(&stream)?;
        let records: Vec<AppendRecord> = entries
            .into_iter()
            .zip(&offers)
            .zip(&admitted)
            .filter(|(_, &ok)| ok)
            .map(|((e, offer), _)| {
                let (partition_key, data, sealed) = sealer.seal(
                    e.partition_key.unwrap_or_default(),
                    e.data.unwrap_or_default().0,
                )?;
                Ok(AppendRecord {
                    shard: offer.shard,
                    partition_key,
                    data,
                    sealed,
                })
            })
            .collect::<Result<_, ApiError>>()?;
        let appended = self.log.append(records);
        drop(gate);
        let acks = appended.await.map_err(log_error)?;
        // Results in request order: admitted records take their acks in turn.
        let mut acks = acks.iter();
        let mut failed = 0;
        let records = shards
            .iter()
            .zip(&admitted)
            .map(|(shard, &ok)| match (ok, acks.next().filter(|_| ok)) {
                (true, Some(ack)) => PutRecordsResultEntry {
                    sequence_number: Some(sequence(shard, ack.counter, ack.arrival_ms).to_string()),
                    shard_id: Some(format_shard_id(shard.index)),
                    error_code: None,
                    error_message: None,
                },
                _ => {
                    failed += 1;
                    PutRecordsResultEntry {
                        sequence_number: None,
                        shard_id: None,
                        error_code: Some("ProvisionedThroughputExceededException"),
                        error_message: Some(self.write_throttled_message(&stream, shard)),
                    }
                }
            })
            .collect();
        Ok(PutRecordsOutput {
            failed_record_count: failed,
            records,
            encryption_type: sealer.encryption_type(),
        })
    }

    fn write_throttled_message(&self, stream: &Stream, shard: &ShardRecord) -> String {
        format!(
            "Rate exceeded for shard {} in stream {} under account {}.",
            format_shard_id(shard.index),
            stream.record.name,
            self.config.account_id
        )
    }

    fn shard_not_found(&self, stream: &Stream, shard_id: &str) -> ApiError {
        ApiError::new(
            ErrorKind::ResourceNotFound,
            format!(
                "Shard {shard_id} in stream {} under account {} does not exist",
                stream.record.name, self.config.account_id
            ),
        )
    }

    pub fn get_shard_iterator(
        &self,
        input: GetShardIteratorInput,
    ) -> Result<GetShardIteratorOutput, ApiError> {
        let kind = input.shard_iterator_type.as_deref();
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.required(&input.shard_id, "shardId")
            .required(&input.shard_iterator_type, "shardIteratorType");
        check::shard_id(&mut v, input.shard_id.as_deref(), "shardId");
        v.one_of(
            kind,
            "shardIteratorType",
            &[
                "AT_SEQUENCE_NUMBER",
                "AFTER_SEQUENCE_NUMBER",
                "TRIM_HORIZON",
                "LATEST",
                "AT_TIMESTAMP",
            ],
        );
        v.pattern(
            input.starting_sequence_number.as_deref(),
            "startingSequenceNumber",
            SEQUENCE_PATTERN,
            is_sequence_number,
        );
        v.finish()?;
        let stream = self.lookup_writable(input.stream_name(), input.stream_arn())?;
        let shard_id = input.shard_id.as_deref().unwrap_or_default();
        let shard = parse_shard_id(shard_id)
            .and_then(|i| stream.shard(i))
            .ok_or_else(|| self.shard_not_found(&stream, shard_id))?;
        let now = self.now();
        let (position, min_arrival_ms) = self.start_position(
            &stream,
            shard,
            kind.unwrap_or_default(),
            input.starting_sequence_number.as_deref(),
            input.timestamp,
            "GetShardIterator",
        )?;
        let iterator = ShardIterator {
            stream_name: stream.record.name.clone(),
            stream_created_ms: stream.record.created_ms,
            shard_index: shard.index,
            position,
            min_arrival_ms,
            issued_ms: now,
        };
        Ok(GetShardIteratorOutput {
            shard_iterator: iterator.encode(),
        })
    }

    /// Where a reader starting at `kind` begins: (position, skip records that arrived before).
    /// Shared by GetShardIterator and SubscribeToShard (`operation` names the caller in errors).
    pub(crate) fn start_position(
        &self,
        stream: &Stream,
        shard: &ShardRecord,
        kind: &str,
        sequence_number: Option<&str>,
        timestamp: Option<Timestamp>,
        operation: &str,
    ) -> Result<(u64, i64), ApiError> {
        let shard_id = format_shard_id(shard.index);
        let by_sequence = matches!(kind, "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER");
        if by_sequence != sequence_number.is_some()
            || (kind == "AT_TIMESTAMP") != timestamp.is_some()
        {
            return Err(invalid(
                "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) AT_TIMESTAMP and Timestamp or (3) TRIM_HORIZON or LATEST and no StartingSequenceNumber or Timestamp.",
            ));
        }
        let now = self.now();
        let min_arrival_ms = match (kind, timestamp) {
            ("AT_TIMESTAMP", Some(t)) => t.epoch_millis,
            _ => i64::MIN,
        };
        let position = match kind {
            "TRIM_HORIZON" => {
                self.log
                    .tail(shard.log_id)
                    .map_err(log_error)?
                    .first_counter
            }
            "LATEST" => self.log.tail(shard.log_id).map_err(log_error)?.next_counter,
            "AT_TIMESTAMP" => {
                let at = timestamp.map_or(now, |t| t.epoch_millis);
                self.log.seek_time(shard.log_id, at).map_err(log_error)?
            }
            _ => {
                let text = sequence_number.unwrap_or_default();
                let seq = SequenceNumber::parse(text).ok_or_else(|| {
                    invalid(format!(
                        "StartingSequenceNumber {text} used in {operation} on shard {shard_id} in stream {} under account {} is invalid.",
                        stream.record.name, self.config.account_id
                    ))
                })?;
                if seq.shard_index != shard.index {
                    return Err(invalid(format!(
                        "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with {}",
                        format_shard_id(seq.shard_index),
                        shard_id
                    )));
                }
                // AFTER a "before" number (a continuation with nothing delivered) is the
                // position it stands before.
                seq.counter + u64::from(kind == "AFTER_SEQUENCE_NUMBER" && !seq.is_before())
            }
        };
        Ok((position, min_arrival_ms))
    }

    pub fn get_records(&self, input: GetRecordsInput) -> Result<RecordsPage, ApiError> {
        let mut v = Validator::new();
        v.required(&input.shard_iterator, "shardIterator");
        v.length(input.shard_iterator.as_deref(), "shardIterator", 1, 512);
        v.range(input.limit, "limit", 1, limits::MAX_GET_RECORDS);
        check::stream_arn(&mut v, input.stream_arn.as_deref(), "streamARN");
        v.finish()?;
        let iterator = ShardIterator::decode(input.shard_iterator.as_deref().unwrap_or_default())
            .ok_or_else(|| invalid("Invalid ShardIterator."))?;
        let now = self.now();
        if now - iterator.issued_ms > self.config.iterator_ttl_ms {
            return Err(ApiError::new(
                ErrorKind::ExpiredIterator,
                format!(
                    "Iterator expired. The iterator was created at time {} while right now it is {} which is further in the future than the tolerated delay of {} milliseconds.",
                    iterator.issued_ms, now, self.config.iterator_ttl_ms
                ),
            ));
        }
        let stream = self
            .lookup(Some(&iterator.stream_name), None)
            .ok()
            .filter(|s| s.record.created_ms == iterator.stream_created_ms)
            .ok_or_else(|| self.not_found(&iterator.stream_name))?;
        let shard = stream
            .shard(iterator.shard_index)
            .ok_or_else(|| self.shard_not_found(&stream, &format_shard_id(iterator.shard_index)))?
            .clone();
        if !self.traffic.admit_read(now, shard.log_id) {
            return Err(ApiError::new(
                ErrorKind::ProvisionedThroughputExceeded,
                format!(
                    "Rate exceeded for Shard - {}/{}/{}",
                    self.config.account_id,
                    stream.record.name,
                    format_shard_id(shard.index)
                ),
            ));
        }
        let limit = input.limit.unwrap_or(limits::MAX_GET_RECORDS) as usize;
        let mut page = self.read_page(
            &stream,
            shard,
            iterator.position,
            iterator.min_arrival_ms,
            limit,
            limits::MAX_GET_RECORDS_BYTES,
            now,
        )?;
        if page.child_shards.is_none() {
            page.next_shard_iterator = Some(
                ShardIterator {
                    position: page.next_position(),
                    issued_ms: now,
                    ..iterator
                }
                .encode(),
            );
        }
        Ok(page)
    }

    /// Reads records of `shard` from `position` (skipping those that arrived before
    /// `min_arrival_ms` or are past retention), opening sealed ones. A closed shard read to its
    /// end gets its ChildShards.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn read_page(
        &self,
        stream: &Stream,
        shard: ShardRecord,
        position: u64,
        min_arrival_ms: i64,
        limit: usize,
        max_bytes: usize,
        now: i64,
    ) -> Result<RecordsPage, ApiError> {
        let end = shard.ending_counter.unwrap_or(u64::MAX);
        let limit = limit.min(end.saturating_sub(position).min(usize::MAX as u64) as usize);
        let batch = if limit == 0 {
            ReadBatch::empty(position)
        } else {
            self.log
                .read(
                    shard.log_id,
                    position,
                    limit,
                    max_bytes,
                    min_arrival_ms.max(now - stream.retention_ms()),
                )
                .map_err(log_error)?
        };
        self.traffic
            .record_read(now, shard.log_id, batch.payload_bytes());
        let tail = self.log.tail(shard.log_id).map_err(log_error)?;
        let caught_up = batch.next_counter >= tail.next_counter.min(end);
        let millis_behind_latest = match batch.last_arrival_ms() {
            _ if caught_up => 0,
            Some(arrival) => (now - arrival).max(0),
            None => 0,
        };
        let closed_and_drained = batch.next_counter >= end;
        let child_shards = closed_and_drained.then(|| self.child_shards(stream, shard.index));
        // Plain pages (the common case) allocate nothing here.
        let opened = if batch.records().any(|r| r.sealed) {
            batch
                .records()
                .map(|r| {
                    r.sealed
                        .then(|| self.open_sealed(stream, r.data))
                        .transpose()
                })
                .collect::<Result<_, ApiError>>()?
        } else {
            Vec::new()
        };
        Ok(RecordsPage {
            shard,
            batch,
            opened,
            next_shard_iterator: None,
            millis_behind_latest,
            child_shards,
        })
    }

    fn child_shards(&self, stream: &Stream, parent: u32) -> Vec<ChildShard> {
        stream
            .record
            .shards
            .iter()
            .filter(|s| s.parent == Some(parent) || s.adjacent_parent == Some(parent))
            .map(|s| ChildShard {
                shard_id: format_shard_id(s.index),
                parent_shards: s
                    .parent
                    .into_iter()
                    .chain(s.adjacent_parent)
                    .map(format_shard_id)
                    .collect(),
                hash_key_range: HashKeyRange {
                    starting_hash_key: s.starting_hash_key.to_string(),
                    ending_hash_key: s.ending_hash_key.to_string(),
                },
            })
            .collect()
    }

    /// The log, for push delivery and tools.
    pub fn record_log(&self) -> Arc<dyn spate_log::RecordLog> {
        self.log.clone()
    }
}

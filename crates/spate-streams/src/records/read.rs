//! Reading records: shard iterators, GetRecords, and the page reader SubscribeToShard shares.
//! Segment reads run on blocking threads, never on the async workers.

use super::{Records, RecordsPage};
use crate::config::limits;
use crate::errors::{internal, invalid, log_error, shard_not_found, shard_not_found_for_reshard};
use crate::iterator::ShardIterator;
use crate::model::{ShardId, StartingPosition, StreamArn, StreamName, StreamRef};
use crate::output::child_shards;
use crate::sequence::SequenceNumber;
use crate::store::{Status, Stream};
use spate_catalog::ShardRecord;
use spate_log::ReadBatch;
use spate_wire::kinesis::GetShardIteratorOutput;
use spate_wire::{ApiError, ErrorKind};
use std::sync::Arc;

/// GetShardIterator, validated.
#[derive(Debug, Clone)]
pub struct GetShardIterator {
    pub stream: StreamRef,
    /// The shard id as given.
    pub shard_id: String,
    /// One of [`StartingPosition::TYPES`].
    pub iterator_type: String,
    pub sequence_number: Option<String>,
    /// Epoch milliseconds.
    pub timestamp_ms: Option<i64>,
}

const MUST_SPECIFY: &str = "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber.";

/// The starting position an iterator type and its members describe, with AWS's answers for
/// the combinations that do not fit. With a sequence number, every type but
/// AT_SEQUENCE_NUMBER starts after it (AT_TIMESTAMP too, as AWS does).
pub fn starting_position(
    iterator_type: &str,
    sequence_number: Option<&str>,
    timestamp_ms: Option<i64>,
) -> Result<StartingPosition, ApiError> {
    match (iterator_type, sequence_number.filter(|s| !s.is_empty())) {
        ("TRIM_HORIZON" | "LATEST", Some(_)) => Err(invalid(format!(
            "{MUST_SPECIFY} Request specified {iterator_type} and also a StartingSequenceNumber."
        ))),
        ("AT_SEQUENCE_NUMBER", Some(seq)) => Ok(StartingPosition::AtSequenceNumber(seq.into())),
        (_, Some(seq)) => Ok(StartingPosition::AfterSequenceNumber(seq.into())),
        ("TRIM_HORIZON", None) => Ok(StartingPosition::TrimHorizon),
        ("LATEST", None) => Ok(StartingPosition::Latest),
        ("AT_TIMESTAMP", None) => timestamp_ms.map(StartingPosition::AtTimestamp).ok_or_else(|| {
            invalid("Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.")
        }),
        (other, None) => Err(invalid(format!(
            "{MUST_SPECIFY} Request specified {other} and no StartingSequenceNumber."
        ))),
    }
}

impl Records {
    /// The stream and shard a read names, checked in AWS's order: a shard id that names no
    /// shard at all first, then the stream (a missing one is reported as a missing shard), then
    /// the shard (a CREATING stream has none yet).
    fn readable_shard(
        &self,
        stream: &StreamRef,
        shard_id: &str,
    ) -> Result<(Arc<Stream>, ShardRecord), ApiError> {
        let config = &self.store.config;
        let id = ShardId::resolve(shard_id)
            .ok_or_else(|| shard_not_found_for_reshard(config, stream.name(), shard_id))?;
        let missing = || shard_not_found(config, stream.name(), &id.to_string());
        let found = self.store.resolve(stream).map_err(|e| match e.kind {
            ErrorKind::ResourceNotFound => missing(),
            _ => e,
        })?;
        let shard = found
            .shard(id.0)
            .filter(|_| found.status(self.store.now()) != Status::Creating)
            .cloned()
            .ok_or_else(missing)?;
        Ok((found, shard))
    }

    pub fn get_shard_iterator(
        &self,
        request: &GetShardIterator,
    ) -> Result<GetShardIteratorOutput, ApiError> {
        let (stream, shard) = self.readable_shard(&request.stream, &request.shard_id)?;
        let start = starting_position(
            &request.iterator_type,
            request.sequence_number.as_deref(),
            request.timestamp_ms,
        )?;
        let (position, min_arrival_ms) =
            self.start_position(&stream, &shard, &start, "GetShardIterator")?;
        let iterator = ShardIterator {
            stream_name: stream.record.name.clone(),
            stream_created_ms: stream.record.created_ms,
            shard_index: shard.index,
            position,
            min_arrival_ms,
            issued_ms: self.store.now(),
        };
        Ok(GetShardIteratorOutput {
            shard_iterator: iterator.encode(),
        })
    }

    /// Where a reader starting at `start` begins: (position, skip records that arrived before).
    /// Shared by GetShardIterator and SubscribeToShard (`operation` names the caller in errors).
    pub(crate) fn start_position(
        &self,
        stream: &Stream,
        shard: &ShardRecord,
        start: &StartingPosition,
        operation: &str,
    ) -> Result<(u64, i64), ApiError> {
        let tail = || self.log.tail(shard.log_id).map_err(log_error);
        match start {
            StartingPosition::TrimHorizon => Ok((tail()?.first_counter, i64::MIN)),
            StartingPosition::Latest => Ok((tail()?.next_counter, i64::MIN)),
            StartingPosition::AtTimestamp(at) => {
                let now = self.store.now();
                if *at > now {
                    return Err(invalid(format!(
                        "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: {at}, currentTimestampInMillis: {now}"
                    )));
                }
                let position = self.log.seek_time(shard.log_id, *at).map_err(log_error)?;
                Ok((position, *at))
            }
            StartingPosition::AtSequenceNumber(text)
            | StartingPosition::AfterSequenceNumber(text) => {
                let after = matches!(start, StartingPosition::AfterSequenceNumber(_));
                let seq = self.sequence_of(stream, shard, text, operation)?;
                // AFTER a "before" number (a continuation with nothing delivered) is the
                // position it stands before.
                Ok((seq.counter + u64::from(after && !seq.is_before()), i64::MIN))
            }
        }
    }

    /// A starting sequence number, which must be one of this shard's.
    fn sequence_of(
        &self,
        stream: &Stream,
        shard: &ShardRecord,
        text: &str,
        operation: &str,
    ) -> Result<SequenceNumber, ApiError> {
        let shard_id = ShardId(shard.index);
        let seq = SequenceNumber::parse(text).ok_or_else(|| {
            invalid(format!(
                "StartingSequenceNumber {text} used in {operation} on shard {shard_id} in stream {} under account {} is invalid.",
                stream.record.name, self.store.config.account_id
            ))
        })?;
        if seq.shard_index != shard.index {
            return Err(invalid(format!(
                "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with {shard_id}",
                ShardId(seq.shard_index)
            )));
        }
        Ok(seq)
    }

    /// The checks GetRecords makes before reading (DryRun): a live iterator of this stream
    /// whose shard exists.
    pub fn check_iterator(
        &self,
        iterator: &str,
        stream_arn: Option<&StreamArn>,
    ) -> Result<(), ApiError> {
        let iterator = self.live_iterator(iterator, self.store.now())?;
        if stream_arn.is_some_and(|arn| arn.name != iterator.stream_name) {
            return Err(invalid(
                "The StreamARN does not match the stream of the ShardIterator.",
            ));
        }
        self.iterator_shard(&iterator).map(|_| ())
    }

    pub async fn get_records(
        self: &Arc<Self>,
        iterator: &str,
        limit: usize,
        stream_arn: Option<&StreamArn>,
    ) -> Result<RecordsPage, ApiError> {
        let config = &self.store.config;
        let now = self.store.now();
        let iterator = self.live_iterator(iterator, now)?;
        if stream_arn.is_some_and(|arn| arn.name != iterator.stream_name) {
            return Err(invalid(
                "The StreamARN does not match the stream of the ShardIterator.",
            ));
        }
        let (stream, shard) = self.iterator_shard(&iterator)?;
        if !self.traffic.admit_read(now, shard.log_id) {
            return Err(ApiError::new(
                ErrorKind::ProvisionedThroughputExceeded,
                format!(
                    "Rate exceeded for Shard - {}/{}/{}",
                    config.account_id,
                    stream.record.name,
                    ShardId(shard.index)
                ),
            ));
        }
        let this = self.clone();
        let mut page = tokio::task::spawn_blocking(move || {
            let position = (iterator.position, iterator.min_arrival_ms);
            let page = this.read_page(
                &stream,
                shard,
                position.0,
                position.1,
                limit,
                limits::MAX_GET_RECORDS_BYTES,
                now,
            );
            page.map(|p| (p, iterator))
        })
        .await
        .map_err(internal)?
        .map(|(mut page, iterator)| {
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
            page
        })?;
        page.millis_behind_latest = page.millis_behind_latest.max(0);
        Ok(page)
    }

    /// The stream and shard an iterator reads. AWS names the shard, not the stream, when an
    /// iterator's stream is gone. An iterator is bound to its stream's incarnation: one of a
    /// deleted stream does not read a new stream of the same name.
    fn iterator_shard(
        &self,
        iterator: &ShardIterator,
    ) -> Result<(Arc<Stream>, ShardRecord), ApiError> {
        let missing = || {
            let shard_id = ShardId(iterator.shard_index).to_string();
            shard_not_found(&self.store.config, &iterator.stream_name, &shard_id)
        };
        let stream = StreamName::parse(&iterator.stream_name)
            .and_then(|name| self.store.get(&name).ok())
            .filter(|s| s.record.created_ms == iterator.stream_created_ms)
            .ok_or_else(missing)?;
        let shard = stream
            .shard(iterator.shard_index)
            .cloned()
            .ok_or_else(missing)?;
        Ok((stream, shard))
    }

    /// A shard iterator that decodes and has not expired.
    fn live_iterator(&self, text: &str, now: i64) -> Result<ShardIterator, ApiError> {
        let config = &self.store.config;
        let iterator =
            ShardIterator::decode(text).ok_or_else(|| invalid("Invalid ShardIterator."))?;
        if now - iterator.issued_ms > config.iterator_ttl_ms {
            return Err(ApiError::new(
                ErrorKind::ExpiredIterator,
                format!(
                    "Iterator expired. The iterator was created at time {} while right now it is {} which is further in the future than the tolerated delay of {} milliseconds.",
                    amz_utc(iterator.issued_ms),
                    amz_utc(now),
                    config.iterator_ttl_ms
                ),
            ));
        }
        Ok(iterator)
    }

    /// Reads records of `shard` from `position` (skipping those that arrived before
    /// `min_arrival_ms` or are past retention), opening sealed ones. A closed shard read to its
    /// end gets its ChildShards. Blocking: file reads.
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
        let limit = limit.min(usize::try_from(end.saturating_sub(position)).unwrap_or(usize::MAX));
        let batch = if limit == 0 {
            ReadBatch::empty(position)
        } else {
            let oldest = min_arrival_ms.max(now - stream.retention_ms());
            self.log
                .read(shard.log_id, position, limit, max_bytes, oldest)
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
        let child_shards = closed_and_drained.then(|| child_shards(stream, shard.index));
        // Plain pages (the common case) allocate nothing here.
        let opened = if batch.records().any(|r| r.sealed) {
            batch
                .records()
                .map(|r| {
                    r.sealed
                        .then(|| self.keyring.open_sealed(stream, r.data))
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
}

/// A time as AWS writes it in messages: `Thu Jan 22 01:22:02 UTC 2015`.
fn amz_utc(epoch_ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(epoch_ms) {
        Ok(t) => t.strftime("%a %b %d %H:%M:%S UTC %Y").to_string(),
        Err(_) => epoch_ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_aws_writes_them() {
        assert_eq!(amz_utc(1_421_889_722_000), "Thu Jan 22 01:22:02 UTC 2015");
        assert_eq!(amz_utc(0), "Thu Jan 01 00:00:00 UTC 1970");
        assert_eq!(amz_utc(1_796_164_850_729), "Tue Dec 01 22:40:50 UTC 2026");
    }

    #[test]
    fn iterator_types_and_members_combine_as_on_aws() {
        assert_eq!(
            starting_position("LATEST", None, None),
            Ok(StartingPosition::Latest)
        );
        assert_eq!(
            starting_position("AT_TIMESTAMP", Some("5"), Some(1)),
            Ok(StartingPosition::AfterSequenceNumber("5".into()))
        );
        let e = starting_position("AT_SEQUENCE_NUMBER", None, None).unwrap_err();
        assert!(e
            .message
            .ends_with("Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber."));
        let e = starting_position("LATEST", Some("5"), None).unwrap_err();
        assert!(e
            .message
            .ends_with("Request specified LATEST and also a StartingSequenceNumber."));
        let e = starting_position("AT_TIMESTAMP", None, None).unwrap_err();
        assert!(e
            .message
            .starts_with("Must specify timestampInMillis parameter"));
    }
}

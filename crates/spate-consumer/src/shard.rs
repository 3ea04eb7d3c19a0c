//! One leased shard: records from the checkpoint on (GetRecords polling), de-aggregated and
//! filtered to the shard's hash keys, handed to the processor; at the shard's end, child
//! leases are created and the processor must checkpoint SHARD_END.

use crate::lease::{Lease, LeaseTable, LATEST, SHARD_END, TRIM_HORIZON};
use crate::{
    Checkpointer, ConsumerConfig, ConsumerError, InitialPosition, Record, RecordProcessor,
};
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use aws_sdk_kinesis::types::ShardIteratorType;
use bytes::Bytes;
use tokio::sync::watch;

/// Why a shard consumer is asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Running,
    /// Another worker took the lease.
    LeaseLost,
    /// The scheduler shuts down gracefully.
    Shutdown,
}

/// How a shard consumer ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    ShardEnd,
    Stopped,
}

pub(crate) struct ShardContext {
    pub kinesis: aws_sdk_kinesis::Client,
    pub table: LeaseTable,
    pub config: ConsumerConfig,
    pub lease: Lease,
    /// With enhanced fan-out: the registered consumer's ARN.
    pub consumer_arn: Option<String>,
}

/// A child shard: id, parents, hash key range.
pub(crate) type Child = (String, Vec<String>, (u128, u128));

/// The children a closed shard's last page or event names.
pub(crate) fn children_of(children: &[aws_sdk_kinesis::types::ChildShard]) -> Vec<Child> {
    children
        .iter()
        .map(|c| {
            let range = c.hash_key_range();
            let parse = |s: Option<&str>| s.and_then(|s| s.parse::<u128>().ok()).unwrap_or(0);
            let range = (
                parse(range.map(|r| r.starting_hash_key())),
                parse(range.map(|r| r.ending_hash_key())),
            );
            (c.shard_id().to_string(), c.parent_shards().to_vec(), range)
        })
        .collect()
}

/// Where reading starts for a lease, and the checkpointed position whose record (or
/// sub-records up to the checkpointed one) is already done.
pub(crate) fn start_of(lease: &Lease, initial: InitialPosition) -> (String, Option<(String, u64)>) {
    let start = match (lease.checkpoint.as_str(), initial) {
        (LATEST, _) => LATEST.to_string(),
        (TRIM_HORIZON, InitialPosition::Latest) if lease.parents.is_empty() => LATEST.to_string(),
        (other, _) => other.to_string(),
    };
    let resume = (start != TRIM_HORIZON && start != LATEST)
        .then(|| (start.clone(), lease.checkpoint_sub_sequence));
    (start, resume)
}

/// The user records of `records` not already done at `resume`.
pub(crate) fn fresh(
    records: &[aws_sdk_kinesis::types::Record],
    lease: &Lease,
    resume: &Option<(String, u64)>,
) -> Vec<Record> {
    let mut out = Vec::new();
    for r in records {
        for user in user_records(r, lease) {
            let done = resume.as_ref().is_some_and(|(seq, sub)| {
                user.sequence_number == *seq
                    && (!user.aggregated || user.sub_sequence_number <= *sub)
            });
            if !done {
                out.push(user);
            }
        }
    }
    out
}

pub(crate) fn kinesis_error<E: ProvideErrorMetadata + std::fmt::Display>(e: E) -> ConsumerError {
    ConsumerError::Kinesis(format!(
        "{}: {}",
        e.code().unwrap_or("error"),
        e.message().unwrap_or(&e.to_string())
    ))
}

/// The user records of one Kinesis record, as the KCL hands them out.
fn user_records(record: &aws_sdk_kinesis::types::Record, lease: &Lease) -> Vec<Record> {
    let data = record.data().as_ref();
    let sequence = record.sequence_number().to_string();
    let arrival = record
        .approximate_arrival_timestamp()
        .and_then(|t| t.to_millis().ok());
    if !spate_kpl::is_aggregated(data) {
        return vec![Record {
            partition_key: record.partition_key().unwrap_or_default().to_string(),
            data: Bytes::copy_from_slice(data),
            sequence_number: sequence,
            sub_sequence_number: 0,
            aggregated: false,
            approximate_arrival_ms: arrival,
        }];
    }
    let Ok(users) = spate_kpl::deaggregate(data) else {
        tracing::warn!(
            "{}: an aggregated record does not decode; skipped",
            lease.shard_id
        );
        return Vec::new();
    };
    users
        .into_iter()
        .enumerate()
        .filter(|(_, u)| {
            let hash = match &u.explicit_hash_key {
                Some(h) => h.parse::<u128>().unwrap_or(0),
                None => spate_kpl::hash_key(&u.partition_key),
            };
            // After a reshard a stale producer may have put sub-records on a shard that does not
            // own them: they were (or will be) delivered on their own shard.
            (lease.starting_hash_key..=lease.ending_hash_key).contains(&hash)
        })
        .map(|(i, u)| Record {
            partition_key: u.partition_key,
            data: Bytes::from(u.data),
            sequence_number: sequence.clone(),
            sub_sequence_number: i as u64,
            aggregated: true,
            approximate_arrival_ms: arrival,
        })
        .collect()
}

impl ShardContext {
    async fn iterator(&self, checkpoint: &str) -> Result<Option<String>, ConsumerError> {
        let request = self
            .kinesis
            .get_shard_iterator()
            .stream_name(&self.config.stream_name)
            .shard_id(&self.lease.shard_id);
        let request = match checkpoint {
            TRIM_HORIZON => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            LATEST => request.shard_iterator_type(ShardIteratorType::Latest),
            sequence => request
                .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                .starting_sequence_number(sequence),
        };
        let out = request.send().await.map_err(kinesis_error)?;
        Ok(out.shard_iterator().map(str::to_string))
    }

    pub(crate) fn checkpointer(&self) -> Checkpointer {
        Checkpointer {
            table: self.table.clone(),
            shard_id: self.lease.shard_id.clone(),
            owner: self.config.worker_id.clone(),
        }
    }

    /// Creates the leases of the shard's children (parents recorded, from TRIM_HORIZON).
    pub(crate) async fn create_children(&self, children: &[Child]) -> Result<(), ConsumerError> {
        for (child, parents, range) in children {
            self.table
                .create(&Lease::new(child, parents.clone(), *range, TRIM_HORIZON))
                .await?;
        }
        let ids: Vec<String> = children.iter().map(|(c, _, _)| c.clone()).collect();
        self.table.set_children(&self.lease.shard_id, &ids).await?;
        Ok(())
    }
}

/// Tells the processor why it stops, if it must: `Some` ends the consumer.
pub(crate) async fn stopping<P: RecordProcessor>(
    signal: Stop,
    processor: &mut P,
    checkpointer: &Checkpointer,
) -> Option<Ended> {
    match signal {
        Stop::Running => None,
        Stop::LeaseLost => {
            processor.lease_lost().await;
            Some(Ended::Stopped)
        }
        Stop::Shutdown => {
            processor.shutdown_requested(checkpointer).await;
            Some(Ended::Stopped)
        }
    }
}

/// Where a polling reader is: its iterator, what is already done, the last record seen.
struct Cursor {
    start: String,
    resume: Option<(String, u64)>,
    last_seen: Option<String>,
}

/// The next page, or `None` when the iterator must be replaced (`iterator` is updated).
async fn next_page(
    ctx: &ShardContext,
    cursor: &mut Cursor,
    iterator: &mut Option<String>,
    it: String,
) -> Result<Option<aws_sdk_kinesis::operation::get_records::GetRecordsOutput>, ConsumerError> {
    let sent = ctx
        .kinesis
        .get_records()
        .shard_iterator(&it)
        .limit(ctx.config.max_records)
        .send()
        .await;
    match sent {
        Ok(page) => Ok(Some(page)),
        Err(e) if e.code() == Some("ExpiredIteratorException") => {
            let from = cursor
                .last_seen
                .clone()
                .unwrap_or_else(|| cursor.start.clone());
            // The last record seen was handed out: skip it when reading again from it.
            if let Some(seen) = &cursor.last_seen {
                cursor.resume = Some((seen.clone(), u64::MAX));
            }
            *iterator = ctx.iterator(&from).await?;
            Ok(None)
        }
        Err(e) if e.code() == Some("ProvisionedThroughputExceededException") => {
            tokio::time::sleep(ctx.config.idle_time_between_reads).await;
            *iterator = Some(it);
            Ok(None)
        }
        Err(e) => Err(kinesis_error(e)),
    }
}

/// Runs `processor` on the shard until its end or until told to stop.
pub(crate) async fn consume<P: RecordProcessor>(
    ctx: ShardContext,
    mut processor: P,
    mut stop: watch::Receiver<Stop>,
) -> Result<Ended, ConsumerError> {
    let checkpointer = ctx.checkpointer();
    let lease = &ctx.lease;
    if lease.checkpoint == SHARD_END {
        return Ok(Ended::ShardEnd);
    }
    processor.initialize(&lease.shard_id).await;
    if ctx.consumer_arn.is_some() {
        return crate::fanout::consume(&ctx, processor, stop).await;
    }
    let (start, resume) = start_of(lease, ctx.config.initial_position);
    let mut iterator = ctx.iterator(&start).await?;
    let mut cursor = Cursor {
        start,
        resume,
        last_seen: None,
    };
    while let Some(it) = iterator.take() {
        let signal = *stop.borrow();
        if let Some(ended) = stopping(signal, &mut processor, &checkpointer).await {
            return Ok(ended);
        }
        let Some(page) = next_page(&ctx, &mut cursor, &mut iterator, it).await? else {
            continue;
        };
        let records = fresh(page.records(), lease, &cursor.resume);
        if let Some(last) = page.records().last() {
            cursor.last_seen = Some(last.sequence_number().to_string());
            cursor.resume = None;
        }
        if !records.is_empty() {
            processor.process_records(&records, &checkpointer).await;
        }
        iterator = page.next_shard_iterator().map(str::to_string);
        if iterator.is_none() {
            ctx.create_children(&children_of(page.child_shards()))
                .await?;
            processor.shard_ended(&checkpointer).await;
            return Ok(Ended::ShardEnd);
        }
        if page.records().is_empty() {
            tokio::select! {
                _ = tokio::time::sleep(ctx.config.idle_time_between_reads) => {}
                _ = stop.changed() => {}
            }
        }
    }
    Ok(Ended::Stopped)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_kinesis::primitives::{Blob, DateTime};

    #[test]
    fn sub_records_outside_the_shard_are_skipped_and_numbered_by_position() {
        let keys = ["a", "b", "c", "d"];
        let users: Vec<spate_kpl::UserRecord> = keys
            .iter()
            .map(|k| spate_kpl::UserRecord {
                partition_key: k.to_string(),
                explicit_hash_key: None,
                data: k.as_bytes().to_vec(),
            })
            .collect();
        let record = aws_sdk_kinesis::types::Record::builder()
            .sequence_number("49")
            .partition_key("a")
            .data(Blob::new(spate_kpl::aggregate(&users)))
            .approximate_arrival_timestamp(DateTime::from_secs(1))
            .build()
            .unwrap();
        let lower_half = Lease::new("s", Vec::new(), (0, u128::MAX / 2), TRIM_HORIZON);
        let kept: Vec<(String, u64)> = user_records(&record, &lower_half)
            .into_iter()
            .map(|r| (r.partition_key, r.sub_sequence_number))
            .collect();
        let expected: Vec<(String, u64)> = keys
            .iter()
            .enumerate()
            .filter(|(_, k)| spate_kpl::hash_key(k) <= u128::MAX / 2)
            .map(|(i, k)| (k.to_string(), i as u64))
            .collect();
        assert_eq!(kept, expected);
        assert!(
            !kept.is_empty() && kept.len() < keys.len(),
            "the keys straddle the halves: {kept:?}"
        );
    }
}

//! Data-plane operations at the edge.

use super::check::{self, int, text};
use super::Reply;
use crate::config::limits;
use crate::model::{StartingPosition, StreamArn};
use crate::records::{GetShardIterator, NewRecord};
use crate::service::Kinesis;
use spate_wire::codec::{decode, encode};
use spate_wire::kinesis::*;
use spate_wire::service::Call;
use spate_wire::validate::Validator;
use spate_wire::ApiError;
use std::sync::Arc;

/// The largest record the edge lets through; each stream's MaxRecordSizeInKiB applies after.
const DATA_MAX_BYTES: usize = 10 << 20;

/// What PutRecords shows for each entry of a list that breaks a rule, as AWS shows it.
const ENTRY_SHOWN: &str = "com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310";

/// The answer to a request with DryRun set that would have succeeded.
fn dry_run() -> ApiError {
    ApiError::new(
        spate_wire::ErrorKind::DryRunOperation,
        "The request would have succeeded, but the DryRun parameter was specified.",
    )
}

fn flag(b: &Option<spate_wire::Bool>) -> bool {
    b.as_ref().is_some_and(|b| b.0)
}

pub async fn put_record(k: &Arc<Kinesis>, i: PutRecordInput) -> Result<PutRecordOutput, ApiError> {
    let mut v = Validator::new();
    check::sequence_number(
        &mut v,
        text(&i.sequence_number_for_ordering),
        "sequenceNumberForOrdering",
    );
    v.required(&i.partition_key, "partitionKey");
    v.length(
        text(&i.partition_key),
        "partitionKey",
        1,
        limits::PARTITION_KEY_MAX_CHARS,
    );
    check::hash_key(&mut v, text(&i.explicit_hash_key), "explicitHashKey");
    v.required(&i.data, "data");
    v.blob_length(i.data.as_ref().map(|d| d.0.len()), "data", DATA_MAX_BYTES);
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.finish()?;
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    if flag(&i.dry_run) {
        k.records.check_writable(&stream).await?;
        return Err(dry_run());
    }
    let record = NewRecord {
        data: i.data.map(|d| d.0).unwrap_or_default(),
        partition_key: i.partition_key.map(|k| k.0).unwrap_or_default(),
        explicit_hash_key: i.explicit_hash_key.map(|h| h.0),
    };
    let ordering = text(&i.sequence_number_for_ordering);
    k.records.put_record(&stream, record, ordering).await
}

/// The same rules as [`validate_entry`], without building any message (the common case).
fn entry_is_valid(e: &PutRecordsEntry) -> bool {
    let key_chars = text(&e.partition_key).map(|k| k.chars().count());
    e.data.as_ref().is_some_and(|d| d.0.len() <= DATA_MAX_BYTES)
        && key_chars.is_some_and(|n| (1..=limits::PARTITION_KEY_MAX_CHARS).contains(&n))
        && text(&e.explicit_hash_key).is_none_or(spate_wire::validate::is_hash_key)
}

fn validate_entry(v: &mut Validator, i: usize, e: &PutRecordsEntry) {
    let at = |m: &str| format!("records.{}.member.{m}", i + 1);
    v.required(&e.partition_key, &at("partitionKey"));
    v.length(
        text(&e.partition_key),
        &at("partitionKey"),
        1,
        limits::PARTITION_KEY_MAX_CHARS,
    );
    check::hash_key(v, text(&e.explicit_hash_key), &at("explicitHashKey"));
    v.required(&e.data, &at("data"));
    v.blob_length(
        e.data.as_ref().map(|d| d.0.len()),
        &at("data"),
        DATA_MAX_BYTES,
    );
}

pub async fn put_records(
    k: &Arc<Kinesis>,
    i: PutRecordsInput,
) -> Result<PutRecordsOutput, ApiError> {
    let entries: Option<Vec<PutRecordsEntry>> =
        i.records.map(|l| l.0.into_iter().map(|e| e.0).collect());
    let mut v = Validator::new();
    v.required(&entries, "records");
    if let Some(entries) = &entries {
        let shown = || spate_wire::validate::render_list(entries.iter().map(|_| ENTRY_SHOWN));
        v.count(
            Some(entries.len()),
            shown,
            "records",
            1,
            limits::MAX_RECORDS_PER_PUT,
        );
        // Member paths are only formatted for entries that break a rule: the valid (common)
        // case allocates nothing per record.
        for (n, e) in entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !entry_is_valid(e))
        {
            validate_entry(&mut v, n, e);
        }
    }
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.finish()?;
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    if flag(&i.dry_run) {
        k.records.check_writable(&stream).await?;
        return Err(dry_run());
    }
    let records = entries
        .unwrap_or_default()
        .into_iter()
        .map(|e| NewRecord {
            data: e.data.map(|d| d.0).unwrap_or_default(),
            partition_key: e.partition_key.map(|k| k.0).unwrap_or_default(),
            explicit_hash_key: e.explicit_hash_key.map(|h| h.0),
        })
        .collect();
    k.records.put_records(&stream, records).await
}

pub async fn get_shard_iterator(
    k: &Arc<Kinesis>,
    i: GetShardIteratorInput,
) -> Result<GetShardIteratorOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.shard_id, "shardId");
    check::shard_id(&mut v, text(&i.shard_id), "shardId");
    v.required(&i.shard_iterator_type, "shardIteratorType");
    v.one_of(
        text(&i.shard_iterator_type),
        "shardIteratorType",
        &StartingPosition::TYPES,
    );
    check::sequence_number(
        &mut v,
        text(&i.starting_sequence_number),
        "startingSequenceNumber",
    );
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.finish()?;
    let request = GetShardIterator {
        stream: check::stream_ref(&i.stream_name, &i.stream_arn)?,
        shard_id: text(&i.shard_id).unwrap_or_default().to_string(),
        iterator_type: text(&i.shard_iterator_type).unwrap_or_default().to_string(),
        sequence_number: text(&i.starting_sequence_number).map(String::from),
        timestamp_ms: i.timestamp.map(|t| t.epoch_millis),
    };
    // DryRun: every check runs (an iterator is made and thrown away), nothing is returned.
    let made = k.records.get_shard_iterator(&request)?;
    if flag(&i.dry_run) {
        return Err(dry_run());
    }
    Ok(made)
}

/// GetRecords encodes straight from the page's buffer (records borrow it).
pub async fn get_records(k: &Arc<Kinesis>, call: &Call) -> Reply {
    let result = async {
        let i: GetRecordsInput = decode(call.encoding, &call.body)?;
        let mut v = Validator::new();
        v.range(int(&i.limit), "limit", 1, limits::MAX_GET_RECORDS);
        v.required(&i.shard_iterator, "shardIterator");
        v.length(text(&i.shard_iterator), "shardIterator", 1, 512);
        check::stream_arn(&mut v, text(&i.stream_arn), "streamARN");
        v.finish()?;
        let limit = int(&i.limit).unwrap_or(limits::MAX_GET_RECORDS) as usize;
        let arn = text(&i.stream_arn).and_then(StreamArn::parse);
        let iterator = text(&i.shard_iterator).unwrap_or_default();
        if flag(&i.dry_run) {
            // The iterator is checked (expiry, stream, shard); nothing is read.
            k.records.check_iterator(iterator, arn.as_ref())?;
            return Err(dry_run());
        }
        let page = k.records.get_records(iterator, limit, arn.as_ref()).await?;
        Ok::<_, ApiError>(encode(call.encoding, &page.output()))
    }
    .await;
    Reply::from(result)
}

//! Receiving, acknowledging, changing visibility and restoring, on both sides of a queue.

use super::{check_queue_arn, text};
use crate::errors::internal;
use crate::queue::EntryResult;
use crate::service::Queues;
use crate::state::{HandleError, Side};
use serde::{Deserialize, Serialize};
use spate_wire::blob::Blob;
use spate_wire::timestamp::Timestamp;
use spate_wire::validate::Validator;
use spate_wire::{ApiError, Int, List, Str, Struct};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveInput {
    #[serde(rename = "QueueARN")]
    queue_arn: Option<Str>,
    limit: Option<Int>,
    wait_time_seconds: Option<Int>,
    visibility_timeout_seconds: Option<Int>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveOutput {
    queue_records: Vec<QueueRecordOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct QueueRecordOut {
    receipt_handle: String,
    record_id: String,
    partition_key: String,
    data: Blob,
    approximate_arrival_timestamp: Timestamp,
    first_receive_timestamp: Timestamp,
    receive_count: u32,
}

pub async fn receive(
    q: &Arc<Queues>,
    i: ReceiveInput,
    side: Side,
) -> Result<ReceiveOutput, ApiError> {
    let mut v = Validator::new();
    check_queue_arn(&mut v, &i.queue_arn);
    let limit = i.limit.as_ref().map(|x| x.0);
    let wait = i.wait_time_seconds.as_ref().map(|x| x.0);
    let visibility = i.visibility_timeout_seconds.as_ref().map(|x| x.0);
    v.range(limit, "limit", 1, 10);
    v.range(wait, "waitTimeSeconds", 1, 20);
    v.range(visibility, "visibilityTimeoutSeconds", 0, 43_200);
    v.finish()?;
    let queue = q.get(text(&i.queue_arn).unwrap_or_default()).await?;
    let visibility = visibility.map_or(queue.record().visibility_secs, |x| x as u32);
    let wait = Duration::from_secs(wait.unwrap_or(0) as u64);
    let got = queue
        .receive(side, limit.unwrap_or(1) as usize, wait, visibility)
        .await
        .map_err(internal)?;
    let queue_records = got
        .into_iter()
        .map(|d| QueueRecordOut {
            receipt_handle: d.handle,
            record_id: d.record_id,
            partition_key: d.body.partition_key,
            data: Blob(d.body.data),
            approximate_arrival_timestamp: Timestamp::from_millis(d.body.arrival_ms),
            first_receive_timestamp: Timestamp::from_millis(d.entry.first_receive_ms),
            receive_count: d.entry.receives,
        })
        .collect();
    Ok(ReceiveOutput { queue_records })
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EntriesInput {
    #[serde(rename = "QueueARN")]
    queue_arn: Option<Str>,
    entries: Option<List<Struct<EntryInput>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EntryInput {
    receipt_handle: Option<Str>,
    visibility_timeout_seconds: Option<Int>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EntriesOutput {
    successful: Vec<Successful>,
    failed: Vec<Failed>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Successful {
    receipt_handle: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Failed {
    receipt_handle: String,
    error_code: &'static str,
    error_message: &'static str,
}

/// Checks the entries (1 to 10, each with a handle and, for visibility, a timeout).
fn entries(i: &EntriesInput, with_visibility: bool) -> Result<Vec<(String, i64)>, ApiError> {
    let mut v = Validator::new();
    check_queue_arn(&mut v, &i.queue_arn);
    v.required(&i.entries, "entries");
    let list: Vec<&EntryInput> = i
        .entries
        .iter()
        .flat_map(|l| l.0.iter().map(|s| &s.0))
        .collect();
    v.count(Some(list.len()), || "[…]".into(), "entries", 1, 10);
    for e in &list {
        v.required(&e.receipt_handle, "entries.member.receiptHandle");
        v.length(
            text(&e.receipt_handle),
            "entries.member.receiptHandle",
            1,
            1024,
        );
        if with_visibility {
            v.required(
                &e.visibility_timeout_seconds,
                "entries.member.visibilityTimeoutSeconds",
            );
            let t = e.visibility_timeout_seconds.as_ref().map(|x| x.0);
            v.range(t, "entries.member.visibilityTimeoutSeconds", 0, 43_200);
        }
    }
    v.finish()?;
    Ok(list
        .iter()
        .map(|e| {
            let handle = text(&e.receipt_handle).unwrap_or_default().to_string();
            (
                handle,
                e.visibility_timeout_seconds.as_ref().map_or(0, |x| x.0),
            )
        })
        .collect())
}

fn output(handles: Vec<String>, results: Vec<EntryResult>) -> EntriesOutput {
    let mut out = EntriesOutput {
        successful: Vec::new(),
        failed: Vec::new(),
    };
    for (receipt_handle, result) in handles.into_iter().zip(results) {
        match result {
            Ok(()) => out.successful.push(Successful { receipt_handle }),
            Err(HandleError::Invalid) => out.failed.push(Failed {
                receipt_handle,
                error_code: "InvalidReceiptHandle",
                error_message: "The receipt handle is not valid: the record was acknowledged, received again since, or the handle was never issued by this queue.",
            }),
            Err(HandleError::WrongSide) => out.failed.push(Failed {
                receipt_handle,
                error_code: "InvalidReceiptHandle",
                error_message: "The receipt handle belongs to the other side of the queue (its records or its dead-letter records).",
            }),
        }
    }
    out
}

pub async fn acknowledge(
    q: &Arc<Queues>,
    i: EntriesInput,
    side: Side,
) -> Result<EntriesOutput, ApiError> {
    let list = entries(&i, false)?;
    let queue = q.get(text(&i.queue_arn).unwrap_or_default()).await?;
    let handles: Vec<String> = list.into_iter().map(|(h, _)| h).collect();
    let results = queue
        .apply_handles(&handles, |state, key, generation, _| {
            state.acknowledge(side, key, generation)
        })
        .await
        .map_err(internal)?;
    Ok(output(handles, results))
}

pub async fn visibility(
    q: &Arc<Queues>,
    i: EntriesInput,
    side: Side,
) -> Result<EntriesOutput, ApiError> {
    let list = entries(&i, true)?;
    let queue = q.get(text(&i.queue_arn).unwrap_or_default()).await?;
    let (handles, timeouts): (Vec<String>, Vec<i64>) = list.into_iter().unzip();
    let mut next = timeouts.into_iter();
    let results = queue
        .apply_handles(&handles, |state, key, generation, now| {
            let secs = next.next().unwrap_or(0);
            state.set_visibility(side, key, generation, now + secs * 1000)
        })
        .await
        .map_err(internal)?;
    Ok(output(handles, results))
}

pub async fn restore(q: &Arc<Queues>, i: EntriesInput) -> Result<EntriesOutput, ApiError> {
    let list = entries(&i, false)?;
    let queue = q.get(text(&i.queue_arn).unwrap_or_default()).await?;
    let handles: Vec<String> = list.into_iter().map(|(h, _)| h).collect();
    let results = queue
        .apply_handles(&handles, |state, key, generation, now| {
            state.restore(key, generation, now)
        })
        .await
        .map_err(internal)?;
    Ok(output(handles, results))
}

//! PutRecord and PutRecordBatch.

use super::check::{self, text};
use crate::errors::invalid;
use crate::ingest::slow_down;
use crate::service::Firehose;
use spate_wire::firehose::*;
use spate_wire::validate::{render_list, Validator};
use spate_wire::ApiError;
use std::sync::Arc;

/// A record's data holds at most 1,000 KiB.
pub const RECORD_MAX_BYTES: usize = 1_024_000;
/// PutRecordBatch: at most 500 records and 4 MiB of data.
pub const BATCH_MAX_RECORDS: usize = 500;
pub const BATCH_MAX_BYTES: usize = 4 << 20;

pub async fn put_record(f: &Arc<Firehose>, i: PutRecordInput) -> Result<PutRecordOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.delivery_stream_name, "deliveryStreamName");
    check::stream_name(&mut v, text(&i.delivery_stream_name), "deliveryStreamName");
    v.required(&i.record, "record");
    if let Some(record) = &i.record {
        v.required(&record.data, "record.data");
        let len = record.data.as_ref().map(|d| d.0.len());
        v.blob_length(len, "record.data", RECORD_MAX_BYTES);
    }
    v.finish()?;
    let name = check::name_of(&i.delivery_stream_name)?;
    let data = i
        .record
        .and_then(|r| r.0.data)
        .map(|d| d.0)
        .unwrap_or_default();
    let mut accepted = f.put(&name, vec![data]).await?;
    let record_id = accepted.record_ids.pop().flatten().ok_or_else(slow_down)?;
    Ok(PutRecordOutput {
        record_id,
        encrypted: accepted.encrypted,
    })
}

pub async fn put_record_batch(
    f: &Arc<Firehose>,
    i: PutRecordBatchInput,
) -> Result<PutRecordBatchOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.delivery_stream_name, "deliveryStreamName");
    check::stream_name(&mut v, text(&i.delivery_stream_name), "deliveryStreamName");
    v.required(&i.records, "records");
    if let Some(records) = &i.records {
        let shown = || render_list(records.0.iter().map(|_| "Record"));
        v.count(
            Some(records.0.len()),
            shown,
            "records",
            1,
            BATCH_MAX_RECORDS,
        );
        for (n, record) in records.0.iter().enumerate() {
            let member = format!("records.{}.member.data", n + 1);
            v.required(&record.data, &member);
            v.blob_length(
                record.data.as_ref().map(|d| d.0.len()),
                &member,
                RECORD_MAX_BYTES,
            );
        }
    }
    v.finish()?;
    let name = check::name_of(&i.delivery_stream_name)?;
    let records: Vec<Vec<u8>> = i
        .records
        .map(|l| {
            l.0.into_iter()
                .map(|r| r.0.data.map(|d| d.0).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    if records.iter().map(Vec::len).sum::<usize>() > BATCH_MAX_BYTES {
        return Err(invalid("Records size exceeds 4 MB limit"));
    }
    let accepted = f.put(&name, records).await?;
    let failed = accepted.record_ids.iter().filter(|id| id.is_none()).count();
    let entry = |id: Option<String>| match id {
        Some(id) => PutRecordBatchResponseEntry {
            record_id: Some(id),
            error_code: None,
            error_message: None,
        },
        None => PutRecordBatchResponseEntry {
            record_id: None,
            error_code: Some("ServiceUnavailableException"),
            error_message: Some("Slow down."),
        },
    };
    Ok(PutRecordBatchOutput {
        failed_put_count: failed,
        encrypted: accepted.encrypted,
        request_responses: accepted.record_ids.into_iter().map(entry).collect(),
    })
}

//! Discarded batches: the invocation record Lambda writes to an on-failure destination (shard,
//! sequence range, arrival times, condition, the function's error), to an S3 bucket (with the
//! whole event as `payload`, under `aws/lambda/<mapping>/<shard>/YYYY/MM/DD/...`) or, as a
//! Spate extension, to a Kinesis stream.

use crate::functions::invoke::Outcome;
use crate::ids;
use crate::model::FailureDestination;
use bytes::Bytes;
use serde_json::{json, Value};
use spate_objects::{ObjectStore, PutObject};
use spate_streams::reader::{SourceRecord, SourceShard};
use spate_streams::Kinesis;
use std::sync::Arc;

/// Why a batch was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    RetryAttemptsExhausted,
    RecordAgeExceeded,
}

impl Condition {
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::RetryAttemptsExhausted => "RetryAttemptsExhausted",
            Condition::RecordAgeExceeded => "RecordAgeExceeded",
        }
    }
}

pub struct Discarded<'a> {
    pub mapping_uuid: &'a str,
    pub function_arn: &'a str,
    pub stream_arn: &'a str,
    pub shard: &'a SourceShard,
    pub records: &'a [SourceRecord],
    pub condition: Condition,
    pub attempts: u32,
    pub last: Option<&'a Outcome>,
    pub now_ms: i64,
}

fn iso_ms(epoch_ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(epoch_ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => epoch_ms.to_string(),
    }
}

/// The invocation record of a discarded batch.
pub fn invocation_record(d: &Discarded<'_>) -> Value {
    let (first, last) = (d.records.first(), d.records.last());
    let sequence = |r: Option<&SourceRecord>| r.map(|r| d.shard.sequence_number(r));
    let arrival = |r: Option<&SourceRecord>| r.map(|r| iso_ms(r.arrival_ms));
    let function_error = d.last.filter(|o| o.is_error()).map(|_| "Unhandled");
    json!({
        "requestContext": {
            "requestId": ids::uuid(),
            "functionArn": d.function_arn,
            "condition": d.condition.as_str(),
            "approximateInvokeCount": d.attempts,
        },
        "responseContext": {
            "statusCode": 200,
            "executedVersion": "$LATEST",
            "functionError": function_error,
        },
        "version": "1.0",
        "timestamp": iso_ms(d.now_ms),
        "KinesisBatchInfo": {
            "shardId": d.shard.shard_id(),
            "startSequenceNumber": sequence(first),
            "endSequenceNumber": sequence(last),
            "approximateArrivalOfFirstRecord": arrival(first),
            "approximateArrivalOfLastRecord": arrival(last),
            "batchSize": d.records.len(),
            "streamArn": d.stream_arn,
        },
    })
}

/// The S3 object key of a discarded batch's record.
pub fn object_key(mapping_uuid: &str, shard_id: &str, now_ms: i64) -> String {
    let time = jiff::Timestamp::from_millisecond(now_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    format!(
        "aws/lambda/{mapping_uuid}/{shard_id}/{}-{}",
        time.strftime("%Y/%m/%d/%Y-%m-%dT%H.%M.%S"),
        ids::uuid()
    )
}

/// Writes the record to the destination; an error says why it could not be written.
pub async fn send(
    destination: &FailureDestination,
    discarded: &Discarded<'_>,
    event: Option<&Value>,
    objects: Option<&Arc<dyn ObjectStore>>,
    kinesis: &Kinesis,
) -> Result<(), String> {
    let mut record = invocation_record(discarded);
    match destination {
        FailureDestination::S3 { bucket, .. } => {
            if let Some(event) = event {
                record["payload"] = Value::String(event.to_string());
            }
            let objects = objects.ok_or("Spate has no object store configured")?;
            let key = object_key(
                discarded.mapping_uuid,
                &discarded.shard.shard_id(),
                discarded.now_ms,
            );
            let put = PutObject {
                bucket: bucket.clone(),
                key,
                body: Bytes::from(record.to_string()),
                content_encoding: None,
            };
            objects.put(put).await.map_err(|e| e.to_string())
        }
        FailureDestination::Kinesis { stream, .. } => kinesis
            .source_put(
                stream,
                &discarded.shard.shard_id(),
                record.to_string().into_bytes(),
            )
            .await
            .map_err(|e| e.message),
    }
}

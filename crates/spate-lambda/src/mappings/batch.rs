//! One batch of a shard: the event Lambda sends for Kinesis, and what a function's result
//! means for it (success, failure, or a partial failure with ReportBatchItemFailures).

use crate::functions::invoke::Outcome;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use spate_streams::reader::{SourceRecord, SourceShard};

/// Where a batch came from, for its event.
pub struct EventSource<'a> {
    pub stream_arn: &'a str,
    pub region: &'a str,
    pub role_arn: &'a str,
    pub shard: &'a SourceShard,
}

/// The event Lambda sends for a batch of Kinesis records.
pub fn kinesis_event(source: &EventSource<'_>, records: &[SourceRecord]) -> Value {
    let shard_id = source.shard.shard_id();
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            let sequence = source.shard.sequence_number(r);
            json!({
                "kinesis": {
                    "kinesisSchemaVersion": "1.0",
                    "partitionKey": r.partition_key,
                    "sequenceNumber": sequence,
                    "data": STANDARD.encode(&r.data),
                    "approximateArrivalTimestamp": r.arrival_ms as f64 / 1000.0,
                },
                "eventSource": "aws:kinesis",
                "eventVersion": "1.0",
                "eventID": format!("{shard_id}:{sequence}"),
                "eventName": "aws:kinesis:record",
                "invokeIdentityArn": source.role_arn,
                "awsRegion": source.region,
                "eventSourceARN": source.stream_arn,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// What a function's result means for a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Success,
    /// The records from this index on failed (ReportBatchItemFailures); those before succeeded.
    FailedFrom(usize),
    Failed,
}

/// Reads a result. With ReportBatchItemFailures a successful invocation may still name failed
/// records (`{"batchItemFailures": [{"itemIdentifier": sequence number}]}`): processing resumes
/// from the lowest one. An identifier that is empty or not in the batch fails the whole batch,
/// as on AWS.
pub fn verdict(
    outcome: &Outcome,
    report_item_failures: bool,
    shard: &SourceShard,
    records: &[SourceRecord],
) -> Verdict {
    let result = match outcome {
        Outcome::FunctionError(_) => return Verdict::Failed,
        Outcome::Ok(result) => result,
    };
    if !report_item_failures {
        return Verdict::Success;
    }
    let failures = match result.get("batchItemFailures") {
        None | Some(Value::Null) => return Verdict::Success,
        Some(Value::Array(items)) => items,
        Some(_) => return Verdict::Failed,
    };
    let mut first: Option<usize> = None;
    for item in failures {
        let id = item.get("itemIdentifier").and_then(Value::as_str);
        let position =
            id.and_then(|id| records.iter().position(|r| shard.sequence_number(r) == id));
        match position {
            Some(i) => first = Some(first.map_or(i, |f| f.min(i))),
            None => return Verdict::Failed,
        }
    }
    match first {
        None => Verdict::Success,
        Some(i) => Verdict::FailedFrom(i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard() -> SourceShard {
        SourceShard {
            index: 3,
            parents: vec![],
            created_ms: 1_700_000_000_000,
            ending_counter: None,
        }
    }

    fn records() -> Vec<SourceRecord> {
        (0..4)
            .map(|i| SourceRecord {
                counter: i,
                arrival_ms: 1_700_000_001_500,
                partition_key: format!("pk{i}"),
                data: b"hello".to_vec(),
            })
            .collect()
    }

    #[test]
    fn the_event_has_lambdas_shape() {
        let shard = shard();
        let source = EventSource {
            stream_arn: "arn:aws:kinesis:us-east-1:000000000000:stream/s",
            region: "us-east-1",
            role_arn: "arn:aws:iam::000000000000:role/r",
            shard: &shard,
        };
        let event = kinesis_event(&source, &records()[..1]);
        let r = &event["Records"][0];
        assert_eq!(r["eventSource"], "aws:kinesis");
        assert_eq!(r["eventName"], "aws:kinesis:record");
        assert_eq!(r["kinesis"]["data"], "aGVsbG8=");
        assert_eq!(r["kinesis"]["partitionKey"], "pk0");
        assert_eq!(r["kinesis"]["approximateArrivalTimestamp"], 1_700_000_001.5);
        let seq = r["kinesis"]["sequenceNumber"].as_str().unwrap();
        assert_eq!(r["eventID"], format!("shardId-000000000003:{seq}"));
        assert_eq!(seq.len(), 56);
    }

    #[test]
    fn item_failures_resume_from_the_lowest_and_bad_ids_fail_the_batch() {
        let (shard, records) = (shard(), records());
        let id = |i: usize| shard.sequence_number(&records[i]);
        let ok = |v: Value| Outcome::Ok(v);
        let failures =
            json!({"batchItemFailures": [{"itemIdentifier": id(2)}, {"itemIdentifier": id(1)}]});
        assert_eq!(
            verdict(&ok(failures), true, &shard, &records),
            Verdict::FailedFrom(1)
        );
        let none = json!({"batchItemFailures": []});
        assert_eq!(verdict(&ok(none), true, &shard, &records), Verdict::Success);
        let bad = json!({"batchItemFailures": [{"itemIdentifier": ""}]});
        assert_eq!(verdict(&ok(bad), true, &shard, &records), Verdict::Failed);
        let ignored = json!({"batchItemFailures": [{"itemIdentifier": id(2)}]});
        assert_eq!(
            verdict(&ok(ignored), false, &shard, &records),
            Verdict::Success
        );
        let error = Outcome::error("Error", "boom");
        assert_eq!(verdict(&error, true, &shard, &records), Verdict::Failed);
    }
}

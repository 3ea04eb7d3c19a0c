//! KinesisStreamAsSource: a delivery stream reading a Kinesis stream of the same server.

use super::Harness;
use serde_json::{json, Value};
use spate_wire::ErrorKind;
use std::time::Duration;

const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/src";

async fn put(h: &Harness, key: &str, data: &[u8]) {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(data);
    let body = json!({"StreamName": "src", "PartitionKey": key, "Data": data});
    h.kinesis("PutRecord", body).await;
}

async fn create_from_kinesis(h: &Harness, name: &str) -> Result<Value, spate_wire::ApiError> {
    let body = json!({
        "DeliveryStreamName": name,
        "DeliveryStreamType": "KinesisStreamAsSource",
        "KinesisStreamSourceConfiguration": {
            "KinesisStreamARN": STREAM_ARN, "RoleARN": "arn:aws:iam::000000000000:role/r"},
        "ExtendedS3DestinationConfiguration": {
            "RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::bucket-1"}});
    h.call("CreateDeliveryStream", body).await
}

/// Flushes until the delivered bytes hold `expected` records (the copy from Kinesis runs on
/// its own task), for at most five seconds.
async fn delivered_after_flush(h: &Harness, name: &str, expected: usize) -> Vec<u8> {
    for _ in 0..5000 {
        h.flush(name).await.expect("flush");
        let all: Vec<u8> = h.delivered().into_iter().flat_map(|(_, b)| b).collect();
        if all.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() >= expected {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("fewer than {expected} records delivered");
}

#[tokio::test]
async fn records_from_the_start_timestamp_on_are_delivered() {
    let h = Harness::instant().await;
    h.kinesis(
        "CreateStream",
        json!({"StreamName": "src", "ShardCount": 2}),
    )
    .await;
    put(&h, "a", b"before\n").await;
    h.advance(1000);
    create_from_kinesis(&h, "fromk").await.expect("create");
    for i in 0..20 {
        put(&h, &format!("k{i}"), format!("after {i}\n").as_bytes()).await;
    }
    let delivered = String::from_utf8(delivered_after_flush(&h, "fromk", 20).await).unwrap();
    assert!(!delivered.contains("before"), "{delivered}");
    for i in 0..20 {
        assert!(delivered.contains(&format!("after {i}\n")), "{delivered}");
    }
    let d = h.describe("fromk").await;
    assert_eq!(d["DeliveryStreamType"], "KinesisStreamAsSource");
    assert_eq!(
        d["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"],
        STREAM_ARN
    );
    assert!(d.get("DeliveryStreamEncryptionConfiguration").is_none());
}

#[tokio::test]
async fn a_parents_records_are_delivered_before_its_childrens() {
    let h = Harness::instant().await;
    h.kinesis(
        "CreateStream",
        json!({"StreamName": "src", "ShardCount": 1}),
    )
    .await;
    create_from_kinesis(&h, "fromk").await.expect("create");
    for i in 0..5 {
        put(&h, "key", format!("parent {i}\n").as_bytes()).await;
    }
    let split = json!({"StreamName": "src", "ShardToSplit": "shardId-000000000000",
        "NewStartingHashKey": "170141183460469231731687303715884105728"});
    h.kinesis("SplitShard", split).await;
    h.kinesis.tick().await;
    for i in 0..5 {
        put(&h, "key", format!("child {i}\n").as_bytes()).await;
    }
    // The copy into the delivery stream's log keeps the order (the buffer is not delivered
    // yet: 300 s, 5 MB).
    let lines = copied(&h, "fromk", 10).await;
    let last_parent = lines.iter().rposition(|l| l.starts_with("parent")).unwrap();
    let first_child = lines.iter().position(|l| l.starts_with("child")).unwrap();
    assert!(last_parent < first_child, "{lines:?}");
    assert_eq!(lines.len(), 10, "{lines:?}");
}

/// The records the pump has copied into the delivery stream's log, in log order, once there
/// are `expected` of them.
async fn copied(h: &Harness, name: &str, expected: usize) -> Vec<String> {
    use spate_log::RecordLog;
    let log_id = h.describe_record(name).log_id;
    for _ in 0..5000 {
        let batch = h
            .log
            .read(log_id, 0, 10_000, 1 << 20, i64::MIN)
            .expect("read");
        if batch.len() >= expected {
            return batch
                .records()
                .map(|r| String::from_utf8_lossy(r.data).trim_end().to_string())
                .collect();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("fewer than {expected} records copied");
}

#[tokio::test]
async fn such_a_stream_takes_no_puts_and_needs_an_existing_stream() {
    let h = Harness::instant().await;
    let e = create_from_kinesis(&h, "fromk").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert_eq!(
        e.message,
        "Stream src under account 000000000000 not found."
    );
    h.kinesis(
        "CreateStream",
        json!({"StreamName": "src", "ShardCount": 1}),
    )
    .await;
    create_from_kinesis(&h, "fromk").await.expect("create");
    let body = json!({"DeliveryStreamName": "fromk", "Record": {"Data": "eA=="}});
    let e = h.err("PutRecord", body).await;
    assert_eq!(
        e.message,
        "This operation is not permitted on KinesisStreamAsSource delivery stream type."
    );
}

/// Keeps every transformation event and answers each record Ok, unchanged.
#[derive(Default)]
struct EventKeeper(std::sync::Mutex<Vec<Value>>);

impl crate::delivery::process::Invoke for EventKeeper {
    fn invoke(
        &self,
        _arn: &str,
        event: Vec<u8>,
    ) -> spate_wire::service::BoxFuture<Result<Value, String>> {
        let event: Value = serde_json::from_slice(&event).expect("event");
        let records: Vec<Value> = event["records"]
            .as_array()
            .expect("records")
            .iter()
            .map(|r| json!({"recordId": r["recordId"], "result": "Ok", "data": r["data"]}))
            .collect();
        self.0.lock().unwrap().push(event);
        Box::pin(async move { Ok(json!({ "records": records })) })
    }
}

#[tokio::test]
async fn transformation_events_of_kinesis_records_carry_their_metadata() {
    let h = Harness::instant().await;
    h.kinesis(
        "CreateStream",
        json!({"StreamName": "src", "ShardCount": 1}),
    )
    .await;
    let keeper = std::sync::Arc::new(EventKeeper::default());
    h.firehose.set_invoker(keeper.clone());
    let body = json!({
        "DeliveryStreamName": "fromk",
        "DeliveryStreamType": "KinesisStreamAsSource",
        "KinesisStreamSourceConfiguration": {
            "KinesisStreamARN": STREAM_ARN, "RoleARN": "arn:aws:iam::000000000000:role/r"},
        "ExtendedS3DestinationConfiguration": {
            "RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::bucket-1",
            "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "Lambda", "Parameters": [
                {"ParameterName": "LambdaArn", "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:t"}]}]}}});
    h.call("CreateDeliveryStream", body).await.expect("create");
    put(&h, "user|1", b"x\n").await;
    delivered_after_flush(&h, "fromk", 1).await;
    let events = keeper.0.lock().unwrap().clone();
    assert_eq!(events[0]["sourceKinesisStreamArn"], STREAM_ARN);
    let meta = &events[0]["records"][0]["kinesisRecordMetadata"];
    assert_eq!(meta["shardId"], "shardId-000000000000");
    assert_eq!(
        meta["partitionKey"], "user|1",
        "a key holding the separator survives"
    );
    assert_eq!(meta["sequenceNumber"].as_str().map(str::len), Some(56));
    assert_eq!(meta["subsequenceNumber"], 0);
}

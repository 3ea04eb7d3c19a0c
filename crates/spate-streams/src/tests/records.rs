//! The data plane by the injected clock: iterator expiry, retention, throttling, and the
//! sequence-number and shard-id rules.

use super::Harness;
use crate::ServiceConfig;
use serde_json::json;
use spate_wire::ErrorKind;

#[tokio::test]
async fn iterators_expire_after_five_minutes() {
    let h = Harness::instant().await;
    h.create("s", 1).await;
    let it = h
        .iterator("s", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    h.advance(100_000);
    let page = h.records(&it).await.expect("records");
    let next = page["NextShardIterator"]
        .as_str()
        .expect("next")
        .to_string();
    h.advance(200_000);
    assert!(h.records(&it).await.is_ok());
    h.advance(1);
    let e = h.records(&it).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ExpiredIterator);
    assert!(e.message.starts_with("Iterator expired. The iterator was created at time Tue Dec 01 00:00:00 UTC 2026 while right now it is "), "{}", e.message);
    // A NextShardIterator lives five minutes from the call that returned it.
    assert!(h.records(&next).await.is_ok());
    h.advance(100_000);
    let e = h.records(&next).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ExpiredIterator);
}

#[tokio::test]
async fn records_past_retention_are_not_returned() {
    let h = Harness::instant().await;
    h.create("s", 1).await;
    h.put("s", "k", b"old").await.unwrap();
    h.advance(23 * 3_600_000);
    h.put("s", "k", b"new").await.unwrap();
    h.advance(3_600_000 + 1);
    let it = h
        .iterator("s", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    let page = h.records(&it).await.unwrap();
    let records = page["Records"].as_array().cloned().unwrap_or_default();
    assert_eq!(records.len(), 1, "{page}");
    assert_eq!(records[0]["Data"], "bmV3");
}

#[tokio::test]
async fn shard_write_limits_throttle_and_refill_with_the_clock() {
    let h = Harness::new(ServiceConfig {
        creating_delay_ms: 0,
        enforce_shard_limits: true,
        ..ServiceConfig::default()
    })
    .await;
    h.create("s", 1).await;
    let big = vec![7u8; 600 << 10];
    h.put("s", "k", &big).await.unwrap();
    h.put("s", "k", &big).await.unwrap(); // overdraws the 1 MiB bucket, as AWS's "tank" does
    let e = h.put("s", "k", b"x").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ProvisionedThroughputExceeded);
    assert_eq!(
        e.message,
        "Rate exceeded for shard shardId-000000000000 in stream s under account 000000000000."
    );
    h.advance(1_000);
    h.put("s", "k", b"x").await.unwrap();
}

#[tokio::test]
async fn get_records_calls_are_limited_to_five_a_second() {
    let h = Harness::new(ServiceConfig {
        creating_delay_ms: 0,
        enforce_shard_limits: true,
        ..ServiceConfig::default()
    })
    .await;
    h.create("s", 1).await;
    let it = h.iterator("s", "0", "LATEST").await;
    for _ in 0..5 {
        h.records(&it).await.unwrap();
    }
    let e = h.records(&it).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ProvisionedThroughputExceeded);
    h.advance(200);
    h.records(&it).await.unwrap();
}

#[tokio::test]
async fn sequence_number_for_ordering_must_be_one_of_this_stream() {
    let h = Harness::instant().await;
    h.create("s", 1).await;
    let first = h.put("s", "k", b"a").await.unwrap();
    let seq = first["SequenceNumber"].as_str().unwrap().to_string();
    let body = |ordering: &str| json!({"StreamName": "s", "PartitionKey": "k", "Data": "YQ==", "SequenceNumberForOrdering": ordering});
    h.ok("PutRecord", body(&seq)).await;
    let e = h.err("PutRecord", body("1234")).await;
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::InvalidArgument, "ExclusiveMinimumSequenceNumber 1234 used in PutRecord on stream s under account 000000000000 is invalid.")
    );
}

#[tokio::test]
async fn at_timestamp_in_the_future_is_refused() {
    let h = Harness::instant().await;
    h.create("s", 1).await;
    let future = (super::START_MS + 60_000) as f64 / 1000.0;
    let body = json!({"StreamName": "s", "ShardId": "0", "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": future});
    let e = h.err("GetShardIterator", body).await;
    assert_eq!(
        e.message,
        format!("The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: {}, currentTimestampInMillis: {}", super::START_MS + 60_000, super::START_MS)
    );
}

#[tokio::test]
async fn shard_ids_resolve_and_are_checked_before_the_stream() {
    let h = Harness::instant().await;
    h.create("s", 1).await;
    for id in ["shard-0", "anything-0", "0", "shardId-000000000000"] {
        h.iterator("s", id, "LATEST").await;
    }
    let body = |stream: &str, shard: &str| json!({"StreamName": stream, "ShardId": shard, "ShardIteratorType": "LATEST"});
    let e = h.err("GetShardIterator", body("missing", "ABKLFD8")).await;
    assert_eq!(
        e.message,
        "Could not find shard ABKLFD8 in stream missing under account 000000000000."
    );
    let e = h
        .err("GetShardIterator", body("missing", "x-2147483647"))
        .await;
    assert_eq!(
        e.message,
        "Shard shardId-002147483647 in stream missing under account 000000000000 does not exist"
    );
    let e = h.err("GetShardIterator", body("s", "shardId-5")).await;
    assert_eq!(
        e.message,
        "Shard shardId-000000000005 in stream s under account 000000000000 does not exist"
    );
}

#[tokio::test]
async fn iterator_type_and_sequence_number_must_agree() {
    let h = Harness::instant().await;
    h.create("s", 2).await;
    let put = h.put("s", "k", b"a").await.unwrap();
    let other = if put["ShardId"] == "shardId-000000000000" {
        "1"
    } else {
        "0"
    };
    let seq = put["SequenceNumber"].as_str().unwrap();
    let body = json!({"StreamName": "s", "ShardId": other, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": seq});
    let e = h.err("GetShardIterator", body).await;
    assert!(
        e.message
            .starts_with("Invalid StartingSequenceNumber. It encodes shardId-"),
        "{}",
        e.message
    );
    let body =
        json!({"StreamName": "s", "ShardId": "0", "ShardIteratorType": "AFTER_SEQUENCE_NUMBER"});
    let e = h.err("GetShardIterator", body).await;
    assert_eq!(e.message, "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified AFTER_SEQUENCE_NUMBER and no StartingSequenceNumber.");
}

/// AWS names the shard when an iterator's stream is gone; an iterator of a deleted stream does
/// not read a new stream of the same name.
#[tokio::test]
async fn an_iterator_of_a_deleted_stream_names_its_shard() {
    let h = Harness::instant().await;
    h.create("s", 2).await;
    let it = h.iterator("s", "shardId-000000000001", "LATEST").await;
    h.ok("DeleteStream", json!({"StreamName": "s"})).await;
    h.kinesis.tick().await;
    let expected =
        "Shard shardId-000000000001 in stream s under account 000000000000 does not exist";
    let e = h.records(&it).await.unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::ResourceNotFound, expected)
    );
    h.advance(1_000);
    h.create("s", 2).await;
    let e = h.records(&it).await.unwrap_err();
    assert_eq!(
        (e.kind, e.message.as_str()),
        (ErrorKind::ResourceNotFound, expected)
    );
}

#[tokio::test]
async fn dry_runs_check_everything_and_change_nothing() {
    let h = Harness::instant().await;
    h.create("s", 1).await;
    let put = json!({"StreamName": "s", "Data": "AA==", "PartitionKey": "k", "DryRun": true});
    let e = h.err("PutRecord", put).await;
    assert_eq!(e.kind, ErrorKind::DryRunOperation);
    let e = h
        .err(
            "PutRecords",
            json!({"StreamName": "s", "DryRun": true, "Records": [{"Data": "AA==", "PartitionKey": "k"}]}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::DryRunOperation);
    // A dry run against a stream that does not exist fails as the real call would.
    let missing =
        json!({"StreamName": "none", "Data": "AA==", "PartitionKey": "k", "DryRun": true});
    assert_eq!(
        h.err("PutRecord", missing).await.kind,
        ErrorKind::ResourceNotFound
    );
    let it = h
        .iterator("s", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    let read = json!({"ShardIterator": it, "DryRun": true});
    assert_eq!(
        h.err("GetRecords", read).await.kind,
        ErrorKind::DryRunOperation
    );
    let iterator = json!({"StreamName": "s", "ShardId": "shardId-000000000000",
        "ShardIteratorType": "TRIM_HORIZON", "DryRun": true});
    assert_eq!(
        h.err("GetShardIterator", iterator).await.kind,
        ErrorKind::DryRunOperation
    );
    let page = h.records(&it).await.expect("records");
    assert_eq!(
        page["Records"].as_array().map(Vec::len),
        Some(0),
        "nothing was written"
    );
}

#[tokio::test]
async fn auto_distribution_spreads_one_key_over_every_shard_of_an_on_demand_stream() {
    let h = Harness::instant().await;
    h.create("p", 2).await;
    let arn = |s: &str| format!("arn:aws:kinesis:us-east-1:000000000000:stream/{s}");
    let auto = |s: &str| json!({"StreamARN": arn(s), "RecordDistributionStrategy": "AUTO"});
    assert_eq!(
        h.err("UpdateStreamRecordDistributionStrategy", auto("p"))
            .await
            .kind,
        ErrorKind::InvalidArgument
    );
    h.ok(
        "CreateStream",
        json!({"StreamName": "o", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
    )
    .await;
    let summary = h
        .ok("DescribeStreamSummary", json!({"StreamName": "o"}))
        .await;
    assert_eq!(
        summary["StreamDescriptionSummary"]["RecordDistributionStrategy"],
        "USER_PARTITION_KEY"
    );
    h.ok("UpdateStreamRecordDistributionStrategy", auto("o"))
        .await;
    let summary = h
        .ok("DescribeStreamSummary", json!({"StreamName": "o"}))
        .await;
    assert_eq!(
        summary["StreamDescriptionSummary"]["RecordDistributionStrategy"],
        "AUTO"
    );
    let mut shards = std::collections::BTreeSet::new();
    for _ in 0..64 {
        let out = h.put("o", "same-key", b"x").await.expect("put");
        shards.insert(out["ShardId"].as_str().expect("shard").to_string());
    }
    let open = h.ok("ListShards", json!({"StreamName": "o"})).await["Shards"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(
        shards.len(),
        open,
        "one partition key reached every shard: {shards:?}"
    );
    let bad = json!({"StreamARN": arn("o"), "RecordDistributionStrategy": "RANDOM"});
    assert_eq!(
        h.err("UpdateStreamRecordDistributionStrategy", bad)
            .await
            .kind,
        ErrorKind::Validation
    );
}

//! The delivery engine: buffering by size and interval, object names and formats, retries,
//! and no acknowledged record lost across crashes and power loss.

use super::{instant_config, Harness};
use crate::delivery::DeliveryStatus;
use serde_json::json;
use std::io::Read;
use std::time::Duration;

/// Lets the workers run until `n` objects exist. Waiting here is for work to complete, not
/// for time to pass: with the clock paused each wait moves it by a millisecond.
async fn wait_for_objects(h: &Harness, n: usize) {
    for _ in 0..5000 {
        if h.delivered().len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("expected {n} objects, have {}", h.delivered().len());
}

/// Waits until the worker of `name` shows `what`.
async fn wait_status(h: &Harness, name: &str, what: impl Fn(&DeliveryStatus) -> bool) {
    for _ in 0..5000 {
        if what(&h.firehose.delivery_status(name)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!(
        "the worker of {name} did not get there: {:?}",
        h.firehose.delivery_status(name)
    );
}

async fn wait_buffered(h: &Harness, name: &str, records: usize) {
    wait_status(h, name, |s| s.buffered_records >= records).await;
}

/// Gives the workers a moment (of paused time) to act on what they have.
async fn let_run() {
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn records(n: usize, size: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| vec![b'a' + (i % 26) as u8; size]).collect()
}

#[tokio::test]
async fn a_flush_delivers_the_records_back_to_back_under_firehoses_name() {
    let h = Harness::instant().await;
    h.create("orders", json!({"Prefix": "in/"})).await;
    let out = h
        .put_batch("orders", &[b"{\"a\":1}\n", b"{\"a\":2}\n", b"x"])
        .await;
    assert_eq!(out["FailedPutCount"], 0);
    assert_eq!(
        out["RequestResponses"][0]["RecordId"]
            .as_str()
            .unwrap()
            .len(),
        224
    );
    h.flush("orders").await.unwrap();
    let objects = h.delivered();
    assert_eq!(objects.len(), 1);
    let (key, body) = &objects[0];
    assert_eq!(body, b"{\"a\":1}\n{\"a\":2}\nx");
    // in/2026/12/01/00/orders-1-2026-12-01-00-00-00-<uuid>
    assert!(
        key.starts_with("in/2026/12/01/00/orders-1-2026-12-01-00-00-00-"),
        "{key}"
    );
    assert_eq!(
        key.len(),
        "in/2026/12/01/00/orders-1-2026-12-01-00-00-00-".len() + 36
    );
    // Nothing more to deliver: a second flush writes nothing.
    h.flush("orders").await.unwrap();
    assert_eq!(h.delivered().len(), 1);
}

#[tokio::test]
async fn objects_are_cut_when_the_size_hint_is_reached() {
    let h = Harness::instant().await;
    h.create(
        "s",
        json!({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 900}}),
    )
    .await;
    let sent = records(12, 256_000);
    for chunk in sent.chunks(4) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        h.put_batch("s", &refs).await;
    }
    wait_for_objects(&h, 2).await;
    let objects = h.delivered();
    assert_eq!(
        objects.len(),
        2,
        "the last two records wait for the interval"
    );
    for (_, body) in &objects {
        assert_eq!(
            body.len(),
            5 * 256_000,
            "an object closes at the first record past 1 MiB"
        );
    }
    h.flush("s").await.unwrap();
    let mut all = h.delivered();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    let delivered: usize = all.iter().map(|(_, b)| b.len()).sum();
    assert_eq!(delivered, 12 * 256_000);
}

/// One put bigger than two objects: the worker must not wait for another put (or the
/// interval) to deliver the second.
#[tokio::test]
async fn a_backlog_bigger_than_an_object_is_delivered_without_more_puts() {
    let h = Harness::instant().await;
    let hints = json!({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 900}});
    h.create("s", hints).await;
    let sent = records(12, 256_000);
    let refs: Vec<&[u8]> = sent.iter().map(Vec::as_slice).collect();
    h.put_batch("s", &refs).await;
    wait_for_objects(&h, 2).await;
}

#[tokio::test]
async fn objects_are_cut_when_the_interval_hint_passes() {
    let h = Harness::instant().await;
    h.create(
        "s",
        json!({"BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 60}}),
    )
    .await;
    h.put_batch("s", &[b"one", b"two"]).await;
    wait_buffered(&h, "s", 2).await;
    tokio::time::pause();
    tokio::time::advance(Duration::from_secs(59)).await;
    let_run().await;
    assert!(h.delivered().is_empty(), "delivered before the interval");
    tokio::time::advance(Duration::from_secs(1)).await;
    wait_for_objects(&h, 1).await;
    assert_eq!(h.delivered()[0].1, b"onetwo");
}

#[tokio::test]
async fn zero_buffering_delivers_at_once() {
    let h = Harness::instant().await;
    h.create(
        "s",
        json!({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}}),
    )
    .await;
    h.put_batch("s", &[b"now"]).await;
    wait_for_objects(&h, 1).await;
}

#[tokio::test]
async fn gzip_objects_decode_and_prefixes_use_the_time_zone() {
    let h = Harness::instant().await;
    h.create(
        "s",
        json!({
        "CompressionFormat": "GZIP", "CustomTimeZone": "Asia/Tokyo",
        "Prefix": "y=!{timestamp:yyyy}/h=!{timestamp:HH}/",
        "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/"}),
    )
    .await;
    h.put_batch("s", &[b"hello ", b"world"]).await;
    h.flush("s").await.unwrap();
    let (key, body) = &h.delivered()[0];
    // Midnight UTC is 09:00 in Tokyo.
    assert!(
        key.starts_with("y=2026/h=09/s-1-2026-12-01-09-00-00-"),
        "{key}"
    );
    assert!(key.ends_with(".gz"), "{key}");
    let mut text = String::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text, "hello world");
}

#[tokio::test]
async fn a_missing_bucket_is_retried_and_shown_until_delivery_resumes() {
    let h = Harness::instant().await;
    h.create(
        "s",
        json!({"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}}),
    )
    .await;
    h.objects.remove_bucket("bucket-1");
    h.put_batch("s", &[b"kept"]).await;
    tokio::time::pause();
    wait_status(&h, "s", |s| s.failure.is_some()).await;
    let failure = &h.describe("s").await["FailureDescription"];
    assert_eq!(failure["Type"], "UNKNOWN_ERROR");
    let details = failure["Details"].as_str().unwrap();
    assert!(
        details.contains("bucket bucket-1 does not exist"),
        "{details}"
    );
    assert!(h.delivered().is_empty());
    h.objects.restore_bucket("bucket-1");
    tokio::time::advance(Duration::from_secs(5)).await;
    wait_status(&h, "s", |s| s.delivered_objects == 1).await;
    assert_eq!(h.delivered()[0].1, b"kept");
    assert!(h.describe("s").await.get("FailureDescription").is_none());
}

#[tokio::test]
async fn records_acknowledged_before_a_crash_are_delivered_after_it_and_delivered_ones_are_not_repeated(
) {
    let h = Harness::instant().await;
    h.create("s", json!({})).await;
    h.put_batch("s", &[b"first"]).await;
    h.flush("s").await.unwrap();
    h.put_batch("s", &[b"second"]).await;
    let h = h.restart_after_crash().await;
    h.flush("s").await.unwrap();
    let bodies: Vec<Vec<u8>> = h.delivered().into_iter().map(|(_, b)| b).collect();
    assert_eq!(bodies.len(), 2);
    assert!(bodies.contains(&b"first".to_vec()) && bodies.contains(&b"second".to_vec()));
}

#[tokio::test]
async fn records_acknowledged_before_a_power_loss_are_delivered_after_it() {
    let h = Harness::instant().await;
    h.create("s", json!({})).await;
    h.put_batch("s", &[b"durable"]).await;
    h.log.shutdown();
    let storage = std::sync::Arc::new(h.storage.after_power_loss());
    let config = h.firehose.config().clone();
    let h = Harness::open(
        config,
        storage,
        h.catalog.clone(),
        h.objects.clone(),
        h.now.clone(),
    )
    .await;
    h.flush("s").await.unwrap();
    assert_eq!(h.delivered()[0].1, b"durable");
}

#[tokio::test]
async fn an_update_changes_the_next_objects_name() {
    let h = Harness::new(instant_config()).await;
    h.create("s", json!({})).await;
    let update = json!({"DeliveryStreamName": "s", "CurrentDeliveryStreamVersionId": "1",
        "DestinationId": "destinationId-000000000001",
        "ExtendedS3DestinationUpdate": {"Prefix": "v2/", "CompressionFormat": "Snappy"}});
    h.ok("UpdateDestination", update).await;
    h.put_batch("s", &[b"x"]).await;
    h.flush("s").await.unwrap();
    let (key, _) = &h.delivered()[0];
    assert!(key.starts_with("v2/2026/12/01/00/s-2-"), "{key}");
    assert!(key.ends_with(".snappy"), "{key}");
}

#[tokio::test]
async fn direct_put_quotas_slow_records_down_and_refill_with_the_clock() {
    let h = Harness::new(crate::FirehoseConfig {
        enforce_limits: true,
        ..instant_config()
    })
    .await;
    h.create("s", json!({})).await;
    let mb = vec![b'x'; 1_000_000];
    let four: Vec<&[u8]> = vec![&mb; 4];
    assert_eq!(h.put_batch("s", &four).await["FailedPutCount"], 0);
    let out = h.put_batch("s", &four).await;
    assert_eq!(out["FailedPutCount"], 3, "5 MiB/s: one more record fits");
    let failed = &out["RequestResponses"][1];
    assert_eq!(failed["ErrorCode"], "ServiceUnavailableException");
    assert_eq!(failed["ErrorMessage"], "Slow down.");
    assert!(out["RequestResponses"][0]["RecordId"].is_string());
    // 242,880 bytes of the second are left: a 300,000-byte record does not fit.
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(vec![b'y'; 300_000]);
    let body = json!({"DeliveryStreamName": "s", "Record": {"Data": data}});
    let e = h.err("PutRecord", body.clone()).await;
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            spate_wire::ErrorKind::ServiceUnavailableException,
            "Slow down."
        )
    );
    h.advance(1000);
    h.ok("PutRecord", body).await;
}

#[tokio::test]
async fn records_are_sealed_at_rest_while_encryption_is_on_and_delivered_opened() {
    let h = Harness::instant().await;
    h.create("s", json!({})).await;
    h.put_batch("s", &[b"plain"]).await;
    h.ok(
        "StartDeliveryStreamEncryption",
        json!({"DeliveryStreamName": "s"}),
    )
    .await;
    let out = h.put_batch("s", &[b"secret record"]).await;
    assert_eq!(out["Encrypted"], true);
    // In the log the second record is an envelope, not the data.
    use spate_log::RecordLog;
    let log_id = h.describe_record("s").log_id;
    let stored = h.log.read(log_id, 0, 10, 1 << 20, i64::MIN).unwrap();
    let stored: Vec<(bool, Vec<u8>)> = stored
        .records()
        .map(|r| (r.sealed, r.data.to_vec()))
        .collect();
    assert_eq!(stored[0], (false, b"plain".to_vec()));
    assert!(stored[1].0, "sealed");
    assert!(
        !stored[1].1.windows(6).any(|w| w == b"secret"),
        "no plaintext at rest"
    );
    // A restart unwraps the keys again; delivery opens the record.
    let h = h.restart_after_crash().await;
    h.flush("s").await.unwrap();
    let body: Vec<u8> = h.delivered().into_iter().flat_map(|(_, b)| b).collect();
    assert_eq!(body, b"plainsecret record");
    h.ok(
        "StopDeliveryStreamEncryption",
        json!({"DeliveryStreamName": "s"}),
    )
    .await;
    assert_eq!(h.put_batch("s", &[b"after"]).await["Encrypted"], false);
}

#[tokio::test]
async fn s3_backup_enabled_writes_the_source_records_to_the_backup_bucket_too() {
    let h = Harness::instant().await;
    let backup = json!({"RoleARN": "arn:aws:iam::000000000000:role/r",
        "BucketARN": "arn:aws:s3:::backup-1", "Prefix": "raw/"});
    h.create(
        "s",
        json!({"S3BackupMode": "Enabled", "S3BackupConfiguration": backup}),
    )
    .await;
    h.put_batch("s", &[b"both"]).await;
    h.flush("s").await.unwrap();
    let objects = h.objects.objects();
    let buckets: Vec<&str> = objects.iter().map(|(b, ..)| b.as_str()).collect();
    assert_eq!(buckets, vec!["backup-1", "bucket-1"]);
    assert!(objects[0].1.starts_with("raw/"), "{}", objects[0].1);
    assert!(objects.iter().all(|(_, _, body, _)| &body[..] == b"both"));
}

#[tokio::test]
async fn an_update_may_change_the_destination_type_when_it_is_complete() {
    let h = Harness::new(crate::FirehoseConfig {
        allow_http_endpoints: true,
        ..instant_config()
    })
    .await;
    h.create("s", json!({})).await;
    let update = |http: serde_json::Value| {
        json!({"DeliveryStreamName": "s",
        "CurrentDeliveryStreamVersionId": "1", "DestinationId": "destinationId-000000000001",
        "HttpEndpointDestinationUpdate": http})
    };
    let e = h
        .err(
            "UpdateDestination",
            update(json!({"EndpointConfiguration": {"Url": "http://127.0.0.1:9/"}})),
        )
        .await;
    assert_eq!(e.kind, spate_wire::ErrorKind::InvalidArgument);
    h.ok("UpdateDestination", update(json!({
        "EndpointConfiguration": {"Url": "http://127.0.0.1:9/"},
        "S3Update": {"RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::bucket-1"}}))).await;
    let d = h.describe("s").await;
    assert_eq!(d["VersionId"], "2");
    let http = &d["Destinations"][0]["HttpEndpointDestinationDescription"];
    assert_eq!(http["EndpointConfiguration"]["Url"], "http://127.0.0.1:9/");
    assert!(d["Destinations"][0]
        .get("ExtendedS3DestinationDescription")
        .is_none());
}

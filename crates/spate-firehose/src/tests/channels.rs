//! Kinesis channels: the control plane (validation, defaults, lifecycle, listing, limits, the
//! stream it keeps from deletion) and delivery from the stream to the bucket (no backfill,
//! records checked by format, keys from the template, failures to the dead-letter prefix).

use super::Harness;
use serde_json::{json, Value};
use spate_wire::ErrorKind;
use std::io::Read;
use std::time::Duration;

const STREAM_ARN: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/src";
const ROLE: &str = "arn:aws:iam::000000000000:role/channel";

async fn stream(h: &Harness, mode: &str) {
    let mut body = json!({"StreamName": "src", "StreamModeDetails": {"StreamMode": mode}});
    if mode == "PROVISIONED" {
        body["ShardCount"] = json!(1);
    }
    h.kinesis("CreateStream", body).await;
}

fn create_body(name: &str, storage: Value) -> Value {
    let mut s = json!({"BucketARN": "arn:aws:s3:::bucket-1", "ExpectedBucketOwner": "000000000000", "CompressionType": "GZIP"});
    if let (Some(s), Some(extra)) = (s.as_object_mut(), storage.as_object()) {
        s.extend(extra.clone());
    }
    json!({
        "ChannelName": name, "ServiceExecutionRoleARN": ROLE,
        "StreamConfigurationList": [{"StreamARN": STREAM_ARN, "RecordConfiguration": {"RecordFormatType": "JSON"}}],
        "S3DestinationConfiguration": {"StorageConfiguration": s},
    })
}

async fn create(h: &Harness, name: &str, storage: Value) -> Value {
    let out = h.channel("CreateChannel", create_body(name, storage)).await;
    out.unwrap_or_else(|e| panic!("CreateChannel: {e}"))["ChannelDescription"].clone()
}

async fn put(h: &Harness, data: &[u8]) {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(data);
    let body = json!({"StreamName": "src", "PartitionKey": "k", "Data": data});
    h.kinesis("PutRecord", body).await;
}

#[tokio::test]
async fn channels_are_described_with_aws_defaults() {
    let h = Harness::instant().await;
    stream(&h, "ON_DEMAND").await;
    let d = create(&h, "orders", json!({})).await;
    let id = d["ChannelId"].as_str().unwrap().to_string();
    let arn = d["ChannelARN"].as_str().unwrap().to_string();
    assert_eq!(
        arn,
        format!("arn:aws:kinesis:us-east-1:000000000000:channel/{id}")
    );
    assert_eq!(d["ChannelStatus"], "ACTIVE");
    let s3 = &d["S3DestinationConfiguration"];
    assert_eq!(s3["DataFreshnessInSeconds"], 300);
    assert_eq!(
        s3["StorageConfiguration"]["OutputKeyTemplate"],
        crate::channels::template::DEFAULT_TEMPLATE
    );
    assert_eq!(s3["StorageConfiguration"]["StorageClass"], "STANDARD");
    let dlq = &s3["DeadLetterQueueS3Configuration"];
    assert_eq!(dlq["BucketARN"], "arn:aws:s3:::bucket-1");
    assert_eq!(
        dlq["ErrorOutputPrefix"],
        format!("kinesis-channel/errors/orders/{id}/")
    );
    assert_eq!(
        d["LoggingConfiguration"],
        json!({"CloudWatchLogs": {"Enabled": false}})
    );
    assert_eq!(
        d["StreamConfigurationList"][0]["RecordConfiguration"]["RecordFormatType"],
        "JSON"
    );
}

#[tokio::test]
async fn channels_are_listed_by_stream_updated_and_deleted() {
    let h = Harness::instant().await;
    stream(&h, "ON_DEMAND").await;
    let d = create(&h, "orders", json!({})).await;
    let id = d["ChannelId"].as_str().unwrap().to_string();
    let arn = d["ChannelARN"].as_str().unwrap().to_string();
    let listed = h
        .channel(
            "ListChannels",
            json!({"StreamFilter": [{"StreamARN": STREAM_ARN}]}),
        )
        .await
        .unwrap();
    assert_eq!(listed["ChannelSummaries"][0]["ChannelARN"], arn);
    assert_eq!(
        listed["ChannelSummaries"][0]["ChannelDestinationType"],
        "S3"
    );
    let other = json!({"StreamFilter": [{"StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/other"}]});
    assert_eq!(
        h.channel("ListChannels", other).await.unwrap()["ChannelSummaries"],
        json!([])
    );

    let update = json!({"ChannelARN": arn, "S3DestinationConfiguration": {"DataFreshnessInSeconds": 600},
        "LoggingConfiguration": {"CloudWatchLogs": {"Enabled": true}}});
    let d = h.channel("UpdateChannel", update).await.unwrap()["ChannelDescription"].clone();
    assert_eq!(
        d["S3DestinationConfiguration"]["DataFreshnessInSeconds"],
        600
    );
    assert_eq!(
        d["LoggingConfiguration"]["CloudWatchLogs"]["LogGroupName"],
        format!("/aws/kinesis/orders/{id}")
    );
    assert_eq!(
        d["LoggingConfiguration"]["CloudWatchLogs"]["LogStreamName"],
        "DestinationDelivery"
    );
    let too_fresh =
        json!({"ChannelARN": arn, "S3DestinationConfiguration": {"DataFreshnessInSeconds": 60}});
    assert_eq!(
        h.channel("UpdateChannel", too_fresh)
            .await
            .unwrap_err()
            .kind,
        ErrorKind::Validation
    );

    h.channel("DeleteChannel", json!({"ChannelARN": arn}))
        .await
        .unwrap();
    let e = h
        .channel("DescribeChannel", json!({"ChannelARN": arn}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceNotFound);
    h.kinesis("DeleteStream", json!({"StreamName": "src"}))
        .await;
}

#[tokio::test]
async fn requests_are_checked_before_a_channel_exists() {
    let h = Harness::instant().await;
    stream(&h, "PROVISIONED").await;
    let e = h
        .channel("CreateChannel", create_body("c", json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Validation);
    assert!(e.message.contains("on-demand"), "{}", e.message);
    h.kinesis(
        "UpdateStreamMode",
        json!({"StreamARN": STREAM_ARN, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
    )
    .await;
    let bad = [
        (
            json!({"OutputKeyTemplate": "data/!{channel-name}"}),
            "extension placeholder",
        ),
        (
            json!({"OutputKeyTemplate": "/x!{extension}"}),
            "forward slash",
        ),
        (json!({"CompressionType": "LZ4"}), "compressionType"),
    ];
    for (storage, why) in bad {
        let e = h
            .channel("CreateChannel", create_body("c", storage))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Validation);
        assert!(e.message.contains(why), "{why}: {}", e.message);
    }
    let mut both = create_body("c", json!({}));
    both["S3TablesDestinationConfiguration"] = json!({});
    let e = h.channel("CreateChannel", both).await.unwrap_err();
    assert!(e.message.contains("not both"), "{}", e.message);
    create(&h, "c", json!({})).await;
    let e = h
        .channel("CreateChannel", create_body("c", json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceInUse);
    let e = h
        .channel("CreateChannel", create_body("d", json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::LimitExceeded, "{}", e.message);
}

#[tokio::test]
async fn a_stream_with_a_channel_is_kept_and_counted() {
    let h = Harness::instant().await;
    stream(&h, "ON_DEMAND").await;
    create(&h, "c", json!({})).await;
    let e = h
        .kinesis_call("DeleteStream", json!({"StreamName": "src"}))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceInUse);
    assert!(e.message.contains("channels"), "{}", e.message);
    let limits = h.kinesis("DescribeLimits", json!({})).await;
    assert_eq!(
        (
            limits["ChannelCount"].clone(),
            limits["ChannelCountLimit"].clone()
        ),
        (json!(1), json!(100))
    );
    let summary = h
        .kinesis("DescribeStreamSummary", json!({"StreamName": "src"}))
        .await;
    assert_eq!(summary["StreamDescriptionSummary"]["ChannelCount"], 1);
    assert_eq!(
        summary["StreamDescriptionSummary"]["ConsumerCount"], 0,
        "channels take no consumer slot"
    );
}

/// Data object keys, their text, and the dead-letter objects.
type Delivered = (Vec<String>, String, Vec<(String, Vec<u8>)>);

/// The text of the channel's data objects (decompressed, in key order) and its dead-letter
/// objects.
fn split(h: &Harness) -> Delivered {
    let mut delivered = h.delivered();
    delivered.sort();
    let (data, letters): (Vec<_>, Vec<_>) = delivered
        .into_iter()
        .partition(|(k, _)| k.starts_with("events/"));
    let mut text = String::new();
    for (_, body) in &data {
        flate2::read::GzDecoder::new(&body[..])
            .read_to_string(&mut text)
            .unwrap();
    }
    (data.into_iter().map(|(k, _)| k).collect(), text, letters)
}

/// Flushes the channel until `lines` records and a dead letter are delivered (the copy from
/// Kinesis runs on its own task, so they may come in several objects).
async fn flushed(
    h: &Harness,
    arn: &str,
    lines: usize,
) -> (Vec<String>, String, Vec<(String, Vec<u8>)>) {
    for _ in 0..5000 {
        let name = h.firehose.channel(arn).unwrap().name.clone();
        h.firehose.flush(&name).await.expect("flush");
        let (keys, text, letters) = split(h);
        if text.lines().count() >= lines && !letters.is_empty() {
            return (keys, text, letters);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("fewer than {lines} records delivered");
}

#[tokio::test]
async fn records_after_activation_are_delivered_by_the_template_and_bad_ones_dead_lettered() {
    let h = Harness::instant().await;
    stream(&h, "ON_DEMAND").await;
    put(&h, b"{\"before\": true}").await;
    h.advance(1_000);
    let template = "events/!{stream-name}/!{yyyy}-!{MM}-!{dd}/!{channel-name}!{extension}";
    let d = create(&h, "c", json!({"OutputKeyTemplate": template})).await;
    let arn = d["ChannelARN"].as_str().unwrap().to_string();
    put(&h, b"{\"n\": 1}").await;
    put(&h, b"oops").await;
    put(&h, b"{\"n\": 2}\n").await;
    let (keys, text, letters) = flushed(&h, &arn, 2).await;
    for key in &keys {
        assert!(
            key.starts_with("events/src/2026-12-01/c-") && key.ends_with(".gz"),
            "{key}"
        );
    }
    // Key order is not delivery order when the records came in two objects: each key ends in a
    // random UUID.
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    assert_eq!(
        (lines, text.ends_with('\n')),
        (vec!["{\"n\": 1}", "{\"n\": 2}"], true),
        "no backfill; one JSON record per line"
    );
    let [(dlq_key, dlq)] = &letters[..] else {
        panic!("one dead-letter object: {letters:?}");
    };
    assert!(
        dlq_key.starts_with("kinesis-channel/errors/c/"),
        "{dlq_key}"
    );
    assert!(dlq_key.contains("/2026/12/01/00/"), "{dlq_key}");
    let line: Value = serde_json::from_slice(dlq).unwrap();
    assert_eq!(line["errorCode"], "RecordFormatMismatch");
    assert_eq!(line["streamARN"], STREAM_ARN);
    assert!(
        line["sequenceNumber"]
            .as_str()
            .is_some_and(|s| s.len() > 20),
        "{line}"
    );
}

//! The control plane: lifecycle, description defaults, validation, updates, tags, listing.

use super::{instant_config, Harness};
use crate::FirehoseConfig;
use serde_json::{json, Value};
use spate_wire::ErrorKind;

#[tokio::test]
async fn a_stream_is_creating_for_its_window_and_refuses_records_meanwhile() {
    let h = Harness::new(FirehoseConfig {
        creating_delay_ms: 500,
        ..instant_config()
    })
    .await;
    h.create("s", json!({})).await;
    assert_eq!(h.describe("s").await["DeliveryStreamStatus"], "CREATING");
    let e = h
        .err(
            "PutRecord",
            json!({"DeliveryStreamName": "s", "Record": {"Data": "eA=="}}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::ResourceNotFound);
    let e = h
        .err("DeleteDeliveryStream", json!({"DeliveryStreamName": "s"}))
        .await;
    assert_eq!(e.kind, ErrorKind::ResourceInUse);
    h.advance(500);
    assert_eq!(h.describe("s").await["DeliveryStreamStatus"], "ACTIVE");
    h.ok(
        "PutRecord",
        json!({"DeliveryStreamName": "s", "Record": {"Data": "eA=="}}),
    )
    .await;
}

#[tokio::test]
async fn describe_shows_the_defaults_aws_fills_in() {
    let h = Harness::instant().await;
    h.create("s", json!({})).await;
    let d = h.describe("s").await;
    assert_eq!(
        d["DeliveryStreamARN"],
        "arn:aws:firehose:us-east-1:000000000000:deliverystream/s"
    );
    assert_eq!(d["DeliveryStreamType"], "DirectPut");
    assert_eq!(d["VersionId"], "1");
    assert_eq!(d["HasMoreDestinations"], false);
    assert_eq!(
        d["DeliveryStreamEncryptionConfiguration"],
        json!({"Status": "DISABLED"})
    );
    assert!(d.get("LastUpdateTimestamp").is_none());
    let dest = &d["Destinations"][0];
    assert_eq!(dest["DestinationId"], "destinationId-000000000001");
    let ext = &dest["ExtendedS3DestinationDescription"];
    assert_eq!(
        ext["BufferingHints"],
        json!({"SizeInMBs": 5, "IntervalInSeconds": 300})
    );
    assert_eq!(ext["CompressionFormat"], "UNCOMPRESSED");
    assert_eq!(
        ext["EncryptionConfiguration"],
        json!({"NoEncryptionConfig": "NoEncryption"})
    );
    assert_eq!(ext["CloudWatchLoggingOptions"], json!({"Enabled": false}));
    assert_eq!(ext["S3BackupMode"], "Disabled");
    let plain = &dest["S3DestinationDescription"];
    assert_eq!(plain["BucketARN"], "arn:aws:s3:::bucket-1");
    assert!(plain.get("S3BackupMode").is_none());
}

#[tokio::test]
async fn names_are_unique_and_unknown_names_are_not_found() {
    let h = Harness::instant().await;
    h.create("s", json!({})).await;
    let body = json!({"DeliveryStreamName": "s", "S3DestinationConfiguration": {
        "RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::b-1"}});
    let e = h.err("CreateDeliveryStream", body).await;
    assert_eq!(e.kind, ErrorKind::ResourceInUse);
    assert_eq!(
        e.message,
        "Firehose s under accountId 000000000000 already exists"
    );
    let e = h
        .err(
            "DescribeDeliveryStream",
            json!({"DeliveryStreamName": "nope"}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::ResourceNotFound);
    assert_eq!(
        e.message,
        "Firehose nope under account 000000000000 not found."
    );
}

#[tokio::test]
async fn requests_are_validated_with_aws_messages() {
    let h = Harness::instant().await;
    let e = h.err("CreateDeliveryStream", json!({})).await;
    assert_eq!(e.message, "1 validation error detected: Value null at 'deliveryStreamName' failed to satisfy constraint: Member must not be null");
    let body = json!({"DeliveryStreamName": "s", "ExtendedS3DestinationConfiguration": {
        "RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::b-1",
        "BufferingHints": {"SizeInMBs": 129, "IntervalInSeconds": 900}, "CompressionFormat": "gzip"}});
    let e = h.err("CreateDeliveryStream", body).await;
    assert_eq!(e.kind, ErrorKind::Validation);
    assert!(e.message.starts_with("2 validation errors detected: Value '129' at 'extendedS3DestinationConfiguration.bufferingHints.sizeInMBs' failed to satisfy constraint: Member must have value less than or equal to 128; Value 'gzip' at 'extendedS3DestinationConfiguration.compressionFormat' failed to satisfy constraint: Member must satisfy enum value set: [UNCOMPRESSED, GZIP, ZIP, Snappy, HADOOP_SNAPPY]"), "{}", e.message);
    let e = h
        .err("CreateDeliveryStream", json!({"DeliveryStreamName": "s"}))
        .await;
    assert_eq!(
        (e.kind, e.message.as_str()),
        (
            ErrorKind::InvalidArgument,
            "Exactly one destination configuration is supported for a Firehose"
        )
    );
    let body = json!({"DeliveryStreamName": "s", "ExtendedS3DestinationConfiguration": {
        "RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": "arn:aws:s3:::b-1",
        "Prefix": "data/!{timestamp:yyyy}/"}});
    let e = h.err("CreateDeliveryStream", body).await;
    assert_eq!(e.message, "Ths supplied prefix(es) do not satisfy the following constraint: ErrorOutputPrefix cannot be null or empty when Prefix contains expressions");
    let body = json!({"DeliveryStreamName": "s", "SnowflakeDestinationConfiguration": {}});
    let e = h.err("CreateDeliveryStream", body).await;
    assert!(
        e.message
            .contains("Snowflake destination is not supported by Spate yet"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn update_destination_checks_the_version_and_merges() {
    let h = Harness::instant().await;
    h.create("s", json!({"Prefix": "a/", "CompressionFormat": "GZIP"}))
        .await;
    let update = |version: &str| {
        json!({"DeliveryStreamName": "s", "CurrentDeliveryStreamVersionId": version,
        "DestinationId": "destinationId-000000000001",
        "ExtendedS3DestinationUpdate": {"BufferingHints": {"SizeInMBs": 1}}})
    };
    let e = h.err("UpdateDestination", update("7")).await;
    assert_eq!(e.kind, ErrorKind::ConcurrentModification);
    h.advance(1000);
    h.ok("UpdateDestination", update("1")).await;
    let d = h.describe("s").await;
    assert_eq!(d["VersionId"], "2");
    assert!(d.get("LastUpdateTimestamp").is_some());
    let ext = &d["Destinations"][0]["ExtendedS3DestinationDescription"];
    assert_eq!(
        ext["BufferingHints"],
        json!({"SizeInMBs": 1, "IntervalInSeconds": 300})
    );
    assert_eq!(ext["Prefix"], "a/");
    assert_eq!(ext["CompressionFormat"], "GZIP");
    // The same change again changes nothing, so the version stays.
    h.ok("UpdateDestination", update("2")).await;
    assert_eq!(h.describe("s").await["VersionId"], "2");
}

#[tokio::test]
async fn update_destination_replaces_across_types_only_with_a_complete_update() {
    let h = Harness::instant().await;
    h.create("s", json!({"Prefix": "a/"})).await;
    let update = |version: &str, member: &str, body: Value| {
        let mut u = json!({"DeliveryStreamName": "s", "CurrentDeliveryStreamVersionId": version,
            "DestinationId": "destinationId-000000000001"});
        u[member] = body;
        u
    };
    let bucket = json!({"RoleARN": "arn:aws:iam::000000000000:role/f",
        "BucketARN": "arn:aws:s3:::bucket-2"});
    let partial = update("1", "RedshiftDestinationUpdate", json!({"Username": "u"}));
    let e = h.err("UpdateDestination", partial).await;
    assert!(e.message.contains("ClusterJDBCURL"), "{}", e.message);
    let redshift = json!({"RoleARN": "arn:aws:iam::000000000000:role/f",
        "ClusterJDBCURL": "jdbc:postgresql://127.0.0.1:5432/db", "Username": "u",
        "Password": "secret-password", "CopyCommand": {"DataTableName": "events"},
        "S3Update": bucket});
    h.ok(
        "UpdateDestination",
        update("1", "RedshiftDestinationUpdate", redshift),
    )
    .await;
    let d = h.describe("s").await;
    let described = &d["Destinations"][0]["RedshiftDestinationDescription"];
    assert_eq!(described["CopyCommand"]["DataTableName"], "events");
    assert_eq!(
        described["S3DestinationDescription"]["BucketARN"],
        "arn:aws:s3:::bucket-2"
    );
    let search = update(
        "2",
        "AmazonopensearchserviceDestinationUpdate",
        json!({"IndexName": "x"}),
    );
    let e = h.err("UpdateDestination", search).await;
    assert!(
        e.message
            .starts_with("Switching between Amazon OpenSearch Service"),
        "{}",
        e.message
    );
    let two = {
        let mut u = update("2", "RedshiftDestinationUpdate", json!({"Username": "v"}));
        u["ExtendedS3DestinationUpdate"] = bucket.clone();
        u
    };
    let e = h.err("UpdateDestination", two).await;
    assert!(
        e.message.contains("Exactly one destination update"),
        "{}",
        e.message
    );
    h.ok(
        "UpdateDestination",
        update("2", "ExtendedS3DestinationUpdate", bucket),
    )
    .await;
    let d = h.describe("s").await;
    assert_eq!(
        d["Destinations"][0]["ExtendedS3DestinationDescription"]["BucketARN"],
        "arn:aws:s3:::bucket-2"
    );
}

#[tokio::test]
async fn listing_pages_by_name_and_type() {
    let h = Harness::instant().await;
    for name in ["c", "a", "b"] {
        h.create(name, json!({})).await;
    }
    let out = h.ok("ListDeliveryStreams", json!({"Limit": 2})).await;
    assert_eq!(
        out,
        json!({"DeliveryStreamNames": ["a", "b"], "HasMoreDeliveryStreams": true})
    );
    let out = h
        .ok(
            "ListDeliveryStreams",
            json!({"ExclusiveStartDeliveryStreamName": "b"}),
        )
        .await;
    assert_eq!(
        out,
        json!({"DeliveryStreamNames": ["c"], "HasMoreDeliveryStreams": false})
    );
    let out = h
        .ok(
            "ListDeliveryStreams",
            json!({"DeliveryStreamType": "KinesisStreamAsSource"}),
        )
        .await;
    assert_eq!(out["DeliveryStreamNames"], json!([]));
}

#[tokio::test]
async fn tags_are_limited_to_fifty() {
    let h = Harness::instant().await;
    h.create("s", json!({})).await;
    let tags: Vec<_> = (0..50)
        .map(|i| json!({"Key": format!("k{i:02}"), "Value": "v"}))
        .collect();
    h.ok(
        "TagDeliveryStream",
        json!({"DeliveryStreamName": "s", "Tags": tags}),
    )
    .await;
    let e = h
        .err(
            "TagDeliveryStream",
            json!({"DeliveryStreamName": "s", "Tags": [{"Key": "one-more"}]}),
        )
        .await;
    assert_eq!(e.kind, ErrorKind::LimitExceeded);
    h.ok(
        "UntagDeliveryStream",
        json!({"DeliveryStreamName": "s", "TagKeys": ["k00"]}),
    )
    .await;
    let out = h
        .ok(
            "ListTagsForDeliveryStream",
            json!({"DeliveryStreamName": "s", "Limit": 2}),
        )
        .await;
    assert_eq!(
        out["Tags"],
        json!([{"Key": "k01", "Value": "v"}, {"Key": "k02", "Value": "v"}])
    );
    assert_eq!(out["HasMoreTags"], true);
}

#[tokio::test]
async fn encryption_moves_through_its_states() {
    let h = Harness::new(FirehoseConfig {
        updating_delay_ms: 100,
        ..instant_config()
    })
    .await;
    h.create("s", json!({})).await;
    h.ok(
        "StartDeliveryStreamEncryption",
        json!({"DeliveryStreamName": "s"}),
    )
    .await;
    let sse = &h.describe("s").await["DeliveryStreamEncryptionConfiguration"];
    assert_eq!(
        sse,
        &json!({"KeyType": "AWS_OWNED_CMK", "Status": "ENABLING"})
    );
    h.advance(100);
    assert_eq!(
        h.describe("s").await["DeliveryStreamEncryptionConfiguration"]["Status"],
        "ENABLED"
    );
    h.ok(
        "StopDeliveryStreamEncryption",
        json!({"DeliveryStreamName": "s"}),
    )
    .await;
    h.advance(100);
    assert_eq!(
        h.describe("s").await["DeliveryStreamEncryptionConfiguration"]["Status"],
        "DISABLED"
    );
}

#[tokio::test]
async fn a_deleted_stream_is_gone_after_its_window() {
    let h = Harness::new(FirehoseConfig {
        deleting_delay_ms: 300,
        ..instant_config()
    })
    .await;
    h.create("s", json!({})).await;
    h.ok("DeleteDeliveryStream", json!({"DeliveryStreamName": "s"}))
        .await;
    assert_eq!(h.describe("s").await["DeliveryStreamStatus"], "DELETING");
    h.advance(300);
    h.firehose.tick().await;
    let e = h
        .err("DescribeDeliveryStream", json!({"DeliveryStreamName": "s"}))
        .await;
    assert_eq!(e.kind, ErrorKind::ResourceNotFound);
    use spate_log::RecordLog;
    assert!(
        h.log.shards().is_empty(),
        "the stream's records are removed"
    );
}

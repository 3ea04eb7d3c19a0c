//! Resharding, stream settings and per-shard limits through the real `aws-sdk-kinesis`.

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{
    EncryptionType, MetricsName, PutRecordsRequestEntry, ScalingType, ShardFilter, ShardFilterType,
    ShardIteratorType, StreamMode, StreamModeDetails,
};
use aws_sdk_kinesis::Client;
use spate_e2e_rust_sdk::{client, start_server};

async fn put(k: &Client, stream: &str, key: &str, data: &str) -> String {
    k.put_record()
        .stream_name(stream)
        .partition_key(key)
        .data(Blob::new(data.as_bytes().to_vec()))
        .send()
        .await
        .expect("put_record")
        .shard_id()
        .to_string()
}

/// Every record of a shard from TRIM_HORIZON, and the ChildShards its last page named.
async fn drain(k: &Client, stream: &str, shard: &str) -> (Vec<String>, Vec<String>) {
    let mut it = k
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator")
        .shard_iterator
        .expect("iterator value");
    let mut data = Vec::new();
    loop {
        let page = k
            .get_records()
            .shard_iterator(&it)
            .send()
            .await
            .expect("get_records");
        for r in page.records() {
            data.push(String::from_utf8_lossy(r.data().as_ref()).into_owned());
        }
        match page.next_shard_iterator() {
            Some(next) if !page.records().is_empty() => it = next.to_string(),
            Some(_) => return (data, Vec::new()),
            None => {
                let children = page
                    .child_shards()
                    .iter()
                    .map(|c| c.shard_id().to_string())
                    .collect();
                return (data, children);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_merge_and_resize_keep_every_record() {
    let mut server = start_server(&[]).await;
    let k = client(&server.endpoint);
    k.create_stream()
        .stream_name("rs")
        .shard_count(1)
        .send()
        .await
        .expect("create");
    for i in 0..20 {
        put(&k, "rs", &format!("k{i}"), &format!("before-{i}")).await;
    }
    k.split_shard()
        .stream_name("rs")
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key((1u128 << 127).to_string())
        .send()
        .await
        .expect("split");
    for i in 0..20 {
        put(&k, "rs", &format!("k{i}"), &format!("after-{i}")).await;
    }
    let (parent, children) = drain(&k, "rs", "shardId-000000000000").await;
    assert_eq!(parent.len(), 20);
    assert_eq!(
        children,
        vec!["shardId-000000000001", "shardId-000000000002"]
    );
    let mut after = Vec::new();
    for child in &children {
        let (data, grandchildren) = drain(&k, "rs", child).await;
        assert!(grandchildren.is_empty(), "children are open");
        after.extend(data);
    }
    after.sort();
    let mut expected: Vec<String> = (0..20).map(|i| format!("after-{i}")).collect();
    expected.sort();
    assert_eq!(after, expected);

    k.merge_shards()
        .stream_name("rs")
        .shard_to_merge("shardId-000000000001")
        .adjacent_shard_to_merge("shardId-000000000002")
        .send()
        .await
        .expect("merge");
    let resized = k
        .update_shard_count()
        .stream_name("rs")
        .target_shard_count(2)
        .scaling_type(ScalingType::UniformScaling)
        .send()
        .await
        .expect("update_shard_count");
    assert_eq!(resized.current_shard_count(), Some(1));
    assert_eq!(resized.target_shard_count(), Some(2));
    let open = k
        .list_shards()
        .stream_name("rs")
        .shard_filter(
            ShardFilter::builder()
                .r#type(ShardFilterType::AtLatest)
                .build()
                .expect("filter"),
        )
        .send()
        .await
        .expect("list_shards");
    assert_eq!(open.shards().len(), 2);
    assert!(open
        .shards()
        .iter()
        .all(|s| s.parent_shard_id() == Some("shardId-000000000003")));

    let err = k
        .merge_shards()
        .stream_name("rs")
        .shard_to_merge("shardId-000000000000")
        .adjacent_shard_to_merge("shardId-000000000001")
        .send()
        .await
        .expect_err("merging closed shards");
    assert!(err.into_service_error().is_resource_in_use_exception());
    let _ = server.child.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_and_shard_limits() {
    let mut server = start_server(&["--enforce-shard-limits"]).await;
    let k = client(&server.endpoint);
    k.create_stream()
        .stream_name("st")
        .shard_count(1)
        .send()
        .await
        .expect("create");
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/st";

    let monitoring = k
        .enable_enhanced_monitoring()
        .stream_name("st")
        .shard_level_metrics(MetricsName::All)
        .send()
        .await
        .expect("enable monitoring");
    assert_eq!(monitoring.desired_shard_level_metrics().len(), 7);
    k.update_max_record_size()
        .stream_arn(arn)
        .max_record_size_in_kib(10240)
        .send()
        .await
        .expect("max record size");
    k.put_resource_policy()
        .resource_arn(arn)
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kinesis:GetRecords","Resource":"*"}]}"#)
        .send()
        .await
        .expect("policy");
    let policy = k
        .get_resource_policy()
        .resource_arn(arn)
        .send()
        .await
        .expect("get policy");
    assert!(policy.policy().contains("kinesis:GetRecords"));
    k.update_stream_mode()
        .stream_arn(arn)
        .stream_mode_details(
            StreamModeDetails::builder()
                .stream_mode(StreamMode::OnDemand)
                .build()
                .expect("mode"),
        )
        .send()
        .await
        .expect("mode");
    let summary = k
        .describe_stream_summary()
        .stream_name("st")
        .send()
        .await
        .expect("summary");
    let summary = summary.stream_description_summary().expect("summary body");
    assert_eq!(
        summary.stream_mode_details().map(|m| m.stream_mode()),
        Some(&StreamMode::OnDemand)
    );
    assert_eq!(summary.max_record_size_in_kib(), Some(10240));

    // A 10 MiB record overdraws the shard's 1 MiB/s write bucket by 9 MiB: writes in the next
    // nine seconds are throttled, whole for PutRecord and per record for PutRecords.
    k.put_record()
        .stream_name("st")
        .partition_key("big")
        .data(Blob::new(vec![7u8; 10 * 1024 * 1024]))
        .send()
        .await
        .expect("a 10 MiB record after raising the limit");
    let err = k
        .put_record()
        .stream_name("st")
        .partition_key("k")
        .data(Blob::new(b"x".to_vec()))
        .customize()
        .config_override(
            aws_sdk_kinesis::config::Config::builder()
                .retry_config(aws_sdk_kinesis::config::retry::RetryConfig::disabled()),
        )
        .send()
        .await
        .expect_err("throttled");
    assert!(err
        .into_service_error()
        .is_provisioned_throughput_exceeded_exception());
    let entries: Vec<PutRecordsRequestEntry> = (0..3)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("k{i}"))
                .data(Blob::new(b"x".to_vec()))
                .build()
                .expect("entry")
        })
        .collect();
    let put = k
        .put_records()
        .stream_name("st")
        .set_records(Some(entries))
        .send()
        .await
        .expect("put_records answers 200 with failed entries");
    assert_eq!(put.failed_record_count(), Some(3));
    assert!(put.records().iter().all(|r| r.error_code()
        == Some("ProvisionedThroughputExceededException")
        && r.sequence_number().is_none()));
    let _ = server.child.kill().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn encrypted_stream_round_trip() {
    let mut server = start_server(&[]).await;
    let k = client(&server.endpoint);
    k.create_stream()
        .stream_name("enc")
        .shard_count(1)
        .send()
        .await
        .expect("create");
    k.start_stream_encryption()
        .stream_name("enc")
        .encryption_type(EncryptionType::Kms)
        .key_id("alias/aws/kinesis")
        .send()
        .await
        .expect("start encryption");
    let put = k
        .put_record()
        .stream_name("enc")
        .partition_key("k")
        .data(Blob::new(b"sealed".to_vec()))
        .send()
        .await
        .expect("put");
    assert_eq!(put.encryption_type(), Some(&EncryptionType::Kms));
    let it = k
        .get_shard_iterator()
        .stream_name("enc")
        .shard_id("shardId-000000000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("iterator");
    let page = k
        .get_records()
        .shard_iterator(it.shard_iterator().expect("iterator value"))
        .send()
        .await
        .expect("get_records");
    let record = &page.records()[0];
    assert_eq!(record.data().as_ref(), b"sealed");
    assert_eq!(record.encryption_type(), Some(&EncryptionType::Kms));
    let err = k
        .start_stream_encryption()
        .stream_name("enc")
        .encryption_type(EncryptionType::Kms)
        .key_id("alias/unknown")
        .send()
        .await
        .expect_err("unknown key");
    assert!(err.into_service_error().is_kms_not_found_exception());
    let _ = server.child.kill().await;
}

//! The real `aws-sdk-kinesis` against the real `spate` binary.

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use spate_e2e_rust_sdk::{client, start_server};
use std::collections::HashMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sdk_round_trip() {
    let mut server = start_server(&[]).await;
    let k = client(&server.endpoint);

    k.create_stream()
        .stream_name("rust-sdk")
        .shard_count(2)
        .send()
        .await
        .expect("create");
    let summary = k
        .describe_stream_summary()
        .stream_name("rust-sdk")
        .send()
        .await
        .expect("summary");
    let summary = summary.stream_description_summary().expect("summary body");
    assert_eq!(summary.open_shard_count(), 2);

    let mut sent: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    let entries: Vec<PutRecordsRequestEntry> = (0..60)
        .map(|i| {
            let key = format!("key-{}", i % 7);
            let data = format!("record {i}").into_bytes();
            sent.entry(key.clone()).or_default().push(data.clone());
            PutRecordsRequestEntry::builder()
                .partition_key(key)
                .data(Blob::new(data))
                .build()
                .expect("entry")
        })
        .collect();
    let put = k
        .put_records()
        .stream_name("rust-sdk")
        .set_records(Some(entries))
        .send()
        .await
        .expect("put_records");
    assert_eq!(put.failed_record_count(), Some(0));
    assert_eq!(put.records().len(), 60);

    let single = k
        .put_record()
        .stream_name("rust-sdk")
        .partition_key("key-0")
        .data(Blob::new(b"last".to_vec()))
        .send()
        .await
        .expect("put_record");
    sent.entry("key-0".into())
        .or_default()
        .push(b"last".to_vec());
    assert_eq!(single.sequence_number().len(), 56);

    let shards = k
        .list_shards()
        .stream_name("rust-sdk")
        .send()
        .await
        .expect("list_shards");
    let mut received: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    let mut total = 0;
    for shard in shards.shards() {
        let it = k
            .get_shard_iterator()
            .stream_name("rust-sdk")
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("iterator");
        let page = k
            .get_records()
            .shard_iterator(it.shard_iterator().expect("it"))
            .send()
            .await
            .expect("get_records");
        assert!(page.next_shard_iterator().is_some());
        let mut last_seq: Option<u128> = None;
        for r in page.records() {
            // 56 digits do not fit u128: compare the counter part, which is what orders them.
            let seq: u128 = r.sequence_number()[20..40].parse().expect("digits");
            assert!(
                last_seq.is_none_or(|l| seq > l),
                "sequence numbers increase within a shard"
            );
            last_seq = Some(seq);
            assert!(r.approximate_arrival_timestamp().is_some());
            received
                .entry(r.partition_key().unwrap_or_default().to_string())
                .or_default()
                .push(r.data().as_ref().to_vec());
            total += 1;
        }
    }
    assert_eq!(total, 61);
    assert_eq!(received, sent, "every record back, in per-key order");

    let missing = k
        .describe_stream()
        .stream_name("no-such-stream")
        .send()
        .await
        .expect_err("missing stream");
    assert!(missing
        .into_service_error()
        .is_resource_not_found_exception());

    k.delete_stream()
        .stream_name("rust-sdk")
        .send()
        .await
        .expect("delete");
    let listed = k.list_streams().send().await.expect("list");
    assert!(listed.stream_names().is_empty());
    let _ = server.child.kill().await;
}

//! The Rust producer library (spate-producer) against the real binary: aggregated records read
//! back de-aggregated, each user record exactly once, in per-key order, where its receipt says;
//! and across a split while it is sending.

use aws_sdk_kinesis::types::ShardIteratorType;
use aws_sdk_kinesis::Client;
use spate_e2e_rust_sdk::{client, start_server};
use spate_producer::shards::hash_key;
use spate_producer::{Producer, ProducerConfig, Receipt};
use std::collections::HashMap;

/// Every user record of every shard (de-aggregated), with the shard's hash key range, as a
/// KCL reads them: sub-records whose hash key is outside the shard are skipped.
async fn read_all(k: &Client, stream: &str) -> Vec<(String, String, Vec<u8>, String, u64)> {
    let shards = k
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .expect("list_shards");
    let mut out = Vec::new();
    for shard in shards.shards() {
        let range = shard.hash_key_range().expect("range");
        let (start, end): (u128, u128) = (
            range.starting_hash_key().parse().unwrap(),
            range.ending_hash_key().parse().unwrap(),
        );
        let mut iterator = k
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("iterator")
            .shard_iterator()
            .map(str::to_string);
        while let Some(it) = iterator {
            let page = k
                .get_records()
                .shard_iterator(&it)
                .limit(10_000)
                .send()
                .await
                .expect("get_records");
            for record in page.records() {
                let data = record.data().as_ref();
                let users = if spate_kpl::is_aggregated(data) {
                    spate_kpl::deaggregate(data).expect("aggregate")
                } else {
                    vec![spate_kpl::UserRecord {
                        partition_key: record.partition_key().unwrap_or_default().to_string(),
                        explicit_hash_key: None,
                        data: data.to_vec(),
                    }]
                };
                for (i, user) in users.into_iter().enumerate() {
                    let hash = hash_key(&user.partition_key);
                    if (start..=end).contains(&hash) {
                        out.push((
                            shard.shard_id().to_string(),
                            user.partition_key,
                            user.data,
                            record.sequence_number().to_string(),
                            i as u64,
                        ));
                    }
                }
            }
            if page.records().is_empty() && page.millis_behind_latest() == Some(0) {
                break;
            }
            iterator = page.next_shard_iterator().map(str::to_string);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_records_arrive_once_in_key_order_where_their_receipts_say() {
    let mut server = start_server(&[]).await;
    let k = client(&server.endpoint);
    k.create_stream()
        .stream_name("produced")
        .shard_count(4)
        .send()
        .await
        .expect("create");
    let producer = Producer::start(k.clone(), ProducerConfig::new("produced"))
        .await
        .expect("producer");
    let mut pending = Vec::new();
    for i in 0..20_000u32 {
        let key = format!("key-{}", i % 997);
        let data = format!("{key}/{i}").into_bytes();
        let sent = producer
            .send(key.clone(), data.clone())
            .await
            .expect("send");
        pending.push((data, sent));
    }
    let mut receipts: HashMap<Vec<u8>, Receipt> = HashMap::new();
    for (data, p) in pending {
        receipts.insert(data, p.await.expect("accepted"));
    }
    producer.close().await;

    let read = read_all(&k, "produced").await;
    assert_eq!(read.len(), 20_000, "every record once");
    let mut last_index: HashMap<String, u32> = HashMap::new();
    let mut aggregated = 0;
    for (shard, key, data, sequence, sub) in &read {
        let receipt = &receipts[data];
        assert_eq!(
            (
                &receipt.shard_id,
                &receipt.sequence_number,
                receipt.sub_sequence_number
            ),
            (shard, sequence, *sub)
        );
        aggregated += usize::from(*sub > 0);
        let index: u32 = std::str::from_utf8(data)
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        if let Some(previous) = last_index.insert(key.clone(), index) {
            assert!(previous < index, "per-key order for {key}");
        }
    }
    assert!(
        aggregated > 10_000,
        "records were aggregated ({aggregated} inside aggregates)"
    );
    server.child.kill().await.expect("stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_while_sending_loses_nothing() {
    let mut server = start_server(&[]).await;
    let k = client(&server.endpoint);
    k.create_stream()
        .stream_name("split")
        .shard_count(1)
        .send()
        .await
        .expect("create");
    let producer = Producer::start(k.clone(), ProducerConfig::new("split"))
        .await
        .expect("producer");
    let mut pending = Vec::new();
    for i in 0..3_000u32 {
        if i == 1_000 {
            producer.flush().await;
            k.split_shard()
                .stream_name("split")
                .shard_to_split("shardId-000000000000")
                .new_starting_hash_key((u128::MAX / 2).to_string())
                .send()
                .await
                .expect("split");
            for _ in 0..100 {
                let s = k
                    .describe_stream_summary()
                    .stream_name("split")
                    .send()
                    .await
                    .expect("summary");
                if s.stream_description_summary()
                    .map(|d| d.stream_status().as_str())
                    == Some("ACTIVE")
                {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
        pending.push(
            producer
                .send(format!("k{}", i % 50), format!("{i}").into_bytes())
                .await
                .expect("send"),
        );
    }
    for p in pending {
        p.await.expect("accepted");
    }
    producer.close().await;
    let read = read_all(&k, "split").await;
    let mut seen: Vec<u32> = read
        .iter()
        .map(|(_, _, d, _, _)| std::str::from_utf8(d).unwrap().parse().unwrap())
        .collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(
        seen.len(),
        3_000,
        "every record readable in the shard that owns it"
    );
    server.child.kill().await.expect("stop");
}

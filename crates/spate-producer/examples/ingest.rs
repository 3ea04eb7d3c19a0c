//! Producer throughput: user records of a given size sent as fast as the producer takes them,
//! timed until every one is acknowledged, then (with `--verify`) read back, de-aggregated and
//! counted. Against Spate:
//!
//! ```sh
//! spate serve --in-memory --port 4567 &
//! cargo run --release -p spate-producer --example ingest -- \
//!   --endpoint http://127.0.0.1:4567 --shards 8 --records 2000000 --record-size 100 --verify
//! ```

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::types::ShardIteratorType;
use spate_producer::{Producer, ProducerConfig};
use std::time::Instant;

struct Args {
    endpoint: String,
    stream: String,
    shards: i32,
    records: u64,
    record_size: usize,
    keys: u64,
    senders: u64,
    verify: bool,
}

fn args() -> Args {
    let mut a = Args {
        endpoint: "http://127.0.0.1:4567".into(),
        stream: "producer-bench".into(),
        shards: 8,
        records: 1_000_000,
        record_size: 100,
        keys: 100_000,
        senders: 2,
        verify: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match flag.as_str() {
            "--endpoint" => a.endpoint = value(),
            "--stream" => a.stream = value(),
            "--shards" => a.shards = value().parse().unwrap_or(8),
            "--records" => a.records = value().parse().unwrap_or(1_000_000),
            "--record-size" => a.record_size = value().parse().unwrap_or(100),
            "--keys" => a.keys = value().parse().unwrap_or(100_000),
            "--senders" => a.senders = value().parse().unwrap_or(2),
            "--verify" => a.verify = true,
            other => eprintln!("ignoring {other}"),
        }
    }
    a
}

/// A client for the endpoint, and the stream created and ACTIVE.
async fn stream(a: &Args) -> aws_sdk_kinesis::Client {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
        .endpoint_url(&a.endpoint)
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    let k = aws_sdk_kinesis::Client::from_conf(config);
    let _ = k
        .create_stream()
        .stream_name(&a.stream)
        .shard_count(a.shards)
        .send()
        .await;
    for _ in 0..200 {
        let s = k
            .describe_stream_summary()
            .stream_name(&a.stream)
            .send()
            .await
            .expect("describe");
        if s.stream_description_summary()
            .map(|d| d.stream_status().as_str())
            == Some("ACTIVE")
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    k
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let a = args();
    let k = stream(&a).await;
    let mut settings = ProducerConfig::new(&a.stream);
    // Spate without --enforce-shard-limits does not throttle: measure the producer, not the cap.
    settings.rate_limit_percent = 1_000_000;
    let producer = std::sync::Arc::new(
        Producer::start(k.clone(), settings)
            .await
            .expect("producer"),
    );
    let payload = bytes::Bytes::from(vec![b'x'; a.record_size]);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..a.senders {
        let (producer, payload, a_keys) = (producer.clone(), payload.clone(), a.keys);
        let (from, to) = (a.records * s / a.senders, a.records * (s + 1) / a.senders);
        tasks.push(tokio::spawn(async move {
            for i in from..to {
                // Results are not awaited one by one: close() waits for every acknowledgement.
                drop(
                    producer
                        .send(format!("key-{}", i % a_keys), payload.clone())
                        .await
                        .expect("send"),
                );
            }
        }));
    }
    for t in tasks {
        t.await.expect("sender");
    }
    match std::sync::Arc::try_unwrap(producer) {
        Ok(p) => p.close().await,
        Err(_) => unreachable!("the senders are done"),
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"records\":{},\"record_size\":{},\"shards\":{},\"seconds\":{secs:.3},\"records_per_sec\":{:.0},\"mb_per_sec\":{:.1}}}",
        a.records,
        a.record_size,
        a.shards,
        a.records as f64 / secs,
        a.records as f64 * a.record_size as f64 / secs / 1e6
    );
    if a.verify {
        println!("{{\"read_back\":{}}}", read_back(&k, &a.stream).await);
    }
}

async fn read_back(k: &aws_sdk_kinesis::Client, stream: &str) -> u64 {
    let shards = k
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .expect("list");
    let mut count = 0u64;
    for shard in shards.shards() {
        let mut it = k
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("iterator")
            .shard_iterator()
            .map(str::to_string);
        while let Some(i) = it {
            let page = k
                .get_records()
                .shard_iterator(&i)
                .limit(10_000)
                .send()
                .await
                .expect("get");
            for r in page.records() {
                let data = r.data().as_ref();
                count += if spate_kpl::is_aggregated(data) {
                    spate_kpl::deaggregate(data).expect("aggregate").len() as u64
                } else {
                    1
                };
            }
            if page.records().is_empty() && page.millis_behind_latest() == Some(0) {
                break;
            }
            it = page.next_shard_iterator().map(str::to_string);
        }
    }
    count
}

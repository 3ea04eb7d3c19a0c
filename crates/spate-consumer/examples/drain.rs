//! Consumer throughput: a stream is filled with N records of a given size (PutRecords, 500 at a
//! time), then one scheduler with a processor that counts (and checkpoints each batch) reads
//! them all; the time from start to the last record is reported. Against Spate:
//!
//! ```sh
//! spate serve --in-memory --port 4567 &
//! cargo run --release -p spate-consumer --example drain -- --endpoint http://127.0.0.1:4567 \
//!   --shards 4 --records 400000 --record-size 100
//! ```

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use spate_consumer::{Checkpointer, ConsumerConfig, Record, RecordProcessor, Scheduler};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

struct Counter(Arc<AtomicU64>);

impl RecordProcessor for Counter {
    async fn process_records(&mut self, records: &[Record], checkpointer: &Checkpointer) {
        self.0.fetch_add(records.len() as u64, Ordering::Relaxed);
        if let Some(last) = records.last() {
            let _ = checkpointer.checkpoint(last).await;
        }
    }

    async fn shard_ended(&mut self, checkpointer: &Checkpointer) {
        let _ = checkpointer.checkpoint_shard_end().await;
    }
}

fn flag(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

/// Kinesis and DynamoDB clients for `endpoint` (both served on Spate's one port).
fn clients(endpoint: &str) -> (aws_sdk_kinesis::Client, aws_sdk_dynamodb::Client) {
    let credentials =
        aws_sdk_kinesis::config::Credentials::new("bench", "bench", None, None, "bench");
    let http = aws_smithy_http_client::Builder::new().build_http();
    let kinesis = aws_sdk_kinesis::Client::from_conf(
        aws_sdk_kinesis::Config::builder()
            .behavior_version(aws_sdk_kinesis::config::BehaviorVersion::latest())
            .region(aws_sdk_kinesis::config::Region::new("us-east-1"))
            .credentials_provider(credentials.clone())
            .endpoint_url(endpoint)
            .http_client(http.clone())
            .build(),
    );
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(credentials)
            .endpoint_url(endpoint)
            .http_client(http)
            .build(),
    );
    (kinesis, dynamodb)
}

/// Fills `stream` with `records` records of `size` bytes, 500 per PutRecords.
async fn fill(kinesis: &aws_sdk_kinesis::Client, stream: &str, records: u64, size: usize) {
    let payload = vec![b'x'; size];
    let mut sent = 0;
    while sent < records {
        let batch: Vec<PutRecordsRequestEntry> = (sent..(sent + 500).min(records))
            .map(|i| {
                PutRecordsRequestEntry::builder()
                    .partition_key(format!("k{i}"))
                    .data(Blob::new(payload.clone()))
                    .build()
                    .expect("entry")
            })
            .collect();
        sent += batch.len() as u64;
        kinesis
            .put_records()
            .stream_name(stream)
            .set_records(Some(batch))
            .send()
            .await
            .expect("put");
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let endpoint = flag("--endpoint", "http://127.0.0.1:4567");
    let shards: i32 = flag("--shards", "4").parse().unwrap_or(4);
    let records: u64 = flag("--records", "400000").parse().unwrap_or(400_000);
    let size: usize = flag("--record-size", "100").parse().unwrap_or(100);
    let stream = format!("drain-{}", std::process::id());
    let (kinesis, dynamodb) = clients(&endpoint);
    kinesis
        .create_stream()
        .stream_name(&stream)
        .shard_count(shards)
        .send()
        .await
        .expect("create");
    tokio::time::sleep(std::time::Duration::from_millis(600)).await;
    fill(&kinesis, &stream, records, size).await;
    let count = Arc::new(AtomicU64::new(0));
    let counter = count.clone();
    let mut config = ConsumerConfig::new(format!("{stream}-app"), &stream, "bench-worker");
    config.idle_time_between_reads = std::time::Duration::from_millis(20);
    let scheduler = Scheduler::new(kinesis, dynamodb, config, move || Counter(counter.clone()));
    let started = Instant::now();
    let done = count.clone();
    let until_all = async move {
        while done.load(Ordering::Relaxed) < records {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    scheduler.run(until_all).await.expect("scheduler");
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{{\"records\":{records},\"record_size\":{size},\"shards\":{shards},\"seconds\":{secs:.3},\"records_per_sec\":{:.0}}}",
        count.load(Ordering::Relaxed) as f64 / secs
    );
}

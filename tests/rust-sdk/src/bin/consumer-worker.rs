//! A consumer worker process for the multi-process tests: spate-consumer's scheduler with a
//! processor that appends every record to a file (shard, key, data, sequence, sub-sequence per
//! line) and checkpoints after each batch. SIGTERM shuts it down gracefully.
//!
//! `consumer-worker ENDPOINT STREAM APPLICATION WORKER_ID OUTPUT FAILOVER_MS [polling|efo]`

use spate_consumer::{Checkpointer, ConsumerConfig, Record, RecordProcessor, Scheduler};
use std::io::Write;
use std::time::Duration;

struct Appender {
    output: std::path::PathBuf,
    shard: String,
}

impl RecordProcessor for Appender {
    async fn initialize(&mut self, shard_id: &str) {
        self.shard = shard_id.to_string();
    }

    async fn process_records(&mut self, records: &[Record], checkpointer: &Checkpointer) {
        let mut lines = String::new();
        for r in records {
            lines.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\n",
                self.shard,
                r.partition_key,
                String::from_utf8_lossy(&r.data),
                r.sequence_number,
                r.sub_sequence_number
            ));
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.output)
            .expect("output");
        file.write_all(lines.as_bytes()).expect("write");
        if let Some(last) = records.last() {
            let _ = checkpointer.checkpoint(last).await;
        }
    }

    async fn shard_ended(&mut self, checkpointer: &Checkpointer) {
        checkpointer
            .checkpoint_shard_end()
            .await
            .expect("SHARD_END checkpoint");
    }

    async fn shutdown_requested(&mut self, _checkpointer: &Checkpointer) {}
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (args, efo) = match args.split_last() {
        Some((last, rest)) if last == "efo" => (rest.to_vec(), true),
        Some((last, rest)) if last == "polling" => (rest.to_vec(), false),
        _ => (args.clone(), false),
    };
    let [_, endpoint, stream, application, worker, output, failover_ms] = args.as_slice() else {
        eprintln!(
            "usage: consumer-worker ENDPOINT STREAM APPLICATION WORKER_ID OUTPUT FAILOVER_MS"
        );
        std::process::exit(2);
    };
    let credentials =
        aws_sdk_kinesis::config::Credentials::new("worker", "worker", None, None, "test");
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
    let mut config = ConsumerConfig::new(application, stream, worker);
    config.failover_time = Duration::from_millis(failover_ms.parse().unwrap_or(1500));
    config.idle_time_between_reads = Duration::from_millis(50);
    config.shard_sync_interval = Duration::from_millis(500);
    if efo {
        config.retrieval = spate_consumer::Retrieval::FanOut {
            consumer_name: format!("{application}-efo"),
        };
    }
    let output = std::path::PathBuf::from(output);
    let scheduler = Scheduler::new(kinesis, dynamodb, config, move || Appender {
        output: output.clone(),
        shard: String::new(),
    });
    let shutdown = async {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("signal");
        term.recv().await;
    };
    scheduler.run(shutdown).await.expect("scheduler");
}

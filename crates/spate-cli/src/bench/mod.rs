//! `spate bench`: a load generator for any Kinesis endpoint (Spate, other emulators, AWS).

mod e2e;
mod firehose;
mod get;
mod lambda;
mod put;
mod queue;
mod report;

use clap::{Args, Subcommand};
use spate_client::{ClientError, Credentials, KinesisClient};
use std::time::Duration;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Write records with PutRecords (or PutRecord with --batch 1) and report throughput/latency.
    Put(put::PutArgs),
    /// Read a stream back from TRIM_HORIZON on every shard in parallel.
    Get(get::GetArgs),
    /// Put-to-visible latency through GetRecords polling, or enhanced fan-out with --efo.
    E2e(e2e::E2eArgs),
    /// Firehose: PutRecordBatch ingest, delivered throughput, put-to-object latency.
    Firehose(firehose::FirehoseArgs),
    /// Event source mappings: records/s delivered to a function, put-to-invocation latency.
    Lambda(lambda::LambdaArgs),
    /// Kinesis Queues: ReceiveQueueRecords + AcknowledgeQueueRecords throughput.
    Queue(queue::QueueArgs),
}

/// Where to send requests, shared by every bench command.
#[derive(Args, Debug, Clone)]
pub struct Target {
    #[arg(long, env = "SPATE_ENDPOINT", default_value = "http://127.0.0.1:4567")]
    pub endpoint: String,
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub region: String,
    #[arg(long, default_value = "bench")]
    pub stream: String,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// PEM certificates to trust for an `https://` endpoint besides the system's roots.
    #[arg(long, env = "AWS_CA_BUNDLE")]
    pub ca_bundle: Option<std::path::PathBuf>,
}

impl Target {
    pub fn client(&self) -> Result<KinesisClient, String> {
        let credentials = Credentials {
            access_key: std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "spate".into()),
            secret_key: std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "spate".into()),
            session_token: std::env::var("AWS_SESSION_TOKEN").ok(),
        };
        let trust = match &self.ca_bundle {
            Some(path) => spate_outbound::Trust::with_bundle(path)?,
            None => spate_outbound::Trust::system(),
        };
        KinesisClient::with_trust(&self.endpoint, &self.region, credentials, &trust)
            .map_err(|e| e.to_string())
    }
}

pub fn run(command: BenchCommand) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        match command {
            BenchCommand::Put(args) => put::run(args).await,
            BenchCommand::Get(args) => get::run(args).await,
            BenchCommand::E2e(args) => e2e::run(args).await,
            BenchCommand::Firehose(args) => firehose::run(args).await,
            BenchCommand::Lambda(args) => lambda::run(args).await,
            BenchCommand::Queue(args) => queue::run(args).await,
        }
    })
}

/// Creates the stream if it does not exist and waits until it is ACTIVE.
pub async fn ensure_stream(
    client: &KinesisClient,
    stream: &str,
    shards: u32,
) -> Result<(), String> {
    let create = serde_json::json!({"StreamName": stream, "ShardCount": shards});
    match client
        .call::<serde_json::Value>("CreateStream", &create)
        .await
    {
        Ok(_) => {}
        Err(ClientError::Api { code, .. }) if code == "ResourceInUseException" => {}
        Err(e) => return Err(format!("CreateStream: {e}")),
    }
    wait_active(client, stream).await
}

/// Polls DescribeStreamSummary until the stream is ACTIVE (up to a minute).
pub async fn wait_active(client: &KinesisClient, stream: &str) -> Result<(), String> {
    let describe = serde_json::json!({"StreamName": stream});
    for _ in 0..600 {
        let summary: serde_json::Value = client
            .call("DescribeStreamSummary", &describe)
            .await
            .map_err(|e| format!("DescribeStreamSummary: {e}"))?;
        if summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE" {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("stream {stream} did not become ACTIVE"))
}

/// Open shard ids of a stream (all pages).
pub async fn shard_ids(client: &KinesisClient, stream: &str) -> Result<Vec<String>, String> {
    let mut ids = Vec::new();
    let mut request = serde_json::json!({"StreamName": stream});
    loop {
        let page: serde_json::Value = client
            .call("ListShards", &request)
            .await
            .map_err(|e| format!("ListShards: {e}"))?;
        for shard in page["Shards"].as_array().into_iter().flatten() {
            if let Some(id) = shard["ShardId"].as_str() {
                ids.push(id.to_string());
            }
        }
        match page["NextToken"].as_str() {
            Some(token) => request = serde_json::json!({"NextToken": token}),
            None => return Ok(ids),
        }
    }
}

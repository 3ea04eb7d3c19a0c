//! `spate bench queue`: ReceiveQueueRecords + AcknowledgeQueueRecords throughput of a Kinesis
//! queue. `--records` are put first into an ON_DEMAND stream; a queue is created at
//! TRIM_HORIZON; `--consumers` loops each receive up to 10 records and acknowledge them until
//! every record was acknowledged.

use super::report::Latencies;
use super::Target;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Args;
use serde_json::{json, Value};
use spate_client::KinesisClient;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct QueueArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(long, default_value_t = 100_000)]
    pub records: usize,
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// Concurrent receive-and-acknowledge loops.
    #[arg(long, default_value_t = 16)]
    pub consumers: usize,
}

async fn call(client: &KinesisClient, op: &str, body: Value) -> Result<Value, String> {
    let out = client
        .call_raw(op, body.to_string().into_bytes())
        .await
        .map_err(|e| format!("{op}: {e}"))?;
    if out.is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&out).map_err(|e| format!("{op}: {e}"))
}

pub async fn run(args: QueueArgs) -> Result<(), String> {
    let client = Arc::new(args.target.client()?);
    let stream = &args.target.stream;
    let create = json!({"StreamName": stream, "StreamModeDetails": {"StreamMode": "ON_DEMAND"}});
    call(&client, "CreateStream", create).await?;
    super::wait_active(&client, stream).await?;
    let data = STANDARD.encode(vec![b'x'; args.record_size]);
    for start in (0..args.records).step_by(500) {
        let records: Vec<Value> = (start..(start + 500).min(args.records))
            .map(|i| json!({"Data": data, "PartitionKey": format!("k{i}")}))
            .collect();
        let out = call(
            &client,
            "PutRecords",
            json!({"StreamName": stream, "Records": records}),
        )
        .await?;
        if out["FailedRecordCount"].as_u64().unwrap_or(0) > 0 {
            return Err("PutRecords failed records".into());
        }
    }
    let arn = format!(
        "arn:aws:kinesis:{}:000000000000:stream/{stream}",
        args.target.region
    );
    let queue = json!({"QueueName": format!("{stream}-queue"), "StreamConfigurationList": [
        {"StreamARN": arn, "StartingPosition": {"Type": "TRIM_HORIZON"}}]});
    let out = call(&client, "CreateQueue", queue).await?;
    let queue_arn = out["QueueDescription"]["QueueARN"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let acked = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let loops: Vec<_> = (0..args.consumers)
        .map(|_| {
            let (client, arn, acked) = (client.clone(), queue_arn.clone(), acked.clone());
            let total = args.records;
            tokio::spawn(async move { consume(&client, &arn, &acked, total).await })
        })
        .collect();
    let mut latencies = Latencies::default();
    for l in loops {
        latencies.merge(l.await.map_err(|e| e.to_string())??);
    }
    let took = started.elapsed();
    let [p50, _, p99, _, _] = latencies.summary_ms();
    let rate = args.records as f64 / took.as_secs_f64();
    let _ = call(&client, "DeleteQueue", json!({"QueueARN": queue_arn})).await;
    if args.target.json {
        let report = json!({"records": args.records, "seconds": took.as_secs_f64(),
            "records_per_second": rate.round(), "consumers": args.consumers,
            "receive_plus_ack_ms": {"p50": p50, "p99": p99}});
        println!("{report}");
    } else {
        println!(
            "received and acknowledged {} records in {:.2} s: {rate:.0} records/s ({} consumers)",
            args.records,
            took.as_secs_f64(),
            args.consumers
        );
        println!("receive + acknowledge round trip ms: p50 {p50:.2}  p99 {p99:.2}");
    }
    Ok(())
}

/// Receives and acknowledges until `total` records were acknowledged by all loops.
async fn consume(
    client: &KinesisClient,
    arn: &str,
    acked: &AtomicUsize,
    total: usize,
) -> Result<Latencies, String> {
    let mut latencies = Latencies::default();
    while acked.load(Ordering::Relaxed) < total {
        let t = Instant::now();
        let body = json!({"QueueARN": arn, "Limit": 10, "WaitTimeSeconds": 1});
        let out = call(client, "ReceiveQueueRecords", body).await?;
        let handles: Vec<Value> = out["QueueRecords"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["ReceiptHandle"].as_str())
            .map(|h| json!({"ReceiptHandle": h}))
            .collect();
        if handles.is_empty() {
            tokio::time::sleep(Duration::from_millis(1)).await;
            continue;
        }
        let out = call(
            client,
            "AcknowledgeQueueRecords",
            json!({"QueueARN": arn, "Entries": handles}),
        )
        .await?;
        let ok = out["Successful"].as_array().map_or(0, Vec::len);
        acked.fetch_add(ok, Ordering::Relaxed);
        latencies.record(t.elapsed());
    }
    Ok(latencies)
}

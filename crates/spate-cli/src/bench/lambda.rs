//! `spate bench lambda`: how fast an event source mapping delivers a stream's records to a
//! function, and the put-to-invocation latency of single records.
//!
//! The function is either an HTTP URL served by this process (a `provided` function with
//! `SPATE_FUNCTION_URL`) or a `node` handler module that appends one line per batch to a file
//! this process reads (both on the same machine as the server). Throughput: `--records` are put
//! first, then the mapping is created at TRIM_HORIZON and timed until every record was seen.
//! Latency: one record at a time, from just before PutRecord until the batch holding it is seen.

use super::report::Latencies;
use super::{ensure_stream, Target};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use clap::{Args, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use serde_json::{json, Value};
use spate_client::KinesisClient;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum FunctionKind {
    Http,
    Node,
}

#[derive(Args, Debug, Clone)]
pub struct LambdaArgs {
    #[command(flatten)]
    pub target: Target,
    #[arg(long, value_enum, default_value = "http")]
    pub function: FunctionKind,
    #[arg(long, default_value_t = 2)]
    pub shards: u32,
    /// The mapping's BatchSize.
    #[arg(long, default_value_t = 100)]
    pub batch_size: u32,
    /// Records put before the mapping starts (throughput phase).
    #[arg(long, default_value_t = 100_000)]
    pub records: usize,
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// Put-to-invocation samples, one record at a time.
    #[arg(long, default_value_t = 200)]
    pub latency_samples: usize,
}

/// What a function saw of one batch: how many records and the first one's data.
struct Seen {
    at: Instant,
    count: usize,
    first: String,
}

const NODE_HANDLER: &str = r#"import { appendFileSync } from "node:fs";
export const handler = async (event) => {
  const first = Buffer.from(event.Records[0].kinesis.data, "base64").toString().slice(0, 32);
  appendFileSync(process.env.OUT, `${event.Records.length} ${first}\n`);
  return {};
};
"#;

pub async fn run(args: LambdaArgs) -> Result<(), String> {
    let client = args.target.client()?;
    let stream = &args.target.stream;
    ensure_stream(&client, stream, args.shards).await?;
    load(&client, stream, args.records, args.record_size).await?;
    let (seen, name) = match args.function {
        FunctionKind::Http => http_function(&client).await?,
        FunctionKind::Node => node_function(&client).await?,
    };
    let mut seen = seen;
    let started = Instant::now();
    let uuid = create_mapping(&client, &name, stream, args.batch_size).await?;
    let (mut records, mut batches) = (0usize, 0usize);
    while records < args.records {
        let s = tokio::time::timeout(Duration::from_secs(60), seen.recv())
            .await
            .map_err(|_| format!("stalled after {records} of {} records", args.records))?
            .ok_or("the function went away")?;
        records += s.count;
        batches += 1;
    }
    let took = started.elapsed();
    let mut latencies = latency(&client, stream, args.latency_samples, &mut seen).await?;
    let _ = client
        .call_rest(
            "DELETE",
            &format!("/2015-03-31/event-source-mappings/{uuid}"),
            Vec::new(),
        )
        .await;
    let _ = client
        .call_rest(
            "DELETE",
            &format!("/2015-03-31/functions/{name}"),
            Vec::new(),
        )
        .await;
    let [p50, p90, p99, _, max] = latencies.summary_ms();
    let rate = records as f64 / took.as_secs_f64();
    let report = json!({
        "function": format!("{:?}", args.function).to_lowercase(),
        "batch_size": args.batch_size,
        "records": records,
        "batches": batches,
        "seconds": took.as_secs_f64(),
        "records_per_second": rate.round(),
        "latency_ms": {"p50": p50, "p90": p90, "p99": p99, "max": max, "samples": args.latency_samples},
    });
    if args.target.json {
        println!("{report}");
    } else {
        println!(
            "delivered {records} records in {batches} batches in {:.2} s: {:.0} records/s (BatchSize {})",
            took.as_secs_f64(),
            rate,
            args.batch_size
        );
        println!("put-to-invocation ms: p50 {p50:.2}  p90 {p90:.2}  p99 {p99:.2}  max {max:.2}");
    }
    Ok(())
}

/// Put-to-invocation latency of `samples` records put one at a time.
async fn latency(
    client: &KinesisClient,
    stream: &str,
    samples: usize,
    seen: &mut mpsc::UnboundedReceiver<Seen>,
) -> Result<Latencies, String> {
    let mut latencies = Latencies::default();
    for i in 0..samples {
        let id = format!("lat-{i:06}");
        let sent = Instant::now();
        let body = json!({"StreamName": stream, "Data": STANDARD.encode(&id), "PartitionKey": id});
        client
            .call::<Value>("PutRecord", &body)
            .await
            .map_err(|e| format!("PutRecord: {e}"))?;
        loop {
            let s = tokio::time::timeout(Duration::from_secs(30), seen.recv())
                .await
                .map_err(|_| format!("sample {id} never arrived"))?
                .ok_or("the function went away")?;
            if s.first == id {
                latencies.record(s.at.duration_since(sent));
                break;
            }
        }
    }
    Ok(latencies)
}

/// Puts `count` records of `size` bytes with PutRecords, 500 at a time, 4 calls in flight.
async fn load(
    client: &KinesisClient,
    stream: &str,
    count: usize,
    size: usize,
) -> Result<(), String> {
    let data = STANDARD.encode(vec![b'x'; size]);
    let body = |n: usize, offset: usize| {
        let records: Vec<Value> = (0..n)
            .map(|i| json!({"Data": data, "PartitionKey": format!("k{}", offset + i)}))
            .collect();
        json!({"StreamName": stream, "Records": records})
    };
    let mut offset = 0;
    while offset < count {
        let calls: Vec<_> = (0..4)
            .map(|c| offset + c * 500)
            .filter(|&start| start < count)
            .map(|start| {
                let b = body((count - start).min(500), start);
                async move { client.call::<Value>("PutRecords", &b).await }
            })
            .collect();
        for out in futures_join(calls).await {
            let out = out.map_err(|e| format!("PutRecords: {e}"))?;
            if out["FailedRecordCount"].as_u64().unwrap_or(0) > 0 {
                return Err("PutRecords failed records: raise the shard count".into());
            }
        }
        offset += 2000;
    }
    Ok(())
}

async fn futures_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await);
    }
    out
}

async fn rest(
    client: &KinesisClient,
    method: &str,
    path: &str,
    body: Value,
) -> Result<Value, String> {
    let (status, bytes) = client
        .call_rest(method, path, body.to_string().into_bytes())
        .await
        .map_err(|e| format!("{method} {path}: {e}"))?;
    if status >= 300 {
        return Err(format!(
            "{method} {path}: {status} {}",
            String::from_utf8_lossy(&bytes)
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("{method} {path}: {e}"))
}

async fn create_function(client: &KinesisClient, body: Value) -> Result<String, String> {
    let name = body["FunctionName"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let _ = client
        .call_rest(
            "DELETE",
            &format!("/2015-03-31/functions/{name}"),
            Vec::new(),
        )
        .await;
    rest(client, "POST", "/2015-03-31/functions", body).await?;
    Ok(name)
}

async fn create_mapping(
    client: &KinesisClient,
    function: &str,
    stream: &str,
    batch: u32,
) -> Result<String, String> {
    let body = json!({
        "FunctionName": function,
        "EventSourceArn": format!("arn:aws:kinesis:us-east-1:000000000000:stream/{stream}"),
        "StartingPosition": "TRIM_HORIZON",
        "BatchSize": batch,
    });
    let out = rest(client, "POST", "/2015-03-31/event-source-mappings", body).await?;
    Ok(out["UUID"].as_str().unwrap_or_default().to_string())
}

/// An HTTP function served here: each POSTed event becomes one `Seen`.
async fn http_function(
    client: &KinesisClient,
) -> Result<(mpsc::UnboundedReceiver<Seen>, String), String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let url = format!(
        "http://{}/",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let (tx, rx) = mpsc::unbounded_channel();
    let tx = Arc::new(tx);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<Incoming>| {
                    let tx = tx.clone();
                    async move {
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        if let Some(seen) = seen_of(&body) {
                            let _ = tx.send(seen);
                        }
                        Ok::<_, hyper::Error>(hyper::Response::new(Full::new(Bytes::from_static(
                            b"{}",
                        ))))
                    }
                });
                let io = hyper_util::rt::TokioIo::new(socket);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    let body = json!({
        "FunctionName": "spate-bench-http",
        "Runtime": "provided.al2023",
        "Role": "arn:aws:iam::000000000000:role/bench",
        "Handler": "bench",
        "Code": {},
        "Timeout": 30,
        "Environment": {"Variables": {"SPATE_FUNCTION_URL": url}},
    });
    Ok((rx, create_function(client, body).await?))
}

fn seen_of(event: &[u8]) -> Option<Seen> {
    let at = Instant::now();
    let event: Value = serde_json::from_slice(event).ok()?;
    let records = event["Records"].as_array()?;
    let data = STANDARD
        .decode(records.first()?["kinesis"]["data"].as_str()?)
        .ok()?;
    let first = String::from_utf8_lossy(&data[..data.len().min(32)]).into_owned();
    Some(Seen {
        at,
        count: records.len(),
        first,
    })
}

/// A node handler module writing one line per batch to a file that is followed here (every
/// millisecond).
async fn node_function(
    client: &KinesisClient,
) -> Result<(mpsc::UnboundedReceiver<Seen>, String), String> {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("spate-bench-node-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("index.mjs"), NODE_HANDLER).map_err(|e| e.to_string())?;
    let out = dir.join("batches.txt");
    std::fs::write(&out, b"").map_err(|e| e.to_string())?;
    let body = json!({
        "FunctionName": "spate-bench-node",
        "Runtime": "nodejs20.x",
        "Role": "arn:aws:iam::000000000000:role/bench",
        "Handler": "index.handler",
        "Timeout": 30,
        "Code": {"S3Bucket": "hot-reload", "S3Key": dir.display().to_string()},
        "Environment": {"Variables": {"OUT": out.display().to_string()}},
    });
    let name = create_function(client, body).await?;
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut read = 0usize;
        let mut pending = String::new();
        loop {
            tokio::time::sleep(Duration::from_millis(1)).await;
            let Ok(text) = std::fs::read(&out) else {
                continue;
            };
            if text.len() <= read {
                continue;
            }
            pending.push_str(&String::from_utf8_lossy(&text[read..]));
            read = text.len();
            while let Some(end) = pending.find('\n') {
                let line: String = pending.drain(..=end).collect();
                let (count, first) = line.trim_end().split_once(' ').unwrap_or(("0", ""));
                let seen = Seen {
                    at: Instant::now(),
                    count: count.parse().unwrap_or(0),
                    first: first.to_string(),
                };
                if tx.send(seen).is_err() {
                    return;
                }
            }
        }
    });
    Ok((rx, name))
}

//! `spate bench firehose`: PutRecordBatch load on a delivery stream, then how fast the records
//! are delivered, and the put-to-object latency of single records on a stream that delivers at
//! once.
//!
//! Delivery is observed through Spate's `SpateAdmin_20261126.DescribeDeliveryProgress`; the
//! latency phase lists the bucket (`--s3-endpoint` or `--buckets-dir`) for the new object.
//! Against other servers (moto) only the ingest phase runs.

use super::report::Latencies;
use super::Target;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Args;
use serde_json::json;
use spate_client::KinesisClient;
use spate_objects::{LocalDirStore, ObjectStore, S3Options, S3Store};
use spate_wire::admin::DeliveryProgressOutput;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct FirehoseArgs {
    /// `--stream` names the delivery stream.
    #[command(flatten)]
    pub target: Target,
    /// Create the delivery stream (ExtendedS3 to this bucket) if it does not exist.
    #[arg(long)]
    pub bucket: Option<String>,
    /// CompressionFormat of a created stream.
    #[arg(long, default_value = "GZIP")]
    pub compression: String,
    /// BufferingHints of a created stream.
    #[arg(long, default_value_t = 5)]
    pub size_mb: u32,
    #[arg(long, default_value_t = 0)]
    pub interval_secs: u32,
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// Records per PutRecordBatch (at most 500).
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Put-to-object samples (single records on a stream with a 1 MB / 0 s buffer); needs
    /// --s3-endpoint or --buckets-dir to see the objects.
    #[arg(long, default_value_t = 0)]
    pub latency_samples: usize,
    #[arg(long)]
    pub s3_endpoint: Option<String>,
    #[arg(long)]
    pub buckets_dir: Option<std::path::PathBuf>,
    /// Dynamic partitioning over this many keys: records are JSON (`{"k": …, "d": …}`), a
    /// created stream extracts `k` with a jq MetadataExtraction query and writes one prefix
    /// per key.
    #[arg(long, default_value_t = 0)]
    pub partition_keys: u32,
}

const FIREHOSE: &str = "Firehose_20150804";

async fn call(
    client: &KinesisClient,
    op: &str,
    body: serde_json::Value,
) -> Result<Vec<u8>, String> {
    let target = if op.starts_with("SpateAdmin") {
        op.to_string()
    } else {
        format!("{FIREHOSE}.{op}")
    };
    let out = client
        .call_target(&target, body.to_string().into_bytes())
        .await;
    out.map(|b| b.to_vec()).map_err(|e| format!("{op}: {e}"))
}

async fn ensure_stream(
    client: &KinesisClient,
    name: &str,
    bucket: &str,
    args: &FirehoseArgs,
    size_mb: u32,
    interval: u32,
    partitioned: bool,
) -> Result<(), String> {
    let mut body = json!({"DeliveryStreamName": name, "ExtendedS3DestinationConfiguration": {
        "RoleARN": "arn:aws:iam::000000000000:role/firehose", "BucketARN": format!("arn:aws:s3:::{bucket}"),
        "CompressionFormat": args.compression, "Prefix": format!("{name}/"),
        "BufferingHints": {"SizeInMBs": size_mb, "IntervalInSeconds": interval}}});
    if partitioned && args.partition_keys > 0 {
        let d = &mut body["ExtendedS3DestinationConfiguration"];
        d["Prefix"] = json!(format!("{name}/k=!{{partitionKeyFromQuery:k}}/"));
        d["ErrorOutputPrefix"] = json!(format!("{name}-errors/!{{firehose:error-output-type}}/"));
        d["DynamicPartitioningConfiguration"] = json!({"Enabled": true});
        d["ProcessingConfiguration"] = json!({"Enabled": true, "Processors": [
            {"Type": "MetadataExtraction", "Parameters": [
                {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{k: .k}"},
                {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
            {"Type": "AppendDelimiterToRecord"}]});
    }
    match call(client, "CreateDeliveryStream", body).await {
        Ok(_) => {}
        Err(e) if e.contains("ResourceInUseException") => return Ok(()),
        Err(e) => return Err(e),
    }
    for _ in 0..200 {
        let out = call(
            client,
            "DescribeDeliveryStream",
            json!({"DeliveryStreamName": name}),
        )
        .await?;
        if String::from_utf8_lossy(&out).contains("\"ACTIVE\"") {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("delivery stream {name} did not become ACTIVE"))
}

async fn progress(client: &KinesisClient, name: &str) -> Option<DeliveryProgressOutput> {
    let out = call(
        client,
        "SpateAdmin_20261126.DescribeDeliveryProgress",
        json!({"DeliveryStreamName": name}),
    )
    .await
    .ok()?;
    serde_json::from_slice(&out).ok()
}

/// One PutRecordBatch body of distinct records of random letters and digits ending in a
/// newline, so compression sees text like real log lines rather than one repeated byte.
fn batch_body(name: &str, batch: usize, record_size: usize, seed: u64, keys: u32) -> Vec<u8> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut state = seed | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let records: Vec<_> = (0..batch)
        .map(|_| {
            let mut data: Vec<u8> = (0..record_size.saturating_sub(1))
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            if keys > 0 {
                // JSON for the jq query: {"k": "kNNN", "d": "<text>"}, about record_size bytes.
                let text =
                    String::from_utf8_lossy(&data[..data.len().saturating_sub(20)]).into_owned();
                let record = json!({"k": format!("k{:03}", next() % u64::from(keys)), "d": text});
                return json!({"Data": STANDARD.encode(record.to_string())});
            }
            data.push(b'\n');
            json!({"Data": STANDARD.encode(&data)})
        })
        .collect();
    json!({"DeliveryStreamName": name, "Records": records})
        .to_string()
        .into_bytes()
}

/// PutRecordBatch from `concurrency` workers for the duration: (records, latencies).
async fn ingest(
    client: &KinesisClient,
    args: &FirehoseArgs,
) -> Result<(u64, Latencies, f64), String> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7);
    let body = batch_body(
        &args.target.stream,
        args.batch,
        args.record_size,
        seed,
        args.partition_keys,
    );
    let body = Arc::new(body);
    let started = Instant::now();
    let (stop, records) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let (client, body, stop, records, batch) = (
                client.clone(),
                body.clone(),
                stop.clone(),
                records.clone(),
                args.batch as u64,
            );
            tokio::spawn(async move {
                let mut latencies = Latencies::default();
                while !stop.load(Ordering::Relaxed) {
                    let t = Instant::now();
                    let target = format!("{FIREHOSE}.PutRecordBatch");
                    if client.call_target(&target, body.to_vec()).await.is_ok() {
                        records.fetch_add(batch, Ordering::Relaxed);
                        latencies.record(t.elapsed());
                    }
                }
                latencies
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(args.duration_secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Latencies::default();
    for w in workers {
        latencies.merge(w.await.map_err(|e| e.to_string())?);
    }
    Ok((
        records.load(Ordering::Relaxed),
        latencies,
        started.elapsed().as_secs_f64(),
    ))
}

fn object_store(args: &FirehoseArgs) -> Option<Arc<dyn ObjectStore>> {
    if let Some(endpoint) = &args.s3_endpoint {
        let key = |name: &str| std::env::var(name).unwrap_or_else(|_| "spate".into());
        return Some(Arc::new(S3Store::new(&S3Options {
            endpoint: endpoint.clone(),
            region: args.target.region.clone(),
            access_key_id: key("AWS_ACCESS_KEY_ID"),
            secret_access_key: key("AWS_SECRET_ACCESS_KEY"),
            trust: spate_outbound::Trust::system(),
        })));
    }
    let dir = args.buckets_dir.clone()?;
    Some(Arc::new(LocalDirStore::new(
        Arc::new(spate_log::storage::FsStorage),
        dir,
    )))
}

/// Single records on a stream that delivers at once: time from the put until its object is
/// listed.
async fn latency(
    client: &KinesisClient,
    args: &FirehoseArgs,
    bucket: &str,
    store: &dyn ObjectStore,
) -> Result<Latencies, String> {
    let name = format!("{}-latency", args.target.stream);
    // The latency stream takes plain records: never partitioned.
    ensure_stream(client, &name, bucket, args, 1, 0, false).await?;
    let prefix = format!("{name}/");
    let mut latencies = Latencies::default();
    for _ in 0..args.latency_samples {
        let before = store
            .list(bucket, &prefix)
            .await
            .map_err(|e| e.to_string())?
            .len();
        let t = Instant::now();
        call(
            client,
            "PutRecord",
            json!({"DeliveryStreamName": name, "Record": {"Data": STANDARD.encode(b"sample\n")}}),
        )
        .await?;
        loop {
            if store
                .list(bucket, &prefix)
                .await
                .map_err(|e| e.to_string())?
                .len()
                > before
            {
                break;
            }
            if t.elapsed() > Duration::from_secs(30) {
                return Err("a sample was not delivered within 30 s".into());
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        latencies.record(t.elapsed());
    }
    Ok(latencies)
}

/// How delivery went: records delivered while ingest ran, and the seconds after ingest
/// stopped until every record was delivered.
struct Delivery {
    during_ingest: u64,
    after_secs: f64,
}

/// Waits until `records` more than `before` are delivered (at most two minutes).
async fn wait_delivered(
    client: &KinesisClient,
    name: &str,
    before: u64,
    records: u64,
) -> Option<Delivery> {
    let at_end = progress(client, name)
        .await?
        .delivered_records
        .saturating_sub(before);
    let ended = Instant::now();
    while ended.elapsed() < Duration::from_secs(120) {
        match progress(client, name).await {
            Some(p) if p.delivered_records >= before + records => {
                return Some(Delivery {
                    during_ingest: at_end,
                    after_secs: ended.elapsed().as_secs_f64(),
                });
            }
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    None
}

pub async fn run(args: FirehoseArgs) -> Result<(), String> {
    if args.batch == 0 || args.batch > 500 || args.concurrency == 0 {
        return Err("--batch must be 1..=500 and --concurrency at least 1".into());
    }
    let client = args.target.client()?;
    let name = args.target.stream.clone();
    if let Some(bucket) = &args.bucket {
        ensure_stream(
            &client,
            &name,
            bucket,
            &args,
            args.size_mb,
            args.interval_secs,
            true,
        )
        .await?;
    }
    let before = progress(&client, &name).await;
    let (records, mut put_latencies, secs) = ingest(&client, &args).await?;
    // Delivery: until everything put is delivered (Spate only).
    let delivery = match before {
        Some(before) => wait_delivered(&client, &name, before.delivered_records, records).await,
        None => None,
    };
    let mut object_latencies = match (&args.bucket, object_store(&args)) {
        (Some(bucket), Some(store)) if args.latency_samples > 0 => {
            Some(latency(&client, &args, bucket, &*store).await?)
        }
        _ => None,
    };
    let [p50, p90, p99, p999, max] = put_latencies.summary_ms();
    let input_mb = (records as f64 * args.record_size as f64) / 1e6;
    let mut report = json!({
        "endpoint": args.target.endpoint, "delivery_stream": name, "record_size": args.record_size,
        "batch": args.batch, "concurrency": args.concurrency, "compression": args.compression,
        "records": records, "seconds": secs, "records_per_sec": records as f64 / secs,
        "input_mb_per_sec": input_mb / secs,
        "put_latency_ms": {"p50": p50, "p90": p90, "p99": p99, "p99_9": p999, "max": max},
    });
    if let Some(d) = delivery {
        let total = secs + d.after_secs;
        report["delivered_seconds"] = json!(total);
        report["delivered_input_mb_per_sec"] = json!(input_mb / total);
        // The backlog left when ingest stopped, delivered with the cores to itself.
        let backlog_mb =
            (records - d.during_ingest.min(records)) as f64 * args.record_size as f64 / 1e6;
        if d.after_secs > 0.05 {
            report["backlog_input_mb"] = json!(backlog_mb);
            report["backlog_input_mb_per_sec"] = json!(backlog_mb / d.after_secs);
        }
    }
    if let Some(l) = object_latencies.as_mut() {
        let [p50, p90, p99, _, max] = l.summary_ms();
        report["put_to_object_ms"] = json!({"samples": args.latency_samples, "p50": p50, "p90": p90, "p99": p99, "max": max});
    }
    println!(
        "{}",
        if args.target.json {
            report.to_string()
        } else {
            serde_json::to_string_pretty(&report).unwrap_or_default()
        }
    );
    Ok(())
}

//! `spate bench e2e`: put-to-visible latency. Producers stamp each record with its send time;
//! consumers on every shard (GetRecords polling, or enhanced fan-out with `--efo`) measure when
//! it arrives. Producer and consumers share one process clock, so no clock skew enters.

use super::report::Latencies;
use super::Target;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Args;
use http_body_util::BodyExt;
use spate_client::KinesisClient;
use spate_wire::eventstream::decode_message;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct E2eArgs {
    #[command(flatten)]
    pub target: Target,
    /// Create the stream with this many shards if it does not exist.
    #[arg(long)]
    pub create: Option<u32>,
    /// Records per second across all producers.
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// Records per PutRecords call.
    #[arg(long, default_value_t = 100)]
    pub batch: usize,
    /// Bytes of data per record (at least 16: the send time and a marker).
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// Producers (each on its own connection).
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Read through enhanced fan-out (SubscribeToShard) instead of polling GetRecords.
    #[arg(long)]
    pub efo: bool,
    /// Pause between GetRecords calls that returned nothing (polling mode).
    #[arg(long, default_value_t = 10)]
    pub poll_interval_ms: u64,
}

/// Marks bench records, so records of other writers on the stream are not measured.
const MARKER: &[u8; 8] = b"spate-e2";

struct Shared {
    started: Instant,
    latencies: Mutex<Latencies>,
    received: AtomicU64,
    stop: AtomicBool,
}

/// The parts of a GetRecords response or SubscribeToShardEvent the bench reads; serde skips
/// the rest without building it.
#[derive(serde::Deserialize)]
struct Page<'a> {
    #[serde(rename = "Records", borrow)]
    records: Vec<PageRecord<'a>>,
    #[serde(rename = "ContinuationSequenceNumber", default)]
    continuation: Option<&'a str>,
    #[serde(rename = "NextShardIterator", default)]
    next_iterator: Option<&'a str>,
}

#[derive(serde::Deserialize)]
struct PageRecord<'a> {
    #[serde(rename = "Data")]
    data: &'a str,
}

impl Shared {
    /// Measures the records of one page (send time in microseconds since `started`).
    fn observe(&self, page: &Page<'_>) {
        let now_us = self.started.elapsed().as_micros() as u64;
        let mut latencies = Vec::with_capacity(page.records.len());
        let mut prefix = [0u8; 24];
        for r in &page.records {
            // The first 16 bytes are the first 24 base64 characters.
            let Some(head) = r.data.get(..24) else {
                continue;
            };
            if STANDARD.decode_slice(head, &mut prefix).ok() != Some(18) || &prefix[8..16] != MARKER
            {
                continue;
            }
            let sent_us = u64::from_be_bytes(prefix[..8].try_into().unwrap_or([0; 8]));
            latencies.push(Duration::from_micros(now_us.saturating_sub(sent_us)));
        }
        let mut all = self.latencies.lock().unwrap_or_else(|e| e.into_inner());
        for latency in &latencies {
            all.record(*latency);
        }
        self.received
            .fetch_add(latencies.len() as u64, Ordering::Relaxed);
    }
}

pub async fn run(args: E2eArgs) -> Result<(), String> {
    if args.record_size < 16 || args.batch == 0 || args.batch > 500 || args.concurrency == 0 {
        return Err(
            "--record-size must be at least 16, --batch 1..=500, --concurrency >= 1".into(),
        );
    }
    let client = args.target.client()?;
    if let Some(shards) = args.create {
        super::ensure_stream(&client, &args.target.stream, shards).await?;
    }
    let shards = super::shard_ids(&client, &args.target.stream).await?;
    let shared = Arc::new(Shared {
        started: Instant::now(),
        latencies: Mutex::new(Latencies::default()),
        received: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    // Consumers first, all positioned at LATEST, before anything is written.
    let consumer_arn = if args.efo {
        Some(register_consumer(&client, &args.target.stream).await?)
    } else {
        None
    };
    let readers = start_readers(&args, &client, &shared, &shards, consumer_arn.as_deref()).await?;
    let total = produce_all(&args, &client, &shared).await?;
    // Let the last records arrive.
    let drain_until = Instant::now() + Duration::from_secs(5);
    while shared.received.load(Ordering::Relaxed) < total && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shared.stop.store(true, Ordering::Relaxed);
    for r in readers {
        r.abort();
    }
    if let Some(arn) = &consumer_arn {
        let body = serde_json::json!({ "ConsumerARN": arn });
        let _ = client
            .call::<serde_json::Value>("DeregisterStreamConsumer", &body)
            .await;
    }
    report(&args, &shared, shards.len(), total)
}

/// A reader per shard, positioned at LATEST: polling GetRecords, or subscribed through EFO.
async fn start_readers(
    args: &E2eArgs,
    client: &KinesisClient,
    shared: &Arc<Shared>,
    shards: &[String],
    consumer_arn: Option<&str>,
) -> Result<Vec<tokio::task::JoinHandle<Result<(), String>>>, String> {
    let mut readers = Vec::new();
    for shard in shards {
        let (client, shared, shard) = (client.clone(), shared.clone(), shard.clone());
        let reader = match consumer_arn {
            Some(arn) => {
                let body = subscribe(&client, arn, &shard, None).await?;
                let arn = arn.to_string();
                tokio::spawn(async move { efo_reader(client, shared, arn, shard, body).await })
            }
            None => {
                let iterator = latest_iterator(&client, &args.target.stream, &shard).await?;
                let pause = Duration::from_millis(args.poll_interval_ms);
                tokio::spawn(async move { poll_reader(client, shared, iterator, pause).await })
            }
        };
        readers.push(reader);
    }
    Ok(readers)
}

/// Runs the producers for the configured duration; returns how many records they sent.
async fn produce_all(
    args: &E2eArgs,
    client: &KinesisClient,
    shared: &Arc<Shared>,
) -> Result<u64, String> {
    let sent = Arc::new(AtomicU64::new(0));
    let per_producer = (args.rate as f64 / args.concurrency as f64).max(1.0);
    let mut producers = Vec::new();
    for p in 0..args.concurrency {
        let (args, client, shared, sent) =
            (args.clone(), client.clone(), shared.clone(), sent.clone());
        producers.push(tokio::spawn(async move {
            produce(args, client, shared, sent, per_producer, p as u64).await
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.duration_secs)).await;
    for p in producers {
        p.await.map_err(|e| e.to_string())??;
    }
    Ok(sent.load(Ordering::Relaxed))
}

fn report(args: &E2eArgs, shared: &Shared, shards: usize, total: u64) -> Result<(), String> {
    let received = shared.received.load(Ordering::Relaxed);
    let [p50, p90, p99, p999, max] = shared
        .latencies
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .summary_ms();
    let mode = if args.efo { "efo" } else { "poll" };
    if args.target.json {
        println!(
            "{}",
            serde_json::json!({
                "mode": mode, "stream": args.target.stream, "shards": shards,
                "rate": args.rate, "sent": total, "received": received,
                "latency_ms": {"p50": p50, "p90": p90, "p99": p99, "p99_9": p999, "max": max},
            })
        );
    } else {
        println!(
            "e2e ({mode}, {shards} shards): sent {total}, received {received} at {} records/s",
            args.rate
        );
        println!(
            "put-to-visible ms: p50 {p50:.2}  p90 {p90:.2}  p99 {p99:.2}  p99.9 {p999:.2}  max {max:.2}"
        );
    }
    if received < total {
        return Err(format!(
            "{} records were not seen within 5 s",
            total - received
        ));
    }
    Ok(())
}

async fn produce(
    args: E2eArgs,
    client: KinesisClient,
    shared: Arc<Shared>,
    sent: Arc<AtomicU64>,
    rate: f64,
    producer: u64,
) -> Result<(), String> {
    let deadline = shared.started + Duration::from_secs(args.duration_secs);
    let stream = serde_json::to_string(&args.target.stream).map_err(|e| e.to_string())?;
    let mut next = 0u64;
    let mut data = vec![b'x'; args.record_size];
    data[8..16].copy_from_slice(MARKER);
    while Instant::now() < deadline {
        let due = shared.started + Duration::from_secs_f64(next as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let mut body = format!("{{\"StreamName\":{stream},\"Records\":[").into_bytes();
        let sent_us = shared.started.elapsed().as_micros() as u64;
        data[..8].copy_from_slice(&sent_us.to_be_bytes());
        let encoded = STANDARD.encode(&data);
        for i in 0..args.batch {
            if i > 0 {
                body.push(b',');
            }
            body.extend_from_slice(
                format!(
                    "{{\"Data\":\"{encoded}\",\"PartitionKey\":\"p{producer}-{}\"}}",
                    next + i as u64
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(b"]}");
        next += args.batch as u64;
        let raw = client
            .call_raw("PutRecords", body)
            .await
            .map_err(|e| format!("PutRecords: {e}"))?;
        if !raw.windows(22).any(|w| w == b"\"FailedRecordCount\":0,") {
            return Err("PutRecords reported failed records (is the stream throttled?)".into());
        }
        sent.fetch_add(args.batch as u64, Ordering::Relaxed);
    }
    Ok(())
}

async fn latest_iterator(
    client: &KinesisClient,
    stream: &str,
    shard: &str,
) -> Result<String, String> {
    let body =
        serde_json::json!({"StreamName": stream, "ShardId": shard, "ShardIteratorType": "LATEST"});
    let out: serde_json::Value = client
        .call("GetShardIterator", &body)
        .await
        .map_err(|e| format!("GetShardIterator: {e}"))?;
    out["ShardIterator"]
        .as_str()
        .map(String::from)
        .ok_or_else(|| "GetShardIterator returned no iterator".into())
}

async fn poll_reader(
    client: KinesisClient,
    shared: Arc<Shared>,
    mut iterator: String,
    pause: Duration,
) -> Result<(), String> {
    while !shared.stop.load(Ordering::Relaxed) {
        let body = serde_json::json!({"ShardIterator": iterator}).to_string();
        let raw = client
            .call_raw("GetRecords", body.into_bytes())
            .await
            .map_err(|e| format!("GetRecords: {e}"))?;
        let page: Page<'_> = serde_json::from_slice(&raw).map_err(|e| e.to_string())?;
        shared.observe(&page);
        match page.next_iterator {
            Some(next) => iterator = next.to_string(),
            None => return Ok(()),
        }
        if page.records.is_empty() {
            tokio::time::sleep(pause).await;
        }
    }
    Ok(())
}

async fn register_consumer(client: &KinesisClient, stream: &str) -> Result<String, String> {
    let summary: serde_json::Value = client
        .call(
            "DescribeStreamSummary",
            &serde_json::json!({"StreamName": stream}),
        )
        .await
        .map_err(|e| format!("DescribeStreamSummary: {e}"))?;
    let stream_arn = summary["StreamDescriptionSummary"]["StreamARN"]
        .as_str()
        .ok_or("no StreamARN")?
        .to_string();
    let name = format!("spate-bench-e2e-{}", std::process::id());
    let out: serde_json::Value = client
        .call(
            "RegisterStreamConsumer",
            &serde_json::json!({"StreamARN": stream_arn, "ConsumerName": name}),
        )
        .await
        .map_err(|e| format!("RegisterStreamConsumer: {e}"))?;
    let arn = out["Consumer"]["ConsumerARN"]
        .as_str()
        .ok_or("no ConsumerARN")?
        .to_string();
    for _ in 0..600 {
        let d: serde_json::Value = client
            .call(
                "DescribeStreamConsumer",
                &serde_json::json!({"ConsumerARN": arn}),
            )
            .await
            .map_err(|e| format!("DescribeStreamConsumer: {e}"))?;
        if d["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE" {
            return Ok(arn);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err("consumer did not become ACTIVE".into())
}

/// Subscribes at LATEST (or after `after`) and waits for the initial response.
async fn subscribe(
    client: &KinesisClient,
    consumer: &str,
    shard: &str,
    after: Option<&str>,
) -> Result<FrameReader, String> {
    let position = match after {
        Some(seq) => serde_json::json!({"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": seq}),
        None => serde_json::json!({"Type": "LATEST"}),
    };
    let body = serde_json::json!({"ConsumerARN": consumer, "ShardId": shard, "StartingPosition": position});
    let incoming = client
        .call_streaming("SubscribeToShard", body.to_string().into_bytes())
        .await
        .map_err(|e| format!("SubscribeToShard: {e}"))?;
    let mut reader = FrameReader {
        body: incoming,
        buf: Vec::new(),
    };
    match reader.next().await? {
        Some(m) if m.header(":event-type") == Some("initial-response") => Ok(reader),
        other => Err(format!(
            "SubscribeToShard: expected the initial response, got {other:?}"
        )),
    }
}

/// Reads event-stream messages off a response body.
struct FrameReader {
    body: hyper::body::Incoming,
    buf: Vec<u8>,
}

impl FrameReader {
    async fn next(&mut self) -> Result<Option<spate_wire::eventstream::Message>, String> {
        loop {
            if let Some((message, len)) = decode_message(&self.buf)? {
                self.buf.drain(..len);
                return Ok(Some(message));
            }
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(e.to_string()),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}

async fn efo_reader(
    client: KinesisClient,
    shared: Arc<Shared>,
    consumer: String,
    shard: String,
    mut reader: FrameReader,
) -> Result<(), String> {
    let mut continuation: Option<String> = None;
    while !shared.stop.load(Ordering::Relaxed) {
        match reader.next().await? {
            Some(message) => {
                if message.header(":message-type") != Some("event") {
                    return Err(format!(
                        "subscription failed: {}",
                        String::from_utf8_lossy(&message.payload)
                    ));
                }
                let event: Page<'_> =
                    serde_json::from_slice(&message.payload).map_err(|e| e.to_string())?;
                shared.observe(&event);
                if let Some(c) = event.continuation {
                    continuation = Some(c.to_string());
                }
            }
            // The subscription's lifetime ended: continue where it stopped.
            None => {
                reader = subscribe(&client, &consumer, &shard, continuation.as_deref()).await?;
            }
        }
    }
    Ok(())
}

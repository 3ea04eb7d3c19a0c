//! `spate bench put`.

use super::report::Latencies;
use super::Target;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Args;
use spate_client::KinesisClient;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct PutArgs {
    #[command(flatten)]
    pub target: Target,
    /// Bytes of data per record.
    #[arg(long, default_value_t = 100)]
    pub record_size: usize,
    /// Records per request; 1 uses PutRecord.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Partition keys: `random`, `fixed:N` (N distinct keys), or `hot` (one key).
    #[arg(long, default_value = "random")]
    pub keys: String,
    /// Create the stream with this many shards if it does not exist.
    #[arg(long)]
    pub create: Option<u32>,
    /// Requests in flight (each on its own keep-alive connection).
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    #[arg(long, default_value_t = 10)]
    pub duration_secs: u64,
    /// Stop after this many records instead of after the duration.
    #[arg(long)]
    pub records: Option<u64>,
    /// Target records per second across all workers (default: as fast as possible).
    #[arg(long)]
    pub rate: Option<u64>,
}

#[derive(Clone, Copy)]
enum Keys {
    Random,
    Fixed(u64),
    Hot,
}

fn parse_keys(text: &str) -> Result<Keys, String> {
    match text {
        "random" => Ok(Keys::Random),
        "hot" => Ok(Keys::Hot),
        _ => text
            .strip_prefix("fixed:")
            .and_then(|n| n.parse().ok())
            .filter(|&n| n > 0)
            .map(Keys::Fixed)
            .ok_or_else(|| format!("--keys {text}: use random, fixed:N or hot")),
    }
}

/// A fast PRNG (xorshift64*) per worker: the generator must not be the bottleneck.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

struct Totals {
    records: AtomicU64,
    bytes: AtomicU64,
    requests: AtomicU64,
    throttled: AtomicU64,
    failed: AtomicU64,
    errors: AtomicU64,
}

/// Builds one PutRecords (or PutRecord) body. Each record's data starts with its worker and
/// counter so `bench get --verify` can recognise it.
fn body(
    args: &PutArgs,
    keys: Keys,
    worker: u64,
    next: &mut u64,
    rng: &mut Rng,
    filler: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + args.batch * (args.record_size * 4 / 3 + 64));
    let stream = serde_json::to_string(&args.target.stream).unwrap_or_default();
    let mut data = filler.to_vec();
    let mut record = |out: &mut Vec<u8>, rng: &mut Rng, next: &mut u64| {
        let tag = format!("{worker:08x}{:016x}", *next);
        *next += 1;
        let n = tag.len().min(data.len());
        data[..n].copy_from_slice(&tag.as_bytes()[..n]);
        let key = match keys {
            Keys::Random => format!("{:016x}", rng.next()),
            Keys::Fixed(k) => format!("key-{}", rng.next() % k),
            Keys::Hot => "hot".to_string(),
        };
        out.extend_from_slice(b"\"Data\":\"");
        out.extend_from_slice(STANDARD.encode(&data).as_bytes());
        out.extend_from_slice(b"\",\"PartitionKey\":\"");
        out.extend_from_slice(key.as_bytes());
        out.push(b'"');
    };
    if args.batch == 1 {
        out.extend_from_slice(format!("{{\"StreamName\":{stream},").as_bytes());
        record(&mut out, rng, next);
        out.push(b'}');
    } else {
        out.extend_from_slice(format!("{{\"StreamName\":{stream},\"Records\":[").as_bytes());
        for i in 0..args.batch {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'{');
            record(&mut out, rng, next);
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
    }
    out
}

pub async fn run(args: PutArgs) -> Result<(), String> {
    let keys = parse_keys(&args.keys)?;
    if args.batch == 0 || args.batch > 500 || args.concurrency == 0 {
        return Err("--batch must be 1..=500 and --concurrency at least 1".into());
    }
    let client = args.target.client()?;
    if let Some(shards) = args.create {
        super::ensure_stream(&client, &args.target.stream, shards).await?;
    }
    let totals = Arc::new(Totals {
        records: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        requests: AtomicU64::new(0),
        throttled: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let budget = Arc::new(AtomicU64::new(args.records.unwrap_or(u64::MAX)));
    let started = Instant::now();
    let mut workers = Vec::new();
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1);
    for w in 0..args.concurrency {
        let (args, client, totals, stop, budget) = (
            args.clone(),
            client.clone(),
            totals.clone(),
            stop.clone(),
            budget.clone(),
        );
        let worker_id = (run_id.rotate_left(17) ^ w as u64) & 0xffff_ffff;
        workers.push(tokio::spawn(async move {
            worker(args, keys, client, totals, stop, budget, worker_id, started).await
        }));
    }
    let deadline = started + Duration::from_secs(args.duration_secs);
    let interactive = !args.target.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
    while Instant::now() < deadline
        && budget.load(Ordering::Relaxed) > 0
        && !workers.iter().all(|w| w.is_finished())
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if interactive {
            let secs = started.elapsed().as_secs_f64();
            let n = totals.records.load(Ordering::Relaxed);
            eprint!(
                "\r{secs:6.1}s  {n:>12} records  {:>12.0} records/s",
                n as f64 / secs
            );
            let _ = std::io::stderr().flush();
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Latencies::default();
    for w in workers {
        latencies.merge(w.await.map_err(|e| e.to_string())?);
    }
    if interactive {
        eprintln!();
    }
    report(
        &args,
        &totals,
        &mut latencies,
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

fn report(args: &PutArgs, totals: &Totals, latencies: &mut Latencies, secs: f64) {
    let records = totals.records.load(Ordering::Relaxed);
    let bytes = totals.bytes.load(Ordering::Relaxed);
    let requests = totals.requests.load(Ordering::Relaxed);
    let [p50, p90, p99, p999, max] = latencies.summary_ms();
    let report = serde_json::json!({
        "endpoint": args.target.endpoint, "stream": args.target.stream, "record_size": args.record_size,
        "batch": args.batch, "concurrency": args.concurrency, "keys": args.keys,
        "seconds": secs, "records": records, "records_per_sec": records as f64 / secs,
        "mb_per_sec": bytes as f64 / secs / 1e6, "requests_per_sec": requests as f64 / secs,
        "latency_ms": {"p50": p50, "p90": p90, "p99": p99, "p99_9": p999, "max": max},
        "throttled_records": totals.throttled.load(Ordering::Relaxed),
        "failed_records": totals.failed.load(Ordering::Relaxed),
        "request_errors": totals.errors.load(Ordering::Relaxed),
    });
    if args.target.json {
        println!("{report}");
        return;
    }
    println!(
        "put {records} records of {} B in {secs:.1} s: {:.0} records/s, {:.1} MB/s, {:.0} requests/s",
        args.record_size,
        records as f64 / secs,
        bytes as f64 / secs / 1e6,
        requests as f64 / secs
    );
    println!("latency ms: p50 {p50:.2}  p90 {p90:.2}  p99 {p99:.2}  p99.9 {p999:.2}  max {max:.2}");
    println!(
        "throttled records {}, failed records {}, request errors {}",
        report["throttled_records"], report["failed_records"], report["request_errors"]
    );
}

#[allow(clippy::too_many_arguments)]
async fn worker(
    args: PutArgs,
    keys: Keys,
    client: KinesisClient,
    totals: Arc<Totals>,
    stop: Arc<AtomicBool>,
    budget: Arc<AtomicU64>,
    worker_id: u64,
    started: Instant,
) -> Latencies {
    let mut rng = Rng(worker_id.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let filler: Vec<u8> = (0..args.record_size)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    let mut next = 0u64;
    let mut latencies = Latencies::default();
    let per_worker_rate = args
        .rate
        .map(|r| (r as f64 / args.concurrency as f64).max(1.0));
    let operation = if args.batch == 1 {
        "PutRecord"
    } else {
        "PutRecords"
    };
    while !stop.load(Ordering::Relaxed) {
        let want = args.batch as u64;
        let claimed = budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                b.checked_sub(want)
            })
            .is_ok();
        if !claimed {
            break;
        }
        if let Some(rate) = per_worker_rate {
            let due = started + Duration::from_secs_f64(next as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let body = body(&args, keys, worker_id, &mut next, &mut rng, &filler);
        let t0 = Instant::now();
        let result = client.call_raw(operation, body).await;
        latencies.record(t0.elapsed());
        totals.requests.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(raw) => {
                let failed = if args.batch == 1 {
                    0
                } else {
                    failed_count(&raw)
                };
                totals.failed.fetch_add(failed, Ordering::Relaxed);
                totals.records.fetch_add(want - failed, Ordering::Relaxed);
                totals
                    .bytes
                    .fetch_add((want - failed) * args.record_size as u64, Ordering::Relaxed);
            }
            Err(e) if e.is_throttling() => {
                totals.throttled.fetch_add(want, Ordering::Relaxed);
            }
            Err(e) => {
                totals.errors.fetch_add(1, Ordering::Relaxed);
                if totals.errors.load(Ordering::Relaxed) <= 3 {
                    eprintln!("request failed: {e}");
                }
            }
        }
    }
    latencies
}

/// `FailedRecordCount` of a PutRecords response, without parsing the whole body.
fn failed_count(raw: &[u8]) -> u64 {
    const KEY: &[u8] = b"\"FailedRecordCount\":";
    raw.windows(KEY.len())
        .position(|w| w == KEY)
        .map(|at| {
            raw[at + KEY.len()..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'))
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        put: PutArgs,
    }

    #[test]
    fn bodies_are_valid_put_records_requests_with_tagged_data() {
        let args = Cli::parse_from([
            "bench",
            "--batch",
            "3",
            "--record-size",
            "40",
            "--stream",
            "s\"q",
        ])
        .put;
        let mut next = 5;
        let raw = body(
            &args,
            Keys::Fixed(2),
            0xabc,
            &mut next,
            &mut Rng(7),
            &[b'x'; 40],
        );
        let v: serde_json::Value = serde_json::from_slice(&raw).unwrap();
        assert_eq!(v["StreamName"], "s\"q");
        let records = v["Records"].as_array().unwrap();
        assert_eq!(records.len(), 3);
        let data = STANDARD
            .decode(records[1]["Data"].as_str().unwrap())
            .unwrap();
        assert_eq!(data.len(), 40);
        assert_eq!(crate::bench::get::parse_tag(&data), Some((0xabc, 6)));
        assert!(records[0]["PartitionKey"]
            .as_str()
            .unwrap()
            .starts_with("key-"));
        assert_eq!(next, 8);
        assert_eq!(
            failed_count(br#"{"FailedRecordCount":12,"Records":[]}"#),
            12
        );
    }

    #[test]
    fn key_distributions_parse() {
        assert!(matches!(parse_keys("fixed:10"), Ok(Keys::Fixed(10))));
        assert!(parse_keys("fixed:0").is_err());
        assert!(parse_keys("zipf").is_err());
    }
}

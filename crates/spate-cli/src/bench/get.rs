//! `spate bench get`: read every shard from TRIM_HORIZON in parallel.

use super::Target;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use clap::Args;
use serde::Deserialize;
use spate_client::KinesisClient;
use std::collections::HashMap;
use std::time::Instant;

#[derive(Args, Debug, Clone)]
pub struct GetArgs {
    #[command(flatten)]
    pub target: Target,
    /// Records per GetRecords call.
    #[arg(long, default_value_t = 10_000)]
    pub limit: u32,
    /// Check that records written by `bench put` appear once each, in order per shard.
    #[arg(long)]
    pub verify: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Page {
    records: Vec<Record>,
    next_shard_iterator: Option<String>,
    #[serde(default)]
    millis_behind_latest: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Record {
    data: String,
    sequence_number: String,
}

#[derive(Default)]
struct ShardResult {
    records: u64,
    bytes: u64,
    /// Problems found by --verify.
    problems: Vec<String>,
    /// (worker, counter) of every bench record seen, for the cross-shard duplicate check.
    tags: Vec<(u32, u64)>,
}

pub async fn run(args: GetArgs) -> Result<(), String> {
    let client = args.target.client()?;
    let shards = super::shard_ids(&client, &args.target.stream).await?;
    let started = Instant::now();
    let tasks: Vec<_> = shards
        .into_iter()
        .map(|shard| {
            let (client, args) = (client.clone(), args.clone());
            tokio::spawn(async move { read_shard(&client, &args, &shard).await })
        })
        .collect();
    let mut total = ShardResult::default();
    for t in tasks {
        let r = t.await.map_err(|e| e.to_string())??;
        total.records += r.records;
        total.bytes += r.bytes;
        total.problems.extend(r.problems);
        total.tags.extend(r.tags);
    }
    let secs = started.elapsed().as_secs_f64();
    if args.verify {
        verify_unique(&mut total);
    }
    let report = serde_json::json!({
        "stream": args.target.stream, "records": total.records, "seconds": secs,
        "records_per_sec": total.records as f64 / secs, "mb_per_sec": total.bytes as f64 / secs / 1e6,
        "verified": args.verify, "problems": total.problems.len(),
    });
    if args.target.json {
        println!("{report}");
    } else {
        println!(
            "read {} records in {secs:.2} s: {:.0} records/s, {:.1} MB/s",
            total.records,
            total.records as f64 / secs,
            total.bytes as f64 / secs / 1e6
        );
        for p in total.problems.iter().take(20) {
            println!("problem: {p}");
        }
        if args.verify {
            println!(
                "verify: {}",
                if total.problems.is_empty() {
                    "every record once, in order"
                } else {
                    "FAILED"
                }
            );
        }
    }
    if total.problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{} problems found", total.problems.len()))
    }
}

async fn read_shard(
    client: &KinesisClient,
    args: &GetArgs,
    shard: &str,
) -> Result<ShardResult, String> {
    let request = serde_json::json!({"StreamName": args.target.stream, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"});
    let it: serde_json::Value = client
        .call("GetShardIterator", &request)
        .await
        .map_err(|e| format!("GetShardIterator: {e}"))?;
    let mut iterator = it["ShardIterator"].as_str().map(str::to_string);
    let mut result = ShardResult::default();
    let mut last_seq = String::new();
    let mut last_counter: HashMap<u32, u64> = HashMap::new();
    while let Some(current) = iterator {
        let body = serde_json::json!({"ShardIterator": current, "Limit": args.limit});
        let raw = client
            .call_raw("GetRecords", body.to_string().into_bytes())
            .await
            .map_err(|e| format!("GetRecords: {e}"))?;
        let page: Page =
            serde_json::from_slice(&raw).map_err(|e| format!("GetRecords response: {e}"))?;
        for r in &page.records {
            result.records += 1;
            let data = STANDARD
                .decode(&r.data)
                .map_err(|e| format!("record data: {e}"))?;
            result.bytes += data.len() as u64;
            if args.verify {
                if r.sequence_number.len() < last_seq.len()
                    || (r.sequence_number.len() == last_seq.len() && r.sequence_number <= last_seq)
                {
                    result.problems.push(format!(
                        "{shard}: sequence number {} not after {last_seq}",
                        r.sequence_number
                    ));
                }
                last_seq.clone_from(&r.sequence_number);
                if let Some((worker, counter)) = parse_tag(&data) {
                    if last_counter.get(&worker).is_some_and(|&c| counter <= c) {
                        result.problems.push(format!(
                            "{shard}: worker {worker:08x} record {counter} out of order"
                        ));
                    }
                    last_counter.insert(worker, counter);
                    result.tags.push((worker, counter));
                }
            }
        }
        let caught_up = page.records.is_empty() && page.millis_behind_latest == 0;
        iterator = if caught_up {
            None
        } else {
            page.next_shard_iterator
        };
    }
    Ok(result)
}

/// `bench put` starts each record with 8 hex digits of worker id and 16 of counter.
pub(super) fn parse_tag(data: &[u8]) -> Option<(u32, u64)> {
    let text = std::str::from_utf8(data.get(..24)?).ok()?;
    Some((
        u32::from_str_radix(&text[..8], 16).ok()?,
        u64::from_str_radix(&text[8..24], 16).ok()?,
    ))
}

fn verify_unique(total: &mut ShardResult) {
    total.tags.sort_unstable();
    let dups = total.tags.windows(2).filter(|w| w[0] == w[1]).count();
    if dups > 0 {
        total
            .problems
            .push(format!("{dups} records appear more than once"));
    }
}

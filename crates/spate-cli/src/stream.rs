//! `spate stream`: operator commands against a running Spate server.

use crate::bench::{wait_active, Target};
use clap::{Args, Subcommand};
use spate_client::KinesisClient;
use spate_wire::admin::{ShardTrafficOutput, TARGET_PREFIX};

#[derive(Subcommand)]
pub enum StreamCommand {
    /// Show each open shard's write rate against its limit; with --split, split the hot ones at
    /// the hash key that halves their traffic.
    HotShards(HotShardsArgs),
}

#[derive(Args, Debug)]
pub struct HotShardsArgs {
    /// The stream to inspect.
    pub name: String,
    #[arg(long, env = "SPATE_ENDPOINT", default_value = "http://127.0.0.1:4567")]
    pub endpoint: String,
    #[arg(long, env = "AWS_REGION", default_value = "us-east-1")]
    pub region: String,
    /// A shard is hot at this fraction of its write limit (bytes or records, whichever is higher).
    #[arg(long, default_value_t = 0.8)]
    pub threshold: f64,
    /// Split every hot shard (one SplitShard each, waiting for ACTIVE in between).
    #[arg(long)]
    pub split: bool,
    /// Print the server's report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

pub fn run(command: StreamCommand) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        match command {
            StreamCommand::HotShards(args) => hot_shards(args).await,
        }
    })
}

async fn traffic(client: &KinesisClient, stream: &str) -> Result<ShardTrafficOutput, String> {
    let body = serde_json::json!({ "StreamName": stream }).to_string();
    let raw = client
        .call_target(
            &format!("{TARGET_PREFIX}DescribeShardTraffic"),
            body.into_bytes(),
        )
        .await
        .map_err(|e| format!("DescribeShardTraffic: {e}"))?;
    serde_json::from_slice(&raw).map_err(|e| format!("DescribeShardTraffic: {e}"))
}

async fn hot_shards(args: HotShardsArgs) -> Result<(), String> {
    let client = Target {
        endpoint: args.endpoint.clone(),
        region: args.region.clone(),
        stream: args.name.clone(),
        json: args.json,
        ca_bundle: None,
    }
    .client()?;
    let report = traffic(&client, &args.name).await?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        print_table(&report, args.threshold);
    }
    if !args.split {
        return Ok(());
    }
    let hot: Vec<_> = report
        .shards
        .iter()
        .filter(|s| s.write_load >= args.threshold)
        .collect();
    if hot.is_empty() {
        eprintln!(
            "no shard at or above {:.0}% of its write limit",
            args.threshold * 100.0
        );
    }
    for shard in hot {
        let Some(at) = &shard.halving_hash_key else {
            eprintln!(
                "{}: its traffic comes from one narrow hash range (a hot partition key); splitting cannot spread it",
                shard.shard_id
            );
            continue;
        };
        let split = serde_json::json!({
            "StreamName": args.name,
            "ShardToSplit": shard.shard_id,
            "NewStartingHashKey": at,
        });
        client
            .call::<serde_json::Value>("SplitShard", &split)
            .await
            .map_err(|e| format!("SplitShard {}: {e}", shard.shard_id))?;
        wait_active(&client, &args.name).await?;
        eprintln!("split {} at hash key {at}", shard.shard_id);
    }
    Ok(())
}

fn print_table(report: &ShardTrafficOutput, threshold: f64) {
    println!(
        "{:<22} {:>12} {:>10} {:>12} {:>7} {:>12}  SPLIT AT (halves traffic)",
        "SHARD", "IN KiB/s", "IN rec/s", "OUT KiB/s", "LOAD", "THROTTLED/s"
    );
    for s in &report.shards {
        let hot = if s.write_load >= threshold {
            " HOT"
        } else {
            ""
        };
        println!(
            "{:<22} {:>12.1} {:>10.1} {:>12.1} {:>6.0}% {:>12.1}  {}{hot}",
            s.shard_id,
            s.incoming_bytes_per_second / 1024.0,
            s.incoming_records_per_second,
            s.outgoing_bytes_per_second / 1024.0,
            s.write_load * 100.0,
            s.write_throttled_per_second + s.read_throttled_per_second,
            s.halving_hash_key.as_deref().unwrap_or("-"),
        );
    }
}

//! The Rust consumer library (spate-consumer) as separate worker processes against Spate alone
//! (Kinesis and the DynamoDB lease table on one port): every record processed at least once and
//! in per-key order, leases moving to the survivor after `kill -9`, parents finished before
//! children after a split and a merge, and a restart resuming from the checkpoints.

use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::Client;
use spate_e2e_rust_sdk::{client, start_server};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

const FAILOVER_MS: &str = "1500";

fn worker(endpoint: &str, id: &str, output: &Path) -> Child {
    worker_of(endpoint, "consumed", id, output, "polling")
}

/// A worker process of the application `STREAM-app`, reading by `retrieval` (polling or efo).
fn worker_of(endpoint: &str, stream: &str, id: &str, output: &Path, retrieval: &str) -> Child {
    let application = format!("{stream}-app");
    let output = output.to_str().expect("path");
    Command::new(env!("CARGO_BIN_EXE_consumer-worker"))
        .args([
            endpoint,
            stream,
            &application,
            id,
            output,
            FAILOVER_MS,
            retrieval,
        ])
        .kill_on_drop(true)
        .spawn()
        .expect("start worker")
}

/// (key, value) per processed line of a worker's file, in processing order.
fn processed(output: &Path) -> Vec<(String, u32)> {
    let text = std::fs::read_to_string(output).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            Some((fields.get(1)?.to_string(), fields.get(2)?.parse().ok()?))
        })
        .collect()
}

async fn put(k: &Client, range: std::ops::Range<u32>) {
    put_to(k, "consumed", range).await
}

async fn put_to(k: &Client, stream: &str, range: std::ops::Range<u32>) {
    for i in range {
        k.put_record()
            .stream_name(stream)
            .partition_key(format!("key-{}", i % 20))
            .data(Blob::new(i.to_string()))
            .send()
            .await
            .expect("put");
    }
}

/// Waits until the workers' files hold every value below `n`.
async fn wait_for_all(outputs: &[PathBuf], n: u32, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let seen: BTreeSet<u32> = outputs
            .iter()
            .flat_map(|o| processed(o))
            .map(|(_, v)| v)
            .collect();
        let missing = (0..n).filter(|v| !seen.contains(v)).count();
        if missing == 0 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{missing} of {n} records not processed within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// In each file, a key's values seen for the first time come in increasing order (replays of
/// values already processed are at-least-once delivery, not disorder).
fn assert_key_order(output: &Path) {
    let mut seen: HashMap<String, BTreeSet<u32>> = HashMap::new();
    let mut last_new: HashMap<String, u32> = HashMap::new();
    for (key, value) in processed(output) {
        if !seen.entry(key.clone()).or_default().insert(value) {
            continue;
        }
        if let Some(previous) = last_new.insert(key.clone(), value) {
            assert!(
                previous < value,
                "{}: {key} went from {previous} to {value}",
                output.display()
            );
        }
    }
}

fn lease_table(server_endpoint: &str) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "t", "t", None, None, "t",
            ))
            .endpoint_url(server_endpoint)
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build(),
    )
}

/// Each lease's value of `attribute`.
async fn leases(server_endpoint: &str, attribute: &str) -> BTreeMap<String, String> {
    let scan = lease_table(server_endpoint)
        .scan()
        .table_name("consumed-app")
        .send()
        .await;
    let Ok(scan) = scan else {
        return BTreeMap::new();
    };
    scan.items()
        .iter()
        .filter_map(|i| {
            Some((
                i.get("leaseKey")?.as_s().ok()?.clone(),
                i.get(attribute)?.as_s().ok()?.clone(),
            ))
        })
        .collect()
}

/// Waits until the two workers hold two of the four leases each (the second steals from the
/// first, which took all four while it was alone).
async fn wait_for_balance(server_endpoint: &str) {
    let started = Instant::now();
    loop {
        let owners = leases(server_endpoint, "leaseOwner").await;
        let mut load: BTreeMap<String, usize> = BTreeMap::new();
        for owner in owners.values() {
            *load.entry(owner.clone()).or_default() += 1;
        }
        if load.len() == 2 && load.values().all(|n| *n == 2) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "leases not balanced: {load:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_share_leases_survive_kill_9_follow_reshards_and_resume() {
    let mut server = start_server(&[]).await;
    let k = client(&server.endpoint);
    k.create_stream()
        .stream_name("consumed")
        .shard_count(4)
        .send()
        .await
        .expect("create");
    let dir = std::env::temp_dir().join(format!("spate-consumer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let outputs: Vec<PathBuf> = ["a", "b", "c"]
        .iter()
        .map(|w| dir.join(format!("{w}.tsv")))
        .collect();
    let mut a = worker(&server.endpoint, "worker-a", &outputs[0]);
    let mut b = worker(&server.endpoint, "worker-b", &outputs[1]);
    wait_for_balance(&server.endpoint).await;
    put(&k, 0..400).await;
    wait_for_all(&outputs, 400, Duration::from_secs(60)).await;
    assert!(
        !processed(&outputs[0]).is_empty() && !processed(&outputs[1]).is_empty(),
        "both workers hold leases"
    );

    // kill -9 one worker: its leases move to the other within the failover time.
    let killed = Instant::now();
    a.start_kill().expect("kill -9");
    a.wait().await.expect("reaped");
    put(&k, 400..800).await;
    wait_for_all(&outputs, 800, Duration::from_secs(60)).await;
    eprintln!(
        "every record of the killed worker's shards processed {:?} after kill -9 (failover time {FAILOVER_MS} ms)",
        killed.elapsed()
    );

    // A split and a merge: children start only after their parents reach SHARD_END.
    k.split_shard()
        .stream_name("consumed")
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key((u128::MAX / 8).to_string())
        .send()
        .await
        .expect("split");
    tokio::time::sleep(Duration::from_millis(200)).await;
    k.merge_shards()
        .stream_name("consumed")
        .shard_to_merge("shardId-000000000002")
        .adjacent_shard_to_merge("shardId-000000000003")
        .send()
        .await
        .expect("merge");
    tokio::time::sleep(Duration::from_millis(200)).await;
    put(&k, 800..1200).await;
    wait_for_all(&outputs, 1200, Duration::from_secs(60)).await;
    let checkpoints = leases(&server.endpoint, "checkpoint").await;
    for parent in [
        "shardId-000000000000",
        "shardId-000000000002",
        "shardId-000000000003",
    ] {
        assert_eq!(
            checkpoints.get(parent).map(String::as_str),
            Some("SHARD_END"),
            "{parent}: {checkpoints:?}"
        );
    }
    assert!(
        checkpoints.len() >= 7,
        "child leases were created: {checkpoints:?}"
    );

    // Graceful stop, then a new worker resumes from the checkpoints instead of the start.
    let _ = Command::new("kill")
        .args(["-TERM", &b.id().expect("pid").to_string()])
        .status()
        .await;
    b.wait().await.expect("b stopped");
    let mut c = worker(&server.endpoint, "worker-c", &outputs[2]);
    put(&k, 1200..1300).await;
    wait_for_all(&outputs, 1300, Duration::from_secs(60)).await;
    let resumed = processed(&outputs[2]);
    assert!(
        resumed.len() < 600,
        "worker c resumed from checkpoints ({} records, not all 1300 again)",
        resumed.len()
    );
    for output in &outputs {
        assert_key_order(output);
    }
    c.start_kill().expect("stop c");
    server.child.kill().await.expect("stop");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_workers_read_through_a_split() {
    let mut server = start_server(&[]).await;
    let k = client(&server.endpoint);
    k.create_stream()
        .stream_name("fanned")
        .shard_count(2)
        .send()
        .await
        .expect("create");
    let dir = std::env::temp_dir().join(format!("spate-consumer-efo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let outputs = vec![dir.join("efo.tsv")];
    let mut w = worker_of(&server.endpoint, "fanned", "efo-worker", &outputs[0], "efo");
    put_to(&k, "fanned", 0..200).await;
    wait_for_all(&outputs, 200, Duration::from_secs(60)).await;
    k.split_shard()
        .stream_name("fanned")
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key((u128::MAX / 8).to_string())
        .send()
        .await
        .expect("split");
    tokio::time::sleep(Duration::from_millis(200)).await;
    put_to(&k, "fanned", 200..400).await;
    wait_for_all(&outputs, 400, Duration::from_secs(60)).await;
    assert_key_order(&outputs[0]);
    let consumers = k
        .list_stream_consumers()
        .stream_arn("arn:aws:kinesis:us-east-1:000000000000:stream/fanned")
        .send()
        .await
        .expect("consumers");
    assert_eq!(
        consumers.consumers().len(),
        1,
        "the worker registered its consumer"
    );
    w.start_kill().expect("stop");
    server.child.kill().await.expect("stop");
    let _ = std::fs::remove_dir_all(&dir);
}

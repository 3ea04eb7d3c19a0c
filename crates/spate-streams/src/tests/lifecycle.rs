//! Stream lifecycle windows and resharding, by the injected clock.

use super::Harness;
use crate::ServiceConfig;
use serde_json::json;
use spate_wire::ErrorKind;

fn delays(ms: u64) -> ServiceConfig {
    ServiceConfig {
        creating_delay_ms: ms,
        deleting_delay_ms: ms,
        updating_delay_ms: ms,
        ..ServiceConfig::default()
    }
}

#[tokio::test]
async fn a_stream_is_creating_for_its_window_and_takes_no_records_meanwhile() {
    let h = Harness::new(delays(500)).await;
    h.create("s", 2).await;
    assert_eq!(h.status("s").await, "CREATING");
    let described = h.ok("DescribeStream", json!({"StreamName": "s"})).await;
    assert_eq!(described["StreamDescription"]["Shards"], json!([]));
    let e = h.put("s", "k", b"x").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::ResourceNotFound);
    h.advance(499);
    assert_eq!(h.status("s").await, "CREATING");
    h.advance(1);
    assert_eq!(h.status("s").await, "ACTIVE");
    h.put("s", "k", b"x").await.unwrap();
}

#[tokio::test]
async fn a_split_applies_when_the_updating_window_ends() {
    let h = Harness::new(delays(1000)).await;
    h.create("s", 1).await;
    h.advance(1000);
    let key = (u128::MAX / 2).to_string();
    let body = json!({"StreamName": "s", "ShardToSplit": "shard-0", "NewStartingHashKey": key});
    h.ok("SplitShard", body).await;
    assert_eq!(h.status("s").await, "UPDATING");
    // Writes go on while UPDATING.
    h.put("s", "k", b"x").await.unwrap();
    let shards = || async {
        h.ok("ListShards", json!({"StreamName": "s"})).await["Shards"]
            .as_array()
            .map_or(0, |a| a.len())
    };
    assert_eq!(shards().await, 1);
    h.advance(999);
    h.kinesis.tick().await;
    assert_eq!(shards().await, 1, "not before the window ends");
    h.advance(1);
    h.kinesis.tick().await;
    assert_eq!(shards().await, 3);
    assert_eq!(h.status("s").await, "ACTIVE");
}

#[tokio::test]
async fn a_deleted_stream_is_gone_when_its_window_ends() {
    let h = Harness::new(delays(500)).await;
    h.create("s", 1).await;
    h.advance(500);
    h.ok("DeleteStream", json!({"StreamName": "s"})).await;
    assert_eq!(h.status("s").await, "DELETING");
    h.advance(500);
    let e = h
        .err("DescribeStreamSummary", json!({"StreamName": "s"}))
        .await;
    assert_eq!(e.kind, ErrorKind::ResourceNotFound);
    h.kinesis.tick().await;
    // The name is free again.
    h.create("s", 1).await;
}

#[tokio::test]
async fn merging_takes_the_pair_in_order() {
    let h = Harness::instant().await;
    h.create("s", 2).await;
    let body = json!({"StreamName": "s", "ShardToMerge": "shardId-000000000001", "AdjacentShardToMerge": "shardId-000000000000"});
    let e = h.err("MergeShards", body).await;
    assert_eq!(e.kind, ErrorKind::InvalidArgument);
    assert!(
        e.message
            .contains("are not an adjacent pair of shards eligible for merging"),
        "{}",
        e.message
    );
    let body = json!({"StreamName": "s", "ShardToMerge": "0", "AdjacentShardToMerge": "x-1"});
    h.ok("MergeShards", body).await;
    let shards = h.ok("ListShards", json!({"StreamName": "s"})).await;
    assert_eq!(shards["Shards"].as_array().map(|a| a.len()), Some(3));
}

#[tokio::test]
async fn resharding_one_stream_does_not_hold_writes_to_another() {
    let h = Harness::instant().await;
    h.create("a", 1).await;
    h.create("b", 1).await;
    // Hold stream a's routing gate as a reshard does while it closes parents.
    let a = h
        .kinesis
        .store
        .get(&crate::model::StreamName::parse("a").unwrap())
        .unwrap();
    let _resharding_a = a.gate.write().await;
    let put = tokio::time::timeout(std::time::Duration::from_secs(5), h.put("b", "k", b"x"));
    assert!(put
        .await
        .expect("a write to b waited for a's reshard")
        .is_ok());
}

/// A crash between removing a stream from the catalog and deleting its log shards leaves the
/// shards behind; the next start removes every log shard no stream refers to.
#[tokio::test]
async fn log_shards_no_stream_refers_to_are_removed_at_start() {
    use crate::{Keyring, Kinesis, MasterKey, MasterKeySource};
    use spate_catalog::MemCatalog;
    use spate_log::mem::MemStorage;
    use spate_log::{Clock, Log, LogOptions, RecordLog};
    use std::sync::Arc;

    let clock: Clock = Arc::new(|| super::START_MS);
    let storage = Arc::new(MemStorage::new());
    let log = Log::open(storage, "/log".into(), LogOptions::default(), clock.clone());
    let log = Arc::new(log.expect("log"));
    log.create_shard(77).await.expect("shard");
    assert_eq!(log.shards(), vec![77]);

    let key = MasterKey::generate().expect("key");
    let keyring = Keyring::new(MasterKeySource::Key(Box::new(key)), &[]);
    let catalog = Arc::new(MemCatalog);
    Kinesis::open(
        ServiceConfig::default(),
        log.clone(),
        catalog,
        clock,
        keyring,
    )
    .await
    .expect("service");
    assert!(log.shards().is_empty(), "left: {:?}", log.shards());
}

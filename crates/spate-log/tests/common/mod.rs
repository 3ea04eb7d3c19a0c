//! Helpers shared by the log's integration tests.
#![allow(dead_code)]

use spate_log::storage::Storage;
use spate_log::{AppendRecord, Appended, Clock, Log, LogOptions, RecordLog};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

pub fn root() -> PathBuf {
    PathBuf::from("/data/log")
}

pub fn small_segments() -> LogOptions {
    LogOptions {
        segment_max_bytes: 4096,
        index_interval_bytes: 512,
        ..LogOptions::default()
    }
}

/// A clock the test moves by hand.
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn new(start: i64) -> Self {
        TestClock(Arc::new(AtomicI64::new(start)))
    }
    pub fn clock(&self) -> Clock {
        let t = self.0.clone();
        Arc::new(move || t.load(Ordering::SeqCst))
    }
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
    pub fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub fn open(storage: Arc<dyn Storage>, clock: &TestClock) -> Log {
    Log::open(storage, root(), small_segments(), clock.clock()).expect("open log")
}

pub fn record(shard: u64, i: usize) -> AppendRecord {
    AppendRecord {
        shard,
        partition_key: format!("key-{i}"),
        data: format!("payload number {i} of shard {shard}").into_bytes(),
        sealed: false,
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// Every stored record of a shard: (counter, arrival, key, data).
pub fn read_all(log: &Log, shard: u64) -> Vec<(u64, i64, String, Vec<u8>)> {
    let batch = log
        .read(shard, 0, usize::MAX, usize::MAX, i64::MIN)
        .expect("read");
    batch
        .records()
        .map(|r| {
            (
                r.counter,
                r.arrival_ms,
                r.partition_key.to_string(),
                r.data.to_vec(),
            )
        })
        .collect()
}

/// Appends `n` records per shard, one append call each, advancing the clock between calls.
pub fn fill(
    log: &Log,
    clock: &TestClock,
    shards: &[u64],
    n: usize,
) -> Vec<(AppendRecord, Appended)> {
    let mut acked = Vec::new();
    for i in 0..n {
        let records: Vec<AppendRecord> = shards.iter().map(|&s| record(s, i)).collect();
        let acks = block_on(log.append(records.clone())).expect("append");
        acked.extend(records.into_iter().zip(acks));
        clock.advance(10);
    }
    acked
}

pub fn assert_all_present(log: &Log, acked: &[(AppendRecord, Appended)]) {
    for (r, a) in acked {
        let batch = log
            .read(r.shard, a.counter, 1, usize::MAX, i64::MIN)
            .expect("read");
        let got = batch
            .records()
            .next()
            .unwrap_or_else(|| panic!("record {} of shard {} missing", a.counter, r.shard));
        assert_eq!(
            (got.counter, got.arrival_ms, got.partition_key, got.data),
            (
                a.counter,
                a.arrival_ms,
                r.partition_key.as_str(),
                &r.data[..]
            )
        );
    }
}

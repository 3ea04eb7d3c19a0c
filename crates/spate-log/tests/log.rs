//! The log against in-memory storage: round trips, segment rolling, time seeks, retention, and
//! recovery after a process crash, a power loss, and a torn write at every byte offset.

mod common;

use common::*;
use spate_log::mem::MemStorage;
use spate_log::storage::Storage;
use spate_log::{segment_path, shard_dir, Log, RecordLog};
use std::sync::Arc;

#[test]
fn appends_read_back_in_order_across_segments() {
    let storage = Arc::new(MemStorage::new());
    let clock = TestClock::new(1_000_000);
    let log = open(storage.clone(), &clock);
    for s in [1, 2] {
        block_on(log.create_shard(s)).unwrap();
    }
    let acked = fill(&log, &clock, &[1, 2], 300);
    for s in [1u64, 2] {
        let all = read_all(&log, s);
        assert_eq!(all.len(), 300);
        assert!(all
            .windows(2)
            .all(|w| w[1].0 == w[0].0 + 1 && w[1].1 >= w[0].1));
    }
    assert_all_present(&log, &acked);
    let segments = storage.list_dir(&shard_dir(&root(), 1)).unwrap().len();
    assert!(
        segments > 3,
        "expected rolling into several segments, got {segments}"
    );
    // Bounded reads continue where they stopped.
    let first = log.read(1, 0, 7, usize::MAX, i64::MIN).unwrap();
    assert_eq!(first.len(), 7);
    let second = log
        .read(1, first.next_counter, 5, usize::MAX, i64::MIN)
        .unwrap();
    assert_eq!(second.records().next().unwrap().counter, 7);
    let tail = log.tail(1).unwrap();
    assert_eq!((tail.first_counter, tail.next_counter), (0, 300));
}

#[test]
fn byte_bound_returns_at_least_one_record() {
    let clock = TestClock::new(5);
    let log = open(Arc::new(MemStorage::new()), &clock);
    block_on(log.create_shard(9)).unwrap();
    fill(&log, &clock, &[9], 10);
    assert_eq!(log.read(9, 0, 100, 1, i64::MIN).unwrap().len(), 1);
}

#[test]
fn seek_time_finds_first_record_at_or_after() {
    let clock = TestClock::new(1_000);
    let log = open(Arc::new(MemStorage::new()), &clock);
    block_on(log.create_shard(1)).unwrap();
    let acked = fill(&log, &clock, &[1], 200);
    assert_eq!(log.seek_time(1, 0).unwrap(), 0);
    assert_eq!(log.seek_time(1, acked[57].1.arrival_ms).unwrap(), 57);
    assert_eq!(log.seek_time(1, acked[57].1.arrival_ms - 5).unwrap(), 57);
    assert_eq!(log.seek_time(1, i64::MAX).unwrap(), 200);
}

#[test]
fn trim_drops_old_segments_but_keeps_the_counter() {
    let storage = Arc::new(MemStorage::new());
    let clock = TestClock::new(1_000);
    let log = open(storage.clone(), &clock);
    block_on(log.create_shard(1)).unwrap();
    let acked = fill(&log, &clock, &[1], 300);
    let cutoff = acked[150].1.arrival_ms;
    block_on(log.trim(1, cutoff)).unwrap();
    let tail = log.tail(1).unwrap();
    assert!(
        tail.first_counter > 0 && tail.first_counter <= 150,
        "first counter {}",
        tail.first_counter
    );
    let all = read_all(&log, 1);
    assert_eq!(all.first().unwrap().0, tail.first_counter);
    // Trimming everything keeps the newest segment, so counters continue after a restart.
    block_on(log.trim(1, i64::MAX)).unwrap();
    drop(log);
    let log = open(Arc::new(storage.after_process_crash()), &clock);
    let acks = block_on(log.append(vec![record(1, 999)])).unwrap();
    assert_eq!(acks[0].counter, 300);
}

#[test]
fn process_crash_keeps_every_acknowledged_record() {
    let storage = Arc::new(MemStorage::new());
    let clock = TestClock::new(1_000);
    let log = open(storage.clone(), &clock);
    for s in [1, 2, 3] {
        block_on(log.create_shard(s)).unwrap();
    }
    let acked = fill(&log, &clock, &[1, 2, 3], 120);
    let crashed = Arc::new(storage.after_process_crash());
    drop(log);
    let log = open(crashed, &clock);
    assert_all_present(&log, &acked);
    // New appends continue the counters.
    let acks = block_on(log.append(vec![record(2, 1000)])).unwrap();
    assert_eq!(acks[0].counter, 120);
}

#[test]
fn power_loss_keeps_every_acknowledged_record() {
    let storage = Arc::new(MemStorage::with_power_loss_tracking());
    let clock = TestClock::new(1_000);
    let log = open(storage.clone(), &clock);
    for s in [1, 2] {
        block_on(log.create_shard(s)).unwrap();
    }
    let acked = fill(&log, &clock, &[1, 2], 150);
    let survivor = Arc::new(storage.after_power_loss());
    let log2 = open(survivor, &clock);
    assert_all_present(&log2, &acked);
    assert_eq!(log2.tail(1).unwrap().next_counter, 150);
    drop(log);
}

#[test]
fn unsynced_writes_do_not_survive_power_loss_but_acked_ones_do() {
    // Write, then append bytes behind the log's back without syncing: they must vanish.
    let storage = Arc::new(MemStorage::with_power_loss_tracking());
    let clock = TestClock::new(1_000);
    let log = open(storage.clone(), &clock);
    block_on(log.create_shard(1)).unwrap();
    let acked = fill(&log, &clock, &[1], 3);
    let seg = segment_path(&shard_dir(&root(), 1), 0);
    let f = storage.open(&seg).unwrap();
    let len = f.len().unwrap();
    f.write_all_at(b"garbage that was never synced", len)
        .unwrap();
    let log2 = open(Arc::new(storage.after_power_loss()), &clock);
    assert_all_present(&log2, &acked);
    assert_eq!(log2.tail(1).unwrap().next_counter, 3);
}

/// Cuts the last segment at every byte offset inside its last record: recovery must keep exactly
/// the records before it, never panic, and accept new appends after.
#[test]
fn torn_last_record_is_truncated_at_every_offset() {
    let base = Arc::new(MemStorage::new());
    let clock = TestClock::new(1_000);
    let log = open(base.clone(), &clock);
    block_on(log.create_shard(1)).unwrap();
    fill(&log, &clock, &[1], 5);
    drop(log);
    let (path, bytes) = base
        .files()
        .into_iter()
        .find(|(p, _)| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let last_len = spate_log::frame::frame_len(b"key-4", b"payload number 4 of shard 1");
    let last_start = bytes.len() - last_len;
    for cut in last_start..bytes.len() {
        let storage = base.after_process_crash();
        let f = storage.open(&path).unwrap();
        f.set_len(cut as u64).unwrap();
        let storage = Arc::new(storage);
        let log = open(storage.clone(), &clock);
        let all = read_all(&log, 1);
        assert_eq!(all.len(), 4, "cut at {cut}");
        assert_eq!(
            storage.open(&path).unwrap().len().unwrap(),
            last_start as u64,
            "cut at {cut}"
        );
        let acks = block_on(log.append(vec![record(1, 4)])).unwrap();
        assert_eq!(acks[0].counter, 4);
    }
}

/// A damaged record with later commits after it was acknowledged: recovery must refuse to start
/// (naming the file) rather than cut it, and must change nothing on disk.
#[test]
fn corrupt_byte_followed_by_later_commits_refuses_to_start() {
    let base = Arc::new(MemStorage::new());
    let clock = TestClock::new(1_000);
    let log = open(base.clone(), &clock);
    block_on(log.create_shard(1)).unwrap();
    fill(&log, &clock, &[1], 10);
    drop(log);
    let (path, bytes) = base
        .files()
        .into_iter()
        .find(|(p, _)| p.extension().is_some_and(|e| e == "seg"))
        .unwrap();
    let storage = base.after_process_crash();
    let flip_at = bytes.len()
        - 3 * spate_log::frame::frame_len(b"key-9", b"payload number 9 of shard 1")
        + 12;
    storage
        .open(&path)
        .unwrap()
        .write_all_at(&[bytes[flip_at] ^ 0xff], flip_at as u64)
        .unwrap();
    let before = storage.files();
    let storage = Arc::new(storage);
    let error = Log::open(storage.clone(), root(), small_segments(), clock.clock())
        .err()
        .expect("recovery must refuse damaged acknowledged records");
    let text = error.to_string();
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("spate log repair"), "{text}");
    assert_eq!(storage.files(), before, "nothing on disk may change");
}

#[test]
fn unknown_shard_is_an_error_not_a_panic() {
    let clock = TestClock::new(1);
    let log = open(Arc::new(MemStorage::new()), &clock);
    assert!(block_on(log.append(vec![record(42, 0)])).is_err());
    assert!(log.read(42, 0, 1, 1, 0).is_err());
}

#[test]
fn watchers_see_the_durable_tail_move() {
    let clock = TestClock::new(1);
    let log = open(Arc::new(MemStorage::new()), &clock);
    block_on(log.create_shard(1)).unwrap();
    let rx = log.watch(1).unwrap();
    fill(&log, &clock, &[1], 3);
    assert_eq!(*rx.borrow(), 3);
}

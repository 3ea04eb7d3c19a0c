//! The log under bad days: corruption in old segments, failed syncs followed by restarts and
//! power losses, fresh directories, interrupted retention, a full disk and descriptor
//! exhaustion. The last test throws all of them at the log at random.

mod common;

use common::*;
use proptest::prelude::*;
use spate_log::mem::{Fault, FaultOp, MemStorage, EIO, EMFILE, ENOSPC};
use spate_log::storage::Storage;
use spate_log::{
    recovery, shard_dir, AppendRecord, Appended, Log, LogError, LogOptions, RecordLog,
};
use std::collections::BTreeMap;
use std::sync::Arc;

fn fault(op: FaultOp, errno: i32, skip: usize) -> Fault {
    Fault {
        op,
        errno,
        skip,
        count: 1,
    }
}

fn segment_files(storage: &MemStorage, shard: u64) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let dir = shard_dir(&root(), shard);
    storage
        .files()
        .into_iter()
        .filter(|(p, _)| p.starts_with(&dir))
        .collect()
}

/// Issue 10, item 1: one flipped bit in the first of many segments used to delete every later
/// segment. Now the start is refused (naming file and offset), nothing is deleted, and
/// `repair` keeps every record before the damage and quarantines the rest.
#[test]
fn a_flipped_bit_in_an_old_segment_refuses_the_start_and_deletes_nothing() {
    let storage = Arc::new(MemStorage::new());
    let clock = TestClock::new(1_000);
    let log = open(storage.clone(), &clock);
    block_on(log.create_shard(1)).unwrap();
    fill(&log, &clock, &[1], 400);
    drop(log);
    let files = segment_files(&storage, 1);
    assert!(files.len() > 5, "want many segments, got {}", files.len());
    let (first, bytes) = &files[0];
    let flip_at = bytes.len() / 2;
    let f = storage.open(first).unwrap();
    f.write_all_at(&[bytes[flip_at] ^ 0x10], flip_at as u64)
        .unwrap();
    let before = storage.files();

    let error = Log::open(storage.clone(), root(), small_segments(), clock.clock())
        .err()
        .expect("start must be refused");
    let LogError::Corrupted(text) = &error else {
        panic!("{error}")
    };
    assert!(text.contains(&first.display().to_string()), "{text}");
    assert_eq!(storage.files(), before, "nothing may be deleted or cut");

    let report = recovery::repair(storage.as_ref(), &root()).unwrap();
    assert_eq!(report.len(), 1);
    let log = open(storage.clone(), &clock);
    let kept = read_all(&log, 1);
    assert!(!kept.is_empty() && kept.len() < 400);
    assert!(kept.windows(2).all(|w| w[1].0 == w[0].0 + 1));
    let quarantined = storage
        .files()
        .into_iter()
        .filter(|(p, _)| p.starts_with(root().join("quarantine")))
        .count();
    assert_eq!(quarantined, files.len(), "later segments plus the cut tail");
}

/// Item 2: after a failed fdatasync the unsynced bytes used to stay readable in the page
/// cache; a restarted server took them as valid and appended after them; a power loss then
/// dropped them and the next recovery deleted the newer, acknowledged records.
#[test]
fn a_failed_sync_then_a_restart_then_a_power_loss_keeps_every_acknowledged_record() {
    let storage = Arc::new(MemStorage::with_power_loss_tracking());
    let clock = TestClock::new(1_000);
    let log = open(storage.clone(), &clock);
    block_on(log.create_shard(1)).unwrap();
    let mut acked = fill(&log, &clock, &[1], 50);
    storage.inject(fault(FaultOp::SyncData, EIO, 0));
    let failed = block_on(log.append((0..20).map(|i| record(1, 1000 + i)).collect()));
    assert!(matches!(failed, Err(LogError::Io(_))), "{failed:?}");
    // The log refuses writes until restart.
    assert!(block_on(log.append(vec![record(1, 2000)])).is_err());
    drop(log);

    let restarted = Arc::new(storage.after_process_crash());
    let log = open(restarted.clone(), &clock);
    assert_eq!(
        read_all(&log, 1).len(),
        50,
        "the failed batch must not reappear"
    );
    acked.extend(fill(&log, &clock, &[1], 200));
    drop(log);

    let after = Arc::new(restarted.after_power_loss());
    let log = open(after, &clock);
    assert_all_present(&log, &acked);
    assert_eq!(log.tail(1).unwrap().next_counter, 250);
}

/// Item 3: on a fresh data directory the directories were created without syncing their
/// parents, so a power loss right after the first writes lost everything.
#[test]
fn a_fresh_directory_survives_a_power_loss_right_after_the_first_writes() {
    let storage = Arc::new(MemStorage::with_power_loss_tracking());
    let clock = TestClock::new(1_000);
    let log = open(storage.clone(), &clock);
    block_on(log.create_shard(7)).unwrap();
    let acked = fill(&log, &clock, &[7], 30);
    let after = Arc::new(storage.after_power_loss());
    let log2 = open(after, &clock);
    assert_all_present(&log2, &acked);
    drop(log);
}

/// Item 4: retention deleted several segments and synced the directory once; a crash could
/// keep an older one and lose a newer one, and recovery then cut the chain. Deletions now go
/// oldest first with a sync each, so any crash point leaves a shorter prefix deleted.
#[test]
fn retention_interrupted_at_any_point_leaves_no_gap() {
    let storage = Arc::new(MemStorage::with_power_loss_tracking());
    let clock = TestClock::new(1_000);
    let log = open(storage.clone(), &clock);
    block_on(log.create_shard(1)).unwrap();
    let acked = fill(&log, &clock, &[1], 400);
    let cutoff = acked[300].1.arrival_ms;
    let segments = segment_files(&storage, 1).len();
    drop(log);
    // The file system may have persisted any of the removals not yet synced.
    let subsets: [fn(usize, &std::path::Path) -> bool; 4] =
        [|_, _| false, |_, _| true, |i, _| i % 2 == 1, |i, _| i > 0];
    for crash_after in 0..segments * 2 {
        for keep in subsets {
            let s = Arc::new(storage.after_process_crash());
            let log = open(s.clone(), &clock);
            // The directory sync after the `crash_after`-th removal fails: power goes then.
            s.inject(fault(FaultOp::SyncDir, EIO, crash_after));
            let _ = block_on(log.trim(1, cutoff));
            drop(log);
            let log = open(Arc::new(s.after_power_loss_keeping(keep)), &clock);
            let kept = read_all(&log, 1);
            assert!(kept.windows(2).all(|w| w[1].0 == w[0].0 + 1));
            assert_eq!(kept.last().map(|r| r.0), Some(399));
            assert!(kept.first().map(|r| r.0).unwrap_or(0) <= 300);
        }
    }
}

/// Items 5 and 7: a full disk fails the batch only; the batch is rolled back (it does not
/// reappear after a restart) and writes go on once space is back.
#[test]
fn a_full_disk_fails_the_batch_and_writes_resume() {
    let storage = Arc::new(MemStorage::with_power_loss_tracking());
    let clock = TestClock::new(1_000);
    let log = open(storage.clone(), &clock);
    block_on(log.create_shard(1)).unwrap();
    let mut acked = fill(&log, &clock, &[1], 20);
    storage.inject(fault(FaultOp::Write, ENOSPC, 0));
    let failed = block_on(log.append((0..10).map(|i| record(1, 100 + i)).collect()));
    match failed {
        Err(LogError::Unavailable(text)) => assert!(text.contains("disk is full"), "{text}"),
        other => panic!("{other:?}"),
    }
    acked.extend(fill(&log, &clock, &[1], 20));
    assert_eq!(read_all(&log, 1).len(), 40);
    drop(log);
    let log = open(Arc::new(storage.after_process_crash()), &clock);
    assert_eq!(
        read_all(&log, 1).len(),
        40,
        "the failed batch must not reappear"
    );
    assert_all_present(&log, &acked);
}

/// Item 7: running out of descriptors while starting a segment fails that batch only, even
/// when the rollback cannot open a directory to sync it.
#[test]
fn descriptor_exhaustion_fails_the_batch_and_writes_resume() {
    let storage = Arc::new(MemStorage::with_power_loss_tracking());
    let clock = TestClock::new(1_000);
    let log = open(storage.clone(), &clock);
    for s in [1, 2] {
        block_on(log.create_shard(s)).unwrap();
    }
    // Shard 1 gets its first segment, shard 2 does not: the commit is rolled back, which
    // removes shard 1's new file, and the directory sync after that fails too.
    storage.inject(fault(FaultOp::Create, EMFILE, 1));
    storage.inject(fault(FaultOp::SyncDir, EMFILE, 0));
    let both = vec![record(1, 0), record(2, 0)];
    match block_on(log.append(both.clone())) {
        Err(LogError::Unavailable(text)) => assert!(text.contains("descriptors"), "{text}"),
        other => panic!("{other:?}"),
    }
    let acks = block_on(log.append(both)).unwrap();
    assert_eq!((acks[0].counter, acks[1].counter), (0, 0));
    let log2 = open(Arc::new(storage.after_power_loss()), &clock);
    assert_eq!((read_all(&log2, 1).len(), read_all(&log2, 2).len()), (1, 1));
    drop(log);
}

/// Item 7: sealed segments are not all held open; readers go through a bounded cache.
#[test]
fn readers_hold_a_bounded_number_of_files_open() {
    let storage = Arc::new(MemStorage::new());
    let clock = TestClock::new(1_000);
    let options = LogOptions {
        open_files_max: 3,
        ..small_segments()
    };
    let log = Log::open(storage.clone(), root(), options, clock.clock()).unwrap();
    for s in 0..4 {
        block_on(log.create_shard(s)).unwrap();
    }
    fill(&log, &clock, &[0, 1, 2, 3], 300);
    assert!(storage.files().len() > 12);
    for s in 0..4 {
        assert_eq!(read_all(&log, s).len(), 300);
    }
    assert!(log.open_reader_files() <= 3, "{}", log.open_reader_files());
}

/// A torn tail can hold valid frames after a damaged one (sectors persist out of order) as
/// long as no later commit starts there: that is still a torn write, and it is cut.
#[test]
fn a_torn_last_commit_with_valid_frames_after_the_damage_is_cut() {
    let storage = Arc::new(MemStorage::new());
    let clock = TestClock::new(1_000);
    let log = open(storage.clone(), &clock);
    block_on(log.create_shard(1)).unwrap();
    fill(&log, &clock, &[1], 3);
    // One commit of five records: damage its second frame, keep the rest intact.
    block_on(log.append((0..5).map(|i| record(1, 10 + i)).collect())).unwrap();
    drop(log);
    let (path, bytes) = segment_files(&storage, 1).pop().unwrap();
    let frame = spate_log::frame::frame_len(b"key-10", b"payload number 10 of shard 1");
    let second = bytes.len() - 4 * frame;
    storage
        .open(&path)
        .unwrap()
        .write_all_at(&[0u8; 16], second as u64 + 8)
        .unwrap();
    let log = open(storage.clone(), &clock);
    assert_eq!(read_all(&log, 1).len(), 4);
}

// ------------------------------------------------------------------ the random bad day

#[derive(Debug, Clone)]
enum Step {
    Append {
        shard: u64,
        records: usize,
    },
    Advance(i64),
    Trim {
        shard: u64,
        keep_ms: i64,
    },
    Inject(FaultOp, i32, usize),
    ProcessCrash,
    /// Power goes; the file system had persisted the unsynced name changes whose bit is set.
    PowerLoss(u64),
}

fn step() -> impl Strategy<Value = Step> {
    let ops = prop_oneof![
        Just(FaultOp::Write),
        Just(FaultOp::SyncData),
        Just(FaultOp::SyncDir),
        Just(FaultOp::Create),
        Just(FaultOp::Open),
        Just(FaultOp::Remove),
        Just(FaultOp::SetLen),
    ];
    prop_oneof![
        8 => (0u64..3, 1usize..40).prop_map(|(shard, records)| Step::Append { shard, records }),
        2 => (1i64..500).prop_map(Step::Advance),
        1 => (0u64..3, 0i64..2_000).prop_map(|(shard, keep_ms)| Step::Trim { shard, keep_ms }),
        2 => (ops, prop_oneof![Just(EIO), Just(ENOSPC), Just(EMFILE)], 0usize..6)
            .prop_map(|(op, errno, skip)| Step::Inject(op, errno, skip)),
        1 => Just(Step::ProcessCrash),
        2 => any::<u64>().prop_map(Step::PowerLoss),
    ]
}

/// What the test expects of each shard: the acknowledged records, and the trim horizon.
#[derive(Default)]
struct Model {
    acked: BTreeMap<u64, Vec<(AppendRecord, Appended)>>,
    horizon: BTreeMap<u64, i64>,
}

impl Model {
    fn check(&self, log: &Log) {
        for (&shard, acked) in &self.acked {
            let all = read_all(log, shard);
            assert!(
                all.windows(2).all(|w| w[1].0 == w[0].0 + 1),
                "shard {shard}: counters not consecutive"
            );
            let horizon = self.horizon.get(&shard).copied().unwrap_or(i64::MIN);
            for (r, a) in acked.iter().filter(|(_, a)| a.arrival_ms >= horizon) {
                let found = all.iter().find(|x| x.0 == a.counter);
                let Some(x) = found else {
                    panic!("shard {shard}: acknowledged record {} lost", a.counter)
                };
                assert_eq!((&x.2, &x.3, x.1), (&r.partition_key, &r.data, a.arrival_ms));
            }
        }
    }
}

fn restart(
    storage: &Arc<MemStorage>,
    power_loss: Option<u64>,
    clock: &TestClock,
) -> (Arc<MemStorage>, Log) {
    let next = Arc::new(match power_loss {
        Some(mask) => storage.after_power_loss_keeping(|i, _| mask >> (i % 64) & 1 == 1),
        None => storage.after_process_crash(),
    });
    let log = Log::open(next.clone(), root(), small_segments(), clock.clock())
        .unwrap_or_else(|e| panic!("recovery failed after a crash: {e}"));
    for s in 0..3 {
        block_on(log.create_shard(s)).expect("create shard");
    }
    (next, log)
}

fn run_bad_day(steps: Vec<Step>) {
    let clock = TestClock::new(1_000_000);
    let mut storage = Arc::new(MemStorage::with_power_loss_tracking());
    let mut log = Log::open(storage.clone(), root(), small_segments(), clock.clock()).unwrap();
    for s in 0..3 {
        block_on(log.create_shard(s)).unwrap();
    }
    let mut model = Model::default();
    let mut serial = 0usize;
    for step in steps {
        match step {
            Step::Append { shard, records } => {
                let batch: Vec<AppendRecord> = (0..records)
                    .map(|_| {
                        serial += 1;
                        record(shard, serial)
                    })
                    .collect();
                if let Ok(acks) = block_on(log.append(batch.clone())) {
                    model
                        .acked
                        .entry(shard)
                        .or_default()
                        .extend(batch.into_iter().zip(acks));
                }
            }
            Step::Advance(ms) => clock.advance(ms),
            Step::Trim { shard, keep_ms } => {
                let before = clock.now() - keep_ms;
                let h = model.horizon.entry(shard).or_insert(i64::MIN);
                *h = (*h).max(before);
                let _ = block_on(log.trim(shard, before));
            }
            Step::Inject(op, errno, skip) => storage.inject(Fault {
                op,
                errno,
                skip,
                count: 1,
            }),
            Step::ProcessCrash | Step::PowerLoss(_) => {
                drop(log);
                let power = match step {
                    Step::PowerLoss(mask) => Some(mask),
                    _ => None,
                };
                (storage, log) = restart(&storage, power, &clock);
                model.check(&log);
            }
        }
    }
    drop(log);
    let (_, log) = restart(&storage, Some(0), &clock);
    model.check(&log);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Any sequence of appends, retention, injected I/O failures, process crashes and power
    /// losses: recovery always succeeds, and every acknowledged record inside retention is
    /// there, once and in order.
    #[test]
    fn no_acknowledged_record_is_lost_on_a_bad_day(steps in proptest::collection::vec(step(), 1..60)) {
        run_bad_day(steps);
    }
}

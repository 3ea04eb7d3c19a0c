//! A queue's durable state: a snapshot in the catalog plus a journal of changes in its own log
//! shard (group-committed with every other append, so receives and acknowledgements share
//! fsyncs). An answer is sent only after its changes are durable.
//!
//! Compaction: once the journal holds `compact_after_changes` changes (default
//! [`COMPACT_AFTER_CHANGES`]), the state is written as
//! a snapshot that names a fresh, empty journal shard, then the old shard is deleted. It runs
//! under the journal gate's write side, so no change is half written: a crash before the
//! snapshot commit keeps the old snapshot and journal (the new shard is unreferenced and
//! removed at start-up); a crash after it keeps the new ones.

use crate::state::{Change, DeliveryState, Entry, Key, ShardAcks};
use serde::{Deserialize, Serialize};
use spate_catalog::{Catalog, DocumentKind};
use spate_log::{AppendRecord, RecordLog};
use std::collections::BTreeMap;
use std::sync::Arc;

pub const SNAPSHOTS: DocumentKind = DocumentKind("queues:snapshots");
/// Journal changes after which the state is compacted into a snapshot (the default of
/// `QueuesConfig::compact_after_changes`).
pub const COMPACT_AFTER_CHANGES: u64 = 200_000;
/// Records one replay read takes.
const REPLAY_READ_RECORDS: usize = 10_000;

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    pub journal: u64,
    pub acks: Vec<((u16, u32), ShardAcks)>,
    pub entries: Vec<(Key, Entry)>,
}

impl Snapshot {
    pub fn of(state: &DeliveryState, journal: u64) -> Snapshot {
        Snapshot {
            journal,
            acks: state.acks.iter().map(|(k, v)| (*k, v.clone())).collect(),
            entries: state.entries.iter().map(|(k, v)| (*k, *v)).collect(),
        }
    }

    pub fn restore(self) -> DeliveryState {
        let mut state = DeliveryState::default();
        state.acks = self.acks.into_iter().collect::<BTreeMap<_, _>>();
        for (k, e) in self.entries {
            state.apply(&Change::Entry { k, e });
        }
        state
    }
}

pub fn encode(journal: u64, changes: &[Change]) -> Vec<AppendRecord> {
    changes
        .iter()
        .map(|c| AppendRecord {
            shard: journal,
            partition_key: String::new(),
            data: serde_json::to_vec(c).unwrap_or_default(),
            sealed: false,
        })
        .collect()
}

/// Reads a queue's snapshot (if any) and replays its journal over it: the state and the number
/// of journal changes.
pub fn load(
    catalog: &dyn Catalog,
    log: &dyn RecordLog,
    queue: &str,
    journal: u64,
) -> Result<(DeliveryState, u64), String> {
    let docs = catalog.documents(SNAPSHOTS).map_err(|e| e.to_string())?;
    let snapshot = match docs.into_iter().find(|(k, _)| k == queue) {
        Some((_, bytes)) => serde_json::from_slice::<Snapshot>(&bytes)
            .map_err(|e| format!("queue {queue}'s snapshot cannot be read: {e}"))?,
        None => Snapshot {
            journal,
            ..Snapshot::default()
        },
    };
    let journal = snapshot.journal;
    let mut state = snapshot.restore();
    let mut from = 0;
    let mut changes = 0;
    loop {
        let batch = log
            .read(journal, from, REPLAY_READ_RECORDS, 16 << 20, i64::MIN)
            .map_err(|e| format!("reading queue {queue}'s journal: {e}"))?;
        for record in batch.records() {
            let change: Change = serde_json::from_slice(record.data)
                .map_err(|e| format!("queue {queue}'s journal at {}: {e}", record.counter))?;
            state.apply(&change);
            changes += 1;
        }
        if batch.next_counter == from {
            return Ok((state, changes));
        }
        from = batch.next_counter;
    }
}

/// Writes a snapshot naming `journal` (one catalog transaction).
pub fn save_snapshot(
    catalog: &Arc<dyn Catalog>,
    queue: &str,
    snapshot: &Snapshot,
) -> Result<(), String> {
    let bytes = serde_json::to_vec(snapshot).map_err(|e| e.to_string())?;
    catalog
        .put_document(SNAPSHOTS, queue, &bytes)
        .map_err(|e| e.to_string())
}

//! A queue's delivery state, as plain data with the time passed in: which records are tracked
//! (received at least once and not acknowledged), which are visible, in flight or dead-lettered,
//! and how far each shard is acknowledged. Every change is also a [`Change`] the service writes
//! to the queue's journal; replaying the changes rebuilds the state.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// A record of the queue: (stream index in the queue's configuration, shard, position).
pub type Key = (u16, u32, u64);

/// A tracked record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Receives without an acknowledgement (reset by a restore).
    pub receives: u32,
    pub first_receive_ms: i64,
    /// In flight until then; visible (or dead-letter visible) after.
    pub visible_at_ms: i64,
    /// Bumped by every receive: only the newest receipt handle is valid.
    pub generation: u32,
    pub dead: bool,
}

/// How far a shard is acknowledged: everything below `low`, and these above it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardAcks {
    pub low: u64,
    pub above: BTreeSet<u64>,
}

impl ShardAcks {
    pub fn is_acked(&self, position: u64) -> bool {
        position < self.low || self.above.contains(&position)
    }

    fn ack(&mut self, position: u64) {
        if position < self.low {
            return;
        }
        self.above.insert(position);
        while self.above.remove(&self.low) {
            self.low += 1;
        }
    }

    /// Records below `position` are gone from the stream (retention): nothing to deliver there.
    pub fn skip_to(&mut self, position: u64) {
        if position > self.low {
            self.low = position;
            self.above = self.above.split_off(&position);
        }
    }
}

/// One change, as written to the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t")]
pub enum Change {
    /// A record was received (or its visibility changed): its whole entry after the change.
    #[serde(rename = "e")]
    Entry { k: Key, e: Entry },
    /// Acknowledged (from the queue or its dead letters), or gone from the stream.
    #[serde(rename = "a")]
    Ack { k: Key },
    /// A shard's records below `p` left the stream.
    #[serde(rename = "s")]
    Skip { s: (u16, u32), p: u64 },
}

/// Which side of the queue an operation is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Queue,
    DeadLetters,
}

/// Why a receipt handle cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandleError {
    /// Acknowledged, superseded by a newer receive, or never issued.
    Invalid,
    /// Not on this side (a dead letter's handle on the queue, or the other way round).
    WrongSide,
}

#[derive(Debug, Default)]
pub struct DeliveryState {
    pub acks: BTreeMap<(u16, u32), ShardAcks>,
    pub entries: HashMap<Key, Entry>,
    /// Fetched from the stream, never received: delivered first come, first served.
    fresh: VecDeque<Key>,
    fresh_set: BTreeSet<Key>,
    /// In-flight entries by the time they become visible again.
    timers: BTreeSet<(i64, Key)>,
    /// Entries visible again (queue side, dead-letter side).
    visible: VecDeque<Key>,
    dead_visible: VecDeque<Key>,
    /// How far each shard was read from the stream (in memory only: after a restart reading
    /// starts again at the acknowledged low mark and skips what is tracked or acknowledged).
    pub fetched: BTreeMap<(u16, u32), u64>,
}

impl DeliveryState {
    /// Rebuilds the state from a snapshot and the journal's changes after it.
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Entry { k, e } => {
                self.entries.insert(*k, *e);
                self.timers.insert((e.visible_at_ms, *k));
            }
            Change::Ack { k } => {
                self.entries.remove(k);
                self.acks.entry((k.0, k.1)).or_default().ack(k.2);
            }
            Change::Skip { s, p } => {
                self.acks.entry(*s).or_default().skip_to(*p);
                self.entries.retain(|k, _| (k.0, k.1) != *s || k.2 >= *p);
            }
        }
    }

    /// Where reading a shard goes on from.
    pub fn fetch_from(&self, shard: (u16, u32)) -> u64 {
        let low = self.acks.get(&shard).map_or(0, |a| a.low);
        self.fetched.get(&shard).copied().unwrap_or(low).max(low)
    }

    /// Records not yet received or in flight, waiting to be received.
    pub fn waiting(&self) -> usize {
        self.fresh.len() + self.visible.len()
    }

    pub fn tracked(&self) -> usize {
        self.entries.len() + self.fresh.len()
    }

    /// Takes a record read from the stream, unless it is acknowledged or tracked already.
    pub fn offer(&mut self, key: Key) -> bool {
        let acked = self
            .acks
            .get(&(key.0, key.1))
            .is_some_and(|a| a.is_acked(key.2));
        if acked || self.entries.contains_key(&key) || !self.fresh_set.insert(key) {
            return false;
        }
        self.fresh.push_back(key);
        true
    }

    /// Moves entries whose visibility timeout has passed back to their side; those received
    /// `max_receives` times become dead letters.
    pub fn expire(&mut self, now: i64, max_receives: Option<u32>) {
        while let Some(&(at, key)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            let Some(entry) = self.entries.get_mut(&key) else {
                continue;
            };
            if entry.visible_at_ms != at {
                continue; // a stale timer: the entry was received or changed since
            }
            if !entry.dead && max_receives.is_some_and(|m| entry.receives >= m) {
                entry.dead = true;
            }
            if entry.dead {
                self.dead_visible.push_back(key);
            } else {
                self.visible.push_back(key);
            }
        }
    }

    /// When the next in-flight entry becomes visible.
    pub fn next_expiry(&self) -> Option<i64> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// Receives up to `limit` visible records of a side: each gets a new generation and is in
    /// flight until `now + visibility_ms`.
    pub fn receive(
        &mut self,
        side: Side,
        limit: usize,
        now: i64,
        visibility_ms: i64,
    ) -> Vec<(Key, Entry)> {
        let mut out = Vec::new();
        while out.len() < limit {
            let key = match side {
                Side::DeadLetters => self.dead_visible.pop_front(),
                Side::Queue => match self.visible.pop_front() {
                    Some(k) => Some(k),
                    None => self.fresh.pop_front().inspect(|k| {
                        self.fresh_set.remove(k);
                    }),
                },
            };
            let Some(key) = key else { break };
            let entry = self.entries.entry(key).or_insert(Entry {
                receives: 0,
                first_receive_ms: now,
                visible_at_ms: 0,
                generation: 0,
                dead: false,
            });
            // A queue-side entry re-queued but dead-lettered since is skipped.
            if entry.dead != (side == Side::DeadLetters) || entry.visible_at_ms > now {
                continue;
            }
            if side == Side::Queue {
                entry.receives += 1;
            }
            entry.generation = entry.generation.wrapping_add(1);
            entry.visible_at_ms = now + visibility_ms;
            self.timers.insert((entry.visible_at_ms, key));
            out.push((key, *entry));
        }
        out
    }

    /// Checks a receipt handle's (key, generation) against the entry on `side`.
    pub fn check(&self, side: Side, key: Key, generation: u32) -> Result<Entry, HandleError> {
        let entry = self.entries.get(&key).ok_or(HandleError::Invalid)?;
        if entry.generation != generation {
            return Err(HandleError::Invalid);
        }
        if entry.dead != (side == Side::DeadLetters) {
            return Err(HandleError::WrongSide);
        }
        Ok(*entry)
    }

    pub fn acknowledge(
        &mut self,
        side: Side,
        key: Key,
        generation: u32,
    ) -> Result<Change, HandleError> {
        self.check(side, key, generation)?;
        let change = Change::Ack { k: key };
        self.apply(&change);
        Ok(change)
    }

    /// Sets when a received record becomes visible again (0 seconds: now).
    pub fn set_visibility(
        &mut self,
        side: Side,
        key: Key,
        generation: u32,
        visible_at_ms: i64,
    ) -> Result<Change, HandleError> {
        let mut entry = self.check(side, key, generation)?;
        entry.visible_at_ms = visible_at_ms;
        let change = Change::Entry { k: key, e: entry };
        self.apply(&change);
        Ok(change)
    }

    /// Returns a dead letter to the queue with its receive count reset.
    pub fn restore(&mut self, key: Key, generation: u32, now: i64) -> Result<Change, HandleError> {
        let mut entry = self.check(Side::DeadLetters, key, generation)?;
        entry.dead = false;
        entry.receives = 0;
        entry.visible_at_ms = now;
        let change = Change::Entry { k: key, e: entry };
        self.apply(&change);
        Ok(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state_with(records: u64) -> DeliveryState {
        let mut s = DeliveryState::default();
        for p in 0..records {
            assert!(s.offer((0, 0, p)));
        }
        s
    }

    #[test]
    fn received_records_are_invisible_until_their_timeout_then_come_back() {
        let mut s = state_with(3);
        let got = s.receive(Side::Queue, 2, 1_000, 30_000);
        assert_eq!(got.iter().map(|(k, _)| k.2).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(got[0].1.receives, 1);
        assert_eq!(s.receive(Side::Queue, 10, 1_000, 30_000).len(), 1); // only record 2 left
        assert!(s.receive(Side::Queue, 10, 20_000, 30_000).is_empty());
        s.expire(31_000, Some(6));
        let again = s.receive(Side::Queue, 10, 31_000, 30_000);
        assert_eq!(again.len(), 3);
        assert!(again
            .iter()
            .all(|(_, e)| e.receives == 2 && e.first_receive_ms == 1_000));
    }

    #[test]
    fn acknowledged_records_never_come_back_and_old_handles_are_refused() {
        let mut s = state_with(2);
        let got = s.receive(Side::Queue, 2, 0, 1_000);
        let (k0, e0) = got[0];
        assert!(s.acknowledge(Side::Queue, k0, e0.generation).is_ok());
        assert_eq!(
            s.acknowledge(Side::Queue, k0, e0.generation),
            Err(HandleError::Invalid)
        );
        s.expire(2_000, None);
        let again = s.receive(Side::Queue, 10, 2_000, 1_000);
        assert_eq!(again.iter().map(|(k, _)| k.2).collect::<Vec<_>>(), vec![1]);
        // The first receive's handle of record 1 is superseded.
        let (k1, e1) = got[1];
        assert_eq!(
            s.acknowledge(Side::Queue, k1, e1.generation),
            Err(HandleError::Invalid)
        );
        assert!(!s.offer(k0), "an acknowledged record is not taken again");
        assert!(!s.offer(k1), "a tracked record is not taken twice");
        assert_eq!(s.acks[&(0, 0)].low, 1);
    }

    #[test]
    fn records_received_max_times_become_dead_letters_and_can_be_restored() {
        let mut s = state_with(1);
        for round in 0..2 {
            let t = round * 10;
            assert_eq!(s.receive(Side::Queue, 1, t, 5).len(), 1);
            s.expire(t + 5, Some(2));
        }
        assert!(
            s.receive(Side::Queue, 1, 100, 5).is_empty(),
            "dead after 2 receives"
        );
        let dead = s.receive(Side::DeadLetters, 10, 100, 5);
        assert_eq!(dead.len(), 1);
        let (k, e) = dead[0];
        assert_eq!(e.receives, 2);
        assert_eq!(
            s.acknowledge(Side::Queue, k, e.generation),
            Err(HandleError::WrongSide)
        );
        s.restore(k, e.generation, 101).unwrap();
        s.expire(101, Some(2));
        let back = s.receive(Side::Queue, 1, 101, 5);
        assert_eq!((back.len(), back[0].1.receives), (1, 1));
    }

    #[test]
    fn replaying_the_changes_rebuilds_the_state() {
        let mut live = state_with(4);
        let mut journal: Vec<Change> = Vec::new();
        for (k, e) in live.receive(Side::Queue, 3, 0, 1_000) {
            journal.push(Change::Entry { k, e });
        }
        journal.push(live.acknowledge(Side::Queue, (0, 0, 0), 1).unwrap());
        journal.push(live.set_visibility(Side::Queue, (0, 0, 1), 1, 0).unwrap());
        let mut replayed = DeliveryState::default();
        journal.iter().for_each(|c| replayed.apply(c));
        assert_eq!(replayed.entries, live.entries);
        assert_eq!(replayed.acks, live.acks);
        // Record 3 was never received: after a restart it is read from the stream again.
        assert!(replayed.offer((0, 0, 3)));
        assert!(!replayed.offer((0, 0, 0)));
        let round_trip: Change =
            serde_json::from_str(&serde_json::to_string(&journal[0]).unwrap()).unwrap();
        assert_eq!(round_trip, journal[0]);
    }
}

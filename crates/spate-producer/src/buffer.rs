//! Buffers per predicted shard: user records are aggregated until the aggregate is full or old
//! enough, then sealed into a Kinesis record that waits, within the shard's rate limit, for a
//! PutRecords call.

use crate::config::ProducerConfig;
use crate::limit::ShardLimit;
use crate::shards::ShardMap;
use crate::{ProducerError, Receipt};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::oneshot;

/// Bytes an aggregate adds around each user record (field tags, lengths, key index) and
/// around all of them (magic, digest, key table), over-estimated so an aggregate never
/// exceeds its limit.
const PER_RECORD_OVERHEAD: usize = 16;
const AGGREGATE_OVERHEAD: usize = 4 + 16 + 8;

/// One user record and whoever waits for it.
pub(crate) struct UserEntry {
    pub partition_key: String,
    pub hash: u128,
    pub data: Bytes,
    pub deadline: Instant,
    pub reply: oneshot::Sender<Result<Receipt, ProducerError>>,
}

impl UserEntry {
    pub fn cost(&self) -> usize {
        self.data.len() + self.partition_key.len() + PER_RECORD_OVERHEAD
    }
}

/// A Kinesis record ready to be put: one user record, or an aggregate of several.
pub(crate) struct Outgoing {
    /// The shard it is predicted to land on.
    pub shard_id: String,
    pub partition_key: String,
    pub explicit_hash_key: Option<String>,
    /// The record's data; for an aggregate, empty until [`Outgoing::encode`] (which runs
    /// outside the buffers' lock: an MD5 over up to 50 KB is too long to hold senders back).
    pub data: Bytes,
    /// The size the data will have at most, for the call and rate limits.
    pub estimated_bytes: usize,
    pub users: Vec<UserEntry>,
    pub aggregated: bool,
    pub attempts: u32,
    /// Not sent before this (backoff after a failure).
    pub not_before: Instant,
}

impl Outgoing {
    pub fn size(&self) -> usize {
        self.estimated_bytes + self.partition_key.len()
    }

    /// Encodes an aggregate's data (once).
    pub fn encode(&mut self) {
        if self.aggregated && self.data.is_empty() {
            let parts = self
                .users
                .iter()
                .map(|u| (u.partition_key.as_str(), None, u.data.as_ref()));
            self.data = Bytes::from(spate_kpl::aggregate_parts(parts));
        }
    }
}

struct ShardBuffer {
    shard_id: String,
    open: Vec<UserEntry>,
    open_bytes: usize,
    opened_at: Option<Instant>,
    ready: VecDeque<Outgoing>,
    limit: ShardLimit,
}

impl ShardBuffer {
    fn new(shard_id: String, config: &ProducerConfig, now: Instant) -> ShardBuffer {
        ShardBuffer {
            shard_id,
            open: Vec::new(),
            open_bytes: AGGREGATE_OVERHEAD,
            opened_at: None,
            ready: VecDeque::new(),
            limit: ShardLimit::new(config.rate_limit_percent, now),
        }
    }

    /// Turns the open aggregate into a Kinesis record.
    fn seal(&mut self, now: Instant) {
        let users = std::mem::take(&mut self.open);
        let estimated_bytes = self.open_bytes;
        self.open_bytes = AGGREGATE_OVERHEAD;
        self.opened_at = None;
        if users.is_empty() {
            return;
        }
        let outgoing = if users.len() == 1 {
            Outgoing {
                shard_id: self.shard_id.clone(),
                partition_key: users[0].partition_key.clone(),
                explicit_hash_key: None,
                data: users[0].data.clone(),
                estimated_bytes: users[0].data.len(),
                users,
                aggregated: false,
                attempts: 0,
                not_before: now,
            }
        } else {
            Outgoing {
                shard_id: self.shard_id.clone(),
                partition_key: users[0].partition_key.clone(),
                // Routes the aggregate to the shard its first record hashes into: every record
                // in it was predicted for that shard.
                explicit_hash_key: Some(users[0].hash.to_string()),
                data: Bytes::new(),
                estimated_bytes,
                users,
                aggregated: true,
                attempts: 0,
                not_before: now,
            }
        };
        self.ready.push_back(outgoing);
    }
}

pub(crate) struct Buffers {
    map: Arc<ShardMap>,
    shards: Vec<ShardBuffer>,
    config: ProducerConfig,
    /// Kinesis records sealed and not yet taken into a call.
    pub ready_count: usize,
    pub ready_bytes: usize,
}

impl Buffers {
    pub fn new(map: Arc<ShardMap>, config: ProducerConfig) -> Buffers {
        let now = Instant::now();
        let shards = (0..map.len())
            .filter_map(|i| map.shard(i))
            .map(|s| ShardBuffer::new(s.shard_id.clone(), &config, now))
            .collect();
        Buffers {
            map,
            shards,
            config,
            ready_count: 0,
            ready_bytes: 0,
        }
    }

    pub fn map(&self) -> &Arc<ShardMap> {
        &self.map
    }

    /// Adds a user record to its shard's aggregate (sealing the aggregate first if the record
    /// would not fit). Answers whether a full PutRecords call's worth is ready.
    pub fn add(&mut self, entry: UserEntry, now: Instant) -> bool {
        let Some(index) = self.map.shard_for(entry.hash) else {
            let _ = entry.reply.send(Err(ProducerError::Shards(
                "no open shard owns the record's hash key".into(),
            )));
            return false;
        };
        let (max_bytes, max_count) = (
            self.config.aggregation_max_bytes,
            self.config.aggregation_max_count,
        );
        let aggregation = self.config.aggregation;
        let shard = &mut self.shards[index];
        let cost = entry.cost();
        let full = !shard.open.is_empty()
            && (!aggregation
                || shard.open_bytes + cost > max_bytes
                || shard.open.len() >= max_count);
        if full {
            self.seal(index, now);
        }
        let shard = &mut self.shards[index];
        shard.opened_at.get_or_insert(now);
        shard.open_bytes += cost;
        shard.open.push(entry);
        if !aggregation || shard.open_bytes >= max_bytes {
            self.seal(index, now);
        }
        self.ready_count >= self.config.collection_max_count
            || self.ready_bytes >= self.config.collection_max_bytes
    }

    fn seal(&mut self, index: usize, now: Instant) {
        let shard = &mut self.shards[index];
        let before = shard.ready.len();
        shard.seal(now);
        if shard.ready.len() > before {
            if let Some(last) = shard.ready.back() {
                self.ready_count += 1;
                self.ready_bytes += last.size();
            }
        }
    }

    /// Seals aggregates older than the buffered-time limit (all of them with `force`).
    pub fn seal_due(&mut self, now: Instant, force: bool) {
        let max_age = self.config.record_max_buffered_time;
        for index in 0..self.shards.len() {
            let due = self.shards[index]
                .opened_at
                .is_some_and(|t| force || now.saturating_duration_since(t) >= max_age);
            if due {
                self.seal(index, now);
            }
        }
    }

    /// Takes records for one PutRecords call: oldest first per shard, within each shard's rate
    /// limit and the call's count and size limits.
    pub fn take_call(&mut self, now: Instant) -> Vec<Outgoing> {
        let (max_count, max_bytes) = (
            self.config.collection_max_count,
            self.config.collection_max_bytes,
        );
        let (mut call, mut bytes) = (Vec::new(), 0usize);
        let mut progress = true;
        while progress && call.len() < max_count {
            progress = false;
            for shard in &mut self.shards {
                let Some(next) = shard.ready.front() else {
                    continue;
                };
                let size = next.size();
                if next.not_before > now || bytes + size > max_bytes || call.len() >= max_count {
                    continue;
                }
                if !shard.limit.take(size, now) {
                    continue;
                }
                if let Some(record) = shard.ready.pop_front() {
                    self.ready_count -= 1;
                    self.ready_bytes -= size;
                    bytes += size;
                    call.push(record);
                    progress = true;
                }
            }
        }
        call
    }

    /// Puts a record back to be sent again (after `not_before`), on the shard its explicit
    /// hash key or partition key now maps to.
    pub fn requeue(&mut self, record: Outgoing) {
        let hash = match &record.explicit_hash_key {
            Some(h) => h.parse::<u128>().unwrap_or(0),
            None => crate::shards::hash_key(&record.partition_key),
        };
        match self.map.shard_for(hash) {
            Some(index) => {
                self.ready_count += 1;
                self.ready_bytes += record.size();
                let shard = &mut self.shards[index];
                let mut record = record;
                record.shard_id = shard.shard_id.clone();
                shard.ready.push_back(record);
            }
            None => {
                for user in record.users {
                    let _ = user.reply.send(Err(ProducerError::Shards(
                        "no open shard owns the record's hash key".into(),
                    )));
                }
            }
        }
    }

    /// Replaces the shard map (after a reshard): open aggregates are re-routed record by
    /// record, sealed records by their hash keys.
    pub fn reroute(&mut self, map: Arc<ShardMap>, now: Instant) {
        let old = std::mem::replace(self, Buffers::new(map, self.config.clone()));
        for shard in old.shards {
            for entry in shard.open {
                self.add(entry, now);
            }
            for record in shard.ready {
                self.requeue(record);
            }
        }
    }
}

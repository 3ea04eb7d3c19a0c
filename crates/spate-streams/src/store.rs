//! The stream registry: what streams exist, persisted through the catalog, shared by every
//! component.
//!
//! Streams are immutable snapshots (`Arc<Stream>`) swapped on change, so the record path takes a
//! read lock only long enough to clone an `Arc`. Every change is written through the catalog
//! (on a blocking thread: redb syncs) before it becomes visible. Control-plane changes are
//! serialised by one async mutex; each stream has its own routing gate for writers, so
//! resharding one stream never pauses writes to another.

use crate::config::ServiceConfig;
use crate::errors::{catalog_error, internal, not_found};
use crate::model::{StreamName, StreamRef};
use spate_catalog::{AccountRecord, Catalog, Lifecycle, ShardRecord, StreamRecord};
use spate_log::Clock;
use spate_wire::ApiError;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

/// One stream as the service sees it.
#[derive(Debug)]
pub(crate) struct Stream {
    pub record: StreamRecord,
    pub arn: String,
    /// Positions in `record.shards` of the open shards, ascending by starting hash key.
    pub open: Vec<usize>,
    /// Writers hold this shared from looking up the shard map until their append is submitted
    /// to the log; resharding this stream holds it exclusively while it closes parents. Shared
    /// by every snapshot of the same stream.
    pub gate: Arc<tokio::sync::RwLock<()>>,
}

/// What a client sees of a stream's lifecycle now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Creating,
    Active,
    Updating,
    Deleting,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "CREATING",
            Status::Active => "ACTIVE",
            Status::Updating => "UPDATING",
            Status::Deleting => "DELETING",
        }
    }
}

impl Stream {
    fn new(
        record: StreamRecord,
        config: &ServiceConfig,
        gate: Arc<tokio::sync::RwLock<()>>,
    ) -> Stream {
        let arn = stream_arn(config, &record.name);
        let mut open: Vec<usize> = (0..record.shards.len())
            .filter(|&i| record.shards[i].ending_counter.is_none())
            .collect();
        open.sort_by_key(|&i| record.shards[i].starting_hash_key);
        Stream {
            record,
            arn,
            open,
            gate,
        }
    }

    /// The status a client sees now.
    pub fn status(&self, now_ms: i64) -> Status {
        match self.record.lifecycle {
            Lifecycle::Creating { until_ms } if now_ms < until_ms => Status::Creating,
            Lifecycle::Updating { until_ms }
                if now_ms < until_ms || self.record.pending.is_some() =>
            {
                Status::Updating
            }
            Lifecycle::Deleting { .. } => Status::Deleting,
            _ => Status::Active,
        }
    }

    /// A stream past its DELETING deadline is gone, whether or not its removal ran yet.
    pub fn is_gone(&self, now_ms: i64) -> bool {
        matches!(self.record.lifecycle, Lifecycle::Deleting { until_ms } if now_ms >= until_ms)
    }

    /// The open shard whose hash key range holds `hash`.
    pub fn route(&self, hash: u128) -> Option<&ShardRecord> {
        let shards = &self.record.shards;
        let i = self
            .open
            .partition_point(|&i| shards[i].ending_hash_key < hash);
        self.open
            .get(i)
            .map(|&i| &shards[i])
            .filter(|s| s.starting_hash_key <= hash)
    }

    pub fn shard(&self, index: u32) -> Option<&ShardRecord> {
        self.record.shards.iter().find(|s| s.index == index)
    }

    pub fn open_shards(&self) -> impl Iterator<Item = &ShardRecord> {
        self.open.iter().map(|&i| &self.record.shards[i])
    }

    pub fn open_shard_count(&self) -> usize {
        self.open.len()
    }

    pub fn retention_ms(&self) -> i64 {
        self.record.retention_hours * 3_600_000
    }

    pub fn max_data_bytes(&self) -> usize {
        usize::try_from(self.record.max_record_size_kib).unwrap_or(0) * 1024
    }
}

pub(crate) fn stream_arn(config: &ServiceConfig, name: &str) -> String {
    format!(
        "arn:aws:kinesis:{}:{}:stream/{}",
        config.region, config.account_id, name
    )
}

#[derive(Default)]
struct Registry {
    streams: BTreeMap<String, Arc<Stream>>,
    next_log_id: u64,
    account: AccountRecord,
}

pub(crate) struct StreamStore {
    pub config: ServiceConfig,
    clock: Clock,
    catalog: Arc<dyn Catalog>,
    registry: RwLock<Registry>,
    /// Serialises control-plane changes (they span the log, the catalog and the registry).
    pub control: tokio::sync::Mutex<()>,
    /// Bumped on every change, so subscriptions notice closed shards and removed consumers
    /// without polling.
    changes: watch::Sender<u64>,
    /// Other services' resources on streams (Kinesis queues).
    dependents: RwLock<Vec<Arc<dyn StreamDependents>>>,
}

/// Which other service's resources live on streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependentKind {
    /// Kinesis queues: they take registered-consumer slots.
    Queues,
    /// Kinesis channels: they read without one; DescribeLimits and DescribeStreamSummary
    /// count them.
    Channels,
}

/// Another service's resources that live on streams (Kinesis queues, channels): a stream that
/// has any cannot be deleted or leave on-demand mode.
pub trait StreamDependents: Send + Sync {
    /// How many there are on the stream with this ARN.
    fn count_on(&self, stream_arn: &str) -> usize;
    /// What they are called in messages ("queues").
    fn noun(&self) -> &'static str;
    fn kind(&self) -> DependentKind {
        DependentKind::Queues
    }
    /// How many there are in the account, and the most there may be.
    fn account_count_and_limit(&self) -> (usize, usize) {
        (0, 0)
    }
}

impl StreamStore {
    pub fn add_dependents(&self, dependents: Arc<dyn StreamDependents>) {
        let mut all = self.dependents.write().unwrap_or_else(|e| e.into_inner());
        all.push(dependents);
    }

    /// The dependents on a stream: (count, noun of the first kind there is).
    pub fn dependents_on(&self, stream_arn: &str) -> (usize, &'static str) {
        let all = self.dependents.read().unwrap_or_else(|e| e.into_inner());
        all.iter()
            .map(|d| (d.count_on(stream_arn), d.noun()))
            .filter(|(n, _)| *n > 0)
            .fold((0, "queues"), |(total, noun), (n, first)| {
                (total + n, if total == 0 { first } else { noun })
            })
    }

    /// Registered-consumer slots other services' resources take on a stream (queues').
    pub fn consumer_slots_on(&self, stream_arn: &str) -> usize {
        let all = self.dependents.read().unwrap_or_else(|e| e.into_inner());
        all.iter()
            .filter(|d| d.kind() == DependentKind::Queues)
            .map(|d| d.count_on(stream_arn))
            .sum()
    }

    /// The dependents of `kind`, if the server serves them.
    pub fn dependents_of(&self, kind: DependentKind) -> Option<Arc<dyn StreamDependents>> {
        let all = self.dependents.read().unwrap_or_else(|e| e.into_inner());
        all.iter().find(|d| d.kind() == kind).cloned()
    }

    /// The store over what the catalog holds.
    pub async fn load(
        config: ServiceConfig,
        catalog: Arc<dyn Catalog>,
        clock: Clock,
    ) -> Result<StreamStore, ApiError> {
        let loader = catalog.clone();
        let loaded = tokio::task::spawn_blocking(move || loader.load())
            .await
            .map_err(internal)?
            .map_err(catalog_error)?;
        let mut registry = Registry {
            next_log_id: loaded.next_log_id,
            account: loaded.account,
            ..Registry::default()
        };
        for record in loaded.streams {
            let stream = Stream::new(record, &config, Arc::default());
            registry
                .streams
                .insert(stream.record.name.clone(), Arc::new(stream));
        }
        Ok(StreamStore {
            config,
            clock,
            catalog,
            registry: RwLock::new(registry),
            control: tokio::sync::Mutex::new(()),
            changes: watch::channel(0).0,
            dependents: RwLock::new(Vec::new()),
        })
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.registry.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.registry.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The stream named `name`, unless it does not exist or its deletion is complete.
    pub fn get(&self, name: &StreamName) -> Result<Arc<Stream>, ApiError> {
        let now = self.now();
        self.read()
            .streams
            .get(name.as_str())
            .filter(|s| !s.is_gone(now))
            .cloned()
            .ok_or_else(|| not_found(&self.config, name.as_str()))
    }

    /// The stream a request names. An ARN of another account or region names no stream here.
    pub fn resolve(&self, stream: &StreamRef) -> Result<Arc<Stream>, ApiError> {
        match stream {
            StreamRef::Name(name) => self.get(name),
            StreamRef::Arn(arn)
                if arn.region == self.config.region && arn.account == self.config.account_id =>
            {
                match StreamName::parse(&arn.name) {
                    Some(name) => self.get(&name),
                    None => Err(not_found(&self.config, &arn.name)),
                }
            }
            StreamRef::Arn(arn) => Err(not_found(&self.config, &arn.name)),
        }
    }

    /// Like [`get`](Self::get), but also returns streams whose deletion is still to be finished.
    pub fn get_including_gone(&self, name: &str) -> Option<Arc<Stream>> {
        self.read().streams.get(name).cloned()
    }

    /// Every stream that exists now, by name.
    pub fn streams(&self) -> Vec<Arc<Stream>> {
        let now = self.now();
        self.read()
            .streams
            .values()
            .filter(|s| !s.is_gone(now))
            .cloned()
            .collect()
    }

    /// Every stream record, deleted ones whose removal is pending included.
    pub fn all_streams(&self) -> Vec<Arc<Stream>> {
        self.read().streams.values().cloned().collect()
    }

    pub fn account(&self) -> AccountRecord {
        self.read().account.clone()
    }

    /// Reserves `count` consecutive log ids; they are persisted with the next saved stream.
    pub fn allocate_log_ids(&self, count: u64) -> u64 {
        let mut registry = self.write();
        let first = registry.next_log_id;
        registry.next_log_id = first + count;
        first
    }

    /// Persists a changed stream, then makes it visible. Its routing gate carries over.
    pub async fn save(&self, record: StreamRecord) -> Result<Arc<Stream>, ApiError> {
        let next_log_id = self.read().next_log_id;
        let catalog = self.catalog.clone();
        let record = tokio::task::spawn_blocking(move || {
            catalog.put_stream(&record, next_log_id).map(|()| record)
        })
        .await
        .map_err(internal)?
        .map_err(catalog_error)?;
        let gate = self
            .read()
            .streams
            .get(&record.name)
            .filter(|s| s.record.created_ms == record.created_ms)
            .map(|s| s.gate.clone())
            .unwrap_or_default();
        let stream = Arc::new(Stream::new(record, &self.config, gate));
        self.write()
            .streams
            .insert(stream.record.name.clone(), stream.clone());
        self.changes.send_modify(|v| *v += 1);
        Ok(stream)
    }

    /// Removes a stream from the catalog and the registry (its records are the caller's).
    pub async fn remove(&self, name: &str) -> Result<(), ApiError> {
        let catalog = self.catalog.clone();
        let key = name.to_string();
        tokio::task::spawn_blocking(move || catalog.delete_stream(&key))
            .await
            .map_err(internal)?
            .map_err(catalog_error)?;
        self.write().streams.remove(name);
        self.changes.send_modify(|v| *v += 1);
        Ok(())
    }

    pub async fn save_account(&self, account: AccountRecord) -> Result<(), ApiError> {
        let catalog = self.catalog.clone();
        let account =
            tokio::task::spawn_blocking(move || catalog.put_account(&account).map(|()| account))
                .await
                .map_err(internal)?
                .map_err(catalog_error)?;
        self.write().account = account;
        Ok(())
    }

    /// A receiver that changes whenever any stream changes.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Open shards across all existing streams.
    pub fn open_shard_count(&self) -> usize {
        self.streams().iter().map(|s| s.open_shard_count()).sum()
    }
}

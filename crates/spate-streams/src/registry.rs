//! The service object and its in-memory registry of streams.
//!
//! Streams are immutable snapshots (`Arc<Stream>`) swapped on change, so the record path takes a
//! read lock only long enough to clone an `Arc`. Every change is written through the catalog
//! before it becomes visible; control operations are serialised by one async mutex.

use crate::config::ServiceConfig;
use crate::validation::{format_shard_id, split_stream_arn};
use spate_catalog::{AccountRecord, Catalog, CatalogError, Lifecycle, ShardRecord, StreamRecord};
use spate_log::{Clock, LogError, RecordLog};
use spate_wire::{ApiError, ErrorKind};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

pub struct Kinesis {
    pub(crate) config: ServiceConfig,
    pub(crate) log: Arc<dyn RecordLog>,
    pub(crate) catalog: Arc<dyn Catalog>,
    pub(crate) clock: Clock,
    state: RwLock<Registry>,
    /// Serialises control-plane changes (they span the log, the catalog and the registry).
    pub(crate) control: tokio::sync::Mutex<()>,
    /// Writers hold this shared from looking up a stream's shard map until their append is
    /// submitted to the log; resharding holds it exclusively while it closes parents (see
    /// `reshard`), so no append routed by an old shard map lands after its parent closed.
    pub(crate) gate: tokio::sync::RwLock<()>,
    /// Per-shard limits and observed rates.
    pub(crate) traffic: crate::traffic::Traffic,
    /// Keys of encrypted streams.
    pub(crate) keyring: crate::encryption::Keyring,
    /// Live SubscribeToShard streams.
    pub(crate) subscriptions: crate::subscribe::Subscriptions,
    /// Bumped on every catalog change, so subscriptions notice closed shards and removed
    /// consumers without polling.
    pub(crate) changes: tokio::sync::watch::Sender<u64>,
    /// Set when the server shuts down: live subscriptions end cleanly.
    pub(crate) closing: tokio::sync::watch::Sender<bool>,
}

#[derive(Default)]
pub(crate) struct Registry {
    pub streams: BTreeMap<String, Arc<Stream>>,
    pub next_log_id: u64,
    pub account: AccountRecord,
}

/// One stream as the service sees it.
#[derive(Debug)]
pub(crate) struct Stream {
    pub record: StreamRecord,
    pub arn: String,
    /// Positions in `record.shards` of the open shards, ascending by starting hash key.
    pub open: Vec<usize>,
}

impl Stream {
    pub fn new(record: StreamRecord, config: &ServiceConfig) -> Stream {
        let arn = stream_arn(config, &record.name);
        let mut open: Vec<usize> = (0..record.shards.len())
            .filter(|&i| record.shards[i].ending_counter.is_none())
            .collect();
        open.sort_by_key(|&i| record.shards[i].starting_hash_key);
        Stream { record, arn, open }
    }

    /// The status a client sees now.
    pub fn status(&self, now_ms: i64) -> &'static str {
        match self.record.lifecycle {
            Lifecycle::Creating { until_ms } if now_ms < until_ms => "CREATING",
            Lifecycle::Updating { until_ms }
                if now_ms < until_ms || self.record.pending.is_some() =>
            {
                "UPDATING"
            }
            Lifecycle::Deleting { .. } => "DELETING",
            _ => "ACTIVE",
        }
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

    pub fn open_shard_count(&self) -> usize {
        self.open.len()
    }

    pub fn retention_ms(&self) -> i64 {
        self.record.retention_hours * 3_600_000
    }
}

pub(crate) fn stream_arn(config: &ServiceConfig, name: &str) -> String {
    format!(
        "arn:aws:kinesis:{}:{}:stream/{}",
        config.region, config.account_id, name
    )
}

pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!("internal failure: {e}");
    ApiError::new(
        ErrorKind::InternalFailure,
        "An internal failure occurred; the request may or may not have been applied.",
    )
}

pub(crate) fn catalog_error(e: CatalogError) -> ApiError {
    match e {
        CatalogError::ReadOnly => log_error(LogError::ReadOnly),
        other => internal(other),
    }
}

/// Log failures as clients see them: a full queue is throttling, a full disk or descriptor
/// exhaustion is a retryable failure that names its cause (nothing was written), a stopped or
/// read-only log says why writes are refused.
pub(crate) fn log_error(e: LogError) -> ApiError {
    match e {
        LogError::Overloaded { .. } => ApiError::new(
            ErrorKind::ProvisionedThroughputExceeded,
            format!("Rate exceeded: {e}. Retry with backoff."),
        ),
        LogError::Unavailable(cause) => {
            tracing::warn!("write failed: {cause}");
            ApiError::new(
                ErrorKind::InternalFailure,
                format!("The records were not written: {cause}. Retry later."),
            )
        }
        LogError::ReadOnly => ApiError::new(
            ErrorKind::InternalFailure,
            "The server is read-only (its data directory is on a read-only file system): records can be read but not written.",
        ),
        LogError::Stopped(cause) => ApiError::new(
            ErrorKind::InternalFailure,
            format!("The server refuses writes after a storage error ({cause}); an operator must restart it."),
        ),
        other => internal(other),
    }
}

/// Deletes log shards no stream refers to: a crash between a stream's deletion from the catalog
/// and the deletion of its records, or between creating shards and committing a new stream,
/// leaves them behind.
async fn remove_orphan_shards(log: &dyn RecordLog, registry: &Registry) -> Result<(), ApiError> {
    let referenced: std::collections::HashSet<u64> = registry
        .streams
        .values()
        .flat_map(|s| s.record.shards.iter().map(|sh| sh.log_id))
        .collect();
    for id in log
        .shards()
        .into_iter()
        .filter(|id| !referenced.contains(id))
    {
        tracing::info!("removing log shard {id:016x}, which no stream refers to");
        match log.delete_shard(id).await {
            Ok(()) | Err(LogError::ReadOnly) => {}
            Err(e) => return Err(log_error(e)),
        }
    }
    Ok(())
}

impl Kinesis {
    /// Loads the catalog, makes sure every shard exists in the log, and resumes deletions.
    pub async fn open(
        config: ServiceConfig,
        log: Arc<dyn RecordLog>,
        catalog: Arc<dyn Catalog>,
        clock: Clock,
        keyring: crate::encryption::Keyring,
    ) -> Result<Arc<Kinesis>, ApiError> {
        let loaded = catalog.load().map_err(catalog_error)?;
        let mut registry = Registry {
            next_log_id: loaded.next_log_id,
            account: loaded.account,
            ..Registry::default()
        };
        for record in loaded.streams {
            for shard in &record.shards {
                match log.create_shard(shard.log_id).await {
                    // A read-only log serves the shards it has; a missing one reads as empty.
                    Ok(()) | Err(LogError::ReadOnly) => {}
                    Err(e) => return Err(log_error(e)),
                }
            }
            registry
                .streams
                .insert(record.name.clone(), Arc::new(Stream::new(record, &config)));
        }
        remove_orphan_shards(log.as_ref(), &registry).await?;
        let kinesis = Arc::new(Kinesis {
            log,
            catalog,
            clock,
            state: RwLock::new(registry),
            control: tokio::sync::Mutex::new(()),
            gate: tokio::sync::RwLock::new(()),
            traffic: crate::traffic::Traffic::new(
                config.shard_limits,
                config.enforce_shard_limits,
                config.rate_window_ms,
            ),
            keyring,
            subscriptions: Default::default(),
            changes: tokio::sync::watch::channel(0).0,
            closing: tokio::sync::watch::channel(false).0,
            config,
        });
        kinesis.load_keys()?;
        let deleting: Vec<String> = kinesis
            .registry()
            .streams
            .values()
            .filter(|s| matches!(s.record.lifecycle, Lifecycle::Deleting { .. }))
            .map(|s| s.record.name.clone())
            .collect();
        for name in deleting {
            kinesis.finish_delete(&name).await?;
        }
        let pending: Vec<(String, i64)> = kinesis
            .registry()
            .streams
            .values()
            .filter(|s| s.record.pending.is_some())
            .map(|s| match s.record.lifecycle {
                Lifecycle::Updating { until_ms } => (s.record.name.clone(), until_ms),
                _ => (s.record.name.clone(), 0),
            })
            .collect();
        for (name, until_ms) in pending {
            kinesis.schedule_pending(name, until_ms);
        }
        Ok(kinesis)
    }

    /// Ends every SubscribeToShard stream normally (at shutdown: clients resubscribe elsewhere or
    /// later, from their last continuation).
    pub fn close_subscriptions(&self) {
        self.closing.send_replace(true);
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }

    pub(crate) fn registry(&self) -> std::sync::RwLockReadGuard<'_, Registry> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn registry_mut(&self) -> std::sync::RwLockWriteGuard<'_, Registry> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn not_found(&self, name: &str) -> ApiError {
        ApiError::new(
            ErrorKind::ResourceNotFound,
            format!(
                "Stream {name} under account {} not found.",
                self.config.account_id
            ),
        )
    }

    /// Finds a stream by name or ARN (a stream past its DELETING window is gone).
    pub(crate) fn lookup(
        &self,
        name: Option<&str>,
        arn: Option<&str>,
    ) -> Result<Arc<Stream>, ApiError> {
        let name = match (name, arn) {
            (Some(name), _) => name,
            (None, Some(arn)) => self.name_from_arn(arn)?,
            (None, None) => {
                return Err(ApiError::new(
                    ErrorKind::InvalidArgument,
                    "Either StreamName or StreamARN must be provided.",
                ))
            }
        };
        self.registry()
            .streams
            .get(name)
            .cloned()
            .ok_or_else(|| self.not_found(name))
    }

    pub(crate) fn lookup_named(
        &self,
        input: &impl spate_wire::kinesis::NamesStream,
    ) -> Result<Arc<Stream>, ApiError> {
        self.lookup(input.stream_name(), input.stream_arn())
    }

    /// The stream name of one of this account's stream ARNs.
    pub(crate) fn name_from_arn<'a>(&self, arn: &'a str) -> Result<&'a str, ApiError> {
        match split_stream_arn(arn) {
            Some((region, account, name))
                if region == self.config.region && account == self.config.account_id =>
            {
                Ok(name)
            }
            Some((_, _, name)) => Err(self.not_found(name)),
            None => Err(ApiError::new(
                ErrorKind::InvalidArgument,
                format!("Invalid ARN: {arn}"),
            )),
        }
    }

    /// Like [`lookup`](Self::lookup), for operations on records: the stream must be ACTIVE or
    /// UPDATING.
    pub(crate) fn lookup_writable(
        &self,
        name: Option<&str>,
        arn: Option<&str>,
    ) -> Result<Arc<Stream>, ApiError> {
        let stream = self.lookup(name, arn)?;
        match stream.status(self.now()) {
            "ACTIVE" | "UPDATING" => Ok(stream),
            _ => Err(self.not_found(&stream.record.name)),
        }
    }

    /// For changes that need an ACTIVE stream.
    pub(crate) fn require_active(&self, stream: &Stream) -> Result<(), ApiError> {
        match stream.status(self.now()) {
            "ACTIVE" => Ok(()),
            other => Err(ApiError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Stream {} under account {} not ACTIVE, instead in state {other}",
                    stream.record.name, self.config.account_id
                ),
            )),
        }
    }

    /// Persists a changed stream, then makes it visible.
    pub(crate) fn save(&self, record: StreamRecord) -> Result<Arc<Stream>, ApiError> {
        let next_log_id = self.registry().next_log_id;
        self.catalog
            .put_stream(&record, next_log_id)
            .map_err(catalog_error)?;
        let stream = Arc::new(Stream::new(record, &self.config));
        self.registry_mut()
            .streams
            .insert(stream.record.name.clone(), stream.clone());
        self.changes.send_modify(|v| *v += 1);
        Ok(stream)
    }

    /// Removes a stream for good: catalog first (so a crash cannot resurrect it half-deleted),
    /// then its shards' records.
    pub(crate) async fn finish_delete(&self, name: &str) -> Result<(), ApiError> {
        let Some(stream) = self.registry().streams.get(name).cloned() else {
            return Ok(());
        };
        self.catalog.delete_stream(name).map_err(catalog_error)?;
        self.registry_mut().streams.remove(name);
        self.keyring.forget(&stream.record);
        self.changes.send_modify(|v| *v += 1);
        for shard in &stream.record.shards {
            self.log
                .delete_shard(shard.log_id)
                .await
                .map_err(log_error)?;
        }
        Ok(())
    }

    /// Periodic upkeep: drop closed shards past retention, finish deletions whose DELETING
    /// window passed, and drop segments past each stream's retention.
    pub async fn maintain(&self) {
        let names: Vec<String> = self.registry().streams.keys().cloned().collect();
        for name in names {
            if let Err(e) = self.expire_closed_shards(&name).await {
                tracing::warn!("expiring closed shards of {name}: {e}");
            }
        }
        let now = self.now();
        let streams: Vec<Arc<Stream>> = self.registry().streams.values().cloned().collect();
        for stream in streams {
            if let Lifecycle::Deleting { until_ms } = stream.record.lifecycle {
                if now >= until_ms {
                    let _guard = self.control.lock().await;
                    if let Err(e) = self.finish_delete(&stream.record.name).await {
                        tracing::error!("deleting stream {}: {e}", stream.record.name);
                    }
                }
                continue;
            }
            for shard in &stream.record.shards {
                if let Err(e) = self
                    .log
                    .trim(shard.log_id, now - stream.retention_ms())
                    .await
                {
                    tracing::warn!(
                        "retention of {} {}: {e}",
                        stream.record.name,
                        format_shard_id(shard.index)
                    );
                }
            }
        }
    }
}

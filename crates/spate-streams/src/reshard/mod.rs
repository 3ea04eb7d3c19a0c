//! Resharding: SplitShard, MergeShards and UpdateShardCount.
//!
//! A request is validated, then the stream turns UPDATING with the change persisted as pending;
//! the change is applied when the UPDATING window ends, as on AWS (reads and writes go on
//! meanwhile, and the new shards appear once the stream is ACTIVE again).
//!
//! Applying is atomic with respect to writers. The stream's routing gate is held exclusively
//! while the log flushes, so every append routed with the old shard map is durable and inside
//! its parent's ending counter; the new map is persisted before the gate opens, so no writer can
//! route to a child (and be acknowledged there) before a restart would know the child exists.
//! The gate is per stream: resharding one stream never pauses writes to another.

mod autoscale;
pub(crate) mod plan;

use crate::errors::{invalid, limit_exceeded, log_error, shard_not_found_for_reshard};
use crate::model::{ShardId, StreamRef};
use crate::store::{Stream, StreamStore};
use crate::streams::{check_shard_limit, require_active};
use plan::plan;
use spate_catalog::{Lifecycle, PendingChange, ShardRecord, StreamMode};
use spate_log::RecordLog;
use spate_wire::kinesis::UpdateShardCountOutput;
use spate_wire::{ApiError, ErrorKind};
use std::sync::Arc;

const DAY_MS: i64 = 86_400_000;
const MAX_SHARDS_PER_STREAM: i64 = 10_000;

/// A shard named in a request: the text as given, and the shard it resolves to.
#[derive(Debug, Clone)]
pub struct ShardRef {
    pub text: String,
    pub id: Option<ShardId>,
}

impl ShardRef {
    pub fn new(text: &str) -> ShardRef {
        ShardRef {
            text: text.to_string(),
            id: ShardId::resolve(text),
        }
    }

    /// How messages show it: normalised when it resolves, as given otherwise.
    pub fn shown(&self) -> String {
        self.id
            .map_or_else(|| self.text.clone(), |id| id.to_string())
    }
}

pub struct Resharding {
    pub(crate) store: Arc<StreamStore>,
    pub(crate) log: Arc<dyn RecordLog>,
    pub(crate) traffic: Arc<crate::traffic::Traffic>,
}

impl Resharding {
    /// The ACTIVE stream of a resharding request. Shard ids that name no shard at all are
    /// refused first, before the stream is looked up, as AWS does.
    fn stream_for(
        &self,
        stream: &StreamRef,
        shards: &[&ShardRef],
    ) -> Result<Arc<Stream>, ApiError> {
        if let Some(bad) = shards.iter().find(|s| s.id.is_none()) {
            return Err(shard_not_found_for_reshard(
                &self.store.config,
                stream.name(),
                &bad.text,
            ));
        }
        let found = self.store.resolve(stream)?;
        self.require_provisioned(&found)?;
        require_active(&self.store, &found)?;
        Ok(found)
    }

    /// Resharding by hand is for PROVISIONED streams; ON_DEMAND streams scale themselves.
    fn require_provisioned(&self, stream: &Stream) -> Result<(), ApiError> {
        if stream.record.mode == StreamMode::OnDemand {
            return Err(ApiError::new(
                ErrorKind::Validation,
                format!(
                    "This API is only supported for data streams with the provisioned capacity mode. Stream {} under account {} is in ON_DEMAND mode.",
                    stream.record.name, self.store.config.account_id
                ),
            ));
        }
        Ok(())
    }

    /// The open shard a reshard request names.
    fn open_shard<'s>(
        &self,
        stream: &'s Stream,
        shard: &ShardRef,
    ) -> Result<&'s ShardRecord, ApiError> {
        let found = shard.id.and_then(|id| stream.shard(id.0)).ok_or_else(|| {
            shard_not_found_for_reshard(&self.store.config, &stream.record.name, &shard.shown())
        })?;
        if found.ending_counter.is_some() {
            return Err(ApiError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Shard {} in stream {} under account {} has already been merged or split, and thus is not eligible for merging or splitting.",
                    ShardId(found.index),
                    stream.record.name,
                    self.store.config.account_id
                ),
            ));
        }
        Ok(found)
    }

    pub async fn split(
        self: &Arc<Self>,
        stream: &StreamRef,
        shard: &ShardRef,
        new_starting_hash_key: &str,
    ) -> Result<(), ApiError> {
        let _guard = self.store.control.lock().await;
        let stream = self.stream_for(stream, &[shard])?;
        let parent = self.open_shard(&stream, shard)?;
        check_shard_limit(&self.store, 1)?;
        let key = new_starting_hash_key
            .parse::<u128>()
            .ok()
            .filter(|&k| k > parent.starting_hash_key + 1 && k < parent.ending_hash_key)
            .ok_or_else(|| {
                invalid(format!(
                    "NewStartingHashKey {new_starting_hash_key} used in SplitShard() on shard {} in stream {} under account {} is not both greater than one plus the shard's StartingHashKey {} and less than the shard's EndingHashKey {}.",
                    ShardId(parent.index),
                    stream.record.name,
                    self.store.config.account_id,
                    parent.starting_hash_key,
                    parent.ending_hash_key
                ))
            })?;
        let change = PendingChange::Split {
            shard: parent.index,
            new_starting_hash_key: key,
        };
        self.begin_change(&stream, change).await
    }

    pub async fn merge(
        self: &Arc<Self>,
        stream: &StreamRef,
        shard: &ShardRef,
        adjacent: &ShardRef,
    ) -> Result<(), ApiError> {
        let _guard = self.store.control.lock().await;
        let stream = self.stream_for(stream, &[shard, adjacent])?;
        let a = self.open_shard(&stream, shard)?;
        let b = self.open_shard(&stream, adjacent)?;
        // AWS takes the pair in order: the adjacent shard must follow the first one.
        if a.ending_hash_key.checked_add(1) != Some(b.starting_hash_key) {
            return Err(invalid(format!(
                "Shards {} and {} in stream {} under account {} are not an adjacent pair of shards eligible for merging",
                ShardId(a.index),
                ShardId(b.index),
                stream.record.name,
                self.store.config.account_id
            )));
        }
        let change = PendingChange::Merge {
            shard: a.index,
            adjacent: b.index,
        };
        self.begin_change(&stream, change).await
    }

    pub async fn update_shard_count(
        self: &Arc<Self>,
        stream: &StreamRef,
        target: i64,
    ) -> Result<UpdateShardCountOutput, ApiError> {
        let _guard = self.store.control.lock().await;
        let stream = self.store.resolve(stream)?;
        self.require_provisioned(&stream)?;
        require_active(&self.store, &stream)?;
        let open = stream.open_shard_count() as i64;
        check_resize(&self.store, open, target)?;
        let now = self.store.now();
        let mut calls: Vec<i64> = stream
            .record
            .resize_calls_ms
            .iter()
            .copied()
            .filter(|&t| now - t < DAY_MS)
            .collect();
        if calls.len() >= self.store.config.resize_calls_per_day as usize {
            // AWS's answer when a stream used up its UpdateShardCount calls of the day.
            return Err(limit_exceeded(format!(
                "Rate exceeded for stream {} under account {}.",
                stream.record.name, self.store.config.account_id
            )));
        }
        if target > open {
            check_shard_limit(
                &self.store,
                usize::try_from(target - open).unwrap_or(usize::MAX),
            )?;
        }
        calls.push(now);
        let mut record = stream.record.clone();
        record.resize_calls_ms = calls;
        let stream = self.store.save(record).await?;
        let change = PendingChange::Resize {
            target: u32::try_from(target).unwrap_or(u32::MAX),
        };
        self.begin_change(&stream, change).await?;
        Ok(UpdateShardCountOutput {
            stream_name: stream.record.name.clone(),
            current_shard_count: open,
            target_shard_count: target,
            stream_arn: stream.arn.clone(),
        })
    }

    /// Marks the stream UPDATING with `change` pending, and applies it now (no delay) or when
    /// the window ends. The caller holds the control lock.
    pub(crate) async fn begin_change(
        self: &Arc<Self>,
        stream: &Stream,
        change: PendingChange,
    ) -> Result<(), ApiError> {
        let mut record = stream.record.clone();
        let delay = self.store.config.updating_delay_ms;
        let until_ms = self.store.now() + delay as i64;
        record.lifecycle = Lifecycle::Updating { until_ms };
        record.pending = Some(change);
        let name = record.name.clone();
        self.store.save(record).await?;
        if delay == 0 {
            return self.apply_pending(&name).await;
        }
        self.schedule(delay);
        Ok(())
    }

    /// Applies due changes after `delay_ms` (maintenance applies them too; this is for
    /// promptness).
    pub(crate) fn schedule(self: &Arc<Self>, delay_ms: u64) {
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            this.apply_due().await;
        });
    }

    /// Applies every pending change whose UPDATING window has passed.
    pub async fn apply_due(&self) {
        let now = self.store.now();
        for stream in self.store.streams() {
            let due = match stream.record.lifecycle {
                Lifecycle::Updating { until_ms } => until_ms <= now,
                _ => true,
            };
            if stream.record.pending.is_none() || !due {
                continue;
            }
            let _guard = self.store.control.lock().await;
            if let Err(e) = self.apply_pending(&stream.record.name).await {
                tracing::error!(
                    "applying the pending change of stream {}: {e}",
                    stream.record.name
                );
            }
        }
    }

    /// Closes the parents and opens the children of the stream's pending change, if any. The
    /// caller holds the control lock.
    pub(crate) async fn apply_pending(&self, name: &str) -> Result<(), ApiError> {
        let Some(stream) = self.store.get_including_gone(name) else {
            return Ok(());
        };
        let Some(change) = stream.record.pending.clone() else {
            return Ok(());
        };
        let open: Vec<&ShardRecord> = stream.open_shards().collect();
        let next_index = stream
            .record
            .shards
            .iter()
            .map(|s| s.index + 1)
            .max()
            .unwrap_or(0);
        let plan = plan(&open, &change, next_index);
        let first_log_id = self.store.allocate_log_ids(plan.create.len() as u64);
        for i in 0..plan.create.len() as u64 {
            self.log
                .create_shard(first_log_id + i)
                .await
                .map_err(log_error)?;
        }
        let _writers_paused = stream.gate.write().await;
        self.log.flush().await.map_err(log_error)?;
        let now = self.store.now();
        let mut record = stream.record.clone();
        for shard in record
            .shards
            .iter_mut()
            .filter(|s| plan.close.contains(&s.index))
        {
            let tail = self.log.tail(shard.log_id).map_err(log_error)?;
            shard.ending_counter = Some(tail.next_counter);
            shard.closed_ms = Some(now);
        }
        for (new, log_id) in plan.create.iter().zip(first_log_id..) {
            record.shards.push(ShardRecord {
                index: new.index,
                log_id,
                starting_hash_key: new.start,
                ending_hash_key: new.end,
                created_ms: now,
                parent: Some(new.parent),
                adjacent_parent: new.adjacent_parent,
                ending_counter: new.closed.then_some(0),
                closed_ms: new.closed.then_some(now),
            });
        }
        record.pending = None;
        record.lifecycle = Lifecycle::Active;
        record.last_reshard_ms = Some(now);
        self.store.save(record).await?;
        Ok(())
    }

    /// Drops closed shards whose records are all past retention (AWS stops listing them).
    pub async fn expire_closed_shards(&self) {
        for stream in self.store.streams() {
            if let Err(e) = self.expire_closed_shards_of(&stream.record.name).await {
                tracing::warn!("expiring closed shards of {}: {e}", stream.record.name);
            }
        }
    }

    async fn expire_closed_shards_of(&self, name: &str) -> Result<(), ApiError> {
        let _guard = self.store.control.lock().await;
        let Some(stream) = self.store.get_including_gone(name) else {
            return Ok(());
        };
        let horizon = self.store.now() - stream.retention_ms();
        let (expired, kept): (Vec<ShardRecord>, Vec<ShardRecord>) = stream
            .record
            .shards
            .iter()
            .cloned()
            .partition(|s| s.closed_ms.is_some_and(|t| t < horizon));
        if expired.is_empty() {
            return Ok(());
        }
        let mut record = stream.record.clone();
        record.shards = kept;
        self.store.save(record).await?;
        for shard in expired {
            self.log
                .delete_shard(shard.log_id)
                .await
                .map_err(log_error)?;
        }
        Ok(())
    }
}

/// UpdateShardCount's bounds: the account's limit, 10,000 per stream, half to double.
fn check_resize(store: &StreamStore, open: i64, target: i64) -> Result<(), ApiError> {
    let limit = i64::from(store.config.shard_limit);
    if target > limit {
        return Err(limit_exceeded(format!(
            "Target shard count or number of open shards cannot be greater than {limit}. Current open shard count: {open}, Target shard count: {target}"
        )));
    }
    // AWS caps a stream at 10,000 open shards through UpdateShardCount.
    if target > MAX_SHARDS_PER_STREAM {
        return Err(limit_exceeded(format!(
            "UpdateShardCount cannot scale up to more than {MAX_SHARDS_PER_STREAM} shards in a stream. Current open shard count: {open}, Target shard count: {target}"
        )));
    }
    if target > open * 2 {
        return Err(limit_exceeded(format!(
            "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: {open}, Target shard count: {target}"
        )));
    }
    if target * 2 < open {
        return Err(limit_exceeded(format!(
            "UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: {open}, Target shard count: {target}"
        )));
    }
    Ok(())
}

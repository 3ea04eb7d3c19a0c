//! Resharding: SplitShard, MergeShards and UpdateShardCount.
//!
//! A request is validated, then the stream turns UPDATING with the change persisted as pending;
//! the change is applied when the UPDATING window ends, as on AWS (reads and writes go on
//! meanwhile, and the new shards appear once the stream is ACTIVE again).
//!
//! Applying is atomic with respect to writers. The routing gate is held exclusively while the log
//! flushes, so every append routed with the old shard map is durable and inside its parent's
//! ending counter; the new map is persisted before the gate opens, so no writer can route to a
//! child (and be acknowledged there) before a restart would know the child exists.

use crate::hashing::{even_ranges, parse_hash_key};
use crate::registry::{log_error, Kinesis, Stream};
use crate::validation::{self as check, format_shard_id, parse_shard_id};
use spate_catalog::{Lifecycle, PendingChange, ShardRecord};
use spate_wire::kinesis::*;
use spate_wire::validate::{is_hash_key, Validator};
use spate_wire::{ApiError, ErrorKind};
use std::sync::Arc;

const DAY_MS: i64 = 86_400_000;
const MAX_SHARDS_PER_STREAM: i64 = 10_000;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidArgument, message)
}

fn limit_exceeded(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::LimitExceeded, message)
}

/// A shard the change creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewShard {
    pub index: u32,
    pub start: u128,
    pub end: u128,
    pub parent: u32,
    pub adjacent_parent: Option<u32>,
    /// An intermediate shard of a multi-step change: created and closed at once, empty.
    pub closed: bool,
}

/// The shard map change: which existing shards close, which shards are created.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub close: Vec<u32>,
    pub create: Vec<NewShard>,
}

#[derive(Clone, Copy)]
struct Piece {
    index: u32,
    start: u128,
    end: u128,
}

impl Plan {
    fn new_shard(
        &mut self,
        next: &mut u32,
        start: u128,
        end: u128,
        parent: u32,
        adjacent: Option<u32>,
    ) -> Piece {
        let index = *next;
        *next += 1;
        self.create.push(NewShard {
            index,
            start,
            end,
            parent,
            adjacent_parent: adjacent,
            closed: false,
        });
        Piece { index, start, end }
    }

    /// Closes a shard: an existing one at its current tail, a new one at once.
    fn close_shard(&mut self, index: u32) {
        match self.create.iter_mut().find(|s| s.index == index) {
            Some(new) => new.closed = true,
            None => self.close.push(index),
        }
    }

    fn split(&mut self, next: &mut u32, shard: Piece, at: u128) -> (Piece, Piece) {
        self.close_shard(shard.index);
        let left = self.new_shard(next, shard.start, at - 1, shard.index, None);
        let right = self.new_shard(next, at, shard.end, shard.index, None);
        (left, right)
    }

    fn merge(&mut self, next: &mut u32, a: Piece, b: Piece) -> Piece {
        self.close_shard(a.index);
        self.close_shard(b.index);
        self.new_shard(next, a.start, b.end, a.index, Some(b.index))
    }
}

/// The plan of a change over the open shards (ascending by hash key); new shards are numbered
/// from `next_index`.
pub(crate) fn plan(open: &[&ShardRecord], change: &PendingChange, next_index: u32) -> Plan {
    let mut plan = Plan::default();
    let mut next = next_index;
    let piece = |s: &ShardRecord| Piece {
        index: s.index,
        start: s.starting_hash_key,
        end: s.ending_hash_key,
    };
    let find = |index: u32| open.iter().find(|s| s.index == index).map(|s| piece(s));
    match *change {
        PendingChange::Split {
            shard,
            new_starting_hash_key,
        } => {
            if let Some(p) = find(shard) {
                plan.split(&mut next, p, new_starting_hash_key);
            }
        }
        PendingChange::Merge { shard, adjacent } => {
            if let (Some(a), Some(b)) = (find(shard), find(adjacent)) {
                let (low, high) = if a.start < b.start { (a, b) } else { (b, a) };
                // The shard named first is the parent, the other the adjacent parent.
                let merged = plan.merge(&mut next, low, high);
                if let Some(new) = plan.create.iter_mut().find(|s| s.index == merged.index) {
                    new.parent = a.index;
                    new.adjacent_parent = Some(b.index);
                }
            }
        }
        PendingChange::Resize { target } => {
            // Uniform scaling as a sequence of real splits and merges, so that every new shard's
            // lineage (parent, adjacent parent) covers all the data it continues: first cut each
            // open shard at the target boundaries inside it, then merge the pieces of each target.
            let targets = even_ranges(target);
            let mut pieces: Vec<Piece> = Vec::new();
            for shard in open {
                let mut current = piece(shard);
                for &(boundary, _) in &targets {
                    if boundary > current.start && boundary <= current.end {
                        let (left, right) = plan.split(&mut next, current, boundary);
                        pieces.push(left);
                        current = right;
                    }
                }
                pieces.push(current);
            }
            for &(start, end) in &targets {
                let mut group = pieces.iter().filter(|p| p.start >= start && p.end <= end);
                if let Some(&first) = group.next() {
                    let rest: Vec<Piece> = group.copied().collect();
                    rest.into_iter()
                        .fold(first, |acc, p| plan.merge(&mut next, acc, p));
                }
            }
        }
    }
    plan
}

impl Kinesis {
    fn shard_not_found_in(&self, stream: &Stream, shard_id: &str) -> ApiError {
        ApiError::new(
            ErrorKind::ResourceNotFound,
            format!(
                "Could not find shard {shard_id} in stream {} under account {}.",
                stream.record.name, self.config.account_id
            ),
        )
    }

    /// Resharding by hand is for PROVISIONED streams; ON_DEMAND streams scale themselves.
    fn require_provisioned(&self, stream: &Stream) -> Result<(), ApiError> {
        if stream.record.mode == spate_catalog::StreamMode::OnDemand {
            return Err(ApiError::new(
                ErrorKind::Validation,
                format!(
                    "This API is only supported for data streams with the provisioned capacity mode. Stream {} under account {} is in ON_DEMAND mode.",
                    stream.record.name, self.config.account_id
                ),
            ));
        }
        Ok(())
    }

    /// The open shard a reshard request names.
    fn open_shard_named<'s>(
        &self,
        stream: &'s Stream,
        shard_id: &str,
    ) -> Result<&'s ShardRecord, ApiError> {
        let shard = parse_shard_id(shard_id)
            .and_then(|i| stream.shard(i))
            .ok_or_else(|| self.shard_not_found_in(stream, shard_id))?;
        if shard.ending_counter.is_some() {
            return Err(ApiError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Shard {} in stream {} under account {} has already been merged or split, and thus is not eligible for merging or splitting.",
                    format_shard_id(shard.index),
                    stream.record.name,
                    self.config.account_id
                ),
            ));
        }
        Ok(shard)
    }

    pub async fn split_shard(
        self: &Arc<Self>,
        input: SplitShardInput,
    ) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.required(&input.shard_to_split, "shardToSplit")
            .required(&input.new_starting_hash_key, "newStartingHashKey");
        check::shard_id(&mut v, input.shard_to_split.as_deref(), "shardToSplit");
        v.pattern(
            input.new_starting_hash_key.as_deref(),
            "newStartingHashKey",
            "0|([1-9]\\d{0,38})",
            is_hash_key,
        );
        v.finish()?;
        let _guard = self.control.lock().await;
        let stream = self.lookup_named(&input)?;
        self.require_provisioned(&stream)?;
        let shard_id = input.shard_to_split.as_deref().unwrap_or_default();
        let shard = self.open_shard_named(&stream, shard_id)?;
        self.check_shard_limit(1)?;
        let key_text = input.new_starting_hash_key.as_deref().unwrap_or_default();
        let key = parse_hash_key(key_text)
            .filter(|&k| k > shard.starting_hash_key + 1 && k < shard.ending_hash_key)
            .ok_or_else(|| {
                invalid(format!(
                    "NewStartingHashKey {key_text} used in SplitShard() on shard {} in stream {} under account {} is not both greater than one plus the shard's StartingHashKey {} and less than the shard's EndingHashKey {}.",
                    format_shard_id(shard.index),
                    stream.record.name,
                    self.config.account_id,
                    shard.starting_hash_key,
                    shard.ending_hash_key
                ))
            })?;
        self.require_active(&stream)?;
        let change = PendingChange::Split {
            shard: shard.index,
            new_starting_hash_key: key,
        };
        self.begin_change(&stream, change).await?;
        Ok(EmptyOutput {})
    }

    pub async fn merge_shards(
        self: &Arc<Self>,
        input: MergeShardsInput,
    ) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.required(&input.shard_to_merge, "shardToMerge")
            .required(&input.adjacent_shard_to_merge, "adjacentShardToMerge");
        check::shard_id(&mut v, input.shard_to_merge.as_deref(), "shardToMerge");
        check::shard_id(
            &mut v,
            input.adjacent_shard_to_merge.as_deref(),
            "adjacentShardToMerge",
        );
        v.finish()?;
        let _guard = self.control.lock().await;
        let stream = self.lookup_named(&input)?;
        self.require_provisioned(&stream)?;
        let a =
            self.open_shard_named(&stream, input.shard_to_merge.as_deref().unwrap_or_default())?;
        let b = self.open_shard_named(
            &stream,
            input.adjacent_shard_to_merge.as_deref().unwrap_or_default(),
        )?;
        let adjacent = a.ending_hash_key.checked_add(1) == Some(b.starting_hash_key)
            || b.ending_hash_key.checked_add(1) == Some(a.starting_hash_key);
        if !adjacent {
            return Err(invalid(format!(
                "Shards {} and {} in stream {} under account {} are not an adjacent pair of shards eligible for merging",
                format_shard_id(a.index),
                format_shard_id(b.index),
                stream.record.name,
                self.config.account_id
            )));
        }
        self.require_active(&stream)?;
        let change = PendingChange::Merge {
            shard: a.index,
            adjacent: b.index,
        };
        self.begin_change(&stream, change).await?;
        Ok(EmptyOutput {})
    }

    pub async fn update_shard_count(
        self: &Arc<Self>,
        input: UpdateShardCountInput,
    ) -> Result<UpdateShardCountOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.required(&input.target_shard_count, "targetShardCount")
            .required(&input.scaling_type, "scalingType");
        v.range(input.target_shard_count, "targetShardCount", 1, i64::MAX);
        v.one_of(
            input.scaling_type.as_deref(),
            "scalingType",
            &["UNIFORM_SCALING"],
        );
        v.finish()?;
        let target = input.target_shard_count.unwrap_or(1);
        let _guard = self.control.lock().await;
        let stream = self.lookup_named(&input)?;
        self.require_provisioned(&stream)?;
        self.require_active(&stream)?;
        let open = stream.open_shard_count() as i64;
        let limit = i64::from(self.config.shard_limit);
        if target > limit {
            return Err(limit_exceeded(format!(
                "Target shard count or number of open shards cannot be greater than {limit}. Current open shard count: {open}, Target shard count: {target}"
            )));
        }
        // AWS caps a stream at 10,000 open shards through UpdateShardCount (a larger stream may
        // only scale to below that).
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
        let now = self.now();
        let mut calls: Vec<i64> = stream
            .record
            .resize_calls_ms
            .iter()
            .copied()
            .filter(|&t| now - t < DAY_MS)
            .collect();
        if calls.len() >= self.config.resize_calls_per_day as usize {
            // AWS's answer when a stream used up its UpdateShardCount calls of the day.
            return Err(limit_exceeded(format!(
                "Rate exceeded for stream {} under account {}.",
                stream.record.name, self.config.account_id
            )));
        }
        if target > open {
            self.check_shard_limit((target - open) as usize)?;
        }
        calls.push(now);
        let change = PendingChange::Resize {
            target: target as u32,
        };
        let mut record = stream.record.clone();
        record.resize_calls_ms = calls;
        let stream = self.save(record)?;
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
        let until_ms = self.now() + self.config.updating_delay_ms as i64;
        record.lifecycle = Lifecycle::Updating { until_ms };
        record.pending = Some(change);
        let name = record.name.clone();
        self.save(record)?;
        if self.config.updating_delay_ms == 0 {
            return self.apply_pending(&name).await;
        }
        self.schedule_pending(name, until_ms);
        Ok(())
    }

    /// Applies a stream's pending change once `until_ms` has passed.
    pub(crate) fn schedule_pending(self: &Arc<Self>, name: String, until_ms: i64) {
        let this = self.clone();
        let wait = std::time::Duration::from_millis((until_ms - self.now()).max(0) as u64);
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let _guard = this.control.lock().await;
            if let Err(e) = this.apply_pending(&name).await {
                tracing::error!("applying the pending change of stream {name}: {e}");
            }
        });
    }

    /// Closes the parents and opens the children of the stream's pending change, if any. The
    /// caller holds the control lock.
    pub(crate) async fn apply_pending(&self, name: &str) -> Result<(), ApiError> {
        let Some(stream) = self.registry().streams.get(name).cloned() else {
            return Ok(());
        };
        let Some(change) = stream.record.pending.clone() else {
            return Ok(());
        };
        let open: Vec<&ShardRecord> = stream
            .open
            .iter()
            .map(|&i| &stream.record.shards[i])
            .collect();
        let next_index = stream
            .record
            .shards
            .iter()
            .map(|s| s.index + 1)
            .max()
            .unwrap_or(0);
        let plan = plan(&open, &change, next_index);
        let first_log_id = self.registry().next_log_id;
        for i in 0..plan.create.len() as u64 {
            self.log
                .create_shard(first_log_id + i)
                .await
                .map_err(log_error)?;
        }
        let _writers_paused = self.gate.write().await;
        self.log.flush().await.map_err(log_error)?;
        let now = self.now();
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
        for (i, new) in plan.create.iter().enumerate() {
            record.shards.push(ShardRecord {
                index: new.index,
                log_id: first_log_id + i as u64,
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
        self.registry_mut().next_log_id = first_log_id + plan.create.len() as u64;
        self.save(record)?;
        Ok(())
    }

    /// Drops closed shards whose records are all past retention (AWS stops listing them).
    pub(crate) async fn expire_closed_shards(&self, name: &str) -> Result<(), ApiError> {
        let _guard = self.control.lock().await;
        let Some(stream) = self.registry().streams.get(name).cloned() else {
            return Ok(());
        };
        let horizon = self.now() - stream.retention_ms();
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
        self.save(record)?;
        for shard in expired {
            self.log
                .delete_shard(shard.log_id)
                .await
                .map_err(log_error)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_shards(ranges: &[(u128, u128)]) -> Vec<ShardRecord> {
        ranges
            .iter()
            .enumerate()
            .map(|(i, &(start, end))| ShardRecord {
                index: i as u32,
                starting_hash_key: start,
                ending_hash_key: end,
                ..ShardRecord::default()
            })
            .collect()
    }

    /// The open shards after a plan, ascending.
    fn open_after(shards: &[ShardRecord], plan: &Plan) -> Vec<(u128, u128)> {
        let mut open: Vec<(u128, u128)> = shards
            .iter()
            .filter(|s| !plan.close.contains(&s.index))
            .map(|s| (s.starting_hash_key, s.ending_hash_key))
            .chain(
                plan.create
                    .iter()
                    .filter(|s| !s.closed)
                    .map(|s| (s.start, s.end)),
            )
            .collect();
        open.sort();
        open
    }

    #[test]
    fn split_and_merge_lineage() {
        let shards = open_shards(&even_ranges(2));
        let refs: Vec<&ShardRecord> = shards.iter().collect();
        let split = plan(
            &refs,
            &PendingChange::Split {
                shard: 1,
                new_starting_hash_key: shards[1].starting_hash_key + 10,
            },
            2,
        );
        assert_eq!(split.close, vec![1]);
        assert_eq!(split.create.len(), 2);
        assert!(split.create.iter().all(|s| s.parent == 1 && !s.closed));
        assert_eq!(split.create[0].end + 1, split.create[1].start);

        let merge = plan(
            &refs,
            &PendingChange::Merge {
                shard: 1,
                adjacent: 0,
            },
            2,
        );
        assert_eq!(merge.close, vec![0, 1]);
        assert_eq!(merge.create[0].parent, 1);
        assert_eq!(merge.create[0].adjacent_parent, Some(0));
        assert_eq!((merge.create[0].start, merge.create[0].end), (0, u128::MAX));
    }

    #[test]
    fn resize_reaches_even_ranges_through_valid_lineage() {
        for from in 1..=8u32 {
            for to in from.div_ceil(2)..=from * 2 {
                let shards = open_shards(&even_ranges(from));
                let refs: Vec<&ShardRecord> = shards.iter().collect();
                let plan = plan(&refs, &PendingChange::Resize { target: to }, from);
                assert_eq!(
                    open_after(&shards, &plan),
                    even_ranges(to),
                    "{from} -> {to}"
                );
                // Every new shard's parents together cover exactly its range.
                let range_of = |index: u32| {
                    shards
                        .iter()
                        .find(|s| s.index == index)
                        .map(|s| (s.starting_hash_key, s.ending_hash_key))
                        .or_else(|| {
                            plan.create
                                .iter()
                                .find(|s| s.index == index)
                                .map(|s| (s.start, s.end))
                        })
                        .unwrap()
                };
                for new in &plan.create {
                    let parent = range_of(new.parent);
                    let covered = match new.adjacent_parent.map(range_of) {
                        Some(adjacent) => (parent.0, adjacent.1),
                        None => (new.start.max(parent.0), new.end.min(parent.1)),
                    };
                    assert_eq!(covered, (new.start, new.end), "{from} -> {to}: {new:?}");
                }
            }
        }
    }
}

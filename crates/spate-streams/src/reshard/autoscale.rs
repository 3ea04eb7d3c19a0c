//! Hot shards: the per-shard traffic report (`spate stream hot-shards`), and the scaler that
//! makes ON_DEMAND streams split hot shards and merge cold neighbours by themselves.
//!
//! A hot shard is split at the hash key that halves its observed write traffic, not at the
//! midpoint of its range: with skewed keys the midpoint can leave nearly all the traffic on one
//! child. Merges wait for a long cool-down and need two adjacent shards whose traffic together
//! stays well under the split threshold, so the scaler does not flap.

use super::Resharding;
use crate::model::{ShardId, StreamRef};
use crate::store::{Status, Stream};
use crate::streams::{check_shard_limit, require_active};
use crate::traffic::TrafficReport;
use spate_catalog::{PendingChange, ShardRecord, StreamMode};
use spate_wire::admin::{ShardTraffic, ShardTrafficOutput};
use spate_wire::ApiError;
use std::sync::Arc;

/// What the scaler decided for one stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    Split { shard: u32, at: u128 },
    Merge { low: u32, high: u32 },
}

/// One open shard as the scaler sees it.
pub(crate) struct Observed<'a> {
    pub shard: &'a ShardRecord,
    pub load: f64,
    pub halving_key: Option<u128>,
}

/// Scaling settings, resolved for one stream.
pub(crate) struct Bounds {
    pub split_above: f64,
    pub merge_below: f64,
    pub min_shards: usize,
    pub max_shards: usize,
    pub may_split: bool,
    pub may_merge: bool,
}

/// The scaler's rule, over the open shards ascending by hash key: below the floor (the ON_DEMAND
/// minimum or the warm throughput target), split the widest shard; else split the hottest shard
/// over the threshold (where its traffic can be halved); else merge the coldest adjacent pair.
pub(crate) fn decide(open: &[Observed<'_>], bounds: &Bounds) -> Option<Decision> {
    if bounds.may_split && open.len() < bounds.min_shards.min(bounds.max_shards) {
        let widest = open
            .iter()
            .max_by_key(|o| o.shard.ending_hash_key - o.shard.starting_hash_key)?;
        let (start, end) = (widest.shard.starting_hash_key, widest.shard.ending_hash_key);
        let at = widest.halving_key.unwrap_or(start + (end - start) / 2 + 1);
        if at > start + 1 && at < end {
            return Some(Decision::Split {
                shard: widest.shard.index,
                at,
            });
        }
    }
    if bounds.may_split && open.len() < bounds.max_shards {
        let hottest = open
            .iter()
            .filter(|o| o.load >= bounds.split_above)
            .filter_map(|o| o.halving_key.map(|at| (o, at)))
            .max_by(|a, b| a.0.load.total_cmp(&b.0.load));
        if let Some((o, at)) = hottest {
            return Some(Decision::Split {
                shard: o.shard.index,
                at,
            });
        }
    }
    if bounds.may_merge && open.len() > bounds.min_shards {
        let coldest = open
            .windows(2)
            .filter(|w| {
                w[0].shard.ending_hash_key.checked_add(1) == Some(w[1].shard.starting_hash_key)
            })
            .map(|w| (w[0].load + w[1].load, w))
            .filter(|(load, _)| *load < bounds.merge_below)
            .min_by(|a, b| a.0.total_cmp(&b.0));
        if let Some((_, w)) = coldest {
            return Some(Decision::Merge {
                low: w[0].shard.index,
                high: w[1].shard.index,
            });
        }
    }
    None
}

impl Resharding {
    fn open_shards_observed<'s>(
        &self,
        stream: &'s Stream,
        now: i64,
    ) -> Vec<(Observed<'s>, TrafficReport)> {
        stream
            .open_shards()
            .map(|shard| {
                let report = self.traffic.report(now, shard.log_id);
                let observed = Observed {
                    shard,
                    load: self.traffic.write_load(&report),
                    halving_key: report.halving_key(shard.starting_hash_key, shard.ending_hash_key),
                };
                (observed, report)
            })
            .collect()
    }

    /// Spate's `DescribeShardTraffic`: rates, load and suggested split key of each open shard.
    pub fn describe_shard_traffic(
        &self,
        stream: &StreamRef,
    ) -> Result<ShardTrafficOutput, ApiError> {
        let stream = self.store.resolve(stream)?;
        let now = self.store.now();
        let limits = self.traffic.limits();
        Ok(ShardTrafficOutput {
            stream_name: stream.record.name.clone(),
            write_bytes_limit_per_second: limits.write_bytes_per_sec,
            write_records_limit_per_second: limits.write_records_per_sec,
            shards: self
                .open_shards_observed(&stream, now)
                .into_iter()
                .map(|(o, r)| ShardTraffic {
                    shard_id: ShardId(o.shard.index).to_string(),
                    starting_hash_key: o.shard.starting_hash_key.to_string(),
                    ending_hash_key: o.shard.ending_hash_key.to_string(),
                    incoming_bytes_per_second: r.write_bytes_per_sec,
                    incoming_records_per_second: r.write_records_per_sec,
                    outgoing_bytes_per_second: r.read_bytes_per_sec,
                    write_throttled_per_second: r.write_throttled_per_sec,
                    read_throttled_per_second: r.read_throttled_per_sec,
                    write_load: o.load,
                    halving_hash_key: o.halving_key.map(|k| k.to_string()),
                })
                .collect(),
        })
    }

    /// One pass of the ON_DEMAND scaler over every stream; at most one change per stream.
    pub async fn autoscale(self: &Arc<Self>) {
        let now = self.store.now();
        let config = &self.store.config.autoscale;
        let streams: Vec<Arc<Stream>> = self
            .store
            .streams()
            .into_iter()
            .filter(|s| s.record.mode == StreamMode::OnDemand && s.status(now) == Status::Active)
            .collect();
        for stream in streams {
            let since = stream
                .record
                .last_reshard_ms
                .unwrap_or(stream.record.created_ms);
            let quiet_for = (now - since).max(0) as u64;
            let observed: Vec<Observed<'_>> = self
                .open_shards_observed(&stream, now)
                .into_iter()
                .map(|(o, _)| o)
                .collect();
            // Warm throughput asks for capacity ahead of traffic: 1 MiB/s of writes per shard.
            let warm = stream.record.warm_throughput_mibps.unwrap_or(0).max(0) as usize;
            let bounds = Bounds {
                split_above: config.split_above,
                merge_below: config.merge_below,
                min_shards: (self.store.config.on_demand_shard_count as usize).max(warm),
                max_shards: config.max_shards as usize,
                may_split: quiet_for >= config.up_cooldown_ms,
                may_merge: quiet_for >= config.down_cooldown_ms,
            };
            let change = match decide(&observed, &bounds) {
                Some(Decision::Split { shard, at }) => PendingChange::Split {
                    shard,
                    new_starting_hash_key: at,
                },
                Some(Decision::Merge { low, high }) => PendingChange::Merge {
                    shard: low,
                    adjacent: high,
                },
                None => continue,
            };
            let _guard = self.store.control.lock().await;
            // Re-check under the lock: the stream may have changed meanwhile.
            let current = self.store.get_including_gone(&stream.record.name);
            let Some(current) = current.filter(|c| Arc::ptr_eq(c, &stream)) else {
                continue;
            };
            if require_active(&self.store, &current).is_err() {
                continue;
            }
            if let PendingChange::Split { .. } = change {
                if check_shard_limit(&self.store, 1).is_err() {
                    continue;
                }
            }
            tracing::info!("ON_DEMAND stream {}: {change:?}", current.record.name);
            if let Err(e) = self.begin_change(&current, change).await {
                tracing::warn!("scaling stream {}: {e}", current.record.name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hashing::even_ranges;

    fn shards(n: u32) -> Vec<ShardRecord> {
        even_ranges(n)
            .into_iter()
            .enumerate()
            .map(|(i, (start, end))| ShardRecord {
                index: i as u32,
                starting_hash_key: start,
                ending_hash_key: end,
                ..ShardRecord::default()
            })
            .collect()
    }

    fn bounds() -> Bounds {
        Bounds {
            split_above: 0.8,
            merge_below: 0.25,
            min_shards: 1,
            max_shards: 8,
            may_split: true,
            may_merge: true,
        }
    }

    #[test]
    fn splits_the_hottest_splittable_shard() {
        let s = shards(3);
        let open = vec![
            Observed {
                shard: &s[0],
                load: 0.9,
                halving_key: Some(5),
            },
            Observed {
                shard: &s[1],
                load: 1.5,
                halving_key: None,
            },
            Observed {
                shard: &s[2],
                load: 1.2,
                halving_key: Some(7),
            },
        ];
        assert_eq!(
            decide(&open, &bounds()),
            Some(Decision::Split { shard: 2, at: 7 })
        );
        let no_room = Bounds {
            max_shards: 3,
            ..bounds()
        };
        assert_eq!(decide(&open, &no_room), None);
    }

    #[test]
    fn grows_to_the_floor_by_splitting_the_widest_shard() {
        let s = shards(1);
        let halves = shards(2);
        let open = vec![Observed {
            shard: &s[0],
            load: 0.0,
            halving_key: None,
        }];
        let floor = Bounds {
            min_shards: 2,
            ..bounds()
        };
        assert_eq!(
            decide(&open, &floor),
            Some(Decision::Split {
                shard: 0,
                at: halves[1].starting_hash_key
            })
        );
        assert_eq!(
            decide(
                &open,
                &Bounds {
                    may_split: false,
                    ..floor
                }
            ),
            None
        );
    }

    #[test]
    fn merges_the_coldest_adjacent_pair_only_after_cool_down() {
        let s = shards(4);
        let open = vec![
            Observed {
                shard: &s[0],
                load: 0.2,
                halving_key: None,
            },
            Observed {
                shard: &s[1],
                load: 0.01,
                halving_key: None,
            },
            Observed {
                shard: &s[2],
                load: 0.02,
                halving_key: None,
            },
            Observed {
                shard: &s[3],
                load: 0.5,
                halving_key: None,
            },
        ];
        assert_eq!(
            decide(&open, &bounds()),
            Some(Decision::Merge { low: 1, high: 2 })
        );
        let cooling = Bounds {
            may_merge: false,
            ..bounds()
        };
        assert_eq!(decide(&open, &cooling), None);
        let at_minimum = Bounds {
            min_shards: 4,
            ..bounds()
        };
        assert_eq!(decide(&open, &at_minimum), None);
    }
}

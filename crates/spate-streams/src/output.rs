//! How streams and shards look in responses (shared by the components that describe them).

use crate::model::ShardId;
use crate::sequence::SequenceNumber;
use crate::store::{Status, Stream};
use spate_catalog::{ShardRecord, StreamMode};
use spate_wire::kinesis::*;
use spate_wire::Timestamp;

pub(crate) fn mode_out(mode: StreamMode) -> StreamModeDetailsOut {
    StreamModeDetailsOut {
        stream_mode: match mode {
            StreamMode::Provisioned => "PROVISIONED",
            StreamMode::OnDemand => "ON_DEMAND",
        },
    }
}

fn enhanced_monitoring(stream: &Stream) -> Vec<EnhancedMetrics> {
    vec![EnhancedMetrics {
        shard_level_metrics: stream.record.shard_level_metrics.clone(),
    }]
}

pub(crate) fn encryption_type(stream: &Stream) -> &'static str {
    if stream.record.encryption_key_id.is_some() {
        "KMS"
    } else {
        "NONE"
    }
}

/// The sequence number of a record of `shard`.
pub(crate) fn sequence(shard: &ShardRecord, counter: u64, arrival_ms: i64) -> SequenceNumber {
    SequenceNumber {
        shard_created_secs: u64::try_from(shard.created_ms / 1000).unwrap_or(0),
        shard_index: shard.index,
        counter,
        arrival_ms,
    }
}

pub(crate) fn shard_out(stream: &Stream, shard: &ShardRecord) -> Shard {
    Shard {
        shard_id: ShardId(shard.index).to_string(),
        parent_shard_id: shard.parent.map(|p| ShardId(p).to_string()),
        adjacent_parent_shard_id: shard.adjacent_parent.map(|p| ShardId(p).to_string()),
        hash_key_range: HashKeyRange {
            starting_hash_key: shard.starting_hash_key.to_string(),
            ending_hash_key: shard.ending_hash_key.to_string(),
        },
        sequence_number_range: SequenceNumberRange {
            starting_sequence_number: sequence(shard, 0, shard.created_ms).to_string(),
            ending_sequence_number: shard.ending_counter.map(|c| {
                let closed = shard.closed_ms.unwrap_or(stream.record.created_ms);
                sequence(shard, c.saturating_sub(1), closed).to_string()
            }),
        },
    }
}

pub(crate) fn stream_description(
    stream: &Stream,
    status: Status,
    shards: Vec<Shard>,
    has_more_shards: bool,
) -> StreamDescription {
    StreamDescription {
        stream_name: stream.record.name.clone(),
        stream_arn: stream.arn.clone(),
        stream_status: status.as_str(),
        stream_mode_details: mode_out(stream.record.mode),
        shards,
        has_more_shards,
        retention_period_hours: stream.record.retention_hours,
        stream_creation_timestamp: Timestamp::from_millis(stream.record.created_ms),
        enhanced_monitoring: enhanced_monitoring(stream),
        encryption_type: encryption_type(stream),
        key_id: stream.record.encryption_key_id.clone(),
    }
}

pub(crate) fn stream_summary(stream: &Stream, now: i64) -> StreamDescriptionSummary {
    StreamDescriptionSummary {
        stream_name: stream.record.name.clone(),
        stream_arn: stream.arn.clone(),
        stream_status: stream.status(now).as_str(),
        stream_mode_details: mode_out(stream.record.mode),
        retention_period_hours: stream.record.retention_hours,
        stream_creation_timestamp: Timestamp::from_millis(stream.record.created_ms),
        enhanced_monitoring: enhanced_monitoring(stream),
        encryption_type: encryption_type(stream),
        key_id: stream.record.encryption_key_id.clone(),
        open_shard_count: stream.open_shard_count() as i64,
        consumer_count: stream.consumers(now).count() as i64,
        max_record_size_in_ki_b: stream.record.max_record_size_kib,
        warm_throughput: warm_throughput(stream),
        record_distribution_strategy: (stream.record.mode == StreamMode::OnDemand).then_some(
            if stream.record.auto_distribution {
                "AUTO"
            } else {
                "USER_PARTITION_KEY"
            },
        ),
        channel_count: None,
    }
}

/// Warm throughput as DescribeStreamSummary reports it (ON_DEMAND streams only). Each open
/// shard takes 1 MiB/s of writes, so the current figure is what the shard map provides now;
/// the ON_DEMAND scaler splits shards until it reaches the target.
pub(crate) fn warm_throughput(stream: &Stream) -> Option<WarmThroughput> {
    if stream.record.mode != StreamMode::OnDemand {
        return None;
    }
    Some(WarmThroughput {
        target_mi_bps: stream.record.warm_throughput_mibps.unwrap_or(0),
        current_mi_bps: stream.open_shard_count() as i64,
    })
}

pub(crate) fn child_shards(stream: &Stream, parent: u32) -> Vec<ChildShard> {
    stream
        .record
        .shards
        .iter()
        .filter(|s| s.parent == Some(parent) || s.adjacent_parent == Some(parent))
        .map(|s| ChildShard {
            shard_id: ShardId(s.index).to_string(),
            parent_shards: s
                .parent
                .into_iter()
                .chain(s.adjacent_parent)
                .map(|p| ShardId(p).to_string())
                .collect(),
            hash_key_range: HashKeyRange {
                starting_hash_key: s.starting_hash_key.to_string(),
                ending_hash_key: s.ending_hash_key.to_string(),
            },
        })
        .collect()
}

//! Request shapes: every member optional and of an AWS-worded wire type (`crate::types`).

use super::responses::{ChildShard, Record};
use crate::{Blob, Bool, Int, List, Map, Str, Struct, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamModeDetails {
    pub stream_mode: Option<Str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamModeDetailsOut {
    pub stream_mode: &'static str,
}

// ---------------------------------------------------------------- requests

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterStreamConsumerInput {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub consumer_name: Option<Str>,
    pub tags: Option<Map<Str>>,
}

/// DescribeStreamConsumer and DeregisterStreamConsumer: a consumer ARN, or a stream ARN and a
/// consumer name.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumerRefInput {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub consumer_name: Option<Str>,
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamConsumersInput {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub next_token: Option<Str>,
    pub max_results: Option<Int>,
    pub stream_creation_timestamp: Option<Timestamp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartingPosition {
    #[serde(rename = "Type")]
    pub kind: Option<Str>,
    pub sequence_number: Option<Str>,
    pub timestamp: Option<Timestamp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeToShardInput {
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: Option<Str>,
    pub shard_id: Option<Str>,
    pub starting_position: Option<Struct<StartingPosition>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Consumer {
    pub consumer_name: String,
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    pub consumer_status: &'static str,
    pub consumer_creation_timestamp: Timestamp,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterStreamConsumerOutput {
    pub consumer: Consumer,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumerDescription {
    pub consumer_name: String,
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: String,
    pub consumer_status: &'static str,
    pub consumer_creation_timestamp: Timestamp,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamConsumerOutput {
    pub consumer_description: ConsumerDescription,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamConsumersOutput {
    pub consumers: Vec<Consumer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// The payload of one `SubscribeToShardEvent`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeToShardEvent<'a, S> {
    pub records: Vec<Record<'a, S>>,
    /// Absent on the last event of a closed shard (with ChildShards instead).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continuation_sequence_number: Option<String>,
    pub millis_behind_latest: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub child_shards: Option<Vec<ChildShard>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SplitShardInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub shard_to_split: Option<Str>,
    pub new_starting_hash_key: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MergeShardsInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub shard_to_merge: Option<Str>,
    pub adjacent_shard_to_merge: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateShardCountInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub target_shard_count: Option<Int>,
    pub scaling_type: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateStreamModeInput {
    /// Not accepted by this operation (ARN only); kept so the shape names its stream uniformly.
    #[serde(skip)]
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub stream_mode_details: Option<Struct<StreamModeDetails>>,
    pub warm_throughput_mi_bps: Option<Int>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateStreamWarmThroughputInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub warm_throughput_mi_bps: Option<Int>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateMaxRecordSizeInput {
    #[serde(skip)]
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub max_record_size_in_ki_b: Option<Int>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnhancedMonitoringInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub shard_level_metrics: Option<List<Str>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamEncryptionInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub encryption_type: Option<Str>,
    pub key_id: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourcePolicyInput {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: Option<Str>,
    pub policy: Option<Str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetResourcePolicyOutput {
    pub policy: String,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct WarmThroughput {
    #[serde(rename = "TargetMiBps")]
    pub target_mi_bps: i64,
    #[serde(rename = "CurrentMiBps")]
    pub current_mi_bps: i64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateStreamWarmThroughputOutput {
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub stream_name: String,
    pub warm_throughput: WarmThroughput,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnhancedMonitoringOutput {
    pub stream_name: String,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub current_shard_level_metrics: Vec<String>,
    pub desired_shard_level_metrics: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateShardCountOutput {
    pub stream_name: String,
    pub current_shard_count: i64,
    pub target_shard_count: i64,
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateStreamInput {
    pub stream_name: Option<Str>,
    pub shard_count: Option<Int>,
    pub stream_mode_details: Option<Struct<StreamModeDetails>>,
    pub tags: Option<Map<Str>>,
    pub warm_throughput_mi_bps: Option<Int>,
    pub max_record_size_in_ki_b: Option<Int>,
    pub record_distribution_strategy: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateStreamRecordDistributionStrategyInput {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub stream_id: Option<Str>,
    pub record_distribution_strategy: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteStreamInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub enforce_consumer_deletion: Option<Bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeStreamInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub limit: Option<Int>,
    pub exclusive_start_shard_id: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamOnlyInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListStreamsInput {
    pub limit: Option<Int>,
    pub exclusive_start_stream_name: Option<Str>,
    pub next_token: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShardFilter {
    #[serde(rename = "Type")]
    pub filter_type: Option<Str>,
    pub shard_id: Option<Str>,
    pub timestamp: Option<Timestamp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListShardsInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub next_token: Option<Str>,
    pub exclusive_start_shard_id: Option<Str>,
    pub max_results: Option<Int>,
    pub stream_creation_timestamp: Option<Timestamp>,
    pub shard_filter: Option<Struct<ShardFilter>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub data: Option<Blob>,
    pub partition_key: Option<Str>,
    pub explicit_hash_key: Option<Str>,
    pub sequence_number_for_ordering: Option<Str>,
    pub dry_run: Option<Bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsEntry {
    pub data: Option<Blob>,
    pub explicit_hash_key: Option<Str>,
    pub partition_key: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub records: Option<List<Struct<PutRecordsEntry>>>,
    pub dry_run: Option<Bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetShardIteratorInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub shard_id: Option<Str>,
    pub shard_iterator_type: Option<Str>,
    pub starting_sequence_number: Option<Str>,
    pub timestamp: Option<Timestamp>,
    pub dry_run: Option<Bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsInput {
    pub shard_iterator: Option<Str>,
    pub limit: Option<Int>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub dry_run: Option<Bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetentionInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub retention_period_hours: Option<Int>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddTagsToStreamInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub tags: Option<Map<Str>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveTagsFromStreamInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub tag_keys: Option<List<Str>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForStreamInput {
    pub stream_name: Option<Str>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub exclusive_start_tag_key: Option<Str>,
    pub limit: Option<Int>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: Option<Str>,
    pub tags: Option<Map<Str>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceInput {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: Option<Str>,
    pub tag_keys: Option<List<Str>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceInput {
    #[serde(rename = "ResourceARN")]
    pub resource_arn: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EmptyInput {}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BillingCommitmentInput {
    pub status: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAccountSettingsInput {
    pub minimum_throughput_billing_commitment: Option<Struct<BillingCommitmentInput>>,
}

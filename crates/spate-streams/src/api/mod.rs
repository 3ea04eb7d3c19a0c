//! The wire edge of the service: each operation decodes its request shape, validates it into
//! domain values (AWS's validation messages), makes one component call and encodes the result.
//! [`KinesisApi`] is what the front door dispatches `Kinesis_20131202.*` to; [`AdminApi`] serves
//! Spate's own `SpateAdmin_20261126.*` operations.

mod admin;
mod check;
mod consumers;
mod records;
mod reshard;
mod settings;
mod streams;

pub use admin::AdminApi;

use crate::service::Kinesis;
use spate_wire::service::{run, BoxFuture, Call, Operation, Reply, TargetService};
use spate_wire::ApiError;
use std::sync::Arc;

/// `X-Amz-Target: Kinesis_20131202.<Operation>`.
pub struct KinesisApi {
    pub(crate) kinesis: Arc<Kinesis>,
}

impl KinesisApi {
    pub fn new(kinesis: Arc<Kinesis>) -> Arc<KinesisApi> {
        Arc::new(KinesisApi { kinesis })
    }
}

/// A GetRecords response holds at most 10 MiB of records, a third more in base64, plus
/// sequence numbers and keys.
const GET_RECORDS_RESPONSE_MAX_BYTES: usize = 16 << 20;

const OPERATIONS: &[Operation] = &[
    Operation::new("AddTagsToStream"),
    Operation::new("CreateStream"),
    Operation::new("DecreaseStreamRetentionPeriod"),
    Operation::new("DeleteResourcePolicy"),
    Operation::new("DeleteStream"),
    Operation::new("DeregisterStreamConsumer"),
    Operation::new("DescribeAccountSettings"),
    Operation::new("DescribeLimits"),
    Operation::new("DescribeStream").with_response_max_bytes(4 << 20),
    Operation::new("DescribeStreamConsumer"),
    Operation::new("DescribeStreamSummary"),
    Operation::new("DisableEnhancedMonitoring"),
    Operation::new("EnableEnhancedMonitoring"),
    Operation::new("GetRecords").with_response_max_bytes(GET_RECORDS_RESPONSE_MAX_BYTES),
    Operation::new("GetResourcePolicy"),
    Operation::new("GetShardIterator"),
    Operation::new("IncreaseStreamRetentionPeriod"),
    Operation::new("ListShards").with_response_max_bytes(4 << 20),
    Operation::new("ListStreamConsumers"),
    Operation::new("ListStreams").with_response_max_bytes(4 << 20),
    Operation::new("ListTagsForResource"),
    Operation::new("ListTagsForStream"),
    Operation::new("MergeShards"),
    Operation::new("PutRecord"),
    Operation::new("PutRecords"),
    Operation::new("PutResourcePolicy"),
    Operation::new("RegisterStreamConsumer"),
    Operation::new("RemoveTagsFromStream"),
    Operation::new("SplitShard"),
    Operation::new("StartStreamEncryption"),
    Operation::new("StopStreamEncryption"),
    // Events are produced one at a time (about 1 MiB each) into a channel with room for one.
    Operation::new("SubscribeToShard").with_response_max_bytes(2 << 20),
    Operation::new("TagResource"),
    Operation::new("UntagResource"),
    Operation::new("UpdateAccountSettings"),
    Operation::new("UpdateMaxRecordSize"),
    Operation::new("UpdateShardCount"),
    Operation::new("UpdateStreamMode"),
    Operation::new("UpdateStreamRecordDistributionStrategy"),
    Operation::new("UpdateStreamWarmThroughput"),
];

impl TargetService for KinesisApi {
    fn target_prefix(&self) -> &'static str {
        "Kinesis_20131202"
    }

    fn speaks_cbor(&self) -> bool {
        true
    }

    fn operation(&self, name: &str) -> Option<Operation> {
        OPERATIONS.iter().find(|op| op.name == name).copied()
    }

    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Reply> {
        Box::pin(async move { dispatch(&self.kinesis, call).await })
    }

    fn close(&self) {
        self.kinesis.close_subscriptions();
    }

    fn may_have_resource_policies(&self) -> bool {
        self.kinesis.settings.may_have_resource_policies()
    }

    fn resource_policy(&self, resource_arn: &str) -> Option<String> {
        let policy = self
            .kinesis
            .settings
            .get_resource_policy(resource_arn)
            .ok()?;
        (policy.policy != "{}").then_some(policy.policy)
    }
}

async fn dispatch(k: &Arc<Kinesis>, call: Call) -> Reply {
    let c = &call;
    match call.operation {
        "PutRecord" => run(c, |i| records::put_record(k, i)).await,
        "PutRecords" => run(c, |i| records::put_records(k, i)).await,
        "GetRecords" => records::get_records(k, c).await,
        "GetShardIterator" => run(c, |i| records::get_shard_iterator(k, i)).await,
        "SubscribeToShard" => consumers::subscribe_to_shard(k, c).await,
        "CreateStream" => run(c, |i| streams::create_stream(k, i)).await,
        "DeleteStream" => run(c, |i| streams::delete_stream(k, i)).await,
        "DescribeStream" => run(c, |i| streams::describe_stream(k, i)).await,
        "DescribeStreamSummary" => run(c, |i| streams::describe_stream_summary(k, i)).await,
        "ListStreams" => run(c, |i| streams::list_streams(k, i)).await,
        "ListShards" => run(c, |i| streams::list_shards(k, i)).await,
        "IncreaseStreamRetentionPeriod" => run(c, |i| streams::change_retention(k, i, true)).await,
        "DecreaseStreamRetentionPeriod" => run(c, |i| streams::change_retention(k, i, false)).await,
        "AddTagsToStream" => run(c, |i| streams::add_tags_to_stream(k, i)).await,
        "RemoveTagsFromStream" => run(c, |i| streams::remove_tags_from_stream(k, i)).await,
        "ListTagsForStream" => run(c, |i| streams::list_tags_for_stream(k, i)).await,
        "TagResource" => run(c, |i| streams::tag_resource(k, i)).await,
        "UntagResource" => run(c, |i| streams::untag_resource(k, i)).await,
        "ListTagsForResource" => run(c, |i| streams::list_tags_for_resource(k, i)).await,
        "DescribeLimits" => run(c, |i| streams::describe_limits(k, i)).await,
        "DescribeAccountSettings" => run(c, |i| streams::describe_account_settings(k, i)).await,
        "UpdateAccountSettings" => run(c, |i| streams::update_account_settings(k, i)).await,
        "RegisterStreamConsumer" => run(c, |i| consumers::register(k, i)).await,
        "DeregisterStreamConsumer" => run(c, |i| consumers::deregister(k, i)).await,
        "DescribeStreamConsumer" => run(c, |i| consumers::describe(k, i)).await,
        "ListStreamConsumers" => run(c, |i| consumers::list(k, i)).await,
        "SplitShard" => run(c, |i| reshard::split_shard(k, i)).await,
        "MergeShards" => run(c, |i| reshard::merge_shards(k, i)).await,
        "UpdateShardCount" => run(c, |i| reshard::update_shard_count(k, i)).await,
        "UpdateStreamMode" => run(c, |i| settings::update_stream_mode(k, i)).await,
        "UpdateStreamRecordDistributionStrategy" => {
            run(c, |i| settings::update_record_distribution(k, i)).await
        }
        "UpdateStreamWarmThroughput" => run(c, |i| settings::update_warm_throughput(k, i)).await,
        "UpdateMaxRecordSize" => run(c, |i| settings::update_max_record_size(k, i)).await,
        "EnableEnhancedMonitoring" => run(c, |i| settings::monitoring(k, i, true)).await,
        "DisableEnhancedMonitoring" => run(c, |i| settings::monitoring(k, i, false)).await,
        "StartStreamEncryption" => run(c, |i| settings::encryption(k, i, true)).await,
        "StopStreamEncryption" => run(c, |i| settings::encryption(k, i, false)).await,
        "PutResourcePolicy" => run(c, |i| settings::put_resource_policy(k, i)).await,
        "GetResourcePolicy" => run(c, |i| settings::get_resource_policy(k, i)).await,
        "DeleteResourcePolicy" => run(c, |i| settings::delete_resource_policy(k, i)).await,
        _ => Reply::Error(ApiError::bare(spate_wire::ErrorKind::UnknownOperation)),
    }
}

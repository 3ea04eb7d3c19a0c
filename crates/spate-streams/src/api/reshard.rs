//! Resharding operations at the edge.

use super::check::{self, int, text};
use crate::reshard::ShardRef;
use crate::service::Kinesis;
use spate_wire::kinesis::*;
use spate_wire::validate::Validator;
use spate_wire::ApiError;
use std::sync::Arc;

pub async fn split_shard(k: &Arc<Kinesis>, i: SplitShardInput) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.new_starting_hash_key, "newStartingHashKey");
    check::hash_key(&mut v, text(&i.new_starting_hash_key), "newStartingHashKey");
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.required(&i.shard_to_split, "shardToSplit");
    check::shard_id(&mut v, text(&i.shard_to_split), "shardToSplit");
    v.finish()?;
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    let shard = ShardRef::new(text(&i.shard_to_split).unwrap_or_default());
    let key = text(&i.new_starting_hash_key).unwrap_or_default();
    k.resharding.split(&stream, &shard, key).await?;
    Ok(EmptyOutput {})
}

pub async fn merge_shards(k: &Arc<Kinesis>, i: MergeShardsInput) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.shard_to_merge, "shardToMerge");
    check::shard_id(&mut v, text(&i.shard_to_merge), "shardToMerge");
    v.required(&i.adjacent_shard_to_merge, "adjacentShardToMerge");
    check::shard_id(
        &mut v,
        text(&i.adjacent_shard_to_merge),
        "adjacentShardToMerge",
    );
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.finish()?;
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    let a = ShardRef::new(text(&i.shard_to_merge).unwrap_or_default());
    let b = ShardRef::new(text(&i.adjacent_shard_to_merge).unwrap_or_default());
    k.resharding.merge(&stream, &a, &b).await?;
    Ok(EmptyOutput {})
}

pub async fn update_shard_count(
    k: &Arc<Kinesis>,
    i: UpdateShardCountInput,
) -> Result<UpdateShardCountOutput, ApiError> {
    let mut v = Validator::new();
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.required(&i.target_shard_count, "targetShardCount");
    v.range(int(&i.target_shard_count), "targetShardCount", 1, 100_000);
    v.required(&i.scaling_type, "scalingType");
    v.one_of(text(&i.scaling_type), "scalingType", &["UNIFORM_SCALING"]);
    v.finish()?;
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    let target = int(&i.target_shard_count).unwrap_or(1);
    k.resharding.update_shard_count(&stream, target).await
}

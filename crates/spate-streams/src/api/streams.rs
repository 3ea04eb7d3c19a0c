//! Control-plane operations at the edge.

use super::check::{self, int, text};
use crate::errors::invalid;
use crate::model::{ShardFilter, ShardId, StreamArn, StreamName, StreamRef};
use crate::service::Kinesis;
use crate::shards::{ListShards, ListShardsFrom};
use crate::streams::CreateStream;
use spate_catalog::StreamMode;
use spate_wire::kinesis::*;
use spate_wire::validate::Validator;
use spate_wire::ApiError;
use std::sync::Arc;

const STREAM_MODES: [&str; 2] = ["PROVISIONED", "ON_DEMAND"];

pub(crate) fn stream_mode(text: Option<&str>) -> StreamMode {
    match text {
        Some("ON_DEMAND") => StreamMode::OnDemand,
        _ => StreamMode::Provisioned,
    }
}

/// RecordDistributionStrategy values.
pub(crate) const DISTRIBUTION_STRATEGIES: [&str; 2] = ["AUTO", "USER_PARTITION_KEY"];

pub async fn create_stream(
    k: &Arc<Kinesis>,
    i: CreateStreamInput,
) -> Result<EmptyOutput, ApiError> {
    let mode = i.stream_mode_details.as_ref().map(|m| text(&m.stream_mode));
    let mut v = Validator::new();
    v.range(int(&i.shard_count), "shardCount", 1, 100_000);
    v.required(&i.stream_name, "streamName");
    check::stream_name(&mut v, text(&i.stream_name), "streamName");
    if let Some(mode) = mode {
        v.required(&mode, "streamModeDetails.streamMode");
        v.one_of(mode, "streamModeDetails.streamMode", &STREAM_MODES);
    }
    check::tags(&mut v, &i.tags, "tags");
    v.range(
        int(&i.warm_throughput_mi_bps),
        "warmThroughputMiBps",
        0,
        i64::MAX,
    );
    check::max_record_size_kib(&mut v, int(&i.max_record_size_in_ki_b));
    v.one_of(
        text(&i.record_distribution_strategy),
        "recordDistributionStrategy",
        &DISTRIBUTION_STRATEGIES,
    );
    v.finish()?;
    let auto_distribution = text(&i.record_distribution_strategy) == Some("AUTO");
    if auto_distribution && stream_mode(mode.flatten()) != spate_catalog::StreamMode::OnDemand {
        return Err(invalid(
            "The record distribution strategy is only supported for streams that use the on-demand capacity mode.",
        ));
    }
    let name = text(&i.stream_name)
        .and_then(StreamName::parse)
        .ok_or_else(|| invalid("StreamName is required."))?;
    if let Some(tags) = &i.tags {
        let texts = tags.0.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]);
        check::check_tag_texts(texts, "add tags to", name.as_str(), &k.config().account_id)?;
    }
    let request = CreateStream {
        name,
        mode: stream_mode(mode.flatten()),
        shard_count: int(&i.shard_count).and_then(|n| u32::try_from(n).ok()),
        tags: check::tags_of(i.tags),
        max_record_size_kib: int(&i.max_record_size_in_ki_b),
        warm_throughput_mibps: int(&i.warm_throughput_mi_bps),
        auto_distribution,
    };
    k.streams.create(request).await?;
    Ok(EmptyOutput {})
}

pub async fn delete_stream(
    k: &Arc<Kinesis>,
    i: DeleteStreamInput,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.finish()?;
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    let enforce = i.enforce_consumer_deletion.is_some_and(|b| b.0);
    k.streams.delete(&stream, enforce).await?;
    Ok(EmptyOutput {})
}

pub async fn describe_stream(
    k: &Arc<Kinesis>,
    i: DescribeStreamInput,
) -> Result<DescribeStreamOutput, ApiError> {
    let mut v = Validator::new();
    v.range(int(&i.limit), "limit", 1, 10_000);
    check::shard_id(
        &mut v,
        text(&i.exclusive_start_shard_id),
        "exclusiveStartShardId",
    );
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.finish()?;
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    let limit = int(&i.limit).unwrap_or(100) as usize;
    let after = text(&i.exclusive_start_shard_id).and_then(ShardId::resolve);
    k.streams.describe(&stream, limit, after)
}

pub async fn describe_stream_summary(
    k: &Arc<Kinesis>,
    i: StreamOnlyInput,
) -> Result<DescribeStreamSummaryOutput, ApiError> {
    let mut v = Validator::new();
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.finish()?;
    k.streams
        .describe_summary(&check::stream_ref(&i.stream_name, &i.stream_arn)?)
}

pub async fn list_streams(
    k: &Arc<Kinesis>,
    i: ListStreamsInput,
) -> Result<ListStreamsOutput, ApiError> {
    let mut v = Validator::new();
    v.range(int(&i.limit), "limit", 1, 10_000);
    check::stream_name(
        &mut v,
        text(&i.exclusive_start_stream_name),
        "exclusiveStartStreamName",
    );
    v.length(text(&i.next_token), "nextToken", 1, 1_048_576);
    v.finish()?;
    let after = text(&i.exclusive_start_stream_name).and_then(StreamName::parse);
    let limit = int(&i.limit).unwrap_or(100) as usize;
    k.streams.list(limit, after.as_ref(), text(&i.next_token))
}

const SHARD_FILTERS: [&str; 6] = [
    "AFTER_SHARD_ID",
    "AT_TRIM_HORIZON",
    "FROM_TRIM_HORIZON",
    "AT_LATEST",
    "AT_TIMESTAMP",
    "FROM_TIMESTAMP",
];

pub async fn list_shards(
    k: &Arc<Kinesis>,
    i: ListShardsInput,
) -> Result<ListShardsOutput, ApiError> {
    let filter = i.shard_filter.as_ref().map(|f| &f.0);
    let filter_type = filter.and_then(|f| text(&f.filter_type));
    let mut v = Validator::new();
    check::shard_id(
        &mut v,
        text(&i.exclusive_start_shard_id),
        "exclusiveStartShardId",
    );
    v.range(int(&i.max_results), "maxResults", 1, 10_000);
    v.length(text(&i.next_token), "nextToken", 1, 1_048_576);
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    if let Some(f) = filter {
        v.required(&f.filter_type, "shardFilter.type");
        v.one_of(filter_type, "shardFilter.type", &SHARD_FILTERS);
        check::shard_id(&mut v, text(&f.shard_id), "shardFilter.shardId");
    }
    v.finish()?;
    let from = match (
        text(&i.next_token),
        i.stream_name.is_some() || i.stream_arn.is_some(),
    ) {
        (Some(_), true) => {
            return Err(invalid(
                "NextToken and StreamName cannot be provided together.",
            ))
        }
        (Some(token), false) => ListShardsFrom::Token(token.to_string()),
        (None, false) => {
            return Err(invalid(
                "Either NextToken or StreamName should be provided.",
            ))
        }
        (None, true) => ListShardsFrom::Stream {
            stream: check::stream_ref(&i.stream_name, &i.stream_arn)?,
            exclusive_start: text(&i.exclusive_start_shard_id).and_then(ShardId::resolve),
            created_ms: i.stream_creation_timestamp.map(|t| t.epoch_millis),
        },
    };
    let filter = match filter {
        Some(f) => Some(shard_filter(
            filter_type,
            text(&f.shard_id),
            f.timestamp.map(|t| t.epoch_millis),
        )?),
        None => None,
    };
    k.streams.list_shards(ListShards {
        from,
        max_results: int(&i.max_results).unwrap_or(1000) as usize,
        filter,
    })
}

fn shard_filter(
    kind: Option<&str>,
    shard_id: Option<&str>,
    at: Option<i64>,
) -> Result<ShardFilter, ApiError> {
    let timestamp = || {
        at.ok_or_else(|| {
            invalid("Timestamp must be specified for the AT_TIMESTAMP and FROM_TIMESTAMP shard filter types.")
        })
    };
    Ok(match kind.unwrap_or_default() {
        "AFTER_SHARD_ID" => {
            let id = shard_id.ok_or_else(|| {
                invalid("ShardId must be specified for the AFTER_SHARD_ID shard filter type.")
            })?;
            ShardFilter::AfterShardId(ShardId::resolve(id).unwrap_or(ShardId(0)))
        }
        "AT_TRIM_HORIZON" => ShardFilter::AtTrimHorizon,
        "FROM_TRIM_HORIZON" => ShardFilter::FromTrimHorizon,
        "AT_LATEST" => ShardFilter::AtLatest,
        "AT_TIMESTAMP" => ShardFilter::AtTimestamp(timestamp()?),
        _ => ShardFilter::FromTimestamp(timestamp()?),
    })
}

pub async fn change_retention(
    k: &Arc<Kinesis>,
    i: RetentionInput,
    increase: bool,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    // Today's model puts no bounds on the member; the service answers out-of-range hours.
    v.required(&i.retention_period_hours, "retentionPeriodHours");
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.finish()?;
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    let hours = int(&i.retention_period_hours).unwrap_or_default();
    k.streams.change_retention(&stream, hours, increase).await?;
    Ok(EmptyOutput {})
}

pub async fn add_tags_to_stream(
    k: &Arc<Kinesis>,
    i: AddTagsToStreamInput,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.tags, "tags");
    check::tags(&mut v, &i.tags, "tags");
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.finish()?;
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    add_tags(k, &stream, i.tags).await
}

/// Tags are checked against AWS's character set after the stream is found, as AWS does.
async fn add_tags(
    k: &Arc<Kinesis>,
    stream: &StreamRef,
    tags: Option<spate_wire::Map<spate_wire::Str>>,
) -> Result<EmptyOutput, ApiError> {
    let found = k.store.resolve(stream)?;
    if let Some(tags) = &tags {
        let texts = tags.0.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]);
        check::check_tag_texts(
            texts,
            "add tags to",
            &found.record.name,
            &k.config().account_id,
        )?;
    }
    k.streams.add_tags(stream, check::tags_of(tags)).await?;
    Ok(EmptyOutput {})
}

pub async fn remove_tags_from_stream(
    k: &Arc<Kinesis>,
    i: RemoveTagsFromStreamInput,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.tag_keys, "tagKeys");
    check::tag_keys(&mut v, &i.tag_keys, "tagKeys");
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.finish()?;
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    remove_tags(k, &stream, check::keys_of(i.tag_keys)).await
}

async fn remove_tags(
    k: &Arc<Kinesis>,
    stream: &StreamRef,
    keys: Vec<String>,
) -> Result<EmptyOutput, ApiError> {
    let found = k.store.resolve(stream)?;
    let texts = keys.iter().map(String::as_str);
    check::check_tag_texts(
        texts,
        "remove tags from",
        &found.record.name,
        &k.config().account_id,
    )?;
    k.streams.remove_tags(stream, &keys).await?;
    Ok(EmptyOutput {})
}

pub async fn list_tags_for_stream(
    k: &Arc<Kinesis>,
    i: ListTagsForStreamInput,
) -> Result<ListTagsForStreamOutput, ApiError> {
    let mut v = Validator::new();
    v.range(int(&i.limit), "limit", 1, 50);
    v.length(
        text(&i.exclusive_start_tag_key),
        "exclusiveStartTagKey",
        1,
        128,
    );
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.finish()?;
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    let limit = int(&i.limit).unwrap_or(50) as usize;
    k.streams
        .list_tags(&stream, text(&i.exclusive_start_tag_key), limit)
}

/// The stream a ResourceARN names (tags and policies of stream ARNs).
fn resource_stream(arn: &Option<spate_wire::Str>) -> Result<StreamRef, ApiError> {
    let arn = text(arn).unwrap_or_default();
    StreamArn::parse(arn)
        .map(StreamRef::Arn)
        .ok_or_else(|| invalid(format!("Invalid ARN: {arn}")))
}

pub async fn tag_resource(k: &Arc<Kinesis>, i: TagResourceInput) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.resource_arn, "resourceARN");
    check::resource_arn(&mut v, text(&i.resource_arn));
    v.required(&i.tags, "tags");
    check::tags(&mut v, &i.tags, "tags");
    v.finish()?;
    add_tags(k, &resource_stream(&i.resource_arn)?, i.tags).await
}

pub async fn untag_resource(
    k: &Arc<Kinesis>,
    i: UntagResourceInput,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.resource_arn, "resourceARN");
    check::resource_arn(&mut v, text(&i.resource_arn));
    v.required(&i.tag_keys, "tagKeys");
    check::tag_keys(&mut v, &i.tag_keys, "tagKeys");
    v.finish()?;
    remove_tags(
        k,
        &resource_stream(&i.resource_arn)?,
        check::keys_of(i.tag_keys),
    )
    .await
}

pub async fn list_tags_for_resource(
    k: &Arc<Kinesis>,
    i: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.resource_arn, "resourceARN");
    check::resource_arn(&mut v, text(&i.resource_arn));
    v.finish()?;
    k.streams
        .list_resource_tags(&resource_stream(&i.resource_arn)?)
}

pub async fn describe_limits(
    k: &Arc<Kinesis>,
    _: EmptyInput,
) -> Result<DescribeLimitsOutput, ApiError> {
    Ok(k.streams.limits())
}

pub async fn describe_account_settings(
    k: &Arc<Kinesis>,
    _: EmptyInput,
) -> Result<AccountSettingsOutput, ApiError> {
    Ok(k.streams.account_settings())
}

pub async fn update_account_settings(
    k: &Arc<Kinesis>,
    i: UpdateAccountSettingsInput,
) -> Result<AccountSettingsOutput, ApiError> {
    let commitment = i
        .minimum_throughput_billing_commitment
        .as_ref()
        .map(|c| &c.0);
    let status = commitment.and_then(|c| text(&c.status));
    let mut v = Validator::new();
    v.required(
        &i.minimum_throughput_billing_commitment,
        "minimumThroughputBillingCommitment",
    );
    if let Some(c) = commitment {
        v.required(&c.status, "minimumThroughputBillingCommitment.status");
    }
    v.one_of(
        status,
        "minimumThroughputBillingCommitment.status",
        &["ENABLED", "DISABLED"],
    );
    v.finish()?;
    k.streams
        .update_account_settings(status == Some("ENABLED"))
        .await
}

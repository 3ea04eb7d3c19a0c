//! The Kinesis Data Streams routing table: operation name -> decode, call, encode.

use crate::http::{error, respond};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use spate_streams::Kinesis;
use spate_wire::codec::{decode, encode, Encoding};
use spate_wire::{ApiError, ErrorKind};
use std::future::{ready, Future};
use std::sync::Arc;

/// Decodes the request shape, runs the operation, encodes its result or error.
async fn run<I, O, F, Fut>(encoding: Encoding, body: &[u8], op: F) -> Response<Full<Bytes>>
where
    I: DeserializeOwned,
    O: Serialize,
    F: FnOnce(I) -> Fut,
    Fut: Future<Output = Result<O, ApiError>>,
{
    let input = match decode::<I>(encoding, body) {
        Ok(input) => input,
        Err(e) => return error(encoding, &e),
    };
    match op(input).await {
        Ok(output) => respond(encoding, StatusCode::OK, encode(encoding, &output)),
        Err(e) => error(encoding, &e),
    }
}

/// Spate's own operations (`spate_wire::admin`).
pub async fn dispatch_admin(
    k: &Arc<Kinesis>,
    operation: &str,
    enc: Encoding,
    body: &[u8],
) -> Response<Full<Bytes>> {
    match operation {
        "DescribeShardTraffic" => run(enc, body, |i| ready(k.describe_shard_traffic(i))).await,
        _ => error(
            enc,
            &ApiError::new(
                ErrorKind::UnknownOperation,
                format!("Operation {operation} is not supported."),
            ),
        ),
    }
}

pub async fn dispatch(
    k: &Arc<Kinesis>,
    operation: &str,
    enc: Encoding,
    body: &[u8],
) -> Response<Full<Bytes>> {
    match operation {
        "PutRecord" => run(enc, body, |i| k.put_record(i)).await,
        "PutRecords" => run(enc, body, |i| k.put_records(i)).await,
        "GetRecords" => match decode(enc, body).and_then(|i| k.get_records(i)) {
            Ok(page) => respond(enc, StatusCode::OK, encode(enc, &page.output())),
            Err(e) => error(enc, &e),
        },
        "GetShardIterator" => run(enc, body, |i| ready(k.get_shard_iterator(i))).await,
        "CreateStream" => run(enc, body, |i| k.create_stream(i)).await,
        "DeleteStream" => run(enc, body, |i| k.delete_stream(i)).await,
        "DescribeStream" => run(enc, body, |i| ready(k.describe_stream(i))).await,
        "DescribeStreamSummary" => run(enc, body, |i| ready(k.describe_stream_summary(i))).await,
        "ListStreams" => run(enc, body, |i| ready(k.list_streams(i))).await,
        "ListShards" => run(enc, body, |i| ready(k.list_shards(i))).await,
        "IncreaseStreamRetentionPeriod" => run(enc, body, |i| k.increase_retention(i)).await,
        "DecreaseStreamRetentionPeriod" => run(enc, body, |i| k.decrease_retention(i)).await,
        "AddTagsToStream" => run(enc, body, |i| k.add_tags_to_stream(i)).await,
        "RemoveTagsFromStream" => run(enc, body, |i| k.remove_tags_from_stream(i)).await,
        "ListTagsForStream" => run(enc, body, |i| ready(k.list_tags_for_stream(i))).await,
        "TagResource" => run(enc, body, |i| k.tag_resource(i)).await,
        "UntagResource" => run(enc, body, |i| k.untag_resource(i)).await,
        "ListTagsForResource" => run(enc, body, |i| ready(k.list_tags_for_resource(i))).await,
        "DescribeLimits" => run(enc, body, |i| ready(k.describe_limits(i))).await,
        "DescribeAccountSettings" => {
            run(enc, body, |i| ready(k.describe_account_settings(i))).await
        }
        "UpdateAccountSettings" => run(enc, body, |i| k.update_account_settings(i)).await,
        "RegisterStreamConsumer" => run(enc, body, |i| k.register_stream_consumer(i)).await,
        "DeregisterStreamConsumer" => run(enc, body, |i| k.deregister_stream_consumer(i)).await,
        "DescribeStreamConsumer" => run(enc, body, |i| ready(k.describe_stream_consumer(i))).await,
        "ListStreamConsumers" => run(enc, body, |i| ready(k.list_stream_consumers(i))).await,
        "SplitShard" => run(enc, body, |i| k.split_shard(i)).await,
        "MergeShards" => run(enc, body, |i| k.merge_shards(i)).await,
        "UpdateShardCount" => run(enc, body, |i| k.update_shard_count(i)).await,
        "UpdateStreamMode" => run(enc, body, |i| k.update_stream_mode(i)).await,
        "UpdateStreamWarmThroughput" => {
            run(enc, body, |i| k.update_stream_warm_throughput(i)).await
        }
        "UpdateMaxRecordSize" => run(enc, body, |i| k.update_max_record_size(i)).await,
        "EnableEnhancedMonitoring" => run(enc, body, |i| k.enable_enhanced_monitoring(i)).await,
        "DisableEnhancedMonitoring" => run(enc, body, |i| k.disable_enhanced_monitoring(i)).await,
        "StartStreamEncryption" => run(enc, body, |i| k.start_stream_encryption(i)).await,
        "StopStreamEncryption" => run(enc, body, |i| k.stop_stream_encryption(i)).await,
        "PutResourcePolicy" => run(enc, body, |i| k.put_resource_policy(i)).await,
        "GetResourcePolicy" => run(enc, body, |i| ready(k.get_resource_policy(i))).await,
        "DeleteResourcePolicy" => run(enc, body, |i| k.delete_resource_policy(i)).await,
        _ => error(
            enc,
            &ApiError::new(
                ErrorKind::UnknownOperation,
                format!("Operation {operation} is not supported."),
            ),
        ),
    }
}

//! Spate's own operations (not part of any AWS API), served on the same endpoint under the
//! `X-Amz-Target` prefix [`TARGET_PREFIX`], signed like Kinesis calls. Used by `spate stream`.

use serde::{Deserialize, Serialize};

pub const TARGET_PREFIX: &str = "SpateAdmin_20261126.";

/// `DescribeShardTraffic` output: what each open shard sees now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ShardTrafficOutput {
    pub stream_name: String,
    /// Per-shard write limits the load figures are relative to.
    pub write_bytes_limit_per_second: f64,
    pub write_records_limit_per_second: f64,
    pub shards: Vec<ShardTraffic>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct ShardTraffic {
    pub shard_id: String,
    pub starting_hash_key: String,
    pub ending_hash_key: String,
    /// Averages over the last few seconds.
    pub incoming_bytes_per_second: f64,
    pub incoming_records_per_second: f64,
    pub outgoing_bytes_per_second: f64,
    pub write_throttled_per_second: f64,
    pub read_throttled_per_second: f64,
    /// The larger of bytes and records as a fraction of the shard's write limit.
    pub write_load: f64,
    /// The hash key that would split the observed write traffic in halves (absent when all
    /// traffic comes from one narrow hash range, which a split cannot spread).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub halving_hash_key: Option<String>,
}

/// `SpateAdmin_20261126.DescribeDeliveryProgress`: what a Firehose delivery stream's worker
/// has buffered and delivered since the server started.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryProgressOutput {
    pub buffered_records: u64,
    pub buffered_bytes: u64,
    pub delivered_objects: u64,
    pub delivered_records: u64,
    /// Bytes of record data delivered, before compression.
    pub delivered_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

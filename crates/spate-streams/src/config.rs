//! Service settings (the CLI fills these from flags, `SPATE_*` variables and a TOML file).

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub region: String,
    pub account_id: String,
    /// How long a new stream (or consumer) shows CREATING.
    pub creating_delay_ms: u64,
    /// How long a deleted stream shows DELETING before it is gone.
    pub deleting_delay_ms: u64,
    /// How long a stream shows UPDATING after a change.
    pub updating_delay_ms: u64,
    /// Open shards allowed across all streams of the account.
    pub shard_limit: u32,
    /// Shards of a new ON_DEMAND stream.
    pub on_demand_shard_count: u32,
    pub on_demand_stream_limit: u32,
    /// Shard iterators and pagination tokens expire after this long.
    pub iterator_ttl_ms: i64,
    /// UpdateShardCount calls allowed per stream in a rolling 24 hours (AWS: 10).
    pub resize_calls_per_day: u32,
    /// Throttle each shard to AWS's per-shard limits (off by default: local development and
    /// benchmarks want the server's full speed; turn on to exercise clients' retry paths).
    pub enforce_shard_limits: bool,
    pub shard_limits: crate::traffic::ShardLimits,
    /// Enhanced fan-out consumers allowed per stream (AWS: 20).
    pub consumer_limit: u32,
    /// A SubscribeToShard stream ends after this long (AWS: 5 minutes).
    pub subscription_lifetime_ms: u64,
    /// An idle subscription gets an empty event this often.
    pub subscription_heartbeat_ms: u64,
    /// Observed shard rates are moving averages over about this long.
    pub rate_window_ms: u64,
    pub autoscale: AutoscaleConfig,
}

/// How ON_DEMAND streams scale themselves (see `autoscale`).
#[derive(Debug, Clone)]
pub struct AutoscaleConfig {
    /// How often the scaler looks at the shards.
    pub interval_ms: u64,
    /// Split a shard whose write load (fraction of its limit) reaches this.
    pub split_above: f64,
    /// Merge two adjacent shards whose write loads together stay below this.
    pub merge_below: f64,
    /// Wait at least this long after any change of a stream before splitting again.
    pub up_cooldown_ms: u64,
    /// Wait at least this long after any change of a stream before merging.
    pub down_cooldown_ms: u64,
    /// Never scale an ON_DEMAND stream past this many open shards.
    pub max_shards: u32,
}

impl Default for AutoscaleConfig {
    fn default() -> Self {
        AutoscaleConfig {
            interval_ms: 1_000,
            split_above: 0.8,
            merge_below: 0.25,
            up_cooldown_ms: 15_000,
            down_cooldown_ms: 300_000,
            max_shards: 256,
        }
    }
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            creating_delay_ms: 500,
            deleting_delay_ms: 500,
            updating_delay_ms: 500,
            shard_limit: 1000,
            on_demand_shard_count: 4,
            on_demand_stream_limit: 50,
            iterator_ttl_ms: 300_000,
            resize_calls_per_day: 10,
            enforce_shard_limits: false,
            shard_limits: crate::traffic::ShardLimits::default(),
            consumer_limit: 20,
            subscription_lifetime_ms: 300_000,
            subscription_heartbeat_ms: 5_000,
            rate_window_ms: crate::traffic::DEFAULT_RATE_WINDOW_MS,
            autoscale: AutoscaleConfig::default(),
        }
    }
}

/// Upper bounds that AWS fixes.
pub mod limits {
    pub const MAX_RECORDS_PER_PUT: usize = 500;
    pub const MAX_PUT_RECORDS_BYTES: usize = 5 * 1024 * 1024;
    pub const MAX_GET_RECORDS: i64 = 10_000;
    pub const MAX_GET_RECORDS_BYTES: usize = 10 * 1024 * 1024;
    pub const MIN_RETENTION_HOURS: i64 = 24;
    pub const MAX_RETENTION_HOURS: i64 = 8760;
    pub const DEFAULT_RETENTION_HOURS: i64 = 24;
    pub const DEFAULT_MAX_RECORD_SIZE_KIB: i64 = 1024;
    pub const MAX_TAGS_PER_STREAM: usize = 50;
    pub const PARTITION_KEY_MAX_CHARS: usize = 256;
}

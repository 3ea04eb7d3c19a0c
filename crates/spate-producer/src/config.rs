//! The producer's settings, named after the KPL's (defaults are the KPL's where it has one).

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ProducerConfig {
    pub stream_name: String,
    /// Aggregate user records into KPL records (`AggregationEnabled`).
    pub aggregation: bool,
    /// Largest aggregated record, in bytes (`AggregationMaxSize`, 51,200).
    pub aggregation_max_bytes: usize,
    /// Most user records in one aggregate (`AggregationMaxCount`).
    pub aggregation_max_count: usize,
    /// Most Kinesis records in one PutRecords call (`CollectionMaxCount`, 500).
    pub collection_max_count: usize,
    /// Most bytes in one PutRecords call (`CollectionMaxSize`, 5 MiB).
    pub collection_max_bytes: usize,
    /// How long a user record may wait to be aggregated and collected (`RecordMaxBufferedTime`).
    pub record_max_buffered_time: Duration,
    /// How long a user record may take to be accepted, retries included (`RecordTtl`).
    pub record_ttl: Duration,
    /// Per-shard rate, as a percentage of the shard's 1,000 records/s and 1 MiB/s (`RateLimit`).
    pub rate_limit_percent: u32,
    /// User record bytes buffered or in flight before `send` waits (backpressure).
    pub max_buffered_bytes: usize,
    /// PutRecords calls in flight at once (`MaxConnections`, 24).
    pub max_in_flight_requests: usize,
    /// First wait before a failed entry is sent again; doubles per attempt up to `retry_max`.
    pub retry_initial: Duration,
    pub retry_max: Duration,
}

impl ProducerConfig {
    pub fn new(stream_name: impl Into<String>) -> ProducerConfig {
        ProducerConfig {
            stream_name: stream_name.into(),
            aggregation: true,
            aggregation_max_bytes: 51_200,
            aggregation_max_count: usize::MAX,
            collection_max_count: 500,
            collection_max_bytes: 5 << 20,
            record_max_buffered_time: Duration::from_millis(100),
            record_ttl: Duration::from_secs(30),
            rate_limit_percent: 150,
            max_buffered_bytes: 256 << 20,
            max_in_flight_requests: 24,
            retry_initial: Duration::from_millis(100),
            retry_max: Duration::from_secs(5),
        }
    }
}

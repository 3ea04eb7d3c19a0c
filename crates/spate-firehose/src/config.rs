//! Service settings.

/// How the Firehose service behaves; the defaults are AWS's.
#[derive(Debug, Clone)]
pub struct FirehoseConfig {
    pub region: String,
    pub account_id: String,
    /// How long a new delivery stream stays CREATING.
    pub creating_delay_ms: u64,
    /// How long a deleted delivery stream stays DELETING.
    pub deleting_delay_ms: u64,
    /// How long Start/StopDeliveryStreamEncryption show ENABLING/DISABLING.
    pub updating_delay_ms: u64,
    /// Delivery streams per account (AWS: 5,000 per region).
    pub delivery_stream_limit: usize,
    /// First wait before retrying a failed delivery, in milliseconds (doubles per attempt).
    pub retry_initial_ms: u64,
    /// Longest wait between delivery attempts to S3, in milliseconds.
    pub retry_max_ms: u64,
    /// Accept `http://` endpoint URLs (AWS takes `https://` only); for test receivers and
    /// endpoints on a trusted network.
    pub allow_http_endpoints: bool,
    /// Enforce AWS's Direct PUT quotas per delivery stream (see `limits.rs`).
    pub enforce_limits: bool,
    /// The authorities HTTP endpoint destinations are verified against.
    pub trust: spate_outbound::Trust,
}

impl Default for FirehoseConfig {
    fn default() -> Self {
        FirehoseConfig {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            creating_delay_ms: 500,
            deleting_delay_ms: 500,
            updating_delay_ms: 500,
            delivery_stream_limit: 5000,
            retry_initial_ms: 1000,
            retry_max_ms: 60_000,
            allow_http_endpoints: false,
            enforce_limits: false,
            trust: spate_outbound::Trust::system(),
        }
    }
}

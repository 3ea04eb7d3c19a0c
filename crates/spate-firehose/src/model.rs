//! Delivery streams as Spate keeps them: validated domain values, persisted in the catalog as
//! versioned JSON documents (members added later carry `#[serde(default)]`).

use crate::delivery::prefix::Prefixes;
use serde::{Deserialize, Serialize};
use spate_catalog::Lifecycle;
use std::collections::BTreeMap;

/// Version of the persisted delivery-stream document; read back across upgrades.
pub const FORMAT_VERSION: u32 = 1;

/// A delivery stream name: 1 to 64 of `[a-zA-Z0-9_.-]`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliveryStreamName(String);

impl DeliveryStreamName {
    pub fn parse(text: &str) -> Option<DeliveryStreamName> {
        let ok = (1..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        ok.then(|| DeliveryStreamName(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DeliveryStreamName {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Compression {
    #[default]
    Uncompressed,
    Gzip,
    Zip,
    Snappy,
    HadoopSnappy,
}

impl Compression {
    /// The model's enum, in its order.
    pub const WIRE: [&'static str; 5] = ["UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"];
    const ALL: [Compression; 5] = [
        Compression::Uncompressed,
        Compression::Gzip,
        Compression::Zip,
        Compression::Snappy,
        Compression::HadoopSnappy,
    ];

    pub fn parse(text: &str) -> Option<Compression> {
        let at = Self::WIRE.iter().position(|w| *w == text)?;
        Some(Self::ALL[at])
    }

    pub fn wire(self) -> &'static str {
        Self::WIRE[self as usize]
    }

    /// The extension Firehose gives objects of this format. HADOOP_SNAPPY objects get
    /// `.snappy` as observed on AWS (its guide says `.hsnappy`).
    pub fn extension(self) -> &'static str {
        match self {
            Compression::Uncompressed => "",
            Compression::Gzip => ".gz",
            Compression::Zip => ".zip",
            Compression::Snappy | Compression::HadoopSnappy => ".snappy",
        }
    }
}

/// BufferingHints: deliver when this much has arrived or the oldest buffered record is this old.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buffering {
    pub size_mb: i64,
    pub interval_secs: i64,
}

impl Default for Buffering {
    /// AWS's defaults for S3 destinations: 5 MB or 300 seconds.
    fn default() -> Self {
        Buffering {
            size_mb: 5,
            interval_secs: 300,
        }
    }
}

impl Buffering {
    pub fn size_bytes(&self) -> usize {
        usize::try_from(self.size_mb.max(1)).unwrap_or(1) << 20
    }

    pub fn interval_ms(&self) -> u64 {
        u64::try_from(self.interval_secs.max(0)).unwrap_or(0) * 1000
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudWatchLogging {
    pub enabled: bool,
    pub log_group_name: Option<String>,
    pub log_stream_name: Option<String>,
}

/// A ProcessingConfiguration, kept to be shown back; only a disabled one is accepted until
/// record transformation is delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Processing {
    pub enabled: bool,
    /// (type, [(parameter name, value)]).
    pub processors: Vec<(String, Vec<(String, String)>)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DynamicPartitioning {
    pub enabled: bool,
    pub retry_duration_secs: Option<i64>,
}

/// An S3 destination (ExtendedS3, or plain S3, which is its subset).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Destination {
    pub role_arn: String,
    pub bucket_arn: String,
    pub prefix: Option<String>,
    pub error_output_prefix: Option<String>,
    pub buffering: Buffering,
    pub compression: Compression,
    /// KMSEncryptionConfig's key; `None` is NoEncryption.
    pub kms_key_arn: Option<String>,
    pub logging: CloudWatchLogging,
    pub processing: Option<Processing>,
    /// S3BackupMode `Enabled` (ExtendedS3 only).
    pub backup_enabled: bool,
    pub backup: Option<Box<S3Destination>>,
    pub dynamic_partitioning: Option<DynamicPartitioning>,
    /// DataFormatConversionConfiguration's `Enabled` (true unless given false), and its other
    /// members as given.
    pub format_conversion_enabled: Option<bool>,
    #[serde(default)]
    pub format_conversion: Option<crate::convert::model::FormatConversion>,
    pub file_extension: Option<String>,
    pub custom_time_zone: Option<String>,
}

impl S3Destination {
    /// The bucket name: what follows `:::` in the bucket ARN.
    pub fn bucket(&self) -> &str {
        self.bucket_arn
            .split_once(":::")
            .map_or(self.bucket_arn.as_str(), |(_, b)| b)
    }

    /// The prefixes, checked when the destination was accepted.
    /// DynamicPartitioningConfiguration is enabled.
    pub fn partitions_dynamically(&self) -> bool {
        self.dynamic_partitioning
            .as_ref()
            .is_some_and(|p| p.enabled)
    }

    pub fn prefixes(&self) -> Result<Prefixes, String> {
        Prefixes::new(
            self.prefix.as_deref(),
            self.error_output_prefix.as_deref(),
            self.partitions_dynamically(),
        )
    }

    /// The time zone of prefixes and object names (UTC unless CustomTimeZone names one).
    pub fn time_zone(&self) -> Result<jiff::tz::TimeZone, String> {
        match self.custom_time_zone.as_deref().filter(|z| !z.is_empty()) {
            None => Ok(jiff::tz::TimeZone::UTC),
            Some(zone) => jiff::tz::TimeZone::get(zone)
                .map_err(|_| format!("CustomTimeZone {zone} is not a supported time zone.")),
        }
    }

    /// The extension of delivered objects: FileExtension if given, else the format's
    /// (`.parquet` for converted records).
    pub fn extension(&self) -> &str {
        match self.file_extension.as_deref() {
            Some(ext) if !ext.is_empty() => ext,
            _ if self.converts() => ".parquet",
            _ => self.compression.extension(),
        }
    }

    /// Record format conversion is configured and enabled.
    pub fn converts(&self) -> bool {
        self.format_conversion_enabled == Some(true) && self.format_conversion.is_some()
    }
}

/// An HTTP endpoint destination: records are POSTed in Firehose's request format; batches that
/// fail for longer than the retry duration (or are refused with 413) go to `s3` under the error
/// prefix; with `backup_all` every record is also written there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpDestination {
    pub url: String,
    pub name: Option<String>,
    pub access_key: Option<String>,
    pub buffering: Buffering,
    pub logging: CloudWatchLogging,
    pub gzip: bool,
    pub common_attributes: Vec<(String, String)>,
    pub processing: Option<Processing>,
    pub role_arn: Option<String>,
    pub retry_duration_secs: i64,
    pub backup_all: bool,
    pub s3: S3Destination,
    pub secrets_manager_enabled: Option<bool>,
}

impl HttpDestination {
    /// AWS's default RetryOptions.DurationInSeconds for HTTP endpoints.
    pub const DEFAULT_RETRY_SECS: i64 = 300;
}

// One destination per delivery stream, held once in its record: the variants' sizes do not
// matter, and the S3 variant is the common one.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Destination {
    /// Created with ExtendedS3DestinationConfiguration (`extended`) or S3DestinationConfiguration.
    S3 {
        extended: bool,
        config: S3Destination,
    },
    Http(HttpDestination),
    OpenSearch(OpenSearchDestination),
    Splunk(SplunkDestination),
    Redshift(crate::redshift::RedshiftDestination),
}

/// `HECEndpointType`: which HEC endpoint the events go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HecEndpointType {
    /// `/services/collector/raw`: the records are the event text.
    Raw,
    /// `/services/collector/event`: each record is a HEC event object (`{"event": ...}`).
    Event,
}

impl HecEndpointType {
    pub fn parse(text: &str) -> Option<HecEndpointType> {
        match text {
            "Raw" => Some(HecEndpointType::Raw),
            "Event" => Some(HecEndpointType::Event),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HecEndpointType::Raw => "Raw",
            HecEndpointType::Event => "Event",
        }
    }
}

/// A Splunk destination: each buffer POSTed to the HTTP Event Collector at `endpoint` and
/// delivered once the indexers acknowledge it; events that are not acknowledged within the
/// retry duration (and with `backup_all` every record) are written to `s3`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplunkDestination {
    pub endpoint: String,
    pub endpoint_type: HecEndpointType,
    pub token: Option<String>,
    pub ack_timeout_secs: i64,
    pub retry_duration_secs: i64,
    pub buffering: Buffering,
    pub backup_all: bool,
    pub s3: S3Destination,
    pub processing: Option<Processing>,
    pub logging: CloudWatchLogging,
    pub secrets_manager_enabled: Option<bool>,
}

impl SplunkDestination {
    /// AWS's defaults: acknowledgement timeout 180 s, retries for 3600 s, buffering 5 MB or
    /// 60 s.
    pub const DEFAULT_ACK_TIMEOUT_SECS: i64 = 180;
    pub const DEFAULT_RETRY_SECS: i64 = 3600;
    pub const DEFAULT_BUFFERING: Buffering = Buffering {
        size_mb: 5,
        interval_secs: 60,
    };
}

/// How an index name changes with time (`IndexRotationPeriod`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rotation {
    NoRotation,
    OneHour,
    OneDay,
    OneWeek,
    OneMonth,
}

impl Rotation {
    pub fn parse(text: &str) -> Option<Rotation> {
        Some(match text {
            "NoRotation" => Rotation::NoRotation,
            "OneHour" => Rotation::OneHour,
            "OneDay" => Rotation::OneDay,
            "OneWeek" => Rotation::OneWeek,
            "OneMonth" => Rotation::OneMonth,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Rotation::NoRotation => "NoRotation",
            Rotation::OneHour => "OneHour",
            Rotation::OneDay => "OneDay",
            Rotation::OneWeek => "OneWeek",
            Rotation::OneMonth => "OneMonth",
        }
    }
}

/// Which of the three search services of the model a bulk destination was configured as: they
/// share the `_bulk` delivery and differ in their shapes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SearchService {
    /// `AmazonopensearchserviceDestinationConfiguration`.
    #[default]
    OpenSearch,
    /// `ElasticsearchDestinationConfiguration`: the same members.
    Elasticsearch,
    /// `AmazonOpenSearchServerlessDestinationConfiguration`: a CollectionEndpoint, no index
    /// rotation, type name or document ids.
    Serverless,
}

impl SearchService {
    /// The name AWS gives the service in its documentation.
    pub fn name(self) -> &'static str {
        match self {
            SearchService::OpenSearch => "Amazon OpenSearch Service",
            SearchService::Elasticsearch => "Elasticsearch",
            SearchService::Serverless => "Amazon OpenSearch Serverless",
        }
    }
}

/// A search destination (OpenSearch Service, Elasticsearch or OpenSearch Serverless):
/// documents indexed with `_bulk` at `cluster_endpoint` (a Serverless CollectionEndpoint),
/// failed ones (and with `backup_all` every record) written to `s3`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenSearchDestination {
    #[serde(default)]
    pub service: SearchService,
    pub cluster_endpoint: Option<String>,
    pub domain_arn: Option<String>,
    pub index_name: String,
    pub type_name: Option<String>,
    pub rotation: Rotation,
    pub buffering: Buffering,
    pub retry_duration_secs: i64,
    pub backup_all: bool,
    pub s3: S3Destination,
    pub processing: Option<Processing>,
    pub logging: CloudWatchLogging,
    pub role_arn: Option<String>,
    /// `DocumentIdOptions`: Firehose's own stable id per record (`FIREHOSE_DEFAULT`), or none
    /// (`NO_DOCUMENT_ID`: the cluster makes one, so a retried document may be indexed twice).
    pub firehose_document_ids: bool,
}

impl OpenSearchDestination {
    /// AWS's defaults: RetryOptions 300 s; buffering 5 MB or 300 s.
    pub const DEFAULT_RETRY_SECS: i64 = 300;
}

impl Destination {
    pub fn buffering(&self) -> Buffering {
        match self {
            Destination::S3 { config, .. } => config.buffering,
            Destination::Http(http) => http.buffering,
            Destination::OpenSearch(os) => os.buffering,
            Destination::Splunk(splunk) => splunk.buffering,
            Destination::Redshift(r) => r.s3.buffering,
        }
    }

    /// The S3 bucket the destination writes to (the backup bucket of an HTTP endpoint).
    pub fn bucket_destination(&self) -> &S3Destination {
        match self {
            Destination::S3 { config, .. } => config,
            Destination::Http(http) => &http.s3,
            Destination::OpenSearch(os) => &os.s3,
            Destination::Splunk(splunk) => &splunk.s3,
            Destination::Redshift(r) => &r.s3,
        }
    }

    /// Where deliveries go, for failure messages.
    pub fn describe(&self) -> String {
        match self {
            Destination::S3 { config, .. } => format!("bucket {}", config.bucket()),
            Destination::Http(http) => format!("HTTP endpoint {}", http.url),
            Destination::OpenSearch(os) => format!(
                "{} endpoint {}",
                os.service.name(),
                os.cluster_endpoint.as_deref().unwrap_or_default()
            ),
            Destination::Splunk(splunk) => format!("Splunk HEC {}", splunk.endpoint),
            Destination::Redshift(r) => format!("Redshift table {} at {}", r.table, r.jdbc_url),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    DirectPut {
        throughput_hint_mb: Option<i64>,
    },
    KinesisStream {
        stream_arn: String,
        role_arn: String,
        start_ms: i64,
    },
}

impl Source {
    pub fn type_name(&self) -> &'static str {
        match self {
            Source::DirectPut { .. } => "DirectPut",
            Source::KinesisStream { .. } => "KinesisStreamAsSource",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyType {
    AwsOwned,
    CustomerManaged,
}

impl KeyType {
    pub const WIRE: [&'static str; 2] = ["AWS_OWNED_CMK", "CUSTOMER_MANAGED_CMK"];

    pub fn parse(text: &str) -> Option<KeyType> {
        match text {
            "AWS_OWNED_CMK" => Some(KeyType::AwsOwned),
            "CUSTOMER_MANAGED_CMK" => Some(KeyType::CustomerManaged),
            _ => None,
        }
    }

    pub fn wire(self) -> &'static str {
        match self {
            KeyType::AwsOwned => "AWS_OWNED_CMK",
            KeyType::CustomerManaged => "CUSTOMER_MANAGED_CMK",
        }
    }
}

/// Server-side encryption of a DirectPut stream: the state it is moving to, and until when it
/// shows ENABLING/DISABLING.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sse {
    pub enabled: bool,
    pub key_type: KeyType,
    pub key_arn: Option<String>,
    pub until_ms: i64,
    /// When Start/StopDeliveryStreamEncryption were called, for the 25-per-24-hours limit.
    #[serde(default)]
    pub calls_ms: Vec<i64>,
    /// Every data key records were sealed with, wrapped by the master key: (version, wrapped).
    #[serde(default)]
    pub data_keys: Vec<(u32, String)>,
    /// The version sealing new records (made fresh at every start and every enabling).
    #[serde(default)]
    pub sealing_version: Option<u32>,
}

impl Sse {
    /// Records put now are sealed: encryption is ENABLED (records put while ENABLING are not,
    /// as on AWS).
    pub fn seals(&self, now_ms: i64) -> bool {
        self.enabled && now_ms >= self.until_ms
    }

    pub fn status(&self, now_ms: i64) -> &'static str {
        match (self.enabled, now_ms < self.until_ms) {
            (true, true) => "ENABLING",
            (true, false) => "ENABLED",
            (false, true) => "DISABLING",
            (false, false) => "DISABLED",
        }
    }
}

/// One delivery stream, as persisted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryStreamRecord {
    pub format_version: u32,
    pub name: String,
    pub created_ms: i64,
    /// When UpdateDestination last changed the stream.
    pub updated_ms: Option<i64>,
    pub lifecycle: Lifecycle,
    /// VersionId: 1 at creation, +1 per configuration change.
    pub version: u64,
    /// The log shard holding records not yet delivered.
    pub log_id: u64,
    pub source: Source,
    pub destination: Destination,
    pub tags: BTreeMap<String, Option<String>>,
    pub sse: Option<Sse>,
    /// Set when the stream carries a Kinesis channel (and is hidden from Firehose's API).
    #[serde(default)]
    pub channel: Option<Box<crate::channels::ChannelSettings>>,
}

impl DeliveryStreamRecord {
    pub fn status(&self, now_ms: i64) -> &'static str {
        match self.lifecycle {
            Lifecycle::Creating { until_ms } if now_ms < until_ms => "CREATING",
            Lifecycle::Deleting { .. } => "DELETING",
            _ => "ACTIVE",
        }
    }

    pub fn is_active(&self, now_ms: i64) -> bool {
        self.status(now_ms) == "ACTIVE"
    }

    pub fn buffering(&self) -> Buffering {
        self.destination.buffering()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_model() {
        assert!(DeliveryStreamName::parse("my-firehose_stream.1").is_some());
        assert!(DeliveryStreamName::parse("").is_none());
        assert!(DeliveryStreamName::parse(&"a".repeat(65)).is_none());
        assert!(DeliveryStreamName::parse("a b").is_none());
    }

    #[test]
    fn compression_names_round_trip() {
        for w in Compression::WIRE {
            assert_eq!(Compression::parse(w).unwrap().wire(), w);
        }
        assert_eq!(Compression::parse("gzip"), None);
    }

    #[test]
    fn the_bucket_is_the_arn_tail() {
        let d = S3Destination {
            bucket_arn: "arn:aws:s3:::my-bucket".into(),
            ..S3Destination::default()
        };
        assert_eq!(d.bucket(), "my-bucket");
    }
}

//! A channel as Spate keeps it: the settings of its Kinesis front end, carried by the delivery
//! stream that does the work (a KinesisStreamAsSource stream to S3, hidden from Firehose's API).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// RecordFormatType: how records are checked and laid out in objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordFormat {
    /// Each record must be one JSON value; one per line.
    Json,
    /// Each record must be UTF-8; one per line.
    String,
    /// Records as they are, back to back.
    ByteArray,
}

impl RecordFormat {
    pub fn parse(text: &str) -> Option<RecordFormat> {
        match text {
            "JSON" => Some(RecordFormat::Json),
            "STRING" => Some(RecordFormat::String),
            "BYTE_ARRAY" => Some(RecordFormat::ByteArray),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            RecordFormat::Json => "JSON",
            RecordFormat::String => "STRING",
            RecordFormat::ByteArray => "BYTE_ARRAY",
        }
    }
}

/// S3CompressionType.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChannelCompression {
    None,
    Gzip,
    Zstd,
}

impl ChannelCompression {
    pub fn parse(text: &str) -> Option<ChannelCompression> {
        match text {
            "NONE" => Some(ChannelCompression::None),
            "GZIP" => Some(ChannelCompression::Gzip),
            "ZSTD" => Some(ChannelCompression::Zstd),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ChannelCompression::None => "NONE",
            ChannelCompression::Gzip => "GZIP",
            ChannelCompression::Zstd => "ZSTD",
        }
    }

    /// The extension `!{extension}` stands for.
    pub fn extension(self) -> &'static str {
        match self {
            ChannelCompression::None => "",
            ChannelCompression::Gzip => ".gz",
            ChannelCompression::Zstd => ".zst",
        }
    }
}

/// A bucket and the account expected to own it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub arn: String,
    pub expected_owner: String,
}

impl Bucket {
    /// The bucket name: what follows `:::` in the ARN.
    pub fn name(&self) -> &str {
        self.arn.split_once(":::").map_or(&self.arn, |(_, b)| b)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelLogging {
    pub enabled: bool,
    pub log_group: Option<String>,
    pub log_stream: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelSettings {
    pub name: String,
    pub id: String,
    pub role_arn: String,
    pub stream_arn: String,
    pub stream_created_ms: i64,
    pub record_format: RecordFormat,
    pub freshness_secs: i64,
    pub template: String,
    pub compression: ChannelCompression,
    pub storage_class: String,
    pub bucket: Bucket,
    /// Where records that fail their format's check go, and under which prefix.
    pub dead_letters: Bucket,
    pub error_prefix: String,
    /// (EncryptionType, KeyId).
    pub encryption: Option<(String, String)>,
    pub logging: ChannelLogging,
    pub tags: BTreeMap<String, String>,
}

impl ChannelSettings {
    /// The name of the delivery stream that carries a channel: `channel:` and its id. The colon
    /// cannot appear in a delivery stream name, so Firehose's API never reaches it.
    pub fn stream_name(id: &str) -> String {
        format!("channel:{id}")
    }

    /// ErrorOutputPrefix, or AWS's default `kinesis-channel/errors/<name>/<id>/`.
    pub fn error_prefix(&self) -> String {
        match self.error_prefix.is_empty() {
            true => format!("kinesis-channel/errors/{}/{}/", self.name, self.id),
            false => self.error_prefix.clone(),
        }
    }

    /// The stream's name: what follows `stream/` in its ARN.
    pub fn source_stream_name(&self) -> String {
        crate::delivery::stream_name(&self.stream_arn)
    }
}

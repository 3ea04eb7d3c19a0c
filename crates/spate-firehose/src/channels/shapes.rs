//! The wire shapes of the five channel operations (Kinesis model, 2013-12-02).

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use spate_wire::timestamp::Timestamp;
use spate_wire::{Bool, Int, List, Map, Str, Struct};

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateChannelInput {
    pub channel_name: Option<Str>,
    #[serde(rename = "ServiceExecutionRoleARN")]
    pub service_execution_role_arn: Option<Str>,
    pub stream_configuration_list: Option<List<Struct<StreamConfiguration>>>,
    pub s3_destination_configuration: Option<Struct<S3Configuration>>,
    pub s3_tables_destination_configuration: Option<IgnoredAny>,
    pub encryption_configuration: Option<Struct<Encryption>>,
    pub tags: Option<Map<Str>>,
    pub logging_configuration: Option<Struct<Logging>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamConfiguration {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub record_configuration: Option<Struct<RecordConfiguration>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordConfiguration {
    pub record_format_type: Option<Str>,
    #[serde(rename = "GSRSchemaARN")]
    pub gsr_schema_arn: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3Configuration {
    pub data_freshness_in_seconds: Option<Int>,
    pub dead_letter_queue_s3_configuration: Option<Struct<DeadLetterQueue>>,
    pub storage_configuration: Option<Struct<Storage>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterQueue {
    #[serde(rename = "BucketARN")]
    pub bucket_arn: Option<Str>,
    pub expected_bucket_owner: Option<Str>,
    pub error_output_prefix: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Storage {
    #[serde(rename = "BucketARN")]
    pub bucket_arn: Option<Str>,
    pub expected_bucket_owner: Option<Str>,
    pub output_key_template: Option<Str>,
    pub storage_class: Option<Str>,
    pub compression_type: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Encryption {
    pub encryption_type: Option<Str>,
    pub key_id: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Logging {
    pub cloud_watch_logs: Option<Struct<CloudWatchLogs>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CloudWatchLogs {
    pub enabled: Option<Bool>,
    pub log_group_name: Option<Str>,
    pub log_stream_name: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelArnInput {
    #[serde(rename = "ChannelARN")]
    pub channel_arn: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateChannelInput {
    #[serde(rename = "ChannelARN")]
    pub channel_arn: Option<Str>,
    pub s3_destination_configuration: Option<Struct<FreshnessUpdate>>,
    pub s3_tables_destination_configuration: Option<Struct<FreshnessUpdate>>,
    pub logging_configuration: Option<Struct<Logging>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FreshnessUpdate {
    pub data_freshness_in_seconds: Option<Int>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListChannelsInput {
    pub stream_filter: Option<List<Struct<StreamFilter>>>,
    pub max_results: Option<Int>,
    pub next_token: Option<Str>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamFilter {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<Str>,
    pub stream_creation_timestamp: Option<Timestamp>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelDescriptionOutput {
    pub channel_description: ChannelDescription,
}

#[derive(Serialize)]
pub struct EmptyOutput {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelDescription {
    pub channel_name: String,
    #[serde(rename = "ChannelARN")]
    pub channel_arn: String,
    pub channel_id: String,
    pub channel_status: &'static str,
    pub channel_creation_timestamp: Timestamp,
    #[serde(rename = "ServiceExecutionRoleARN")]
    pub service_execution_role_arn: String,
    pub stream_configuration_list: Vec<StreamDescription>,
    pub s3_destination_configuration: S3Description,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_configuration: Option<EncryptionOut>,
    pub logging_configuration: LoggingOut,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamDescription {
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub stream_creation_timestamp: Timestamp,
    pub record_configuration: RecordConfigurationOut,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RecordConfigurationOut {
    pub record_format_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3Description {
    pub data_freshness_in_seconds: i64,
    pub dead_letter_queue_s3_configuration: DeadLetterQueueOut,
    pub storage_configuration: StorageOut,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeadLetterQueueOut {
    #[serde(rename = "BucketARN")]
    pub bucket_arn: String,
    pub expected_bucket_owner: String,
    pub error_output_prefix: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StorageOut {
    #[serde(rename = "BucketARN")]
    pub bucket_arn: String,
    pub expected_bucket_owner: String,
    pub output_key_template: String,
    pub storage_class: String,
    pub compression_type: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptionOut {
    pub encryption_type: String,
    pub key_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoggingOut {
    pub cloud_watch_logs: CloudWatchLogsOut,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CloudWatchLogsOut {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_stream_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListChannelsOutput {
    pub channel_summaries: Vec<ChannelSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChannelSummary {
    pub channel_name: String,
    #[serde(rename = "ChannelARN")]
    pub channel_arn: String,
    pub channel_id: String,
    pub channel_status: &'static str,
    pub channel_creation_timestamp: Timestamp,
    pub channel_destination_type: &'static str,
    pub streams: Vec<StreamIdentifier>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamIdentifier {
    #[serde(rename = "StreamARN")]
    pub stream_arn: String,
    pub stream_creation_timestamp: Timestamp,
}

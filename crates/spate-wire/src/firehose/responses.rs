//! Response shapes. Optional members are left out when absent, as AWS leaves them out.

use crate::Timestamp;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct EmptyOutput {}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateDeliveryStreamOutput {
    #[serde(rename = "DeliveryStreamARN")]
    pub delivery_stream_arn: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BufferingHintsOut {
    #[serde(rename = "SizeInMBs")]
    pub size_in_mbs: i64,
    pub interval_in_seconds: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KmsEncryptionConfigOut {
    #[serde(rename = "AWSKMSKeyARN")]
    pub aws_kms_key_arn: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptionConfigurationOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no_encryption_config: Option<&'static str>,
    #[serde(
        rename = "KMSEncryptionConfig",
        skip_serializing_if = "Option::is_none"
    )]
    pub kms_encryption_config: Option<KmsEncryptionConfigOut>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CloudWatchLoggingOptionsOut {
    pub enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_group_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_stream_name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessorParameterOut {
    pub parameter_name: String,
    pub parameter_value: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessorOut {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<ProcessorParameterOut>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProcessingConfigurationOut {
    pub enabled: bool,
    pub processors: Vec<ProcessorOut>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetryOptionsOut {
    pub duration_in_seconds: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DynamicPartitioningConfigurationOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_options: Option<RetryOptionsOut>,
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataFormatConversionConfigurationOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_configuration: Option<SchemaConfigurationOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_format_configuration: Option<InputFormatConfigurationOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_format_configuration: Option<OutputFormatConfigurationOut>,
    pub enabled: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SchemaConfigurationOut {
    #[serde(rename = "RoleARN", skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catalog_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub table_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InputFormatConfigurationOut {
    pub deserializer: DeserializerOut,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DeserializerOut {
    #[serde(rename = "OpenXJsonSerDe", skip_serializing_if = "Option::is_none")]
    pub open_x_json_ser_de: Option<OpenXJsonSerDeOut>,
    #[serde(rename = "HiveJsonSerDe", skip_serializing_if = "Option::is_none")]
    pub hive_json_ser_de: Option<HiveJsonSerDeOut>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OpenXJsonSerDeOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convert_dots_in_json_keys_to_underscores: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_insensitive: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column_to_json_key_mappings: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HiveJsonSerDeOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_formats: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OutputFormatConfigurationOut {
    pub serializer: SerializerOut,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SerializerOut {
    #[serde(rename = "ParquetSerDe", skip_serializing_if = "Option::is_none")]
    pub parquet_ser_de: Option<ParquetSerDeOut>,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParquetSerDeOut {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_size_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable_dictionary_compression: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_padding_bytes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writer_version: Option<String>,
}

/// `S3DestinationDescription`: the members the plain S3 shape has.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct S3DestinationDescription {
    #[serde(rename = "RoleARN")]
    pub role_arn: String,
    #[serde(rename = "BucketARN")]
    pub bucket_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_output_prefix: Option<String>,
    pub buffering_hints: BufferingHintsOut,
    pub compression_format: &'static str,
    pub encryption_configuration: EncryptionConfigurationOut,
    pub cloud_watch_logging_options: CloudWatchLoggingOptionsOut,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExtendedS3DestinationDescription {
    #[serde(flatten)]
    pub s3: S3DestinationDescription,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_configuration: Option<ProcessingConfigurationOut>,
    pub s3_backup_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_backup_description: Option<S3DestinationDescription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_format_conversion_configuration: Option<DataFormatConversionConfigurationOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dynamic_partitioning_configuration: Option<DynamicPartitioningConfigurationOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_extension: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_time_zone: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HttpEndpointDescription {
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HttpEndpointCommonAttributeOut {
    pub attribute_name: String,
    pub attribute_value: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HttpEndpointRequestConfigurationOut {
    pub content_encoding: &'static str,
    pub common_attributes: Vec<HttpEndpointCommonAttributeOut>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretsManagerConfigurationOut {
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HttpEndpointDestinationDescription {
    pub endpoint_configuration: HttpEndpointDescription,
    pub buffering_hints: BufferingHintsOut,
    pub cloud_watch_logging_options: CloudWatchLoggingOptionsOut,
    pub request_configuration: HttpEndpointRequestConfigurationOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_configuration: Option<ProcessingConfigurationOut>,
    #[serde(rename = "RoleARN", skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    pub retry_options: RetryOptionsOut,
    pub s3_backup_mode: &'static str,
    pub s3_destination_description: S3DestinationDescription,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_manager_configuration: Option<SecretsManagerConfigurationOut>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DestinationDescription {
    pub destination_id: String,
    #[serde(
        rename = "S3DestinationDescription",
        skip_serializing_if = "Option::is_none"
    )]
    pub s3_destination_description: Option<S3DestinationDescription>,
    #[serde(
        rename = "ExtendedS3DestinationDescription",
        skip_serializing_if = "Option::is_none"
    )]
    pub extended_s3_destination_description: Option<ExtendedS3DestinationDescription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_endpoint_destination_description: Option<HttpEndpointDestinationDescription>,
    #[serde(
        rename = "AmazonopensearchserviceDestinationDescription",
        skip_serializing_if = "Option::is_none"
    )]
    pub opensearch_destination_description: Option<OpenSearchDestinationDescription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elasticsearch_destination_description: Option<OpenSearchDestinationDescription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amazon_open_search_serverless_destination_description:
        Option<OpenSearchDestinationDescription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub splunk_destination_description: Option<SplunkDestinationDescription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redshift_destination_description: Option<RedshiftDestinationDescription>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CopyCommandOut {
    pub data_table_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_table_columns: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_options: Option<String>,
}

/// `RedshiftDestinationDescription` (no Password: AWS never shows it).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RedshiftDestinationDescription {
    #[serde(rename = "RoleARN")]
    pub role_arn: String,
    #[serde(rename = "ClusterJDBCURL")]
    pub cluster_jdbcurl: String,
    pub copy_command: CopyCommandOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub retry_options: RetryOptionsOut,
    pub s3_destination_description: S3DestinationDescription,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_configuration: Option<ProcessingConfigurationOut>,
    pub s3_backup_mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_backup_description: Option<S3DestinationDescription>,
    pub cloud_watch_logging_options: CloudWatchLoggingOptionsOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_manager_configuration: Option<SecretsManagerConfigurationOut>,
}

/// `SplunkDestinationDescription`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SplunkDestinationDescription {
    #[serde(rename = "HECEndpoint")]
    pub hec_endpoint: String,
    #[serde(rename = "HECEndpointType")]
    pub hec_endpoint_type: &'static str,
    #[serde(rename = "HECToken", skip_serializing_if = "Option::is_none")]
    pub hec_token: Option<String>,
    #[serde(rename = "HECAcknowledgmentTimeoutInSeconds")]
    pub hec_acknowledgment_timeout_in_seconds: i64,
    pub retry_options: RetryOptionsOut,
    pub s3_backup_mode: &'static str,
    pub s3_destination_description: S3DestinationDescription,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_configuration: Option<ProcessingConfigurationOut>,
    pub cloud_watch_logging_options: CloudWatchLoggingOptionsOut,
    pub buffering_hints: BufferingHintsOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secrets_manager_configuration: Option<SecretsManagerConfigurationOut>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DocumentIdOptionsOut {
    pub default_document_id_format: &'static str,
}

/// `AmazonopensearchserviceDestinationDescription`, `ElasticsearchDestinationDescription` (the
/// same members) and `AmazonOpenSearchServerlessDestinationDescription` (CollectionEndpoint; no
/// domain, type, rotation or document ids).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct OpenSearchDestinationDescription {
    #[serde(rename = "RoleARN", skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(rename = "DomainARN", skip_serializing_if = "Option::is_none")]
    pub domain_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collection_endpoint: Option<String>,
    pub index_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub type_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_rotation_period: Option<&'static str>,
    pub buffering_hints: BufferingHintsOut,
    pub retry_options: RetryOptionsOut,
    pub s3_backup_mode: &'static str,
    pub s3_destination_description: S3DestinationDescription,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub processing_configuration: Option<ProcessingConfigurationOut>,
    pub cloud_watch_logging_options: CloudWatchLoggingOptionsOut,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document_id_options: Option<DocumentIdOptionsOut>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailureDescription {
    #[serde(rename = "Type")]
    pub kind: &'static str,
    pub details: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryStreamEncryptionConfiguration {
    #[serde(rename = "KeyARN", skip_serializing_if = "Option::is_none")]
    pub key_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_type: Option<&'static str>,
    pub status: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KinesisStreamSourceDescription {
    #[serde(rename = "KinesisStreamARN")]
    pub kinesis_stream_arn: String,
    #[serde(rename = "RoleARN")]
    pub role_arn: String,
    pub delivery_start_timestamp: Timestamp,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DirectPutSourceDescription {
    #[serde(rename = "ThroughputHintInMBs")]
    pub throughput_hint_in_mbs: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SourceDescription {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direct_put_source_description: Option<DirectPutSourceDescription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kinesis_stream_source_description: Option<KinesisStreamSourceDescription>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeliveryStreamDescription {
    pub delivery_stream_name: String,
    #[serde(rename = "DeliveryStreamARN")]
    pub delivery_stream_arn: String,
    pub delivery_stream_status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_description: Option<FailureDescription>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery_stream_encryption_configuration: Option<DeliveryStreamEncryptionConfiguration>,
    pub delivery_stream_type: &'static str,
    pub version_id: String,
    pub create_timestamp: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_update_timestamp: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceDescription>,
    pub destinations: Vec<DestinationDescription>,
    pub has_more_destinations: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeDeliveryStreamOutput {
    pub delivery_stream_description: DeliveryStreamDescription,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeliveryStreamsOutput {
    pub delivery_stream_names: Vec<String>,
    pub has_more_delivery_streams: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordOutput {
    pub record_id: String,
    pub encrypted: bool,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordBatchResponseEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<&'static str>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordBatchOutput {
    pub failed_put_count: usize,
    pub encrypted: bool,
    pub request_responses: Vec<PutRecordBatchResponseEntry>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagOut {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForDeliveryStreamOutput {
    pub tags: Vec<TagOut>,
    pub has_more_tags: bool,
}

//! DescribeDeliveryStream's answer, built from the record with the defaults AWS shows.

use crate::control::DESTINATION_ID;
use crate::model::{
    CloudWatchLogging, DeliveryStreamRecord, Destination, HttpDestination, OpenSearchDestination,
    Processing, S3Destination, SearchService, Source, SplunkDestination,
};
use crate::service::Firehose;
use spate_wire::firehose::*;
use spate_wire::Timestamp;

pub fn description(
    firehose: &Firehose,
    stream: &DeliveryStreamRecord,
    failure: Option<String>,
) -> DeliveryStreamDescription {
    let now = firehose.registry.now();
    let encryption = match (&stream.source, &stream.sse) {
        (Source::KinesisStream { .. }, _) => None,
        (_, None) => Some(DeliveryStreamEncryptionConfiguration {
            key_arn: None,
            key_type: None,
            status: "DISABLED",
        }),
        (_, Some(sse)) => Some(DeliveryStreamEncryptionConfiguration {
            key_arn: sse.key_arn.clone(),
            key_type: Some(sse.key_type.wire()),
            status: sse.status(now),
        }),
    };
    DeliveryStreamDescription {
        delivery_stream_name: stream.name.clone(),
        delivery_stream_arn: firehose.arn(&stream.name),
        delivery_stream_status: stream.status(now),
        failure_description: failure.map(|details| FailureDescription {
            kind: "UNKNOWN_ERROR",
            details,
        }),
        delivery_stream_encryption_configuration: encryption,
        delivery_stream_type: stream.source.type_name(),
        version_id: stream.version.to_string(),
        create_timestamp: Timestamp::from_millis(stream.created_ms),
        last_update_timestamp: stream.updated_ms.map(Timestamp::from_millis),
        source: source(&stream.source),
        destinations: vec![destination(&stream.destination)],
        has_more_destinations: false,
    }
}

fn source(source: &Source) -> Option<SourceDescription> {
    match source {
        Source::DirectPut { throughput_hint_mb } => {
            throughput_hint_mb.map(|hint| SourceDescription {
                direct_put_source_description: Some(DirectPutSourceDescription {
                    throughput_hint_in_mbs: hint,
                }),
                kinesis_stream_source_description: None,
            })
        }
        Source::KinesisStream {
            stream_arn,
            role_arn,
            start_ms,
        } => Some(SourceDescription {
            direct_put_source_description: None,
            kinesis_stream_source_description: Some(KinesisStreamSourceDescription {
                kinesis_stream_arn: stream_arn.clone(),
                role_arn: role_arn.clone(),
                delivery_start_timestamp: Timestamp::from_millis(*start_ms),
            }),
        }),
    }
}

/// Both views of an S3 destination, as AWS shows them for ExtendedS3 and plain S3 alike.
fn destination(destination: &Destination) -> DestinationDescription {
    let mut out = DestinationDescription {
        destination_id: DESTINATION_ID.to_string(),
        s3_destination_description: None,
        extended_s3_destination_description: None,
        http_endpoint_destination_description: None,
        opensearch_destination_description: None,
        elasticsearch_destination_description: None,
        amazon_open_search_serverless_destination_description: None,
        splunk_destination_description: None,
        redshift_destination_description: None,
    };
    match destination {
        Destination::S3 { config, .. } => {
            out.s3_destination_description = Some(s3(config));
            out.extended_s3_destination_description = Some(extended(config));
        }
        Destination::Http(http) => {
            out.http_endpoint_destination_description = Some(endpoint(http));
        }
        Destination::OpenSearch(os) => {
            let description = Some(opensearch(os));
            match os.service {
                SearchService::OpenSearch => out.opensearch_destination_description = description,
                SearchService::Elasticsearch => {
                    out.elasticsearch_destination_description = description
                }
                SearchService::Serverless => {
                    out.amazon_open_search_serverless_destination_description = description
                }
            }
        }
        Destination::Splunk(d) => out.splunk_destination_description = Some(splunk(d)),
        Destination::Redshift(d) => out.redshift_destination_description = Some(redshift(d)),
    }
    out
}

/// A Redshift destination with its intermediate and backup buckets; never the password.
fn redshift(d: &crate::redshift::RedshiftDestination) -> RedshiftDestinationDescription {
    RedshiftDestinationDescription {
        role_arn: d.role_arn.clone(),
        cluster_jdbcurl: d.jdbc_url.clone(),
        copy_command: CopyCommandOut {
            data_table_name: d.table.clone(),
            data_table_columns: d.columns.clone(),
            copy_options: d.copy_options.clone(),
        },
        username: d.username.clone(),
        retry_options: RetryOptionsOut {
            duration_in_seconds: d.retry_duration_secs,
        },
        s3_destination_description: s3(&d.s3),
        processing_configuration: d.processing.as_ref().map(processing),
        s3_backup_mode: if d.backup_enabled {
            "Enabled"
        } else {
            "Disabled"
        },
        s3_backup_description: d.backup.as_ref().map(s3),
        cloud_watch_logging_options: logging(&d.logging),
        secrets_manager_configuration: d
            .secrets_manager_enabled
            .map(|enabled| SecretsManagerConfigurationOut { enabled }),
    }
}

/// A Splunk destination with its backup bucket (the token is shown, as AWS shows it).
fn splunk(d: &SplunkDestination) -> SplunkDestinationDescription {
    SplunkDestinationDescription {
        hec_endpoint: d.endpoint.clone(),
        hec_endpoint_type: d.endpoint_type.name(),
        hec_token: d.token.clone(),
        hec_acknowledgment_timeout_in_seconds: d.ack_timeout_secs,
        retry_options: RetryOptionsOut {
            duration_in_seconds: d.retry_duration_secs,
        },
        s3_backup_mode: if d.backup_all {
            "AllEvents"
        } else {
            "FailedEventsOnly"
        },
        s3_destination_description: s3(&d.s3),
        processing_configuration: d.processing.as_ref().map(processing),
        cloud_watch_logging_options: logging(&d.logging),
        buffering_hints: BufferingHintsOut {
            size_in_mbs: d.buffering.size_mb,
            interval_in_seconds: d.buffering.interval_secs,
        },
        secrets_manager_configuration: d
            .secrets_manager_enabled
            .map(|enabled| SecretsManagerConfigurationOut { enabled }),
    }
}

/// A search destination with its backup bucket; Serverless shows its CollectionEndpoint and
/// none of the members its shape lacks.
fn opensearch(d: &OpenSearchDestination) -> OpenSearchDestinationDescription {
    let serverless = d.service == SearchService::Serverless;
    let (cluster_endpoint, collection_endpoint) = match serverless {
        true => (None, d.cluster_endpoint.clone()),
        false => (d.cluster_endpoint.clone(), None),
    };
    let document_ids = DocumentIdOptionsOut {
        default_document_id_format: if d.firehose_document_ids {
            "FIREHOSE_DEFAULT"
        } else {
            "NO_DOCUMENT_ID"
        },
    };
    OpenSearchDestinationDescription {
        role_arn: d.role_arn.clone(),
        domain_arn: d.domain_arn.clone(),
        cluster_endpoint,
        collection_endpoint,
        index_name: d.index_name.clone(),
        type_name: d.type_name.clone(),
        index_rotation_period: (!serverless).then(|| d.rotation.name()),
        buffering_hints: BufferingHintsOut {
            size_in_mbs: d.buffering.size_mb,
            interval_in_seconds: d.buffering.interval_secs,
        },
        retry_options: RetryOptionsOut {
            duration_in_seconds: d.retry_duration_secs,
        },
        s3_backup_mode: if d.backup_all {
            "AllDocuments"
        } else {
            "FailedDocumentsOnly"
        },
        s3_destination_description: s3(&d.s3),
        processing_configuration: d.processing.as_ref().map(processing),
        cloud_watch_logging_options: logging(&d.logging),
        document_id_options: (!serverless).then_some(document_ids),
    }
}

/// An HTTP endpoint with its backup bucket (the access key is never shown, as on AWS).
fn endpoint(d: &HttpDestination) -> HttpEndpointDestinationDescription {
    let attributes =
        d.common_attributes
            .iter()
            .map(|(name, value)| HttpEndpointCommonAttributeOut {
                attribute_name: name.clone(),
                attribute_value: value.clone(),
            });
    HttpEndpointDestinationDescription {
        endpoint_configuration: HttpEndpointDescription {
            url: d.url.clone(),
            name: d.name.clone(),
        },
        buffering_hints: BufferingHintsOut {
            size_in_mbs: d.buffering.size_mb,
            interval_in_seconds: d.buffering.interval_secs,
        },
        cloud_watch_logging_options: logging(&d.logging),
        request_configuration: HttpEndpointRequestConfigurationOut {
            content_encoding: if d.gzip { "GZIP" } else { "NONE" },
            common_attributes: attributes.collect(),
        },
        processing_configuration: d.processing.as_ref().map(processing),
        role_arn: d.role_arn.clone(),
        retry_options: RetryOptionsOut {
            duration_in_seconds: d.retry_duration_secs,
        },
        s3_backup_mode: if d.backup_all {
            "AllData"
        } else {
            "FailedDataOnly"
        },
        s3_destination_description: s3(&d.s3),
        secrets_manager_configuration: d
            .secrets_manager_enabled
            .map(|enabled| SecretsManagerConfigurationOut { enabled }),
    }
}

fn logging(l: &CloudWatchLogging) -> CloudWatchLoggingOptionsOut {
    CloudWatchLoggingOptionsOut {
        enabled: l.enabled,
        log_group_name: l.log_group_name.clone(),
        log_stream_name: l.log_stream_name.clone(),
    }
}

fn processing(p: &Processing) -> ProcessingConfigurationOut {
    let processor = |(kind, params): &(String, Vec<(String, String)>)| ProcessorOut {
        kind: kind.clone(),
        parameters: params
            .iter()
            .map(|(name, value)| ProcessorParameterOut {
                parameter_name: name.clone(),
                parameter_value: value.clone(),
            })
            .collect(),
    };
    ProcessingConfigurationOut {
        enabled: p.enabled,
        processors: p.processors.iter().map(processor).collect(),
    }
}

pub fn s3(d: &S3Destination) -> S3DestinationDescription {
    S3DestinationDescription {
        role_arn: d.role_arn.clone(),
        bucket_arn: d.bucket_arn.clone(),
        prefix: d.prefix.clone(),
        error_output_prefix: d.error_output_prefix.clone(),
        buffering_hints: BufferingHintsOut {
            size_in_mbs: d.buffering.size_mb,
            interval_in_seconds: d.buffering.interval_secs,
        },
        compression_format: d.compression.wire(),
        encryption_configuration: match &d.kms_key_arn {
            None => EncryptionConfigurationOut {
                no_encryption_config: Some("NoEncryption"),
                kms_encryption_config: None,
            },
            Some(arn) => EncryptionConfigurationOut {
                no_encryption_config: None,
                kms_encryption_config: Some(KmsEncryptionConfigOut {
                    aws_kms_key_arn: arn.clone(),
                }),
            },
        },
        cloud_watch_logging_options: logging(&d.logging),
    }
}

fn extended(d: &S3Destination) -> ExtendedS3DestinationDescription {
    ExtendedS3DestinationDescription {
        s3: s3(d),
        processing_configuration: d.processing.as_ref().map(processing),
        s3_backup_mode: if d.backup_enabled {
            "Enabled"
        } else {
            "Disabled"
        },
        s3_backup_description: d.backup.as_deref().map(s3),
        data_format_conversion_configuration: super::conversion::describe(d),
        dynamic_partitioning_configuration: d.dynamic_partitioning.as_ref().map(|p| {
            DynamicPartitioningConfigurationOut {
                retry_options: p.enabled.then(|| RetryOptionsOut {
                    duration_in_seconds: p.retry_duration_secs.unwrap_or(300),
                }),
                enabled: p.enabled,
            }
        }),
        file_extension: d.file_extension.clone(),
        custom_time_zone: d.custom_time_zone.clone(),
    }
}

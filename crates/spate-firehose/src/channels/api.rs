//! The wire edge of Kinesis channels: CreateChannel, DeleteChannel, DescribeChannel,
//! ListChannels and UpdateChannel under Kinesis's target prefix (the router gives an operation
//! to the first service that has it), validated with the model's constraints.

use super::model::{Bucket, ChannelCompression, ChannelLogging, ChannelSettings, RecordFormat};
use super::service::channel_status;
use super::shapes::*;
use super::template::{KeyContext, KeyTemplate, DEFAULT_TEMPLATE, EXPANDED_MAX_CHARS};
use super::validate::{check_channel_arn, text, validate_create, validate_logging};
use crate::model::DeliveryStreamRecord;
use crate::service::Firehose;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use spate_wire::service::{run, BoxFuture, Call, Operation, Reply, TargetService};
use spate_wire::timestamp::Timestamp;
use spate_wire::validate::Validator;
use spate_wire::{ApiError, ErrorKind, Str};
use std::sync::Arc;

/// DataFreshnessInSeconds: 300 to 900, 300 by default (developer guide).
const FRESHNESS_MIN: i64 = 300;
const FRESHNESS_MAX: i64 = 900;
/// ListChannels returns at most this many per page.
const PAGE_MAX: usize = 100;

pub struct ChannelsApi {
    firehose: Arc<Firehose>,
}

impl ChannelsApi {
    pub fn new(firehose: Arc<Firehose>) -> Arc<ChannelsApi> {
        Arc::new(ChannelsApi { firehose })
    }
}

const OPERATIONS: &[Operation] = &[
    Operation::new("CreateChannel"),
    Operation::new("DeleteChannel"),
    Operation::new("DescribeChannel"),
    Operation::new("ListChannels"),
    Operation::new("UpdateChannel"),
];

impl TargetService for ChannelsApi {
    fn target_prefix(&self) -> &'static str {
        "Kinesis_20131202"
    }

    fn speaks_cbor(&self) -> bool {
        true
    }

    fn operation(&self, name: &str) -> Option<Operation> {
        OPERATIONS.iter().find(|op| op.name == name).copied()
    }

    fn call(self: Arc<Self>, call: Call) -> BoxFuture<Reply> {
        Box::pin(async move {
            let f = &self.firehose;
            let c = &call;
            match call.operation {
                "CreateChannel" => run(c, |i| create(f, i)).await,
                "DeleteChannel" => run(c, |i| delete(f, i)).await,
                "DescribeChannel" => run(c, |i| describe(f, i)).await,
                "ListChannels" => run(c, |i| list(f, i)).await,
                "UpdateChannel" => run(c, |i| update(f, i)).await,
                _ => Reply::Error(ApiError::bare(ErrorKind::UnknownOperation)),
            }
        })
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidArgument, message)
}

fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::Validation, message)
}

fn freshness(value: Option<i64>) -> Result<i64, ApiError> {
    let seconds = value.unwrap_or(FRESHNESS_MIN);
    if !(FRESHNESS_MIN..=FRESHNESS_MAX).contains(&seconds) {
        return Err(validation(format!(
            "DataFreshnessInSeconds must be between {FRESHNESS_MIN} and {FRESHNESS_MAX} seconds; {seconds} is not."
        )));
    }
    Ok(seconds)
}

fn logging_of(l: &Logging) -> ChannelLogging {
    let c = l.cloud_watch_logs.as_deref();
    ChannelLogging {
        enabled: c.and_then(|c| c.enabled.as_ref()).is_some_and(|b| b.0),
        log_group: c.and_then(|c| text(&c.log_group_name)).map(str::to_string),
        log_stream: c.and_then(|c| text(&c.log_stream_name)).map(str::to_string),
    }
}

/// The one stream and the S3 destination a create names.
fn source_and_destination(
    i: &CreateChannelInput,
) -> Result<(&StreamConfiguration, &S3Configuration), ApiError> {
    let streams = i
        .stream_configuration_list
        .as_ref()
        .map_or(&[][..], |l| &l.0[..]);
    let [stream] = streams else {
        return Err(validation(
            "A channel reads one stream: StreamConfigurationList must have exactly one entry.",
        ));
    };
    match (&i.s3_destination_configuration, &i.s3_tables_destination_configuration) {
        (Some(s3), None) => Ok((stream, s3)),
        (None, Some(_)) => Err(invalid("S3 Tables (Apache Iceberg) destinations are not supported by Spate; give S3DestinationConfiguration. See docs/compatibility.md.")),
        _ => Err(validation("Specify either S3DestinationConfiguration or S3TablesDestinationConfiguration, but not both.")),
    }
}

fn record_format_of(stream: &StreamConfiguration) -> Result<RecordFormat, ApiError> {
    let record = stream.record_configuration.as_deref();
    let format_text = record
        .and_then(|r| text(&r.record_format_type))
        .unwrap_or_default();
    RecordFormat::parse(format_text).ok_or_else(|| {
        validation(format!("RecordFormatType {format_text} is supported only for streaming table (Amazon S3 Tables) destinations."))
    })
}

fn encryption_of(i: &CreateChannelInput) -> Result<Option<(String, String)>, ApiError> {
    let Some(e) = i.encryption_configuration.as_deref() else {
        return Ok(None);
    };
    let key = text(&e.key_id).unwrap_or_default();
    if key == "alias/aws/kinesis" || key == "aws/kinesis" || key.ends_with(":alias/aws/kinesis") {
        return Err(validation("You cannot use the Amazon Kinesis Data Streams service key (aws/kinesis) for channel encryption; give a customer managed KMS key."));
    }
    let kind = text(&e.encryption_type).unwrap_or("KMS");
    Ok(Some((kind.to_string(), key.to_string())))
}

fn bucket_of(arn: &Option<Str>, owner: &Option<Str>) -> Bucket {
    Bucket {
        arn: text(arn).unwrap_or_default().to_string(),
        expected_owner: text(owner).unwrap_or_default().to_string(),
    }
}

/// The settings CreateChannel asks for, beyond the shapes' checks.
fn settings_of(f: &Firehose, i: &CreateChannelInput) -> Result<ChannelSettings, ApiError> {
    let (stream, s3) = source_and_destination(i)?;
    let storage = s3
        .storage_configuration
        .as_deref()
        .ok_or_else(|| validation("StorageConfiguration is required."))?;
    let compression = text(&storage.compression_type)
        .and_then(ChannelCompression::parse)
        .unwrap_or(ChannelCompression::None);
    let template = text(&storage.output_key_template).unwrap_or(DEFAULT_TEMPLATE);
    let parsed = KeyTemplate::parse(template, compression != ChannelCompression::None)
        .map_err(validation)?;
    let bucket = bucket_of(&storage.bucket_arn, &storage.expected_bucket_owner);
    let dlq = s3.dead_letter_queue_s3_configuration.as_deref();
    let settings = ChannelSettings {
        name: text(&i.channel_name).unwrap_or_default().to_string(),
        id: String::new(),
        role_arn: text(&i.service_execution_role_arn)
            .unwrap_or_default()
            .to_string(),
        stream_arn: text(&stream.stream_arn).unwrap_or_default().to_string(),
        stream_created_ms: 0,
        record_format: record_format_of(stream)?,
        freshness_secs: freshness(s3.data_freshness_in_seconds.as_ref().map(|n| n.0))?,
        template: template.to_string(),
        compression,
        storage_class: text(&storage.storage_class)
            .unwrap_or("STANDARD")
            .to_string(),
        dead_letters: dlq.map_or_else(
            || bucket.clone(),
            |d| bucket_of(&d.bucket_arn, &d.expected_bucket_owner),
        ),
        error_prefix: dlq
            .and_then(|d| text(&d.error_output_prefix))
            .unwrap_or_default()
            .to_string(),
        bucket,
        encryption: encryption_of(i)?,
        logging: i
            .logging_configuration
            .as_deref()
            .map(logging_of)
            .unwrap_or_default(),
        tags: (i.tags.iter().flat_map(|t| t.0.iter()))
            .map(|(k, v)| (k.clone(), v.0.clone()))
            .collect(),
    };
    check_key_length(f, &settings, &parsed)?;
    Ok(settings)
}

/// The expanded template must leave room for the suffix in S3's 1,024-character keys.
fn check_key_length(f: &Firehose, s: &ChannelSettings, t: &KeyTemplate) -> Result<(), ApiError> {
    let stream = crate::delivery::stream_name(&s.stream_arn);
    let ctx = KeyContext {
        channel_name: &s.name,
        channel_id: "00000000-0000-0000-0000-000000000000",
        stream_name: &stream,
        extension: s.compression.extension(),
    };
    let now = jiff::Timestamp::from_millisecond(f.registry.now()).unwrap_or_default();
    let chars = t.expanded_chars(&ctx, &now.to_zoned(jiff::tz::TimeZone::UTC));
    if chars > EXPANDED_MAX_CHARS {
        return Err(validation(format!(
            "OutputKeyTemplate expands to {chars} characters; at most {EXPANDED_MAX_CHARS} leave room for the unique suffix in a 1,024-character key."
        )));
    }
    Ok(())
}

async fn create(
    f: &Arc<Firehose>,
    i: CreateChannelInput,
) -> Result<ChannelDescriptionOutput, ApiError> {
    validate_create(&i)?;
    let settings = settings_of(f, &i)?;
    let record = f.create_channel(settings).await?;
    described(f, &record)
}

async fn delete(f: &Arc<Firehose>, i: ChannelArnInput) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    check_channel_arn(&mut v, &i.channel_arn);
    v.finish()?;
    f.delete_channel(text(&i.channel_arn).unwrap_or_default())
        .await?;
    Ok(EmptyOutput {})
}

async fn describe(
    f: &Arc<Firehose>,
    i: ChannelArnInput,
) -> Result<ChannelDescriptionOutput, ApiError> {
    let mut v = Validator::new();
    check_channel_arn(&mut v, &i.channel_arn);
    v.finish()?;
    let record = f.channel(text(&i.channel_arn).unwrap_or_default())?;
    described(f, &record)
}

/// Spate's `SpateAdmin_20261126.FlushChannel`: delivers what the channel has buffered now.
pub async fn flush(f: &Arc<Firehose>, i: ChannelArnInput) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    check_channel_arn(&mut v, &i.channel_arn);
    v.finish()?;
    let record = f.channel(text(&i.channel_arn).unwrap_or_default())?;
    f.flush(&record.name).await?;
    Ok(EmptyOutput {})
}

async fn update(
    f: &Arc<Firehose>,
    i: UpdateChannelInput,
) -> Result<ChannelDescriptionOutput, ApiError> {
    let mut v = Validator::new();
    check_channel_arn(&mut v, &i.channel_arn);
    if let Some(s3) = &i.s3_destination_configuration {
        v.required(
            &s3.data_freshness_in_seconds,
            "s3DestinationConfiguration.dataFreshnessInSeconds",
        );
    }
    if let Some(l) = &i.logging_configuration {
        validate_logging(&mut v, l);
    }
    v.finish()?;
    if i.s3_tables_destination_configuration.is_some() {
        return Err(invalid(
            "The channel delivers to a general purpose S3 bucket: give S3DestinationConfiguration.",
        ));
    }
    let seconds = match &i.s3_destination_configuration {
        Some(s3) => Some(freshness(
            s3.data_freshness_in_seconds.as_ref().map(|n| n.0),
        )?),
        None => None,
    };
    let logging = i.logging_configuration.as_deref().map(logging_of);
    let arn = text(&i.channel_arn).unwrap_or_default();
    let record = f
        .update_channel(arn, |s| {
            if let Some(seconds) = seconds {
                s.freshness_secs = seconds;
            }
            if let Some(logging) = logging {
                s.logging = logging;
            }
        })
        .await?;
    described(f, &record)
}

async fn list(f: &Arc<Firehose>, i: ListChannelsInput) -> Result<ListChannelsOutput, ApiError> {
    let mut v = Validator::new();
    let max = i.max_results.as_ref().map(|m| m.0);
    v.range(max, "maxResults", 1, 10_000);
    v.length(text(&i.next_token), "nextToken", 1, 1_048_576);
    v.finish()?;
    let after = match text(&i.next_token) {
        Some(t) => Some(
            STANDARD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| invalid(format!("Invalid NextToken {t}.")))?,
        ),
        None => None,
    };
    let filters: Vec<(String, Option<i64>)> = i
        .stream_filter
        .iter()
        .flat_map(|l| l.0.iter())
        .filter_map(|s| {
            Some((
                text(&s.stream_arn)?.to_string(),
                s.stream_creation_timestamp.map(|t| t.epoch_millis),
            ))
        })
        .collect();
    let mut channels: Vec<(String, Arc<DeliveryStreamRecord>)> = f
        .channels()
        .into_iter()
        .filter_map(|s| Some((s.channel.as_ref()?.name.clone(), s.clone())))
        .filter(|(name, _)| after.as_ref().is_none_or(|a| name > a))
        .filter(|(_, s)| {
            filters.is_empty()
                || s.channel.as_ref().is_some_and(|c| {
                    filters.iter().any(|(arn, at)| {
                        *arn == c.stream_arn && at.is_none_or(|t| t == c.stream_created_ms)
                    })
                })
        })
        .collect();
    channels.sort_by(|a, b| a.0.cmp(&b.0));
    let max = (max.unwrap_or(PAGE_MAX as i64) as usize).min(PAGE_MAX);
    let next_token = (channels.len() > max).then(|| {
        channels.truncate(max);
        STANDARD.encode(channels.last().map(|c| c.0.as_str()).unwrap_or_default())
    });
    let summaries = channels.iter().filter_map(|(_, s)| summary(f, s)).collect();
    Ok(ListChannelsOutput {
        channel_summaries: summaries,
        next_token,
    })
}

fn summary(f: &Firehose, s: &DeliveryStreamRecord) -> Option<ChannelSummary> {
    let c = s.channel.as_ref()?;
    Some(ChannelSummary {
        channel_name: c.name.clone(),
        channel_arn: f.channel_arn(&c.id),
        channel_id: c.id.clone(),
        channel_status: channel_status(s, f.registry.now(), f.config().updating_delay_ms),
        channel_creation_timestamp: Timestamp::from_millis(s.created_ms),
        channel_destination_type: "S3",
        streams: vec![StreamIdentifier {
            stream_arn: c.stream_arn.clone(),
            stream_creation_timestamp: Timestamp::from_millis(c.stream_created_ms),
        }],
    })
}

fn described(f: &Firehose, s: &DeliveryStreamRecord) -> Result<ChannelDescriptionOutput, ApiError> {
    let Some(c) = s.channel.as_deref().cloned() else {
        return Err(ApiError::new(
            ErrorKind::InternalFailure,
            format!("{} is not a channel", s.name),
        ));
    };
    let error_prefix = c.error_prefix();
    let logs = &c.logging;
    Ok(ChannelDescriptionOutput {
        channel_description: ChannelDescription {
            channel_arn: f.channel_arn(&c.id),
            channel_id: c.id.clone(),
            channel_status: channel_status(s, f.registry.now(), f.config().updating_delay_ms),
            channel_creation_timestamp: Timestamp::from_millis(s.created_ms),
            service_execution_role_arn: c.role_arn.clone(),
            stream_configuration_list: vec![StreamDescription {
                stream_arn: c.stream_arn.clone(),
                stream_creation_timestamp: Timestamp::from_millis(c.stream_created_ms),
                record_configuration: RecordConfigurationOut {
                    record_format_type: c.record_format.name(),
                },
            }],
            s3_destination_configuration: S3Description {
                data_freshness_in_seconds: c.freshness_secs,
                dead_letter_queue_s3_configuration: DeadLetterQueueOut {
                    bucket_arn: c.dead_letters.arn.clone(),
                    expected_bucket_owner: c.dead_letters.expected_owner.clone(),
                    error_output_prefix: error_prefix,
                },
                storage_configuration: StorageOut {
                    bucket_arn: c.bucket.arn.clone(),
                    expected_bucket_owner: c.bucket.expected_owner.clone(),
                    output_key_template: c.template.clone(),
                    storage_class: c.storage_class.clone(),
                    compression_type: c.compression.name(),
                },
            },
            encryption_configuration: c.encryption.as_ref().map(|(kind, key)| EncryptionOut {
                encryption_type: kind.clone(),
                key_id: key.clone(),
            }),
            logging_configuration: LoggingOut {
                cloud_watch_logs: CloudWatchLogsOut {
                    enabled: logs.enabled,
                    log_group_name: logs.enabled.then(|| {
                        logs.log_group
                            .clone()
                            .unwrap_or_else(|| format!("/aws/kinesis/{}/{}", c.name, c.id))
                    }),
                    log_stream_name: logs.enabled.then(|| {
                        logs.log_stream
                            .clone()
                            .unwrap_or_else(|| "DestinationDelivery".into())
                    }),
                },
            },
            channel_name: c.name,
        },
    })
}

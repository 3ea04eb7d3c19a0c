//! S3 destination configurations: validated into [`S3Destination`] values, and updates merged
//! into the current one.

use super::check::{self, flag, int, path, text};
use crate::errors::invalid;
use crate::model::{
    Buffering, CloudWatchLogging, Compression, DynamicPartitioning, Processing, S3Destination,
};
use spate_wire::firehose::{
    BufferingHints, CloudWatchLoggingOptions, EncryptionConfiguration, ProcessingConfiguration,
    S3Configuration, SecretsManagerConfiguration,
};
use spate_wire::validate::Validator;
use spate_wire::ApiError;

const PROCESSOR_TYPES: [&str; 6] = [
    "RecordDeAggregation",
    "Decompression",
    "CloudWatchLogProcessing",
    "Lambda",
    "MetadataExtraction",
    "AppendDelimiterToRecord",
];
const PARAMETER_NAMES: [&str; 11] = [
    "LambdaArn",
    "NumberOfRetries",
    "MetadataExtractionQuery",
    "JsonParsingEngine",
    "RoleArn",
    "BufferSizeInMBs",
    "BufferIntervalInSeconds",
    "SubRecordType",
    "Delimiter",
    "CompressionFormat",
    "DataMessageExtraction",
];

/// Checks an S3 configuration's members (`required`: RoleARN and BucketARN must be present,
/// as in the create shapes).
pub fn validate(v: &mut Validator, c: &S3Configuration, parent: &str, required: bool) {
    validate_location(v, c, parent, required);
    if let Some(h) = &c.buffering_hints {
        let at = path(parent, "bufferingHints");
        v.range(int(&h.size_in_mbs), &path(&at, "sizeInMBs"), 1, 128);
        v.range(
            int(&h.interval_in_seconds),
            &path(&at, "intervalInSeconds"),
            0,
            900,
        );
    }
    let format = text(&c.compression_format);
    v.one_of(
        format,
        &path(parent, "compressionFormat"),
        &Compression::WIRE,
    );
    if let Some(e) = &c.encryption_configuration {
        validate_encryption(v, e, &path(parent, "encryptionConfiguration"));
    }
    if let Some(l) = &c.cloud_watch_logging_options {
        validate_logging(v, l, &path(parent, "cloudWatchLoggingOptions"));
    }
    if let Some(p) = &c.processing_configuration {
        validate_processing(v, p, &path(parent, "processingConfiguration"));
    }
    validate_extended(v, c, parent);
}

/// Role, bucket and prefixes.
fn validate_location(v: &mut Validator, c: &S3Configuration, parent: &str, required: bool) {
    let (role_member, bucket_member) = (path(parent, "roleARN"), path(parent, "bucketARN"));
    let (role, bucket) = (text(&c.role_arn), text(&c.bucket_arn));
    if required {
        v.required(&c.role_arn, &role_member);
        v.required(&c.bucket_arn, &bucket_member);
    }
    v.length(role, &role_member, 1, 512);
    v.pattern(role, &role_member, check::ROLE_ARN_PATTERN, check::role_arn);
    v.length(bucket, &bucket_member, 1, 2048);
    v.pattern(
        bucket,
        &bucket_member,
        check::BUCKET_ARN_PATTERN,
        check::bucket_arn,
    );
    v.length(text(&c.prefix), &path(parent, "prefix"), 0, 1024);
    let error_prefix = text(&c.error_output_prefix);
    v.length(error_prefix, &path(parent, "errorOutputPrefix"), 0, 1024);
}

/// The members the destinations other than S3 share, each in its own shape: the bucket
/// (S3Configuration when created, S3Update when updated), processing, logging, Secrets Manager.
pub(super) struct Shared<'a> {
    pub s3_configuration: Option<&'a S3Configuration>,
    pub s3_update: Option<&'a S3Configuration>,
    pub processing: Option<&'a ProcessingConfiguration>,
    pub logging: Option<&'a CloudWatchLoggingOptions>,
    pub secrets_manager: Option<&'a SecretsManagerConfiguration>,
}

pub(super) fn validate_shared(v: &mut Validator, shared: Shared<'_>, parent: &str) {
    if let Some(b) = shared.s3_configuration {
        validate(v, b, &path(parent, "s3Configuration"), true);
    }
    if let Some(b) = shared.s3_update {
        validate(v, b, &path(parent, "s3Update"), false);
    }
    if let Some(p) = shared.processing {
        validate_processing(v, p, &path(parent, "processingConfiguration"));
    }
    if let Some(l) = shared.logging {
        validate_logging(v, l, &path(parent, "cloudWatchLoggingOptions"));
    }
    if let Some(m) = shared.secrets_manager {
        let member = path(parent, "secretsManagerConfiguration.enabled");
        v.required(&m.enabled, &member);
    }
}

pub(super) fn validate_logging(v: &mut Validator, l: &CloudWatchLoggingOptions, at: &str) {
    v.length(text(&l.log_group_name), &path(at, "logGroupName"), 0, 512);
    v.length(text(&l.log_stream_name), &path(at, "logStreamName"), 0, 512);
}

pub(super) fn logging(l: &CloudWatchLoggingOptions) -> CloudWatchLogging {
    CloudWatchLogging {
        enabled: flag(&l.enabled).unwrap_or(false),
        log_group_name: text(&l.log_group_name).map(str::to_string),
        log_stream_name: text(&l.log_stream_name).map(str::to_string),
    }
}

pub(super) fn validate_processing(v: &mut Validator, p: &ProcessingConfiguration, at: &str) {
    for (i, processor) in p.processors.iter().flat_map(|l| l.0.iter()).enumerate() {
        let at = format!("{at}.processors.{}.member", i + 1);
        v.required(&processor.kind, &path(&at, "type"));
        v.one_of(text(&processor.kind), &path(&at, "type"), &PROCESSOR_TYPES);
        for (j, p) in processor
            .parameters
            .iter()
            .flat_map(|l| l.0.iter())
            .enumerate()
        {
            let at = format!("{at}.parameters.{}.member", j + 1);
            let (name, value) = (path(&at, "parameterName"), path(&at, "parameterValue"));
            v.required(&p.parameter_name, &name);
            v.one_of(text(&p.parameter_name), &name, &PARAMETER_NAMES);
            v.required(&p.parameter_value, &value);
            v.length(text(&p.parameter_value), &value, 1, 5120);
        }
    }
}

/// The members only ExtendedS3 has.
fn validate_extended(v: &mut Validator, c: &S3Configuration, parent: &str) {
    let modes = ["Disabled", "Enabled"];
    v.one_of(
        text(&c.s3_backup_mode),
        &path(parent, "s3BackupMode"),
        &modes,
    );
    let backup = c
        .s3_backup_configuration
        .as_deref()
        .map(|b| (b, "s3BackupConfiguration"));
    let backup = backup.or(c.s3_backup_update.as_deref().map(|b| (b, "s3BackupUpdate")));
    if let Some((b, member)) = backup {
        validate(
            v,
            b,
            &path(parent, member),
            member == "s3BackupConfiguration",
        );
    }
    let partitioning = c.dynamic_partitioning_configuration.as_ref();
    if let Some(retry) = partitioning.and_then(|d| d.retry_options.as_ref()) {
        let at = path(parent, "dynamicPartitioningConfiguration.retryOptions");
        let seconds = int(&retry.duration_in_seconds);
        v.range(seconds, &path(&at, "durationInSeconds"), 0, 7200);
    }
    let (ext_member, zone_member) = (
        path(parent, "fileExtension"),
        path(parent, "customTimeZone"),
    );
    if let Some(f) = &c.data_format_conversion_configuration {
        let at = path(parent, "dataFormatConversionConfiguration");
        super::conversion::validate(v, f, &at);
    }
    let ext = text(&c.file_extension);
    v.length(ext, &ext_member, 0, 128);
    v.pattern(
        ext,
        &ext_member,
        check::FILE_EXTENSION_PATTERN,
        check::file_extension,
    );
    let zone = text(&c.custom_time_zone);
    v.length(zone, &zone_member, 0, 50);
    v.pattern(
        zone,
        &zone_member,
        check::TIME_ZONE_PATTERN,
        check::time_zone,
    );
}

fn validate_encryption(v: &mut Validator, e: &EncryptionConfiguration, at: &str) {
    v.one_of(
        text(&e.no_encryption_config),
        &path(at, "noEncryptionConfig"),
        &["NoEncryption"],
    );
    if let Some(kms) = &e.kms_encryption_config {
        let member = path(at, "kMSEncryptionConfig.aWSKMSKeyARN");
        let arn = text(&kms.aws_kms_key_arn);
        v.required(&kms.aws_kms_key_arn, &member);
        v.length(arn, &member, 1, 512);
        v.pattern(arn, &member, check::KMS_KEY_ARN_PATTERN, |a| {
            check::kms_key_arn(a, true)
        });
    }
}

/// A new destination from a create shape (validated already).
pub fn from_config(c: &S3Configuration) -> Result<S3Destination, ApiError> {
    merge(S3Destination::default(), c)
}

/// `current` with every member `c` gives replaced; then the semantic checks.
pub fn merge(mut d: S3Destination, c: &S3Configuration) -> Result<S3Destination, ApiError> {
    if let Some(role) = text(&c.role_arn) {
        d.role_arn = role.to_string();
    }
    if let Some(bucket) = text(&c.bucket_arn) {
        d.bucket_arn = bucket.to_string();
    }
    if c.prefix.is_some() {
        d.prefix = text(&c.prefix).map(str::to_string);
    }
    if c.error_output_prefix.is_some() {
        d.error_output_prefix = text(&c.error_output_prefix).map(str::to_string);
    }
    if let Some(h) = &c.buffering_hints {
        d.buffering = buffering(d.buffering, h);
    }
    if let Some(format) = text(&c.compression_format).and_then(Compression::parse) {
        d.compression = format;
    }
    if let Some(e) = &c.encryption_configuration {
        d.kms_key_arn = e
            .kms_encryption_config
            .as_ref()
            .and_then(|k| text(&k.aws_kms_key_arn))
            .map(str::to_string);
    }
    if let Some(l) = &c.cloud_watch_logging_options {
        d.logging = logging(l);
    }
    merge_extended(&mut d, c)?;
    check_semantics(&d)?;
    Ok(d)
}

/// The members only ExtendedS3 has.
fn merge_extended(d: &mut S3Destination, c: &S3Configuration) -> Result<(), ApiError> {
    if let Some(p) = &c.processing_configuration {
        d.processing = Some(processing(p));
    }
    if let Some(mode) = text(&c.s3_backup_mode) {
        d.backup_enabled = mode == "Enabled";
    }
    let backup = c
        .s3_backup_configuration
        .as_deref()
        .or(c.s3_backup_update.as_deref());
    if let Some(b) = backup {
        let current = d.backup.take().map(|b| *b).unwrap_or_default();
        d.backup = Some(Box::new(merge(current, b)?));
    }
    if let Some(p) = &c.dynamic_partitioning_configuration {
        d.dynamic_partitioning = Some(DynamicPartitioning {
            enabled: flag(&p.enabled).unwrap_or(false),
            retry_duration_secs: p
                .retry_options
                .as_ref()
                .and_then(|r| int(&r.duration_in_seconds)),
        });
    }
    if let Some(f) = &c.data_format_conversion_configuration {
        super::conversion::merge(d, f)?;
    }
    if c.file_extension.is_some() {
        d.file_extension = text(&c.file_extension).map(str::to_string);
    }
    if c.custom_time_zone.is_some() {
        d.custom_time_zone = text(&c.custom_time_zone).map(str::to_string);
    }
    Ok(())
}

/// Each hint may be given alone; the other keeps its value.
pub(super) fn buffering(current: Buffering, h: &BufferingHints) -> Buffering {
    Buffering {
        size_mb: int(&h.size_in_mbs).unwrap_or(current.size_mb),
        interval_secs: int(&h.interval_in_seconds).unwrap_or(current.interval_secs),
    }
}

pub(super) fn processing(p: &ProcessingConfiguration) -> Processing {
    let processors = p.processors.iter().flat_map(|l| l.0.iter());
    Processing {
        enabled: flag(&p.enabled).unwrap_or(false),
        processors: processors
            .map(|proc| {
                let params = proc.parameters.iter().flat_map(|l| l.0.iter());
                let params = params.map(|p| {
                    let name = text(&p.parameter_name).unwrap_or_default().to_string();
                    (
                        name,
                        text(&p.parameter_value).unwrap_or_default().to_string(),
                    )
                });
                (
                    text(&proc.kind).unwrap_or_default().to_string(),
                    params.collect(),
                )
            })
            .collect(),
    }
}

/// Rules beyond the shapes: prefixes, time zone, and what Spate does not deliver yet.
/// Processing of a destination other than S3: MetadataExtraction is refused, for it serves
/// dynamic partitioning, which only S3 destinations have.
pub(super) fn check_processing_without_partitioning(
    processing: Option<&crate::model::Processing>,
) -> Result<(), ApiError> {
    if let Some(p) = processing {
        let processors = crate::delivery::process::Processors::of(p).map_err(invalid)?;
        if processors.as_ref().is_some_and(|p| p.extracts_metadata()) {
            return Err(invalid(
                "MetadataExtraction serves dynamic partitioning, which only S3 destinations have.",
            ));
        }
    }
    Ok(())
}

pub(super) fn check_semantics(d: &S3Destination) -> Result<(), ApiError> {
    super::conversion::check(d)?;
    if d.backup_enabled && d.backup.is_none() {
        return Err(invalid(
            "S3BackupConfiguration must be given when S3BackupMode is Enabled.",
        ));
    }
    let prefixes = d.prefixes().map_err(invalid)?;
    let processors = match &d.processing {
        Some(p) => crate::delivery::process::Processors::of(p).map_err(invalid)?,
        None => None,
    };
    if prefixes.prefix.uses_keys_from(false)
        && !processors.as_ref().is_some_and(|p| p.extracts_metadata())
    {
        return Err(invalid(
            "The prefix uses partitionKeyFromQuery, which needs a MetadataExtraction processor.",
        ));
    }
    d.time_zone().map_err(invalid)?;
    Ok(())
}

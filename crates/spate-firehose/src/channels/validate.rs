//! The channel operations' requests checked against the Kinesis model's shapes (lengths,
//! patterns, enums, required members), with AWS's validation messages.

use super::shapes::*;
use spate_wire::validate::Validator;
use spate_wire::{ApiError, Str};

const ROLE_PATTERN: &str = r"arn:aws[-a-z0-9]*:iam::\d{12}:role/[a-zA-Z_0-9+=,.@\-_/]+";
const BUCKET_PATTERN: &str = r"arn:aws[-a-z0-9]*:s3:::[a-z0-9._-]{3,63}";
const STREAM_PATTERN: &str = r"arn:aws.*:kinesis:.*:\d{12}:stream/\S+";
const CHANNEL_PATTERN: &str = r"arn:aws.*:kinesis:.*:\d{12}:channel/\S+";

pub fn text(v: &Option<Str>) -> Option<&str> {
    v.as_ref().map(Str::as_str)
}

fn matches_arn(text: &str, service: &str, resource: &str) -> bool {
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, s, _, account, rest]
        if partition.starts_with("aws") && *s == service
            && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())
            && rest.strip_prefix(resource).is_some_and(|n| !n.is_empty() && !n.contains(char::is_whitespace)))
}

fn is_bucket_arn(a: &str) -> bool {
    a.split_once(":s3:::").is_some_and(|(head, name)| {
        head.starts_with("arn:aws")
            && (3..=63).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b))
    })
}

pub fn check_channel_arn(v: &mut Validator, arn: &Option<Str>) {
    v.required(arn, "channelARN");
    v.length(text(arn), "channelARN", 1, 2048);
    v.pattern(text(arn), "channelARN", CHANNEL_PATTERN, |a| {
        matches_arn(a, "kinesis", "channel/")
    });
}

fn check_bucket(v: &mut Validator, arn: &Option<Str>, owner: &Option<Str>, at: &str) {
    let member = format!("{at}.bucketARN");
    v.required(arn, &member);
    v.length(text(arn), &member, 1, 2048);
    v.pattern(text(arn), &member, BUCKET_PATTERN, is_bucket_arn);
    let member = format!("{at}.expectedBucketOwner");
    v.required(owner, &member);
    v.length(text(owner), &member, 12, 12);
    v.pattern(text(owner), &member, r"\d{12}", |o| {
        o.bytes().all(|b| b.is_ascii_digit())
    });
}

pub fn validate_create(i: &CreateChannelInput) -> Result<(), ApiError> {
    let mut v = Validator::new();
    v.required(&i.channel_name, "channelName");
    v.length(text(&i.channel_name), "channelName", 1, 128);
    v.pattern(
        text(&i.channel_name),
        "channelName",
        "[a-zA-Z0-9_.-]+",
        |n| {
            n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
        },
    );
    let role = text(&i.service_execution_role_arn);
    v.required(&i.service_execution_role_arn, "serviceExecutionRoleARN");
    v.length(role, "serviceExecutionRoleARN", 1, 512);
    v.pattern(role, "serviceExecutionRoleARN", ROLE_PATTERN, |r| {
        r.starts_with("arn:aws") && r.contains(":iam::") && r.contains(":role/")
    });
    validate_streams(&mut v, i);
    if let Some(s3) = &i.s3_destination_configuration {
        validate_s3(&mut v, s3);
    }
    if let Some(e) = &i.encryption_configuration {
        let at = "encryptionConfiguration";
        v.required(&e.encryption_type, &format!("{at}.encryptionType"));
        v.one_of(
            text(&e.encryption_type),
            &format!("{at}.encryptionType"),
            &["KMS"],
        );
        v.required(&e.key_id, &format!("{at}.keyId"));
        v.length(text(&e.key_id), &format!("{at}.keyId"), 1, 2048);
    }
    if let Some(tags) = &i.tags {
        v.count(
            Some(tags.0.len()),
            || format!("[{} tags]", tags.0.len()),
            "tags",
            1,
            200,
        );
    }
    if let Some(l) = &i.logging_configuration {
        validate_logging(&mut v, l);
    }
    v.finish()
}

fn validate_streams(v: &mut Validator, i: &CreateChannelInput) {
    v.required(&i.stream_configuration_list, "streamConfigurationList");
    if let Some(list) = &i.stream_configuration_list {
        let shown = || format!("[{} configurations]", list.0.len());
        v.count(
            Some(list.0.len()),
            shown,
            "streamConfigurationList",
            1,
            10_000,
        );
        for s in &list.0 {
            let arn = text(&s.stream_arn);
            v.required(&s.stream_arn, "streamConfigurationList.member.streamARN");
            v.length(arn, "streamConfigurationList.member.streamARN", 1, 2048);
            v.pattern(
                arn,
                "streamConfigurationList.member.streamARN",
                STREAM_PATTERN,
                |a| matches_arn(a, "kinesis", "stream/"),
            );
            let at = "streamConfigurationList.member.recordConfiguration";
            v.required(&s.record_configuration, at);
            if let Some(r) = &s.record_configuration {
                let member = format!("{at}.recordFormatType");
                v.required(&r.record_format_type, &member);
                v.one_of(
                    text(&r.record_format_type),
                    &member,
                    &["GSR_JSON", "JSON", "STRING", "BYTE_ARRAY"],
                );
                let member = format!("{at}.gSRSchemaARN");
                v.length(text(&r.gsr_schema_arn), &member, 1, 512);
            }
        }
    }
}

fn validate_s3(v: &mut Validator, s3: &S3Configuration) {
    let at = "s3DestinationConfiguration";
    if let Some(d) = &s3.dead_letter_queue_s3_configuration {
        let dlq = format!("{at}.deadLetterQueueS3Configuration");
        check_bucket(v, &d.bucket_arn, &d.expected_bucket_owner, &dlq);
        let member = format!("{dlq}.errorOutputPrefix");
        v.length(text(&d.error_output_prefix), &member, 1, 512);
        v.pattern(
            text(&d.error_output_prefix),
            &member,
            r"[0-9A-Za-z!\-_'.*()\/]+",
            |p| {
                p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!-_'.*()/".contains(c))
            },
        );
    }
    let storage = format!("{at}.storageConfiguration");
    v.required(&s3.storage_configuration, &storage);
    if let Some(s) = &s3.storage_configuration {
        check_bucket(v, &s.bucket_arn, &s.expected_bucket_owner, &storage);
        let member = format!("{storage}.outputKeyTemplate");
        v.length(text(&s.output_key_template), &member, 1, 1024);
        v.pattern(
            text(&s.output_key_template),
            &member,
            r"[0-9A-Za-z!\-_'.*()\/=:{}]+",
            |t| {
                t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!-_'.*()/=:{}".contains(c))
            },
        );
        let member = format!("{storage}.storageClass");
        v.one_of(
            text(&s.storage_class),
            &member,
            &["STANDARD", "INTELLIGENT_TIERING", "GLACIER_IR"],
        );
        let member = format!("{storage}.compressionType");
        v.required(&s.compression_type, &member);
        v.one_of(
            text(&s.compression_type),
            &member,
            &["NONE", "GZIP", "ZSTD"],
        );
    }
}

pub fn validate_logging(v: &mut Validator, l: &Logging) {
    let at = "loggingConfiguration.cloudWatchLogs";
    v.required(&l.cloud_watch_logs, at);
    if let Some(c) = &l.cloud_watch_logs {
        v.required(&c.enabled, &format!("{at}.enabled"));
        let group = format!("{at}.logGroupName");
        v.length(text(&c.log_group_name), &group, 1, 512);
        v.pattern(
            text(&c.log_group_name),
            &group,
            r"[\.\-_/#A-Za-z0-9]+",
            |g| {
                g.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c))
            },
        );
        let stream = format!("{at}.logStreamName");
        v.length(text(&c.log_stream_name), &stream, 1, 512);
        v.pattern(text(&c.log_stream_name), &stream, "[^:*]*", |s| {
            !s.contains([':', '*'])
        });
    }
}

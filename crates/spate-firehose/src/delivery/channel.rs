//! A Kinesis channel's objects for one buffer: the records that pass their format's check
//! (JSON: one JSON value; STRING: UTF-8; BYTE_ARRAY: anything) in one object named by the
//! channel's key template, compressed as configured; and, for the records that fail, a
//! dead-letter object of error records under the channel's error prefix. As AWS documents,
//! the dead-letter entries carry the record's identity and the error, not its data.
//!
//! Layout (the developer guide says records are delivered "as-is" and does not say more):
//! JSON and STRING records one per line (a newline is added to a record that does not end
//! with one), BYTE_ARRAY records back to back.

use crate::channels::model::{ChannelCompression, ChannelSettings, RecordFormat};
use crate::channels::template::{KeyContext, KeyTemplate};
use crate::delivery::process::KinesisMetadata;
use crate::ids::uuid_v4;
use bytes::Bytes;
use serde::Serialize;
use spate_objects::PutObject;

/// One record of the buffer: arrival, data, and the Kinesis identity the source pump kept.
pub struct ChannelRecord<'a> {
    pub arrival_ms: i64,
    pub data: &'a [u8],
    pub kinesis: Option<KinesisMetadata>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeadLetter<'a> {
    #[serde(rename = "streamARN")]
    stream_arn: &'a str,
    shard_id: &'a str,
    sequence_number: &'a str,
    approximate_arrival_timestamp: i64,
    error_code: &'static str,
    error_message: String,
}

/// The error code of records that fail their format's check.
pub const FORMAT_MISMATCH: &str = "RecordFormatMismatch";

/// Why `data` is not a record of `format`, if it is not.
fn format_error(format: RecordFormat, data: &[u8]) -> Option<String> {
    match format {
        RecordFormat::ByteArray => None,
        RecordFormat::String => std::str::from_utf8(data)
            .err()
            .map(|e| format!("The record is not a valid UTF-8 string: {e}.")),
        RecordFormat::Json => serde_json::from_slice::<serde::de::IgnoredAny>(data)
            .err()
            .map(|e| format!("The record is not a valid JSON payload: {e}.")),
    }
}

fn utc(epoch_ms: i64) -> Result<jiff::Zoned, String> {
    let t =
        jiff::Timestamp::from_millisecond(epoch_ms).map_err(|e| format!("arrival time: {e}"))?;
    Ok(t.to_zoned(jiff::tz::TimeZone::UTC))
}

fn compress(compression: ChannelCompression, raw: Vec<u8>) -> Result<Vec<u8>, String> {
    match compression {
        ChannelCompression::None => Ok(raw),
        ChannelCompression::Gzip => {
            let records = std::iter::once(raw.as_slice());
            crate::delivery::compress::compress(crate::model::Compression::Gzip, records, "")
                .map_err(|e| format!("compressing the object: {e}"))
        }
        ChannelCompression::Zstd => Ok(ruzstd::encoding::compress_to_vec(
            raw.as_slice(),
            ruzstd::encoding::CompressionLevel::Fastest,
        )),
    }
}

/// The objects for `records` (oldest first): the delivered object (none if every record
/// failed) and the dead-letter object (none if none did).
pub fn channel_objects(
    channel: &ChannelSettings,
    records: &[ChannelRecord<'_>],
) -> Result<Vec<PutObject>, String> {
    let mut body = Vec::new();
    let (mut oldest, mut failed) = (None, Vec::new());
    for record in records {
        if let Some(why) = format_error(channel.record_format, record.data) {
            failed.push((record, why));
            continue;
        }
        oldest.get_or_insert(record.arrival_ms);
        body.extend_from_slice(record.data);
        let lines = channel.record_format != RecordFormat::ByteArray;
        if lines && !record.data.ends_with(b"\n") {
            body.push(b'\n');
        }
    }
    let stream_name = channel.source_stream_name();
    let mut objects = Vec::new();
    if let Some(oldest) = oldest {
        let compressed = channel.compression != ChannelCompression::None;
        let template = KeyTemplate::parse(&channel.template, compressed)?;
        let ctx = KeyContext {
            channel_name: &channel.name,
            channel_id: &channel.id,
            stream_name: &stream_name,
            extension: channel.compression.extension(),
        };
        let key = template.key(&ctx, &utc(oldest)?, &format!("-{}", uuid_v4()));
        objects.push(PutObject {
            bucket: channel.bucket.name().to_string(),
            key,
            body: Bytes::from(compress(channel.compression, body)?),
            content_encoding: None,
        });
    }
    if let Some((first, _)) = failed.first() {
        objects.push(dead_letters(channel, first.arrival_ms, &failed)?);
    }
    Ok(objects)
}

/// `<error prefix>yyyy/MM/dd/HH/<channel>-<id>-yyyy-MM-dd-HH-mm-ss-<uuid>`: one JSON error
/// record per line.
fn dead_letters(
    channel: &ChannelSettings,
    oldest_ms: i64,
    failed: &[(&ChannelRecord<'_>, String)],
) -> Result<PutObject, String> {
    let t = utc(oldest_ms)?;
    let key = format!(
        "{}{}/{:02}/{:02}/{:02}/{}-{}-{}-{:02}-{:02}-{:02}-{:02}-{:02}-{}",
        channel.error_prefix(),
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        channel.name,
        channel.id,
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        uuid_v4()
    );
    let mut body = Vec::new();
    for (record, why) in failed {
        let kinesis = record.kinesis.as_ref();
        let line = DeadLetter {
            stream_arn: &channel.stream_arn,
            shard_id: kinesis.map_or("", |k| k.shard_id.as_str()),
            sequence_number: kinesis.map_or("", |k| k.sequence_number.as_str()),
            approximate_arrival_timestamp: record.arrival_ms,
            error_code: FORMAT_MISMATCH,
            error_message: why.clone(),
        };
        serde_json::to_writer(&mut body, &line).map_err(|e| e.to_string())?;
        body.push(b'\n');
    }
    Ok(PutObject {
        bucket: channel.dead_letters.name().to_string(),
        key,
        body: Bytes::from(body),
        content_encoding: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::model::{Bucket, ChannelLogging};
    use std::io::Read;

    fn channel(format: RecordFormat, compression: ChannelCompression) -> ChannelSettings {
        ChannelSettings {
            name: "orders".into(),
            id: "cid".into(),
            role_arn: String::new(),
            stream_arn: "arn:aws:kinesis:us-east-1:000000000000:stream/src".into(),
            stream_created_ms: 0,
            record_format: format,
            freshness_secs: 300,
            template: "out/!{stream-name}/!{yyyy}!{MM}!{dd}!{extension}".into(),
            compression,
            storage_class: "STANDARD".into(),
            bucket: Bucket {
                arn: "arn:aws:s3:::data-bucket".into(),
                expected_owner: "000000000000".into(),
            },
            dead_letters: Bucket {
                arn: "arn:aws:s3:::dlq-bucket".into(),
                expected_owner: "000000000000".into(),
            },
            error_prefix: String::new(),
            encryption: None,
            logging: ChannelLogging::default(),
            tags: Default::default(),
        }
    }

    fn record(data: &[u8]) -> ChannelRecord<'_> {
        ChannelRecord {
            // 2026-07-20T14:30:05Z.
            arrival_ms: 1_784_557_805_000,
            data,
            kinesis: Some(KinesisMetadata {
                shard_id: "shardId-000000000000".into(),
                sequence_number: "4960".into(),
                arrival_ms: 1_784_557_805_000,
                partition_key: "k".into(),
            }),
        }
    }

    #[test]
    fn json_records_are_lines_and_invalid_ones_go_to_the_dead_letter_prefix() {
        let c = channel(RecordFormat::Json, ChannelCompression::Gzip);
        let records = [record(b"{\"a\":1}"), record(b"not json"), record(b"[2]\n")];
        let objects = channel_objects(&c, &records).unwrap();
        assert_eq!(objects.len(), 2);
        let data = &objects[0];
        assert_eq!(data.bucket, "data-bucket");
        assert!(data.key.starts_with("out/src/20260720-"), "{}", data.key);
        assert!(data.key.ends_with(".gz") && data.key.len() == "out/src/20260720-".len() + 36 + 3);
        let mut text = String::new();
        flate2::read::GzDecoder::new(&data.body[..])
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(text, "{\"a\":1}\n[2]\n");
        let dlq = &objects[1];
        assert_eq!(dlq.bucket, "dlq-bucket");
        assert!(
            dlq.key.starts_with(
                "kinesis-channel/errors/orders/cid/2026/07/20/14/orders-cid-2026-07-20-14-30-05-"
            ),
            "{}",
            dlq.key
        );
        let line: serde_json::Value = serde_json::from_slice(&dlq.body).unwrap();
        assert_eq!(line["errorCode"], FORMAT_MISMATCH);
        assert_eq!(line["shardId"], "shardId-000000000000");
        assert_eq!(line["sequenceNumber"], "4960");
        assert!(
            line.get("data").is_none() && line.get("rawData").is_none(),
            "no payload"
        );
    }

    #[test]
    fn zstd_and_byte_arrays_round_trip() {
        let c = channel(RecordFormat::ByteArray, ChannelCompression::Zstd);
        let records = [record(&[0xff, 0x00]), record(b"x")];
        let objects = channel_objects(&c, &records).unwrap();
        assert_eq!(objects.len(), 1);
        assert!(objects[0].key.ends_with(".zst"));
        let mut decoder = ruzstd::decoding::StreamingDecoder::new(&objects[0].body[..]).unwrap();
        let mut out = Vec::new();
        decoder.read_to_end(&mut out).unwrap();
        assert_eq!(out, [0xff, 0x00, b'x']);
        let strings = channel(RecordFormat::String, ChannelCompression::None);
        let objects = channel_objects(&strings, &[record(&[0xff])]).unwrap();
        assert_eq!(objects.len(), 1, "only the dead letter");
        assert_eq!(objects[0].bucket, "dlq-bucket");
    }
}

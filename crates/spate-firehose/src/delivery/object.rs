//! An object for a buffer of records: its key as Firehose names it and its bytes.
//!
//! Key: `<evaluated prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid><extension>`, the time
//! being the arrival of the oldest record in the object, in the destination's time zone.

use super::compress::compress;
use super::javatime::Pattern;
use crate::ids::uuid_v4;
use crate::model::{DeliveryStreamRecord, S3Destination};
use bytes::Bytes;
use jiff::Zoned;
use spate_objects::PutObject;

/// The object for `records` (oldest first) of `stream`, whose oldest record arrived at
/// `oldest_arrival_ms`.
pub fn build<'a>(
    stream: &DeliveryStreamRecord,
    destination: &S3Destination,
    oldest_arrival_ms: i64,
    records: impl Iterator<Item = &'a [u8]>,
) -> Result<PutObject, String> {
    let time = zoned(destination, oldest_arrival_ms)?;
    let prefix = destination.prefixes()?.prefix.evaluate(&time);
    build_at(stream, destination, &prefix, &time, records)
}

/// The object for `records` under an evaluated `prefix` (a dynamic partition's).
pub fn build_at<'a>(
    stream: &DeliveryStreamRecord,
    destination: &S3Destination,
    prefix: &str,
    time: &Zoned,
    records: impl Iterator<Item = &'a [u8]>,
) -> Result<PutObject, String> {
    let name = object_name(stream, time);
    let key = format!("{prefix}{name}{}", destination.extension());
    let body = compress(destination.compression, records, &name)
        .map_err(|e| format!("compressing the object: {e}"))?;
    Ok(PutObject {
        bucket: destination.bucket().to_string(),
        key,
        body: Bytes::from(body),
        content_encoding: None,
    })
}

/// The object of a body made already (a converted file) under an evaluated `prefix`.
pub fn with_body(
    stream: &DeliveryStreamRecord,
    destination: &S3Destination,
    prefix: &str,
    time: &Zoned,
    body: Vec<u8>,
) -> PutObject {
    let name = object_name(stream, time);
    PutObject {
        bucket: destination.bucket().to_string(),
        key: format!("{prefix}{name}{}", destination.extension()),
        body: Bytes::from(body),
        content_encoding: None,
    }
}

/// `<stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>`.
fn object_name(stream: &DeliveryStreamRecord, time: &Zoned) -> String {
    let stamp = suffix_time().format(time);
    format!("{}-{}-{stamp}-{}", stream.name, stream.version, uuid_v4())
}

pub(super) fn suffix_time() -> Pattern {
    // A constant pattern of supported letters.
    Pattern::parse("yyyy-MM-dd-HH-mm-ss").unwrap_or_else(|_| Pattern::hourly())
}

pub fn zoned(destination: &S3Destination, epoch_ms: i64) -> Result<Zoned, String> {
    let zone = destination.time_zone()?;
    let instant =
        jiff::Timestamp::from_millisecond(epoch_ms).map_err(|e| format!("arrival time: {e}"))?;
    Ok(instant.to_zoned(zone))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Compression, Destination, Source};

    fn stream(destination: S3Destination) -> DeliveryStreamRecord {
        DeliveryStreamRecord {
            format_version: 1,
            name: "orders".into(),
            created_ms: 0,
            updated_ms: None,
            lifecycle: spate_catalog::Lifecycle::Active,
            version: 3,
            log_id: 0,
            source: Source::DirectPut {
                throughput_hint_mb: None,
            },
            destination: Destination::S3 {
                extended: true,
                config: destination,
            },
            tags: Default::default(),
            sse: None,
            channel: None,
        }
    }

    #[test]
    fn keys_are_named_as_firehose_names_them() {
        let destination = S3Destination {
            bucket_arn: "arn:aws:s3:::my-bucket".into(),
            prefix: Some("logs/".into()),
            compression: Compression::Gzip,
            custom_time_zone: Some("Asia/Tokyo".into()),
            ..S3Destination::default()
        };
        let s = stream(destination.clone());
        // 2018-08-27T10:30:05Z is 19:30:05 in Tokyo.
        let object = build(&s, &destination, 1_535_365_805_000, [&b"a"[..]].into_iter()).unwrap();
        assert_eq!(object.bucket, "my-bucket");
        let key = object.key;
        assert!(
            key.starts_with("logs/2018/08/27/19/orders-3-2018-08-27-19-30-05-"),
            "{key}"
        );
        assert!(key.ends_with(".gz"), "{key}");
        assert_eq!(
            key.len(),
            "logs/2018/08/27/19/orders-3-2018-08-27-19-30-05-".len() + 36 + 3
        );
    }

    #[test]
    fn a_file_extension_replaces_the_formats() {
        let destination = S3Destination {
            bucket_arn: "arn:aws:s3:::b-1".into(),
            file_extension: Some(".json.gz".into()),
            compression: Compression::Gzip,
            ..S3Destination::default()
        };
        let object = build(
            &stream(destination.clone()),
            &destination,
            0,
            std::iter::empty(),
        )
        .unwrap();
        assert!(object
            .key
            .starts_with("1970/01/01/00/orders-3-1970-01-01-00-00-00-"));
        assert!(object.key.ends_with(".json.gz"));
    }
}

//! Failed records written to S3: one JSON document per line, in the error-record format of
//! Firehose's developer guide (`attemptsMade`, `arrivalTimestamp`, `errorCode`, `errorMessage`,
//! `attemptEndingTimestamp`, `rawData`), under the destination's error prefix with
//! `!{firehose:error-output-type}` standing for the failure's type.

use super::object::zoned;
use crate::ids::{record_id, uuid_v4};
use crate::model::{DeliveryStreamRecord, S3Destination};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use serde::Serialize;
use spate_objects::PutObject;

/// `error-output-type` of HTTP endpoint failures.
pub const HTTP_ENDPOINT_FAILED: &str = "http-endpoint-failed";
/// The error code Firehose reports for an endpoint's refusals and failures.
pub const DESTINATION_EXCEPTION: &str = "HttpEndpoint.DestinationException";

/// One failed record, as delivered from the log.
pub struct Failed<'a> {
    pub counter: u64,
    pub arrival_ms: i64,
    pub data: &'a [u8],
}

/// What went wrong with the batch.
pub struct Failure<'a> {
    pub error_type: &'a str,
    pub code: &'a str,
    pub message: &'a str,
    pub attempts: u32,
    pub ending_ms: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorRecord<'a> {
    attempts_made: u32,
    arrival_timestamp: i64,
    error_code: &'a str,
    error_message: &'a str,
    attempt_ending_timestamp: i64,
    raw_data: String,
    subsequence_number: u32,
    data_id: String,
}

/// The key of an error-output object of `error_type` whose oldest record arrived at `oldest`.
pub(crate) fn error_key(
    stream: &DeliveryStreamRecord,
    destination: &S3Destination,
    error_type: &str,
    oldest: i64,
) -> Result<String, String> {
    let time = zoned(destination, oldest)?;
    let prefix = destination.prefixes()?.evaluate_error(&time, error_type);
    let stamp = super::object::suffix_time().format(&time);
    Ok(format!(
        "{prefix}{}-{}-{stamp}-{}",
        stream.name,
        stream.version,
        uuid_v4()
    ))
}

/// The error-output object for `records` (oldest first).
pub fn error_object<'a>(
    stream: &DeliveryStreamRecord,
    destination: &S3Destination,
    failure: &Failure<'_>,
    records: impl Iterator<Item = Failed<'a>>,
) -> Result<PutObject, String> {
    let mut records = records.peekable();
    let oldest = records.peek().map_or(failure.ending_ms, |r| r.arrival_ms);
    let lines = records.map(|record| ErrorRecord {
        attempts_made: failure.attempts,
        arrival_timestamp: record.arrival_ms,
        error_code: failure.code,
        error_message: failure.message,
        attempt_ending_timestamp: failure.ending_ms,
        raw_data: STANDARD.encode(record.data),
        subsequence_number: 0,
        data_id: record_id(stream.log_id, record.counter, record.arrival_ms),
    });
    let key = error_key(stream, destination, failure.error_type, oldest)?;
    json_lines_object(destination, key, lines)
}

/// An object of one JSON document per line.
pub(crate) fn json_lines_object(
    destination: &S3Destination,
    key: String,
    lines: impl Iterator<Item = impl Serialize>,
) -> Result<PutObject, String> {
    let mut body = Vec::new();
    for line in lines {
        serde_json::to_writer(&mut body, &line).map_err(|e| e.to_string())?;
        body.push(b'\n');
    }
    Ok(PutObject {
        bucket: destination.bucket().to_string(),
        key,
        body: Bytes::from(body),
        content_encoding: None,
    })
}

/// `error-output-type` (and folder) of documents an OpenSearch cluster did not index.
pub const OPENSEARCH_FAILED: &str = "AmazonOpenSearchService-failed";

/// A document the cluster did not index, with the status and error it answered.
pub struct FailedDocument<'a> {
    pub arrival_ms: i64,
    pub data: &'a [u8],
    pub code: String,
    pub message: String,
    pub document_id: Option<String>,
    pub index: String,
    pub type_name: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OpenSearchErrorRecord<'a> {
    attempts_made: u32,
    arrival_timestamp: i64,
    error_code: &'a str,
    error_message: &'a str,
    attempt_ending_timestamp: i64,
    raw_data: String,
    subsequence_number: u32,
    es_document_id: Option<&'a str>,
    es_index_name: &'a str,
    es_type_name: &'a str,
}

/// The `AmazonOpenSearchService-failed` object for `documents` (oldest first), in the error
/// record format of Firehose's OpenSearch backup (`esDocumentId`, `esIndexName`, `esTypeName`).
pub fn opensearch_failed_object(
    stream: &DeliveryStreamRecord,
    destination: &S3Destination,
    attempts: u32,
    ending_ms: i64,
    documents: &[FailedDocument<'_>],
) -> Result<PutObject, String> {
    let oldest = documents.first().map_or(ending_ms, |d| d.arrival_ms);
    let key = error_key(stream, destination, OPENSEARCH_FAILED, oldest)?;
    let lines = documents.iter().map(|d| OpenSearchErrorRecord {
        attempts_made: attempts,
        arrival_timestamp: d.arrival_ms,
        error_code: &d.code,
        error_message: &d.message,
        attempt_ending_timestamp: ending_ms,
        raw_data: STANDARD.encode(d.data),
        subsequence_number: 0,
        es_document_id: d.document_id.as_deref(),
        es_index_name: &d.index,
        es_type_name: &d.type_name,
    });
    json_lines_object(destination, key, lines)
}

/// `error-output-type` (and folder) of events Splunk did not acknowledge.
pub const SPLUNK_FAILED: &str = "splunk-failed";

/// An event Splunk did not acknowledge: its id (the record's, numbered when de-aggregation
/// made several events of it), arrival and data as sent.
pub struct FailedEvent<'a> {
    pub event_id: &'a str,
    pub arrival_ms: i64,
    pub data: &'a [u8],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SplunkErrorRecord<'a> {
    attempts_made: u32,
    arrival_timestamp: i64,
    error_code: &'a str,
    error_message: &'a str,
    attempt_ending_timestamp: i64,
    raw_data: String,
    #[serde(rename = "EventId")]
    event_id: &'a str,
}

/// The `splunk-failed` object for `events` (oldest first), in the error record format of
/// Firehose's Splunk backup (`EventId` after the common fields).
pub fn splunk_failed_object(
    stream: &DeliveryStreamRecord,
    destination: &S3Destination,
    failure: &Failure<'_>,
    events: &[FailedEvent<'_>],
) -> Result<PutObject, String> {
    let oldest = events.first().map_or(failure.ending_ms, |e| e.arrival_ms);
    let key = error_key(stream, destination, SPLUNK_FAILED, oldest)?;
    let lines = events.iter().map(|e| SplunkErrorRecord {
        attempts_made: failure.attempts,
        arrival_timestamp: e.arrival_ms,
        error_code: failure.code,
        error_message: failure.message,
        attempt_ending_timestamp: failure.ending_ms,
        raw_data: STANDARD.encode(e.data),
        event_id: e.event_id,
    });
    json_lines_object(destination, key, lines)
}

/// `error-output-type` of records that failed transformation.
pub const PROCESSING_FAILED: &str = "processing-failed";
/// `error-output-type` of records whose dynamic partition could not be found.
pub const DYNAMIC_PARTITIONING_FAILED: &str = "DynamicPartitioning.MetadataExtractionFailed";

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ProcessingFailedRecord<'a> {
    attempts_made: u32,
    arrival_timestamp: i64,
    error_code: &'a str,
    error_message: &'a str,
    attempt_ending_timestamp: i64,
    raw_data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    lambda_arn: Option<&'a str>,
}

/// The error-output object (of `error_type`) for records that failed transformation or
/// partitioning.
pub fn failed_object(
    stream: &DeliveryStreamRecord,
    destination: &S3Destination,
    error_type: &str,
    failed: &[super::process::FailedItem],
    ending_ms: i64,
) -> Result<PutObject, String> {
    let oldest = failed.first().map_or(ending_ms, |f| f.item.arrival_ms);
    let key = error_key(stream, destination, error_type, oldest)?;
    let lines = failed.iter().map(|f| ProcessingFailedRecord {
        attempts_made: f.attempts,
        arrival_timestamp: f.item.arrival_ms,
        error_code: &f.code,
        error_message: &f.message,
        attempt_ending_timestamp: ending_ms,
        raw_data: STANDARD.encode(&f.item.data),
        lambda_arn: f.lambda_arn.as_deref(),
    });
    json_lines_object(destination, key, lines)
}

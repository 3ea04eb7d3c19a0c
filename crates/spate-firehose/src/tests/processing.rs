//! Record transformation in process: a function stand-in that answers like a transformation
//! Lambda (the real runners are exercised against the binary), the error output of records
//! that fail, and the processors that need no function.

use super::{instant_config, Harness};
use crate::delivery::process::Invoke;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};
use spate_wire::service::BoxFuture;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Upper-cases records, drops "drop", fails "bad"; with `broken`, always errors; with
/// `forgetful`, leaves the last record out of its answer.
#[derive(Default)]
struct Transformer {
    calls: AtomicUsize,
    broken: bool,
    forgetful: bool,
}

impl Invoke for Transformer {
    fn invoke(&self, arn: &str, event: Vec<u8>) -> BoxFuture<Result<Value, String>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (broken, forgetful, arn) = (self.broken, self.forgetful, arn.to_string());
        Box::pin(async move {
            assert_eq!(
                arn,
                "arn:aws:lambda:us-east-1:000000000000:function:t:$LATEST"
            );
            if broken {
                return Err("{\"errorType\":\"Error\",\"errorMessage\":\"boom\"}".into());
            }
            let event: Value = serde_json::from_slice(&event).expect("event json");
            assert!(event["invocationId"].is_string());
            assert_eq!(
                event["deliveryStreamArn"],
                "arn:aws:firehose:us-east-1:000000000000:deliverystream/s"
            );
            let mut records: Vec<Value> = event["records"]
                .as_array()
                .expect("records")
                .iter()
                .map(|r| {
                    let data = STANDARD.decode(r["data"].as_str().unwrap()).unwrap();
                    let text = String::from_utf8(data).unwrap();
                    let result = match text.as_str() {
                        "drop" => "Dropped",
                        "bad" => "ProcessingFailed",
                        _ => "Ok",
                    };
                    json!({"recordId": r["recordId"], "result": result,
                        "data": STANDARD.encode(text.to_uppercase())})
                })
                .collect();
            if forgetful {
                records.pop();
            }
            Ok(json!({ "records": records }))
        })
    }
}

fn lambda_processing(extra: &[(&str, &str)]) -> Value {
    let mut params = vec![json!({"ParameterName": "LambdaArn",
        "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:t:$LATEST"})];
    params.extend(
        extra
            .iter()
            .map(|(n, v)| json!({"ParameterName": n, "ParameterValue": v})),
    );
    json!({"ProcessingConfiguration": {"Enabled": true, "Processors": [
        {"Type": "Lambda", "Parameters": params},
        {"Type": "AppendDelimiterToRecord"}]},
        "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/"})
}

fn error_lines(h: &Harness) -> Vec<Value> {
    h.delivered()
        .into_iter()
        .filter(|(k, _)| k.starts_with("errors/processing-failed/"))
        .flat_map(|(_, body)| {
            String::from_utf8(body)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

#[tokio::test]
async fn transformed_records_are_delivered_dropped_ones_not_and_failed_ones_go_to_the_error_output()
{
    let h = Harness::new(instant_config()).await;
    let transformer = Arc::new(Transformer::default());
    h.firehose.set_invoker(transformer.clone());
    h.create("s", lambda_processing(&[])).await;
    h.put_batch("s", &[b"a", b"drop", b"bad", b"c"]).await;
    h.flush("s").await.unwrap();
    let objects: Vec<(String, Vec<u8>)> = h
        .delivered()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("errors/"))
        .collect();
    assert_eq!(objects.len(), 1);
    assert_eq!(
        objects[0].1, b"A\nC\n",
        "transformed, then delimited; the dropped record is gone"
    );
    let errors = error_lines(&h);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["errorCode"], "Lambda.ProcessingFailedStatus");
    assert_eq!(errors[0]["rawData"], STANDARD.encode("bad"));
    assert_eq!(
        errors[0]["lambdaArn"],
        "arn:aws:lambda:us-east-1:000000000000:function:t:$LATEST"
    );
    assert_eq!(transformer.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failing_function_is_retried_then_its_records_go_to_the_error_output() {
    let h = Harness::new(instant_config()).await;
    let transformer = Arc::new(Transformer {
        broken: true,
        ..Transformer::default()
    });
    h.firehose.set_invoker(transformer.clone());
    h.create("s", lambda_processing(&[("NumberOfRetries", "2")]))
        .await;
    h.put_batch("s", &[b"a", b"b"]).await;
    h.flush("s").await.unwrap();
    assert_eq!(
        transformer.calls.load(Ordering::SeqCst),
        3,
        "one call and two retries"
    );
    let errors = error_lines(&h);
    assert_eq!(errors.len(), 2);
    assert_eq!(
        (
            errors[0]["errorCode"].as_str(),
            errors[0]["attemptsMade"].as_u64()
        ),
        (Some("Lambda.FunctionError"), Some(3))
    );
    assert!(
        h.delivered().iter().all(|(k, _)| k.starts_with("errors/")),
        "no object without records"
    );
}

#[tokio::test]
async fn an_answer_missing_a_record_id_fails_the_whole_batch() {
    let h = Harness::new(instant_config()).await;
    h.firehose.set_invoker(Arc::new(Transformer {
        forgetful: true,
        ..Transformer::default()
    }));
    h.create("s", lambda_processing(&[("NumberOfRetries", "0")]))
        .await;
    h.put_batch("s", &[b"a", b"b"]).await;
    h.flush("s").await.unwrap();
    let errors = error_lines(&h);
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["errorCode"], "Lambda.MissingRecordId");
}

#[tokio::test]
async fn gzip_and_cloudwatch_logs_envelopes_are_unpacked_without_a_function() {
    let h = Harness::new(instant_config()).await;
    let processing = json!({"ProcessingConfiguration": {"Enabled": true, "Processors": [
        {"Type": "Decompression", "Parameters": [{"ParameterName": "CompressionFormat", "ParameterValue": "GZIP"}]},
        {"Type": "CloudWatchLogProcessing", "Parameters": [{"ParameterName": "DataMessageExtraction", "ParameterValue": "true"}]}]}});
    h.create("s", processing).await;
    let envelope = json!({"messageType": "DATA_MESSAGE", "logGroup": "g", "logEvents": [
        {"id": "1", "timestamp": 1, "message": "first"}, {"id": "2", "timestamp": 2, "message": "second"}]});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(envelope.to_string().as_bytes()).unwrap();
    let control = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(br#"{"messageType":"CONTROL_MESSAGE","logEvents":[]}"#)
            .unwrap();
        gz.finish().unwrap()
    };
    h.put_batch("s", &[&gz.finish().unwrap(), &control]).await;
    h.flush("s").await.unwrap();
    assert_eq!(h.delivered()[0].1, b"first\nsecond\n");
}

#[tokio::test]
async fn processors_spate_does_not_run_are_refused_at_creation() {
    let h = Harness::new(instant_config()).await;
    let body = json!({"DeliveryStreamName": "s", "ExtendedS3DestinationConfiguration": {
        "RoleARN": "arn:aws:iam::000000000000:role/firehose", "BucketARN": "arn:aws:s3:::bucket-1",
        "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "MetadataExtraction"}]}}});
    let e = h.err("CreateDeliveryStream", body).await;
    assert!(e.message.contains("MetadataExtraction"), "{}", e.message);
}

#[tokio::test]
async fn dynamic_partitioning_writes_one_object_per_key_and_unkeyed_records_to_the_error_output() {
    let h = Harness::new(instant_config()).await;
    let config = json!({
        "Prefix": "customer=!{partitionKeyFromQuery:customer}/day=!{timestamp:yyyy-MM-dd}/",
        "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
        "DynamicPartitioningConfiguration": {"Enabled": true},
        "ProcessingConfiguration": {"Enabled": true, "Processors": [
            {"Type": "MetadataExtraction", "Parameters": [
                {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{customer: .customer_id}"},
                {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]},
            {"Type": "AppendDelimiterToRecord"}]},
    });
    h.create("s", config).await;
    h.put_batch(
        "s",
        &[
            br#"{"customer_id":"c1","n":1}"#,
            br#"{"customer_id":"c2","n":2}"#,
            br#"{"customer_id":"c1","n":3}"#,
            b"not json",
            br#"{"other":1}"#,
        ],
    )
    .await;
    h.flush("s").await.unwrap();
    let mut objects: Vec<(String, Vec<u8>)> = h
        .delivered()
        .into_iter()
        .filter(|(k, _)| !k.starts_with("errors/"))
        .collect();
    objects.sort();
    assert_eq!(objects.len(), 2, "{objects:?}");
    assert!(
        objects[0].0.starts_with("customer=c1/day=2026-12-01/s-1-"),
        "{}",
        objects[0].0
    );
    assert_eq!(
        objects[0].1,
        b"{\"customer_id\":\"c1\",\"n\":1}\n{\"customer_id\":\"c1\",\"n\":3}\n"
    );
    assert!(
        objects[1].0.starts_with("customer=c2/day=2026-12-01/"),
        "{}",
        objects[1].0
    );
    let errors: Vec<(String, Vec<u8>)> = h
        .delivered()
        .into_iter()
        .filter(|(k, _)| k.starts_with("errors/"))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            .0
            .starts_with("errors/DynamicPartitioning.MetadataExtractionFailed/"),
        "{}",
        errors[0].0
    );
    let lines: Vec<Value> = String::from_utf8(errors[0].1.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "the record that is not JSON and the one without the key"
    );
    assert!(lines
        .iter()
        .all(|l| l["errorCode"] == "DynamicPartitioning.MetadataExtractionFailed"));
}

#[tokio::test]
async fn dynamic_partitioning_needs_an_error_prefix_and_query_keys_need_a_query() {
    let h = Harness::new(instant_config()).await;
    let create = |extra: Value| {
        let mut d = json!({"RoleARN": "arn:aws:iam::000000000000:role/firehose", "BucketARN": "arn:aws:s3:::bucket-1"});
        d.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"DeliveryStreamName": "s", "ExtendedS3DestinationConfiguration": d})
    };
    let no_error_prefix =
        create(json!({"Prefix": "a/", "DynamicPartitioningConfiguration": {"Enabled": true}}));
    let e = h.err("CreateDeliveryStream", no_error_prefix).await;
    assert!(
        e.message.contains(
            "ErrorOutputPrefix cannot be null or empty when dynamic partitioning is enabled"
        ),
        "{}",
        e.message
    );
    let no_query = create(
        json!({"Prefix": "a/!{partitionKeyFromQuery:k}/", "ErrorOutputPrefix": "e/!{firehose:error-output-type}/",
        "DynamicPartitioningConfiguration": {"Enabled": true}}),
    );
    let e = h.err("CreateDeliveryStream", no_query).await;
    assert!(e.message.contains("MetadataExtraction"), "{}", e.message);
    let bad_query = create(
        json!({"Prefix": "a/", "ErrorOutputPrefix": "e/!{firehose:error-output-type}/",
        "ProcessingConfiguration": {"Enabled": true, "Processors": [{"Type": "MetadataExtraction", "Parameters": [
            {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{a: .b"}]}]}}),
    );
    let e = h.err("CreateDeliveryStream", bad_query).await;
    assert!(
        e.message.contains("MetadataExtractionQuery"),
        "{}",
        e.message
    );
}

//! Create/Get/List/Update/DeleteEventSourceMapping for Kinesis streams.

use super::check::Validator;
use super::{input, json_reply, page, query};
use crate::errors::{invalid, LambdaError};
use crate::mappings::{MappingSpec, MappingUpdate};
use crate::model::{FailureDestination, FunctionName, MappingRecord, StartingPosition};
use crate::service::Lambda;
use serde::Deserialize;
use serde_json::{json, Value};
use spate_streams::model::StreamArn;
use spate_wire::service::{RestCall, RestReply};
use std::collections::BTreeMap;

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MappingInput {
    event_source_arn: Option<String>,
    function_name: Option<String>,
    enabled: Option<bool>,
    batch_size: Option<i64>,
    filter_criteria: Option<FilterCriteria>,
    maximum_batching_window_in_seconds: Option<i64>,
    parallelization_factor: Option<i64>,
    starting_position: Option<String>,
    starting_position_timestamp: Option<f64>,
    destination_config: Option<DestinationConfig>,
    maximum_record_age_in_seconds: Option<i64>,
    bisect_batch_on_function_error: Option<bool>,
    maximum_retry_attempts: Option<i64>,
    tumbling_window_in_seconds: Option<i64>,
    function_response_types: Option<Vec<String>>,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FilterCriteria {
    filters: Option<Vec<Filter>>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Filter {
    pattern: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DestinationConfig {
    on_failure: Option<Destination>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Destination {
    destination: Option<String>,
}

fn check_ranges(i: &MappingInput) -> Result<(), LambdaError> {
    let mut v = Validator::default();
    v.range(i.batch_size, "batchSize", 1, 10_000);
    v.range(
        i.maximum_batching_window_in_seconds,
        "maximumBatchingWindowInSeconds",
        0,
        300,
    );
    v.range(i.parallelization_factor, "parallelizationFactor", 1, 10);
    v.range(
        i.maximum_record_age_in_seconds,
        "maximumRecordAgeInSeconds",
        -1,
        604_800,
    );
    v.range(i.maximum_retry_attempts, "maximumRetryAttempts", -1, 10_000);
    v.range(
        i.tumbling_window_in_seconds,
        "tumblingWindowInSeconds",
        0,
        900,
    );
    v.one_of(
        i.starting_position.as_deref(),
        "startingPosition",
        &["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"],
    );
    for t in i.function_response_types.iter().flatten() {
        v.one_of(
            Some(t),
            "functionResponseTypes",
            &["ReportBatchItemFailures"],
        );
    }
    v.finish()?;
    if let Some(age) = i.maximum_record_age_in_seconds {
        if (0..60).contains(&age) {
            return Err(invalid(format!(
                "MaximumRecordAgeInSeconds must be -1 or between 60 and 604800, got {age}."
            )));
        }
    }
    Ok(())
}

fn function_name(text: &str) -> Result<FunctionName, LambdaError> {
    FunctionName::parse(text).ok_or_else(|| invalid(format!("Invalid function name: {text}")))
}

/// The stream an event source ARN names (a stream's ARN or an EFO consumer's).
fn stream_of(lambda: &Lambda, arn: &str) -> Result<String, LambdaError> {
    let stream_arn = match arn.split_once("/consumer/") {
        Some((stream, _)) => stream,
        None => arn,
    };
    let parsed = StreamArn::parse(stream_arn)
        .filter(|_| arn.starts_with("arn:aws:kinesis:"))
        .ok_or_else(|| {
            invalid(format!(
                "Unsupported event source {arn}: Spate maps Kinesis streams (arn:aws:kinesis:REGION:ACCOUNT:stream/NAME)"
            ))
        })?;
    lambda
        .kinesis
        .source_shards(&parsed.name)
        .map_err(|_| invalid(format!("Stream not found: {stream_arn}")))?;
    Ok(parsed.name)
}

fn failure_destination(
    lambda: &Lambda,
    arn: &str,
) -> Result<Option<FailureDestination>, LambdaError> {
    if arn.is_empty() {
        return Ok(None);
    }
    if let Some(bucket) = arn.strip_prefix("arn:aws:s3:::") {
        if !spate_objects::valid_bucket_name(bucket) {
            return Err(invalid(format!("Invalid S3 bucket ARN: {arn}")));
        }
        return Ok(Some(FailureDestination::S3 {
            arn: arn.into(),
            bucket: bucket.into(),
        }));
    }
    if arn.starts_with("arn:aws:kinesis:") {
        let stream = stream_of(lambda, arn)?;
        return Ok(Some(FailureDestination::Kinesis {
            arn: arn.into(),
            stream,
        }));
    }
    Err(invalid(format!(
        "Unsupported destination {arn}: Spate writes on-failure records to S3 buckets (arn:aws:s3:::BUCKET) and Kinesis streams; it has no SQS or SNS"
    )))
}

fn filters(criteria: Option<FilterCriteria>) -> Result<Option<Vec<String>>, LambdaError> {
    let Some(criteria) = criteria else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for f in criteria.filters.unwrap_or_default() {
        let pattern = f.pattern.unwrap_or_default();
        match serde_json::from_str::<Value>(&pattern) {
            Ok(Value::Object(_)) => out.push(pattern),
            _ => return Err(invalid("Invalid filter pattern definition.")),
        }
    }
    Ok(Some(out))
}

fn starting_position(i: &MappingInput) -> Result<StartingPosition, LambdaError> {
    match i.starting_position.as_deref() {
        Some("TRIM_HORIZON") => Ok(StartingPosition::TrimHorizon),
        Some("LATEST") => Ok(StartingPosition::Latest),
        Some("AT_TIMESTAMP") => match i.starting_position_timestamp {
            Some(t) => Ok(StartingPosition::AtTimestamp((t * 1000.0) as i64)),
            None => Err(invalid(
                "StartingPositionTimestamp must be provided when StartingPosition is AT_TIMESTAMP",
            )),
        },
        _ => Err(invalid(
            "StartingPosition is required for Kinesis event sources: TRIM_HORIZON, LATEST or AT_TIMESTAMP",
        )),
    }
}

pub async fn create(lambda: &Lambda, call: &RestCall) -> Result<RestReply, LambdaError> {
    let i: MappingInput = input(call)?;
    let mut v = Validator::default();
    v.required(&i.function_name, "functionName");
    v.finish()?;
    check_ranges(&i)?;
    let arn = i
        .event_source_arn
        .clone()
        .ok_or_else(|| invalid("EventSourceArn is required for Kinesis event sources"))?;
    let stream = stream_of(lambda, &arn)?;
    let function = function_name(i.function_name.as_deref().unwrap_or_default())?;
    let on_failure = match i
        .destination_config
        .as_ref()
        .and_then(|d| d.on_failure.as_ref())
    {
        Some(d) => failure_destination(lambda, d.destination.as_deref().unwrap_or_default())?,
        None => None,
    };
    let starting_position = starting_position(&i)?;
    let report = i
        .function_response_types
        .as_ref()
        .is_some_and(|t| t.iter().any(|t| t == "ReportBatchItemFailures"));
    let spec = MappingSpec {
        function,
        event_source_arn: arn,
        stream,
        enabled: i.enabled.unwrap_or(true),
        batch_size: i.batch_size.unwrap_or(100) as u32,
        batching_window_secs: i.maximum_batching_window_in_seconds.unwrap_or(0) as u32,
        parallelization_factor: i.parallelization_factor.unwrap_or(1) as u32,
        starting_position,
        maximum_record_age_secs: i.maximum_record_age_in_seconds.unwrap_or(-1) as i32,
        bisect_on_error: i.bisect_batch_on_function_error.unwrap_or(false),
        maximum_retry_attempts: i.maximum_retry_attempts.unwrap_or(-1) as i32,
        tumbling_window_secs: i.tumbling_window_in_seconds.unwrap_or(0) as u32,
        report_batch_item_failures: report,
        on_failure,
        filters: filters(i.filter_criteria)?.unwrap_or_default(),
        tags: i.tags.unwrap_or_default(),
    };
    let record = lambda.mappings.create(spec).await?;
    let state = if record.enabled {
        "Creating"
    } else {
        "Disabled"
    };
    json_reply(
        "CreateEventSourceMapping",
        202,
        &describe(lambda, &record, state),
    )
}

/// A mapping as EventSourceMappingConfiguration.
fn describe(lambda: &Lambda, m: &MappingRecord, state: &str) -> Value {
    let mut out = json!({
        "UUID": m.uuid,
        "BatchSize": m.batch_size,
        "MaximumBatchingWindowInSeconds": m.batching_window_secs,
        "ParallelizationFactor": m.parallelization_factor,
        "EventSourceArn": m.event_source_arn,
        "FunctionArn": lambda.functions.arn(&m.function),
        "LastModified": m.last_modified_ms as f64 / 1000.0,
        "LastProcessingResult": lambda.engine.last_result(&m.uuid),
        "State": state,
        "StateTransitionReason": "User action",
        "DestinationConfig": {
            "OnFailure": m.on_failure.as_ref().map(|d| json!({"Destination": d.arn()})).unwrap_or(json!({}))
        },
        "MaximumRecordAgeInSeconds": m.maximum_record_age_secs,
        "BisectBatchOnFunctionError": m.bisect_on_error,
        "MaximumRetryAttempts": m.maximum_retry_attempts,
        "TumblingWindowInSeconds": m.tumbling_window_secs,
        "FunctionResponseTypes": if m.report_batch_item_failures { vec!["ReportBatchItemFailures"] } else { vec![] },
        "EventSourceMappingArn": lambda.mappings.arn(&m.uuid),
    });
    let position = match m.starting_position {
        StartingPosition::TrimHorizon => "TRIM_HORIZON",
        StartingPosition::Latest => "LATEST",
        StartingPosition::AtTimestamp(t) => {
            out["StartingPositionTimestamp"] = json!(t as f64 / 1000.0);
            "AT_TIMESTAMP"
        }
    };
    out["StartingPosition"] = json!(position);
    if !m.filters.is_empty() {
        let filters: Vec<Value> = m.filters.iter().map(|p| json!({"Pattern": p})).collect();
        out["FilterCriteria"] = json!({ "Filters": filters });
    }
    out
}

fn state(m: &MappingRecord) -> &'static str {
    if m.enabled {
        "Enabled"
    } else {
        "Disabled"
    }
}

pub fn get(lambda: &Lambda, uuid: &str) -> Result<RestReply, LambdaError> {
    let m = lambda.mappings.get(uuid)?;
    json_reply(
        "GetEventSourceMapping",
        200,
        &describe(lambda, &m, state(&m)),
    )
}

pub fn list(lambda: &Lambda, call: &RestCall) -> Result<RestReply, LambdaError> {
    let max = query(call, "MaxItems").map(|m| m.parse::<i64>().unwrap_or(0));
    let mut v = Validator::default();
    v.range(max, "maxItems", 1, 10_000);
    v.finish()?;
    let function = match query(call, "FunctionName") {
        Some(f) => Some(function_name(&f)?),
        None => None,
    };
    let source = query(call, "EventSourceArn");
    let all = lambda.mappings.list(source.as_deref(), function.as_ref());
    let (items, next) = page(
        all,
        |m| format!("{:020}:{}", m.created_ms, m.uuid),
        query(call, "Marker").as_deref(),
        max.unwrap_or(100) as usize,
    );
    let mappings: Vec<Value> = items
        .iter()
        .map(|m| describe(lambda, m, state(m)))
        .collect();
    let mut out = json!({ "EventSourceMappings": mappings });
    if let Some(next) = next {
        out["NextMarker"] = json!(next);
    }
    json_reply("ListEventSourceMappings", 200, &out)
}

pub async fn update(
    lambda: &Lambda,
    uuid: &str,
    call: &RestCall,
) -> Result<RestReply, LambdaError> {
    let i: MappingInput = input(call)?;
    check_ranges(&i)?;
    let on_failure = match i
        .destination_config
        .as_ref()
        .and_then(|d| d.on_failure.as_ref())
    {
        Some(d) => Some(failure_destination(
            lambda,
            d.destination.as_deref().unwrap_or_default(),
        )?),
        None => None,
    };
    let update = MappingUpdate {
        function: match i.function_name.as_deref() {
            Some(f) => Some(function_name(f)?),
            None => None,
        },
        enabled: i.enabled,
        batch_size: i.batch_size.map(|v| v as u32),
        batching_window_secs: i.maximum_batching_window_in_seconds.map(|v| v as u32),
        parallelization_factor: i.parallelization_factor.map(|v| v as u32),
        maximum_record_age_secs: i.maximum_record_age_in_seconds.map(|v| v as i32),
        bisect_on_error: i.bisect_batch_on_function_error,
        maximum_retry_attempts: i.maximum_retry_attempts.map(|v| v as i32),
        tumbling_window_secs: i.tumbling_window_in_seconds.map(|v| v as u32),
        report_batch_item_failures: i
            .function_response_types
            .as_ref()
            .map(|t| t.iter().any(|t| t == "ReportBatchItemFailures")),
        on_failure,
        filters: filters(i.filter_criteria)?,
    };
    let m = lambda.mappings.update(uuid, update).await?;
    json_reply(
        "UpdateEventSourceMapping",
        202,
        &describe(lambda, &m, "Updating"),
    )
}

pub async fn delete(lambda: &Lambda, uuid: &str) -> Result<RestReply, LambdaError> {
    let m = lambda.mappings.delete(uuid).await?;
    json_reply(
        "DeleteEventSourceMapping",
        202,
        &describe(lambda, &m, "Deleting"),
    )
}

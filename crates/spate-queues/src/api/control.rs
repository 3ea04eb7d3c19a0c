//! CreateQueue, DeleteQueue, DescribeQueue, ListQueues, UpdateQueue.

use super::{check_queue_arn, text};
use crate::errors::{invalid, validation};
use crate::model::{QueueRecord, StartingPosition};
use crate::service::{NewQueue, Queues};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use spate_streams::model::StreamArn;
use spate_wire::timestamp::Timestamp;
use spate_wire::validate::Validator;
use spate_wire::{ApiError, Int, List, Map, Str, Struct};
use std::sync::Arc;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueInput {
    queue_name: Option<Str>,
    stream_configuration_list: Option<List<Struct<StreamConfiguration>>>,
    queue_attributes: Option<Struct<Attributes>>,
    tags: Option<Map<Str>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamConfiguration {
    #[serde(rename = "StreamARN")]
    stream_arn: Option<Str>,
    starting_position: Option<Struct<Position>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Position {
    #[serde(rename = "Type")]
    kind: Option<Str>,
    timestamp: Option<Timestamp>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attributes {
    visibility_timeout_seconds: Option<Int>,
    dead_letter_configuration: Option<Struct<DeadLetter>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeadLetter {
    target_type: Option<Str>,
    max_receive_count: Option<Int>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueDescriptionOutput {
    queue_description: Description,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Description {
    queue_name: String,
    #[serde(rename = "QueueARN")]
    queue_arn: String,
    queue_status: &'static str,
    queue_creation_timestamp: Timestamp,
    stream_configuration_list: Vec<StreamDescription>,
    queue_attributes: AttributesOut,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StreamDescription {
    #[serde(rename = "StreamARN")]
    stream_arn: String,
    starting_position: PositionOut,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PositionOut {
    #[serde(rename = "Type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    timestamp: Option<Timestamp>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AttributesOut {
    visibility_timeout_seconds: u32,
    dead_letter_configuration: DeadLetterOut,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DeadLetterOut {
    target_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_receive_count: Option<u32>,
}

fn describe_record(r: &QueueRecord, now: i64) -> QueueDescriptionOutput {
    let streams = r
        .streams
        .iter()
        .map(|s| StreamDescription {
            stream_arn: s.arn.clone(),
            starting_position: PositionOut {
                kind: s.starting.as_str(),
                timestamp: match s.starting {
                    StartingPosition::AtTimestamp(t) => Some(Timestamp::from_millis(t)),
                    _ => None,
                },
            },
        })
        .collect();
    QueueDescriptionOutput {
        queue_description: Description {
            queue_name: r.name.clone(),
            queue_arn: r.arn.clone(),
            queue_status: r.status(now),
            queue_creation_timestamp: Timestamp::from_millis(r.created_ms),
            stream_configuration_list: streams,
            queue_attributes: AttributesOut {
                visibility_timeout_seconds: r.visibility_secs,
                dead_letter_configuration: DeadLetterOut {
                    target_type: if r.max_receives.is_some() {
                        "BUILT_IN"
                    } else {
                        "NONE"
                    },
                    max_receive_count: r.max_receives,
                },
            },
        },
    }
}

/// (visibility, dead-letter setting) of QueueAttributes, checked.
#[allow(clippy::type_complexity)]
fn attributes(
    v: &mut Validator,
    a: &Option<Struct<Attributes>>,
) -> (Option<u32>, Option<Option<u32>>) {
    let Some(Struct(a)) = a else {
        return (None, None);
    };
    let visibility = a.visibility_timeout_seconds.as_ref().map(|i| i.0);
    v.range(
        visibility,
        "queueAttributes.visibilityTimeoutSeconds",
        0,
        43_200,
    );
    let dead = a.dead_letter_configuration.as_ref().map(|Struct(d)| {
        v.required(
            &d.target_type,
            "queueAttributes.deadLetterConfiguration.targetType",
        );
        v.one_of(
            text(&d.target_type),
            "queueAttributes.deadLetterConfiguration.targetType",
            &["BUILT_IN", "NONE"],
        );
        let max = d.max_receive_count.as_ref().map(|i| i.0);
        v.range(
            max,
            "queueAttributes.deadLetterConfiguration.maxReceiveCount",
            1,
            1_000,
        );
        (text(&d.target_type) == Some("BUILT_IN")).then(|| max.unwrap_or(0) as u32)
    });
    (visibility.map(|x| x as u32), dead)
}

fn check_dead_letter(dead: Option<Option<u32>>) -> Result<(), ApiError> {
    if dead == Some(Some(0)) {
        return Err(validation(
            "MaxReceiveCount is required when TargetType is BUILT_IN.",
        ));
    }
    Ok(())
}

fn starting(p: &Option<Struct<Position>>) -> Result<StartingPosition, ApiError> {
    let Some(Struct(p)) = p else {
        return Ok(StartingPosition::Latest);
    };
    match (text(&p.kind), p.timestamp) {
        (Some("AT_TIMESTAMP"), Some(t)) => Ok(StartingPosition::AtTimestamp(t.epoch_millis)),
        (Some("AT_TIMESTAMP"), None) => Err(validation(
            "Timestamp is required when the StartingPosition Type is AT_TIMESTAMP.",
        )),
        (_, Some(_)) => Err(validation(
            "Timestamp can be specified only when the StartingPosition Type is AT_TIMESTAMP.",
        )),
        (Some("TRIM_HORIZON"), None) => Ok(StartingPosition::TrimHorizon),
        _ => Ok(StartingPosition::Latest),
    }
}

pub async fn create(
    q: &Arc<Queues>,
    i: CreateQueueInput,
) -> Result<QueueDescriptionOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.queue_name, "queueName");
    v.length(text(&i.queue_name), "queueName", 1, 128);
    if let Some(n) = text(&i.queue_name) {
        if !spate_wire::validate::is_name(n) {
            v.fail(
                Some(n),
                "queueName",
                "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
            );
        }
    }
    v.required(&i.stream_configuration_list, "streamConfigurationList");
    let configs = i.stream_configuration_list.map(|l| l.0).unwrap_or_default();
    v.count(
        Some(configs.len()),
        || "[…]".into(),
        "streamConfigurationList",
        1,
        10_000,
    );
    for Struct(c) in &configs {
        v.required(&c.stream_arn, "streamConfigurationList.member.streamARN");
        if let Some(Struct(p)) = &c.starting_position {
            v.required(
                &p.kind,
                "streamConfigurationList.member.startingPosition.type",
            );
            v.one_of(
                text(&p.kind),
                "streamConfigurationList.member.startingPosition.type",
                &["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"],
            );
        }
    }
    let (visibility, dead) = attributes(&mut v, &i.queue_attributes);
    v.finish()?;
    check_dead_letter(dead)?;
    let mut streams = Vec::new();
    for Struct(c) in &configs {
        let arn = text(&c.stream_arn).unwrap_or_default();
        let parsed =
            StreamArn::parse(arn).ok_or_else(|| invalid(format!("Invalid StreamARN {arn}.")))?;
        streams.push((parsed.name, starting(&c.starting_position)?));
    }
    let new = NewQueue {
        name: text(&i.queue_name).unwrap_or_default().to_string(),
        streams,
        visibility_secs: visibility,
        max_receives: dead,
        tags: i
            .tags
            .map(|m| m.0.into_iter().map(|(k, v)| (k, v.0)).collect())
            .unwrap_or_default(),
    };
    let queue = q.create(new).await?;
    Ok(describe_record(&queue.record(), q.now()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueArnInput {
    #[serde(rename = "QueueARN")]
    queue_arn: Option<Str>,
}

#[derive(Serialize)]
pub struct Empty {}

pub async fn delete(q: &Arc<Queues>, i: QueueArnInput) -> Result<Empty, ApiError> {
    let mut v = Validator::new();
    check_queue_arn(&mut v, &i.queue_arn);
    v.finish()?;
    q.delete(text(&i.queue_arn).unwrap_or_default()).await?;
    Ok(Empty {})
}

pub async fn describe(
    q: &Arc<Queues>,
    i: QueueArnInput,
) -> Result<QueueDescriptionOutput, ApiError> {
    let mut v = Validator::new();
    check_queue_arn(&mut v, &i.queue_arn);
    v.finish()?;
    let queue = q.get(text(&i.queue_arn).unwrap_or_default()).await?;
    Ok(describe_record(&queue.record(), q.now()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateQueueInput {
    #[serde(rename = "QueueARN")]
    queue_arn: Option<Str>,
    queue_attributes: Option<Struct<Attributes>>,
}

pub async fn update(
    q: &Arc<Queues>,
    i: UpdateQueueInput,
) -> Result<QueueDescriptionOutput, ApiError> {
    let mut v = Validator::new();
    check_queue_arn(&mut v, &i.queue_arn);
    v.required(&i.queue_attributes, "queueAttributes");
    let (visibility, dead) = attributes(&mut v, &i.queue_attributes);
    v.finish()?;
    check_dead_letter(dead)?;
    let queue = q
        .update(text(&i.queue_arn).unwrap_or_default(), visibility, dead)
        .await?;
    Ok(describe_record(&queue.record(), q.now()))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesInput {
    max_results: Option<Int>,
    next_token: Option<Str>,
    stream_filter: Option<List<Struct<StreamFilter>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamFilter {
    #[serde(rename = "StreamARN")]
    stream_arn: Option<Str>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesOutput {
    queue_summaries: Vec<Summary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Summary {
    queue_name: String,
    #[serde(rename = "QueueARN")]
    queue_arn: String,
    queue_status: &'static str,
    queue_creation_timestamp: Timestamp,
    streams: Vec<StreamIdentifier>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StreamIdentifier {
    #[serde(rename = "StreamARN")]
    stream_arn: String,
    stream_creation_timestamp: Timestamp,
}

pub async fn list(q: &Arc<Queues>, i: ListQueuesInput) -> Result<ListQueuesOutput, ApiError> {
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
    let filters: Vec<String> = i
        .stream_filter
        .map(|l| {
            l.0.into_iter()
                .filter_map(|Struct(f)| f.stream_arn.map(|s| s.0))
                .collect()
        })
        .unwrap_or_default();
    let now = q.now();
    let mut summaries: Vec<Summary> = q
        .list()
        .await
        .iter()
        .map(|queue| queue.record())
        .filter(|r| after.as_ref().is_none_or(|a| r.name.as_str() > a.as_str()))
        .filter(|r| filters.is_empty() || r.streams.iter().any(|s| filters.contains(&s.arn)))
        .map(|r| Summary {
            queue_name: r.name.clone(),
            queue_arn: r.arn.clone(),
            queue_status: r.status(now),
            queue_creation_timestamp: Timestamp::from_millis(r.created_ms),
            streams: r
                .streams
                .iter()
                .map(|s| StreamIdentifier {
                    stream_arn: s.arn.clone(),
                    stream_creation_timestamp: Timestamp::from_millis(s.created_ms),
                })
                .collect(),
        })
        .collect();
    let max = max.unwrap_or(100) as usize;
    let next_token = (summaries.len() > max).then(|| {
        summaries.truncate(max);
        STANDARD.encode(
            summaries
                .last()
                .map(|s| s.queue_name.as_str())
                .unwrap_or_default(),
        )
    });
    Ok(ListQueuesOutput {
        queue_summaries: summaries,
        next_token,
    })
}

//! Enhanced fan-out consumers: RegisterStreamConsumer, DeregisterStreamConsumer,
//! DescribeStreamConsumer, ListStreamConsumers.
//!
//! Consumers are part of their stream's catalog record. CREATING and DELETING end at deadlines
//! (no timers): a consumer past its DELETING deadline is gone, and maintenance drops it.

use crate::iterator::{decode_token, encode_token};
use crate::registry::{Kinesis, Stream};
use crate::validation::{self as check, NAME_PATTERN};
use spate_catalog::{ConsumerRecord, Lifecycle};
use spate_wire::kinesis::*;
use spate_wire::validate::{is_name, Validator};
use spate_wire::{ApiError, ErrorKind, Timestamp};
use std::sync::Arc;

/// Consumers that may be CREATING at once per stream (AWS: 5).
const MAX_CREATING: usize = 5;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidArgument, message)
}

/// `…:stream/NAME/consumer/CONSUMER:SECONDS` -> (stream ARN, consumer name, creation seconds).
pub(crate) fn split_consumer_arn(arn: &str) -> Option<(&str, &str, i64)> {
    let (stream_arn, rest) = arn.split_once("/consumer/")?;
    let (name, secs) = rest.rsplit_once(':')?;
    let secs = secs.parse().ok()?;
    (crate::validation::split_stream_arn(stream_arn).is_some() && is_name(name))
        .then_some((stream_arn, name, secs))
}

impl Stream {
    /// The consumers that exist now (not past their DELETING deadline), oldest first.
    pub(crate) fn consumers(&self, now_ms: i64) -> impl Iterator<Item = &ConsumerRecord> {
        self.record.consumers.iter().filter(
            move |c| !matches!(c.lifecycle, Lifecycle::Deleting { until_ms } if now_ms >= until_ms),
        )
    }

    pub(crate) fn consumer_arn(&self, consumer: &ConsumerRecord) -> String {
        format!(
            "{}/consumer/{}:{}",
            self.arn,
            consumer.name,
            consumer.created_ms / 1000
        )
    }
}

pub(crate) fn consumer_status(consumer: &ConsumerRecord, now_ms: i64) -> &'static str {
    match consumer.lifecycle {
        Lifecycle::Creating { until_ms } if now_ms < until_ms => "CREATING",
        Lifecycle::Deleting { .. } => "DELETING",
        _ => "ACTIVE",
    }
}

impl Kinesis {
    fn consumer_out(&self, stream: &Stream, c: &ConsumerRecord) -> Consumer {
        Consumer {
            consumer_name: c.name.clone(),
            consumer_arn: stream.consumer_arn(c),
            consumer_status: consumer_status(c, self.now()),
            consumer_creation_timestamp: Timestamp::from_millis(c.created_ms),
        }
    }

    fn stream_by_arn(&self, arn: Option<&str>) -> Result<Arc<Stream>, ApiError> {
        let name = self.name_from_arn(arn.unwrap_or_default())?;
        self.lookup(Some(name), None)
    }

    fn consumer_not_found(&self, name: &str) -> ApiError {
        ApiError::new(
            ErrorKind::ResourceNotFound,
            format!(
                "Consumer {name}, account {} not found.",
                self.config.account_id
            ),
        )
    }

    /// The stream and consumer a ConsumerARN, or a StreamARN and ConsumerName, names.
    pub(crate) fn resolve_consumer(
        &self,
        stream_arn: Option<&str>,
        consumer_name: Option<&str>,
        consumer_arn: Option<&str>,
    ) -> Result<(Arc<Stream>, ConsumerRecord), ApiError> {
        let now = self.now();
        let (stream, name, created_secs) = match (consumer_arn, stream_arn, consumer_name) {
            (Some(arn), _, _) => {
                let (stream_arn, name, secs) = split_consumer_arn(arn)
                    .ok_or_else(|| invalid(format!("Invalid ConsumerARN: {arn}")))?;
                let stream = self
                    .stream_by_arn(Some(stream_arn))
                    .map_err(|_| self.consumer_not_found(name))?;
                (stream, name, Some(secs))
            }
            (None, Some(stream_arn), Some(name)) => {
                (self.stream_by_arn(Some(stream_arn))?, name, None)
            }
            _ => {
                return Err(invalid(
                    "Either ConsumerARN or both ConsumerName and StreamARN must be provided.",
                ))
            }
        };
        let consumer = stream
            .consumers(now)
            .find(|c| c.name == name && created_secs.is_none_or(|s| s == c.created_ms / 1000))
            .cloned()
            .ok_or_else(|| self.consumer_not_found(name))?;
        Ok((stream, consumer))
    }

    fn check_consumer_ref(v: &mut Validator, input: &ConsumerRefInput) {
        check::stream_arn(v, input.stream_arn.as_deref(), "streamARN");
        consumer_name(v, input.consumer_name.as_deref());
        v.length(input.consumer_arn.as_deref(), "consumerARN", 1, 2048);
    }

    pub async fn register_stream_consumer(
        &self,
        input: RegisterStreamConsumerInput,
    ) -> Result<RegisterStreamConsumerOutput, ApiError> {
        let mut v = Validator::new();
        v.required(&input.stream_arn, "streamARN")
            .required(&input.consumer_name, "consumerName");
        check::stream_arn(&mut v, input.stream_arn.as_deref(), "streamARN");
        consumer_name(&mut v, input.consumer_name.as_deref());
        crate::tags::validate_tags(&mut v, input.tags.as_ref());
        v.finish()?;
        let name = input.consumer_name.unwrap_or_default();
        let _guard = self.control.lock().await;
        let stream = self.stream_by_arn(input.stream_arn.as_deref())?;
        let now = self.now();
        if !matches!(stream.status(now), "ACTIVE" | "UPDATING") {
            return Err(ApiError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Stream {} under account {} not ACTIVE, instead in state {}",
                    stream.record.name,
                    self.config.account_id,
                    stream.status(now)
                ),
            ));
        }
        if stream.consumers(now).any(|c| c.name == name) {
            return Err(ApiError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Consumer {name} under stream {} already exists.",
                    stream.arn
                ),
            ));
        }
        let limit = self.config.consumer_limit as usize;
        if stream.consumers(now).count() >= limit {
            return Err(ApiError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "Stream {} under account {} already has {limit} registered consumers, the most a stream can have.",
                    stream.record.name, self.config.account_id
                ),
            ));
        }
        let creating = stream
            .consumers(now)
            .filter(|c| consumer_status(c, now) == "CREATING")
            .count();
        if creating >= MAX_CREATING {
            return Err(ApiError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "Stream {} under account {} already has {MAX_CREATING} consumers in CREATING status; at most {MAX_CREATING} can be created at the same time.",
                    stream.record.name, self.config.account_id
                ),
            ));
        }
        let consumer = ConsumerRecord {
            name,
            created_ms: now,
            lifecycle: if self.config.creating_delay_ms == 0 {
                Lifecycle::Active
            } else {
                Lifecycle::Creating {
                    until_ms: now + self.config.creating_delay_ms as i64,
                }
            },
            tags: input.tags.unwrap_or_default(),
        };
        let mut record = stream.record.clone();
        // A consumer past its DELETING deadline is gone: drop it now.
        record.consumers = stream.consumers(now).cloned().collect();
        record.consumers.push(consumer.clone());
        let stream = self.save(record)?;
        Ok(RegisterStreamConsumerOutput {
            consumer: self.consumer_out(&stream, &consumer),
        })
    }

    pub async fn deregister_stream_consumer(
        &self,
        input: ConsumerRefInput,
    ) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        Self::check_consumer_ref(&mut v, &input);
        v.finish()?;
        let _guard = self.control.lock().await;
        let (stream, consumer) = self.resolve_consumer(
            input.stream_arn.as_deref(),
            input.consumer_name.as_deref(),
            input.consumer_arn.as_deref(),
        )?;
        let now = self.now();
        let mut record = stream.record.clone();
        record.consumers = stream.consumers(now).cloned().collect();
        if self.config.deleting_delay_ms == 0 {
            record
                .consumers
                .retain(|c| !(c.name == consumer.name && c.created_ms == consumer.created_ms));
        } else if let Some(c) = record
            .consumers
            .iter_mut()
            .find(|c| c.name == consumer.name && c.created_ms == consumer.created_ms)
        {
            if !matches!(c.lifecycle, Lifecycle::Deleting { .. }) {
                c.lifecycle = Lifecycle::Deleting {
                    until_ms: now + self.config.deleting_delay_ms as i64,
                };
            }
        }
        self.save(record)?;
        Ok(EmptyOutput {})
    }

    pub fn describe_stream_consumer(
        &self,
        input: ConsumerRefInput,
    ) -> Result<DescribeStreamConsumerOutput, ApiError> {
        let mut v = Validator::new();
        Self::check_consumer_ref(&mut v, &input);
        v.finish()?;
        let (stream, consumer) = self.resolve_consumer(
            input.stream_arn.as_deref(),
            input.consumer_name.as_deref(),
            input.consumer_arn.as_deref(),
        )?;
        let out = self.consumer_out(&stream, &consumer);
        Ok(DescribeStreamConsumerOutput {
            consumer_description: ConsumerDescription {
                consumer_name: out.consumer_name,
                consumer_arn: out.consumer_arn,
                consumer_status: out.consumer_status,
                consumer_creation_timestamp: out.consumer_creation_timestamp,
                stream_arn: stream.arn.clone(),
            },
        })
    }

    pub fn list_stream_consumers(
        &self,
        input: ListStreamConsumersInput,
    ) -> Result<ListStreamConsumersOutput, ApiError> {
        let mut v = Validator::new();
        v.required(&input.stream_arn, "streamARN");
        check::stream_arn(&mut v, input.stream_arn.as_deref(), "streamARN");
        v.length(input.next_token.as_deref(), "nextToken", 1, 1_048_576);
        v.range(input.max_results, "maxResults", 1, 10_000);
        v.finish()?;
        if input.next_token.is_some() && input.stream_creation_timestamp.is_some() {
            return Err(invalid(
                "NextToken and StreamCreationTimestamp cannot be provided together.",
            ));
        }
        let stream = self.stream_by_arn(input.stream_arn.as_deref())?;
        if let Some(ts) = input.stream_creation_timestamp {
            if ts.epoch_millis / 1000 != stream.record.created_ms / 1000 {
                return Err(self.not_found(&stream.record.name));
            }
        }
        let now = self.now();
        let after = match &input.next_token {
            Some(token) => {
                let (position, issued) = decode_token(token)
                    .ok_or_else(|| invalid("The specified NextToken is invalid."))?;
                if now - issued > self.config.iterator_ttl_ms {
                    return Err(ApiError::new(
                        ErrorKind::ExpiredNextToken,
                        format!(
                            "The NextToken has expired. It was issued at {issued}, now is {now}."
                        ),
                    ));
                }
                Some(position)
            }
            None => None,
        };
        let limit = input.max_results.unwrap_or(100).min(10_000) as usize;
        let mut consumers: Vec<&ConsumerRecord> = stream
            .consumers(now)
            .filter(|c| after.as_deref().is_none_or(|a| c.name.as_str() > a))
            .collect();
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
        let has_more = consumers.len() > limit;
        consumers.truncate(limit);
        let next_token = has_more
            .then(|| consumers.last().map(|c| encode_token(&c.name, now)))
            .flatten();
        Ok(ListStreamConsumersOutput {
            consumers: consumers
                .into_iter()
                .map(|c| self.consumer_out(&stream, c))
                .collect(),
            next_token,
        })
    }
}

fn consumer_name(v: &mut Validator, name: Option<&str>) {
    v.length(name, "consumerName", 1, 128)
        .pattern(name, "consumerName", NAME_PATTERN, is_name);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_arns_split() {
        assert_eq!(
            split_consumer_arn(
                "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c-1:1700000000"
            ),
            Some((
                "arn:aws:kinesis:us-east-1:000000000000:stream/s",
                "c-1",
                1_700_000_000
            ))
        );
        assert_eq!(
            split_consumer_arn("arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c"),
            None
        );
        assert_eq!(split_consumer_arn("nonsense"), None);
    }
}

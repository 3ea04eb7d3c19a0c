//! Enhanced fan-out consumers: RegisterStreamConsumer, DeregisterStreamConsumer,
//! DescribeStreamConsumer, ListStreamConsumers (SubscribeToShard is in `subscribe`).
//!
//! Consumers are part of their stream's catalog record. CREATING and DELETING end at deadlines
//! (no timers): a consumer past its DELETING deadline is gone.

use crate::errors::{in_use, invalid, limit_exceeded, not_active, not_found};
use crate::iterator::encode_token;
use crate::model::{ConsumerArn, ConsumerName, StreamArn, StreamRef, Tags};
use crate::store::{Status, Stream, StreamStore};
use crate::streams::check_token;
use spate_catalog::{ConsumerRecord, Lifecycle};
use spate_wire::kinesis::*;
use spate_wire::{ApiError, ErrorKind, Timestamp};
use std::sync::Arc;

/// Consumers that may be CREATING at once per stream (AWS: 5).
const MAX_CREATING: usize = 5;

/// How a request names a consumer.
#[derive(Debug, Clone)]
pub enum ConsumerRef {
    Arn(ConsumerArn),
    Named {
        stream: StreamArn,
        name: ConsumerName,
    },
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

pub struct Consumers {
    pub(crate) store: Arc<StreamStore>,
    /// SubscribeToShard reads through the data plane.
    pub(crate) records: Arc<crate::records::Records>,
    pub(crate) subscriptions: crate::subscribe::Subscriptions,
}

impl Consumers {
    fn consumer_out(&self, stream: &Stream, c: &ConsumerRecord) -> Consumer {
        Consumer {
            consumer_name: c.name.clone(),
            consumer_arn: stream.consumer_arn(c),
            consumer_status: consumer_status(c, self.store.now()),
            consumer_creation_timestamp: Timestamp::from_millis(c.created_ms),
        }
    }

    pub(crate) fn consumer_not_found(&self, name: &str) -> ApiError {
        ApiError::new(
            ErrorKind::ResourceNotFound,
            format!(
                "Consumer {name}, account {} not found.",
                self.store.config.account_id
            ),
        )
    }

    /// The stream and consumer a request names.
    pub(crate) fn resolve(
        &self,
        consumer: &ConsumerRef,
    ) -> Result<(Arc<Stream>, ConsumerRecord), ApiError> {
        let now = self.store.now();
        let (stream, name, created_secs) = match consumer {
            ConsumerRef::Arn(arn) => {
                let stream = self
                    .store
                    .resolve(&StreamRef::Arn(arn.stream.clone()))
                    .map_err(|_| self.consumer_not_found(&arn.name))?;
                (stream, arn.name.as_str(), Some(arn.created_secs))
            }
            ConsumerRef::Named { stream, name } => (
                self.store.resolve(&StreamRef::Arn(stream.clone()))?,
                name.as_str(),
                None,
            ),
        };
        let consumer = stream
            .consumers(now)
            .find(|c| c.name == name && created_secs.is_none_or(|s| s == c.created_ms / 1000))
            .cloned()
            .ok_or_else(|| self.consumer_not_found(name))?;
        Ok((stream, consumer))
    }

    pub async fn register(
        &self,
        stream: &StreamArn,
        name: &ConsumerName,
        tags: Tags,
    ) -> Result<RegisterStreamConsumerOutput, ApiError> {
        let config = &self.store.config;
        let _guard = self.store.control.lock().await;
        let stream = self.store.resolve(&StreamRef::Arn(stream.clone()))?;
        let now = self.store.now();
        let status = stream.status(now);
        if !matches!(status, Status::Active | Status::Updating) {
            return Err(not_active(config, &stream.record.name, status.as_str()));
        }
        let name = name.as_str();
        if stream.consumers(now).any(|c| c.name == name) {
            return Err(in_use(format!(
                "Consumer {name} under stream {} already exists.",
                stream.arn
            )));
        }
        let limit = config.consumer_limit as usize;
        let queues = self.store.consumer_slots_on(&stream.arn);
        if stream.consumers(now).count() + queues >= limit {
            return Err(limit_exceeded(format!(
                "Stream {} under account {} already has {limit} registered consumers, the most a stream can have.",
                stream.record.name, config.account_id
            )));
        }
        let creating = stream
            .consumers(now)
            .filter(|c| consumer_status(c, now) == "CREATING")
            .count();
        if creating >= MAX_CREATING {
            return Err(limit_exceeded(format!(
                "Stream {} under account {} already has {MAX_CREATING} consumers in CREATING status; at most {MAX_CREATING} can be created at the same time.",
                stream.record.name, config.account_id
            )));
        }
        let consumer = ConsumerRecord {
            name: name.to_string(),
            created_ms: now,
            lifecycle: if config.creating_delay_ms == 0 {
                Lifecycle::Active
            } else {
                Lifecycle::Creating {
                    until_ms: now + config.creating_delay_ms as i64,
                }
            },
            tags,
        };
        let mut record = stream.record.clone();
        // A consumer past its DELETING deadline is gone: drop it now.
        record.consumers = stream.consumers(now).cloned().collect();
        record.consumers.push(consumer.clone());
        let stream = self.store.save(record).await?;
        Ok(RegisterStreamConsumerOutput {
            consumer: self.consumer_out(&stream, &consumer),
        })
    }

    pub async fn deregister(&self, consumer: &ConsumerRef) -> Result<(), ApiError> {
        let _guard = self.store.control.lock().await;
        let (stream, consumer) = self.resolve(consumer)?;
        let now = self.store.now();
        let delay = self.store.config.deleting_delay_ms;
        let mut record = stream.record.clone();
        record.consumers = stream.consumers(now).cloned().collect();
        let same =
            |c: &ConsumerRecord| c.name == consumer.name && c.created_ms == consumer.created_ms;
        if delay == 0 {
            record.consumers.retain(|c| !same(c));
        } else if let Some(c) = record.consumers.iter_mut().find(|c| same(c)) {
            if !matches!(c.lifecycle, Lifecycle::Deleting { .. }) {
                c.lifecycle = Lifecycle::Deleting {
                    until_ms: now + delay as i64,
                };
            }
        }
        self.store.save(record).await?;
        Ok(())
    }

    pub fn describe(
        &self,
        consumer: &ConsumerRef,
    ) -> Result<DescribeStreamConsumerOutput, ApiError> {
        let (stream, consumer) = self.resolve(consumer)?;
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

    pub fn list(
        &self,
        stream: &StreamArn,
        next_token: Option<&str>,
        max_results: usize,
        stream_created_ms: Option<i64>,
    ) -> Result<ListStreamConsumersOutput, ApiError> {
        if next_token.is_some() && stream_created_ms.is_some() {
            return Err(invalid(
                "NextToken and StreamCreationTimestamp cannot be provided together.",
            ));
        }
        let stream = self.store.resolve(&StreamRef::Arn(stream.clone()))?;
        if let Some(ms) = stream_created_ms {
            if ms / 1000 != stream.record.created_ms / 1000 {
                return Err(not_found(&self.store.config, &stream.record.name));
            }
        }
        let now = self.store.now();
        let after = match next_token {
            Some(token) => Some(check_token(&self.store, token, now)?),
            None => None,
        };
        let mut consumers: Vec<&ConsumerRecord> = stream
            .consumers(now)
            .filter(|c| after.as_deref().is_none_or(|a| c.name.as_str() > a))
            .collect();
        consumers.sort_by(|a, b| a.name.cmp(&b.name));
        let has_more = consumers.len() > max_results;
        consumers.truncate(max_results);
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

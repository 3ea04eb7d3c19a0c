//! The control plane on domain values: create, delete, update, list, tags, encryption.

use crate::errors::{in_use, invalid, log_error};
use crate::model::{
    DeliveryStreamName, DeliveryStreamRecord, Destination, KeyType, Source, Sse, FORMAT_VERSION,
};
use crate::service::Firehose;
use spate_catalog::Lifecycle;
use spate_wire::{ApiError, ErrorKind};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Tags a delivery stream holds at most.
pub const TAGS_MAX: usize = 50;
/// Start/StopDeliveryStreamEncryption calls per stream per 24 hours.
const SSE_CALLS_PER_DAY: usize = 25;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// The id of a delivery stream's one destination.
pub const DESTINATION_ID: &str = "destinationId-000000000001";

pub type Tags = BTreeMap<String, Option<String>>;
/// A tag: key and optional value.
pub type Tag = (String, Option<String>);

pub struct CreateDeliveryStream {
    pub name: DeliveryStreamName,
    pub source: Source,
    pub destination: Destination,
    pub tags: Tags,
    pub sse: Option<(KeyType, Option<String>)>,
}

impl Firehose {
    pub fn arn(&self, name: &str) -> String {
        let c = self.config();
        format!(
            "arn:aws:firehose:{}:{}:deliverystream/{name}",
            c.region, c.account_id
        )
    }

    pub async fn create(&self, request: CreateDeliveryStream) -> Result<String, ApiError> {
        let registry = &self.registry;
        let _guard = registry.control.lock().await;
        let name = request.name.as_str().to_string();
        if registry.get(&name).is_ok() {
            let account = &registry.config.account_id;
            return Err(in_use(format!(
                "Firehose {name} under accountId {account} already exists"
            )));
        }
        let limit = registry.config.delivery_stream_limit;
        if registry.count() >= limit {
            return Err(ApiError::new(
                ErrorKind::LimitExceeded,
                format!("You have already consumed your firehose quota of {limit} hoses."),
            ));
        }
        let log_id = registry.allocate_log_id().await?;
        self.log.create_shard(log_id).await.map_err(log_error)?;
        let now = registry.now();
        let sse = request.sse.map(|(key_type, key_arn)| Sse {
            enabled: true,
            key_type,
            key_arn,
            until_ms: now,
            calls_ms: Vec::new(),
            data_keys: Vec::new(),
            sealing_version: None,
        });
        let mut record = DeliveryStreamRecord {
            format_version: FORMAT_VERSION,
            name: name.clone(),
            created_ms: now,
            updated_ms: None,
            lifecycle: Lifecycle::Creating {
                until_ms: now + registry.config.creating_delay_ms as i64,
            },
            version: 1,
            log_id,
            source: request.source,
            destination: request.destination,
            tags: request.tags,
            sse,
            channel: None,
        };
        self.seal.rotate(&mut record)?;
        registry.save(record).await?;
        self.deliveries.start(&name, log_id);
        Ok(self.arn(&name))
    }

    pub async fn delete(&self, name: &DeliveryStreamName) -> Result<(), ApiError> {
        let (log_id, delay) = {
            let _guard = self.registry.control.lock().await;
            let stream = self.registry.find(name)?;
            let now = self.registry.now();
            match stream.status(now) {
                "CREATING" => {
                    return Err(in_use(format!(
                        "Firehose {name} is in CREATING state and cannot be deleted until it is ACTIVE."
                    )))
                }
                "DELETING" => return Ok(()),
                _ => {}
            }
            let delay = self.registry.config.deleting_delay_ms as i64;
            let mut record = (*stream).clone();
            record.lifecycle = Lifecycle::Deleting {
                until_ms: now + delay,
            };
            self.registry.save(record).await?;
            (stream.log_id, delay)
        };
        if delay == 0 {
            self.finish_delete(name.as_str(), log_id).await?;
        }
        Ok(())
    }

    /// UpdateDestination: `merge` turns the current destination into the new one (a same-type
    /// update merges, a type change replaces). An update that changes nothing keeps the version.
    pub async fn update_destination(
        &self,
        name: &DeliveryStreamName,
        current_version: &str,
        destination_id: &str,
        merge: impl FnOnce(&Destination) -> Result<Destination, ApiError>,
    ) -> Result<(), ApiError> {
        let _guard = self.registry.control.lock().await;
        let stream = self.registry.find(name)?;
        if !stream.is_active(self.registry.now()) {
            return Err(in_use(format!(
                "Firehose {name} is not in the ACTIVE state; its destination cannot be updated now."
            )));
        }
        if current_version != stream.version.to_string() {
            return Err(ApiError::new(
                ErrorKind::ConcurrentModification,
                format!(
                    "Cannot update firehose: {name} since the current version id: {} and specified version id: {current_version} do not match",
                    stream.version
                ),
            ));
        }
        if destination_id != DESTINATION_ID {
            return Err(invalid(format!(
                "Destination Id {destination_id} not found"
            )));
        }
        let destination = merge(&stream.destination)?;
        if destination == stream.destination {
            return Ok(());
        }
        let mut record = (*stream).clone();
        record.destination = destination;
        record.version += 1;
        record.updated_ms = Some(self.registry.now());
        self.registry.save(record).await
    }

    /// Streams in name order after `start`, of `kind` if given; and whether more follow.
    pub fn list(
        &self,
        limit: usize,
        kind: Option<&str>,
        start: Option<&str>,
    ) -> (Vec<String>, bool) {
        let mut names = self
            .registry
            .all()
            .into_iter()
            .filter(|s| s.channel.is_none())
            .filter(|s| kind.is_none_or(|k| s.source.type_name() == k))
            .filter(|s| start.is_none_or(|start| s.name.as_str() > start))
            .map(|s| s.name.clone());
        let page: Vec<String> = names.by_ref().take(limit).collect();
        (page, names.next().is_some())
    }

    /// A KinesisStreamAsSource stream must name a stream of this server.
    pub fn check_kinesis_stream(&self, arn: &str) -> Result<(), ApiError> {
        let name = crate::delivery::stream_name(arn);
        let found = self.kinesis.as_ref().map(|k| k.source_shards(&name));
        match found {
            Some(Ok(_)) => Ok(()),
            _ => Err(invalid(format!(
                "Stream {name} under account {} not found.",
                self.config().account_id
            ))),
        }
    }

    pub fn describe(
        &self,
        name: &DeliveryStreamName,
    ) -> Result<Arc<DeliveryStreamRecord>, ApiError> {
        self.registry.find(name)
    }

    pub fn delivery_status(&self, name: &str) -> crate::delivery::DeliveryStatus {
        self.deliveries.status(name)
    }

    pub async fn tag(&self, name: &DeliveryStreamName, tags: Tags) -> Result<(), ApiError> {
        self.change(name, |record| {
            let mut merged = record.tags.clone();
            merged.extend(tags);
            if merged.len() > TAGS_MAX {
                return Err(ApiError::new(
                    ErrorKind::LimitExceeded,
                    format!("A delivery stream cannot have more than {TAGS_MAX} tags."),
                ));
            }
            record.tags = merged;
            Ok(())
        })
        .await
    }

    pub async fn untag(&self, name: &DeliveryStreamName, keys: &[String]) -> Result<(), ApiError> {
        self.change(name, |record| {
            keys.iter().for_each(|k| {
                record.tags.remove(k);
            });
            Ok(())
        })
        .await
    }

    /// Tags in key order after `start`, at most `limit`; and whether more follow.
    pub fn list_tags(
        &self,
        name: &DeliveryStreamName,
        start: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Tag>, bool), ApiError> {
        let stream = self.registry.find(name)?;
        let mut tags = stream
            .tags
            .iter()
            .filter(|(k, _)| start.is_none_or(|s| k.as_str() > s))
            .map(|(k, v)| (k.clone(), v.clone()));
        let page: Vec<_> = tags.by_ref().take(limit).collect();
        Ok((page, tags.next().is_some()))
    }

    /// Start (`Some(key)`) or stop (`None`) server-side encryption.
    pub async fn set_encryption(
        &self,
        name: &DeliveryStreamName,
        key: Option<(KeyType, Option<String>)>,
    ) -> Result<(), ApiError> {
        let now = self.registry.now();
        let delay = self.registry.config.updating_delay_ms as i64;
        self.change(name, |record| {
            if !matches!(record.source, Source::DirectPut { .. }) {
                return Err(invalid(format!(
                    "Encryption is only supported for DirectPut delivery streams; {name} reads from a Kinesis data stream."
                )));
            }
            let mut calls = record.sse.as_ref().map(|s| s.calls_ms.clone()).unwrap_or_default();
            calls.retain(|t| now - t < DAY_MS);
            if calls.len() >= SSE_CALLS_PER_DAY {
                return Err(ApiError::new(
                    ErrorKind::LimitExceeded,
                    format!("Start and stop encryption of {name} may be called {SSE_CALLS_PER_DAY} times in 24 hours."),
                ));
            }
            calls.push(now);
            // The data keys stay: records sealed before must still open.
            let previous = record.sse.take();
            let (data_keys, sealing_version) = previous
                .as_ref()
                .map_or((Vec::new(), None), |s| (s.data_keys.clone(), s.sealing_version));
            let enabling = key.is_some();
            let (key_type, key_arn) = key.unwrap_or_else(|| {
                let old = previous.as_ref();
                (old.map_or(KeyType::AwsOwned, |s| s.key_type), old.and_then(|s| s.key_arn.clone()))
            });
            record.sse = Some(Sse {
                enabled: enabling,
                key_type,
                key_arn,
                until_ms: now + delay,
                calls_ms: calls,
                data_keys,
                sealing_version,
            });
            if enabling {
                self.seal.rotate(record)?;
            }
            Ok(())
        })
        .await
    }

    /// A change to an ACTIVE stream's record under the control lock.
    async fn change(
        &self,
        name: &DeliveryStreamName,
        edit: impl FnOnce(&mut DeliveryStreamRecord) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let _guard = self.registry.control.lock().await;
        let stream = self.registry.find(name)?;
        if !stream.is_active(self.registry.now()) {
            return Err(in_use(format!(
                "Firehose {name} is not in the ACTIVE state; it cannot be changed now."
            )));
        }
        let mut record = (*stream).clone();
        edit(&mut record)?;
        self.registry.save(record).await
    }
}

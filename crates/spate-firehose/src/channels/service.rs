//! The channel control plane on domain values. A channel is a delivery stream of the Firehose
//! engine: its source is the channel's Kinesis stream from the moment the channel is ACTIVE
//! (channels do not backfill), its destination the channel's bucket, buffered for
//! DataFreshnessInSeconds or [`OBJECT_TARGET_MB`].

use super::model::ChannelSettings;
use crate::errors::{in_use, log_error};
use crate::ids::uuid_v4;
use crate::model::{
    Buffering, DeliveryStreamRecord, Destination, S3Destination, Source, FORMAT_VERSION,
};
use crate::service::Firehose;
use spate_catalog::Lifecycle;
use spate_wire::{ApiError, ErrorKind};
use std::sync::Arc;

/// The object size at which a channel delivers before its freshness interval, in MiB. AWS
/// mentions a "minimum target file size" without giving it; this is Spate's.
pub const OBJECT_TARGET_MB: i64 = 64;
/// Channels a stream may have (AWS: one to S3 and one to S3 Tables; Spate has no S3 Tables).
pub const CHANNELS_PER_STREAM: usize = 1;

fn not_found(arn: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ResourceNotFound,
        format!("Channel {arn} not found."),
    )
}

impl Firehose {
    pub fn channel_arn(&self, id: &str) -> String {
        let c = self.config();
        format!("arn:aws:kinesis:{}:{}:channel/{id}", c.region, c.account_id)
    }

    /// Every channel (any status), in creation order.
    pub fn channels(&self) -> Vec<Arc<DeliveryStreamRecord>> {
        let mut all: Vec<_> = self
            .registry
            .all()
            .into_iter()
            .filter(|s| s.channel.is_some())
            .collect();
        all.sort_by(|a, b| (a.created_ms, &a.name).cmp(&(b.created_ms, &b.name)));
        all
    }

    /// The channel an ARN names.
    pub fn channel(&self, arn: &str) -> Result<Arc<DeliveryStreamRecord>, ApiError> {
        let id = arn.rsplit_once(":channel/").map(|(_, id)| id);
        let id = id.ok_or_else(|| not_found(arn))?;
        let stream = self.registry.get(&ChannelSettings::stream_name(id));
        stream.map_err(|_| not_found(arn))
    }

    /// Channels on the stream with this ARN (what keeps it from being deleted).
    pub fn channels_on(&self, stream_arn: &str) -> usize {
        self.channels()
            .iter()
            .filter(|s| {
                s.channel
                    .as_ref()
                    .is_some_and(|c| c.stream_arn == stream_arn)
            })
            .count()
    }

    /// The most channels the account may have: two per on-demand stream the account may have
    /// (AWS bounds channels by that quota; it does not publish the number).
    pub fn channel_limit(&self) -> usize {
        let streams = self
            .kinesis
            .as_ref()
            .map_or(50, |k| k.config().on_demand_stream_limit);
        2 * streams as usize
    }

    /// The checks of a new channel against what exists: its name, its stream (on-demand, not
    /// at its channel quota) and the account's quota. The stream's ARN and creation time.
    fn check_new_channel(&self, settings: &ChannelSettings) -> Result<(String, i64), ApiError> {
        let account = &self.registry.config.account_id;
        let taken = self
            .channels()
            .iter()
            .any(|c| c.channel.as_ref().is_some_and(|c| c.name == settings.name));
        if taken {
            return Err(in_use(format!(
                "Channel {} under account {account} already exists.",
                settings.name
            )));
        }
        let stream_name = crate::delivery::stream_name(&settings.stream_arn);
        let kinesis = self.kinesis.as_ref().ok_or_else(|| {
            ApiError::new(
                ErrorKind::ResourceNotFound,
                format!("Stream {stream_name} under account {account} not found."),
            )
        })?;
        let (stream_arn, stream_created_ms, on_demand) = kinesis.stream_identity(&stream_name)?;
        if !on_demand {
            return Err(ApiError::new(
                ErrorKind::Validation,
                format!("Channels are only supported for data streams with the on-demand capacity mode; stream {stream_name} under account {account} is PROVISIONED."),
            ));
        }
        if self.channels_on(&stream_arn) >= CHANNELS_PER_STREAM {
            return Err(ApiError::new(
                ErrorKind::LimitExceeded,
                format!("Stream {stream_name} under account {account} already has a channel to a general purpose S3 bucket, the most it can have."),
            ));
        }
        let limit = self.channel_limit();
        if self.channels().len() >= limit {
            return Err(ApiError::new(
                ErrorKind::LimitExceeded,
                format!("Account {account} already has {limit} channels, the most it can have."),
            ));
        }
        Ok((stream_arn, stream_created_ms))
    }

    /// CreateChannel on checked `settings`: the channel's delivery stream, reading its stream
    /// from the moment it is ACTIVE.
    pub async fn create_channel(
        &self,
        mut settings: ChannelSettings,
    ) -> Result<Arc<DeliveryStreamRecord>, ApiError> {
        let registry = &self.registry;
        let _guard = registry.control.lock().await;
        let (stream_arn, stream_created_ms) = self.check_new_channel(&settings)?;
        settings.id = uuid_v4();
        settings.stream_arn = stream_arn;
        settings.stream_created_ms = stream_created_ms;
        let name = ChannelSettings::stream_name(&settings.id);
        let log_id = registry.allocate_log_id().await?;
        self.log.create_shard(log_id).await.map_err(log_error)?;
        let now = registry.now();
        let active_ms = now + registry.config.creating_delay_ms as i64;
        let record = channel_record(settings, log_id, now, active_ms);
        registry.save(record).await?;
        self.deliveries.start(&name, log_id);
        registry.get(&name)
    }

    /// DeleteChannel: DELETING for the deleting delay, then gone; undelivered records are
    /// not delivered.
    pub async fn delete_channel(&self, arn: &str) -> Result<(), ApiError> {
        let (name, log_id, delay) = {
            let _guard = self.registry.control.lock().await;
            let stream = self.channel(arn)?;
            if matches!(stream.lifecycle, Lifecycle::Deleting { .. }) {
                return Ok(());
            }
            let delay = self.registry.config.deleting_delay_ms as i64;
            let mut record = (*stream).clone();
            record.lifecycle = Lifecycle::Deleting {
                until_ms: self.registry.now() + delay,
            };
            self.registry.save(record).await?;
            (stream.name.clone(), stream.log_id, delay)
        };
        self.deliveries.stop(&name).await;
        if delay == 0 {
            self.finish_delete(&name, log_id).await?;
        }
        Ok(())
    }

    /// UpdateChannel: the freshness interval and the logging settings.
    pub async fn update_channel(
        &self,
        arn: &str,
        edit: impl FnOnce(&mut ChannelSettings),
    ) -> Result<Arc<DeliveryStreamRecord>, ApiError> {
        let _guard = self.registry.control.lock().await;
        let stream = self.channel(arn)?;
        let now = self.registry.now();
        let status = channel_status(&stream, now, self.registry.config.updating_delay_ms);
        if status != "ACTIVE" {
            return Err(in_use(format!(
                "Channel {arn} is {status}; it can be updated when it is ACTIVE."
            )));
        }
        let mut record = (*stream).clone();
        let Some(settings) = record.channel.as_mut() else {
            return Err(not_found(arn));
        };
        edit(settings);
        let freshness = settings.freshness_secs;
        if let Destination::S3 { config, .. } = &mut record.destination {
            config.buffering.interval_secs = freshness;
        }
        record.version += 1;
        record.updated_ms = Some(now);
        self.registry.save(record).await?;
        self.registry.get(&stream.name)
    }
}

/// The delivery stream of a new channel.
fn channel_record(
    settings: ChannelSettings,
    log_id: u64,
    now: i64,
    active_ms: i64,
) -> DeliveryStreamRecord {
    DeliveryStreamRecord {
        format_version: FORMAT_VERSION,
        name: ChannelSettings::stream_name(&settings.id),
        created_ms: now,
        updated_ms: None,
        lifecycle: Lifecycle::Creating {
            until_ms: active_ms,
        },
        version: 1,
        log_id,
        // No backfill: records from the moment the channel is ACTIVE.
        source: Source::KinesisStream {
            stream_arn: settings.stream_arn.clone(),
            role_arn: settings.role_arn.clone(),
            start_ms: active_ms,
        },
        destination: Destination::S3 {
            extended: true,
            config: S3Destination {
                role_arn: settings.role_arn.clone(),
                bucket_arn: settings.bucket.arn.clone(),
                buffering: Buffering {
                    size_mb: OBJECT_TARGET_MB,
                    interval_secs: settings.freshness_secs,
                },
                ..S3Destination::default()
            },
        },
        tags: Default::default(),
        sse: None,
        channel: Some(Box::new(settings)),
    }
}

/// ChannelStatus: CREATING, then ACTIVE; UPDATING for the updating delay after an update;
/// DELETING until it is gone.
pub fn channel_status(
    stream: &DeliveryStreamRecord,
    now_ms: i64,
    updating_delay_ms: u64,
) -> &'static str {
    match stream.lifecycle {
        Lifecycle::Deleting { .. } => "DELETING",
        Lifecycle::Creating { until_ms } if now_ms < until_ms => "CREATING",
        _ => match stream.updated_ms {
            Some(at) if now_ms < at + updating_delay_ms as i64 => "UPDATING",
            _ => "ACTIVE",
        },
    }
}

/// Channels keep their streams from being deleted or leaving on-demand mode, and are counted
/// by DescribeLimits and DescribeStreamSummary.
struct ChannelDependents(std::sync::Weak<Firehose>);

impl spate_streams::StreamDependents for ChannelDependents {
    fn count_on(&self, stream_arn: &str) -> usize {
        self.0.upgrade().map_or(0, |f| f.channels_on(stream_arn))
    }

    fn noun(&self) -> &'static str {
        "channels"
    }

    fn kind(&self) -> spate_streams::DependentKind {
        spate_streams::DependentKind::Channels
    }

    fn account_count_and_limit(&self) -> (usize, usize) {
        self.0
            .upgrade()
            .map_or((0, 0), |f| (f.channels().len(), f.channel_limit()))
    }
}

pub fn dependents(firehose: &Arc<Firehose>) -> Arc<dyn spate_streams::StreamDependents> {
    Arc::new(ChannelDependents(Arc::downgrade(firehose)))
}

//! The stream control plane: creating, deleting, describing and listing streams, retention,
//! tags, limits and account settings.

use crate::config::limits;
use crate::encryption::Keyring;
use crate::errors::{in_use, invalid, limit_exceeded, log_error, not_active};
use crate::hashing::even_ranges;
use crate::iterator::{decode_token, encode_token};
use crate::model::{ShardId, StreamName, StreamRef, Tags};
use crate::output::{mode_out, shard_out, stream_description, stream_summary};
use crate::store::{DependentKind, Status, Stream, StreamStore};
use spate_catalog::{Lifecycle, ShardRecord, StreamMode, StreamRecord, FORMAT_VERSION};
use spate_log::RecordLog;
use spate_wire::kinesis::*;
use spate_wire::{ApiError, ErrorKind, Timestamp};
use std::sync::Arc;

/// CreateStream, validated.
#[derive(Debug, Clone)]
pub struct CreateStream {
    pub name: StreamName,
    pub mode: StreamMode,
    /// Required for PROVISIONED streams.
    pub shard_count: Option<u32>,
    pub tags: Tags,
    pub max_record_size_kib: Option<i64>,
    pub warm_throughput_mibps: Option<i64>,
    /// RecordDistributionStrategy AUTO (ON_DEMAND only).
    pub auto_distribution: bool,
}

pub struct Streams {
    store: Arc<StreamStore>,
    log: Arc<dyn RecordLog>,
    keyring: Arc<Keyring>,
}

impl Streams {
    pub(crate) fn new(
        store: Arc<StreamStore>,
        log: Arc<dyn RecordLog>,
        keyring: Arc<Keyring>,
    ) -> Self {
        Streams {
            store,
            log,
            keyring,
        }
    }

    pub(crate) fn store(&self) -> &StreamStore {
        &self.store
    }

    pub async fn create(&self, request: CreateStream) -> Result<(), ApiError> {
        let config = &self.store.config;
        let shard_count = match (request.mode, request.shard_count) {
            (StreamMode::OnDemand, _) => config.on_demand_shard_count,
            (StreamMode::Provisioned, Some(n)) => n,
            (StreamMode::Provisioned, None) => {
                return Err(invalid(
                    "ShardCount is required for a stream in PROVISIONED mode.",
                ))
            }
        };
        let _guard = self.store.control.lock().await;
        let name = request.name.as_str();
        if self.store.get_including_gone(name).is_some() {
            return Err(in_use(format!(
                "Stream {name} under account {} already exists.",
                config.account_id
            )));
        }
        self.check_shard_limit(shard_count as usize)?;
        if request.mode == StreamMode::OnDemand {
            check_on_demand_limit(&self.store)?;
        }
        let now = self.store.now();
        let first_log_id = self.store.allocate_log_ids(u64::from(shard_count));
        let shards: Vec<ShardRecord> = even_ranges(shard_count)
            .into_iter()
            .zip(0u32..)
            .map(|((start, end), i)| ShardRecord {
                index: i,
                log_id: first_log_id + u64::from(i),
                starting_hash_key: start,
                ending_hash_key: end,
                created_ms: now,
                ..ShardRecord::default()
            })
            .collect();
        for shard in &shards {
            self.log
                .create_shard(shard.log_id)
                .await
                .map_err(log_error)?;
        }
        let record = StreamRecord {
            format_version: FORMAT_VERSION,
            name: name.to_string(),
            created_ms: now,
            lifecycle: Lifecycle::Creating {
                until_ms: now + config.creating_delay_ms as i64,
            },
            mode: request.mode,
            retention_hours: limits::DEFAULT_RETENTION_HOURS,
            max_record_size_kib: request
                .max_record_size_kib
                .unwrap_or(limits::DEFAULT_MAX_RECORD_SIZE_KIB),
            tags: request.tags,
            shards,
            warm_throughput_mibps: request
                .warm_throughput_mibps
                .filter(|_| request.mode == StreamMode::OnDemand),
            auto_distribution: request.auto_distribution,
            ..StreamRecord::default()
        };
        self.store.save(record).await?;
        Ok(())
    }

    pub(crate) fn check_shard_limit(&self, additional: usize) -> Result<(), ApiError> {
        check_shard_limit(&self.store, additional)
    }

    /// Starts deleting a stream: DELETING for the configured delay, then gone.
    pub async fn delete(
        self: &Arc<Self>,
        stream: &StreamRef,
        enforce_consumer_deletion: bool,
    ) -> Result<(), ApiError> {
        let _guard = self.store.control.lock().await;
        let stream = self.store.resolve(stream)?;
        if matches!(stream.record.lifecycle, Lifecycle::Deleting { .. }) {
            return Ok(());
        }
        let (dependents, noun) = self.store.dependents_on(&stream.arn);
        if dependents > 0 {
            let (account, name) = (&self.store.config.account_id, &stream.record.name);
            return Err(in_use(format!(
                "DeleteStream can\u{2019}t delete {account}:{name} because there are {noun} on this data stream. Delete the {noun} first."
            )));
        }
        let now = self.store.now();
        if stream.consumers(now).next().is_some() && !enforce_consumer_deletion {
            let (account, name) = (&self.store.config.account_id, &stream.record.name);
            return Err(in_use(format!(
                "DeleteStream can\u{2019}t delete {account}:{name} because there are consumers associated with this data stream. To delete {name} anyway, set the EnforceConsumerDeletion parameter to true to force the deletion of all the consumers that are associated with it."
            )));
        }
        let delay = self.store.config.deleting_delay_ms;
        if delay == 0 {
            return self.finish_delete(&stream.record.name).await;
        }
        let until_ms = now + delay as i64;
        let mut record = stream.record.clone();
        record.lifecycle = Lifecycle::Deleting { until_ms };
        self.store.save(record).await?;
        // The removal also runs from maintenance; this timer only makes it prompt.
        let this = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
            this.finish_due_deletions().await;
        });
        Ok(())
    }

    /// Removes streams whose DELETING window has passed.
    pub async fn finish_due_deletions(&self) {
        let now = self.store.now();
        for stream in self.store.all_streams() {
            if stream.is_gone(now) {
                let _guard = self.store.control.lock().await;
                if let Err(e) = self.finish_delete(&stream.record.name).await {
                    tracing::error!("deleting stream {}: {e}", stream.record.name);
                }
            }
        }
    }

    /// Removes a stream for good: catalog first (so a crash cannot resurrect it half-deleted),
    /// then its shards' records. The caller holds the control lock.
    pub(crate) async fn finish_delete(&self, name: &str) -> Result<(), ApiError> {
        let Some(stream) = self.store.get_including_gone(name) else {
            return Ok(());
        };
        self.store.remove(name).await?;
        self.keyring.forget(&stream.record);
        for shard in &stream.record.shards {
            self.log
                .delete_shard(shard.log_id)
                .await
                .map_err(log_error)?;
        }
        Ok(())
    }

    pub fn describe(
        &self,
        stream: &StreamRef,
        limit: usize,
        after: Option<ShardId>,
    ) -> Result<DescribeStreamOutput, ApiError> {
        let stream = self.store.resolve(stream)?;
        let now = self.store.now();
        let status = stream.status(now);
        // AWS lists no shards while a stream is being created or deleted.
        let listed = matches!(status, Status::Active | Status::Updating);
        let mut shards: Vec<&ShardRecord> = stream
            .record
            .shards
            .iter()
            .filter(|s| listed && after.is_none_or(|a| s.index > a.0))
            .collect();
        shards.sort_by_key(|s| s.index);
        let has_more = shards.len() > limit;
        let shards = shards
            .into_iter()
            .take(limit)
            .map(|s| shard_out(&stream, s))
            .collect();
        Ok(DescribeStreamOutput {
            stream_description: stream_description(&stream, status, shards, has_more),
        })
    }

    pub fn describe_summary(
        &self,
        stream: &StreamRef,
    ) -> Result<DescribeStreamSummaryOutput, ApiError> {
        let stream = self.store.resolve(stream)?;
        let now = self.store.now();
        let mut summary = stream_summary(&stream, now);
        summary.channel_count = self
            .store
            .dependents_of(DependentKind::Channels)
            .map(|c| c.count_on(&stream.arn) as i64);
        Ok(DescribeStreamSummaryOutput {
            stream_description_summary: summary,
        })
    }

    pub fn list(
        &self,
        limit: usize,
        exclusive_start: Option<&StreamName>,
        next_token: Option<&str>,
    ) -> Result<ListStreamsOutput, ApiError> {
        let now = self.store.now();
        let after = match next_token {
            Some(token) => Some(check_token(&self.store, token, now)?),
            None => exclusive_start.map(|n| n.as_str().to_string()),
        };
        let streams = self.store.streams();
        let mut page: Vec<&Arc<Stream>> = streams
            .iter()
            .filter(|s| after.as_deref().is_none_or(|a| s.record.name.as_str() > a))
            .take(limit + 1)
            .collect();
        let has_more = page.len() > limit;
        page.truncate(limit);
        let next_token = has_more
            .then(|| page.last().map(|s| encode_token(&s.record.name, now)))
            .flatten();
        Ok(ListStreamsOutput {
            stream_names: page.iter().map(|s| s.record.name.clone()).collect(),
            has_more_streams: has_more,
            next_token,
            stream_summaries: page
                .iter()
                .map(|s| StreamSummary {
                    stream_name: s.record.name.clone(),
                    stream_arn: s.arn.clone(),
                    stream_status: s.status(now).as_str(),
                    stream_mode_details: mode_out(s.record.mode),
                    stream_creation_timestamp: Timestamp::from_millis(s.record.created_ms),
                })
                .collect(),
        })
    }

    pub async fn change_retention(
        &self,
        stream: &StreamRef,
        hours: i64,
        increase: bool,
    ) -> Result<(), ApiError> {
        let _guard = self.store.control.lock().await;
        let stream = self.store.resolve(stream)?;
        if hours < limits::MIN_RETENTION_HOURS {
            return Err(invalid(format!(
                "Minimum allowed retention period is {} hours. Requested retention period ({hours} hours) is too short.",
                limits::MIN_RETENTION_HOURS
            )));
        }
        if hours > limits::MAX_RETENTION_HOURS {
            return Err(invalid(format!(
                "Maximum allowed retention period is {} hours. Requested retention period ({hours} hours) is too long.",
                limits::MAX_RETENTION_HOURS
            )));
        }
        require_active(&self.store, &stream)?;
        let current = stream.record.retention_hours;
        let name = &stream.record.name;
        if increase && hours < current {
            return Err(invalid(format!(
                "Requested retention period ({hours} hours) for stream {name} can not be shorter than existing retention period ({current} hours). Use DecreaseRetentionPeriod API."
            )));
        }
        if !increase && hours > current {
            return Err(invalid(format!(
                "Requested retention period ({hours} hours) for stream {name} can not be longer than existing retention period ({current} hours). Use IncreaseRetentionPeriod API."
            )));
        }
        let mut record = stream.record.clone();
        record.retention_hours = hours;
        self.store.save(record).await?;
        Ok(())
    }

    pub fn limits(&self) -> DescribeLimitsOutput {
        let streams = self.store.streams();
        let config = &self.store.config;
        let channels = self
            .store
            .dependents_of(DependentKind::Channels)
            .map(|c| c.account_count_and_limit());
        DescribeLimitsOutput {
            shard_limit: i64::from(config.shard_limit),
            open_shard_count: streams.iter().map(|s| s.open_shard_count() as i64).sum(),
            on_demand_stream_count: streams
                .iter()
                .filter(|s| s.record.mode == StreamMode::OnDemand)
                .count() as i64,
            on_demand_stream_count_limit: i64::from(config.on_demand_stream_limit),
            channel_count: channels.map(|(n, _)| n as i64),
            channel_count_limit: channels.map(|(_, limit)| limit as i64),
        }
    }

    pub fn account_settings(&self) -> AccountSettingsOutput {
        let account = self.store.account();
        let started = account
            .billing_commitment_started_ms
            .filter(|_| account.billing_commitment_enabled);
        AccountSettingsOutput {
            minimum_throughput_billing_commitment: BillingCommitmentOutput {
                status: if account.billing_commitment_enabled {
                    "ENABLED"
                } else {
                    "DISABLED"
                }
                .to_string(),
                started_at: started.map(Timestamp::from_millis),
                ended_at: None,
                earliest_allowed_end_at: started
                    .map(|s| Timestamp::from_millis(s + 365 * 86_400_000)),
            },
        }
    }

    pub async fn update_account_settings(
        &self,
        enable: bool,
    ) -> Result<AccountSettingsOutput, ApiError> {
        let _guard = self.store.control.lock().await;
        let mut account = self.store.account();
        if enable && !account.billing_commitment_enabled {
            account.billing_commitment_started_ms = Some(self.store.now());
        }
        account.billing_commitment_enabled = enable;
        self.store.save_account(account).await?;
        Ok(self.account_settings())
    }
}

/// One more ON_DEMAND stream must stay within the account's ON_DEMAND stream limit.
pub(crate) fn check_on_demand_limit(store: &StreamStore) -> Result<(), ApiError> {
    let on_demand = store
        .streams()
        .iter()
        .filter(|s| s.record.mode == StreamMode::OnDemand)
        .count();
    if on_demand >= store.config.on_demand_stream_limit as usize {
        return Err(limit_exceeded(
            "Maximum number of ON_DEMAND streams reached.",
        ));
    }
    Ok(())
}

/// Adding `additional` open shards must stay within the account's shard limit.
pub(crate) fn check_shard_limit(store: &StreamStore, additional: usize) -> Result<(), ApiError> {
    let config = &store.config;
    let open = store.open_shard_count();
    let limit = config.shard_limit as usize;
    if open + additional > limit {
        return Err(limit_exceeded(format!(
            "This request would exceed the shard limit for the account {} in {}. Current shard count for the account: {open}. Limit: {limit}. Number of additional shards that would have resulted from this request: {additional}. Refer to the AWS Service Limits page (https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.",
            config.account_id, config.region
        )));
    }
    Ok(())
}

/// For changes that need an ACTIVE stream.
pub(crate) fn require_active(store: &StreamStore, stream: &Stream) -> Result<(), ApiError> {
    match stream.status(store.now()) {
        Status::Active => Ok(()),
        other => Err(not_active(
            &store.config,
            &stream.record.name,
            other.as_str(),
        )),
    }
}

/// Decodes a pagination token and checks its age; returns the position it holds.
pub(crate) fn check_token(store: &StreamStore, token: &str, now: i64) -> Result<String, ApiError> {
    let (position, issued) =
        decode_token(token).ok_or_else(|| invalid("The specified NextToken is invalid."))?;
    if now - issued > store.config.iterator_ttl_ms {
        return Err(ApiError::new(
            ErrorKind::ExpiredNextToken,
            format!("The NextToken has expired. It was issued at {issued}, now is {now}."),
        ));
    }
    Ok(position)
}

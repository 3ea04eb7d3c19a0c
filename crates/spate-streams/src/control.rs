//! Control-plane operations: stream lifecycle, description, listing, retention, tags, limits.

use crate::config::limits;
use crate::hashing::even_ranges;
use crate::iterator::{decode_token, encode_token};
use crate::registry::{log_error, Kinesis, Stream};
use crate::sequence::SequenceNumber;
use crate::validation::{self as check, format_shard_id, parse_shard_id};
use spate_catalog::{Lifecycle, ShardRecord, StreamMode, StreamRecord, FORMAT_VERSION};
use spate_wire::kinesis::*;
use spate_wire::validate::Validator;
use spate_wire::{ApiError, ErrorKind, Timestamp};
use std::sync::Arc;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidArgument, message)
}

fn mode_out(mode: StreamMode) -> StreamModeDetailsOut {
    StreamModeDetailsOut {
        stream_mode: match mode {
            StreamMode::Provisioned => "PROVISIONED",
            StreamMode::OnDemand => "ON_DEMAND",
        },
    }
}

fn enhanced_monitoring(stream: &Stream) -> Vec<EnhancedMetrics> {
    vec![EnhancedMetrics {
        shard_level_metrics: stream.record.shard_level_metrics.clone(),
    }]
}

pub(crate) fn encryption_type(stream: &Stream) -> &'static str {
    if stream.record.encryption_key_id.is_some() {
        "KMS"
    } else {
        "NONE"
    }
}

pub(crate) fn shard_out(stream: &Stream, shard: &ShardRecord) -> Shard {
    let seq = |counter: u64, arrival_ms: i64| {
        SequenceNumber {
            shard_created_secs: (shard.created_ms / 1000) as u64,
            shard_index: shard.index,
            counter,
            arrival_ms,
        }
        .to_string()
    };
    Shard {
        shard_id: format_shard_id(shard.index),
        parent_shard_id: shard.parent.map(format_shard_id),
        adjacent_parent_shard_id: shard.adjacent_parent.map(format_shard_id),
        hash_key_range: HashKeyRange {
            starting_hash_key: shard.starting_hash_key.to_string(),
            ending_hash_key: shard.ending_hash_key.to_string(),
        },
        sequence_number_range: SequenceNumberRange {
            starting_sequence_number: seq(0, shard.created_ms),
            ending_sequence_number: shard.ending_counter.map(|c| {
                seq(
                    c.saturating_sub(1),
                    shard.closed_ms.unwrap_or(stream.record.created_ms),
                )
            }),
        },
    }
}

impl Kinesis {
    pub async fn create_stream(&self, input: CreateStreamInput) -> Result<EmptyOutput, ApiError> {
        let mode = input
            .stream_mode_details
            .as_ref()
            .and_then(|m| m.stream_mode.as_deref());
        let mut v = Validator::new();
        v.required(&input.stream_name, "streamName");
        check::stream_name(&mut v, input.stream_name.as_deref(), "streamName");
        v.range(input.shard_count, "shardCount", 1, i64::MAX);
        if let Some(details) = &input.stream_mode_details {
            v.required(&details.stream_mode, "streamModeDetails.streamMode");
        }
        v.one_of(
            mode,
            "streamModeDetails.streamMode",
            &["PROVISIONED", "ON_DEMAND"],
        );
        v.range(
            input.max_record_size_in_ki_b,
            "maxRecordSizeInKiB",
            1024,
            10240,
        );
        v.range(
            input.warm_throughput_mi_bps,
            "warmThroughputMiBps",
            0,
            i64::MAX,
        );
        crate::tags::validate_tags(&mut v, input.tags.as_ref());
        v.finish()?;
        let name = input.stream_name.unwrap_or_default();
        let mode = if mode == Some("ON_DEMAND") {
            StreamMode::OnDemand
        } else {
            StreamMode::Provisioned
        };
        let shard_count = match (mode, input.shard_count) {
            (StreamMode::OnDemand, _) => self.config.on_demand_shard_count,
            (StreamMode::Provisioned, Some(n)) => u32::try_from(n).unwrap_or(u32::MAX),
            (StreamMode::Provisioned, None) => {
                return Err(invalid(
                    "ShardCount is required for a stream in PROVISIONED mode.",
                ))
            }
        };
        let _guard = self.control.lock().await;
        if self.registry().streams.contains_key(&name) {
            return Err(ApiError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "Stream {name} under account {} already exists.",
                    self.config.account_id
                ),
            ));
        }
        self.check_shard_limit(shard_count as usize)?;
        if mode == StreamMode::OnDemand {
            self.check_on_demand_limit()?;
        }
        let now = self.now();
        let first_log_id = self.registry().next_log_id;
        let shards: Vec<ShardRecord> = even_ranges(shard_count)
            .into_iter()
            .enumerate()
            .map(|(i, (start, end))| ShardRecord {
                index: i as u32,
                log_id: first_log_id + i as u64,
                starting_hash_key: start,
                ending_hash_key: end,
                created_ms: now,
                parent: None,
                adjacent_parent: None,
                ending_counter: None,
                closed_ms: None,
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
            name,
            created_ms: now,
            lifecycle: Lifecycle::Creating {
                until_ms: now + self.config.creating_delay_ms as i64,
            },
            mode,
            retention_hours: limits::DEFAULT_RETENTION_HOURS,
            max_record_size_kib: input
                .max_record_size_in_ki_b
                .unwrap_or(limits::DEFAULT_MAX_RECORD_SIZE_KIB),
            tags: input.tags.unwrap_or_default(),
            shards,
            warm_throughput_mibps: input
                .warm_throughput_mi_bps
                .filter(|_| mode == StreamMode::OnDemand),
            ..StreamRecord::default()
        };
        self.registry_mut().next_log_id = first_log_id + u64::from(shard_count);
        self.save(record)?;
        Ok(EmptyOutput {})
    }

    /// One more ON_DEMAND stream must stay within the account's ON_DEMAND stream limit.
    pub(crate) fn check_on_demand_limit(&self) -> Result<(), ApiError> {
        let on_demand = self
            .registry()
            .streams
            .values()
            .filter(|s| s.record.mode == StreamMode::OnDemand)
            .count();
        if on_demand >= self.config.on_demand_stream_limit as usize {
            return Err(ApiError::new(
                ErrorKind::LimitExceeded,
                "Maximum number of ON_DEMAND streams reached.",
            ));
        }
        Ok(())
    }

    pub(crate) fn check_shard_limit(&self, additional: usize) -> Result<(), ApiError> {
        let open: usize = self
            .registry()
            .streams
            .values()
            .map(|s| s.open_shard_count())
            .sum();
        let limit = self.config.shard_limit as usize;
        if open + additional > limit {
            return Err(ApiError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "This request would exceed the shard limit for the account {} in {}. Current shard count for the account: {open}. Limit: {limit}. Number of additional shards that would have resulted from this request: {additional}. Refer to the AWS Service Limits page (https://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) for current limits and how to request higher limits.",
                    self.config.account_id, self.config.region
                ),
            ));
        }
        Ok(())
    }

    pub async fn delete_stream(
        self: &Arc<Self>,
        input: DeleteStreamInput,
    ) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.finish()?;
        let _guard = self.control.lock().await;
        let stream = self.lookup_named(&input)?;
        if matches!(stream.record.lifecycle, Lifecycle::Deleting { .. }) {
            return Ok(EmptyOutput {});
        }
        if stream.consumers(self.now()).next().is_some()
            && input.enforce_consumer_deletion != Some(true)
        {
            let (account, name) = (&self.config.account_id, &stream.record.name);
            return Err(ApiError::new(
                ErrorKind::ResourceInUse,
                format!(
                    "DeleteStream can\u{2019}t delete {account}:{name} because there are consumers associated with this data stream. To delete {name} anyway, set the EnforceConsumerDeletion parameter to true to force the deletion of all the consumers that are associated with it."
                ),
            ));
        }
        let mut record = stream.record.clone();
        let until_ms = self.now() + self.config.deleting_delay_ms as i64;
        if self.config.deleting_delay_ms == 0 {
            self.finish_delete(&record.name).await?;
            return Ok(EmptyOutput {});
        }
        record.lifecycle = Lifecycle::Deleting { until_ms };
        self.save(record)?;
        let this = self.clone();
        let name = stream.record.name.clone();
        let delay = std::time::Duration::from_millis(self.config.deleting_delay_ms);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _guard = this.control.lock().await;
            let still_deleting = this
                .registry()
                .streams
                .get(&name)
                .is_some_and(|s| matches!(s.record.lifecycle, Lifecycle::Deleting { until_ms: u } if u == until_ms));
            if still_deleting {
                if let Err(e) = this.finish_delete(&name).await {
                    tracing::error!("deleting stream {name}: {e}");
                }
            }
        });
        Ok(EmptyOutput {})
    }

    pub fn describe_stream(
        &self,
        input: DescribeStreamInput,
    ) -> Result<DescribeStreamOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.range(input.limit, "limit", 1, 10_000);
        check::shard_id(
            &mut v,
            input.exclusive_start_shard_id.as_deref(),
            "exclusiveStartShardId",
        );
        v.finish()?;
        let stream = self.lookup_named(&input)?;
        let after = input
            .exclusive_start_shard_id
            .as_deref()
            .and_then(parse_shard_id);
        let limit = input.limit.unwrap_or(100) as usize;
        let mut shards: Vec<&ShardRecord> = stream
            .record
            .shards
            .iter()
            .filter(|s| after.is_none_or(|a| s.index > a))
            .collect();
        shards.sort_by_key(|s| s.index);
        let has_more = shards.len() > limit;
        let shards = shards
            .into_iter()
            .take(limit)
            .map(|s| shard_out(&stream, s))
            .collect();
        Ok(DescribeStreamOutput {
            stream_description: StreamDescription {
                stream_name: stream.record.name.clone(),
                stream_arn: stream.arn.clone(),
                stream_status: stream.status(self.now()),
                stream_mode_details: mode_out(stream.record.mode),
                shards,
                has_more_shards: has_more,
                retention_period_hours: stream.record.retention_hours,
                stream_creation_timestamp: Timestamp::from_millis(stream.record.created_ms),
                enhanced_monitoring: enhanced_monitoring(&stream),
                encryption_type: encryption_type(&stream),
                key_id: stream.record.encryption_key_id.clone(),
            },
        })
    }

    pub fn describe_stream_summary(
        &self,
        input: StreamOnlyInput,
    ) -> Result<DescribeStreamSummaryOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.finish()?;
        let stream = self.lookup_named(&input)?;
        Ok(DescribeStreamSummaryOutput {
            stream_description_summary: StreamDescriptionSummary {
                stream_name: stream.record.name.clone(),
                stream_arn: stream.arn.clone(),
                stream_status: stream.status(self.now()),
                stream_mode_details: mode_out(stream.record.mode),
                retention_period_hours: stream.record.retention_hours,
                stream_creation_timestamp: Timestamp::from_millis(stream.record.created_ms),
                enhanced_monitoring: enhanced_monitoring(&stream),
                encryption_type: encryption_type(&stream),
                key_id: stream.record.encryption_key_id.clone(),
                open_shard_count: stream.open_shard_count() as i64,
                consumer_count: stream.consumers(self.now()).count() as i64,
                max_record_size_in_ki_b: stream.record.max_record_size_kib,
                warm_throughput: self.warm_throughput(&stream),
            },
        })
    }

    pub fn list_streams(&self, input: ListStreamsInput) -> Result<ListStreamsOutput, ApiError> {
        let mut v = Validator::new();
        v.range(input.limit, "limit", 1, 10_000);
        check::stream_name(
            &mut v,
            input.exclusive_start_stream_name.as_deref(),
            "exclusiveStartStreamName",
        );
        v.length(input.next_token.as_deref(), "nextToken", 1, 1_048_576);
        v.finish()?;
        let now = self.now();
        let after = match &input.next_token {
            Some(token) => Some(self.check_token(token, now)?),
            None => input.exclusive_start_stream_name.clone(),
        };
        let limit = input.limit.unwrap_or(100) as usize;
        let registry = self.registry();
        let mut page: Vec<&Arc<Stream>> = registry
            .streams
            .values()
            .filter(|s| after.as_deref().is_none_or(|a| s.record.name.as_str() > a))
            .take(limit + 1)
            .collect();
        let has_more = page.len() > limit;
        page.truncate(limit);
        let next_token = has_more.then(|| encode_token(&page[page.len() - 1].record.name, now));
        Ok(ListStreamsOutput {
            stream_names: page.iter().map(|s| s.record.name.clone()).collect(),
            has_more_streams: has_more,
            next_token,
            stream_summaries: page
                .iter()
                .map(|s| StreamSummary {
                    stream_name: s.record.name.clone(),
                    stream_arn: s.arn.clone(),
                    stream_status: s.status(now),
                    stream_mode_details: mode_out(s.record.mode),
                    stream_creation_timestamp: Timestamp::from_millis(s.record.created_ms),
                })
                .collect(),
        })
    }

    /// Decodes a pagination token and checks its age.
    fn check_token(&self, token: &str, now: i64) -> Result<String, ApiError> {
        let (position, issued) =
            decode_token(token).ok_or_else(|| invalid("The specified NextToken is invalid."))?;
        if now - issued > self.config.iterator_ttl_ms {
            return Err(ApiError::new(
                ErrorKind::ExpiredNextToken,
                format!("The NextToken has expired. It was issued at {issued}, now is {now}."),
            ));
        }
        Ok(position)
    }

    pub fn list_shards(&self, input: ListShardsInput) -> Result<ListShardsOutput, ApiError> {
        let filter_type = input
            .shard_filter
            .as_ref()
            .and_then(|f| f.filter_type.as_deref());
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.length(input.next_token.as_deref(), "nextToken", 1, 1_048_576);
        check::shard_id(
            &mut v,
            input.exclusive_start_shard_id.as_deref(),
            "exclusiveStartShardId",
        );
        v.range(input.max_results, "maxResults", 1, 10_000);
        if let Some(f) = &input.shard_filter {
            v.required(&f.filter_type, "shardFilter.type");
            check::shard_id(&mut v, f.shard_id.as_deref(), "shardFilter.shardId");
        }
        v.one_of(
            filter_type,
            "shardFilter.type",
            &[
                "AFTER_SHARD_ID",
                "AT_TRIM_HORIZON",
                "FROM_TRIM_HORIZON",
                "AT_LATEST",
                "AT_TIMESTAMP",
                "FROM_TIMESTAMP",
            ],
        );
        v.finish()?;
        let now = self.now();
        let (stream, after) = match &input.next_token {
            Some(token) => {
                if input.stream_name.is_some() || input.stream_arn.is_some() {
                    return Err(invalid(
                        "NextToken and StreamName cannot be provided together.",
                    ));
                }
                let position = self.check_token(token, now)?;
                let (name, after) = position
                    .rsplit_once('/')
                    .ok_or_else(|| invalid("The specified NextToken is invalid."))?;
                (self.lookup(Some(name), None)?, after.parse::<u32>().ok())
            }
            None => {
                let stream = self.lookup_named(&input)?;
                (
                    stream,
                    input
                        .exclusive_start_shard_id
                        .as_deref()
                        .and_then(parse_shard_id),
                )
            }
        };
        if let Some(ts) = input.stream_creation_timestamp {
            if ts.epoch_millis / 1000 != stream.record.created_ms / 1000 {
                return Err(self.not_found(&stream.record.name));
            }
        }
        let filter = input.shard_filter.as_ref();
        let filter_after = match filter_type {
            Some("AFTER_SHARD_ID") => {
                let id = filter.and_then(|f| f.shard_id.as_deref()).ok_or_else(|| {
                    invalid("ShardId must be specified for the AFTER_SHARD_ID shard filter type.")
                })?;
                parse_shard_id(id)
            }
            _ => None,
        };
        let at_time = match filter_type {
            Some("AT_TIMESTAMP") | Some("FROM_TIMESTAMP") => Some(
                filter
                    .and_then(|f| f.timestamp)
                    .ok_or_else(|| invalid("Timestamp must be specified for the AT_TIMESTAMP and FROM_TIMESTAMP shard filter types."))?
                    .epoch_millis,
            ),
            _ => None,
        };
        let retention_start = now - stream.retention_ms();
        let t = at_time.unwrap_or(now).max(retention_start);
        let keep = |s: &ShardRecord| -> bool {
            // Not closed by T (a closed shard's records all arrived before it closed).
            let open_at_t = s.closed_ms.is_none_or(|closed| closed > t);
            match filter_type {
                Some("AT_LATEST") => s.ending_counter.is_none(),
                // Open at T: created by then (shards created with the stream count as open from
                // the start of time, as AWS shows them) and not yet closed.
                Some("AT_TIMESTAMP") => {
                    (s.created_ms <= t || s.created_ms == stream.record.created_ms) && open_at_t
                }
                // Open at T, and every descendant of those: whatever was not closed by T.
                Some("FROM_TIMESTAMP") => open_at_t,
                _ => true,
            }
        };
        let limit = input.max_results.unwrap_or(1000) as usize;
        let start_after = after.max(filter_after);
        let mut shards: Vec<&ShardRecord> = stream
            .record
            .shards
            .iter()
            .filter(|s| start_after.is_none_or(|a| s.index > a))
            .filter(|s| keep(s))
            .collect();
        shards.sort_by_key(|s| s.index);
        let has_more = shards.len() > limit;
        shards.truncate(limit);
        let next_token = has_more
            .then(|| {
                shards
                    .last()
                    .map(|s| encode_token(&format!("{}/{}", stream.record.name, s.index), now))
            })
            .flatten();
        Ok(ListShardsOutput {
            shards: shards.into_iter().map(|s| shard_out(&stream, s)).collect(),
            next_token,
        })
    }

    pub async fn increase_retention(&self, input: RetentionInput) -> Result<EmptyOutput, ApiError> {
        self.change_retention(input, true).await
    }

    pub async fn decrease_retention(&self, input: RetentionInput) -> Result<EmptyOutput, ApiError> {
        self.change_retention(input, false).await
    }

    async fn change_retention(
        &self,
        input: RetentionInput,
        increase: bool,
    ) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.required(&input.retention_period_hours, "retentionPeriodHours");
        v.finish()?;
        let hours = input.retention_period_hours.unwrap_or_default();
        let _guard = self.control.lock().await;
        let stream = self.lookup_named(&input)?;
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
        self.require_active(&stream)?;
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
        self.save(record)?;
        Ok(EmptyOutput {})
    }

    pub fn describe_limits(&self, _: EmptyInput) -> Result<DescribeLimitsOutput, ApiError> {
        let registry = self.registry();
        Ok(DescribeLimitsOutput {
            shard_limit: i64::from(self.config.shard_limit),
            open_shard_count: registry
                .streams
                .values()
                .map(|s| s.open_shard_count() as i64)
                .sum(),
            on_demand_stream_count: registry
                .streams
                .values()
                .filter(|s| s.record.mode == StreamMode::OnDemand)
                .count() as i64,
            on_demand_stream_count_limit: i64::from(self.config.on_demand_stream_limit),
        })
    }

    fn account_out(&self) -> AccountSettingsOutput {
        let account = &self.registry().account;
        let started = account.billing_commitment_started_ms;
        AccountSettingsOutput {
            minimum_throughput_billing_commitment: BillingCommitmentOutput {
                status: if account.billing_commitment_enabled {
                    "ENABLED"
                } else {
                    "DISABLED"
                }
                .to_string(),
                started_at: started
                    .filter(|_| account.billing_commitment_enabled)
                    .map(Timestamp::from_millis),
                ended_at: None,
                earliest_allowed_end_at: started
                    .filter(|_| account.billing_commitment_enabled)
                    .map(|s| Timestamp::from_millis(s + 365 * 86_400_000)),
            },
        }
    }

    pub fn describe_account_settings(
        &self,
        _: EmptyInput,
    ) -> Result<AccountSettingsOutput, ApiError> {
        Ok(self.account_out())
    }

    pub async fn update_account_settings(
        &self,
        input: UpdateAccountSettingsInput,
    ) -> Result<AccountSettingsOutput, ApiError> {
        let status = input
            .minimum_throughput_billing_commitment
            .as_ref()
            .and_then(|c| c.status.clone());
        let mut v = Validator::new();
        v.required(
            &input.minimum_throughput_billing_commitment,
            "minimumThroughputBillingCommitment",
        );
        if input.minimum_throughput_billing_commitment.is_some() {
            v.required(&status, "minimumThroughputBillingCommitment.status");
        }
        v.one_of(
            status.as_deref(),
            "minimumThroughputBillingCommitment.status",
            &["ENABLED", "DISABLED"],
        );
        v.finish()?;
        let _guard = self.control.lock().await;
        let mut account = self.registry().account.clone();
        let enable = status.as_deref() == Some("ENABLED");
        if enable && !account.billing_commitment_enabled {
            account.billing_commitment_started_ms = Some(self.now());
        }
        account.billing_commitment_enabled = enable;
        self.catalog
            .put_account(&account)
            .map_err(crate::registry::catalog_error)?;
        self.registry_mut().account = account;
        Ok(self.account_out())
    }
}

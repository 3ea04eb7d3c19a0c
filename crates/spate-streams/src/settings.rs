//! Stream settings that do not touch the shard map: capacity mode, warm throughput, maximum
//! record size, enhanced (shard-level) monitoring, and resource policies.

use crate::registry::{Kinesis, Stream};
use crate::validation as check;
use spate_catalog::{Lifecycle, StreamMode, StreamRecord};
use spate_wire::kinesis::*;
use spate_wire::validate::Validator;
use spate_wire::{ApiError, ErrorKind};
use std::sync::Arc;

/// Shard-level metrics in the order AWS lists them; "ALL" stands for every one.
pub(crate) const SHARD_LEVEL_METRICS: [&str; 7] = [
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
];

/// Capacity-mode switches allowed per stream in a rolling 24 hours (AWS: 2).
const MODE_SWITCHES_PER_DAY: usize = 2;

/// A resource policy document may hold at most this many bytes (AWS: 20 KiB).
const MAX_POLICY_BYTES: usize = 20 * 1024;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidArgument, message)
}

/// The metric names a request asks for, "ALL" expanded.
fn expand_metrics(requested: &[String]) -> Vec<&'static str> {
    SHARD_LEVEL_METRICS
        .into_iter()
        .filter(|m| requested.iter().any(|r| r == m || r == "ALL"))
        .collect()
}

impl Kinesis {
    /// Saves a changed stream and shows it UPDATING for the configured delay.
    pub(crate) fn save_updating(&self, mut record: StreamRecord) -> Result<Arc<Stream>, ApiError> {
        if self.config.updating_delay_ms > 0 {
            record.lifecycle = Lifecycle::Updating {
                until_ms: self.now() + self.config.updating_delay_ms as i64,
            };
        }
        self.save(record)
    }

    /// The ARN-only operations (UpdateStreamMode, UpdateMaxRecordSize) look their stream up here.
    fn lookup_by_arn(&self, arn: Option<&str>) -> Result<Arc<Stream>, ApiError> {
        let name = self.name_from_arn(arn.unwrap_or_default())?;
        self.lookup(Some(name), None)
    }

    pub async fn update_stream_mode(
        &self,
        input: UpdateStreamModeInput,
    ) -> Result<EmptyOutput, ApiError> {
        let mode = input
            .stream_mode_details
            .as_ref()
            .and_then(|m| m.stream_mode.as_deref());
        let mut v = Validator::new();
        v.required(&input.stream_arn, "streamARN")
            .required(&input.stream_mode_details, "streamModeDetails");
        check::stream_arn(&mut v, input.stream_arn.as_deref(), "streamARN");
        if input.stream_mode_details.is_some() {
            v.required(&mode, "streamModeDetails.streamMode");
        }
        v.one_of(
            mode,
            "streamModeDetails.streamMode",
            &["PROVISIONED", "ON_DEMAND"],
        );
        v.range(
            input.warm_throughput_mi_bps,
            "warmThroughputMiBps",
            0,
            i64::MAX,
        );
        v.finish()?;
        let mode = if mode == Some("ON_DEMAND") {
            StreamMode::OnDemand
        } else {
            StreamMode::Provisioned
        };
        let _guard = self.control.lock().await;
        let stream = self.lookup_by_arn(input.stream_arn.as_deref())?;
        self.require_active(&stream)?;
        if stream.record.mode == mode {
            // AWS documents no error for this; peers and Terraform treat it as a no-op.
            return Ok(EmptyOutput {});
        }
        let now = self.now();
        let mut switches: Vec<i64> = stream
            .record
            .mode_switches_ms
            .iter()
            .copied()
            .filter(|&t| now - t < 86_400_000)
            .collect();
        if switches.len() >= MODE_SWITCHES_PER_DAY {
            return Err(ApiError::new(
                ErrorKind::LimitExceeded,
                format!(
                    "Rate exceeded for stream {} under account {}.",
                    stream.record.name, self.config.account_id
                ),
            ));
        }
        switches.push(now);
        if mode == StreamMode::OnDemand {
            self.check_on_demand_limit()?;
        }
        let mut record = stream.record.clone();
        record.mode = mode;
        record.mode_switches_ms = switches;
        if let Some(mibps) = input.warm_throughput_mi_bps {
            record.warm_throughput_mibps = Some(mibps);
        }
        self.save_updating(record)?;
        Ok(EmptyOutput {})
    }

    pub async fn update_stream_warm_throughput(
        &self,
        input: UpdateStreamWarmThroughputInput,
    ) -> Result<UpdateStreamWarmThroughputOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.required(&input.warm_throughput_mi_bps, "warmThroughputMiBps");
        v.range(
            input.warm_throughput_mi_bps,
            "warmThroughputMiBps",
            0,
            i64::MAX,
        );
        v.finish()?;
        let _guard = self.control.lock().await;
        let stream = self.lookup_named(&input)?;
        self.require_active(&stream)?;
        if stream.record.mode != StreamMode::OnDemand {
            return Err(invalid(format!(
                "Warm throughput can only be set on streams in ON_DEMAND mode. Stream {} under account {} is in PROVISIONED mode.",
                stream.record.name, self.config.account_id
            )));
        }
        let before = self.warm_throughput(&stream);
        let mut record = stream.record.clone();
        let target = input.warm_throughput_mi_bps.unwrap_or_default();
        record.warm_throughput_mibps = Some(target);
        let stream = self.save_updating(record)?;
        Ok(UpdateStreamWarmThroughputOutput {
            stream_arn: stream.arn.clone(),
            stream_name: stream.record.name.clone(),
            // What the stream handles now, and the target it is scaling towards.
            warm_throughput: WarmThroughput {
                target_mi_bps: target,
                current_mi_bps: before.map_or(0, |w| w.current_mi_bps),
            },
        })
    }

    /// Warm throughput as DescribeStreamSummary reports it (ON_DEMAND streams only).
    pub(crate) fn warm_throughput(&self, stream: &Stream) -> Option<WarmThroughput> {
        if stream.record.mode != StreamMode::OnDemand {
            return None;
        }
        let target = stream.record.warm_throughput_mibps.unwrap_or(0);
        // Each open shard takes 1 MiB/s of writes, so the current figure is what the shard map
        // provides now; the ON_DEMAND scaler splits shards until it reaches the target.
        let current = stream.open_shard_count() as i64;
        Some(WarmThroughput {
            target_mi_bps: target,
            current_mi_bps: current,
        })
    }

    pub async fn update_max_record_size(
        &self,
        input: UpdateMaxRecordSizeInput,
    ) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        v.required(&input.stream_arn, "streamARN")
            .required(&input.max_record_size_in_ki_b, "maxRecordSizeInKiB");
        check::stream_arn(&mut v, input.stream_arn.as_deref(), "streamARN");
        v.range(
            input.max_record_size_in_ki_b,
            "maxRecordSizeInKiB",
            1024,
            10240,
        );
        v.finish()?;
        let _guard = self.control.lock().await;
        let stream = self.lookup_by_arn(input.stream_arn.as_deref())?;
        self.require_active(&stream)?;
        let mut record = stream.record.clone();
        record.max_record_size_kib = input.max_record_size_in_ki_b.unwrap_or(1024);
        self.save_updating(record)?;
        Ok(EmptyOutput {})
    }

    pub async fn enable_enhanced_monitoring(
        &self,
        input: EnhancedMonitoringInput,
    ) -> Result<EnhancedMonitoringOutput, ApiError> {
        self.change_monitoring(input, true).await
    }

    pub async fn disable_enhanced_monitoring(
        &self,
        input: EnhancedMonitoringInput,
    ) -> Result<EnhancedMonitoringOutput, ApiError> {
        self.change_monitoring(input, false).await
    }

    async fn change_monitoring(
        &self,
        input: EnhancedMonitoringInput,
        enable: bool,
    ) -> Result<EnhancedMonitoringOutput, ApiError> {
        let mut v = Validator::new();
        check::stream_ref(&mut v, &input);
        v.required(&input.shard_level_metrics, "shardLevelMetrics");
        let metrics = input.shard_level_metrics.clone().unwrap_or_default();
        v.count(
            input.shard_level_metrics.as_ref().map(Vec::len),
            "shardLevelMetrics",
            1,
            7,
        );
        let mut allowed = SHARD_LEVEL_METRICS.to_vec();
        allowed.push("ALL");
        for (i, m) in metrics.iter().enumerate() {
            v.one_of(
                Some(m),
                &format!("shardLevelMetrics.{}.member", i + 1),
                &allowed,
            );
        }
        v.finish()?;
        let _guard = self.control.lock().await;
        let stream = self.lookup_named(&input)?;
        self.require_active(&stream)?;
        let requested = expand_metrics(&metrics);
        let current = stream.record.shard_level_metrics.clone();
        let desired: Vec<String> = SHARD_LEVEL_METRICS
            .into_iter()
            .filter(|m| {
                let on = current.iter().any(|c| c == m);
                let asked = requested.contains(m);
                if enable {
                    on || asked
                } else {
                    on && !asked
                }
            })
            .map(String::from)
            .collect();
        let mut record = stream.record.clone();
        record.shard_level_metrics = desired.clone();
        let stream = self.save(record)?;
        Ok(EnhancedMonitoringOutput {
            stream_name: stream.record.name.clone(),
            stream_arn: stream.arn.clone(),
            current_shard_level_metrics: current,
            desired_shard_level_metrics: desired,
        })
    }

    fn validate_policy_arn(v: &mut Validator, arn: &Option<String>) {
        v.required(arn, "resourceARN");
        v.length(arn.as_deref(), "resourceARN", 1, 2048);
    }

    /// The stream a resource policy ARN names.
    fn policy_stream(&self, arn: Option<&str>) -> Result<Arc<Stream>, ApiError> {
        let arn = arn.unwrap_or_default();
        if arn.contains("/consumer/") {
            return Err(ApiError::new(
                ErrorKind::ResourceNotFound,
                format!("Consumer {arn} not found."),
            ));
        }
        self.lookup_by_arn(Some(arn))
    }

    pub async fn put_resource_policy(
        &self,
        input: ResourcePolicyInput,
    ) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        Self::validate_policy_arn(&mut v, &input.resource_arn);
        v.required(&input.policy, "policy");
        v.finish()?;
        let policy = input.policy.unwrap_or_default();
        validate_policy(&policy)?;
        let _guard = self.control.lock().await;
        let stream = self.policy_stream(input.resource_arn.as_deref())?;
        let mut record = stream.record.clone();
        record.resource_policy = Some(policy);
        self.save(record)?;
        Ok(EmptyOutput {})
    }

    pub fn get_resource_policy(
        &self,
        input: ResourcePolicyInput,
    ) -> Result<GetResourcePolicyOutput, ApiError> {
        let mut v = Validator::new();
        Self::validate_policy_arn(&mut v, &input.resource_arn);
        v.finish()?;
        let stream = self.policy_stream(input.resource_arn.as_deref())?;
        Ok(GetResourcePolicyOutput {
            // AWS answers an empty document when no policy is attached.
            policy: stream
                .record
                .resource_policy
                .clone()
                .unwrap_or_else(|| "{}".into()),
        })
    }

    pub async fn delete_resource_policy(
        &self,
        input: ResourcePolicyInput,
    ) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        Self::validate_policy_arn(&mut v, &input.resource_arn);
        v.finish()?;
        let _guard = self.control.lock().await;
        let stream = self.policy_stream(input.resource_arn.as_deref())?;
        if stream.record.resource_policy.is_none() {
            return Err(ApiError::new(
                ErrorKind::ResourceNotFound,
                format!("No resource policy found for resource ARN {}.", stream.arn),
            ));
        }
        let mut record = stream.record.clone();
        record.resource_policy = None;
        self.save(record)?;
        Ok(EmptyOutput {})
    }
}

/// A policy must be an IAM policy document: a JSON object with a Statement (one statement
/// object or a list of them), each with an Effect of Allow or Deny. Enforcement comes later;
/// storing garbage now would make that a breaking change.
fn validate_policy(policy: &str) -> Result<(), ApiError> {
    if policy.len() > MAX_POLICY_BYTES {
        return Err(invalid(format!(
            "Policy size {} bytes exceeds the maximum of {MAX_POLICY_BYTES} bytes.",
            policy.len()
        )));
    }
    let document: serde_json::Value = serde_json::from_str(policy)
        .map_err(|e| invalid(format!("Invalid policy document: not JSON ({e}).")))?;
    let statements = match document.get("Statement") {
        Some(serde_json::Value::Array(list)) if !list.is_empty() => list.clone(),
        Some(one @ serde_json::Value::Object(_)) => vec![one.clone()],
        _ => {
            return Err(invalid(
                "Invalid policy document: it must be a JSON object with a Statement.",
            ))
        }
    };
    for statement in &statements {
        match statement.get("Effect").and_then(|e| e.as_str()) {
            Some("Allow") | Some("Deny") => {}
            _ => {
                return Err(invalid(
                    "Invalid policy document: every Statement needs an Effect of Allow or Deny.",
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_expands_to_every_metric() {
        assert_eq!(expand_metrics(&["ALL".into()]).len(), 7);
        assert_eq!(
            expand_metrics(&["OutgoingBytes".into(), "IncomingBytes".into()]),
            vec!["IncomingBytes", "OutgoingBytes"]
        );
    }

    #[test]
    fn policies_are_checked() {
        let ok = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kinesis:GetRecords","Resource":"*"}]}"#;
        assert!(validate_policy(ok).is_ok());
        assert!(validate_policy("not json").is_err());
        assert!(validate_policy(r#"{"Version":"2012-10-17"}"#).is_err());
        assert!(validate_policy(r#"{"Statement":{"Effect":"Maybe"}}"#).is_err());
    }
}

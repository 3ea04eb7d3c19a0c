//! Stream settings that do not touch the shard map: capacity mode, warm throughput, maximum
//! record size, enhanced (shard-level) monitoring, and resource policies.

use crate::encryption::Keyring;
use crate::errors::{in_use, invalid, limit_exceeded};
use crate::model::{StreamArn, StreamRef};
use crate::output::warm_throughput;
use crate::store::{Stream, StreamStore};
use crate::streams::{check_on_demand_limit, require_active};
use spate_catalog::{Lifecycle, StreamMode, StreamRecord};
use spate_keyring::canonical_kms_key;
use spate_wire::kinesis::*;
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

/// The metric names a request asks for, "ALL" expanded.
pub(crate) fn expand_metrics(requested: &[String]) -> Vec<&'static str> {
    SHARD_LEVEL_METRICS
        .into_iter()
        .filter(|m| requested.iter().any(|r| r == m || r == "ALL"))
        .collect()
}

/// Stream settings that do not touch the shard map.
pub struct Settings {
    store: Arc<StreamStore>,
    keyring: Arc<Keyring>,
    /// Whether any stream may have a resource policy: set at start-up when one does and by every
    /// PutResourcePolicy, never cleared while running (authorization may skip looking then).
    any_resource_policy: std::sync::atomic::AtomicBool,
}

impl Settings {
    pub(crate) fn new(store: Arc<StreamStore>, keyring: Arc<Keyring>) -> Settings {
        let any = store
            .all_streams()
            .iter()
            .any(|s| s.record.resource_policy.is_some());
        Settings {
            store,
            keyring,
            any_resource_policy: std::sync::atomic::AtomicBool::new(any),
        }
    }

    /// False only if no stream can have a resource policy.
    pub fn may_have_resource_policies(&self) -> bool {
        self.any_resource_policy
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Saves a changed stream and shows it UPDATING for the configured delay.
    async fn save_updating(&self, mut record: StreamRecord) -> Result<Arc<Stream>, ApiError> {
        if self.store.config.updating_delay_ms > 0 {
            record.lifecycle = Lifecycle::Updating {
                until_ms: self.store.now() + self.store.config.updating_delay_ms as i64,
            };
        }
        self.store.save(record).await
    }

    pub async fn update_stream_mode(
        &self,
        stream: &StreamRef,
        mode: StreamMode,
        warm_throughput_mibps: Option<i64>,
    ) -> Result<(), ApiError> {
        let _guard = self.store.control.lock().await;
        let stream = self.store.resolve(stream)?;
        require_active(&self.store, &stream)?;
        if stream.record.mode == mode {
            // AWS documents no error for this; peers and Terraform treat it as a no-op.
            return Ok(());
        }
        let now = self.store.now();
        let mut switches: Vec<i64> = stream
            .record
            .mode_switches_ms
            .iter()
            .copied()
            .filter(|&t| now - t < 86_400_000)
            .collect();
        if switches.len() >= MODE_SWITCHES_PER_DAY {
            return Err(limit_exceeded(format!(
                "Rate exceeded for stream {} under account {}.",
                stream.record.name, self.store.config.account_id
            )));
        }
        switches.push(now);
        if mode == StreamMode::OnDemand {
            check_on_demand_limit(&self.store)?;
        }
        let (dependents, noun) = self.store.dependents_on(&stream.arn);
        if dependents > 0 && mode != StreamMode::OnDemand {
            return Err(in_use(format!(
                "Stream {} under account {} has {noun}: delete them before switching it to PROVISIONED.",
                stream.record.name, self.store.config.account_id
            )));
        }
        let mut record = stream.record.clone();
        record.mode = mode;
        record.mode_switches_ms = switches;
        if let Some(mibps) = warm_throughput_mibps {
            record.warm_throughput_mibps = Some(mibps);
        }
        self.save_updating(record).await?;
        Ok(())
    }

    pub async fn update_warm_throughput(
        &self,
        stream: &StreamRef,
        target: i64,
    ) -> Result<UpdateStreamWarmThroughputOutput, ApiError> {
        let _guard = self.store.control.lock().await;
        let stream = self.store.resolve(stream)?;
        require_active(&self.store, &stream)?;
        if stream.record.mode != StreamMode::OnDemand {
            return Err(invalid(format!(
                "Warm throughput can only be set on streams in ON_DEMAND mode. Stream {} under account {} is in PROVISIONED mode.",
                stream.record.name, self.store.config.account_id
            )));
        }
        let before = warm_throughput(&stream);
        let mut record = stream.record.clone();
        record.warm_throughput_mibps = Some(target);
        let stream = self.save_updating(record).await?;
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

    /// RecordDistributionStrategy: ON_DEMAND streams only; takes effect at once (no UPDATING).
    pub async fn update_record_distribution(
        &self,
        stream: &StreamRef,
        auto: bool,
    ) -> Result<(), ApiError> {
        let _guard = self.store.control.lock().await;
        let stream = self.store.resolve(stream)?;
        require_active(&self.store, &stream)?;
        if stream.record.mode != StreamMode::OnDemand {
            return Err(invalid(format!(
                "Stream {} under account {} uses the provisioned capacity mode: the record distribution strategy is only supported for on-demand streams.",
                stream.record.name, self.store.config.account_id
            )));
        }
        let mut record = stream.record.clone();
        record.auto_distribution = auto;
        self.store.save(record).await?;
        Ok(())
    }

    pub async fn update_max_record_size(
        &self,
        stream: &StreamRef,
        kib: i64,
    ) -> Result<(), ApiError> {
        let _guard = self.store.control.lock().await;
        let stream = self.store.resolve(stream)?;
        require_active(&self.store, &stream)?;
        let mut record = stream.record.clone();
        record.max_record_size_kib = kib;
        self.save_updating(record).await?;
        Ok(())
    }

    /// Enables (or disables) shard-level metrics; `requested` may hold "ALL".
    pub async fn change_monitoring(
        &self,
        stream: &StreamRef,
        requested: &[String],
        enable: bool,
    ) -> Result<EnhancedMonitoringOutput, ApiError> {
        let _guard = self.store.control.lock().await;
        let stream = self.store.resolve(stream)?;
        require_active(&self.store, &stream)?;
        let requested = expand_metrics(requested);
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
        let stream = self.store.save(record).await?;
        Ok(EnhancedMonitoringOutput {
            stream_name: stream.record.name.clone(),
            stream_arn: stream.arn.clone(),
            current_shard_level_metrics: current,
            desired_shard_level_metrics: desired,
        })
    }

    /// The stream a resource policy ARN names.
    fn policy_stream(&self, arn: &str) -> Result<Arc<Stream>, ApiError> {
        if arn.contains("/consumer/") {
            return Err(ApiError::new(
                ErrorKind::ResourceNotFound,
                format!("Consumer {arn} not found."),
            ));
        }
        let parsed = StreamArn::parse(arn).ok_or_else(|| invalid(format!("Invalid ARN: {arn}")))?;
        self.store.resolve(&StreamRef::Arn(parsed))
    }

    pub async fn put_resource_policy(&self, arn: &str, policy: String) -> Result<(), ApiError> {
        validate_policy(&policy)?;
        let _guard = self.store.control.lock().await;
        let stream = self.policy_stream(arn)?;
        let mut record = stream.record.clone();
        record.resource_policy = Some(policy);
        self.any_resource_policy
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.store.save(record).await?;
        Ok(())
    }

    pub fn get_resource_policy(&self, arn: &str) -> Result<GetResourcePolicyOutput, ApiError> {
        let stream = self.policy_stream(arn)?;
        Ok(GetResourcePolicyOutput {
            // AWS answers an empty document when no policy is attached.
            policy: stream
                .record
                .resource_policy
                .clone()
                .unwrap_or_else(|| "{}".into()),
        })
    }

    pub async fn delete_resource_policy(&self, arn: &str) -> Result<(), ApiError> {
        let _guard = self.store.control.lock().await;
        let stream = self.policy_stream(arn)?;
        if stream.record.resource_policy.is_none() {
            return Err(ApiError::new(
                ErrorKind::ResourceNotFound,
                format!("No resource policy found for resource ARN {}.", stream.arn),
            ));
        }
        let mut record = stream.record.clone();
        record.resource_policy = None;
        self.store.save(record).await?;
        Ok(())
    }

    /// StartStreamEncryption: `key_id` as the client named it.
    pub async fn start_encryption(&self, stream: &StreamRef, key_id: &str) -> Result<(), ApiError> {
        let canonical = canonical_kms_key(key_id).ok_or_else(|| {
            invalid(format!("Received KeyId {key_id} is not a properly formatted key ID, key ARN, alias name or alias ARN."))
        })?;
        let _guard = self.store.control.lock().await;
        let stream = self.store.resolve(stream)?;
        if !self.keyring.knows(&canonical) {
            return Err(ApiError::new(
                ErrorKind::KmsNotFound,
                format!(
                    "Key '{key_id}' does not exist. The request was rejected because the specified entity or resource can't be found."
                ),
            ));
        }
        require_active(&self.store, &stream)?;
        let mut record = stream.record.clone();
        self.keyring.rotate(&mut record)?;
        record.encryption_key_id = Some(key_id.to_string());
        self.save_updating(record).await?;
        Ok(())
    }

    pub async fn stop_encryption(&self, stream: &StreamRef) -> Result<(), ApiError> {
        let _guard = self.store.control.lock().await;
        let stream = self.store.resolve(stream)?;
        require_active(&self.store, &stream)?;
        let mut record = stream.record.clone();
        record.encryption_key_id = None;
        record.sealing_key_version = None;
        self.save_updating(record).await?;
        Ok(())
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

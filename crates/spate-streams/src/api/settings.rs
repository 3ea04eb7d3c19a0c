//! Stream settings at the edge: capacity mode, warm throughput, maximum record size,
//! enhanced monitoring, encryption and resource policies.

use super::check::{self, int, text};
use super::streams::stream_mode;
use crate::errors::invalid;
use crate::model::StreamRef;
use crate::service::Kinesis;
use crate::settings::SHARD_LEVEL_METRICS;
use spate_wire::kinesis::*;
use spate_wire::validate::Validator;
use spate_wire::{ApiError, ErrorKind};
use std::sync::Arc;

/// The ARN-only operations (UpdateStreamMode, UpdateMaxRecordSize) name their stream so.
fn by_arn(arn: &Option<spate_wire::Str>) -> Result<StreamRef, ApiError> {
    check::arn_of(arn).map(StreamRef::Arn)
}

pub async fn update_stream_mode(
    k: &Arc<Kinesis>,
    i: UpdateStreamModeInput,
) -> Result<EmptyOutput, ApiError> {
    let mode = i.stream_mode_details.as_ref().map(|m| text(&m.stream_mode));
    let mut v = Validator::new();
    v.required(&i.stream_arn, "streamARN");
    check::stream_arn(&mut v, text(&i.stream_arn), "streamARN");
    v.required(&i.stream_mode_details, "streamModeDetails");
    if let Some(mode) = mode {
        v.required(&mode, "streamModeDetails.streamMode");
        v.one_of(
            mode,
            "streamModeDetails.streamMode",
            &["PROVISIONED", "ON_DEMAND"],
        );
    }
    v.range(
        int(&i.warm_throughput_mi_bps),
        "warmThroughputMiBps",
        0,
        i64::MAX,
    );
    v.finish()?;
    let stream = by_arn(&i.stream_arn)?;
    k.settings
        .update_stream_mode(
            &stream,
            stream_mode(mode.flatten()),
            int(&i.warm_throughput_mi_bps),
        )
        .await?;
    Ok(EmptyOutput {})
}

pub async fn update_warm_throughput(
    k: &Arc<Kinesis>,
    i: UpdateStreamWarmThroughputInput,
) -> Result<UpdateStreamWarmThroughputOutput, ApiError> {
    let mut v = Validator::new();
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.required(&i.warm_throughput_mi_bps, "warmThroughputMiBps");
    v.range(
        int(&i.warm_throughput_mi_bps),
        "warmThroughputMiBps",
        0,
        i64::MAX,
    );
    v.finish()?;
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    let target = int(&i.warm_throughput_mi_bps).unwrap_or_default();
    k.settings.update_warm_throughput(&stream, target).await
}

pub async fn update_max_record_size(
    k: &Arc<Kinesis>,
    i: UpdateMaxRecordSizeInput,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.stream_arn, "streamARN");
    check::stream_arn(&mut v, text(&i.stream_arn), "streamARN");
    v.required(&i.max_record_size_in_ki_b, "maxRecordSizeInKiB");
    check::max_record_size_kib(&mut v, int(&i.max_record_size_in_ki_b));
    v.finish()?;
    let stream = by_arn(&i.stream_arn)?;
    let kib = int(&i.max_record_size_in_ki_b).unwrap_or(1024);
    k.settings.update_max_record_size(&stream, kib).await?;
    Ok(EmptyOutput {})
}

pub async fn update_record_distribution(
    k: &Arc<Kinesis>,
    i: UpdateStreamRecordDistributionStrategyInput,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    v.required(&i.stream_arn, "streamARN");
    check::stream_arn(&mut v, text(&i.stream_arn), "streamARN");
    check::stream_id(&mut v, text(&i.stream_id));
    v.required(
        &i.record_distribution_strategy,
        "recordDistributionStrategy",
    );
    v.one_of(
        text(&i.record_distribution_strategy),
        "recordDistributionStrategy",
        &super::streams::DISTRIBUTION_STRATEGIES,
    );
    v.finish()?;
    let stream = by_arn(&i.stream_arn)?;
    let auto = text(&i.record_distribution_strategy) == Some("AUTO");
    k.settings.update_record_distribution(&stream, auto).await?;
    Ok(EmptyOutput {})
}

pub async fn monitoring(
    k: &Arc<Kinesis>,
    i: EnhancedMonitoringInput,
    enable: bool,
) -> Result<EnhancedMonitoringOutput, ApiError> {
    let metrics = check::keys_of(i.shard_level_metrics.clone());
    let mut v = Validator::new();
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.required(&i.shard_level_metrics, "shardLevelMetrics");
    let shown = || spate_wire::validate::render_list(metrics.iter().map(String::as_str));
    v.count(
        i.shard_level_metrics.as_ref().map(|l| l.0.len()),
        shown,
        "shardLevelMetrics",
        1,
        7,
    );
    let mut allowed = SHARD_LEVEL_METRICS.to_vec();
    allowed.push("ALL");
    for (n, m) in metrics.iter().enumerate() {
        v.one_of(
            Some(m),
            &format!("shardLevelMetrics.{}.member", n + 1),
            &allowed,
        );
    }
    v.finish()?;
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    k.settings
        .change_monitoring(&stream, &metrics, enable)
        .await
}

pub async fn encryption(
    k: &Arc<Kinesis>,
    i: StreamEncryptionInput,
    start: bool,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    check::stream_members(&mut v, &i.stream_name, &i.stream_arn);
    v.required(&i.encryption_type, "encryptionType");
    v.one_of(text(&i.encryption_type), "encryptionType", &["NONE", "KMS"]);
    v.required(&i.key_id, "keyId");
    v.length(text(&i.key_id), "keyId", 1, 2048);
    v.finish()?;
    if text(&i.encryption_type) == Some("NONE") {
        return Err(ApiError::new(
            ErrorKind::InvalidArgument,
            "Encryption type cannot be NONE.",
        ));
    }
    let stream = check::stream_ref(&i.stream_name, &i.stream_arn)?;
    if start {
        k.settings
            .start_encryption(&stream, text(&i.key_id).unwrap_or_default())
            .await?;
    } else {
        k.settings.stop_encryption(&stream).await?;
    }
    Ok(EmptyOutput {})
}

fn check_policy_arn(v: &mut Validator, arn: &Option<spate_wire::Str>) {
    v.required(arn, "resourceARN");
    check::resource_arn(v, text(arn));
}

pub async fn put_resource_policy(
    k: &Arc<Kinesis>,
    i: ResourcePolicyInput,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    check_policy_arn(&mut v, &i.resource_arn);
    v.required(&i.policy, "policy");
    v.finish()?;
    let policy = i.policy.map(|p| p.0).unwrap_or_default();
    k.settings
        .put_resource_policy(text(&i.resource_arn).unwrap_or_default(), policy)
        .await?;
    Ok(EmptyOutput {})
}

pub async fn get_resource_policy(
    k: &Arc<Kinesis>,
    i: ResourcePolicyInput,
) -> Result<GetResourcePolicyOutput, ApiError> {
    let mut v = Validator::new();
    check_policy_arn(&mut v, &i.resource_arn);
    v.finish()?;
    k.settings
        .get_resource_policy(text(&i.resource_arn).unwrap_or_default())
}

pub async fn delete_resource_policy(
    k: &Arc<Kinesis>,
    i: ResourcePolicyInput,
) -> Result<EmptyOutput, ApiError> {
    let mut v = Validator::new();
    check_policy_arn(&mut v, &i.resource_arn);
    v.finish()?;
    if text(&i.resource_arn).is_none() {
        return Err(invalid("ResourceARN is required."));
    }
    k.settings
        .delete_resource_policy(text(&i.resource_arn).unwrap_or_default())
        .await?;
    Ok(EmptyOutput {})
}

//! The service's errors as clients see them, made in one place: AWS's exception names and
//! wording, and how log and catalog failures reach the wire.

use crate::config::ServiceConfig;
use spate_catalog::CatalogError;
use spate_log::LogError;
use spate_wire::{ApiError, ErrorKind};

pub(crate) fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidArgument, message)
}

pub(crate) fn limit_exceeded(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::LimitExceeded, message)
}

pub(crate) fn in_use(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::ResourceInUse, message)
}

pub(crate) fn not_found(config: &ServiceConfig, stream: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ResourceNotFound,
        format!(
            "Stream {stream} under account {} not found.",
            config.account_id
        ),
    )
}

/// `GetShardIterator` and friends: a shard id that names no shard of the stream.
pub(crate) fn shard_not_found(config: &ServiceConfig, stream: &str, shard_id: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ResourceNotFound,
        format!(
            "Shard {shard_id} in stream {stream} under account {} does not exist",
            config.account_id
        ),
    )
}

/// `SplitShard`/`MergeShards`: the resharding operations word it differently.
pub(crate) fn shard_not_found_for_reshard(
    config: &ServiceConfig,
    stream: &str,
    shard_id: &str,
) -> ApiError {
    ApiError::new(
        ErrorKind::ResourceNotFound,
        format!(
            "Could not find shard {shard_id} in stream {stream} under account {}.",
            config.account_id
        ),
    )
}

pub(crate) fn not_active(config: &ServiceConfig, stream: &str, status: &str) -> ApiError {
    in_use(format!(
        "Stream {stream} under account {} not ACTIVE, instead in state {status}",
        config.account_id
    ))
}

pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!("internal failure: {e}");
    ApiError::new(
        ErrorKind::InternalFailure,
        "An internal failure occurred; the request may or may not have been applied.",
    )
}

pub(crate) fn catalog_error(e: CatalogError) -> ApiError {
    match e {
        CatalogError::ReadOnly => log_error(LogError::ReadOnly),
        other => internal(other),
    }
}

/// Log failures as clients see them: a full queue is throttling, a full disk or descriptor
/// exhaustion is a retryable failure that names its cause (nothing was written), a stopped or
/// read-only log says why writes are refused.
pub(crate) fn log_error(e: LogError) -> ApiError {
    match e {
        LogError::Overloaded { .. } => ApiError::new(
            ErrorKind::ProvisionedThroughputExceeded,
            format!("Rate exceeded: {e}. Retry with backoff."),
        ),
        LogError::Unavailable(cause) => {
            tracing::warn!("write failed: {cause}");
            ApiError::new(
                ErrorKind::InternalFailure,
                format!("The records were not written: {cause}. Retry later."),
            )
        }
        LogError::ReadOnly => ApiError::new(
            ErrorKind::InternalFailure,
            "The server is read-only (its data directory is on a read-only file system): records can be read but not written.",
        ),
        LogError::Stopped(cause) | LogError::Io(cause) => ApiError::new(
            ErrorKind::InternalFailure,
            format!("The server refuses writes after a storage error ({cause}); an operator must restart it."),
        ),
        other => internal(other),
    }
}

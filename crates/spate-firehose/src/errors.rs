//! Firehose's errors, worded as AWS words them.

use crate::config::FirehoseConfig;
use spate_catalog::CatalogError;
use spate_log::LogError;
use spate_wire::{ApiError, ErrorKind};

pub fn not_found(config: &FirehoseConfig, name: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ResourceNotFound,
        format!(
            "Firehose {name} under account {} not found.",
            config.account_id
        ),
    )
}

pub fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidArgument, message)
}

pub fn in_use(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::ResourceInUse, message)
}

pub fn internal(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InternalFailure, message)
}

pub fn catalog_error(e: CatalogError) -> ApiError {
    match e {
        CatalogError::ReadOnly => internal(
            "The data directory is read-only: delivery streams can be described but not changed.",
        ),
        other => internal(other.to_string()),
    }
}

/// A log failure on the put path: records not written are worth retrying.
pub fn log_error(e: LogError) -> ApiError {
    match e {
        LogError::Overloaded { .. } => {
            ApiError::new(ErrorKind::ServiceUnavailableException, "Slow down.")
        }
        other => internal(format!("Records were not stored: {other}")),
    }
}

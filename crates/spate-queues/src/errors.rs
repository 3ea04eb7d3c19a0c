//! Queue errors, as Kinesis words them.

use spate_wire::{ApiError, ErrorKind};

pub fn not_found(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::ResourceNotFound, message)
}

pub fn in_use(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::ResourceInUse, message)
}

pub fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InvalidArgument, message)
}

pub fn validation(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::Validation, message)
}

pub fn limit_exceeded(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::LimitExceeded, message)
}

pub fn internal(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::InternalFailure, message)
}

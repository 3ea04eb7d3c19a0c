//! AWS exception names and HTTP statuses, mapped in one place.

use serde::Serialize;
use std::fmt;

/// Every exception Spate sends. The name on the wire is AWS's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    AccessDenied,
    ExpiredIterator,
    ExpiredNextToken,
    InternalFailure,
    InvalidArgument,
    KmsNotFound,
    LimitExceeded,
    MissingParameter,
    ProvisionedThroughputExceeded,
    ResourceInUse,
    ResourceNotFound,
    Serialization,
    UnknownOperation,
    Validation,
}

impl ErrorKind {
    /// The exception name sent as `__type` and `x-amzn-ErrorType`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::AccessDenied => "AccessDeniedException",
            ErrorKind::ExpiredIterator => "ExpiredIteratorException",
            ErrorKind::ExpiredNextToken => "ExpiredNextTokenException",
            ErrorKind::InternalFailure => "InternalFailureException",
            ErrorKind::InvalidArgument => "InvalidArgumentException",
            ErrorKind::KmsNotFound => "KMSNotFoundException",
            ErrorKind::LimitExceeded => "LimitExceededException",
            ErrorKind::MissingParameter => "MissingParameter",
            ErrorKind::ProvisionedThroughputExceeded => "ProvisionedThroughputExceededException",
            ErrorKind::ResourceInUse => "ResourceInUseException",
            ErrorKind::ResourceNotFound => "ResourceNotFoundException",
            ErrorKind::Serialization => "SerializationException",
            ErrorKind::UnknownOperation => "UnknownOperationException",
            ErrorKind::Validation => "ValidationException",
        }
    }

    /// HTTP status: 500 only for the server's own failures, 400 for everything a client caused.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InternalFailure => 500,
            _ => 400,
        }
    }
}

/// An error as the client sees it: an exception name and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
        }
    }

    /// The JSON/CBOR error body: `{"__type": "...", "message": "..."}`.
    pub fn body(&self) -> ErrorBody<'_> {
        ErrorBody {
            kind: self.kind.code(),
            message: &self.message,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)
    }
}

impl std::error::Error for ApiError {}

#[derive(Serialize)]
pub struct ErrorBody<'a> {
    #[serde(rename = "__type")]
    kind: &'a str,
    message: &'a str,
}

//! AWS exception names and HTTP statuses, mapped in one place.

use serde::Serialize;
use std::fmt;

/// Every exception Spate sends. The name on the wire is AWS's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    AccessDenied,
    /// Glue: a database or table of that name exists.
    AlreadyExists,
    ConcurrentModification,
    /// DynamoDB: a write's ConditionExpression did not hold.
    ConditionalCheckFailed,
    /// DynamoDB: a TransactWriteItems condition failed (reasons in the body).
    TransactionCanceled,
    DryRunOperation,
    /// Glue: the database, table or version named does not exist.
    EntityNotFound,
    ExpiredIterator,
    ExpiredNextToken,
    IncompleteSignature,
    InternalFailure,
    InvalidArgument,
    /// Glue's answer to a request it cannot serve as asked (its InvalidArgument).
    InvalidInput,
    InvalidKmsResource,
    InvalidSignature,
    InvalidSource,
    KmsNotFound,
    LimitExceeded,
    MissingAuthenticationToken,
    MissingParameter,
    ProvisionedThroughputExceeded,
    ResourceInUse,
    ResourceNotFound,
    /// Glue: a quota on databases, tables or table versions is reached.
    ResourceNumberLimitExceeded,
    Serialization,
    ServiceUnavailable,
    /// Firehose's throttling answer ("Slow down."), a server fault (503).
    ServiceUnavailableException,
    UnknownOperation,
    UnrecognizedClient,
    Validation,
}

impl ErrorKind {
    /// The exception name sent as `__type` and `x-amzn-ErrorType`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::AccessDenied => "AccessDeniedException",
            ErrorKind::AlreadyExists => "AlreadyExistsException",
            ErrorKind::ConcurrentModification => "ConcurrentModificationException",
            ErrorKind::ConditionalCheckFailed => "ConditionalCheckFailedException",
            ErrorKind::TransactionCanceled => "TransactionCanceledException",
            ErrorKind::DryRunOperation => "DryRunOperationException",
            ErrorKind::EntityNotFound => "EntityNotFoundException",
            ErrorKind::ExpiredIterator => "ExpiredIteratorException",
            ErrorKind::ExpiredNextToken => "ExpiredNextTokenException",
            ErrorKind::IncompleteSignature => "IncompleteSignatureException",
            ErrorKind::InternalFailure => "InternalFailureException",
            ErrorKind::InvalidArgument => "InvalidArgumentException",
            ErrorKind::InvalidInput => "InvalidInputException",
            ErrorKind::InvalidKmsResource => "InvalidKMSResourceException",
            ErrorKind::InvalidSignature => "InvalidSignatureException",
            ErrorKind::InvalidSource => "InvalidSourceException",
            ErrorKind::KmsNotFound => "KMSNotFoundException",
            ErrorKind::LimitExceeded => "LimitExceededException",
            ErrorKind::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorKind::MissingParameter => "MissingParameter",
            ErrorKind::ProvisionedThroughputExceeded => "ProvisionedThroughputExceededException",
            ErrorKind::ResourceInUse => "ResourceInUseException",
            ErrorKind::ResourceNotFound => "ResourceNotFoundException",
            ErrorKind::ResourceNumberLimitExceeded => "ResourceNumberLimitExceededException",
            ErrorKind::Serialization => "SerializationException",
            ErrorKind::ServiceUnavailable => "ServiceUnavailable",
            ErrorKind::ServiceUnavailableException => "ServiceUnavailableException",
            ErrorKind::UnknownOperation => "UnknownOperationException",
            ErrorKind::UnrecognizedClient => "UnrecognizedClientException",
            ErrorKind::Validation => "ValidationException",
        }
    }

    /// HTTP status: 500 only for the server's own failures, 400 for everything a client caused.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InternalFailure => 500,
            ErrorKind::ServiceUnavailable | ErrorKind::ServiceUnavailableException => 503,
            _ => 400,
        }
    }
}

/// How the message appears in the error body: AWS's front end writes `Message` for type errors
/// of the request body and no message at all for unparsable bodies and unknown operations;
/// services write `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageStyle {
    Lower,
    Capital,
    None,
}

/// An error as the client sees it: an exception name and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    pub style: MessageStyle,
    /// DynamoDB's TransactionCanceledException: why each item of the transaction failed, in
    /// order (`None` for those that would have succeeded).
    pub cancellation_reasons: Vec<CancellationReason>,
}

/// One entry of `CancellationReasons`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancellationReason {
    pub code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            style: MessageStyle::Lower,
            cancellation_reasons: Vec::new(),
        }
    }

    /// An error whose body carries only its type (`{"__type": "UnknownOperationException"}`).
    pub fn bare(kind: ErrorKind) -> Self {
        ApiError {
            kind,
            message: String::new(),
            style: MessageStyle::None,
            cancellation_reasons: Vec::new(),
        }
    }

    /// An exception of a service whose model names the member `Message` (Glue's do), so the
    /// body carries `{"__type": …, "Message": …}` as that service sends it.
    pub fn capitalized(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            kind,
            message: message.into(),
            style: MessageStyle::Capital,
            cancellation_reasons: Vec::new(),
        }
    }

    /// A request member of the wrong type: `{"__type": "SerializationException", "Message": …}`.
    pub fn member_type(message: impl Into<String>) -> Self {
        ApiError {
            kind: ErrorKind::Serialization,
            message: message.into(),
            style: MessageStyle::Capital,
            cancellation_reasons: Vec::new(),
        }
    }

    /// The JSON/CBOR error body: `{"__type": "...", "message": "..."}` (see [`MessageStyle`]).
    pub fn body(&self) -> ErrorBody<'_> {
        let message = Some(self.message.as_str());
        ErrorBody {
            kind: self.kind.code(),
            message: message.filter(|_| self.style == MessageStyle::Lower),
            capital_message: message.filter(|_| self.style == MessageStyle::Capital),
            cancellation_reasons: &self.cancellation_reasons,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(rename = "Message", skip_serializing_if = "Option::is_none")]
    capital_message: Option<&'a str>,
    #[serde(
        rename = "CancellationReasons",
        skip_serializing_if = "<[_]>::is_empty"
    )]
    cancellation_reasons: &'a [CancellationReason],
}

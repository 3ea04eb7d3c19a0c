//! Lambda's errors as the REST-JSON protocol carries them: the name in `x-amzn-ErrorType`, a
//! body with `Type` and the message (member casing as the model has it).

use spate_catalog::CatalogError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaErrorKind {
    ResourceNotFound,
    InvalidParameterValue,
    ResourceConflict,
    ResourceInUse,
    Validation,
    Service,
    TooManyRequests,
    RequestTooLarge,
    InvalidRequestContent,
    UnknownOperation,
}

impl LambdaErrorKind {
    pub fn code(self) -> &'static str {
        match self {
            LambdaErrorKind::ResourceNotFound => "ResourceNotFoundException",
            LambdaErrorKind::InvalidParameterValue => "InvalidParameterValueException",
            LambdaErrorKind::ResourceConflict => "ResourceConflictException",
            LambdaErrorKind::ResourceInUse => "ResourceInUseException",
            LambdaErrorKind::Validation => "ValidationException",
            LambdaErrorKind::Service => "ServiceException",
            LambdaErrorKind::TooManyRequests => "TooManyRequestsException",
            LambdaErrorKind::RequestTooLarge => "RequestTooLargeException",
            LambdaErrorKind::InvalidRequestContent => "InvalidRequestContentException",
            LambdaErrorKind::UnknownOperation => "UnknownOperationException",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            LambdaErrorKind::ResourceNotFound | LambdaErrorKind::UnknownOperation => 404,
            LambdaErrorKind::ResourceConflict => 409,
            LambdaErrorKind::Service => 500,
            LambdaErrorKind::TooManyRequests => 429,
            LambdaErrorKind::RequestTooLarge => 413,
            _ => 400,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", kind.code())]
pub struct LambdaError {
    pub kind: LambdaErrorKind,
    pub message: String,
}

impl LambdaError {
    pub fn new(kind: LambdaErrorKind, message: impl Into<String>) -> LambdaError {
        LambdaError {
            kind,
            message: message.into(),
        }
    }

    /// The error's JSON body.
    pub fn body(&self) -> Vec<u8> {
        // ResourceNotFoundException's model member is `Message`; the others' `message`.
        let member = match self.kind {
            LambdaErrorKind::ResourceNotFound => "Message",
            _ => "message",
        };
        let body = serde_json::json!({ "Type": "User", member: self.message });
        body.to_string().into_bytes()
    }
}

pub fn invalid(message: impl Into<String>) -> LambdaError {
    LambdaError::new(LambdaErrorKind::InvalidParameterValue, message)
}

pub fn validation(message: impl Into<String>) -> LambdaError {
    LambdaError::new(LambdaErrorKind::Validation, message)
}

pub fn conflict(message: impl Into<String>) -> LambdaError {
    LambdaError::new(LambdaErrorKind::ResourceConflict, message)
}

pub fn not_found(message: impl Into<String>) -> LambdaError {
    LambdaError::new(LambdaErrorKind::ResourceNotFound, message)
}

pub fn service(message: impl Into<String>) -> LambdaError {
    LambdaError::new(LambdaErrorKind::Service, message)
}

pub fn catalog_error(e: CatalogError) -> LambdaError {
    match e {
        CatalogError::ReadOnly => {
            service("The data directory is read-only: functions and mappings cannot be changed.")
        }
        other => service(other.to_string()),
    }
}

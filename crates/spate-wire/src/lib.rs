//! The Kinesis wire protocol, kept apart from the service logic.
//!
//! * [`codec`]: JSON 1.1 and CBOR bodies, chosen by `Content-Type`; the same typed shapes serve both
//!   because [`Blob`] and [`Timestamp`] look at `is_human_readable()` to pick their encoding.
//! * [`error`]: AWS exception names, HTTP status codes and the error envelope.
//! * [`validate`]: AWS-worded `ValidationException` messages.
//! * [`kinesis`], [`firehose`]: typed request and response shapes of each service's operations.

pub mod admin;
pub mod blob;
pub mod codec;
pub mod error;
pub mod eventstream;
pub mod firehose;
pub mod kinesis;
pub mod service;
pub mod timestamp;
pub mod types;
pub mod validate;

pub use blob::{Blob, BlobRef};
pub use codec::Encoding;
pub use error::{ApiError, CancellationReason, ErrorKind};
pub use timestamp::Timestamp;
pub use types::{Bool, Int, List, Long, Map, Str, Struct};

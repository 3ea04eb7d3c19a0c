//! Typed shapes of the Amazon Data Firehose API (botocore model `firehose/2015-08-04`).
//!
//! Request members are all `Option`, as in the Kinesis shapes: presence is checked by validation
//! so a missing member gets AWS's `ValidationException`. Destinations Spate does not deliver to
//! yet are recognised (so the client hears which one is missing) but not typed.

mod requests;
mod responses;

pub use requests::*;
pub use responses::*;

/// The `X-Amz-Target` prefix of Firehose.
pub const TARGET_PREFIX: &str = "Firehose_20150804";

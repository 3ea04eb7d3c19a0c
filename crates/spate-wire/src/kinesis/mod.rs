//! Typed shapes of the Kinesis Data Streams API (botocore model `kinesis/2013-12-02`).
//!
//! Request members are all `Option`: presence is checked by validation so that a missing member
//! gets AWS's `ValidationException`, not a serde error. Responses borrow where they can.

mod requests;
mod responses;

pub use requests::*;
pub use responses::*;

/// The `X-Amz-Target` prefix of Kinesis Data Streams.
pub const TARGET_PREFIX: &str = "Kinesis_20131202.";

/// Every stream-scoped request names its stream by name or by ARN. (The members are repeated in
/// each shape rather than `#[serde(flatten)]`ed: flattening buffers the whole body, records
/// included, and hides the CBOR encoding from the members.)
pub trait NamesStream {
    fn stream_name(&self) -> Option<&str>;
    fn stream_arn(&self) -> Option<&str>;
}

macro_rules! names_stream {
    ($($shape:ty),*) => {$(
        impl NamesStream for $shape {
            fn stream_name(&self) -> Option<&str> {
                self.stream_name.as_deref()
            }
            fn stream_arn(&self) -> Option<&str> {
                self.stream_arn.as_deref()
            }
        }
    )*};
}

names_stream!(
    DeleteStreamInput,
    DescribeStreamInput,
    StreamOnlyInput,
    ListShardsInput,
    PutRecordInput,
    PutRecordsInput,
    GetShardIteratorInput,
    RetentionInput,
    AddTagsToStreamInput,
    RemoveTagsFromStreamInput,
    ListTagsForStreamInput,
    SplitShardInput,
    MergeShardsInput,
    UpdateShardCountInput,
    UpdateStreamModeInput,
    UpdateStreamWarmThroughputInput,
    UpdateMaxRecordSizeInput,
    EnhancedMonitoringInput,
    StreamEncryptionInput
);

//! Where delivered data lands: objects in buckets.
//!
//! [`ObjectStore`] is what the delivery engine writes through. [`LocalDirStore`] keeps a
//! directory per bucket (the embedded default, needing no other service), [`S3Store`] writes to
//! any S3-compatible endpoint (AWS S3, MinIO, SeaweedFS, Ceph) through the official
//! `aws-sdk-s3`, and [`MemStore`] keeps objects in memory for tests.

mod local;
mod mem;
mod s3;

pub use local::LocalDirStore;
pub use mem::MemStore;
pub use s3::{S3Options, S3Store};

use bytes::Bytes;
use std::future::Future;
use std::pin::Pin;

pub type ObjectFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ObjectError>> + Send + 'a>>;

/// One object to write.
#[derive(Debug, Clone)]
pub struct PutObject {
    pub bucket: String,
    pub key: String,
    pub body: Bytes,
    /// `Content-Encoding` of the object (Firehose sets it for compressed objects).
    pub content_encoding: Option<&'static str>,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ObjectError {
    /// The bucket does not exist (S3's NoSuchBucket).
    #[error("bucket {0} does not exist")]
    NoSuchBucket(String),
    /// The key cannot be stored here (for example `..` as a path segment of a local store).
    #[error("object key {0:?} cannot be stored: {1}")]
    InvalidKey(String, String),
    /// Access was refused (S3's AccessDenied, a permission error on disk).
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// Anything else: the endpoint was unreachable, timed out, answered 5xx, the disk was full.
    /// Worth retrying.
    #[error("{0}")]
    Unavailable(String),
}

/// Object storage as the delivery engine needs it: write whole objects, and read them back
/// (for tools and tests).
pub trait ObjectStore: Send + Sync {
    /// Writes the object; once this resolves it is durable where the store can promise it.
    fn put(&self, object: PutObject) -> ObjectFuture<'_, ()>;
    /// The object's bytes, `None` if there is no such object.
    fn get<'a>(&'a self, bucket: &'a str, key: &'a str) -> ObjectFuture<'a, Option<Bytes>>;
    /// Keys of a bucket starting with `prefix`, in lexical order.
    fn list<'a>(&'a self, bucket: &'a str, prefix: &'a str) -> ObjectFuture<'a, Vec<String>>;
    /// Where objects go, for logs and `DescribeDeliveryStream` failure texts.
    fn describe(&self) -> String;
}

/// A bucket name as S3 accepts it: 3 to 63 characters of lower-case letters, digits, `.` and `-`,
/// starting and ending with a letter or digit. (AWS's BucketARN pattern is looser; S3 itself
/// refuses the rest.)
pub fn valid_bucket_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        for ok in ["abc", "my-bucket", "a.b.c", "123"] {
            assert!(valid_bucket_name(ok), "{ok}");
        }
        for bad in ["ab", "My-Bucket", "-abc", "abc-", "a_b_c", &"a".repeat(64)] {
            assert!(!valid_bucket_name(bad), "{bad}");
        }
    }
}

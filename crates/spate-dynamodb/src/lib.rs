//! The DynamoDB tables a Kinesis application keeps beside its streams: KCL-style lease tables
//! and idempotent "claim this event id" tables (`PutItem` with
//! `attribute_not_exists(eventId)`), served on Spate's port as `DynamoDB_20120810` (JSON 1.0).
//!
//! * [`value`]: attribute values in DynamoDB JSON, compared as DynamoDB compares them;
//! * [`expr`]: condition expressions, parsed with winnow and evaluated against an item;
//! * [`tables`]: key schemas and attribute definitions;
//! * [`service`]: tables and items in memory, each change written to the catalog before it is
//!   acknowledged;
//! * [`api`]: the wire operations.

pub mod api;
pub mod expr;
pub mod service;
pub mod tables;
pub mod value;

pub use service::{DynamoDb, DynamoDbConfig};
#[cfg(test)]
mod tests;

//! Kinesis channels: the five channel operations of the Kinesis API, served by the Firehose
//! delivery engine (one engine, two front ends). A channel is a delivery stream that reads its
//! Kinesis stream from the moment it is ACTIVE and writes objects to a general purpose S3
//! bucket, named by the channel's OutputKeyTemplate, records checked by their format (those
//! that fail go to the dead-letter prefix).

pub mod api;
pub mod model;
mod service;
pub mod shapes;
pub mod template;
mod validate;

pub use model::ChannelSettings;
pub use service::{channel_status, dependents, OBJECT_TARGET_MB};

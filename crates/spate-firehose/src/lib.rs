//! Amazon Data Firehose: delivery streams that take records durably (PutRecord,
//! PutRecordBatch), buffer them by their destination's hints, compress them and deliver them
//! as objects named the way Firehose names them, retrying until they land.
//!
//! * [`model`]: delivery streams as domain values, persisted as catalog documents.
//! * [`control`], [`ingest`]: the control plane and the put path, on domain values.
//! * [`delivery`]: the delivery engine (buffer → compress → name → write → record progress).
//! * [`api`]: the wire edge (`Firehose_20150804.*`, validation with AWS's messages).
//! * [`convert`]: record format conversion, JSON to Parquet by a Glue table's columns.
//! * [`channels`]: Kinesis channels (`Kinesis_20131202.*Channel`): the same engine behind
//!   Kinesis's API, from a stream to S3.

pub mod api;
pub mod channels;
pub mod config;
pub mod control;
pub mod convert;
pub mod delivery;
pub mod errors;
pub mod ids;
pub mod ingest;
pub mod limits;
pub mod model;
pub mod redshift;
pub mod seal;
pub mod service;
pub mod store;

#[cfg(test)]
mod tests;

pub use config::FirehoseConfig;
pub use service::Firehose;

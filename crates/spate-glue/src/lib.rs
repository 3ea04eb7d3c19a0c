//! The AWS Glue Data Catalog subset Firehose record format conversion needs: databases, tables
//! and table versions, served on Spate's port as `AWSGlue` (JSON 1.1).
//!
//! * [`model`]: databases and table versions as the catalog keeps them, and the names Glue
//!   accepts;
//! * [`pattern`]: the `Expression` of GetTables (Hive's table name patterns);
//! * [`service`]: the catalog in memory, each change written to the Spate catalog before it is
//!   acknowledged, and the lookup Firehose uses ([`Glue::table_columns`]);
//! * [`api`]: the wire operations.

pub mod api;
pub mod model;
pub mod pattern;
pub mod service;

pub use model::{Column, TableLookupError};
pub use service::{Glue, GlueConfig};
#[cfg(test)]
mod tests;

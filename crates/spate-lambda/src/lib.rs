//! Lambda-style consumers for Kinesis: functions (handler modules run by Spate's `node` and
//! `python3` runners, line-protocol commands, HTTP URLs) and event source mappings that read a
//! stream and invoke a function with batches, with Lambda's retry, bisection, partial-failure
//! and on-failure semantics. Served on the AWS Lambda REST API (`/2015-03-31/...`).
//!
//! * [`model`], [`store`]: functions and mappings as domain values, persisted in the catalog.
//! * [`functions`]: creating and invoking functions.
//! * [`mappings`]: the mappings and the engine that runs them.
//! * [`api`]: the REST edge (paths, validation, AWS's shapes and errors).

pub mod api;
pub mod config;
pub mod errors;
pub mod functions;
pub mod ids;
pub mod mappings;
pub mod model;
pub mod service;
pub mod store;

#[cfg(test)]
mod tests;

pub use config::{DeclaredFunction, LambdaConfig};
pub use service::Lambda;

//! Kinesis Queues: a queue reads ON_DEMAND streams and hands their records out with receipt
//! handles, visibility timeouts, acknowledgements and a built-in dead-letter side, on the
//! Kinesis API (`Kinesis_20131202.*Queue*`).
//!
//! * [`state`]: the delivery state as plain data (what is in flight, visible, dead, acked);
//! * [`journal`]: that state made durable (a snapshot and a group-committed journal);
//! * [`queue`]: one queue at run time (reading the streams, long polls, receipts);
//! * [`service`]: the registry and control plane; [`api`]: the wire edge.

pub mod api;
pub mod errors;
pub mod journal;
pub mod model;
pub mod queue;
pub mod service;
pub mod state;

#[cfg(test)]
mod tests;

pub use service::{Queues, QueuesConfig};

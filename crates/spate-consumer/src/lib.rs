//! A Kinesis consumer for tokio applications, in the manner of the Kinesis Client Library: a
//! [`Scheduler`] keeps leases on the stream's shards in a DynamoDB table (the KCL's schema, so
//! it can be shared with KCL 2.x/3.x workers), balances them across workers, and runs one
//! [`RecordProcessor`] per leased shard: parents to SHARD_END before their children start,
//! KPL aggregates de-aggregated (with sub-sequence numbers, and sub-records whose hash key is
//! not the shard's skipped as the KCL skips them), checkpoints by the processor. Delivery is
//! at least once: records after the last checkpoint are seen again by whoever takes the lease.
//! Built on the official `aws-sdk-kinesis` and `aws-sdk-dynamodb`; works against AWS and
//! against Spate alone (Kinesis and DynamoDB on one port).
//!
//! ```no_run
//! use spate_consumer::{Checkpointer, ConsumerConfig, Record, RecordProcessor, Scheduler};
//!
//! struct Printer;
//!
//! impl RecordProcessor for Printer {
//!     async fn process_records(&mut self, records: &[Record], checkpointer: &Checkpointer) {
//!         for r in records {
//!             println!("{} {}", r.partition_key, String::from_utf8_lossy(&r.data));
//!         }
//!         if let Some(last) = records.last() {
//!             let _ = checkpointer.checkpoint(last).await;
//!         }
//!     }
//!
//!     async fn shard_ended(&mut self, checkpointer: &Checkpointer) {
//!         let _ = checkpointer.checkpoint_shard_end().await;
//!     }
//! }
//!
//! # async fn run(kinesis: aws_sdk_kinesis::Client, dynamodb: aws_sdk_dynamodb::Client,
//! #              stop: tokio::sync::oneshot::Receiver<()>) -> Result<(), spate_consumer::ConsumerError> {
//! let config = ConsumerConfig::new("orders-app", "orders", "worker-1");
//! let scheduler = Scheduler::new(kinesis, dynamodb, config, || Printer);
//! // Runs until `stop` fires (a signal handler, say), then checkpoints and hands leases off.
//! scheduler.run(async { let _ = stop.await; }).await?;
//! # Ok(())
//! # }
//! ```

mod fanout;
pub mod lease;
mod scheduler;
mod shard;

pub use lease::{Lease, LeaseError, LeaseTable};
pub use scheduler::Scheduler;

use bytes::Bytes;
use std::future::Future;
use std::time::Duration;

/// One user record (a KPL sub-record or a plain Kinesis record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub partition_key: String,
    pub data: Bytes,
    pub sequence_number: String,
    /// Its position in the aggregate that carried it (0 for a plain record).
    pub sub_sequence_number: u64,
    pub aggregated: bool,
    pub approximate_arrival_ms: Option<i64>,
}

/// Where a shard without a checkpoint starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialPosition {
    TrimHorizon,
    Latest,
}

#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// The lease table's name (the KCL uses the application name).
    pub application_name: String,
    pub stream_name: String,
    /// This worker's name in the lease table; unique per process.
    pub worker_id: String,
    pub initial_position: InitialPosition,
    /// A lease whose counter does not move for this long is taken over (`failoverTimeMillis`).
    pub failover_time: Duration,
    /// Wait after an empty GetRecords (`idleTimeBetweenReadsInMillis`).
    pub idle_time_between_reads: Duration,
    /// GetRecords limit (`maxRecords`).
    pub max_records: i32,
    /// How often new shards get leases (`shardSyncIntervalMillis`).
    pub shard_sync_interval: Duration,
    /// Polling (GetRecords) or enhanced fan-out (SubscribeToShard).
    pub retrieval: Retrieval,
}

/// How records are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retrieval {
    /// GetRecords, shared with the stream's other readers.
    Polling,
    /// SubscribeToShard as the named stream consumer (registered if it is not), with a
    /// dedicated 2 MiB/s per shard on AWS.
    FanOut { consumer_name: String },
}

impl ConsumerConfig {
    pub fn new(
        application_name: impl Into<String>,
        stream_name: impl Into<String>,
        worker_id: impl Into<String>,
    ) -> ConsumerConfig {
        ConsumerConfig {
            application_name: application_name.into(),
            stream_name: stream_name.into(),
            worker_id: worker_id.into(),
            initial_position: InitialPosition::TrimHorizon,
            failover_time: Duration::from_secs(10),
            idle_time_between_reads: Duration::from_millis(200),
            max_records: 10_000,
            shard_sync_interval: Duration::from_secs(10),
            retrieval: Retrieval::Polling,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    #[error("the lease on {0} is no longer held")]
    LeaseLost(String),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error("Kinesis: {0}")]
    Kinesis(String),
}

/// Records progress on one shard for its processor.
pub struct Checkpointer {
    table: LeaseTable,
    shard_id: String,
    owner: String,
}

impl Checkpointer {
    /// Everything up to and including `record` is done.
    pub async fn checkpoint(&self, record: &Record) -> Result<(), ConsumerError> {
        self.checkpoint_at(&record.sequence_number, record.sub_sequence_number)
            .await
    }

    /// Everything up to this sequence (and sub-sequence) number is done.
    pub async fn checkpoint_at(&self, sequence: &str, sub: u64) -> Result<(), ConsumerError> {
        match self
            .table
            .checkpoint(&self.shard_id, &self.owner, sequence, sub)
            .await
        {
            Err(LeaseError::Lost) => Err(ConsumerError::LeaseLost(self.shard_id.clone())),
            other => Ok(other?),
        }
    }

    /// The shard is finished: its children may start (required in `shard_ended`).
    pub async fn checkpoint_shard_end(&self) -> Result<(), ConsumerError> {
        self.checkpoint_at(lease::SHARD_END, 0).await
    }
}

/// What the application does with a shard's records. One instance per shard lease.
pub trait RecordProcessor: Send + 'static {
    /// Called once before the first records of a lease.
    fn initialize(&mut self, _shard_id: &str) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// A batch of records, in shard order. Checkpoint when they are done.
    fn process_records(
        &mut self,
        records: &[Record],
        checkpointer: &Checkpointer,
    ) -> impl Future<Output = ()> + Send;

    /// Another worker took the lease: stop; checkpointing would fail.
    fn lease_lost(&mut self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The shard was closed by a reshard and every record is delivered: must call
    /// [`Checkpointer::checkpoint_shard_end`], or the children never start.
    fn shard_ended(&mut self, checkpointer: &Checkpointer) -> impl Future<Output = ()> + Send;

    /// The scheduler is shutting down gracefully: checkpoint what is done.
    fn shutdown_requested(
        &mut self,
        _checkpointer: &Checkpointer,
    ) -> impl Future<Output = ()> + Send {
        async {}
    }
}

//! A Kinesis producer for tokio applications, in the manner of the Kinesis Producer Library:
//! user records are aggregated per predicted shard into KPL-format records (magic
//! `F3 89 9A C2`, protobuf, MD5), collected into PutRecords calls (500 records, 5 MiB), sent with
//! bounded concurrency and per-shard rate limits, and only the failed entries retried, with
//! backoff and jitter, until a record's time to live runs out. Built on the official
//! `aws-sdk-kinesis`, so credentials, regions, endpoints and retries of the transport are the
//! SDK's; works against AWS and against Spate alike.
//!
//! ```no_run
//! # async fn example(kinesis: aws_sdk_kinesis::Client) -> Result<(), spate_producer::ProducerError> {
//! use spate_producer::{Producer, ProducerConfig};
//!
//! // `kinesis`: an aws-sdk-kinesis client, configured as usual (region, credentials, endpoint).
//! let producer = Producer::start(kinesis, ProducerConfig::new("orders")).await?;
//! // `send` waits only for buffer space; the returned future resolves once Kinesis has the record.
//! let receipt = producer.send("customer-42", &b"{\"total\": 12}"[..]).await?.await?;
//! println!("{} {} {}", receipt.shard_id, receipt.sequence_number, receipt.sub_sequence_number);
//! producer.close().await; // flushes: every record sent is answered
//! # Ok(())
//! # }
//! ```
//!
//! Records come back out of Kinesis with [`spate_kpl::deaggregate`] (or any KCL): each user record
//! keeps its partition key, and its sequence number is the aggregate's with the sub-sequence
//! number of its position.

mod buffer;
mod config;
mod limit;
mod sender;
pub mod shards;

pub use config::ProducerConfig;

use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Where a user record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub shard_id: String,
    /// The sequence number of the Kinesis record that carries it (its aggregate's).
    pub sequence_number: String,
    /// Its position inside the aggregate (0 for a record sent on its own).
    pub sub_sequence_number: u64,
    /// PutRecords calls it took.
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProducerError {
    #[error("invalid record: {0}")]
    Invalid(String),
    #[error("the record was not accepted within its time to live; last error: {0}")]
    Expired(String),
    #[error("Kinesis refused the record: {0}")]
    Refused(String),
    #[error("the producer is closed")]
    Closed,
    #[error("listing the stream's shards: {0}")]
    Shards(String),
}

/// A record on its way: resolves once Kinesis has acknowledged it (or it failed for good).
pub struct Pending(oneshot::Receiver<Result<Receipt, ProducerError>>);

impl std::future::Future for Pending {
    type Output = Result<Receipt, ProducerError>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        std::pin::Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(ProducerError::Closed)))
    }
}

/// The producer. Cheap to share behind an `Arc`; `send` from any task.
pub struct Producer {
    shared: Arc<sender::Shared>,
    flusher: tokio::task::JoinHandle<()>,
}

/// Kinesis's largest record, partition key included, in bytes.
pub const RECORD_MAX_BYTES: usize = 1 << 20;

impl Producer {
    /// Lists the stream's open shards, then starts the background flusher.
    pub async fn start(
        client: aws_sdk_kinesis::Client,
        config: ProducerConfig,
    ) -> Result<Producer, ProducerError> {
        let shared = sender::Shared::new(client, config).await?;
        let flusher = tokio::spawn(sender::flush_loop(shared.clone()));
        Ok(Producer { shared, flusher })
    }

    /// Buffers one record, waiting while more than `max_buffered_bytes` are outstanding
    /// (backpressure); the returned [`Pending`] resolves when Kinesis answers.
    pub async fn send(
        &self,
        partition_key: impl Into<String>,
        data: impl Into<Bytes>,
    ) -> Result<Pending, ProducerError> {
        let (partition_key, data) = (partition_key.into(), data.into());
        // Up to 256 bytes are at most 256 characters: count only longer keys.
        let too_long = partition_key.len() > 256 && partition_key.chars().count() > 256;
        if partition_key.is_empty() || too_long {
            let chars = partition_key.chars().count();
            return Err(ProducerError::Invalid(format!(
                "a partition key has 1 to 256 characters, not {chars}"
            )));
        }
        if data.len() + partition_key.len() > RECORD_MAX_BYTES {
            return Err(ProducerError::Invalid(format!(
                "a record and its partition key hold at most {RECORD_MAX_BYTES} bytes"
            )));
        }
        self.shared.enqueue(partition_key, data).await
    }

    /// Sends everything buffered now and waits until every record sent so far is answered.
    pub async fn flush(&self) {
        self.shared.flush().await;
    }

    /// Flushes, then stops the background work. Records sent afterwards fail with `Closed`.
    pub async fn close(self) {
        self.shared.flush().await;
        self.shared.close();
        let _ = self.flusher.await;
    }

    /// User records buffered or in flight.
    pub fn outstanding(&self) -> usize {
        self.shared.outstanding()
    }
}

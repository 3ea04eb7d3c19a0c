//! The record log: durable, ordered, per-shard sequences of records.
//!
//! * One writer thread owns every shard's tail and alone assigns counters and arrival times
//!   ([`writer`]); callers talk to it over a channel, so per-shard order holds by construction.
//! * Group commit: the writer takes everything queued, writes each shard's bytes to its active
//!   segment, syncs each touched file once, and only then publishes the new durable tails and
//!   completes the callers. Readers ([`view`]) never see a record a crash could take back.
//! * Segments are CRC-framed ([`frame`]); recovery ([`recovery`], [`inspect`]) cuts the torn
//!   tail a crash can leave at the end of a shard's newest segment, and refuses to start on
//!   anything else (damage), naming the file and offset.
//! * A failed write or sync rolls the batch back to the last durable lengths; a full disk or
//!   descriptor exhaustion fails that batch only, any other I/O error stops writes.
//! * All I/O goes through [`storage::Storage`], so tests simulate power loss and failed syncs
//!   ([`mem`]) and `--in-memory` runs the same code without a disk.
//!
//! The format and the crash argument are written down in `docs/log-format.md`.

mod commit;
pub mod files;
pub mod frame;
pub mod inspect;
pub mod mem;
pub mod recovery;
pub mod storage;
pub mod view;
pub mod writer;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

pub use view::{ReadBatch, ShardTail};
pub use writer::{Log, LogOptions};

/// A shard's identity in the log; unique for the life of the data directory.
pub type ShardLogId = u64;

/// One record to append.
#[derive(Debug, Clone)]
pub struct AppendRecord {
    pub shard: ShardLogId,
    pub partition_key: String,
    pub data: Vec<u8>,
    /// `data` is an encryption envelope holding the partition key and data (`partition_key`
    /// is then empty); the log stores it as it is and marks it.
    pub sealed: bool,
}

/// Where an appended record landed, known once it is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Position within the shard: consecutive from 0.
    pub counter: u64,
    /// Arrival time in epoch milliseconds; never decreases within a shard.
    pub arrival_ms: i64,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LogError {
    /// A write or sync failed for a reason other than a full disk or too many open files. The
    /// log stops accepting writes: after a failed fsync the state of the page cache is unknown,
    /// so retrying could acknowledge data that is not on disk.
    #[error("log I/O error: {0}")]
    Io(String),
    #[error("the log has stopped accepting writes after an earlier I/O error ({0})")]
    Stopped(String),
    #[error("the log is shutting down")]
    ShuttingDown,
    /// The batch was not written because the disk is full or descriptors ran out; it was rolled
    /// back and the log accepts writes again once the cause clears.
    #[error("records not written: {0}")]
    Unavailable(String),
    /// The writer's queue already holds `queue_max_bytes`: back off and retry.
    #[error("the log's write queue is full ({queued_bytes} of {queue_max_bytes} bytes queued)")]
    Overloaded {
        queued_bytes: usize,
        queue_max_bytes: usize,
    },
    /// The data directory is on a read-only file system: reads only.
    #[error("the data directory is read-only; records can be read but not written")]
    ReadOnly,
    #[error("unknown shard {0}")]
    UnknownShard(ShardLogId),
    #[error("corrupted log data: {0}")]
    Corrupted(String),
    /// A segment a read was about to open was removed by retention (the read continues at the
    /// first kept record).
    #[error("segment removed by retention")]
    Trimmed,
}

impl From<std::io::Error> for LogError {
    fn from(e: std::io::Error) -> Self {
        LogError::Io(e.to_string())
    }
}

pub type LogFuture<T> = Pin<Box<dyn Future<Output = Result<T, LogError>> + Send>>;

/// What the streams service needs of a record log. Batch-shaped, so that a cluster backend that
/// stores batches in object storage can implement it too; it never exposes files or offsets.
pub trait RecordLog: Send + Sync {
    /// Appends records (to any shards); resolves once they are durable, in input order.
    fn append(&self, records: Vec<AppendRecord>) -> LogFuture<Vec<Appended>>;
    /// Resolves once every append submitted before this call is durable and visible to readers.
    fn flush(&self) -> LogFuture<()> {
        // Appends are ordered and acknowledged after their group commit, so an empty append
        // completes no earlier than everything submitted before it.
        let appended = self.append(Vec::new());
        Box::pin(async move { appended.await.map(|_| ()) })
    }
    /// Reads shard records from `from` (a counter), skipping records that arrived before
    /// `min_arrival_ms`, up to the given bounds; only durable records are returned.
    fn read(
        &self,
        shard: ShardLogId,
        from: u64,
        max_records: usize,
        max_bytes: usize,
        min_arrival_ms: i64,
    ) -> Result<ReadBatch, LogError>;
    /// The counter of the first record that arrived at or after `epoch_ms` (the durable tail if
    /// none has).
    fn seek_time(&self, shard: ShardLogId, epoch_ms: i64) -> Result<u64, LogError>;
    fn tail(&self, shard: ShardLogId) -> Result<ShardTail, LogError>;
    /// A channel that changes whenever the shard's durable tail moves (for push delivery).
    fn watch(&self, shard: ShardLogId) -> Result<tokio::sync::watch::Receiver<u64>, LogError>;
    fn create_shard(&self, shard: ShardLogId) -> LogFuture<()>;
    fn delete_shard(&self, shard: ShardLogId) -> LogFuture<()>;
    /// Every shard the log holds (to find shards a crash left behind).
    fn shards(&self) -> Vec<ShardLogId>;
    /// Drops whole segments whose records all arrived before `before_ms`.
    fn trim(&self, shard: ShardLogId, before_ms: i64) -> LogFuture<()>;
}

/// Where a shard's segments live under the log root.
/// Makes the log hold exactly `referenced` shards: creates the missing ones and deletes those
/// nobody refers to (a crash between a service forgetting a shard and deleting it leaves one
/// behind). A read-only log keeps what it has. `what` names the owner in the log line.
pub async fn reconcile_shards(
    log: &dyn RecordLog,
    referenced: &std::collections::HashSet<ShardLogId>,
    what: &str,
) -> Result<(), LogError> {
    for &id in referenced {
        match log.create_shard(id).await {
            // A read-only log serves the shards it has; a missing one reads as empty.
            Ok(()) | Err(LogError::ReadOnly) => {}
            Err(e) => return Err(e),
        }
    }
    for id in log
        .shards()
        .into_iter()
        .filter(|id| !referenced.contains(id))
    {
        tracing::info!("removing log shard {id:016x}, which no {what} refers to");
        match log.delete_shard(id).await {
            Ok(()) | Err(LogError::ReadOnly) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub fn shard_dir(root: &std::path::Path, shard: ShardLogId) -> PathBuf {
    root.join("shards").join(format!("{shard:016x}"))
}

pub fn segment_path(dir: &std::path::Path, base_counter: u64) -> PathBuf {
    dir.join(format!("{base_counter:020}.seg"))
}

/// Milliseconds since the epoch; the log's clock is injectable for tests.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    })
}

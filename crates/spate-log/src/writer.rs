//! The log handle: opens (recovers) the log, starts the writer thread ([`crate::commit`]), and
//! serves reads from the published views.

use crate::commit::{Command, ShardWriter, Writer};
use crate::files::FileCache;
use crate::storage::{create_dir_all_durable, Storage};
use crate::view::{self, parking, ReadBatch, ShardTail, ShardView};
use crate::{
    recovery, shard_dir, AppendRecord, Appended, Clock, LogError, LogFuture, RecordLog, ShardLogId,
};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{oneshot, watch};

/// Tunables, with units in their names.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// A segment is sealed once it holds this many bytes (retention deletes whole segments).
    pub segment_max_bytes: u64,
    /// A segment is sealed once its first record is this old.
    pub segment_max_age_ms: i64,
    /// A sparse index entry every this many bytes of a segment.
    pub index_interval_bytes: u64,
    /// Upper bound of one group commit; more waits for the next.
    pub commit_max_bytes: usize,
    /// Bytes of records queued for the writer at most; appends beyond are refused at once
    /// ([`LogError::Overloaded`]) instead of queueing without bound.
    pub queue_max_bytes: usize,
    /// Sealed segment files readers keep open at most (the writer also holds each shard's
    /// active segment open).
    pub open_files_max: usize,
    /// Serve reads only: nothing on disk is changed, every write is refused.
    pub read_only: bool,
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            segment_max_bytes: 64 << 20,
            segment_max_age_ms: 60 * 60 * 1000,
            index_interval_bytes: 32 << 10,
            commit_max_bytes: 32 << 20,
            queue_max_bytes: 256 << 20,
            open_files_max: 256,
            read_only: false,
        }
    }
}

/// State shared by readers and the writer, per shard.
pub(crate) struct ShardShared {
    pub(crate) view: RwLock<ShardView>,
    pub(crate) durable: watch::Sender<u64>,
}

pub(crate) type ShardMap = RwLock<HashMap<ShardLogId, Arc<ShardShared>>>;

/// The log: a handle to the writer thread plus the shared read side.
pub struct Log {
    shards: Arc<ShardMap>,
    files: Arc<FileCache>,
    commands: Mutex<Option<mpsc::Sender<Command>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    queued_bytes: Arc<AtomicUsize>,
    queue_max_bytes: usize,
}

impl Log {
    /// Opens (recovering) or creates the log under `root`.
    pub fn open(
        storage: Arc<dyn Storage>,
        root: PathBuf,
        options: LogOptions,
        clock: Clock,
    ) -> Result<Log, LogError> {
        if !options.read_only {
            create_dir_all_durable(storage.as_ref(), &root.join("shards"))?;
        }
        let recovered = recovery::recover(storage.as_ref(), &root, options.read_only)?;
        let files = Arc::new(FileCache::new(storage.clone(), options.open_files_max));
        let shards: Arc<ShardMap> = Arc::new(RwLock::new(HashMap::new()));
        let mut writers = HashMap::new();
        for shard in recovered {
            let shared = Arc::new(ShardShared {
                durable: watch::channel(shard.view.next_counter).0,
                view: RwLock::new(shard.view.clone()),
            });
            shards
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(shard.id, shared.clone());
            let dir = shard_dir(&root, shard.id);
            writers.insert(shard.id, ShardWriter::resume(dir, shard.view, shared));
        }
        let (tx, rx) = mpsc::channel();
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let queue_max_bytes = options.queue_max_bytes;
        let mut writer = Writer::new(
            storage,
            root,
            options,
            clock,
            shards.clone(),
            files.clone(),
            writers,
            queued_bytes.clone(),
        );
        let handle = std::thread::Builder::new()
            .name("spate-log-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| LogError::Io(e.to_string()))?;
        Ok(Log {
            shards,
            files,
            commands: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            queued_bytes,
            queue_max_bytes,
        })
    }

    fn shard(&self, shard: ShardLogId) -> Result<Arc<ShardShared>, LogError> {
        self.shards
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&shard)
            .cloned()
            .ok_or(LogError::UnknownShard(shard))
    }

    fn send<T: Send + 'static>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, LogError>>) -> Command,
    ) -> LogFuture<T> {
        let (tx, rx) = oneshot::channel();
        let sent = match &*self.commands.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(commands) => commands.send(make(tx)).is_ok(),
            None => false,
        };
        Box::pin(async move {
            if !sent {
                return Err(LogError::ShuttingDown);
            }
            rx.await.unwrap_or(Err(LogError::ShuttingDown))
        })
    }

    /// Stops accepting writes, lets the writer finish what is queued, and waits for it.
    pub fn shutdown(&self) {
        self.commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(handle) = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = handle.join();
        }
    }

    /// Segment files readers hold open now (for tests and diagnostics).
    pub fn open_reader_files(&self) -> usize {
        self.files.open_count()
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl RecordLog for Log {
    fn append(&self, records: Vec<AppendRecord>) -> LogFuture<Vec<Appended>> {
        let bytes = crate::commit::append_bytes(&records);
        let before = self.queued_bytes.fetch_add(bytes, Ordering::AcqRel);
        // One batch is always let through, however large, so a big record cannot starve.
        if before > 0 && before + bytes > self.queue_max_bytes {
            self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
            let error = LogError::Overloaded {
                queued_bytes: before,
                queue_max_bytes: self.queue_max_bytes,
            };
            return Box::pin(async move { Err(error) });
        }
        self.send(|done| Command::Append {
            records,
            bytes,
            done,
        })
    }

    fn read(
        &self,
        shard: ShardLogId,
        from: u64,
        max_records: usize,
        max_bytes: usize,
        min_arrival_ms: i64,
    ) -> Result<ReadBatch, LogError> {
        view::read_records(
            &self.shard(shard)?.view,
            &self.files,
            from,
            max_records,
            max_bytes,
            min_arrival_ms,
        )
    }

    fn seek_time(&self, shard: ShardLogId, epoch_ms: i64) -> Result<u64, LogError> {
        view::seek_time(&self.shard(shard)?.view, &self.files, epoch_ms)
    }

    fn tail(&self, shard: ShardLogId) -> Result<ShardTail, LogError> {
        Ok(parking::read(&self.shard(shard)?.view).tail())
    }

    fn watch(&self, shard: ShardLogId) -> Result<watch::Receiver<u64>, LogError> {
        Ok(self.shard(shard)?.durable.subscribe())
    }

    fn create_shard(&self, shard: ShardLogId) -> LogFuture<()> {
        self.send(|done| Command::CreateShard { shard, done })
    }

    fn delete_shard(&self, shard: ShardLogId) -> LogFuture<()> {
        self.send(|done| Command::DeleteShard { shard, done })
    }

    fn shards(&self) -> Vec<ShardLogId> {
        let mut ids: Vec<ShardLogId> = self
            .shards
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .copied()
            .collect();
        ids.sort_unstable();
        ids
    }

    fn trim(&self, shard: ShardLogId, before_ms: i64) -> LogFuture<()> {
        self.send(|done| Command::Trim {
            shard,
            before_ms,
            done,
        })
    }
}

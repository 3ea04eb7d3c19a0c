//! The writer thread: assigns counters, group-commits, publishes durable tails.

use crate::frame::{encode_frame, encode_header, frame_len, HEADER_BYTES};
use crate::storage::{Storage, StorageFile};
use crate::view::{self, parking, IndexEntry, ReadBatch, SegmentView, ShardTail, ShardView};
use crate::{
    recovery, segment_path, shard_dir, AppendRecord, Appended, Clock, LogError, LogFuture,
    RecordLog, ShardLogId,
};
use std::collections::HashMap;
use std::path::PathBuf;
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
}

impl Default for LogOptions {
    fn default() -> Self {
        LogOptions {
            segment_max_bytes: 64 << 20,
            segment_max_age_ms: 60 * 60 * 1000,
            index_interval_bytes: 32 << 10,
            commit_max_bytes: 32 << 20,
        }
    }
}

/// State shared by readers and the writer, per shard.
pub(crate) struct ShardShared {
    pub(crate) view: RwLock<ShardView>,
    pub(crate) durable: watch::Sender<u64>,
}

type ShardMap = RwLock<HashMap<ShardLogId, Arc<ShardShared>>>;

enum Command {
    Append {
        records: Vec<AppendRecord>,
        done: oneshot::Sender<Result<Vec<Appended>, LogError>>,
    },
    CreateShard {
        shard: ShardLogId,
        done: oneshot::Sender<Result<(), LogError>>,
    },
    DeleteShard {
        shard: ShardLogId,
        done: oneshot::Sender<Result<(), LogError>>,
    },
    Trim {
        shard: ShardLogId,
        before_ms: i64,
        done: oneshot::Sender<Result<(), LogError>>,
    },
}

/// The log: a handle to the writer thread plus the shared read side.
pub struct Log {
    shards: Arc<ShardMap>,
    commands: Mutex<Option<mpsc::Sender<Command>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Log {
    /// Opens (recovering) or creates the log under `root`.
    pub fn open(
        storage: Arc<dyn Storage>,
        root: PathBuf,
        options: LogOptions,
        clock: Clock,
    ) -> Result<Log, LogError> {
        storage.create_dir_all(&root.join("shards"))?;
        let recovered = recovery::recover(storage.as_ref(), &root)?;
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
            writers.insert(
                shard.id,
                ShardWriter::resume(shard.id, shard_dir(&root, shard.id), shard.view, shared),
            );
        }
        let (tx, rx) = mpsc::channel();
        let mut writer = Writer {
            storage,
            root,
            options,
            clock,
            shards: shards.clone(),
            writers,
            failed: false,
        };
        let handle = std::thread::Builder::new()
            .name("spate-log-writer".into())
            .spawn(move || writer.run(rx))
            .map_err(|e| LogError::Io(e.to_string()))?;
        Ok(Log {
            shards,
            commands: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
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
                return Err(LogError::Stopped);
            }
            rx.await.unwrap_or(Err(LogError::Stopped))
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
}

impl Drop for Log {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl RecordLog for Log {
    fn append(&self, records: Vec<AppendRecord>) -> LogFuture<Vec<Appended>> {
        self.send(|done| Command::Append { records, done })
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
            from,
            max_records,
            max_bytes,
            min_arrival_ms,
        )
    }

    fn seek_time(&self, shard: ShardLogId, epoch_ms: i64) -> Result<u64, LogError> {
        view::seek_time(&self.shard(shard)?.view, epoch_ms)
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

    fn trim(&self, shard: ShardLogId, before_ms: i64) -> LogFuture<()> {
        self.send(|done| Command::Trim {
            shard,
            before_ms,
            done,
        })
    }
}

/// The writer's own view of one shard's tail.
struct ShardWriter {
    dir: PathBuf,
    shared: Arc<ShardShared>,
    /// Mirror of the published segments plus what this commit adds (unpublished until synced).
    segments: Vec<SegmentView>,
    next_counter: u64,
    last_arrival_ms: Option<i64>,
    /// Bytes encoded in this commit for the last segment, written at its `durable_len`.
    pending: Vec<u8>,
    /// First arrival of the active segment (for age-based sealing).
    active_first_arrival_ms: Option<i64>,
    bytes_since_index: u64,
    /// The last segment takes no more records (the recovered one after a restart).
    sealed: bool,
    /// Files written in this commit, to sync before acknowledging.
    unsynced: Vec<Arc<dyn StorageFile>>,
}

impl ShardWriter {
    fn resume(_id: ShardLogId, dir: PathBuf, view: ShardView, shared: Arc<ShardShared>) -> Self {
        ShardWriter {
            dir,
            shared,
            next_counter: view.next_counter,
            last_arrival_ms: view.last_arrival_ms,
            active_first_arrival_ms: view
                .segments
                .last()
                .and_then(|s| s.index.first())
                .map(|e| e.arrival_ms),
            segments: view.segments,
            pending: Vec::new(),
            bytes_since_index: u64::MAX / 2,
            // Continue in a fresh segment after a restart: the recovered one keeps its exact
            // recovered length and the new one starts at a clean header.
            sealed: true,
            unsynced: Vec::new(),
        }
    }
}

struct Writer {
    storage: Arc<dyn Storage>,
    root: PathBuf,
    options: LogOptions,
    clock: Clock,
    shards: Arc<ShardMap>,
    writers: HashMap<ShardLogId, ShardWriter>,
    failed: bool,
}

type AppendWaiter = (
    oneshot::Sender<Result<Vec<Appended>, LogError>>,
    Vec<Appended>,
);

impl Writer {
    fn run(&mut self, rx: mpsc::Receiver<Command>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            let mut bytes = batch_bytes(&batch[0]);
            while bytes < self.options.commit_max_bytes {
                match rx.try_recv() {
                    Ok(cmd) => {
                        bytes += batch_bytes(&cmd);
                        batch.push(cmd);
                    }
                    Err(_) => break,
                }
            }
            self.commit(batch);
        }
    }

    /// One group commit: control commands run in order; appends are encoded, written and synced
    /// together, then published and acknowledged.
    fn commit(&mut self, batch: Vec<Command>) {
        let mut waiters: Vec<AppendWaiter> = Vec::new();
        let mut dirty: Vec<ShardLogId> = Vec::new();
        let mut new_files: Vec<PathBuf> = Vec::new();
        let mut error: Option<LogError> = None;
        for cmd in batch {
            if self.failed {
                fail(cmd, LogError::Stopped);
                continue;
            }
            match cmd {
                Command::Append { records, done } => {
                    if let Some(&missing) = records
                        .iter()
                        .map(|r| &r.shard)
                        .find(|s| !self.writers.contains_key(s))
                    {
                        let _ = done.send(Err(LogError::UnknownShard(missing)));
                        continue;
                    }
                    let now = (self.clock)();
                    let mut acks = Vec::with_capacity(records.len());
                    for r in &records {
                        match self.encode(r, now, &mut new_files) {
                            Ok(ack) => acks.push(ack),
                            Err(e) => {
                                error = Some(e);
                                break;
                            }
                        }
                        if !dirty.contains(&r.shard) {
                            dirty.push(r.shard);
                        }
                    }
                    waiters.push((done, acks));
                    if error.is_some() {
                        self.failed = true;
                    }
                }
                Command::CreateShard { shard, done } => {
                    let _ = done.send(self.create_shard(shard));
                }
                Command::DeleteShard { shard, done } => {
                    dirty.retain(|s| *s != shard);
                    let _ = done.send(self.delete_shard(shard));
                }
                Command::Trim {
                    shard,
                    before_ms,
                    done,
                } => {
                    let _ = done.send(self.trim(shard, before_ms, &dirty));
                }
            }
        }
        if error.is_none() {
            if let Err(e) = self.write_and_sync(&dirty, &new_files) {
                tracing::error!("log write failed, refusing further writes: {e}");
                self.failed = true;
                error = Some(e);
            }
        }
        match error {
            Some(e) => {
                for (done, _) in waiters {
                    let _ = done.send(Err(e.clone()));
                }
            }
            None => {
                for shard in &dirty {
                    self.publish(*shard);
                }
                for (done, acks) in waiters {
                    let _ = done.send(Ok(acks));
                }
            }
        }
    }

    /// Assigns the record its counter and arrival time and encodes it into the shard's pending
    /// bytes, sealing the active segment first if it is full or old.
    fn encode(
        &mut self,
        r: &AppendRecord,
        now_ms: i64,
        new_files: &mut Vec<PathBuf>,
    ) -> Result<Appended, LogError> {
        let options = &self.options;
        let w = self
            .writers
            .get_mut(&r.shard)
            .ok_or(LogError::UnknownShard(r.shard))?;
        let arrival_ms = now_ms.max(w.last_arrival_ms.unwrap_or(i64::MIN));
        let len = frame_len(r.partition_key.as_bytes(), &r.data) as u64;
        let active_len = w.segments.last().map_or(0, |s| s.durable_len) + w.pending.len() as u64;
        let too_big =
            active_len + len > options.segment_max_bytes && active_len > HEADER_BYTES as u64;
        let too_old = w
            .active_first_arrival_ms
            .is_some_and(|t| arrival_ms - t > options.segment_max_age_ms);
        if w.segments.is_empty() || w.sealed || too_big || too_old {
            flush_pending(w)?;
            let path = segment_path(&w.dir, w.next_counter);
            let file = self.storage.create(&path)?;
            new_files.push(path);
            w.segments.push(SegmentView {
                base_counter: w.next_counter,
                file,
                next_counter: w.next_counter,
                durable_len: 0,
                last_arrival_ms: arrival_ms,
                index: Vec::new(),
            });
            w.pending.extend_from_slice(&encode_header(w.next_counter));
            w.sealed = false;
            w.active_first_arrival_ms = Some(arrival_ms);
            w.bytes_since_index = u64::MAX / 2;
        }
        let counter = w.next_counter;
        let seg = w
            .segments
            .last_mut()
            .ok_or(LogError::UnknownShard(r.shard))?;
        let offset = seg.durable_len + w.pending.len() as u64;
        if w.bytes_since_index >= options.index_interval_bytes {
            seg.index.push(IndexEntry {
                counter,
                arrival_ms,
                offset,
            });
            w.bytes_since_index = 0;
        }
        encode_frame(
            &mut w.pending,
            counter,
            arrival_ms,
            r.partition_key.as_bytes(),
            &r.data,
            r.sealed,
        );
        w.bytes_since_index += len;
        seg.next_counter = counter + 1;
        seg.last_arrival_ms = arrival_ms;
        w.next_counter = counter + 1;
        w.last_arrival_ms = Some(arrival_ms);
        Ok(Appended {
            counter,
            arrival_ms,
        })
    }

    fn write_and_sync(
        &mut self,
        dirty: &[ShardLogId],
        new_files: &[PathBuf],
    ) -> Result<(), LogError> {
        let mut to_sync: Vec<Arc<dyn StorageFile>> = Vec::new();
        for shard in dirty {
            if let Some(w) = self.writers.get_mut(shard) {
                flush_pending(w)?;
                to_sync.append(&mut w.unsynced);
            }
        }
        for file in &to_sync {
            file.sync_data()?;
        }
        let mut dirs: Vec<&std::path::Path> = new_files.iter().filter_map(|p| p.parent()).collect();
        dirs.dedup();
        for dir in dirs {
            self.storage.sync_dir(dir)?;
        }
        Ok(())
    }

    /// Makes the synced writer state visible to readers and wakes watchers.
    fn publish(&mut self, shard: ShardLogId) {
        let Some(w) = self.writers.get(&shard) else {
            return;
        };
        {
            // Segments before the last published one never change; that one may have grown and
            // new ones may follow. Growth is copied in place (only the new index entries), so a
            // commit costs what it added, not the size of the active segment's index.
            let mut view = parking::write(&w.shared.view);
            let first_changed = view.segments.len().saturating_sub(1);
            for (i, seg) in w.segments.iter().enumerate().skip(first_changed) {
                match view.segments.get_mut(i) {
                    Some(published) if published.base_counter == seg.base_counter => {
                        published.durable_len = seg.durable_len;
                        published.next_counter = seg.next_counter;
                        published.last_arrival_ms = seg.last_arrival_ms;
                        let have = published.index.len();
                        published
                            .index
                            .extend_from_slice(seg.index.get(have..).unwrap_or(&[]));
                    }
                    Some(published) => *published = seg.clone(),
                    None => view.segments.push(seg.clone()),
                }
            }
            view.segments.truncate(w.segments.len());
            view.next_counter = w.next_counter;
            view.last_arrival_ms = w.last_arrival_ms;
        }
        w.shared.durable.send_replace(w.next_counter);
    }

    fn create_shard(&mut self, shard: ShardLogId) -> Result<(), LogError> {
        if self.writers.contains_key(&shard) {
            return Ok(());
        }
        let dir = shard_dir(&self.root, shard);
        self.storage.create_dir_all(&dir)?;
        self.storage.sync_dir(&self.root.join("shards"))?;
        let shared = Arc::new(ShardShared {
            view: RwLock::new(ShardView::default()),
            durable: watch::channel(0).0,
        });
        self.shards
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(shard, shared.clone());
        self.writers.insert(
            shard,
            ShardWriter::resume(shard, dir, ShardView::default(), shared),
        );
        Ok(())
    }

    fn delete_shard(&mut self, shard: ShardLogId) -> Result<(), LogError> {
        self.shards
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&shard);
        if self.writers.remove(&shard).is_some() {
            self.storage.remove_dir_all(&shard_dir(&self.root, shard))?;
            self.storage.sync_dir(&self.root.join("shards"))?;
        }
        Ok(())
    }

    /// Drops whole segments whose newest record arrived before `before_ms`. Readers that hold a
    /// dropped segment's file keep reading it; new readers skip to the first kept counter.
    fn trim(
        &mut self,
        shard: ShardLogId,
        before_ms: i64,
        dirty: &[ShardLogId],
    ) -> Result<(), LogError> {
        let Some(w) = self.writers.get_mut(&shard) else {
            return Err(LogError::UnknownShard(shard));
        };
        if dirty.contains(&shard) {
            return Ok(()); // records of this commit are not yet written; trim next time
        }
        // The newest segment always stays: it carries the shard's next counter across restarts
        // (readers skip its expired records by arrival time).
        let expired = w
            .segments
            .iter()
            .take_while(|s| s.last_arrival_ms < before_ms)
            .count();
        let expired = expired.min(w.segments.len().saturating_sub(1));
        if expired == 0 {
            return Ok(());
        }
        let dropped: Vec<SegmentView> = w.segments.drain(..expired).collect();
        {
            let mut view = parking::write(&w.shared.view);
            let n = expired.min(view.segments.len());
            view.segments.drain(..n);
        }
        for seg in &dropped {
            self.storage
                .remove_file(&segment_path(&w.dir, seg.base_counter))?;
        }
        self.storage.sync_dir(&w.dir)?;
        Ok(())
    }
}

/// Writes the shard's pending bytes at the end of its last segment and notes the file for sync.
fn flush_pending(w: &mut ShardWriter) -> Result<(), LogError> {
    if w.pending.is_empty() {
        return Ok(());
    }
    let Some(seg) = w.segments.last_mut() else {
        return Ok(());
    };
    seg.file.write_all_at(&w.pending, seg.durable_len)?;
    seg.durable_len += w.pending.len() as u64;
    w.pending.clear();
    w.unsynced.push(seg.file.clone());
    Ok(())
}

fn batch_bytes(cmd: &Command) -> usize {
    match cmd {
        Command::Append { records, .. } => records
            .iter()
            .map(|r| r.data.len() + r.partition_key.len() + 32)
            .sum(),
        _ => 0,
    }
}

fn fail(cmd: Command, e: LogError) {
    match cmd {
        Command::Append { done, .. } => {
            let _ = done.send(Err(e));
        }
        Command::CreateShard { done, .. }
        | Command::DeleteShard { done, .. }
        | Command::Trim { done, .. } => {
            let _ = done.send(Err(e));
        }
    }
}

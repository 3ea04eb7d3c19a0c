//! The writer thread: assigns counters, group-commits, publishes durable tails, and rolls a
//! failed commit back to the last durable lengths.
//!
//! Invariants the crash argument (`docs/log-format.md`) rests on:
//! * a record is acknowledged only after every file its commit wrote was synced, and so was the
//!   directory of every file the commit created;
//! * a file's next commit is written only after its previous commit was synced, and the first
//!   frame each commit writes to a file carries the commit-start flag;
//! * a segment is synced before the shard's next segment is created, so only a shard's newest
//!   segment can end in bytes no sync completed;
//! * after a failed write or sync, every touched segment is cut back to its last durable length
//!   (which also drops the unsynced pages from the cache) and files the commit created are
//!   removed, before any later commit runs.

use crate::files::FileCache;
use crate::frame::{encode_frame, encode_header, frame_len, FrameFlags, HEADER_BYTES};
use crate::storage::{IoFailure, Storage, StorageFile};
use crate::view::{parking, IndexEntry, SegmentView, ShardView};
use crate::writer::{LogOptions, ShardMap, ShardShared};
use crate::{segment_path, AppendRecord, Appended, Clock, LogError, ShardLogId};

mod shards;
use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use tokio::sync::oneshot;

type Reply<T> = oneshot::Sender<Result<T, LogError>>;

pub(crate) enum Command {
    Append {
        records: Vec<AppendRecord>,
        /// What the batch counts against `queue_max_bytes`.
        bytes: usize,
        done: Reply<Vec<Appended>>,
    },
    CreateShard {
        shard: ShardLogId,
        done: Reply<()>,
    },
    DeleteShard {
        shard: ShardLogId,
        done: Reply<()>,
    },
    Trim {
        shard: ShardLogId,
        before_ms: i64,
        done: Reply<()>,
    },
}

/// What a batch of records weighs in the writer's queue and in a group commit.
pub(crate) fn append_bytes(records: &[AppendRecord]) -> usize {
    records
        .iter()
        .map(|r| r.data.len() + r.partition_key.len() + 32)
        .sum()
}

/// The writer's own view of one shard's tail.
pub(crate) struct ShardWriter {
    dir: PathBuf,
    shared: Arc<ShardShared>,
    /// Mirror of the published segments plus what this commit adds (unpublished until synced);
    /// in the mirror, `durable_len` is the written length.
    segments: Vec<SegmentView>,
    next_counter: u64,
    last_arrival_ms: Option<i64>,
    /// Bytes encoded in this commit for the last segment, written at its `durable_len`.
    pending: Vec<u8>,
    /// Files the writer holds open, by base counter: the last published segment's and any this
    /// commit created.
    open: Vec<(u64, Arc<dyn StorageFile>)>,
    /// First arrival of the active segment (for age-based sealing).
    active_first_arrival_ms: Option<i64>,
    bytes_since_index: u64,
    /// The last segment takes no more records (the recovered one after a restart).
    sealed: bool,
    /// This commit already wrote a frame to the active file (so the next is no commit start).
    in_commit: bool,
    /// Files written in this commit, to sync before acknowledging.
    unsynced: Vec<Arc<dyn StorageFile>>,
}

impl ShardWriter {
    pub(crate) fn resume(dir: PathBuf, view: ShardView, shared: Arc<ShardShared>) -> Self {
        let mut w = ShardWriter {
            dir,
            shared,
            segments: Vec::new(),
            next_counter: 0,
            last_arrival_ms: None,
            pending: Vec::new(),
            open: Vec::new(),
            active_first_arrival_ms: None,
            bytes_since_index: u64::MAX / 2,
            sealed: true,
            in_commit: false,
            unsynced: Vec::new(),
        };
        w.restore(view);
        w
    }

    /// Resets the writer to a published view (at start-up, and after a rolled-back commit). It
    /// continues in the last segment only if it still holds that file open.
    fn restore(&mut self, view: ShardView) {
        let last_base = view.segments.last().map(|s| s.base_counter);
        self.open.retain(|(base, _)| Some(*base) == last_base);
        self.sealed = self.open.is_empty();
        self.active_first_arrival_ms = view
            .segments
            .last()
            .and_then(|s| s.index.first())
            .map(|e| e.arrival_ms);
        self.next_counter = view.next_counter;
        self.last_arrival_ms = view.last_arrival_ms;
        self.segments = view.segments;
        self.pending.clear();
        self.unsynced.clear();
        self.bytes_since_index = u64::MAX / 2;
        self.in_commit = false;
    }

    fn file_for(&self, base: u64) -> Option<Arc<dyn StorageFile>> {
        self.open
            .iter()
            .find(|(b, _)| *b == base)
            .map(|(_, f)| f.clone())
    }
}

pub(crate) struct Writer {
    storage: Arc<dyn Storage>,
    root: PathBuf,
    options: LogOptions,
    clock: Clock,
    shards: Arc<ShardMap>,
    files: Arc<FileCache>,
    writers: HashMap<ShardLogId, ShardWriter>,
    /// Why writes are refused for good (an I/O error the log cannot vouch past).
    stopped: Option<String>,
    queued_bytes: Arc<AtomicUsize>,
}

type AppendWaiter = (Reply<Vec<Appended>>, Vec<Appended>);

/// What one group commit touched.
#[derive(Default)]
struct Commit {
    waiters: Vec<AppendWaiter>,
    dirty: Vec<ShardLogId>,
    new_files: Vec<PathBuf>,
    error: Option<io::Error>,
}

impl Writer {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        root: PathBuf,
        options: LogOptions,
        clock: Clock,
        shards: Arc<ShardMap>,
        files: Arc<FileCache>,
        writers: HashMap<ShardLogId, ShardWriter>,
        queued_bytes: Arc<AtomicUsize>,
    ) -> Writer {
        Writer {
            storage,
            root,
            options,
            clock,
            shards,
            files,
            writers,
            stopped: None,
            queued_bytes,
        }
    }

    pub(crate) fn run(&mut self, rx: mpsc::Receiver<Command>) {
        while let Ok(first) = rx.recv() {
            let mut bytes = self.dequeued(&first);
            let mut batch = vec![first];
            while bytes < self.options.commit_max_bytes {
                match rx.try_recv() {
                    Ok(cmd) => {
                        bytes += self.dequeued(&cmd);
                        batch.push(cmd);
                    }
                    Err(_) => break,
                }
            }
            self.commit(batch);
        }
    }

    fn dequeued(&self, cmd: &Command) -> usize {
        match cmd {
            Command::Append { bytes, .. } => {
                self.queued_bytes.fetch_sub(*bytes, Ordering::AcqRel);
                *bytes
            }
            _ => 0,
        }
    }

    /// One group commit: control commands run in order; appends are encoded, written and synced
    /// together, then published and acknowledged (or rolled back and failed together).
    fn commit(&mut self, batch: Vec<Command>) {
        let mut c = Commit::default();
        for cmd in batch {
            if let Some(reason) = &self.stopped {
                fail(cmd, LogError::Stopped(reason.clone()));
                continue;
            }
            if self.options.read_only {
                self.answer_read_only(cmd);
                continue;
            }
            match cmd {
                Command::Append { records, done, .. } => self.stage(records, done, &mut c),
                Command::CreateShard { shard, done } => {
                    let _ = done.send(self.create_shard(shard));
                }
                Command::DeleteShard { shard, done } => {
                    c.dirty.retain(|s| *s != shard);
                    let _ = done.send(self.delete_shard(shard));
                }
                Command::Trim {
                    shard,
                    before_ms,
                    done,
                } => {
                    let _ = done.send(self.trim(shard, before_ms, &c.dirty));
                }
            }
        }
        if c.waiters.is_empty() && c.dirty.is_empty() {
            return;
        }
        let outcome = match c.error.take() {
            Some(e) => Err(e),
            None => self.write_and_sync(&c),
        };
        match outcome {
            Ok(()) => {
                for shard in &c.dirty {
                    self.publish(*shard);
                }
                for (done, acks) in c.waiters {
                    let _ = done.send(Ok(acks));
                }
            }
            Err(e) => {
                let error = self.recover_from(&e, &c);
                for (done, _) in c.waiters {
                    let _ = done.send(Err(error.clone()));
                }
            }
        }
    }

    /// Encodes one append into the shards' pending bytes. After an I/O error in this commit
    /// the rest of the commit is only collected, to be failed with it.
    fn stage(&mut self, records: Vec<AppendRecord>, done: Reply<Vec<Appended>>, c: &mut Commit) {
        if let Some(&missing) = records
            .iter()
            .map(|r| &r.shard)
            .find(|s| !self.writers.contains_key(s))
        {
            let _ = done.send(Err(LogError::UnknownShard(missing)));
            return;
        }
        let now = (self.clock)();
        let mut acks = Vec::with_capacity(records.len());
        for r in &records {
            if c.error.is_some() {
                break;
            }
            if !c.dirty.contains(&r.shard) {
                c.dirty.push(r.shard);
            }
            match self.encode(r, now, &mut c.new_files) {
                Ok(ack) => acks.push(ack),
                Err(e) => c.error = Some(e),
            }
        }
        c.waiters.push((done, acks));
    }

    /// After a failed commit: roll it back, then decide whether the log goes on. A full disk
    /// or descriptor exhaustion fails only this batch; anything else stops writes.
    fn recover_from(&mut self, e: &io::Error, c: &Commit) -> LogError {
        let failure = IoFailure::of(e);
        let rolled_back = self.roll_back(&c.dirty, &c.new_files);
        match (failure, rolled_back) {
            (f, Ok(())) if f.is_transient() => {
                tracing::warn!("log write failed ({e}); the batch was rolled back and not acknowledged, writes go on");
                LogError::Unavailable(describe_failure(f, e))
            }
            (f, rolled_back) => {
                let reason = match rolled_back {
                    Ok(()) => e.to_string(),
                    Err(rb) => format!("{e}; rolling the batch back failed too: {rb}"),
                };
                tracing::error!("log write failed, refusing further writes: {reason}");
                self.stopped = Some(reason.clone());
                match f {
                    IoFailure::ReadOnly => LogError::ReadOnly,
                    _ => LogError::Io(reason),
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
    ) -> io::Result<Appended> {
        let options = &self.options;
        let Some(w) = self.writers.get_mut(&r.shard) else {
            return Err(io::Error::other(format!("unknown shard {}", r.shard)));
        };
        let arrival_ms = now_ms.max(w.last_arrival_ms.unwrap_or(i64::MIN));
        let len = frame_len(r.partition_key.as_bytes(), &r.data) as u64;
        let active_len = w.segments.last().map_or(0, |s| s.durable_len) + w.pending.len() as u64;
        let too_big =
            active_len + len > options.segment_max_bytes && active_len > HEADER_BYTES as u64;
        let too_old = w
            .active_first_arrival_ms
            .is_some_and(|t| arrival_ms - t > options.segment_max_age_ms);
        if w.segments.is_empty() || w.sealed || too_big || too_old {
            roll(self.storage.as_ref(), &self.files, w, arrival_ms, new_files)?;
        }
        let counter = w.next_counter;
        let Some(seg) = w.segments.last_mut() else {
            return Err(io::Error::other("no active segment"));
        };
        let offset = seg.durable_len + w.pending.len() as u64;
        if w.bytes_since_index >= options.index_interval_bytes {
            seg.index.push(IndexEntry {
                counter,
                arrival_ms,
                offset,
            });
            w.bytes_since_index = 0;
        }
        let flags = FrameFlags {
            sealed: r.sealed,
            commit_start: !w.in_commit,
        };
        w.in_commit = true;
        encode_frame(
            &mut w.pending,
            counter,
            arrival_ms,
            r.partition_key.as_bytes(),
            &r.data,
            flags,
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

    fn write_and_sync(&mut self, c: &Commit) -> io::Result<()> {
        let mut to_sync: Vec<Arc<dyn StorageFile>> = Vec::new();
        for shard in &c.dirty {
            if let Some(w) = self.writers.get_mut(shard) {
                flush_pending(w)?;
                to_sync.append(&mut w.unsynced);
            }
        }
        for file in &to_sync {
            file.sync_data()?;
        }
        let mut dirs: Vec<&std::path::Path> =
            c.new_files.iter().filter_map(|p| p.parent()).collect();
        dirs.sort();
        dirs.dedup();
        for dir in dirs {
            self.storage.sync_dir(dir)?;
        }
        Ok(())
    }

    /// Cuts every touched shard back to what was published (durable): files this commit created
    /// are removed, and the newest published segment, if this commit wrote to it, is truncated
    /// to its durable length and synced. Truncating also drops the unsynced pages, so a restart
    /// cannot read them back. Needs no new descriptor (it may run because they ran out): it
    /// uses the files the writer holds, and a directory sync that fails is only logged, since
    /// the removed files never held synced data (recovery drops them as empty if they return).
    fn roll_back(&mut self, dirty: &[ShardLogId], new_files: &[PathBuf]) -> io::Result<()> {
        for shard in dirty {
            let Some(w) = self.writers.get_mut(shard) else {
                continue;
            };
            let published = parking::read(&w.shared.view).clone();
            let created: Vec<&SegmentView> = w
                .segments
                .iter()
                .filter(|s| {
                    !published
                        .segments
                        .iter()
                        .any(|p| p.base_counter == s.base_counter)
                })
                .collect();
            for seg in &created {
                self.files.forget(&seg.path);
                match self.storage.remove_file(&seg.path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                    _ => {}
                }
            }
            // Only a file the writer holds open can have been written by this commit.
            let written = published
                .segments
                .last()
                .and_then(|last| w.file_for(last.base_counter).map(|f| (last, f)));
            if let Some((last, file)) = written {
                file.set_len(last.durable_len)?;
                file.sync_data()?;
            }
            if !created.is_empty() || new_files.iter().any(|p| p.starts_with(&w.dir)) {
                if let Err(e) = self.storage.sync_dir(&w.dir) {
                    tracing::warn!("rolling back: syncing {} failed: {e}", w.dir.display());
                }
            }
            w.restore(published);
        }
        Ok(())
    }

    /// Makes the synced writer state visible to readers and wakes watchers.
    fn publish(&mut self, shard: ShardLogId) {
        let Some(w) = self.writers.get_mut(&shard) else {
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
        let last_base = w.segments.last().map(|s| s.base_counter);
        w.open.retain(|(base, _)| Some(*base) == last_base);
        w.in_commit = false;
        w.shared.durable.send_replace(w.next_counter);
    }
}

/// Starts a new segment at the shard's next counter. The old one is synced first, so a shard
/// never has a torn segment behind its newest one.
fn roll(
    storage: &dyn Storage,
    files: &FileCache,
    w: &mut ShardWriter,
    arrival_ms: i64,
    new_files: &mut Vec<PathBuf>,
) -> io::Result<()> {
    flush_pending(w)?;
    for file in w.unsynced.drain(..) {
        file.sync_data()?;
    }
    let path = segment_path(&w.dir, w.next_counter);
    let file = storage.create(&path)?;
    new_files.push(path.clone());
    files.insert(&path, file.clone());
    w.open.push((w.next_counter, file));
    w.segments.push(SegmentView {
        base_counter: w.next_counter,
        path: Arc::new(path),
        next_counter: w.next_counter,
        durable_len: 0,
        last_arrival_ms: arrival_ms,
        index: Vec::new(),
    });
    w.pending.extend_from_slice(&encode_header(w.next_counter));
    w.sealed = false;
    w.in_commit = false;
    w.active_first_arrival_ms = Some(arrival_ms);
    w.bytes_since_index = u64::MAX / 2;
    Ok(())
}

/// Writes the shard's pending bytes at the end of its last segment and notes the file for sync.
fn flush_pending(w: &mut ShardWriter) -> io::Result<()> {
    if w.pending.is_empty() {
        return Ok(());
    }
    let Some(seg) = w.segments.last_mut() else {
        return Ok(());
    };
    let Some(file) = w
        .open
        .iter()
        .find(|(b, _)| *b == seg.base_counter)
        .map(|(_, f)| f.clone())
    else {
        return Err(io::Error::other("the active segment is not open"));
    };
    file.write_all_at(&w.pending, seg.durable_len)?;
    seg.durable_len += w.pending.len() as u64;
    w.pending.clear();
    if !w.unsynced.iter().any(|f| Arc::ptr_eq(f, &file)) {
        w.unsynced.push(file);
    }
    Ok(())
}

fn describe_failure(failure: IoFailure, e: &io::Error) -> String {
    match failure {
        IoFailure::NoSpace => format!("the disk is full ({e})"),
        IoFailure::NoDescriptors => format!("the server ran out of file descriptors ({e})"),
        _ => e.to_string(),
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

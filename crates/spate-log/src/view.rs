//! What readers see of a shard: its durable segments and a sparse index over them.
//!
//! The writer publishes into a [`ShardView`] only after a sync, so every byte a reader can reach
//! is durable. Readers hold the lock only to copy out a segment's path, extent and a start
//! offset; they open the file through the [`FileCache`] and read it outside the lock.

use crate::files::FileCache;
use crate::frame::{decode_frame, FrameError, HEADER_BYTES};
use crate::storage::StorageFile;
use crate::LogError;
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// One sparse index entry: the record with `counter` starts at `offset` and arrived at `arrival_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexEntry {
    pub counter: u64,
    pub arrival_ms: i64,
    pub offset: u64,
}

#[derive(Clone)]
pub struct SegmentView {
    pub base_counter: u64,
    pub path: Arc<PathBuf>,
    /// Counter after the last durable record of this segment.
    pub next_counter: u64,
    /// Bytes of the file that are durable and complete.
    pub durable_len: u64,
    pub last_arrival_ms: i64,
    /// Ascending by counter, offset and arrival; the first entry is the first record.
    pub index: Vec<IndexEntry>,
}

impl SegmentView {
    /// What a reader needs of the segment, without the index (cheap to copy out of the lock).
    pub fn reader(&self) -> SegmentRead {
        SegmentRead {
            base_counter: self.base_counter,
            path: self.path.clone(),
            next_counter: self.next_counter,
            durable_len: self.durable_len,
        }
    }
}

/// A segment as one read sees it: its file and durable extent at the moment of the lookup.
#[derive(Clone)]
pub struct SegmentRead {
    pub base_counter: u64,
    pub path: Arc<PathBuf>,
    pub next_counter: u64,
    pub durable_len: u64,
}

#[derive(Clone, Default)]
pub struct ShardView {
    /// Ascending by base counter, contiguous.
    pub segments: Vec<SegmentView>,
    /// The counter the next record will get: every smaller counter is durable.
    pub next_counter: u64,
    /// Arrival time of the newest record, if any was ever written.
    pub last_arrival_ms: Option<i64>,
}

/// A shard's positions, as of the moment of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardTail {
    /// The oldest counter still stored.
    pub first_counter: u64,
    /// The counter the next record will get.
    pub next_counter: u64,
    pub last_arrival_ms: Option<i64>,
}

/// Records read from one shard: one buffer and ranges into it (no allocation per record).
#[derive(Debug, Default)]
pub struct ReadBatch {
    buf: Vec<u8>,
    records: Vec<RecordSpan>,
    /// Where the next read should start.
    pub next_counter: u64,
}

#[derive(Debug, Clone)]
struct RecordSpan {
    counter: u64,
    arrival_ms: i64,
    partition_key: Range<usize>,
    data: Range<usize>,
    sealed: bool,
}

/// One record of a [`ReadBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredRecord<'a> {
    pub counter: u64,
    pub arrival_ms: i64,
    pub partition_key: &'a str,
    pub data: &'a [u8],
    /// `data` is an encryption envelope (see [`crate::AppendRecord::sealed`]).
    pub sealed: bool,
}

impl ReadBatch {
    pub fn empty(next_counter: u64) -> Self {
        ReadBatch {
            next_counter,
            ..Self::default()
        }
    }
    pub fn len(&self) -> usize {
        self.records.len()
    }
    /// Bytes of partition keys and data in the batch (what Kinesis counts against read limits).
    pub fn payload_bytes(&self) -> usize {
        self.records
            .iter()
            .map(|r| r.partition_key.len() + r.data.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
    pub fn records(&self) -> impl ExactSizeIterator<Item = StoredRecord<'_>> + '_ {
        self.records.iter().map(|r| StoredRecord {
            counter: r.counter,
            arrival_ms: r.arrival_ms,
            // Keys are validated UTF-8 when written; a frame that passed its CRC is intact.
            partition_key: std::str::from_utf8(&self.buf[r.partition_key.clone()]).unwrap_or(""),
            data: &self.buf[r.data.clone()],
            sealed: r.sealed,
        })
    }
    pub fn last_arrival_ms(&self) -> Option<i64> {
        self.records.last().map(|r| r.arrival_ms)
    }
}

impl ShardView {
    pub fn tail(&self) -> ShardTail {
        ShardTail {
            first_counter: self
                .segments
                .first()
                .map_or(self.next_counter, |s| s.base_counter),
            next_counter: self.next_counter,
            last_arrival_ms: self.last_arrival_ms,
        }
    }

    /// The segment holding `counter` and where to start scanning for it.
    pub fn locate(&self, counter: u64) -> Option<(SegmentRead, u64)> {
        let i = self.segments.partition_point(|s| s.next_counter <= counter);
        let seg = self.segments.get(i)?;
        let at = counter.max(seg.base_counter);
        let j = seg.index.partition_point(|e| e.counter <= at);
        let start = if j == 0 {
            HEADER_BYTES as u64
        } else {
            seg.index[j - 1].offset
        };
        Some((seg.reader(), start))
    }

    /// The segment holding the first record that arrived at or after `epoch_ms`, and where to
    /// start scanning for it; `None` if no stored record arrived that late.
    pub fn locate_time(&self, epoch_ms: i64) -> Option<(SegmentRead, u64)> {
        let i = self
            .segments
            .partition_point(|s| s.last_arrival_ms < epoch_ms);
        let seg = self.segments.get(i)?;
        let j = seg.index.partition_point(|e| e.arrival_ms < epoch_ms);
        let start = if j == 0 {
            HEADER_BYTES as u64
        } else {
            seg.index[j - 1].offset
        };
        Some((seg.reader(), start))
    }
}

/// Size of one read from a segment file.
const READ_CHUNK_BYTES: usize = 1 << 20;

/// Scans frames of `seg` from byte `start`, calling `visit` with each record until it returns
/// false or the durable end is reached. The frames' bytes are handed out from a reused buffer.
pub fn scan_segment(
    files: &FileCache,
    seg: &SegmentRead,
    start: u64,
    mut visit: impl FnMut(crate::frame::FrameRef<'_>) -> bool,
) -> Result<(), LogError> {
    if start >= seg.durable_len {
        return Ok(());
    }
    let file = files.get(&seg.path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => LogError::Trimmed,
        _ => LogError::from(e),
    })?;
    let mut buf: Vec<u8> = Vec::new();
    let mut offset = start;
    while offset < seg.durable_len {
        let want = ((seg.durable_len - offset) as usize).min(READ_CHUNK_BYTES.max(buf.capacity()));
        buf.resize(want, 0);
        let n = read_full(file.as_ref(), &mut buf, offset)?;
        let mut pos = 0;
        loop {
            match decode_frame(&buf[pos..n]) {
                Ok((frame, len)) => {
                    if !visit(frame) {
                        return Ok(());
                    }
                    pos += len;
                }
                Err(FrameError::Incomplete) if pos > 0 => break,
                Err(FrameError::Incomplete) => {
                    // A frame larger than the chunk: read exactly it next round.
                    let need =
                        u32::from_be_bytes(buf[..4].try_into().unwrap_or([0; 4])) as usize + 8;
                    let remaining = (seg.durable_len - offset) as usize;
                    if need > crate::frame::MAX_BODY_BYTES + 8
                        || n < 4
                        || need <= n
                        || need > remaining
                    {
                        return Err(corrupt(seg, offset));
                    }
                    buf.reserve(need);
                    break;
                }
                Err(FrameError::Corrupt) => return Err(corrupt(seg, offset + pos as u64)),
            }
        }
        offset += pos as u64;
    }
    Ok(())
}

fn corrupt(seg: &SegmentRead, offset: u64) -> LogError {
    LogError::Corrupted(format!(
        "{} has a bad frame at byte {offset}, below its durable end",
        seg.path.display()
    ))
}

pub(crate) fn read_full(
    file: &dyn StorageFile,
    buf: &mut [u8],
    offset: u64,
) -> Result<usize, LogError> {
    let mut done = 0;
    while done < buf.len() {
        let n = file.read_at(&mut buf[done..], offset + done as u64)?;
        if n == 0 {
            break;
        }
        done += n;
    }
    Ok(done)
}

/// Reads up to `max_records` / `max_bytes` (payload + key) of records from `from`, across
/// segments, skipping records older than `min_arrival_ms`. At least one record is returned if
/// any is available, whatever its size.
pub fn read_records(
    view: &parking::ViewLock,
    files: &FileCache,
    from: u64,
    max_records: usize,
    max_bytes: usize,
    min_arrival_ms: i64,
) -> Result<ReadBatch, LogError> {
    let mut batch = ReadBatch::empty(from);
    let mut bytes = 0usize;
    let mut next = from;
    loop {
        let located = parking::read(view).locate(next);
        let Some((seg, start)) = located else {
            // Before the first segment (trimmed) or at the tail.
            let tail = parking::read(view).tail();
            if next < tail.first_counter {
                next = tail.first_counter;
                continue;
            }
            break;
        };
        let mut full = false;
        let scanned = scan_segment(files, &seg, start, |f| {
            if f.counter < next {
                return true;
            }
            if batch.records.len() >= max_records
                || (bytes + f.data.len() + f.partition_key.len() > max_bytes
                    && !batch.records.is_empty())
            {
                full = true;
                return false;
            }
            next = f.counter + 1;
            if f.arrival_ms < min_arrival_ms {
                return true;
            }
            bytes += f.data.len() + f.partition_key.len();
            let k0 = batch.buf.len();
            batch.buf.extend_from_slice(f.partition_key);
            let d0 = batch.buf.len();
            batch.buf.extend_from_slice(f.data);
            batch.records.push(RecordSpan {
                counter: f.counter,
                arrival_ms: f.arrival_ms,
                partition_key: k0..d0,
                data: d0..batch.buf.len(),
                sealed: f.sealed,
            });
            true
        });
        match scanned {
            // Retention removed the segment after the lookup: continue at the first kept one.
            Err(LogError::Trimmed) if next < parking::read(view).tail().first_counter => continue,
            other => other?,
        }
        if full || next < seg.next_counter {
            break;
        }
        next = next.max(seg.next_counter);
    }
    batch.next_counter = next;
    Ok(batch)
}

/// Finds the first counter at or after `epoch_ms`.
pub fn seek_time(
    view: &parking::ViewLock,
    files: &FileCache,
    epoch_ms: i64,
) -> Result<u64, LogError> {
    let (located, tail) = {
        let v = parking::read(view);
        (v.locate_time(epoch_ms), v.tail())
    };
    let Some((seg, start)) = located else {
        return Ok(tail.next_counter);
    };
    let mut found = seg.next_counter;
    scan_segment(files, &seg, start, |f| {
        if f.arrival_ms >= epoch_ms {
            found = f.counter;
            return false;
        }
        true
    })?;
    Ok(found.max(tail.first_counter))
}

/// Lock helpers that survive poisoning (a panicked holder cannot leave a view half-updated: the
/// writer builds each update before taking the lock).
pub mod parking {
    use super::ShardView;
    use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

    pub type ViewLock = RwLock<ShardView>;

    pub fn read(l: &ViewLock) -> RwLockReadGuard<'_, ShardView> {
        l.read().unwrap_or_else(|e| e.into_inner())
    }
    pub fn write(l: &ViewLock) -> RwLockWriteGuard<'_, ShardView> {
        l.write().unwrap_or_else(|e| e.into_inner())
    }
}

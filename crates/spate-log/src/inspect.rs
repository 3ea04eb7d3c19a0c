//! Reading a shard's segments back, without changing anything: which records are there, and
//! what is wrong. Start-up recovery, `spate log check` and `spate log repair` all start here.
//!
//! What a crash can leave, and therefore what is *not* damage (see `docs/log-format.md`):
//! * the newest segment ends in bytes no sync completed (a torn tail): they were never
//!   acknowledged;
//! * the newest segments hold no record at all (a segment creation the crash interrupted).
//!
//! Everything else is damage: a bad frame in an older segment (the writer syncs a segment before
//! it starts the next), a gap in the chain of counters, a bad header on a segment that holds
//! records, or a bad frame in the newest segment followed by the start of a later commit (the
//! writer writes a file's next commit only after the previous one was synced, so those bytes
//! were acknowledged). Damage is reported with the file and byte offset, never cut silently.

use crate::frame::{
    could_start_commit_after, decode_frame, decode_header, FrameError, HeaderError, FORMAT_VERSION,
    FRAME_OVERHEAD, HEADER_BYTES, MAX_BODY_BYTES,
};
use crate::storage::{Storage, StorageFile};
use crate::view::{read_full, IndexEntry, SegmentView};
use crate::{segment_path, LogError};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Sparse index spacing used while rebuilding (the writer uses its own option for new data).
const RECOVERY_INDEX_INTERVAL_BYTES: u64 = 32 << 10;
const SCAN_CHUNK_BYTES: usize = 4 << 20;

/// What is wrong with a shard, as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The newest segment ends in bytes no sync completed; they are cut at `offset`.
    TornTail {
        path: PathBuf,
        offset: u64,
        file_len: u64,
    },
    /// A newest segment that holds no record (its creation was interrupted); it is removed.
    EmptySegment { path: PathBuf },
    /// Damage a crash cannot explain. `offset` is where the valid records of `path` end;
    /// `later` lists the segments after it, which a repair moves to quarantine.
    Damage {
        path: PathBuf,
        offset: u64,
        reason: String,
        later: Vec<PathBuf>,
    },
}

/// One shard as inspection found it: the valid chain and the findings.
pub struct Inspection {
    /// The segments that hold valid records, in order, each up to its last valid frame.
    pub segments: Vec<SegmentView>,
    pub findings: Vec<Finding>,
}

impl Inspection {
    pub fn damage(&self) -> Option<&Finding> {
        self.findings
            .iter()
            .find(|f| matches!(f, Finding::Damage { .. }))
    }

    pub fn records(&self) -> u64 {
        match (self.segments.first(), self.segments.last()) {
            (Some(first), Some(last)) => last.next_counter - first.base_counter,
            _ => 0,
        }
    }
}

/// Segment base counters of a shard directory, ascending; other files are ignored.
pub fn segment_bases(storage: &dyn Storage, dir: &Path) -> Result<Vec<u64>, LogError> {
    let mut bases: Vec<u64> = storage
        .list_dir(dir)?
        .iter()
        .filter_map(|n| n.strip_suffix(".seg").and_then(|b| b.parse().ok()))
        .collect();
    bases.sort_unstable();
    Ok(bases)
}

/// Inspects one shard directory. `drop_cache` makes the newest segment be read from the disk,
/// not from pages whose write-back may have failed (start-up does this; tools need not).
pub fn inspect_shard(
    storage: &dyn Storage,
    dir: &Path,
    drop_cache: bool,
) -> Result<Inspection, LogError> {
    let mut bases = segment_bases(storage, dir)?;
    let mut findings = Vec::new();
    // Trailing segments that hold no record were created by a commit the crash interrupted.
    while let Some(&base) = bases.last() {
        let path = segment_path(dir, base);
        let file = storage.open(&path)?;
        if drop_cache {
            let _ = file.drop_cache();
        }
        if holds_records(file.as_ref(), base)? {
            break;
        }
        findings.push(Finding::EmptySegment { path });
        bases.pop();
    }
    let mut segments: Vec<SegmentView> = Vec::new();
    for (i, &base) in bases.iter().enumerate() {
        let newest = i + 1 == bases.len();
        let path = segment_path(dir, base);
        let later = || {
            bases[i + 1..]
                .iter()
                .map(|&b| segment_path(dir, b))
                .collect()
        };
        let expected = segments.last().map_or(base, |s| s.next_counter);
        match inspect_segment(storage, &path, base, expected, newest)? {
            SegmentOutcome::Valid(seg) => segments.push(seg),
            SegmentOutcome::Torn(seg, file_len) => {
                findings.push(Finding::TornTail {
                    path: path.clone(),
                    offset: seg.durable_len,
                    file_len,
                });
                segments.push(seg);
            }
            SegmentOutcome::Damaged(offset, reason) => {
                findings.push(Finding::Damage {
                    path,
                    offset,
                    reason,
                    later: later(),
                });
                break;
            }
        }
    }
    Ok(Inspection { segments, findings })
}

enum SegmentOutcome {
    Valid(SegmentView),
    /// Valid up to `durable_len`, then a torn tail up to the given file length.
    Torn(SegmentView, u64),
    /// Valid records end at this offset, for this reason.
    Damaged(u64, String),
}

fn inspect_segment(
    storage: &dyn Storage,
    path: &Path,
    base: u64,
    expected: u64,
    newest: bool,
) -> Result<SegmentOutcome, LogError> {
    let file = storage.open(path)?;
    let file_len = file.len()?;
    let mut header = [0u8; HEADER_BYTES];
    let read = read_full(file.as_ref(), &mut header, 0)?;
    let version = match decode_header(&header[..read]) {
        Ok(h) if h.base_counter == base => h.version,
        Ok(h) => {
            let reason = format!("its header names base counter {}", h.base_counter);
            return Ok(SegmentOutcome::Damaged(0, reason));
        }
        Err(HeaderError::NewerVersion(v)) => {
            // Never take a newer format for damage: refuse to start rather than cut.
            return Err(LogError::Corrupted(format!(
                "{} has format version {v}, newer than this build reads ({FORMAT_VERSION}); upgrade Spate",
                path.display()
            )));
        }
        Err(HeaderError::Invalid) => {
            return Ok(SegmentOutcome::Damaged(0, "its header is not valid".into()))
        }
    };
    if base != expected {
        let reason = format!(
            "the chain of counters has a gap: the previous segment ends before counter {expected}, this one starts at {base}"
        );
        return Ok(SegmentOutcome::Damaged(0, reason));
    }
    let mut seg = SegmentView {
        base_counter: base,
        path: Arc::new(path.to_path_buf()),
        next_counter: base,
        durable_len: HEADER_BYTES as u64,
        last_arrival_ms: i64::MIN,
        index: Vec::new(),
    };
    if scan(file.as_ref(), file_len, &mut seg)? {
        return Ok(SegmentOutcome::Valid(seg));
    }
    let offset = seg.durable_len;
    if !newest {
        let reason =
            "a record frame is damaged in a segment that is not the newest of its shard".into();
        return Ok(SegmentOutcome::Damaged(offset, reason));
    }
    // Format 3 marks commit starts; older segments carry no evidence either way, and a cut
    // there is what their writer's recovery did.
    if version >= 3 && later_commit_after(file.as_ref(), offset + 1, file_len, seg.next_counter)? {
        let reason = "a record frame is damaged, and a later commit follows it, so the damaged records had been acknowledged".into();
        return Ok(SegmentOutcome::Damaged(offset, reason));
    }
    Ok(SegmentOutcome::Torn(seg, file_len))
}

/// Whether a segment file holds at least one record, or evidence of one (a valid first frame,
/// or a commit start anywhere in it).
fn holds_records(file: &dyn StorageFile, base: u64) -> Result<bool, LogError> {
    let file_len = file.len()?;
    if file_len <= HEADER_BYTES as u64 {
        return Ok(false);
    }
    let want = (file_len - HEADER_BYTES as u64).min((MAX_BODY_BYTES + FRAME_OVERHEAD) as u64);
    let mut buf = vec![0u8; want as usize];
    let n = read_full(file, &mut buf, HEADER_BYTES as u64)?;
    if matches!(decode_frame(&buf[..n]), Ok((f, _)) if f.counter == base) {
        return Ok(true);
    }
    later_commit_after(file, HEADER_BYTES as u64, file_len, base)
}

/// Whether a valid commit-start frame with a counter of at least `min_counter` starts anywhere
/// in `from..file_len`. Only positions whose fixed fields make that plausible pay for a CRC.
fn later_commit_after(
    file: &dyn StorageFile,
    from: u64,
    file_len: u64,
    min_counter: u64,
) -> Result<bool, LogError> {
    let mut buf = vec![0u8; SCAN_CHUNK_BYTES];
    let mut offset = from;
    while offset < file_len {
        let n = read_full(file, &mut buf, offset)?;
        if n == 0 {
            break;
        }
        // Positions whose fixed fields are wholly inside this chunk; the rest come next round.
        let last = if offset + (n as u64) < file_len {
            n.saturating_sub(FRAME_OVERHEAD)
        } else {
            n
        };
        for pos in 0..last.max(1) {
            if !could_start_commit_after(&buf[pos..n], min_counter) {
                continue;
            }
            let body = u32::from_be_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]]);
            let mut frame = vec![0u8; body as usize + 8];
            let got = read_full(file, &mut frame, offset + pos as u64)?;
            if matches!(decode_frame(&frame[..got]), Ok((f, _)) if f.commit_start) {
                return Ok(true);
            }
        }
        offset += last.max(1) as u64;
    }
    Ok(false)
}

/// Scans frames from the header on, filling `seg`; returns false if it stopped before the end of
/// the file, with `seg.durable_len` at the end of the last good frame.
fn scan(file: &dyn StorageFile, file_len: u64, seg: &mut SegmentView) -> Result<bool, LogError> {
    let mut buf = vec![0u8; SCAN_CHUNK_BYTES];
    let mut since_index = u64::MAX / 2;
    loop {
        let offset = seg.durable_len;
        if offset >= file_len {
            return Ok(true);
        }
        let want = ((file_len - offset) as usize).min(buf.len());
        let n = read_full(file, &mut buf[..want], offset)?;
        let mut pos = 0usize;
        loop {
            match decode_frame(&buf[pos..n]) {
                Ok((f, len))
                    if f.counter == seg.next_counter && f.arrival_ms >= seg.last_arrival_ms =>
                {
                    if since_index >= RECOVERY_INDEX_INTERVAL_BYTES {
                        seg.index.push(IndexEntry {
                            counter: f.counter,
                            arrival_ms: f.arrival_ms,
                            offset: offset + pos as u64,
                        });
                        since_index = 0;
                    }
                    since_index += len as u64;
                    seg.next_counter += 1;
                    seg.last_arrival_ms = f.arrival_ms;
                    pos += len;
                }
                Ok(_) | Err(FrameError::Corrupt) => {
                    seg.durable_len = offset + pos as u64;
                    return Ok(false);
                }
                Err(FrameError::Incomplete) => break,
            }
        }
        seg.durable_len = offset + pos as u64;
        if pos == 0 {
            // Not even one frame fits: either the file ends mid-frame (torn) or the frame is
            // larger than the chunk buffer.
            let need =
                u32::from_be_bytes(buf[..4.min(n)].try_into().unwrap_or([0; 4])) as usize + 8;
            if n < 8
                || need <= n
                || need > (file_len - offset) as usize
                || need > MAX_BODY_BYTES + 8
            {
                return Ok(false);
            }
            buf.resize(need, 0);
        }
    }
}

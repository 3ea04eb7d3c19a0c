//! Start-up: rebuild each shard's view from its segments, keeping the longest valid prefix.
//!
//! A shard's segments form a chain: each starts (header base counter) where the previous one
//! ended, and the frames inside carry consecutive counters. Acknowledged records are a prefix of
//! that chain, because a commit syncs every file it wrote before it acknowledges anything. So at
//! the first torn or corrupt frame, recovery truncates there and deletes every later segment: what
//! it drops was never acknowledged.

use crate::frame::{
    decode_frame, decode_header, FrameError, HeaderError, FORMAT_VERSION, HEADER_BYTES,
};
use crate::storage::Storage;
use crate::view::{IndexEntry, SegmentView, ShardView};
use crate::{segment_path, LogError, ShardLogId};
use std::path::Path;

/// Sparse index spacing used while rebuilding (the writer uses its own option for new data).
const RECOVERY_INDEX_INTERVAL_BYTES: u64 = 32 << 10;
const SCAN_CHUNK_BYTES: usize = 4 << 20;

pub struct RecoveredShard {
    pub id: ShardLogId,
    pub view: ShardView,
}

pub fn recover(storage: &dyn Storage, root: &Path) -> Result<Vec<RecoveredShard>, LogError> {
    let shards_dir = root.join("shards");
    let mut out = Vec::new();
    for name in storage.list_dir(&shards_dir)? {
        let Ok(id) = u64::from_str_radix(&name, 16) else {
            tracing::warn!(
                "ignoring unexpected entry {name} in {}",
                shards_dir.display()
            );
            continue;
        };
        let view = recover_shard(storage, &shards_dir.join(&name))?;
        out.push(RecoveredShard { id, view });
    }
    Ok(out)
}

fn recover_shard(storage: &dyn Storage, dir: &Path) -> Result<ShardView, LogError> {
    let mut bases: Vec<u64> = storage
        .list_dir(dir)?
        .iter()
        .filter_map(|n| n.strip_suffix(".seg").and_then(|b| b.parse().ok()))
        .collect();
    bases.sort_unstable();
    let mut view = ShardView::default();
    let mut cut = false;
    let mut changed = false;
    for base in bases {
        let path = segment_path(dir, base);
        if cut {
            storage.remove_file(&path)?;
            changed = true;
            continue;
        }
        let expected = if view.segments.is_empty() {
            base
        } else {
            view.next_counter
        };
        let file = storage.open(&path)?;
        let file_len = file.len()?;
        let mut header = [0u8; HEADER_BYTES];
        let read = if file_len >= HEADER_BYTES as u64 {
            file.read_at(&mut header, 0)?
        } else {
            0
        };
        let decoded = decode_header(&header[..read]);
        if let Err(HeaderError::NewerVersion(version)) = decoded {
            // Never take a newer format for damage: refuse to start rather than truncate.
            return Err(LogError::Corrupted(format!(
                "segment {} has format version {version}, newer than this build reads ({FORMAT_VERSION}); upgrade Spate",
                path.display()
            )));
        }
        let header_ok = decoded == Ok(base) && base == expected;
        if !header_ok {
            // A segment whose creation was torn (or that does not continue the chain).
            tracing::warn!("dropping segment {} with a bad header", path.display());
            storage.remove_file(&path)?;
            cut = true;
            changed = true;
            continue;
        }
        let mut seg = SegmentView {
            base_counter: base,
            file: file.clone(),
            next_counter: base,
            durable_len: HEADER_BYTES as u64,
            last_arrival_ms: i64::MIN,
            index: Vec::new(),
        };
        let complete = scan(file.as_ref(), file_len, &mut seg)?;
        if !complete {
            tracing::warn!(
                "truncating torn tail of {} at byte {} (was {file_len} bytes)",
                path.display(),
                seg.durable_len
            );
            file.set_len(seg.durable_len)?;
            file.sync_data()?;
            cut = true;
        }
        view.next_counter = seg.next_counter;
        if seg.last_arrival_ms != i64::MIN {
            view.last_arrival_ms = Some(seg.last_arrival_ms);
        }
        view.segments.push(seg);
    }
    if changed {
        storage.sync_dir(dir)?;
    }
    Ok(view)
}

/// Scans frames from the header on, filling `seg`; returns false if it stopped before the end of
/// the file (torn or corrupt tail), with `seg.durable_len` at the end of the last good frame.
fn scan(
    file: &dyn crate::storage::StorageFile,
    file_len: u64,
    seg: &mut SegmentView,
) -> Result<bool, LogError> {
    let mut buf = vec![0u8; SCAN_CHUNK_BYTES];
    let mut since_index = u64::MAX / 2;
    loop {
        let offset = seg.durable_len;
        if offset >= file_len {
            return Ok(true);
        }
        let want = ((file_len - offset) as usize).min(buf.len());
        let n = crate::view::read_full(file, &mut buf[..want], offset)?;
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
                || need > crate::frame::MAX_BODY_BYTES + 8
            {
                return Ok(false);
            }
            buf.resize(need, 0);
        }
    }
}

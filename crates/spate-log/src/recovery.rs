//! Start-up: rebuild each shard's view from its segments (see [`crate::inspect`] for what is a
//! crash's leftover and what is damage), cut torn tails, and make what is kept durable.
//!
//! Damage stops the start with the file and byte offset: acknowledged records may be involved,
//! so recovery never cuts there by itself (`spate log check` reports, `spate log repair` cuts
//! and quarantines, only when asked). What recovery keeps it syncs before the writer starts, so
//! no new record is ever acknowledged on top of bytes that were only in the page cache.

use crate::inspect::{inspect_shard, Finding, Inspection};
use crate::storage::{create_dir_all_durable, Storage};
use crate::view::ShardView;
use crate::{LogError, ShardLogId};
use std::path::{Path, PathBuf};

pub struct RecoveredShard {
    pub id: ShardLogId,
    pub view: ShardView,
}

/// The shard directories under `root`, by id; other entries are ignored with a warning.
pub fn shard_dirs(
    storage: &dyn Storage,
    root: &Path,
) -> Result<Vec<(ShardLogId, PathBuf)>, LogError> {
    let shards_dir = root.join("shards");
    let mut out = Vec::new();
    for name in storage.list_dir(&shards_dir)? {
        match u64::from_str_radix(&name, 16) {
            Ok(id) => out.push((id, shards_dir.join(&name))),
            Err(_) => tracing::warn!(
                "ignoring unexpected entry {name} in {}",
                shards_dir.display()
            ),
        }
    }
    out.sort();
    Ok(out)
}

/// Recovers every shard. With `read_only`, nothing is changed: torn tails are just not read.
pub fn recover(
    storage: &dyn Storage,
    root: &Path,
    read_only: bool,
) -> Result<Vec<RecoveredShard>, LogError> {
    let mut out = Vec::new();
    for (id, dir) in shard_dirs(storage, root)? {
        let inspection = inspect_shard(storage, &dir, !read_only)?;
        if let Some(damage) = inspection.damage() {
            return Err(LogError::Corrupted(describe_damage(damage)));
        }
        if !read_only {
            apply_crash_leftovers(storage, &dir, &inspection)?;
        }
        out.push(RecoveredShard {
            id,
            view: view_of(inspection),
        });
    }
    Ok(out)
}

/// Cuts torn tails and removes empty segments, then syncs the newest segment and the
/// directory, so everything recovery kept is durable before anything is built on it.
fn apply_crash_leftovers(
    storage: &dyn Storage,
    dir: &Path,
    inspection: &Inspection,
) -> Result<(), LogError> {
    for finding in &inspection.findings {
        match finding {
            Finding::EmptySegment { path } => {
                tracing::warn!(
                    "removing {}: it holds no record (a segment creation a crash interrupted)",
                    path.display()
                );
                storage.remove_file(path)?;
            }
            Finding::TornTail {
                path,
                offset,
                file_len,
            } => {
                tracing::warn!(
                    "cutting the torn tail of {} at byte {offset} (was {file_len} bytes): a write no sync completed",
                    path.display()
                );
                let file = storage.open(path)?;
                file.set_len(*offset)?;
            }
            Finding::Damage { .. } => {}
        }
    }
    if let Some(newest) = inspection.segments.last() {
        storage.open(&newest.path)?.sync_data()?;
    }
    if !inspection.findings.is_empty() {
        storage.sync_dir(dir)?;
    }
    Ok(())
}

pub(crate) fn view_of(inspection: Inspection) -> ShardView {
    let mut view = ShardView::default();
    for seg in inspection.segments {
        view.next_counter = seg.next_counter;
        if seg.last_arrival_ms != i64::MIN {
            view.last_arrival_ms = Some(seg.last_arrival_ms);
        }
        view.segments.push(seg);
    }
    view
}

/// The operator's message for damage: what, where, and the way out.
pub fn describe_damage(damage: &Finding) -> String {
    match damage {
        Finding::Damage {
            path,
            offset,
            reason,
            later,
        } => format!(
            "{} is damaged at byte {offset}: {reason}. Spate does not cut acknowledged records by itself. \
             `spate log check --data-dir DIR` reports every shard; `spate log repair --data-dir DIR` \
             keeps the records before byte {offset}, cuts the rest of this segment and moves {} later \
             segment(s) of the shard to log/quarantine (see docs/operations.md)",
            path.display(),
            later.len()
        ),
        other => format!("{other:?}"),
    }
}

/// `spate log repair`: for every damaged shard, keeps the records before the damage, cuts the
/// damaged segment there, and moves the later segments to `<root>/quarantine/<shard>/`
/// (nothing is deleted); then applies the usual crash fixes. Returns what it did, per shard.
pub fn repair(
    storage: &dyn Storage,
    root: &Path,
) -> Result<Vec<(ShardLogId, Vec<Finding>)>, LogError> {
    let mut report = Vec::new();
    for (id, dir) in shard_dirs(storage, root)? {
        let inspection = inspect_shard(storage, &dir, true)?;
        if let Some(Finding::Damage {
            path,
            offset,
            later,
            ..
        }) = inspection.damage()
        {
            let quarantine = root.join("quarantine").join(format!("{id:016x}"));
            create_dir_all_durable(storage, &quarantine)?;
            let file = storage.open(path)?;
            // Keep a copy of the cut bytes next to the moved segments.
            let cut = quarantine.join(format!(
                "{}.from-{offset}",
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
            copy_tail(storage, file.as_ref(), *offset, &cut)?;
            file.set_len(*offset)?;
            file.sync_data()?;
            for seg in later {
                if let Some(name) = seg.file_name() {
                    storage.rename(seg, &quarantine.join(name))?;
                }
            }
            storage.sync_dir(&quarantine)?;
            storage.sync_dir(&dir)?;
        }
        let after = inspect_shard(storage, &dir, true)?;
        apply_crash_leftovers(storage, &dir, &after)?;
        let mut findings = inspection.findings;
        findings.extend(after.findings);
        report.push((id, findings));
    }
    Ok(report)
}

fn copy_tail(
    storage: &dyn Storage,
    file: &dyn crate::storage::StorageFile,
    from: u64,
    to: &Path,
) -> Result<(), LogError> {
    let out = storage.create(to)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut offset = from;
    loop {
        let n = crate::view::read_full(file, &mut buf, offset)?;
        if n == 0 {
            break;
        }
        out.write_all_at(&buf[..n], offset - from)?;
        offset += n as u64;
    }
    out.sync_data()?;
    Ok(())
}

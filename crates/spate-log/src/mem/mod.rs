//! Files in memory: the storage of `--in-memory`, and the power-loss simulator of the tests.
//!
//! With power-loss tracking, the storage keeps apart what a running system sees (the live tree,
//! like the page cache) from what a power loss would leave (the durable tree):
//! * a file's bytes become durable at a successful `sync_data`; bytes written since are lost;
//! * a created, removed or renamed name becomes durable at a `sync_dir` of its parent, and a
//!   name survives only if every directory above it survived; before that sync the file system
//!   may have persisted the change or not, in any combination
//!   ([`MemStorage::after_power_loss_keeping`] chooses which);
//! * a failed `sync_data` behaves as Linux does ("fsyncgate"): the pages it failed to write are
//!   marked clean, stay readable, and are never written by a later sync unless rewritten.
//!
//! Faults ([`Fault`]) make chosen operations fail with a chosen `errno`, after skipping a number
//! of matching calls, so tests reproduce a full disk, a failed fsync or descriptor exhaustion
//! at any point.

use crate::storage::{Storage, StorageFile};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// The operations a [`Fault`] can hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultOp {
    /// `write_all_at`: half the buffer is written, then the call fails.
    Write,
    SyncData,
    SyncDir,
    Create,
    Open,
    CreateDir,
    Remove,
    Rename,
    SetLen,
}

/// Fails `count` calls of `op` with `errno`, after letting `skip` matching calls through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub op: FaultOp,
    pub errno: i32,
    pub skip: usize,
    pub count: usize,
}

pub const EIO: i32 = 5;
pub const ENOSPC: i32 = 28;
pub const EMFILE: i32 = 24;

#[derive(Default)]
struct Faults {
    rules: Mutex<Vec<Fault>>,
}

impl Faults {
    fn check(&self, op: FaultOp) -> io::Result<()> {
        let mut rules = lock(&self.rules);
        let Some(rule) = rules.iter_mut().find(|r| r.op == op && r.count > 0) else {
            return Ok(());
        };
        if rule.skip > 0 {
            rule.skip -= 1;
            return Ok(());
        }
        rule.count -= 1;
        Err(io::Error::from_raw_os_error(rule.errno))
    }
}

/// Storage in memory; see the module documentation.
pub struct MemStorage {
    track_power_loss: bool,
    faults: Arc<Faults>,
    tree: Mutex<Tree>,
}

#[derive(Default, Clone)]
struct Tree {
    dirs: BTreeSet<PathBuf>,
    files: BTreeMap<PathBuf, Arc<MemFile>>,
    /// What a power loss keeps (with tracking only).
    durable: BTreeMap<PathBuf, Durable>,
    /// Name changes not yet made durable by a directory sync, in order (with tracking only).
    pending: Vec<NameChange>,
}

/// A change of a directory's entries.
#[derive(Clone)]
enum NameChange {
    Add(PathBuf, Durable),
    Remove(PathBuf),
}

impl NameChange {
    fn path(&self) -> &Path {
        match self {
            NameChange::Add(p, _) | NameChange::Remove(p) => p,
        }
    }
}

#[derive(Clone)]
enum Durable {
    Dir,
    File(Arc<MemFile>),
}

/// One file: its live bytes and, with tracking, its durable bytes.
pub struct MemFile {
    track_power_loss: bool,
    faults: Arc<Faults>,
    state: Mutex<FileState>,
}

#[derive(Default, Clone)]
struct FileState {
    data: Vec<u8>,
    synced: Vec<u8>,
    /// Ranges written since the last sync.
    dirty: Vec<Range<usize>>,
    /// Ranges whose write-back failed: readable, but no sync will persist them.
    lost: Vec<Range<usize>>,
}

impl Default for MemStorage {
    fn default() -> Self {
        Self::with_tracking(false)
    }
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_power_loss_tracking() -> Self {
        Self::with_tracking(true)
    }

    fn with_tracking(track_power_loss: bool) -> Self {
        let mut tree = Tree::default();
        tree.dirs.insert(PathBuf::from("/"));
        tree.durable.insert(PathBuf::from("/"), Durable::Dir);
        MemStorage {
            track_power_loss,
            faults: Arc::default(),
            tree: Mutex::new(tree),
        }
    }

    /// Adds a fault rule; rules are tried in the order they were added.
    pub fn inject(&self, fault: Fault) {
        lock(&self.faults.rules).push(fault);
    }

    pub fn clear_faults(&self) {
        lock(&self.faults.rules).clear();
    }

    /// The storage as a power loss would leave it: the durable tree only.
    pub fn after_power_loss(&self) -> MemStorage {
        self.after_power_loss_keeping(|_, _| false)
    }

    /// Name changes made since their directory was last synced, in order (for tests that
    /// choose which of them a power loss kept).
    pub fn unsynced_name_changes(&self) -> Vec<PathBuf> {
        lock(&self.tree)
            .pending
            .iter()
            .map(|c| c.path().to_path_buf())
            .collect()
    }

    /// Like [`after_power_loss`](Self::after_power_loss), but the file system had already
    /// persisted the unsynced name changes for which `keep(index, path)` is true.
    pub fn after_power_loss_keeping(&self, keep: impl Fn(usize, &Path) -> bool) -> MemStorage {
        let mut tree = lock(&self.tree).clone();
        for (i, change) in std::mem::take(&mut tree.pending).into_iter().enumerate() {
            if !keep(i, change.path()) {
                continue;
            }
            match change {
                NameChange::Add(p, d) => {
                    tree.durable.insert(p, d);
                }
                NameChange::Remove(p) => tree.durable.retain(|q, _| !q.starts_with(&p)),
            }
        }
        let tree = &tree;
        let survives = |path: &Path| {
            path.ancestors()
                .skip(1)
                .filter(|a| !a.as_os_str().is_empty())
                .all(|a| matches!(tree.durable.get(a), Some(Durable::Dir)))
        };
        let out = MemStorage::with_tracking(true);
        {
            let mut new = lock(&out.tree);
            for (path, entry) in tree.durable.iter().filter(|(p, _)| survives(p)) {
                new.durable.insert(path.clone(), entry.clone());
                match entry {
                    Durable::Dir => {
                        new.dirs.insert(path.clone());
                    }
                    Durable::File(f) => {
                        let synced = lock(&f.state).synced.clone();
                        let file = Arc::new(out.file_with(synced));
                        new.durable
                            .insert(path.clone(), Durable::File(file.clone()));
                        new.files.insert(path.clone(), file);
                    }
                }
            }
        }
        out
    }

    /// The storage as a crash of the process (not the machine) would leave it: everything the
    /// system saw survives, durable or not, and so does the durable state.
    pub fn after_process_crash(&self) -> MemStorage {
        let tree = lock(&self.tree);
        let out = MemStorage::with_tracking(self.track_power_loss);
        let mut copies: BTreeMap<*const MemFile, Arc<MemFile>> = BTreeMap::new();
        let mut copy = |f: &Arc<MemFile>| -> Arc<MemFile> {
            copies
                .entry(Arc::as_ptr(f))
                .or_insert_with(|| {
                    Arc::new(MemFile {
                        track_power_loss: self.track_power_loss,
                        faults: out.faults.clone(),
                        state: Mutex::new(lock(&f.state).clone()),
                    })
                })
                .clone()
        };
        {
            let mut new = lock(&out.tree);
            new.dirs = tree.dirs.clone();
            new.files = tree
                .files
                .iter()
                .map(|(p, f)| (p.clone(), copy(f)))
                .collect();
            new.durable = tree
                .durable
                .iter()
                .map(|(p, d)| {
                    let d = match d {
                        Durable::Dir => Durable::Dir,
                        Durable::File(f) => Durable::File(copy(f)),
                    };
                    (p.clone(), d)
                })
                .collect();
            new.pending = tree
                .pending
                .iter()
                .map(|c| match c {
                    NameChange::Add(p, Durable::File(f)) => {
                        NameChange::Add(p.clone(), Durable::File(copy(f)))
                    }
                    other => other.clone(),
                })
                .collect();
        }
        out
    }

    /// Every file and its live bytes (for tests that inspect the disk image).
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        lock(&self.tree)
            .files
            .iter()
            .map(|(p, f)| (p.clone(), lock(&f.state).data.clone()))
            .collect()
    }

    fn file_with(&self, data: Vec<u8>) -> MemFile {
        MemFile {
            track_power_loss: self.track_power_loss,
            faults: self.faults.clone(),
            state: Mutex::new(FileState {
                synced: if self.track_power_loss {
                    data.clone()
                } else {
                    Vec::new()
                },
                data,
                ..FileState::default()
            }),
        }
    }
}

impl MemStorage {
    fn note(&self, tree: &mut Tree, change: NameChange) {
        if self.track_power_loss {
            tree.pending.push(change);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `ranges` minus `cut`.
fn subtract(ranges: &mut Vec<Range<usize>>, cut: &Range<usize>) {
    let mut out = Vec::with_capacity(ranges.len());
    for r in ranges.drain(..) {
        if r.end <= cut.start || r.start >= cut.end {
            out.push(r);
            continue;
        }
        if r.start < cut.start {
            out.push(r.start..cut.start);
        }
        if r.end > cut.end {
            out.push(cut.end..r.end);
        }
    }
    *ranges = out;
}

fn clamp(ranges: &mut Vec<Range<usize>>, len: usize) {
    ranges.retain(|r| r.start < len);
    for r in ranges.iter_mut() {
        r.end = r.end.min(len);
    }
}

impl FileState {
    /// The bytes a sync now persists: the live bytes, except that lost ranges keep whatever
    /// was durable there before (zeros past the old durable end).
    fn persistable(&self) -> Vec<u8> {
        let mut out = self.data.clone();
        for r in &self.lost {
            for (i, slot) in out[r.clone()].iter_mut().enumerate() {
                *slot = self.synced.get(r.start + i).copied().unwrap_or(0);
            }
        }
        out
    }
}

impl StorageFile for MemFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let state = lock(&self.state);
        let start = (offset as usize).min(state.data.len());
        let n = buf.len().min(state.data.len() - start);
        buf[..n].copy_from_slice(&state.data[start..start + n]);
        Ok(n)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let fault = self.faults.check(FaultOp::Write);
        let buf = match &fault {
            Ok(()) => buf,
            Err(_) => &buf[..buf.len() / 2],
        };
        let mut state = lock(&self.state);
        let start = offset as usize;
        let end = start + buf.len();
        if state.data.len() < end {
            state.data.resize(end, 0);
        }
        state.data[start..end].copy_from_slice(buf);
        if self.track_power_loss && !buf.is_empty() {
            subtract(&mut state.lost, &(start..end));
            state.dirty.push(start..end);
        }
        fault
    }

    fn sync_data(&self) -> io::Result<()> {
        let fault = self.faults.check(FaultOp::SyncData);
        let mut state = lock(&self.state);
        if !self.track_power_loss {
            return fault;
        }
        match fault {
            Ok(()) => {
                state.synced = state.persistable();
                state.dirty.clear();
                Ok(())
            }
            Err(e) => {
                // The kernel marks the pages it failed to write clean: they stay readable and
                // no later sync writes them.
                let dirty = std::mem::take(&mut state.dirty);
                state.lost.extend(dirty);
                Err(e)
            }
        }
    }

    fn len(&self) -> io::Result<u64> {
        Ok(lock(&self.state).data.len() as u64)
    }

    /// Clean cached pages are dropped; the next read shows the disk: pages whose write-back
    /// failed show what is durable there (and vanish past the durable end), dirty pages stay.
    fn drop_cache(&self) -> io::Result<()> {
        let mut state = lock(&self.state);
        if !self.track_power_loss || state.lost.is_empty() {
            return Ok(());
        }
        state.data = state.persistable();
        state.lost.clear();
        let durable_end = state.synced.len();
        if state.dirty.iter().all(|r| r.end <= durable_end) && state.data.len() > durable_end {
            state.data.truncate(durable_end);
        }
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.faults.check(FaultOp::SetLen)?;
        let mut state = lock(&self.state);
        let len = len as usize;
        let old = state.data.len();
        state.data.resize(len, 0);
        if self.track_power_loss {
            clamp(&mut state.lost, len);
            clamp(&mut state.dirty, len);
            // A size change is metadata that fdatasync persists; growth is zeros to persist.
            state.dirty.push(old.min(len)..len.max(old.min(len)));
        }
        Ok(())
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found", path.display()),
    )
}

impl Tree {
    fn require_dir(&self, path: &Path) -> io::Result<()> {
        if self.dirs.contains(path) {
            Ok(())
        } else {
            Err(not_found(path))
        }
    }

    fn parent_of(path: &Path) -> PathBuf {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    }
}

impl Storage for MemStorage {
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        self.faults.check(FaultOp::CreateDir)?;
        let mut tree = lock(&self.tree);
        if tree.dirs.contains(path) {
            return Ok(());
        }
        tree.require_dir(&Tree::parent_of(path))?;
        tree.dirs.insert(path.to_path_buf());
        self.note(&mut tree, NameChange::Add(path.to_path_buf(), Durable::Dir));
        Ok(())
    }

    fn dir_exists(&self, path: &Path) -> io::Result<bool> {
        Ok(lock(&self.tree).dirs.contains(path))
    }

    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let tree = lock(&self.tree);
        let child = |p: &PathBuf| -> Option<String> {
            (p.parent() == Some(path))
                .then(|| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .flatten()
        };
        let mut names: Vec<String> = tree.dirs.iter().filter_map(child).collect();
        names.extend(tree.files.keys().filter_map(child));
        Ok(names)
    }

    fn create(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        self.faults.check(FaultOp::Create)?;
        let mut tree = lock(&self.tree);
        tree.require_dir(&Tree::parent_of(path))?;
        let file = Arc::new(self.file_with(Vec::new()));
        tree.files.insert(path.to_path_buf(), file.clone());
        self.note(
            &mut tree,
            NameChange::Add(path.to_path_buf(), Durable::File(file.clone())),
        );
        Ok(file)
    }

    fn open(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        self.faults.check(FaultOp::Open)?;
        let tree = lock(&self.tree);
        match tree.files.get(path) {
            Some(f) => Ok(f.clone()),
            None => Err(not_found(path)),
        }
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.faults.check(FaultOp::Remove)?;
        let mut tree = lock(&self.tree);
        tree.files.remove(path).ok_or_else(|| not_found(path))?;
        self.note(&mut tree, NameChange::Remove(path.to_path_buf()));
        Ok(())
    }

    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        self.faults.check(FaultOp::Remove)?;
        let mut tree = lock(&self.tree);
        if !tree.dirs.contains(path) {
            return Ok(());
        }
        tree.files.retain(|p, _| !p.starts_with(path));
        tree.dirs.retain(|p| !p.starts_with(path));
        self.note(&mut tree, NameChange::Remove(path.to_path_buf()));
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.faults.check(FaultOp::Rename)?;
        let mut tree = lock(&self.tree);
        tree.require_dir(&Tree::parent_of(to))?;
        let file = tree.files.remove(from).ok_or_else(|| not_found(from))?;
        tree.files.insert(to.to_path_buf(), file.clone());
        self.note(&mut tree, NameChange::Remove(from.to_path_buf()));
        self.note(
            &mut tree,
            NameChange::Add(to.to_path_buf(), Durable::File(file)),
        );
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        self.faults.check(FaultOp::SyncDir)?;
        let mut tree = lock(&self.tree);
        tree.require_dir(path)?;
        if !self.track_power_loss {
            return Ok(());
        }
        let is_child = |p: &Path| p.parent() == Some(path);
        tree.pending.retain(|c| !is_child(c.path()));
        // Names gone from the directory stop being durable, and so does all below them.
        let gone: Vec<PathBuf> = tree
            .durable
            .keys()
            .filter(|p| is_child(p) && !tree.dirs.contains(*p) && !tree.files.contains_key(*p))
            .cloned()
            .collect();
        for g in gone {
            tree.durable.retain(|p, _| !p.starts_with(&g));
        }
        let dirs: Vec<PathBuf> = tree.dirs.iter().filter(|p| is_child(p)).cloned().collect();
        for d in dirs {
            tree.durable.insert(d, Durable::Dir);
        }
        let files: Vec<(PathBuf, Arc<MemFile>)> = tree
            .files
            .iter()
            .filter(|(p, _)| is_child(p))
            .map(|(p, f)| (p.clone(), f.clone()))
            .collect();
        for (p, f) in files {
            tree.durable.insert(p, Durable::File(f));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;

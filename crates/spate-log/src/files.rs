//! A bounded cache of open segment files for readers.
//!
//! Only each shard's active segment is held open by the writer; readers open sealed segments
//! through this cache, which keeps at most `open_files_max` descriptors and closes the least
//! recently used one beyond that. A reader that got a file keeps it (an `Arc`) until its read
//! ends, so eviction never pulls a file from under a read.

use crate::storage::{Storage, StorageFile};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub struct FileCache {
    storage: Arc<dyn Storage>,
    open_files_max: usize,
    state: Mutex<CacheState>,
}

#[derive(Default)]
struct CacheState {
    tick: u64,
    open: HashMap<PathBuf, (Arc<dyn StorageFile>, u64)>,
}

impl FileCache {
    pub fn new(storage: Arc<dyn Storage>, open_files_max: usize) -> FileCache {
        FileCache {
            storage,
            open_files_max: open_files_max.max(1),
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The open file at `path`, opening it (and closing the least recently used) if needed.
    pub fn get(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        {
            let mut state = self.state();
            state.tick += 1;
            let tick = state.tick;
            if let Some((file, used)) = state.open.get_mut(path) {
                *used = tick;
                return Ok(file.clone());
            }
        }
        let file = self.storage.open(path)?;
        self.insert(path, file.clone());
        Ok(file)
    }

    /// Offers a file the caller already has open (the writer's active segment).
    pub fn insert(&self, path: &Path, file: Arc<dyn StorageFile>) {
        let mut state = self.state();
        state.tick += 1;
        let tick = state.tick;
        state.open.insert(path.to_path_buf(), (file, tick));
        while state.open.len() > self.open_files_max {
            let oldest = state
                .open
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(p, _)| p.clone());
            match oldest {
                Some(p) => state.open.remove(&p),
                None => break,
            };
        }
    }

    /// Closes a file that is being removed or truncated away.
    pub fn forget(&self, path: &Path) {
        self.state().open.remove(path);
    }

    /// Closes every file below `dir` (a shard being deleted).
    pub fn forget_under(&self, dir: &Path) {
        self.state().open.retain(|p, _| !p.starts_with(dir));
    }

    pub fn open_count(&self) -> usize {
        self.state().open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::MemStorage;

    #[test]
    fn keeps_at_most_the_bound_and_evicts_the_least_recently_used() {
        let storage = Arc::new(MemStorage::new());
        for name in ["/a", "/b", "/c"] {
            storage.create(Path::new(name)).unwrap();
        }
        let cache = FileCache::new(storage, 2);
        cache.get(Path::new("/a")).unwrap();
        cache.get(Path::new("/b")).unwrap();
        cache.get(Path::new("/a")).unwrap();
        cache.get(Path::new("/c")).unwrap();
        assert_eq!(cache.open_count(), 2);
        let state = cache.state();
        assert!(state.open.contains_key(Path::new("/a")));
        assert!(!state.open.contains_key(Path::new("/b")));
    }
}

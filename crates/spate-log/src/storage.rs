//! The narrow I/O surface the log needs, so that tests can simulate power loss and `--in-memory`
//! runs the very same log code without a disk.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

/// One open file. Writes are positional; `sync_data` makes all previous writes durable.
pub trait StorageFile: Send + Sync {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    fn sync_data(&self) -> io::Result<()>;
    fn len(&self) -> io::Result<u64>;
    fn set_len(&self, len: u64) -> io::Result<()>;
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
}

/// A directory tree of files.
pub trait Storage: Send + Sync {
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Names of the entries of a directory; empty if it does not exist.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// Creates (or truncates) a file.
    fn create(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>>;
    fn open(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    /// Makes the directory's entries (created and removed files) durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
}

/// Real files.
#[derive(Debug, Default)]
pub struct FsStorage;

struct FsFile(std::fs::File);

impl StorageFile for FsFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.0, buf, offset)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(&self.0, buf, offset)
    }
    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
}

impl Storage for FsStorage {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        match std::fs::read_dir(path) {
            Ok(entries) => entries
                .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
    fn create(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)?;
        Ok(Arc::new(FsFile(f)))
    }
    fn open(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)?;
        Ok(Arc::new(FsFile(f)))
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        match std::fs::remove_dir_all(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            r => r,
        }
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::File::open(path)?.sync_all()
    }
}

/// Files in memory. With `track_power_loss`, it also keeps what was synced apart from what was
/// only written, so [`MemStorage::after_power_loss`] can show what a crash of the machine (not
/// just the process) would leave.
#[derive(Default)]
pub struct MemStorage {
    track_power_loss: bool,
    tree: Mutex<MemTree>,
}

#[derive(Default)]
struct MemTree {
    dirs: BTreeSet<PathBuf>,
    files: BTreeMap<PathBuf, Arc<MemFile>>,
    /// Names made durable by `sync_dir` (only with power-loss tracking).
    durable_names: BTreeSet<PathBuf>,
}

#[derive(Default)]
pub struct MemFile {
    track_power_loss: bool,
    data: RwLock<Vec<u8>>,
    synced: Mutex<Vec<u8>>,
}

impl MemStorage {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_power_loss_tracking() -> Self {
        MemStorage {
            track_power_loss: true,
            ..Self::default()
        }
    }

    /// The storage as a power loss would leave it: only synced bytes of files whose names were
    /// synced into their directory survive.
    pub fn after_power_loss(&self) -> MemStorage {
        let tree = lock(&self.tree);
        let mut files = BTreeMap::new();
        for (path, file) in &tree.files {
            if tree.durable_names.contains(path) {
                let synced = lock(&file.synced).clone();
                files.insert(path.clone(), Arc::new(MemFile::with(true, synced)));
            }
        }
        MemStorage {
            track_power_loss: true,
            tree: Mutex::new(MemTree {
                dirs: tree.dirs.clone(),
                durable_names: files.keys().cloned().collect(),
                files,
            }),
        }
    }

    /// The storage as a process crash would leave it: everything written survives.
    pub fn after_process_crash(&self) -> MemStorage {
        let tree = lock(&self.tree);
        let files = tree
            .files
            .iter()
            .map(|(p, f)| {
                (
                    p.clone(),
                    Arc::new(MemFile::with(self.track_power_loss, read(&f.data).clone())),
                )
            })
            .collect();
        MemStorage {
            track_power_loss: self.track_power_loss,
            tree: Mutex::new(MemTree {
                dirs: tree.dirs.clone(),
                files,
                durable_names: tree.durable_names.clone(),
            }),
        }
    }

    /// Every file and its bytes (for tests that inspect the disk image).
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        lock(&self.tree)
            .files
            .iter()
            .map(|(p, f)| (p.clone(), read(&f.data).clone()))
            .collect()
    }
}

impl MemFile {
    fn with(track_power_loss: bool, data: Vec<u8>) -> Self {
        MemFile {
            track_power_loss,
            synced: Mutex::new(if track_power_loss {
                data.clone()
            } else {
                Vec::new()
            }),
            data: RwLock::new(data),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
fn read<T>(m: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    m.read().unwrap_or_else(|e| e.into_inner())
}
fn write<T>(m: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    m.write().unwrap_or_else(|e| e.into_inner())
}

impl StorageFile for MemFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let data = read(&self.data);
        let start = (offset as usize).min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut data = write(&self.data);
        let end = offset as usize + buf.len();
        if data.len() < end {
            data.resize(end, 0);
        }
        data[offset as usize..end].copy_from_slice(buf);
        Ok(())
    }
    fn sync_data(&self) -> io::Result<()> {
        if self.track_power_loss {
            *lock(&self.synced) = read(&self.data).clone();
        }
        Ok(())
    }
    fn len(&self) -> io::Result<u64> {
        Ok(read(&self.data).len() as u64)
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        write(&self.data).resize(len as usize, 0);
        Ok(())
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{} not found", path.display()),
    )
}

impl Storage for MemStorage {
    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut tree = lock(&self.tree);
        for ancestor in path.ancestors() {
            tree.dirs.insert(ancestor.to_path_buf());
        }
        Ok(())
    }
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let tree = lock(&self.tree);
        let children = |p: &PathBuf| -> Option<String> {
            (p.parent() == Some(path))
                .then(|| p.file_name().map(|n| n.to_string_lossy().into_owned()))
                .flatten()
        };
        let mut names: Vec<String> = tree.dirs.iter().filter_map(children).collect();
        names.extend(tree.files.keys().filter_map(children));
        Ok(names)
    }
    fn create(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        let mut tree = lock(&self.tree);
        let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if !tree.dirs.contains(&parent) {
            return Err(not_found(&parent));
        }
        let file = Arc::new(MemFile::with(self.track_power_loss, Vec::new()));
        tree.files.insert(path.to_path_buf(), file.clone());
        Ok(file)
    }
    fn open(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        let tree = lock(&self.tree);
        match tree.files.get(path) {
            Some(f) => Ok(f.clone()),
            None => Err(not_found(path)),
        }
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut tree = lock(&self.tree);
        tree.files
            .remove(path)
            .map(|_| ())
            .ok_or_else(|| not_found(path))
    }
    fn remove_dir_all(&self, path: &Path) -> io::Result<()> {
        let mut tree = lock(&self.tree);
        tree.files.retain(|p, _| !p.starts_with(path));
        tree.dirs.retain(|p| !p.starts_with(path));
        tree.durable_names.retain(|p| !p.starts_with(path));
        Ok(())
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        let mut tree = lock(&self.tree);
        let names: Vec<PathBuf> = tree
            .files
            .keys()
            .filter(|p| p.parent() == Some(path))
            .cloned()
            .collect();
        let present: BTreeSet<PathBuf> = names.iter().cloned().collect();
        tree.durable_names
            .retain(|p| p.parent() != Some(path) || present.contains(p));
        tree.durable_names.extend(names);
        Ok(())
    }
}

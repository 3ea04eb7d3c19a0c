//! The narrow I/O surface the log needs, so that tests can simulate power loss and failed syncs
//! ([`MemStorage`](crate::mem::MemStorage)) and `--in-memory` runs the very same log code
//! without a disk.
//!
//! The operations are the primitives the operating system offers, with their durability rules:
//! a write is durable only after a successful `sync_data` of its file, and a created, removed or
//! renamed name is durable only after a `sync_dir` of its parent directory. Helpers such as
//! [`create_dir_all_durable`] build the durable versions out of them, so the simulator can catch
//! a missing directory sync.

use std::io;
use std::path::Path;
use std::sync::Arc;

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
    /// Drops clean cached pages, so that the next read shows what is on the disk rather than
    /// pages whose write-back failed (Linux keeps those readable but never writes them). Best
    /// effort: storages without a cache do nothing.
    fn drop_cache(&self) -> io::Result<()> {
        Ok(())
    }
}

/// A directory tree of files.
pub trait Storage: Send + Sync {
    /// Creates one directory (its parent must exist); succeeds if it already exists.
    fn create_dir(&self, path: &Path) -> io::Result<()>;
    fn dir_exists(&self, path: &Path) -> io::Result<bool>;
    /// Names of the entries of a directory; empty if it does not exist.
    fn list_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// Creates (or truncates) a file.
    fn create(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>>;
    fn open(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>>;
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Removes a directory and everything in it; succeeds if it does not exist.
    fn remove_dir_all(&self, path: &Path) -> io::Result<()>;
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the directory's entries (created, removed and renamed names) durable.
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
}

/// Creates `path` and every missing ancestor, syncing the parent of each directory it creates,
/// so the new names survive a power loss.
pub fn create_dir_all_durable(storage: &dyn Storage, path: &Path) -> io::Result<()> {
    let mut missing = Vec::new();
    for ancestor in path.ancestors() {
        if ancestor.as_os_str().is_empty() || storage.dir_exists(ancestor)? {
            break;
        }
        missing.push(ancestor);
    }
    for dir in missing.into_iter().rev() {
        storage.create_dir(dir)?;
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            storage.sync_dir(parent)?;
        }
    }
    Ok(())
}

/// Why an I/O operation failed, as far as the log's reaction is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoFailure {
    /// The disk or quota is full: nothing is known to be damaged; retry once space is back.
    NoSpace,
    /// The process or system ran out of file descriptors: retry once some are closed.
    NoDescriptors,
    /// The file system is mounted read-only.
    ReadOnly,
    /// Anything else, EIO above all: the state of unsynced data is unknown.
    Other,
}

const ENFILE: i32 = 23;
const EMFILE: i32 = 24;
const ENOSPC: i32 = 28;
const EROFS: i32 = 30;
const EDQUOT: i32 = 122;

impl IoFailure {
    pub fn of(e: &io::Error) -> IoFailure {
        match e.raw_os_error() {
            Some(ENOSPC) | Some(EDQUOT) => IoFailure::NoSpace,
            Some(EMFILE) | Some(ENFILE) => IoFailure::NoDescriptors,
            Some(EROFS) => IoFailure::ReadOnly,
            _ => IoFailure::Other,
        }
    }

    /// Resource exhaustion that clears by itself; the log stays usable once the failed batch
    /// is rolled back.
    pub fn is_transient(self) -> bool {
        matches!(self, IoFailure::NoSpace | IoFailure::NoDescriptors)
    }
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
    fn drop_cache(&self) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: posix_fadvise only reads its integer arguments; the descriptor is open for
        // the lifetime of `self.0`.
        let rc =
            unsafe { libc::posix_fadvise(self.0.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        match rc {
            0 => Ok(()),
            errno => Err(io::Error::from_raw_os_error(errno)),
        }
    }
}

impl Storage for FsStorage {
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        match std::fs::create_dir(path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
            r => r,
        }
    }
    fn dir_exists(&self, path: &Path) -> io::Result<bool> {
        match std::fs::metadata(path) {
            Ok(m) => Ok(m.is_dir()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
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
        let f = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
        {
            // A read-only file system still serves reads.
            Err(e) if IoFailure::of(&e) == IoFailure::ReadOnly => {
                std::fs::OpenOptions::new().read(true).open(path)?
            }
            r => r?,
        };
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
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::File::open(path)?.sync_all()
    }
}

/// Whether `path` is on a file system mounted read-only.
pub fn is_read_only(path: &Path) -> io::Result<bool> {
    use std::os::unix::ffi::OsStrExt;
    let mut bytes = path.as_os_str().as_bytes().to_vec();
    bytes.push(0);
    let mut stat: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `bytes` is NUL-terminated and outlives the call; `stat` is a valid out pointer.
    let rc = unsafe { libc::statvfs(bytes.as_ptr().cast(), &mut stat) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(stat.f_flag & libc::ST_RDONLY != 0)
}

/// Raises the soft limit on open files to the hard limit; returns (old, new).
pub fn raise_open_files_limit() -> io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit read and write the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let old = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok((old, limit.rlim_cur))
}

/// An exclusive advisory lock on a file: one process per data directory.
pub struct DirLock {
    _file: std::fs::File,
}

impl DirLock {
    /// Takes the lock or fails at once (naming the holder is up to the caller's message). On a
    /// read-only file system an existing lock file is locked read-only.
    pub fn acquire(path: &Path) -> io::Result<DirLock> {
        use std::os::fd::AsRawFd;
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path);
        let file = match opened {
            Err(e) if IoFailure::of(&e) == IoFailure::ReadOnly && path.exists() => {
                std::fs::File::open(path)?
            }
            other => other?,
        };
        // SAFETY: flock only takes the descriptor and a flag; the file outlives the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(DirLock { _file: file })
    }
}

//! Opening the data directory: created durably, locked against a second process, and served
//! read-only when it sits on a read-only file system.

use spate_catalog::{Catalog, MemCatalog, RedbCatalog};
use spate_log::mem::MemStorage;
use spate_log::storage::{create_dir_all_durable, is_read_only, DirLock, FsStorage, Storage};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The name of the lock file in a data directory.
pub const LOCK_FILE: &str = "spate.lock";

/// Storage for the log, the catalog, and how they were opened.
pub struct Opened {
    pub storage: Arc<dyn Storage>,
    pub log_root: PathBuf,
    pub catalog: Arc<dyn Catalog>,
    pub read_only: bool,
    /// Held for the life of the server.
    pub _lock: Option<DirLock>,
}

/// Opens `data_dir`, or memory when `None`.
pub fn open(data_dir: Option<&Path>) -> Result<Opened, String> {
    let Some(dir) = data_dir else {
        return Ok(Opened {
            storage: Arc::new(MemStorage::new()),
            log_root: "/memory/log".into(),
            catalog: Arc::new(MemCatalog),
            read_only: false,
            _lock: None,
        });
    };
    let read_only = dir.is_dir() && is_read_only(dir).map_err(|e| describe(dir, e))?;
    if !read_only {
        // Every new directory name is synced into its parent, the data directory included.
        create_dir_all_durable(&FsStorage, dir).map_err(|e| describe(dir, e))?;
    }
    let lock = lock(dir)?;
    let catalog_path = dir.join("catalog.redb");
    let catalog = if read_only {
        RedbCatalog::open_read_only(&catalog_path)
    } else {
        RedbCatalog::open(&catalog_path)
    }
    .map_err(|e| format!("{}: {e}", catalog_path.display()))?;
    if !read_only {
        // redb syncs the file it creates, not the directory entry naming it.
        FsStorage.sync_dir(dir).map_err(|e| describe(dir, e))?;
    }
    Ok(Opened {
        storage: Arc::new(FsStorage),
        log_root: dir.join("log"),
        catalog: Arc::new(catalog),
        read_only,
        _lock: Some(lock),
    })
}

/// Locks the data directory, so that a second server or `spate log repair` cannot use it at
/// the same time.
pub fn lock(dir: &Path) -> Result<DirLock, String> {
    let path = dir.join(LOCK_FILE);
    DirLock::acquire(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::WouldBlock => format!(
            "{} is in use by another spate process ({} is locked); stop it first",
            dir.display(),
            path.display()
        ),
        _ => describe(&path, e),
    })
}

fn describe(path: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", path.display())
}

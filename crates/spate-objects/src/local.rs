//! A directory per bucket: `<root>/<bucket>/<key>`, each `/` of the key a directory level.
//!
//! An object is written to `<root>/.incoming/`, synced, renamed into place and its directory
//! synced, so after a crash an object is either whole or absent. Key segments a file system
//! cannot name are escaped reversibly: `%` is `%25`, NUL is `%00`, an empty segment is `%`, and
//! `.` and `..` are `%2E` and `%2E%2E`.

use crate::{ObjectError, ObjectFuture, ObjectStore, PutObject};
use bytes::Bytes;
use spate_log::storage::{create_dir_all_durable, Storage};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where objects are staged before they are renamed into their bucket.
const INCOMING: &str = ".incoming";
/// Longest file name most Linux file systems accept, in bytes.
const NAME_MAX_BYTES: usize = 255;

pub struct LocalDirStore {
    dirs: Arc<Dirs>,
}

/// The directory tree, shared with the blocking threads that do the file-system work.
struct Dirs {
    storage: Arc<dyn Storage>,
    root: PathBuf,
}

impl LocalDirStore {
    pub fn new(storage: Arc<dyn Storage>, root: PathBuf) -> LocalDirStore {
        LocalDirStore {
            dirs: Arc::new(Dirs { storage, root }),
        }
    }

    /// Runs file-system work on tokio's blocking pool, off the async worker threads.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Dirs) -> Result<T, ObjectError> + Send + 'static,
    ) -> Result<T, ObjectError> {
        let dirs = self.dirs.clone();
        tokio::task::spawn_blocking(move || work(&dirs))
            .await
            .map_err(|e| ObjectError::Unavailable(format!("object store task failed: {e}")))?
    }
}

impl Dirs {
    fn bucket_dir(&self, bucket: &str) -> Result<PathBuf, ObjectError> {
        if !crate::valid_bucket_name(bucket) {
            return Err(ObjectError::NoSuchBucket(bucket.to_string()));
        }
        Ok(self.root.join(bucket))
    }

    fn object_path(&self, bucket: &str, key: &str) -> Result<PathBuf, ObjectError> {
        let mut path = self.bucket_dir(bucket)?;
        for segment in key.split('/') {
            let name = encode_segment(segment);
            if name.len() > NAME_MAX_BYTES {
                let why = format!("a path segment is longer than {NAME_MAX_BYTES} bytes");
                return Err(ObjectError::InvalidKey(key.to_string(), why));
            }
            path.push(name);
        }
        Ok(path)
    }

    fn write(&self, object: &PutObject) -> Result<(), ObjectError> {
        let path = self.object_path(&object.bucket, &object.key)?;
        let incoming = self.root.join(INCOMING);
        create_dir_all_durable(&*self.storage, &incoming).map_err(io_error)?;
        let staged = incoming.join(unique_name());
        let file = self.storage.create(&staged).map_err(io_error)?;
        let written = file
            .write_all_at(&object.body, 0)
            .and_then(|()| file.sync_data());
        if let Err(e) = written {
            let _ = self.storage.remove_file(&staged);
            return Err(io_error(e));
        }
        let parent = path.parent().unwrap_or(&self.root);
        create_dir_all_durable(&*self.storage, parent).map_err(io_error)?;
        self.storage.rename(&staged, &path).map_err(io_error)?;
        self.storage.sync_dir(parent).map_err(io_error)?;
        // The staging directory lost a name; syncing it is not needed for the object.
        Ok(())
    }

    fn read(&self, bucket: &str, key: &str) -> Result<Option<Bytes>, ObjectError> {
        let path = self.object_path(bucket, key)?;
        let file = match self.storage.open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(e)),
        };
        let len = file.len().map_err(io_error)?;
        let mut body = vec![0; usize::try_from(len).map_err(|e| io_error(io::Error::other(e)))?];
        let mut done = 0;
        while done < body.len() {
            match file
                .read_at(&mut body[done..], done as u64)
                .map_err(io_error)?
            {
                0 => break,
                n => done += n,
            }
        }
        body.truncate(done);
        Ok(Some(Bytes::from(body)))
    }

    fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, ObjectError> {
        let bucket_dir = self.bucket_dir(bucket)?;
        let mut keys = Vec::new();
        self.walk(&bucket_dir, None, &mut keys)?;
        keys.retain(|k| k.starts_with(prefix));
        keys.sort();
        Ok(keys)
    }

    /// Collects the keys below `dir`; `key` is the key prefix `dir` stands for (`None` for the
    /// bucket's own directory).
    fn walk(
        &self,
        dir: &Path,
        key: Option<&str>,
        out: &mut Vec<String>,
    ) -> Result<(), ObjectError> {
        for name in self.storage.list_dir(dir).map_err(io_error)? {
            let path = dir.join(&name);
            let segment = decode_segment(&name);
            let child = match key {
                None => segment,
                Some(key) => format!("{key}/{segment}"),
            };
            if self.storage.dir_exists(&path).map_err(io_error)? {
                self.walk(&path, Some(&child), out)?;
            } else {
                out.push(child);
            }
        }
        Ok(())
    }
}

impl ObjectStore for LocalDirStore {
    fn put(&self, object: PutObject) -> ObjectFuture<'_, ()> {
        Box::pin(self.blocking(move |dirs| dirs.write(&object)))
    }

    fn get<'a>(&'a self, bucket: &'a str, key: &'a str) -> ObjectFuture<'a, Option<Bytes>> {
        let (bucket, key) = (bucket.to_string(), key.to_string());
        Box::pin(self.blocking(move |dirs| dirs.read(&bucket, &key)))
    }

    fn list<'a>(&'a self, bucket: &'a str, prefix: &'a str) -> ObjectFuture<'a, Vec<String>> {
        let (bucket, prefix) = (bucket.to_string(), prefix.to_string());
        Box::pin(self.blocking(move |dirs| dirs.list(&bucket, &prefix)))
    }

    fn describe(&self) -> String {
        format!("directory {}", self.dirs.root.display())
    }
}

fn io_error(e: io::Error) -> ObjectError {
    match e.kind() {
        io::ErrorKind::PermissionDenied => ObjectError::AccessDenied(e.to_string()),
        _ => ObjectError::Unavailable(e.to_string()),
    }
}

fn unique_name() -> String {
    let mut bytes = [0u8; 16];
    // Randomness only keeps concurrent writers apart; a failure falls back to the clock.
    if getrandom::fill(&mut bytes).is_err() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes = now.to_be_bytes();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn encode_segment(segment: &str) -> String {
    match segment {
        "" => "%".to_string(),
        "." => "%2E".to_string(),
        ".." => "%2E%2E".to_string(),
        _ => segment.replace('%', "%25").replace('\0', "%00"),
    }
}

fn decode_segment(name: &str) -> String {
    if name == "%" {
        return String::new();
    }
    let mut out = Vec::with_capacity(name.len());
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use spate_log::mem::MemStorage;

    fn store() -> (Arc<MemStorage>, LocalDirStore) {
        let storage = Arc::new(MemStorage::with_power_loss_tracking());
        let store = LocalDirStore::new(storage.clone(), PathBuf::from("/buckets"));
        (storage, store)
    }

    fn object(key: &str, body: &'static [u8]) -> PutObject {
        PutObject {
            bucket: "logs".into(),
            key: key.into(),
            body: Bytes::from_static(body),
            content_encoding: None,
        }
    }

    #[test]
    fn segments_round_trip() {
        for s in ["", ".", "..", "a%b", "%2E", "x\0y", "plain", "%"] {
            assert_eq!(decode_segment(&encode_segment(s)), s, "{s:?}");
        }
    }

    #[tokio::test]
    async fn objects_round_trip_and_list_by_prefix() {
        let (_, store) = store();
        for key in ["2026/12/01/a", "2026/12/01/b", "x//../y", "other"] {
            store.put(object(key, b"body")).await.unwrap();
        }
        let keys = store.list("logs", "2026/").await.unwrap();
        assert_eq!(keys, vec!["2026/12/01/a", "2026/12/01/b"]);
        assert_eq!(store.list("logs", "").await.unwrap().len(), 4);
        let got = store.get("logs", "x//../y").await.unwrap();
        assert_eq!(got.as_deref(), Some(&b"body"[..]));
        assert_eq!(store.get("logs", "missing").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_written_object_survives_a_power_loss() {
        let (storage, store) = store();
        store.put(object("a/b/c", b"kept")).await.unwrap();
        let after = Arc::new(storage.after_power_loss());
        let store = LocalDirStore::new(after, PathBuf::from("/buckets"));
        let got = store.get("logs", "a/b/c").await.unwrap();
        assert_eq!(got.as_deref(), Some(&b"kept"[..]));
    }
}

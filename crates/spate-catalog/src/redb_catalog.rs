//! The embedded catalog: one redb file, records as versioned JSON values.

use crate::{
    AccountRecord, Catalog, CatalogError, CatalogState, DocumentKind, StreamRecord, FORMAT_VERSION,
};
use redb::{Database, ReadableTable, TableDefinition};
use std::path::Path;

const STREAMS: TableDefinition<&str, &[u8]> = TableDefinition::new("streams");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const NEXT_LOG_ID: &str = "next_log_id";
const ACCOUNT: &str = "account";
const VERSION: &str = "format_version";

pub struct RedbCatalog {
    db: Database,
    read_only: bool,
}

fn storage<E: std::fmt::Display>(e: E) -> CatalogError {
    CatalogError::Storage(e.to_string())
}

/// A copy of the catalog file in memory, for serving a read-only data directory: redb opens
/// files read-write, and a read-only file system refuses that. Writes stay in memory; the
/// catalog refuses them before they get here.
#[derive(Debug)]
struct MemoryCopy(std::sync::RwLock<Vec<u8>>);

impl redb::StorageBackend for MemoryCopy {
    fn len(&self) -> Result<u64, std::io::Error> {
        Ok(self.0.read().unwrap_or_else(|e| e.into_inner()).len() as u64)
    }
    fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>, std::io::Error> {
        let data = self.0.read().unwrap_or_else(|e| e.into_inner());
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        data.get(start..start.saturating_add(len))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| std::io::Error::other("read past the end of the catalog"))
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        let len = usize::try_from(len).map_err(std::io::Error::other)?;
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .resize(len, 0);
        Ok(())
    }
    fn sync_data(&self, _eventual: bool) -> Result<(), std::io::Error> {
        Ok(())
    }
    fn write(&self, offset: u64, bytes: &[u8]) -> Result<(), std::io::Error> {
        let mut data = self.0.write().unwrap_or_else(|e| e.into_inner());
        let start = usize::try_from(offset).map_err(std::io::Error::other)?;
        let end = start + bytes.len();
        if data.len() < end {
            data.resize(end, 0);
        }
        data[start..end].copy_from_slice(bytes);
        Ok(())
    }
}

impl RedbCatalog {
    /// Opens a catalog file that may be on a read-only file system: its contents are read into
    /// memory and every change is refused ([`CatalogError::ReadOnly`]).
    pub fn open_read_only(path: &Path) -> Result<Self, CatalogError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(storage(e)),
        };
        let db = redb::Builder::new()
            .create_with_backend(MemoryCopy(std::sync::RwLock::new(bytes)))
            .map_err(storage)?;
        let mut catalog = RedbCatalog::init(db)?;
        catalog.read_only = true;
        Ok(catalog)
    }

    pub fn open(path: &Path) -> Result<Self, CatalogError> {
        RedbCatalog::init(Database::create(path).map_err(storage)?)
    }

    fn refuse_if_read_only(&self) -> Result<(), CatalogError> {
        if self.read_only {
            return Err(CatalogError::ReadOnly);
        }
        Ok(())
    }

    fn init(db: Database) -> Result<Self, CatalogError> {
        let txn = db.begin_write().map_err(storage)?;
        {
            let mut meta = txn.open_table(META).map_err(storage)?;
            let existing = meta
                .get(VERSION)
                .map_err(storage)?
                .map(|v| v.value().to_vec());
            match existing {
                None => {
                    meta.insert(VERSION, FORMAT_VERSION.to_be_bytes().as_slice())
                        .map_err(storage)?;
                }
                Some(v) if v.as_slice() == FORMAT_VERSION.to_be_bytes() => {}
                Some(v) => {
                    return Err(CatalogError::Corrupted(format!(
                        "catalog format version {v:?} is not supported"
                    )))
                }
            }
            txn.open_table(STREAMS).map_err(storage)?;
        }
        txn.commit().map_err(storage)?;
        Ok(RedbCatalog {
            db,
            read_only: false,
        })
    }
}

impl Catalog for RedbCatalog {
    fn load(&self) -> Result<CatalogState, CatalogError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let streams_table = txn.open_table(STREAMS).map_err(storage)?;
        let mut streams = Vec::new();
        for entry in streams_table.iter().map_err(storage)? {
            let (name, value) = entry.map_err(storage)?;
            let record: StreamRecord = serde_json::from_slice(value.value())
                .map_err(|e| CatalogError::Corrupted(format!("stream {}: {e}", name.value())))?;
            streams.push(record);
        }
        let meta = txn.open_table(META).map_err(storage)?;
        let next_log_id = match meta.get(NEXT_LOG_ID).map_err(storage)? {
            Some(v) => u64::from_be_bytes(
                v.value()
                    .try_into()
                    .map_err(|_| CatalogError::Corrupted("next_log_id".into()))?,
            ),
            None => 0,
        };
        let account = match meta.get(ACCOUNT).map_err(storage)? {
            Some(v) => serde_json::from_slice(v.value())
                .map_err(|e| CatalogError::Corrupted(format!("account: {e}")))?,
            None => AccountRecord::default(),
        };
        Ok(CatalogState {
            streams,
            next_log_id,
            account,
        })
    }

    fn put_stream(&self, stream: &StreamRecord, next_log_id: u64) -> Result<(), CatalogError> {
        self.refuse_if_read_only()?;
        let value = serde_json::to_vec(stream).map_err(storage)?;
        let txn = self.db.begin_write().map_err(storage)?;
        {
            txn.open_table(STREAMS)
                .map_err(storage)?
                .insert(stream.name.as_str(), value.as_slice())
                .map_err(storage)?;
            txn.open_table(META)
                .map_err(storage)?
                .insert(NEXT_LOG_ID, next_log_id.to_be_bytes().as_slice())
                .map_err(storage)?;
        }
        txn.commit().map_err(storage)
    }

    fn delete_stream(&self, name: &str) -> Result<(), CatalogError> {
        self.refuse_if_read_only()?;
        let txn = self.db.begin_write().map_err(storage)?;
        txn.open_table(STREAMS)
            .map_err(storage)?
            .remove(name)
            .map_err(storage)?;
        txn.commit().map_err(storage)
    }

    fn put_account(&self, account: &AccountRecord) -> Result<(), CatalogError> {
        self.refuse_if_read_only()?;
        let value = serde_json::to_vec(account).map_err(storage)?;
        let txn = self.db.begin_write().map_err(storage)?;
        txn.open_table(META)
            .map_err(storage)?
            .insert(ACCOUNT, value.as_slice())
            .map_err(storage)?;
        txn.commit().map_err(storage)
    }

    fn documents(&self, kind: DocumentKind) -> Result<Vec<(String, Vec<u8>)>, CatalogError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = match txn.open_table(documents_table(kind)) {
            Ok(table) => table,
            // Nothing of this kind was ever written.
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(storage(e)),
        };
        let mut out = Vec::new();
        for entry in table.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            out.push((key.value().to_string(), value.value().to_vec()));
        }
        Ok(out)
    }

    fn put_document(
        &self,
        kind: DocumentKind,
        key: &str,
        value: &[u8],
    ) -> Result<(), CatalogError> {
        self.refuse_if_read_only()?;
        let txn = self.db.begin_write().map_err(storage)?;
        txn.open_table(documents_table(kind))
            .map_err(storage)?
            .insert(key, value)
            .map_err(storage)?;
        txn.commit().map_err(storage)
    }

    fn write_documents(
        &self,
        kind: DocumentKind,
        changes: &[(String, Option<Vec<u8>>)],
    ) -> Result<(), CatalogError> {
        self.refuse_if_read_only()?;
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(documents_table(kind)).map_err(storage)?;
            for (key, value) in changes {
                match value {
                    Some(value) => table.insert(key.as_str(), value.as_slice()),
                    None => table.remove(key.as_str()),
                }
                .map_err(storage)?;
            }
        }
        txn.commit().map_err(storage)
    }

    fn delete_document(&self, kind: DocumentKind, key: &str) -> Result<(), CatalogError> {
        self.refuse_if_read_only()?;
        let txn = self.db.begin_write().map_err(storage)?;
        txn.open_table(documents_table(kind))
            .map_err(storage)?
            .remove(key)
            .map_err(storage)?;
        txn.commit().map_err(storage)
    }
}

/// Each document kind is its own table, named by the kind (e.g. `firehose:delivery-streams`).
fn documents_table(kind: DocumentKind) -> TableDefinition<'static, &'static str, &'static [u8]> {
    TableDefinition::new(kind.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Lifecycle, ShardRecord, StreamMode};

    #[test]
    fn streams_round_trip_across_reopen() {
        let dir = std::env::temp_dir().join(format!("spate-catalog-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("catalog.redb");
        let _ = std::fs::remove_file(&path);
        let stream = StreamRecord {
            format_version: FORMAT_VERSION,
            name: "orders".into(),
            created_ms: 1,
            lifecycle: Lifecycle::Active,
            mode: StreamMode::Provisioned,
            retention_hours: 24,
            max_record_size_kib: 1024,
            tags: [("a".to_string(), "b".to_string())].into(),
            shards: vec![ShardRecord {
                index: 0,
                log_id: 7,
                starting_hash_key: 0,
                ending_hash_key: u128::MAX,
                created_ms: 1,
                parent: None,
                adjacent_parent: None,
                ending_counter: None,
                closed_ms: None,
            }],
            ..StreamRecord::default()
        };
        {
            let c = RedbCatalog::open(&path).unwrap();
            c.put_stream(&stream, 8).unwrap();
            c.put_account(&AccountRecord {
                billing_commitment_enabled: true,
                billing_commitment_started_ms: Some(5),
            })
            .unwrap();
        }
        let c = RedbCatalog::open(&path).unwrap();
        let state = c.load().unwrap();
        assert_eq!(state.streams, vec![stream]);
        assert_eq!(state.next_log_id, 8);
        assert!(state.account.billing_commitment_enabled);
        drop(c);
        let ro = RedbCatalog::open_read_only(&path).unwrap();
        assert_eq!(ro.load().unwrap().streams.len(), 1);
        assert!(matches!(
            ro.delete_stream("orders"),
            Err(CatalogError::ReadOnly)
        ));
        drop(ro);
        let c = RedbCatalog::open(&path).unwrap();
        c.delete_stream("orders").unwrap();
        assert!(c.load().unwrap().streams.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn documents_round_trip_across_reopen() {
        const KIND: DocumentKind = DocumentKind("doc:test");
        let dir = std::env::temp_dir().join(format!("spate-catalog-docs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("catalog.redb");
        let _ = std::fs::remove_file(&path);
        {
            let c = RedbCatalog::open(&path).unwrap();
            assert!(c.documents(KIND).unwrap().is_empty());
            c.put_document(KIND, "a", b"1").unwrap();
            c.put_document(KIND, "b", b"2").unwrap();
            c.put_document(KIND, "a", b"3").unwrap();
            c.delete_document(KIND, "b").unwrap();
        }
        let c = RedbCatalog::open(&path).unwrap();
        assert_eq!(
            c.documents(KIND).unwrap(),
            vec![("a".to_string(), b"3".to_vec())]
        );
        assert!(c.documents(DocumentKind("doc:other")).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn version_1_records_read_back() {
        // A stream record as the first release wrote it, before the resharding members existed.
        let v1 = r#"{"format_version":1,"name":"s","created_ms":5,"lifecycle":"Active",
            "mode":"Provisioned","retention_hours":24,"max_record_size_kib":1024,"tags":{},
            "shards":[{"index":0,"log_id":0,"starting_hash_key":0,"ending_hash_key":9,
            "created_ms":5,"parent":null,"adjacent_parent":null,"ending_counter":null}]}"#;
        let record: StreamRecord = serde_json::from_str(v1).unwrap();
        assert_eq!(record.pending, None);
        assert_eq!(record.shards[0].closed_ms, None);
        assert!(record.resize_calls_ms.is_empty());
    }
}

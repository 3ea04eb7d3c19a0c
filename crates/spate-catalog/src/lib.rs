//! Durable metadata: what streams exist, their shards, tags and settings; and other services'
//! records as documents (see [`DocumentKind`]).
//!
//! The streams service keeps the live state in memory and writes every change through a
//! [`Catalog`], one transaction per change (create a stream and allocate its shards' log ids
//! atomically; close a parent and open its children atomically). [`RedbCatalog`] is the embedded,
//! durable store; [`MemCatalog`] keeps nothing, for `--in-memory`. A PostgreSQL catalog for the
//! cluster backend implements the same trait.

mod redb_catalog;

pub use redb_catalog::RedbCatalog;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the persisted record layout; bumped on incompatible changes, read back on upgrade.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum StreamMode {
    #[default]
    Provisioned,
    OnDemand,
}

/// A lifecycle state that ends at a moment: CREATING/UPDATING end by themselves, DELETING ends
/// with the stream's removal. Kept as deadlines so a restart resumes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lifecycle {
    Creating {
        until_ms: i64,
    },
    #[default]
    Active,
    Updating {
        until_ms: i64,
    },
    Deleting {
        until_ms: i64,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// The number in `shardId-000000000003`.
    pub index: u32,
    /// The shard's identity in the record log.
    pub log_id: u64,
    pub starting_hash_key: u128,
    pub ending_hash_key: u128,
    pub created_ms: i64,
    pub parent: Option<u32>,
    pub adjacent_parent: Option<u32>,
    /// Set when the shard is closed: the counter after its last record.
    pub ending_counter: Option<u64>,
    /// When the shard was closed (its records all arrived before this).
    #[serde(default)]
    pub closed_ms: Option<i64>,
}

/// A shard-map change accepted by the API and applied when the stream's UPDATING window ends
/// (AWS shows the new shards only once the stream is ACTIVE again). Persisted so that a restart
/// resumes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PendingChange {
    Split {
        shard: u32,
        new_starting_hash_key: u128,
    },
    Merge {
        shard: u32,
        adjacent: u32,
    },
    /// UpdateShardCount with UNIFORM_SCALING.
    Resize {
        target: u32,
    },
}

/// Members added after format version 1 carry `#[serde(default)]`, so version-1 records read back
/// unchanged; only an incompatible change bumps [`FORMAT_VERSION`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamRecord {
    pub format_version: u32,
    pub name: String,
    pub created_ms: i64,
    pub lifecycle: Lifecycle,
    pub mode: StreamMode,
    pub retention_hours: i64,
    pub max_record_size_kib: i64,
    pub tags: BTreeMap<String, String>,
    pub shards: Vec<ShardRecord>,
    #[serde(default)]
    pub pending: Option<PendingChange>,
    /// When UpdateShardCount was called, for its calls-per-24-hours limit.
    #[serde(default)]
    pub resize_calls_ms: Vec<i64>,
    /// When the shard map last changed (for the ON_DEMAND scaler's cool-downs).
    #[serde(default)]
    pub last_reshard_ms: Option<i64>,
    /// When the capacity mode was switched, for its switches-per-24-hours limit.
    #[serde(default)]
    pub mode_switches_ms: Vec<i64>,
    /// Enabled shard-level metrics (EnableEnhancedMonitoring), sorted, without "ALL".
    #[serde(default)]
    pub shard_level_metrics: Vec<String>,
    /// Target of UpdateStreamWarmThroughput / CreateStream's WarmThroughputMiBps.
    #[serde(default)]
    pub warm_throughput_mibps: Option<i64>,
    /// RecordDistributionStrategy AUTO (ON_DEMAND only): records spread evenly, partition keys
    /// and explicit hash keys ignored.
    #[serde(default)]
    pub auto_distribution: bool,
    /// The stream's resource policy document, stored as given.
    #[serde(default)]
    pub resource_policy: Option<String>,
    /// Server-side encryption of new records: the KMS key id as the client named it.
    #[serde(default)]
    pub encryption_key_id: Option<String>,
    /// Every data key this stream's records were sealed with, wrapped by the master key.
    #[serde(default)]
    pub data_keys: Vec<WrappedDataKey>,
    /// The data key version that seals new records (set while encryption is on).
    #[serde(default)]
    pub sealing_key_version: Option<u32>,
    /// Registered enhanced fan-out consumers.
    #[serde(default)]
    pub consumers: Vec<ConsumerRecord>,
}

/// An enhanced fan-out consumer of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerRecord {
    pub name: String,
    pub created_ms: i64,
    /// CREATING until `Creating.until_ms`, DELETING until its deadline, ACTIVE otherwise.
    pub lifecycle: Lifecycle,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// A stream's data key, encrypted under the server's master key (`spate-keyring`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedDataKey {
    pub version: u32,
    /// The wrapped key as `spate_keyring::WrappedKey::to_text` writes it.
    pub wrapped: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub billing_commitment_enabled: bool,
    pub billing_commitment_started_ms: Option<i64>,
}

/// Everything the catalog holds, as loaded at start-up.
#[derive(Debug, Clone, Default)]
pub struct CatalogState {
    pub streams: Vec<StreamRecord>,
    pub next_log_id: u64,
    pub account: AccountRecord,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("catalog storage error: {0}")]
    Storage(String),
    #[error("catalog record is corrupted or from an unknown version: {0}")]
    Corrupted(String),
    #[error("the catalog is read-only (the data directory is on a read-only file system)")]
    ReadOnly,
}

/// Durable metadata. Each method is one transaction.
pub trait Catalog: Send + Sync {
    fn load(&self) -> Result<CatalogState, CatalogError>;
    /// Inserts or replaces a stream and records the next free log id, atomically.
    fn put_stream(&self, stream: &StreamRecord, next_log_id: u64) -> Result<(), CatalogError>;
    fn delete_stream(&self, name: &str) -> Result<(), CatalogError>;
    fn put_account(&self, account: &AccountRecord) -> Result<(), CatalogError>;
    /// Every document of a kind (another service's records, e.g. Firehose delivery streams):
    /// opaque bytes whose schema and version the owning service keeps.
    fn documents(&self, kind: DocumentKind) -> Result<Vec<(String, Vec<u8>)>, CatalogError>;
    fn put_document(&self, kind: DocumentKind, key: &str, value: &[u8])
        -> Result<(), CatalogError>;
    fn delete_document(&self, kind: DocumentKind, key: &str) -> Result<(), CatalogError>;
    /// Writes (`Some`) and removes (`None`) several documents of a kind in one transaction:
    /// after a crash either all of them are there or none (DynamoDB's TransactWriteItems).
    fn write_documents(
        &self,
        kind: DocumentKind,
        changes: &[(String, Option<Vec<u8>>)],
    ) -> Result<(), CatalogError>;
}

/// A named table of documents; each service that keeps records in the catalog names its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentKind(pub &'static str);

/// Keeps nothing: the service's in-memory state is all there is.
#[derive(Debug, Default)]
pub struct MemCatalog;

impl Catalog for MemCatalog {
    fn load(&self) -> Result<CatalogState, CatalogError> {
        Ok(CatalogState::default())
    }
    fn put_stream(&self, _: &StreamRecord, _: u64) -> Result<(), CatalogError> {
        Ok(())
    }
    fn delete_stream(&self, _: &str) -> Result<(), CatalogError> {
        Ok(())
    }
    fn put_account(&self, _: &AccountRecord) -> Result<(), CatalogError> {
        Ok(())
    }
    fn documents(&self, _: DocumentKind) -> Result<Vec<(String, Vec<u8>)>, CatalogError> {
        Ok(Vec::new())
    }
    fn put_document(&self, _: DocumentKind, _: &str, _: &[u8]) -> Result<(), CatalogError> {
        Ok(())
    }
    fn write_documents(
        &self,
        _: DocumentKind,
        _: &[(String, Option<Vec<u8>>)],
    ) -> Result<(), CatalogError> {
        Ok(())
    }

    fn delete_document(&self, _: DocumentKind, _: &str) -> Result<(), CatalogError> {
        Ok(())
    }
}

/// Documents kept in memory and nothing else: lets an in-process test reopen a service over
/// what it wrote (streams are not kept).
#[derive(Debug, Default)]
pub struct MemDocCatalog {
    docs: std::sync::Mutex<std::collections::BTreeMap<(&'static str, String), Vec<u8>>>,
}

impl MemDocCatalog {
    fn docs(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<(&'static str, String), Vec<u8>>>
    {
        self.docs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Catalog for MemDocCatalog {
    fn load(&self) -> Result<CatalogState, CatalogError> {
        Ok(CatalogState::default())
    }

    fn put_stream(&self, _: &StreamRecord, _: u64) -> Result<(), CatalogError> {
        Ok(())
    }

    fn delete_stream(&self, _: &str) -> Result<(), CatalogError> {
        Ok(())
    }

    fn put_account(&self, _: &AccountRecord) -> Result<(), CatalogError> {
        Ok(())
    }

    fn documents(&self, kind: DocumentKind) -> Result<Vec<(String, Vec<u8>)>, CatalogError> {
        Ok(self
            .docs()
            .iter()
            .filter(|((k, _), _)| *k == kind.0)
            .map(|((_, key), v)| (key.clone(), v.clone()))
            .collect())
    }

    fn put_document(
        &self,
        kind: DocumentKind,
        key: &str,
        value: &[u8],
    ) -> Result<(), CatalogError> {
        self.docs()
            .insert((kind.0, key.to_string()), value.to_vec());
        Ok(())
    }

    fn write_documents(
        &self,
        kind: DocumentKind,
        changes: &[(String, Option<Vec<u8>>)],
    ) -> Result<(), CatalogError> {
        let mut docs = self.docs();
        for (key, value) in changes {
            match value {
                Some(v) => docs.insert((kind.0, key.clone()), v.clone()),
                None => docs.remove(&(kind.0, key.clone())),
            };
        }
        Ok(())
    }

    fn delete_document(&self, kind: DocumentKind, key: &str) -> Result<(), CatalogError> {
        self.docs().remove(&(kind.0, key.to_string()));
        Ok(())
    }
}

//! Server-side encryption: StartStreamEncryption / StopStreamEncryption, and sealing and opening
//! records with the stream's data keys (`spate-keyring` does the cryptography).
//!
//! While a stream is encrypted, every record is stored as an envelope (AES-256-GCM under the
//! stream's current data key) holding its partition key and data; records written before or
//! after stay as they were, and each read opens whatever it finds. Data keys live in the catalog
//! wrapped by the master key, so the data directory alone reveals no record.

use crate::errors::internal;
use crate::store::Stream;
use spate_catalog::{StreamRecord, WrappedDataKey};
use spate_keyring::{canonical_kms_key, DataKey, MasterKey, WrappedKey, AWS_MANAGED_KEY};
use spate_wire::ApiError;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

/// Where the master key comes from.
pub enum MasterKeySource {
    /// A key already at hand (SPATE_MASTER_KEY, an existing key file, or a throw-away key).
    Key(Box<MasterKey>),
    /// A key file that does not exist yet: created the first time a stream is encrypted, so a
    /// server that never encrypts writes no key and warns about none.
    CreateAt(PathBuf),
}

/// The master key, the KMS keys the server knows, and every unwrapped data key.
pub struct Keyring {
    source: Mutex<MasterKeySource>,
    known: BTreeSet<String>,
    /// (stream name, stream creation ms, version) -> key.
    keys: RwLock<HashMap<(String, i64, u32), Arc<DataKey>>>,
}

impl Keyring {
    /// `kms_keys` are the key ids clients may name besides `alias/aws/kinesis`, in any AWS form.
    pub fn new(master: MasterKeySource, kms_keys: &[String]) -> Keyring {
        let mut known: BTreeSet<String> = kms_keys
            .iter()
            .filter_map(|k| canonical_kms_key(k))
            .collect();
        known.insert(AWS_MANAGED_KEY.to_string());
        Keyring {
            source: Mutex::new(master),
            known,
            keys: RwLock::new(HashMap::new()),
        }
    }

    /// Runs `f` with the master key, creating the key file first if it is still to be made.
    fn with_master<T>(
        &self,
        f: impl FnOnce(&MasterKey) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut source = self.source.lock().unwrap_or_else(|e| e.into_inner());
        if let MasterKeySource::CreateAt(path) = &*source {
            let (key, created) = MasterKey::load_or_create(path).map_err(internal)?;
            if created {
                tracing::warn!(
                    "created a new master key at {}; encrypted streams are only as safe as this file: keep it apart from the data (--master-key-file) and back it up, without it encrypted records cannot be read",
                    path.display()
                );
            }
            *source = MasterKeySource::Key(Box::new(key));
        }
        match &*source {
            MasterKeySource::Key(key) => f(key),
            MasterKeySource::CreateAt(_) => Err(internal("master key unavailable")),
        }
    }

    fn get(&self, record: &StreamRecord, version: u32) -> Option<Arc<DataKey>> {
        self.keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&(record.name.clone(), record.created_ms, version))
            .cloned()
    }

    fn insert(&self, record: &StreamRecord, key: DataKey) {
        self.keys.write().unwrap_or_else(|e| e.into_inner()).insert(
            (record.name.clone(), record.created_ms, key.version()),
            Arc::new(key),
        );
    }

    /// Forgets a deleted stream's keys.
    pub(crate) fn forget(&self, record: &StreamRecord) {
        self.keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(name, created, _), _| {
                !(name == &record.name && *created == record.created_ms)
            });
    }

    /// Unwraps a stream's stored data keys (for reading its sealed records).
    pub(crate) fn load(&self, record: &StreamRecord) -> Result<(), ApiError> {
        for stored in &record.data_keys {
            let wrapped = WrappedKey::from_text(&stored.wrapped).map_err(internal)?;
            let raw = self.with_master(|master| {
                master
                    .unwrap(&wrapped, &wrap_context(record, stored.version))
                    .map_err(internal)
            })?;
            self.insert(record, DataKey::for_opening(&raw, stored.version));
        }
        Ok(())
    }

    /// Makes a fresh sealing key for `record`, adds it (wrapped) to the record and makes it the
    /// sealing key. The caller persists the record before the key seals anything.
    pub(crate) fn rotate(&self, record: &mut StreamRecord) -> Result<(), ApiError> {
        let version = record
            .data_keys
            .iter()
            .map(|k| k.version + 1)
            .max()
            .unwrap_or(1);
        let (key, raw) = DataKey::generate(version).map_err(internal)?;
        let wrapped = self.with_master(|master| {
            master
                .wrap(&raw, &wrap_context(record, version))
                .map_err(internal)
        })?;
        record.data_keys.push(WrappedDataKey {
            version,
            wrapped: wrapped.to_text(),
        });
        record.sealing_key_version = Some(version);
        self.insert(record, key);
        Ok(())
    }
}

impl Keyring {
    /// A fresh data key for another service's records (Firehose delivery streams), bound to
    /// `owner` (which names the thing sealed, creation time included); returns the key, which
    /// seals, and its wrapped form to persist.
    pub fn new_data_key(&self, owner: &str, version: u32) -> Result<(DataKey, String), ApiError> {
        let (key, raw) = DataKey::generate(version).map_err(internal)?;
        let context = format!("{owner}/{version}");
        let wrapped = self.with_master(|master| master.wrap(&raw, &context).map_err(internal))?;
        Ok((key, wrapped.to_text()))
    }

    /// Unwraps a data key [`new_data_key`](Self::new_data_key) made; it only opens records.
    pub fn open_data_key(
        &self,
        owner: &str,
        version: u32,
        wrapped: &str,
    ) -> Result<DataKey, ApiError> {
        let wrapped = WrappedKey::from_text(wrapped).map_err(internal)?;
        let context = format!("{owner}/{version}");
        let raw = self.with_master(|master| master.unwrap(&wrapped, &context).map_err(internal))?;
        Ok(DataKey::for_opening(&raw, version))
    }
}

/// What a wrapped data key is bound to: its stream (name and creation) and version.
fn wrap_context(record: &StreamRecord, version: u32) -> String {
    format!("{}/{}/{version}", record.name, record.created_ms)
}

/// What a sealed record is bound to: its stream.
fn seal_context(record: &StreamRecord) -> Vec<u8> {
    format!("{}/{}", record.name, record.created_ms).into_bytes()
}

/// Seals records for one stream, or passes them through when it is not encrypted.
pub(crate) struct Sealer {
    key: Option<(Arc<DataKey>, Vec<u8>)>,
}

impl Sealer {
    /// The `EncryptionType` to report for records written through this sealer.
    pub fn encryption_type(&self) -> &'static str {
        if self.key.is_some() {
            "KMS"
        } else {
            "NONE"
        }
    }

    /// (partition key, data, sealed) as the log should store them.
    pub fn seal(
        &self,
        partition_key: String,
        data: Vec<u8>,
    ) -> Result<(String, Vec<u8>, bool), ApiError> {
        match &self.key {
            None => Ok((partition_key, data, false)),
            Some((key, context)) => {
                let envelope = key.seal(context, &partition_key, &data).map_err(internal)?;
                Ok((String::new(), envelope, true))
            }
        }
    }
}

impl Keyring {
    /// Whether StartStreamEncryption may name this key (in canonical form).
    pub(crate) fn knows(&self, canonical: &str) -> bool {
        self.known.contains(canonical)
    }

    /// The sealer for new records of `stream`.
    pub(crate) fn sealer(&self, stream: &Stream) -> Result<Sealer, ApiError> {
        let Some(version) = stream.record.sealing_key_version else {
            return Ok(Sealer { key: None });
        };
        let key = self.get(&stream.record, version).ok_or_else(|| {
            internal(format!(
                "data key {version} of {} is not loaded",
                stream.record.name
            ))
        })?;
        Ok(Sealer {
            key: Some((key, seal_context(&stream.record))),
        })
    }

    /// Opens a sealed record of `stream`: (partition key, data).
    pub(crate) fn open_sealed(
        &self,
        stream: &Stream,
        envelope: &[u8],
    ) -> Result<(String, Vec<u8>), ApiError> {
        let version = spate_keyring::envelope_version(envelope)
            .ok_or_else(|| internal("a sealed record has no key version"))?;
        let key = self
            .get(&stream.record, version)
            .ok_or_else(|| internal(format!("no data key {version} for {}", stream.record.name)))?;
        key.open(&seal_context(&stream.record), envelope)
            .map_err(internal)
    }
}

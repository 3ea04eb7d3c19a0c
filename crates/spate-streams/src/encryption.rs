//! Server-side encryption: StartStreamEncryption / StopStreamEncryption, and sealing and opening
//! records with the stream's data keys (`spate-keyring` does the cryptography).
//!
//! While a stream is encrypted, every record is stored as an envelope (AES-256-GCM under the
//! stream's current data key) holding its partition key and data; records written before or
//! after stay as they were, and each read opens whatever it finds. Data keys live in the catalog
//! wrapped by the master key, so the data directory alone reveals no record.

use crate::registry::{internal, Kinesis, Stream};
use crate::validation as check;
use spate_catalog::{StreamRecord, WrappedDataKey};
use spate_keyring::{canonical_kms_key, DataKey, MasterKey, WrappedKey, AWS_MANAGED_KEY};
use spate_wire::kinesis::*;
use spate_wire::validate::Validator;
use spate_wire::{ApiError, ErrorKind};
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

impl Kinesis {
    pub(crate) fn sealer(&self, stream: &Stream) -> Result<Sealer, ApiError> {
        let Some(version) = stream.record.sealing_key_version else {
            return Ok(Sealer { key: None });
        };
        let key = self.keyring.get(&stream.record, version).ok_or_else(|| {
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
            .keyring
            .get(&stream.record, version)
            .ok_or_else(|| internal(format!("no data key {version} for {}", stream.record.name)))?;
        key.open(&seal_context(&stream.record), envelope)
            .map_err(internal)
    }

    fn check_encryption_input(v: &mut Validator, input: &StreamEncryptionInput) {
        check::stream_ref(v, input);
        v.required(&input.encryption_type, "encryptionType")
            .required(&input.key_id, "keyId");
        v.one_of(
            input.encryption_type.as_deref(),
            "encryptionType",
            &["NONE", "KMS"],
        );
        v.length(input.key_id.as_deref(), "keyId", 1, 2048);
    }

    fn require_kms_type(input: &StreamEncryptionInput) -> Result<(), ApiError> {
        if input.encryption_type.as_deref() == Some("NONE") {
            return Err(ApiError::new(
                ErrorKind::InvalidArgument,
                "Encryption type cannot be NONE.",
            ));
        }
        Ok(())
    }

    pub async fn start_stream_encryption(
        &self,
        input: StreamEncryptionInput,
    ) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        Self::check_encryption_input(&mut v, &input);
        v.finish()?;
        Self::require_kms_type(&input)?;
        let key_id = input.key_id.clone().unwrap_or_default();
        let canonical = canonical_kms_key(&key_id).ok_or_else(|| {
            ApiError::new(
                ErrorKind::InvalidArgument,
                format!("Received KeyId {key_id} is not a properly formatted key ID, key ARN, alias name or alias ARN."),
            )
        })?;
        let _guard = self.control.lock().await;
        let stream = self.lookup_named(&input)?;
        if !self.keyring.known.contains(&canonical) {
            return Err(ApiError::new(
                ErrorKind::KmsNotFound,
                format!(
                    "Key '{key_id}' does not exist. The request was rejected because the specified entity or resource can't be found."
                ),
            ));
        }
        self.require_active(&stream)?;
        let mut record = stream.record.clone();
        self.keyring.rotate(&mut record)?;
        record.encryption_key_id = Some(key_id);
        self.save_updating(record)?;
        Ok(EmptyOutput {})
    }

    pub async fn stop_stream_encryption(
        &self,
        input: StreamEncryptionInput,
    ) -> Result<EmptyOutput, ApiError> {
        let mut v = Validator::new();
        Self::check_encryption_input(&mut v, &input);
        v.finish()?;
        Self::require_kms_type(&input)?;
        let _guard = self.control.lock().await;
        let stream = self.lookup_named(&input)?;
        self.require_active(&stream)?;
        let mut record = stream.record.clone();
        record.encryption_key_id = None;
        record.sealing_key_version = None;
        self.save_updating(record)?;
        Ok(EmptyOutput {})
    }

    /// At start-up: unwrap every stored data key, and give each encrypted stream a fresh sealing
    /// key (a key's nonce counter only lives as long as the process).
    pub(crate) fn load_keys(&self) -> Result<(), ApiError> {
        let streams: Vec<Arc<Stream>> = self.registry().streams.values().cloned().collect();
        for stream in streams {
            self.keyring.load(&stream.record)?;
            if stream.record.sealing_key_version.is_some() {
                let mut record = stream.record.clone();
                self.keyring.rotate(&mut record)?;
                self.save(record)?;
            }
        }
        Ok(())
    }
}

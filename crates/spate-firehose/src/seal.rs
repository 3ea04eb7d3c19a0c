//! Server-side encryption of a DirectPut delivery stream's records at rest (Start/
//! StopDeliveryStreamEncryption): while encryption is ENABLED every put record is stored in
//! Firehose's log as an envelope (AES-256-GCM under the stream's current data key, the same
//! envelope Kinesis uses), and delivery opens it. Data keys are wrapped by the server's master
//! key (shared with Kinesis) and kept in the stream's record; a fresh one seals after every
//! start and every enabling, so a nonce never repeats under one key.

use crate::errors::internal;
use crate::model::DeliveryStreamRecord;
use spate_keyring::DataKey;
use spate_streams::Keyring;
use spate_wire::ApiError;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

type KeyId = (String, i64, u32);

pub struct SealKeys {
    keyring: Option<Arc<Keyring>>,
    keys: RwLock<HashMap<KeyId, Arc<DataKey>>>,
}

/// What a stream's keys and envelopes are bound to: the delivery stream and its creation.
fn owner(record: &DeliveryStreamRecord) -> String {
    format!("firehose/{}/{}", record.name, record.created_ms)
}

impl SealKeys {
    pub fn new(keyring: Option<Arc<Keyring>>) -> SealKeys {
        SealKeys {
            keyring,
            keys: RwLock::default(),
        }
    }

    fn keyring(&self) -> Result<&Keyring, ApiError> {
        self.keyring
            .as_deref()
            .ok_or_else(|| internal("this server has no keyring for encryption at rest"))
    }

    fn id(record: &DeliveryStreamRecord, version: u32) -> KeyId {
        (record.name.clone(), record.created_ms, version)
    }

    fn get(&self, record: &DeliveryStreamRecord, version: u32) -> Option<Arc<DataKey>> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.get(&Self::id(record, version)).cloned()
    }

    /// Unwraps every data key of the stream (at start-up).
    pub fn load(&self, record: &DeliveryStreamRecord) -> Result<(), ApiError> {
        let Some(sse) = &record.sse else {
            return Ok(());
        };
        for (version, wrapped) in &sse.data_keys {
            if self.get(record, *version).is_none() {
                let key = self
                    .keyring()?
                    .open_data_key(&owner(record), *version, wrapped)?;
                let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
                keys.insert(Self::id(record, *version), Arc::new(key));
            }
        }
        Ok(())
    }

    /// Makes a fresh sealing key for the stream (recorded in `record`, to be saved).
    pub fn rotate(&self, record: &mut DeliveryStreamRecord) -> Result<(), ApiError> {
        let owner = owner(record);
        let keyring = self.keyring()?;
        let Some(sse) = record.sse.as_mut() else {
            return Ok(());
        };
        let version = sse.data_keys.iter().map(|(v, _)| v + 1).max().unwrap_or(1);
        let (key, wrapped) = keyring.new_data_key(&owner, version)?;
        sse.data_keys.push((version, wrapped));
        sse.sealing_version = Some(version);
        let id = (record.name.clone(), record.created_ms, version);
        self.keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, Arc::new(key));
        Ok(())
    }

    /// The record as the log should store it: (bytes, sealed).
    pub fn seal(
        &self,
        record: &DeliveryStreamRecord,
        data: Vec<u8>,
        now_ms: i64,
    ) -> Result<(Vec<u8>, bool), ApiError> {
        let Some(sse) = record.sse.as_ref().filter(|s| s.seals(now_ms)) else {
            return Ok((data, false));
        };
        let version = sse
            .sealing_version
            .ok_or_else(|| internal(format!("{} has no sealing key", record.name)))?;
        let key = self.get(record, version).ok_or_else(|| {
            internal(format!(
                "data key {version} of {} is not loaded",
                record.name
            ))
        })?;
        let envelope = key
            .seal(owner(record).as_bytes(), "", &data)
            .map_err(|e| internal(e.to_string()))?;
        Ok((envelope, true))
    }

    /// A stored record's data: opened if it was sealed.
    pub fn open<'a>(
        &self,
        record: &DeliveryStreamRecord,
        data: &'a [u8],
        sealed: bool,
    ) -> Result<Cow<'a, [u8]>, String> {
        if !sealed {
            return Ok(Cow::Borrowed(data));
        }
        let version =
            spate_keyring::envelope_version(data).ok_or("a sealed record has no key version")?;
        let key = self
            .get(record, version)
            .ok_or_else(|| format!("no data key {version} for {}", record.name))?;
        key.open(owner(record).as_bytes(), data)
            .map(|(_, data)| Cow::Owned(data))
            .map_err(|e| e.to_string())
    }
}

//! The registry of delivery streams: snapshots in memory, every change written through the
//! catalog (one document per stream) before it is visible. Catalog commits run on the
//! blocking pool.

use crate::config::FirehoseConfig;
use crate::errors::{internal, not_found};
use crate::model::{DeliveryStreamName, DeliveryStreamRecord, FORMAT_VERSION};
use serde::{Deserialize, Serialize};
use spate_catalog::{Catalog, DocumentKind};
use spate_log::Clock;
use spate_wire::ApiError;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

const STREAMS: DocumentKind = DocumentKind("firehose:delivery-streams");
const PROGRESS: DocumentKind = DocumentKind("firehose:progress");
const META: DocumentKind = DocumentKind("firehose:meta");
const SOURCE_PROGRESS: DocumentKind = DocumentKind("firehose:source-progress");
const NEXT_LOG_ID: &str = "next_log_id";

/// How far delivery got: every record below `delivered` is in its destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub log_id: u64,
    pub delivered: u64,
}

/// How far a KinesisStreamAsSource delivery stream has copied its Kinesis stream: the next
/// position of each shard being read, and the shards read to their end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceProgress {
    /// Creation time of the Kinesis stream these positions belong to.
    pub stream_created_ms: i64,
    pub positions: BTreeMap<u32, u64>,
    pub done: std::collections::BTreeSet<u32>,
}

pub struct Registry {
    pub config: FirehoseConfig,
    catalog: Arc<dyn Catalog>,
    clock: Clock,
    streams: RwLock<BTreeMap<String, Arc<DeliveryStreamRecord>>>,
    next_log_id: std::sync::Mutex<u64>,
    /// Serialises control-plane changes.
    pub control: tokio::sync::Mutex<()>,
    /// Bumped on every change, so delivery workers pick up new configurations.
    changes: watch::Sender<u64>,
}

fn corrupted(what: &str, e: impl std::fmt::Display) -> ApiError {
    internal(format!("the catalog's {what} cannot be read: {e}"))
}

impl Registry {
    pub fn load(
        config: FirehoseConfig,
        catalog: Arc<dyn Catalog>,
        clock: Clock,
    ) -> Result<Registry, ApiError> {
        let mut streams = BTreeMap::new();
        for (name, bytes) in catalog
            .documents(STREAMS)
            .map_err(|e| internal(e.to_string()))?
        {
            let record: DeliveryStreamRecord =
                serde_json::from_slice(&bytes).map_err(|e| corrupted(&name, e))?;
            if record.format_version > FORMAT_VERSION {
                return Err(corrupted(&name, "written by a newer version of Spate"));
            }
            streams.insert(name, Arc::new(record));
        }
        let mut next_log_id = 0;
        for (key, bytes) in catalog
            .documents(META)
            .map_err(|e| internal(e.to_string()))?
        {
            if key == NEXT_LOG_ID {
                next_log_id = serde_json::from_slice(&bytes).map_err(|e| corrupted(&key, e))?;
            }
        }
        Ok(Registry {
            config,
            catalog,
            clock,
            streams: RwLock::new(streams),
            next_log_id: std::sync::Mutex::new(next_log_id),
            control: tokio::sync::Mutex::new(()),
            changes: watch::channel(0).0,
        })
    }

    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    pub fn get(&self, name: &str) -> Result<Arc<DeliveryStreamRecord>, ApiError> {
        let streams = self.streams.read().unwrap_or_else(|e| e.into_inner());
        streams
            .get(name)
            .cloned()
            .ok_or_else(|| not_found(&self.config, name))
    }

    pub fn find(&self, name: &DeliveryStreamName) -> Result<Arc<DeliveryStreamRecord>, ApiError> {
        self.get(name.as_str())
    }

    pub fn all(&self) -> Vec<Arc<DeliveryStreamRecord>> {
        let streams = self.streams.read().unwrap_or_else(|e| e.into_inner());
        streams.values().cloned().collect()
    }

    /// Delivery streams (channels' streams are not counted: they have their own quota).
    pub fn count(&self) -> usize {
        let streams = self.streams.read().unwrap_or_else(|e| e.into_inner());
        streams.values().filter(|s| s.channel.is_none()).count()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// A log id no delivery stream has used; persisted before it is handed out.
    pub async fn allocate_log_id(&self) -> Result<u64, ApiError> {
        let id = {
            let mut next = self.next_log_id.lock().unwrap_or_else(|e| e.into_inner());
            let id = *next;
            *next += 1;
            id
        };
        let bytes = serde_json::to_vec(&(id + 1)).map_err(|e| internal(e.to_string()))?;
        self.write(move |c| c.put_document(META, NEXT_LOG_ID, &bytes))
            .await?;
        Ok(id)
    }

    /// Persists a stream's record, then makes it visible.
    pub async fn save(&self, record: DeliveryStreamRecord) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(&record).map_err(|e| internal(e.to_string()))?;
        let name = record.name.clone();
        let key = name.clone();
        self.write(move |c| c.put_document(STREAMS, &key, &bytes))
            .await?;
        self.streams
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name, Arc::new(record));
        self.changes.send_modify(|v| *v += 1);
        Ok(())
    }

    /// Forgets a stream and its progress.
    pub async fn remove(&self, name: &str) -> Result<(), ApiError> {
        let key = name.to_string();
        self.write(move |c| {
            c.delete_document(PROGRESS, &key)?;
            c.delete_document(SOURCE_PROGRESS, &key)?;
            c.delete_document(STREAMS, &key)
        })
        .await?;
        self.streams
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        self.changes.send_modify(|v| *v += 1);
        Ok(())
    }

    pub fn progress(&self, name: &str) -> Result<Option<Progress>, ApiError> {
        self.document(PROGRESS, name)
    }

    pub fn source_progress(&self, name: &str) -> Result<Option<SourceProgress>, ApiError> {
        self.document(SOURCE_PROGRESS, name)
    }

    pub async fn save_source_progress(
        &self,
        name: &str,
        progress: &SourceProgress,
    ) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(progress).map_err(|e| internal(e.to_string()))?;
        let key = name.to_string();
        self.write(move |c| c.put_document(SOURCE_PROGRESS, &key, &bytes))
            .await
    }

    fn document<T: serde::de::DeserializeOwned>(
        &self,
        kind: DocumentKind,
        name: &str,
    ) -> Result<Option<T>, ApiError> {
        let docs = self
            .catalog
            .documents(kind)
            .map_err(|e| internal(e.to_string()))?;
        match docs.into_iter().find(|(k, _)| k == name) {
            None => Ok(None),
            Some((key, bytes)) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupted(&key, e)),
        }
    }

    pub async fn save_progress(&self, name: &str, progress: Progress) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(&progress).map_err(|e| internal(e.to_string()))?;
        let key = name.to_string();
        self.write(move |c| c.put_document(PROGRESS, &key, &bytes))
            .await
    }

    async fn write(
        &self,
        change: impl FnOnce(&dyn Catalog) -> Result<(), spate_catalog::CatalogError> + Send + 'static,
    ) -> Result<(), ApiError> {
        let catalog = self.catalog.clone();
        tokio::task::spawn_blocking(move || change(&*catalog))
            .await
            .map_err(|e| internal(format!("catalog task failed: {e}")))?
            .map_err(crate::errors::catalog_error)
    }
}

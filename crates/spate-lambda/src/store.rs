//! Functions and event source mappings in memory, every change written through the catalog
//! (one document each) before it is visible; mapping progress beside them. Catalog commits run
//! on the blocking pool.

use crate::errors::{catalog_error, service, LambdaError};
use crate::model::{FunctionName, FunctionRecord, MappingProgress, MappingRecord, FORMAT_VERSION};
use serde::de::DeserializeOwned;
use serde::Serialize;
use spate_catalog::{Catalog, CatalogError, DocumentKind};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;

const FUNCTIONS: DocumentKind = DocumentKind("lambda:functions");
const MAPPINGS: DocumentKind = DocumentKind("lambda:event-source-mappings");
const PROGRESS: DocumentKind = DocumentKind("lambda:mapping-progress");

pub struct Registry {
    catalog: Arc<dyn Catalog>,
    functions: RwLock<BTreeMap<FunctionName, Arc<FunctionRecord>>>,
    mappings: RwLock<BTreeMap<String, Arc<MappingRecord>>>,
    /// Serialises control-plane changes.
    pub control: tokio::sync::Mutex<()>,
    /// Bumped on every mapping change, so the engine reconciles its pollers.
    changes: watch::Sender<u64>,
}

fn load<T: DeserializeOwned>(
    catalog: &dyn Catalog,
    kind: DocumentKind,
    format: impl Fn(&T) -> u32,
) -> Result<Vec<(String, T)>, LambdaError> {
    let mut out = Vec::new();
    for (key, bytes) in catalog.documents(kind).map_err(catalog_error)? {
        let value: T = serde_json::from_slice(&bytes)
            .map_err(|e| service(format!("the catalog's {key} cannot be read: {e}")))?;
        if format(&value) > FORMAT_VERSION {
            return Err(service(format!(
                "the catalog's {key} was written by a newer version of Spate"
            )));
        }
        out.push((key, value));
    }
    Ok(out)
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, LambdaError> {
    serde_json::to_vec(value).map_err(|e| service(e.to_string()))
}

impl Registry {
    pub fn load(catalog: Arc<dyn Catalog>) -> Result<Registry, LambdaError> {
        let functions = load::<FunctionRecord>(&*catalog, FUNCTIONS, |f| f.format)?
            .into_iter()
            .map(|(_, f)| (f.name.clone(), Arc::new(f)))
            .collect();
        let mappings = load::<MappingRecord>(&*catalog, MAPPINGS, |m| m.format)?
            .into_iter()
            .map(|(k, m)| (k, Arc::new(m)))
            .collect();
        Ok(Registry {
            catalog,
            functions: RwLock::new(functions),
            mappings: RwLock::new(mappings),
            control: tokio::sync::Mutex::new(()),
            changes: watch::channel(0).0,
        })
    }

    pub fn function(&self, name: &FunctionName) -> Option<Arc<FunctionRecord>> {
        let functions = self.functions.read().unwrap_or_else(|e| e.into_inner());
        functions.get(name).cloned()
    }

    pub fn functions(&self) -> Vec<Arc<FunctionRecord>> {
        let functions = self.functions.read().unwrap_or_else(|e| e.into_inner());
        functions.values().cloned().collect()
    }

    /// Makes a function declared in the configuration visible, without persisting it.
    pub fn declare(&self, record: FunctionRecord) {
        let mut functions = self.functions.write().unwrap_or_else(|e| e.into_inner());
        functions.insert(record.name.clone(), Arc::new(record));
    }

    pub async fn save_function(&self, record: FunctionRecord) -> Result<(), LambdaError> {
        if !record.declared {
            let bytes = to_json(&record)?;
            let key = record.name.as_str().to_string();
            self.write(move |c| c.put_document(FUNCTIONS, &key, &bytes))
                .await?;
        }
        let mut functions = self.functions.write().unwrap_or_else(|e| e.into_inner());
        functions.insert(record.name.clone(), Arc::new(record));
        Ok(())
    }

    pub async fn remove_function(&self, name: &FunctionName) -> Result<(), LambdaError> {
        let key = name.as_str().to_string();
        self.write(move |c| c.delete_document(FUNCTIONS, &key))
            .await?;
        let mut functions = self.functions.write().unwrap_or_else(|e| e.into_inner());
        functions.remove(name);
        Ok(())
    }

    pub fn mapping(&self, uuid: &str) -> Option<Arc<MappingRecord>> {
        let mappings = self.mappings.read().unwrap_or_else(|e| e.into_inner());
        mappings.get(uuid).cloned()
    }

    pub fn mappings(&self) -> Vec<Arc<MappingRecord>> {
        let mappings = self.mappings.read().unwrap_or_else(|e| e.into_inner());
        mappings.values().cloned().collect()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub async fn save_mapping(&self, record: MappingRecord) -> Result<(), LambdaError> {
        let bytes = to_json(&record)?;
        let key = record.uuid.clone();
        self.write(move |c| c.put_document(MAPPINGS, &key, &bytes))
            .await?;
        {
            let mut mappings = self.mappings.write().unwrap_or_else(|e| e.into_inner());
            mappings.insert(record.uuid.clone(), Arc::new(record));
        }
        self.changes.send_modify(|v| *v += 1);
        Ok(())
    }

    /// Forgets a mapping and its progress.
    pub async fn remove_mapping(&self, uuid: &str) -> Result<(), LambdaError> {
        let key = uuid.to_string();
        self.write(move |c| {
            c.delete_document(PROGRESS, &key)?;
            c.delete_document(MAPPINGS, &key)
        })
        .await?;
        {
            let mut mappings = self.mappings.write().unwrap_or_else(|e| e.into_inner());
            mappings.remove(uuid);
        }
        self.changes.send_modify(|v| *v += 1);
        Ok(())
    }

    pub fn progress(&self, uuid: &str) -> Result<Option<MappingProgress>, LambdaError> {
        let docs = self.catalog.documents(PROGRESS).map_err(catalog_error)?;
        match docs.into_iter().find(|(k, _)| k == uuid) {
            None => Ok(None),
            Some((key, bytes)) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| service(format!("the catalog's {key} cannot be read: {e}"))),
        }
    }

    /// Durably records how far a mapping got.
    pub async fn save_progress(
        &self,
        uuid: &str,
        progress: &MappingProgress,
    ) -> Result<(), LambdaError> {
        let bytes = to_json(progress)?;
        let key = uuid.to_string();
        self.write(move |c| c.put_document(PROGRESS, &key, &bytes))
            .await
    }

    async fn write<F>(&self, f: F) -> Result<(), LambdaError>
    where
        F: FnOnce(&dyn Catalog) -> Result<(), CatalogError> + Send + 'static,
    {
        let catalog = self.catalog.clone();
        tokio::task::spawn_blocking(move || f(&*catalog))
            .await
            .map_err(|e| service(e.to_string()))?
            .map_err(catalog_error)
    }
}

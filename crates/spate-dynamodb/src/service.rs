//! The tables and their items: held in memory, every change written through to the catalog
//! (one redb transaction, synced) before it is acknowledged. One lock orders all writes, so a
//! condition is checked and the write applied atomically, as DynamoDB's conditional writes are.

use crate::tables::{TableDef, TABLE_FORMAT_VERSION};
use crate::value::Item;
use spate_catalog::{Catalog, DocumentKind};
use spate_wire::{ApiError, ErrorKind};
use std::collections::BTreeMap;
use std::sync::Arc;

const TABLES: DocumentKind = DocumentKind("dynamodb:tables");
const ITEMS: DocumentKind = DocumentKind("dynamodb:items");
/// Separates the table name from the key in an item's document key (table names cannot hold it).
const KEY_SEPARATOR: char = '\u{1}';

#[derive(Debug, Clone)]
pub struct DynamoDbConfig {
    pub region: String,
    pub account_id: String,
}

pub struct Table {
    pub def: TableDef,
    /// Items by their key (see [`TableDef::key_of`]).
    pub items: BTreeMap<String, Item>,
}

pub struct DynamoDb {
    pub config: DynamoDbConfig,
    catalog: Arc<dyn Catalog>,
    pub(crate) tables: tokio::sync::Mutex<BTreeMap<String, Table>>,
}

fn storage(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorKind::InternalFailure, format!("DynamoDB storage: {e}"))
}

impl DynamoDb {
    /// Loads every table and item the catalog holds.
    pub fn open(
        config: DynamoDbConfig,
        catalog: Arc<dyn Catalog>,
    ) -> Result<Arc<DynamoDb>, String> {
        let mut tables = BTreeMap::new();
        for (name, bytes) in catalog.documents(TABLES).map_err(|e| e.to_string())? {
            let def: TableDef = serde_json::from_slice(&bytes)
                .map_err(|e| format!("DynamoDB table {name}: {e}"))?;
            if def.format_version > TABLE_FORMAT_VERSION {
                return Err(format!(
                    "DynamoDB table {name} was written by a newer Spate (format {})",
                    def.format_version
                ));
            }
            tables.insert(
                name,
                Table {
                    def,
                    items: BTreeMap::new(),
                },
            );
        }
        for (key, bytes) in catalog.documents(ITEMS).map_err(|e| e.to_string())? {
            let Some((table, item_key)) = key.split_once(KEY_SEPARATOR) else {
                continue;
            };
            let item: Item =
                serde_json::from_slice(&bytes).map_err(|e| format!("DynamoDB item {key}: {e}"))?;
            if let Some(t) = tables.get_mut(table) {
                t.items.insert(item_key.to_string(), item);
            }
        }
        Ok(Arc::new(DynamoDb {
            config,
            catalog,
            tables: tokio::sync::Mutex::new(tables),
        }))
    }

    pub(crate) async fn save_table(&self, def: &TableDef) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(def).map_err(storage)?;
        let (catalog, name) = (self.catalog.clone(), def.name.clone());
        blocking(move || catalog.put_document(TABLES, &name, &bytes)).await
    }

    /// Removes a table and all its items, items first (a crash in between leaves a table
    /// whose remaining items are removed by the next DeleteTable, never orphaned items).
    pub(crate) async fn drop_table(&self, table: &Table) -> Result<(), ApiError> {
        let catalog = self.catalog.clone();
        let name = table.def.name.clone();
        let keys: Vec<String> = table
            .items
            .keys()
            .map(|k| format!("{name}{KEY_SEPARATOR}{k}"))
            .collect();
        blocking(move || {
            for key in &keys {
                catalog.delete_document(ITEMS, key)?;
            }
            catalog.delete_document(TABLES, &name)
        })
        .await
    }

    /// Writes (`Some`) or removes (`None`) one item durably.
    pub(crate) async fn save_item(
        &self,
        table: &str,
        key: &str,
        item: Option<&Item>,
    ) -> Result<(), ApiError> {
        let catalog = self.catalog.clone();
        let doc_key = format!("{table}{KEY_SEPARATOR}{key}");
        let bytes = item.map(serde_json::to_vec).transpose().map_err(storage)?;
        blocking(move || match bytes {
            Some(bytes) => catalog.put_document(ITEMS, &doc_key, &bytes),
            None => catalog.delete_document(ITEMS, &doc_key),
        })
        .await
    }
}

impl DynamoDb {
    /// Writes or removes several items in one catalog transaction.
    pub(crate) async fn save_items(
        &self,
        writes: &[(String, String, Option<Item>)],
    ) -> Result<(), ApiError> {
        let mut changes = Vec::with_capacity(writes.len());
        for (table, key, item) in writes {
            let bytes = item
                .as_ref()
                .map(serde_json::to_vec)
                .transpose()
                .map_err(storage)?;
            changes.push((format!("{table}{KEY_SEPARATOR}{key}"), bytes));
        }
        let catalog = self.catalog.clone();
        blocking(move || catalog.write_documents(ITEMS, &changes)).await
    }
}

async fn blocking(
    work: impl FnOnce() -> Result<(), spate_catalog::CatalogError> + Send + 'static,
) -> Result<(), ApiError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(spate_catalog::CatalogError::ReadOnly)) => Err(ApiError::new(
            ErrorKind::InternalFailure,
            "the data directory is read-only: DynamoDB writes are refused",
        )),
        Ok(Err(e)) => Err(storage(e)),
        Err(e) => Err(storage(e)),
    }
}

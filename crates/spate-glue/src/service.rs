//! The Data Catalog: databases, their tables and every table's versions, held in memory and
//! written through to Spate's catalog (one transaction, synced) before a change is
//! acknowledged. One lock orders all changes, so "does it exist?" and the write are atomic, as
//! Glue's AlreadyExists/EntityNotFound answers need.
//!
//! Stored as documents of one kind, so a change that touches several (DeleteDatabase removes
//! its tables' versions too) is one catalog transaction:
//! `database␁<db>` → [`DatabaseDoc`], `table␁<db>␁<table>␁<version, 20 digits>` →
//! [`TableVersionDoc`] (␁ is U+0001, which Glue names cannot hold).

use crate::model::{
    check_database_input, check_table_input, fold, Column, DatabaseDoc, TableLookupError,
    TableVersionDoc, FORMAT_VERSION,
};
use spate_catalog::{Catalog, CatalogError, DocumentKind};
use spate_wire::{ApiError, ErrorKind};
use std::collections::BTreeMap;
use std::sync::Arc;

const DOCUMENTS: DocumentKind = DocumentKind("glue:catalog");
const SEPARATOR: char = '\u{1}';
const DATABASE_PREFIX: &str = "database";
const TABLE_PREFIX: &str = "table";

#[derive(Debug, Clone)]
pub struct GlueConfig {
    pub region: String,
    /// The account whose catalog Spate serves: the default `CatalogId`.
    pub account_id: String,
}

/// One stored version and the columns read from it when it was checked.
#[derive(Debug, Clone)]
pub struct Version {
    pub doc: TableVersionDoc,
    pub columns: Vec<Column>,
}

/// A table: its newest version (what GetTable shows) and the versions before it.
#[derive(Debug, Clone)]
pub struct Table {
    pub current: Version,
    pub archive: BTreeMap<u64, Version>,
}

impl Table {
    /// `VersionId` `id`, if the table has it.
    pub fn version(&self, id: u64) -> Option<&Version> {
        if self.current.doc.version == id {
            Some(&self.current)
        } else {
            self.archive.get(&id)
        }
    }

    /// Every version, newest first.
    pub fn versions(&self) -> impl Iterator<Item = &Version> {
        std::iter::once(&self.current).chain(self.archive.values().rev())
    }
}

pub struct Database {
    pub doc: DatabaseDoc,
    pub tables: BTreeMap<String, Table>,
}

/// Databases by (lower-cased) name.
#[derive(Default)]
pub struct State {
    pub databases: BTreeMap<String, Database>,
}

pub struct Glue {
    pub config: GlueConfig,
    catalog: Arc<dyn Catalog>,
    pub(crate) state: tokio::sync::Mutex<State>,
}

fn storage(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(ErrorKind::InternalFailure, format!("Glue storage: {e}"))
}

pub fn database_key(database: &str) -> String {
    format!("{DATABASE_PREFIX}{SEPARATOR}{database}")
}

/// Zero-padded so a table's versions sort by number in the catalog too.
pub fn version_key(database: &str, table: &str, version: u64) -> String {
    format!("{TABLE_PREFIX}{SEPARATOR}{database}{SEPARATOR}{table}{SEPARATOR}{version:020}")
}

/// A change to the catalog: a document written (`Some`) or removed (`None`).
pub type Change = (String, Option<Vec<u8>>);

/// The change that writes `doc` under `key`.
pub fn put<T: serde::Serialize>(key: String, doc: &T) -> Result<Change, ApiError> {
    Ok((key, Some(serde_json::to_vec(doc).map_err(storage)?)))
}

impl Glue {
    /// Loads every database and table version the catalog holds. Refuses a document written
    /// by a newer Spate, one that does not parse, and a table whose database is missing (each
    /// change is one transaction, so that is damage, not a crash).
    pub fn open(config: GlueConfig, catalog: Arc<dyn Catalog>) -> Result<Arc<Glue>, String> {
        let mut databases = BTreeMap::new();
        let mut versions = Vec::new();
        for (key, bytes) in catalog.documents(DOCUMENTS).map_err(|e| e.to_string())? {
            let what = key.replace(SEPARATOR, "/");
            if key.starts_with(&format!("{DATABASE_PREFIX}{SEPARATOR}")) {
                let doc: DatabaseDoc = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("Glue document {what}: {e}"))?;
                newer(doc.format_version, &what)?;
                check_database_input(&doc.input).map_err(|e| format!("Glue {what}: {e}"))?;
                let tables = BTreeMap::new();
                databases.insert(doc.name.clone(), Database { doc, tables });
            } else {
                let doc: TableVersionDoc = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("Glue document {what}: {e}"))?;
                newer(doc.format_version, &what)?;
                let columns = check_table_input(&doc.input).map_err(|e| format!("{what}: {e}"))?;
                versions.push(Version { doc, columns });
            }
        }
        // Ascending versions: each one found replaces the current and archives the one before.
        versions.sort_by_key(|v| v.doc.version);
        for version in versions {
            let doc = &version.doc;
            let Some(db) = databases.get_mut(&doc.database) else {
                return Err(format!(
                    "Glue table {}/{} has no database in the catalog",
                    doc.database, doc.name
                ));
            };
            match db.tables.get_mut(&doc.name) {
                Some(table) => {
                    let older = std::mem::replace(&mut table.current, version);
                    table.archive.insert(older.doc.version, older);
                }
                None => {
                    let table = Table {
                        current: version,
                        archive: BTreeMap::new(),
                    };
                    db.tables.insert(table.current.doc.name.clone(), table);
                }
            }
        }
        Ok(Arc::new(Glue {
            config,
            catalog,
            state: tokio::sync::Mutex::new(State { databases }),
        }))
    }

    /// Applies `changes` in one catalog transaction, synced, off the async worker threads.
    pub(crate) async fn write(&self, changes: Vec<Change>) -> Result<(), ApiError> {
        let catalog = self.catalog.clone();
        match tokio::task::spawn_blocking(move || catalog.write_documents(DOCUMENTS, &changes))
            .await
        {
            Ok(Ok(())) => Ok(()),
            Ok(Err(CatalogError::ReadOnly)) => Err(ApiError::new(
                ErrorKind::InternalFailure,
                "the data directory is read-only: Glue catalog changes are refused",
            )),
            Ok(Err(e)) => Err(storage(e)),
            Err(e) => Err(storage(e)),
        }
    }

    /// Whether `catalog_id` names the catalog Spate serves (absent: it does).
    pub fn serves_catalog(&self, catalog_id: Option<&str>) -> bool {
        catalog_id.is_none_or(|id| id == self.config.account_id)
    }

    /// The columns (`StorageDescriptor.Columns`, in order) of a table version: the newest for
    /// `None` or `"LATEST"` (Firehose's SchemaConfiguration default). Names are matched as
    /// Glue matches them, ignoring case. Spate serves one catalog, its account's: another
    /// `catalog_id` holds no databases, so its answer is DatabaseNotFound.
    pub async fn table_columns(
        &self,
        catalog_id: Option<&str>,
        database: &str,
        table: &str,
        version_id: Option<&str>,
    ) -> Result<Vec<Column>, TableLookupError> {
        let (database, table) = (fold(database), fold(table));
        if !self.serves_catalog(catalog_id) {
            return Err(TableLookupError::DatabaseNotFound(database));
        }
        let state = self.state.lock().await;
        let db = state
            .databases
            .get(&database)
            .ok_or_else(|| TableLookupError::DatabaseNotFound(database.clone()))?;
        let t = db
            .tables
            .get(&table)
            .ok_or_else(|| TableLookupError::TableNotFound(table.clone()))?;
        let version = match version_id {
            None | Some("LATEST") => Some(&t.current),
            Some(id) => id.parse::<u64>().ok().and_then(|n| t.version(n)),
        };
        version
            .map(|v| v.columns.clone())
            .ok_or_else(|| TableLookupError::VersionNotFound(version_id.unwrap_or_default().into()))
    }
}

fn newer(format_version: u32, what: &str) -> Result<(), String> {
    if format_version > FORMAT_VERSION {
        return Err(format!(
            "Glue {what} was written by a newer Spate (format {format_version})"
        ));
    }
    Ok(())
}

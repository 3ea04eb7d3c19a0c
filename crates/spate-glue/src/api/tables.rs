//! CreateTable, GetTable, GetTables, UpdateTable, DeleteTable. A table is kept as the
//! `TableInput` it was given; UpdateTable writes a new version (VersionId "0", "1", …) and keeps
//! the one before for GetTableVersion(s), unless SkipArchive says not to.

use super::common::{
    check_catalog, check_paging, database_not_found, error, invalid, now_ms, page, table_not_found,
    token_key,
};
use super::databases::Empty;
use crate::model::{
    check_name, check_table_input, fold, table_json, with_name, TableVersionDoc, FORMAT_VERSION,
};
use crate::pattern::Pattern;
use crate::service::{put, version_key, Glue, State, Table, Version};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use spate_wire::validate::Validator;
use spate_wire::{ApiError, ErrorKind};
use std::collections::BTreeMap;

/// Glue's quotas: tables per database, versions per table.
pub const TABLES_PER_DATABASE_MAX: usize = 200_000;
pub const VERSIONS_PER_TABLE_MAX: usize = 100_000;

/// CreateTable and UpdateTable. Members Spate does not serve are read to refuse them.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct WriteInput {
    catalog_id: Option<String>,
    database_name: Option<String>,
    name: Option<String>,
    table_input: Option<Map<String, Value>>,
    transaction_id: Option<String>,
    open_table_format_input: Option<Value>,
    update_open_table_format_input: Option<Value>,
    view_update_action: Option<String>,
    /// UpdateTable: replace the newest version instead of keeping it.
    skip_archive: Option<bool>,
    /// UpdateTable: the version the update is based on (optimistic concurrency).
    version_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct NameInput {
    catalog_id: Option<String>,
    database_name: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    catalog_id: Option<String>,
    database_name: Option<String>,
    expression: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Got {
    table: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Listed {
    table_list: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

/// The table a request names, checked and lower-cased: `(database, table)`.
pub(super) fn table_ref(
    glue: &Glue,
    catalog_id: Option<&str>,
    database: Option<&str>,
    (table, member): (Option<&str>, &str),
) -> Result<(String, String), ApiError> {
    check_catalog(glue, catalog_id)?;
    let mut v = Validator::new();
    check_name(&mut v, database, "databaseName");
    check_name(&mut v, table, member);
    v.finish()?;
    Ok((
        fold(database.unwrap_or_default()),
        fold(table.unwrap_or_default()),
    ))
}

/// The table, or Glue's EntityNotFound for its database or itself.
pub(super) fn find<'a>(
    state: &'a State,
    database: &str,
    table: &str,
) -> Result<&'a Table, ApiError> {
    let db = state
        .databases
        .get(database)
        .ok_or_else(|| database_not_found(database))?;
    db.tables.get(table).ok_or_else(|| table_not_found(table))
}

/// The checked `TableInput` of a write, its columns and (lower-cased) database and table.
struct Written {
    database: String,
    name: String,
    input: Map<String, Value>,
    columns: Vec<crate::model::Column>,
}

fn written(glue: &Glue, input: &mut WriteInput) -> Result<Written, ApiError> {
    check_catalog(glue, input.catalog_id.as_deref())?;
    let unserved = [
        (
            "OpenTableFormatInput",
            input.open_table_format_input.is_some(),
        ),
        (
            "UpdateOpenTableFormatInput",
            input.update_open_table_format_input.is_some(),
        ),
        ("TransactionId", input.transaction_id.is_some()),
        ("ViewUpdateAction", input.view_update_action.is_some()),
    ];
    if let Some((member, _)) = unserved.iter().find(|(_, given)| *given) {
        return Err(invalid(format!(
            "Spate serves Hive tables given as TableInput; {member} (Iceberg tables, Lake Formation transactions, multi-dialect views) is not supported"
        )));
    }
    let mut v = Validator::new();
    check_name(&mut v, input.database_name.as_deref(), "databaseName");
    v.required(&input.table_input, "tableInput").finish()?;
    let given = input.table_input.take().unwrap_or_default();
    let columns = check_table_input(&given)?;
    let name = fold(
        given
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    if input.name.as_deref().is_some_and(|n| fold(n) != name) {
        return Err(invalid("Name and TableInput.Name name different tables."));
    }
    Ok(Written {
        database: fold(input.database_name.as_deref().unwrap_or_default()),
        input: with_name(given, &name),
        name,
        columns,
    })
}

pub async fn create(glue: &Glue, mut input: WriteInput) -> Result<Empty, ApiError> {
    if input.skip_archive.is_some() || input.version_id.is_some() {
        return Err(invalid("SkipArchive and VersionId belong to UpdateTable."));
    }
    let w = written(glue, &mut input)?;
    let mut state = glue.state.lock().await;
    let db = state
        .databases
        .get_mut(&w.database)
        .ok_or_else(|| database_not_found(&w.database))?;
    if db.tables.contains_key(&w.name) {
        return Err(error(ErrorKind::AlreadyExists, "Table already exists."));
    }
    if db.tables.len() >= TABLES_PER_DATABASE_MAX {
        return Err(error(
            ErrorKind::ResourceNumberLimitExceeded,
            format!(
                "Database {} holds {TABLES_PER_DATABASE_MAX} tables, Glue's limit.",
                w.database
            ),
        ));
    }
    let now = now_ms();
    let doc = TableVersionDoc {
        format_version: FORMAT_VERSION,
        database: w.database.clone(),
        name: w.name.clone(),
        version: 0,
        created_ms: now,
        updated_ms: now,
        input: w.input,
    };
    glue.write(vec![put(version_key(&w.database, &w.name, 0), &doc)?])
        .await?;
    let current = Version {
        doc,
        columns: w.columns,
    };
    let archive = BTreeMap::new();
    db.tables.insert(w.name, Table { current, archive });
    Ok(Empty {})
}

pub async fn update(glue: &Glue, mut input: WriteInput) -> Result<Empty, ApiError> {
    let w = written(glue, &mut input)?;
    let mut state = glue.state.lock().await;
    let db = state
        .databases
        .get_mut(&w.database)
        .ok_or_else(|| database_not_found(&w.database))?;
    let table = db
        .tables
        .get_mut(&w.name)
        .ok_or_else(|| table_not_found(&w.name))?;
    let current = &table.current.doc;
    if let Some(expected) = input.version_id.as_deref() {
        if expected != current.version.to_string() {
            return Err(error(
                ErrorKind::ConcurrentModification,
                format!(
                    "Table {} is at version {}, not {expected}: it was updated concurrently.",
                    w.name, current.version
                ),
            ));
        }
    }
    let skip_archive = input.skip_archive.unwrap_or(false);
    if !skip_archive && table.archive.len() + 1 >= VERSIONS_PER_TABLE_MAX {
        return Err(error(
            ErrorKind::ResourceNumberLimitExceeded,
            format!("Table {} has {VERSIONS_PER_TABLE_MAX} versions, Glue's limit: delete old versions or update with SkipArchive.", w.name),
        ));
    }
    let doc = TableVersionDoc {
        format_version: FORMAT_VERSION,
        version: current.version + 1,
        updated_ms: now_ms(),
        input: w.input,
        ..current.clone()
    };
    let mut changes = vec![put(version_key(&w.database, &w.name, doc.version), &doc)?];
    if skip_archive {
        changes.push((version_key(&w.database, &w.name, current.version), None));
    }
    glue.write(changes).await?;
    let version = Version {
        doc,
        columns: w.columns,
    };
    let older = std::mem::replace(&mut table.current, version);
    if !skip_archive {
        table.archive.insert(older.doc.version, older);
    }
    Ok(Empty {})
}

pub async fn get(glue: &Glue, input: NameInput) -> Result<Got, ApiError> {
    let named = (input.name.as_deref(), "name");
    let (database, name) = table_ref(
        glue,
        input.catalog_id.as_deref(),
        input.database_name.as_deref(),
        named,
    )?;
    let state = glue.state.lock().await;
    let table = find(&state, &database, &name)?;
    Ok(Got {
        table: table_json(&table.current.doc, &glue.config.account_id),
    })
}

/// Removes the table with all its versions, in one catalog transaction.
pub async fn delete(glue: &Glue, input: NameInput) -> Result<Empty, ApiError> {
    let named = (input.name.as_deref(), "name");
    let (database, name) = table_ref(
        glue,
        input.catalog_id.as_deref(),
        input.database_name.as_deref(),
        named,
    )?;
    let mut state = glue.state.lock().await;
    let table = find(&state, &database, &name)?;
    let changes = table
        .versions()
        .map(|v| (version_key(&database, &name, v.doc.version), None))
        .collect();
    glue.write(changes).await?;
    if let Some(db) = state.databases.get_mut(&database) {
        db.tables.remove(&name);
    }
    Ok(Empty {})
}

pub async fn list(glue: &Glue, input: ListInput) -> Result<Listed, ApiError> {
    check_catalog(glue, input.catalog_id.as_deref())?;
    let mut v = Validator::new();
    check_name(&mut v, input.database_name.as_deref(), "databaseName");
    let limit = check_paging(&mut v, input.max_results);
    v.length(input.expression.as_deref(), "expression", 0, 2048)
        .finish()?;
    let pattern = match input.expression.as_deref().filter(|e| !e.is_empty()) {
        Some(e) => Some(Pattern::parse(e).map_err(invalid)?),
        None => None,
    };
    let after = token_key(input.next_token.as_deref())?;
    let database = fold(input.database_name.as_deref().unwrap_or_default());
    let state = glue.state.lock().await;
    let db = state
        .databases
        .get(&database)
        .ok_or_else(|| database_not_found(&database))?;
    let account = &glue.config.account_id;
    let entries = db
        .tables
        .iter()
        .filter(|(name, _)| after.as_ref().is_none_or(|a| *name > a))
        .filter(|(name, _)| pattern.as_ref().is_none_or(|p| p.matches(name)))
        .map(|(name, t)| (name.clone(), table_json(&t.current.doc, account)));
    let (table_list, next_token) = page(entries, limit);
    Ok(Listed {
        table_list,
        next_token,
    })
}

//! CreateDatabase, GetDatabase, GetDatabases, DeleteDatabase.

use super::common::{
    check_catalog, check_paging, database_not_found, error, invalid, now_ms, page, token_key,
};
use crate::model::{
    check_database_input, check_name, database_json, fold, with_name, DatabaseDoc, FORMAT_VERSION,
};
use crate::service::{database_key, put, version_key, Change, Database, Glue};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use spate_wire::validate::Validator;
use spate_wire::{ApiError, ErrorKind};
use std::collections::BTreeMap;

/// Glue's quota on databases per account.
pub const DATABASES_MAX: usize = 10_000;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    catalog_id: Option<String>,
    database_input: Option<Map<String, Value>>,
    /// Accepted and not kept: Spate serves no Glue tagging operations.
    #[allow(dead_code)]
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct NameInput {
    catalog_id: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    catalog_id: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
    resource_share_type: Option<String>,
    attributes_to_get: Option<Vec<String>>,
}

/// The operations without output answer an empty body, as Glue does.
#[derive(Serialize)]
pub struct Empty {}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Got {
    database: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Listed {
    database_list: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

pub async fn create(glue: &Glue, input: CreateInput) -> Result<Empty, ApiError> {
    check_catalog(glue, input.catalog_id.as_deref())?;
    Validator::new()
        .required(&input.database_input, "databaseInput")
        .finish()?;
    let given = input.database_input.unwrap_or_default();
    check_database_input(&given)?;
    for link in ["TargetDatabase", "FederatedDatabase"] {
        if given.get(link).is_some_and(|v| !v.is_null()) {
            return Err(invalid(format!(
                "Spate serves no resource links or federated databases ({link})"
            )));
        }
    }
    let name = fold(
        given
            .get("Name")
            .and_then(Value::as_str)
            .unwrap_or_default(),
    );
    let mut state = glue.state.lock().await;
    if state.databases.contains_key(&name) {
        return Err(error(ErrorKind::AlreadyExists, "Database already exists."));
    }
    if state.databases.len() >= DATABASES_MAX {
        return Err(error(
            ErrorKind::ResourceNumberLimitExceeded,
            format!("The catalog holds {DATABASES_MAX} databases, Glue's limit."),
        ));
    }
    let doc = DatabaseDoc {
        format_version: FORMAT_VERSION,
        input: with_name(given, &name),
        name: name.clone(),
        created_ms: now_ms(),
    };
    glue.write(vec![put(database_key(&name), &doc)?]).await?;
    let tables = BTreeMap::new();
    state.databases.insert(name, Database { doc, tables });
    Ok(Empty {})
}

/// The (lower-cased) database a request names.
fn named(glue: &Glue, input: NameInput) -> Result<String, ApiError> {
    check_catalog(glue, input.catalog_id.as_deref())?;
    let mut v = Validator::new();
    check_name(&mut v, input.name.as_deref(), "name");
    v.finish()?;
    Ok(fold(&input.name.unwrap_or_default()))
}

pub async fn get(glue: &Glue, input: NameInput) -> Result<Got, ApiError> {
    let name = named(glue, input)?;
    let state = glue.state.lock().await;
    let db = state
        .databases
        .get(&name)
        .ok_or_else(|| database_not_found(&name))?;
    Ok(Got {
        database: database_json(&db.doc, &glue.config.account_id),
    })
}

/// Removes the database and every version of every table in it, in one catalog transaction
/// (Glue deletes a database's tables with it).
pub async fn delete(glue: &Glue, input: NameInput) -> Result<Empty, ApiError> {
    let name = named(glue, input)?;
    let mut state = glue.state.lock().await;
    let db = state
        .databases
        .get(&name)
        .ok_or_else(|| database_not_found(&name))?;
    let mut changes: Vec<Change> = vec![(database_key(&name), None)];
    for (table_name, table) in &db.tables {
        for version in table.versions() {
            let key = version_key(&name, table_name, version.doc.version);
            changes.push((key, None));
        }
    }
    glue.write(changes).await?;
    state.databases.remove(&name);
    Ok(Empty {})
}

pub async fn list(glue: &Glue, input: ListInput) -> Result<Listed, ApiError> {
    check_catalog(glue, input.catalog_id.as_deref())?;
    let mut v = Validator::new();
    let limit = check_paging(&mut v, input.max_results);
    let share = input.resource_share_type.as_deref();
    v.one_of(share, "resourceShareType", &["FOREIGN", "ALL", "FEDERATED"]);
    let attributes = input.attributes_to_get.unwrap_or_default();
    for a in &attributes {
        v.one_of(Some(a), "attributesToGet", &["NAME", "TARGET_DATABASE"]);
    }
    v.finish()?;
    if !attributes.is_empty() && !attributes.iter().any(|a| a == "NAME") {
        return Err(invalid("AttributesToGet must include NAME."));
    }
    let after = token_key(input.next_token.as_deref())?;
    // Spate shares no databases with other accounts and federates none: FOREIGN and FEDERATED
    // list nothing, ALL (and the default) the account's own.
    if matches!(share, Some("FOREIGN" | "FEDERATED")) {
        return Ok(Listed {
            database_list: Vec::new(),
            next_token: None,
        });
    }
    let state = glue.state.lock().await;
    let account = &glue.config.account_id;
    let entries = state
        .databases
        .iter()
        .filter(|(name, _)| after.as_ref().is_none_or(|a| *name > a))
        .map(|(name, db)| {
            let mut d = database_json(&db.doc, account);
            if let (Value::Object(m), false) = (&mut d, attributes.is_empty()) {
                m.retain(|k, _| k == "Name" || k == "TargetDatabase");
            }
            (name.clone(), d)
        });
    let (database_list, next_token) = page(entries, limit);
    Ok(Listed {
        database_list,
        next_token,
    })
}

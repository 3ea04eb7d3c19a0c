//! GetTableVersion, GetTableVersions: the versions UpdateTable kept, newest first.

use super::common::{check_paging, error, page, token_key};
use super::tables::{find, table_ref};
use crate::model::table_json;
use crate::service::Glue;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use spate_wire::validate::Validator;
use spate_wire::{ApiError, ErrorKind};

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct GetInput {
    catalog_id: Option<String>,
    database_name: Option<String>,
    table_name: Option<String>,
    version_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    catalog_id: Option<String>,
    database_name: Option<String>,
    table_name: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Got {
    table_version: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Listed {
    table_versions: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

fn version_not_found(id: &str) -> ApiError {
    error(
        ErrorKind::EntityNotFound,
        format!("Version {id} not found."),
    )
}

/// A `TableVersion`: the table as it was, and its VersionId beside it.
fn table_version(doc: &crate::model::TableVersionDoc, account: &str) -> Value {
    json!({
        "Table": table_json(doc, account),
        "VersionId": doc.version.to_string(),
    })
}

/// The version named by VersionId; the newest when it is absent (as Glue answers).
pub async fn get(glue: &Glue, input: GetInput) -> Result<Got, ApiError> {
    let named = (input.table_name.as_deref(), "tableName");
    let (database, name) = table_ref(
        glue,
        input.catalog_id.as_deref(),
        input.database_name.as_deref(),
        named,
    )?;
    let id = input.version_id.as_deref();
    let mut v = Validator::new();
    v.length(id, "versionId", 1, 255).finish()?;
    let state = glue.state.lock().await;
    let table = find(&state, &database, &name)?;
    let version = match id {
        None => Some(&table.current),
        Some(id) => match id.parse::<u64>() {
            Ok(n) => table.version(n),
            // Glue's VersionIds are numbers; moto answers InvalidInput for one that is not.
            Err(_) => {
                return Err(super::common::invalid(format!(
                    "VersionId {id} is not a number."
                )))
            }
        },
    };
    let version = version.ok_or_else(|| version_not_found(id.unwrap_or_default()))?;
    Ok(Got {
        table_version: table_version(&version.doc, &glue.config.account_id),
    })
}

pub async fn list(glue: &Glue, input: ListInput) -> Result<Listed, ApiError> {
    let named = (input.table_name.as_deref(), "tableName");
    let (database, name) = table_ref(
        glue,
        input.catalog_id.as_deref(),
        input.database_name.as_deref(),
        named,
    )?;
    let mut v = Validator::new();
    let limit = check_paging(&mut v, input.max_results);
    v.finish()?;
    // Newest first; the token is the last VersionId given, and the next page starts below it.
    let before = token_key(input.next_token.as_deref())?
        .map(|k| {
            k.parse::<u64>().map_err(|_| {
                super::common::invalid("Invalid NextToken: it was not given by this operation.")
            })
        })
        .transpose()?;
    let state = glue.state.lock().await;
    let table = find(&state, &database, &name)?;
    let account = &glue.config.account_id;
    let entries = table
        .versions()
        .filter(|v| before.is_none_or(|b| v.doc.version < b))
        .map(|v| (v.doc.version.to_string(), table_version(&v.doc, account)));
    let (table_versions, next_token) = page(entries, limit);
    Ok(Listed {
        table_versions,
        next_token,
    })
}

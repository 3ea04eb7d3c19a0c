//! UpdateItem: an UpdateExpression (or the legacy AttributeUpdates) applied under a condition;
//! an item that does not exist is created from its key, as DynamoDB does.

use super::items::{check_item, table};
use super::request::{Expressions, Prepared};
use crate::expr::{apply, touched};
use crate::service::DynamoDb;
use crate::tables::{invalid, TableDef};
use crate::value::Item;
use serde::{Deserialize, Serialize};
use spate_wire::ApiError;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateInput {
    table_name: Option<String>,
    key: Option<Item>,
    #[serde(flatten)]
    expressions: Expressions,
    return_values: Option<String>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Updated {
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<Item>,
}

/// What UpdateItem answers with, by ReturnValues.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Returned {
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

fn returned(text: Option<&str>) -> Result<Returned, ApiError> {
    Ok(match text {
        None | Some("NONE") => Returned::None,
        Some("ALL_OLD") => Returned::AllOld,
        Some("UPDATED_OLD") => Returned::UpdatedOld,
        Some("ALL_NEW") => Returned::AllNew,
        Some("UPDATED_NEW") => Returned::UpdatedNew,
        Some(other) => {
            return Err(invalid(format!(
                "1 validation error detected: Value '{other}' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
            )))
        }
    })
}

/// The item after the update; refuses changes to key attributes.
pub(super) fn updated(
    def: &TableDef,
    prepared: &Prepared,
    base: &Item,
) -> Result<(Item, Vec<String>), ApiError> {
    let Some(update) = &prepared.update else {
        return Ok((base.clone(), Vec::new()));
    };
    let ctx = prepared.context("UpdateExpression");
    let names = touched(&ctx, update).map_err(|e| invalid(e.0))?;
    let keys = def.key_attributes();
    if let Some(key) = names.iter().find(|n| keys.iter().any(|(k, _)| k == n)) {
        return Err(invalid(format!(
            "One or more parameter values were invalid: Cannot update attribute {key}. This attribute is part of the key"
        )));
    }
    let item = apply(&ctx, update, base).map_err(|e| invalid(e.0))?;
    Ok((item, names))
}

fn only(item: &Item, names: &[String]) -> Item {
    item.iter()
        .filter(|(k, _)| names.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub async fn update(db: &DynamoDb, input: UpdateInput) -> Result<Updated, ApiError> {
    let key = input.key.ok_or_else(|| {
        invalid("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null")
    })?;
    let wanted = returned(input.return_values.as_deref())?;
    let prepared = input.expressions.prepare()?;
    let mut tables = db.tables.lock().await;
    let table = table(&mut tables, &input.table_name)?;
    let key_text = table.def.key_of(&key, true)?;
    let old = table.items.get(&key_text).cloned();
    prepared.check(old.as_ref())?;
    let base = old.clone().unwrap_or_else(|| key.clone());
    let (new, names) = updated(&table.def, &prepared, &base)?;
    check_item(&new)?;
    db.save_item(&table.def.name, &key_text, Some(&new)).await?;
    table.items.insert(key_text, new.clone());
    let attributes = match wanted {
        Returned::None => None,
        Returned::AllOld => old,
        Returned::AllNew => Some(new),
        Returned::UpdatedOld => old.map(|o| only(&o, &names)).filter(|m| !m.is_empty()),
        Returned::UpdatedNew => Some(only(&new, &names)).filter(|m| !m.is_empty()),
    };
    Ok(Updated { attributes })
}

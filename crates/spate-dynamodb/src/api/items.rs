//! PutItem, GetItem, DeleteItem, with ConditionExpression, ExpressionAttributeNames/Values and
//! ReturnValues, checked in DynamoDB's order and worded as DynamoDB words its errors.

use super::request::Expressions;
use crate::service::{DynamoDb, Table};
use crate::tables::invalid;
use crate::value::{AttributeValue, Item};
use serde::{Deserialize, Serialize};
use spate_wire::{ApiError, ErrorKind};

/// DynamoDB's largest item, in bytes (names and values).
pub const ITEM_MAX_BYTES: usize = 400 * 1024;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct PutInput {
    table_name: Option<String>,
    item: Option<Item>,
    #[serde(flatten)]
    expressions: Expressions,
    return_values: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct KeyInput {
    table_name: Option<String>,
    key: Option<Item>,
    #[serde(flatten)]
    expressions: Expressions,
    return_values: Option<String>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Attributes {
    #[serde(skip_serializing_if = "Option::is_none")]
    attributes: Option<Item>,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Got {
    #[serde(skip_serializing_if = "Option::is_none")]
    item: Option<Item>,
}

pub(super) fn table<'t>(
    tables: &'t mut std::collections::BTreeMap<String, Table>,
    name: &Option<String>,
) -> Result<&'t mut Table, ApiError> {
    let Some(name) = name else {
        return Err(invalid("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"));
    };
    tables
        .get_mut(name)
        .ok_or_else(|| ApiError::new(ErrorKind::ResourceNotFound, "Requested resource not found"))
}

/// NONE or ALL_OLD (the only values PutItem and DeleteItem take).
fn wants_old(return_values: Option<&str>) -> Result<bool, ApiError> {
    match return_values {
        None | Some("NONE") => Ok(false),
        Some("ALL_OLD") => Ok(true),
        Some(other) => Err(invalid(format!(
            "Return values set to invalid value: {other}"
        ))),
    }
}

pub(super) fn check_item(item: &Item) -> Result<(), ApiError> {
    let size: usize = item.iter().map(|(k, v)| k.len() + v.size()).sum();
    if size > ITEM_MAX_BYTES {
        return Err(invalid("Item size has exceeded the maximum allowed size"));
    }
    for (name, value) in item {
        let empty_set = match value {
            AttributeValue::SS(s) if s.is_empty() => Some("string"),
            AttributeValue::NS(s) if s.is_empty() => Some("number"),
            AttributeValue::BS(s) if s.is_empty() => Some("binary"),
            _ => None,
        };
        if let Some(kind) = empty_set {
            // DynamoDB's wording, double space included.
            let _ = name;
            return Err(invalid(format!(
                "One or more parameter values were invalid: An {kind} set  may not be empty"
            )));
        }
        if let AttributeValue::N(n) = value {
            if crate::value::Decimal::parse(n).is_none() {
                return Err(invalid(
                    "A value provided cannot be converted into a number",
                ));
            }
        }
    }
    Ok(())
}

pub async fn put(db: &DynamoDb, input: PutInput) -> Result<Attributes, ApiError> {
    let item = input.item.ok_or_else(|| invalid("1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null"))?;
    let old_wanted = wants_old(input.return_values.as_deref())?;
    let prepared = input.expressions.prepare()?;
    check_item(&item)?;
    let mut tables = db.tables.lock().await;
    let table = table(&mut tables, &input.table_name)?;
    let key = table.def.key_of(&item, false)?;
    prepared.check(table.items.get(&key))?;
    db.save_item(&table.def.name, &key, Some(&item)).await?;
    let old = table.items.insert(key, item);
    Ok(Attributes {
        attributes: old.filter(|_| old_wanted),
    })
}

pub async fn get(db: &DynamoDb, input: KeyInput) -> Result<Got, ApiError> {
    let key = input.key.ok_or_else(|| invalid("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null"))?;
    let prepared = input.expressions.prepare()?;
    let mut tables = db.tables.lock().await;
    let table = table(&mut tables, &input.table_name)?;
    let key = table.def.key_of(&key, true)?;
    let item = match (table.items.get(&key), &prepared.projection) {
        (Some(item), Some(paths)) => {
            let ctx = prepared.context("ProjectionExpression");
            Some(super::read::project(&ctx, item, paths)?)
        }
        (item, None) => item.cloned(),
        (None, _) => None,
    };
    Ok(Got { item })
}

pub async fn delete(db: &DynamoDb, input: KeyInput) -> Result<Attributes, ApiError> {
    let key = input.key.ok_or_else(|| invalid("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null"))?;
    let old_wanted = wants_old(input.return_values.as_deref())?;
    let prepared = input.expressions.prepare()?;
    let mut tables = db.tables.lock().await;
    let table = table(&mut tables, &input.table_name)?;
    let key = table.def.key_of(&key, true)?;
    prepared.check(table.items.get(&key))?;
    if !table.items.contains_key(&key) {
        return Ok(Attributes::default());
    }
    db.save_item(&table.def.name, &key, None).await?;
    let old = table.items.remove(&key);
    Ok(Attributes {
        attributes: old.filter(|_| old_wanted),
    })
}

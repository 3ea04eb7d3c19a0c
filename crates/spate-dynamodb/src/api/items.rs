//! PutItem, GetItem, DeleteItem, with ConditionExpression, ExpressionAttributeNames/Values and
//! ReturnValues, checked in DynamoDB's order and worded as DynamoDB words its errors.

use crate::expr::{parse_condition, Condition, Context};
use crate::service::{DynamoDb, Table};
use crate::tables::invalid;
use crate::value::{AttributeValue, Item};
use serde::{Deserialize, Serialize};
use spate_wire::{ApiError, ErrorKind};
use std::collections::HashMap;

/// DynamoDB's largest item, in bytes (names and values).
pub const ITEM_MAX_BYTES: usize = 400 * 1024;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct PutInput {
    table_name: Option<String>,
    item: Option<Item>,
    #[serde(flatten)]
    condition: ConditionInput,
    return_values: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct KeyInput {
    table_name: Option<String>,
    key: Option<Item>,
    #[serde(flatten)]
    condition: ConditionInput,
    return_values: Option<String>,
}

/// The expression members every conditional write carries.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ConditionInput {
    condition_expression: Option<String>,
    expression_attribute_names: Option<HashMap<String, String>>,
    expression_attribute_values: Option<HashMap<String, AttributeValue>>,
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

fn table<'t>(
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

/// The parsed condition, with every placeholder defined and every definition used.
struct Prepared {
    condition: Option<Condition>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl ConditionInput {
    fn prepare(self) -> Result<Prepared, ApiError> {
        let names = self.expression_attribute_names.unwrap_or_default();
        let values = self.expression_attribute_values.unwrap_or_default();
        let Some(text) = self.condition_expression else {
            if !names.is_empty() || !values.is_empty() {
                let which = if names.is_empty() {
                    "ExpressionAttributeValues"
                } else {
                    "ExpressionAttributeNames"
                };
                return Err(invalid(format!(
                    "{which} can only be specified when using expressions"
                )));
            }
            return Ok(Prepared {
                condition: None,
                names,
                values,
            });
        };
        if text.trim().is_empty() {
            return Err(invalid(
                "Invalid ConditionExpression: The expression can not be empty;",
            ));
        }
        let condition = parse_condition(&text)
            .map_err(|e| invalid(format!("Invalid ConditionExpression: {e}")))?;
        let (mut used_names, mut used_values) = (Vec::new(), Vec::new());
        condition.placeholders(&mut used_names, &mut used_values);
        if let Some(missing) = used_values.iter().find(|v| !values.contains_key(*v)) {
            return Err(invalid(format!("Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: {missing}")));
        }
        if let Some(missing) = used_names.iter().find(|n| !names.contains_key(*n)) {
            return Err(invalid(format!("Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: {missing}")));
        }
        unused("ExpressionAttributeNames", names.keys(), &used_names)?;
        unused("ExpressionAttributeValues", values.keys(), &used_values)?;
        Ok(Prepared {
            condition: Some(condition),
            names,
            values,
        })
    }
}

fn unused<'a>(
    what: &str,
    defined: impl Iterator<Item = &'a String>,
    used: &[String],
) -> Result<(), ApiError> {
    let mut spare: Vec<&String> = defined.filter(|d| !used.contains(d)).collect();
    if spare.is_empty() {
        return Ok(());
    }
    spare.sort();
    let keys: Vec<&str> = spare.iter().map(|s| s.as_str()).collect();
    Err(invalid(format!(
        "Value provided in {what} unused in expressions: keys: {{{}}}",
        keys.join(", ")
    )))
}

impl Prepared {
    /// ConditionalCheckFailedException unless the condition holds for `current`.
    fn check(&self, current: Option<&Item>) -> Result<(), ApiError> {
        let Some(condition) = &self.condition else {
            return Ok(());
        };
        let context = Context {
            names: &self.names,
            values: &self.values,
            expression: "ConditionExpression",
        };
        match context.holds(condition, current) {
            Ok(true) => Ok(()),
            Ok(false) => Err(ApiError::new(
                ErrorKind::ConditionalCheckFailed,
                "The conditional request failed",
            )),
            Err(e) => Err(invalid(e.0)),
        }
    }
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

fn check_item(item: &Item) -> Result<(), ApiError> {
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
    let prepared = input.condition.prepare()?;
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
    let mut tables = db.tables.lock().await;
    let table = table(&mut tables, &input.table_name)?;
    let key = table.def.key_of(&key, true)?;
    Ok(Got {
        item: table.items.get(&key).cloned(),
    })
}

pub async fn delete(db: &DynamoDb, input: KeyInput) -> Result<Attributes, ApiError> {
    let key = input.key.ok_or_else(|| invalid("1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null"))?;
    let old_wanted = wants_old(input.return_values.as_deref())?;
    let prepared = input.condition.prepare()?;
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

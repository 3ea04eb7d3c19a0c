//! UpdateTimeToLive / DescribeTimeToLive, and the sweep that removes expired items: an item
//! whose TTL attribute is a number of epoch seconds in the past is deleted (items with a value
//! more than five years in the past are left alone, as DynamoDB leaves them).

use crate::service::DynamoDb;
use crate::tables::invalid;
use crate::value::{AttributeValue, Decimal};
use serde::{Deserialize, Serialize};
use spate_wire::{ApiError, ErrorKind};

/// DynamoDB ignores TTL values older than this, in seconds.
const TTL_MAX_AGE_SECS: i64 = 5 * 365 * 24 * 3600;

#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct Specification {
    enabled: Option<bool>,
    attribute_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateInput {
    table_name: Option<String>,
    time_to_live_specification: Option<Specification>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    table_name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Updated {
    time_to_live_specification: Specification,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Described {
    time_to_live_description: serde_json::Value,
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ResourceNotFound,
        format!("Requested resource not found: Table: {name} not found"),
    )
}

pub async fn update(db: &DynamoDb, input: UpdateInput) -> Result<Updated, ApiError> {
    let name = input.table_name.ok_or_else(|| invalid("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"))?;
    let spec = input.time_to_live_specification.ok_or_else(|| invalid("1 validation error detected: Value null at 'timeToLiveSpecification' failed to satisfy constraint: Member must not be null"))?;
    let (Some(enabled), Some(attribute)) = (spec.enabled, spec.attribute_name.clone()) else {
        return Err(invalid(
            "TimeToLiveSpecification needs Enabled and AttributeName",
        ));
    };
    let mut tables = db.tables.lock().await;
    let table = tables.get_mut(&name).ok_or_else(|| not_found(&name))?;
    let mut def = table.def.clone();
    match (enabled, &def.ttl_attribute) {
        (true, Some(_)) => return Err(invalid("TimeToLive is already enabled")),
        (false, None) => return Err(invalid("TimeToLive is already disabled")),
        (false, Some(current)) if *current != attribute => {
            return Err(invalid(format!(
            "TimeToLive is active on a different AttributeName: current AttributeName is {current}"
        )))
        }
        (true, None) => def.ttl_attribute = Some(attribute),
        (false, Some(_)) => def.ttl_attribute = None,
    }
    db.save_table(&def).await?;
    table.def = def;
    Ok(Updated {
        time_to_live_specification: spec,
    })
}

pub async fn describe(db: &DynamoDb, input: DescribeInput) -> Result<Described, ApiError> {
    let name = input.table_name.ok_or_else(|| invalid("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"))?;
    let tables = db.tables.lock().await;
    let table = tables.get(&name).ok_or_else(|| not_found(&name))?;
    let description = match &table.def.ttl_attribute {
        Some(attribute) => {
            serde_json::json!({ "TimeToLiveStatus": "ENABLED", "AttributeName": attribute })
        }
        None => serde_json::json!({ "TimeToLiveStatus": "DISABLED" }),
    };
    Ok(Described {
        time_to_live_description: description,
    })
}

/// Whether `value` (a TTL attribute) has expired at `now_secs`.
fn expired(value: &AttributeValue, now_secs: i64) -> bool {
    let AttributeValue::N(n) = value else {
        return false;
    };
    let (Some(at), Some(now), Some(oldest)) = (
        Decimal::parse(n),
        Decimal::parse(&now_secs.to_string()),
        Decimal::parse(&(now_secs - TTL_MAX_AGE_SECS).to_string()),
    ) else {
        return false;
    };
    at < now && at >= oldest
}

impl DynamoDb {
    /// Deletes every expired item of every table with TTL enabled; answers how many.
    pub async fn expire(&self, now_secs: i64) -> Result<usize, ApiError> {
        let mut tables = self.tables.lock().await;
        let mut removed = 0;
        for table in tables.values_mut() {
            let Some(attribute) = table.def.ttl_attribute.clone() else {
                continue;
            };
            let due: Vec<String> = table
                .items
                .iter()
                .filter(|(_, item)| item.get(&attribute).is_some_and(|v| expired(v, now_secs)))
                .map(|(k, _)| k.clone())
                .collect();
            for key in due {
                self.save_item(&table.def.name, &key, None).await?;
                table.items.remove(&key);
                removed += 1;
            }
        }
        Ok(removed)
    }
}

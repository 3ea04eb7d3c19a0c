//! Table definitions: key schema, attribute definitions, throughput, as stored and as
//! DescribeTable shows them.

use crate::value::{AttributeValue, Item};
use serde::{Deserialize, Serialize};
use spate_wire::{ApiError, ErrorKind};

/// Bumped when the stored form changes incompatibly.
pub const TABLE_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeySchemaElement {
    pub attribute_name: String,
    /// `HASH` or `RANGE`.
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttributeDefinition {
    pub attribute_name: String,
    /// `S`, `N` or `B`.
    pub attribute_type: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Throughput {
    pub read_capacity_units: u64,
    pub write_capacity_units: u64,
}

/// A table as the catalog keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableDef {
    pub format_version: u32,
    pub name: String,
    pub id: String,
    pub key_schema: Vec<KeySchemaElement>,
    pub attribute_definitions: Vec<AttributeDefinition>,
    /// `PROVISIONED` or `PAY_PER_REQUEST`.
    pub billing_mode: String,
    pub throughput: Throughput,
    pub created_ms: i64,
    /// Global (and local) secondary indexes: Query reads them.
    #[serde(default)]
    pub indexes: Vec<IndexDef>,
    /// The TTL attribute while TTL is enabled (UpdateTimeToLive).
    #[serde(default)]
    pub ttl_attribute: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Projection {
    /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
    #[serde(default)]
    pub projection_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_key_attributes: Option<Vec<String>>,
}

/// A secondary index as CreateTable/UpdateTable define it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IndexDef {
    pub index_name: String,
    pub key_schema: Vec<KeySchemaElement>,
    #[serde(default)]
    pub projection: Projection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioned_throughput: Option<Throughput>,
}

impl TableDef {
    pub fn arn(&self, region: &str, account: &str) -> String {
        format!("arn:aws:dynamodb:{region}:{account}:table/{}", self.name)
    }

    /// The key attributes, partition key first, with their types.
    pub fn key_attributes(&self) -> Vec<(&str, &str)> {
        self.schema_attributes(&self.key_schema)
    }

    /// The attributes of a key schema (the table's or an index's) with their types.
    pub fn schema_attributes<'a>(
        &'a self,
        schema: &'a [KeySchemaElement],
    ) -> Vec<(&'a str, &'a str)> {
        schema
            .iter()
            .map(|k| {
                let kind = self
                    .attribute_definitions
                    .iter()
                    .find(|d| d.attribute_name == k.attribute_name)
                    .map_or("S", |d| d.attribute_type.as_str());
                (k.attribute_name.as_str(), kind)
            })
            .collect()
    }

    /// The key of `item` as a stable string (the item's identity), checking the key attributes
    /// are there with their declared types. `exact` (GetItem, DeleteItem): nothing but the key.
    pub fn key_of(&self, item: &Item, exact: bool) -> Result<String, ApiError> {
        let keys = self.key_attributes();
        if exact && item.len() != keys.len() {
            return Err(invalid(
                "The provided key element does not match the schema",
            ));
        }
        let mut key = Item::new();
        for (name, kind) in keys {
            let Some(value) = item.get(name) else {
                return Err(match exact {
                    true => invalid("The provided key element does not match the schema"),
                    false => invalid(format!(
                        "One or more parameter values were invalid: Missing the key {name} in the item"
                    )),
                });
            };
            if value.type_name() != kind {
                return Err(invalid(format!(
                    "One or more parameter values were invalid: Type mismatch for key {name} expected: {kind} actual: {}",
                    value.type_name()
                )));
            }
            if matches!(value, AttributeValue::S(s) if s.is_empty())
                || matches!(value, AttributeValue::B(b) if b.is_empty())
            {
                return Err(invalid(format!(
                    "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: {name}"
                )));
            }
            key.insert(name.to_string(), value.clone());
        }
        serde_json::to_string(&key)
            .map_err(|e| ApiError::new(ErrorKind::InternalFailure, e.to_string()))
    }
}

pub fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorKind::Validation, message)
}

/// CreateTable's checks of the key schema and attribute definitions, in DynamoDB's words.
pub fn check_schema(
    key_schema: &[KeySchemaElement],
    definitions: &[AttributeDefinition],
) -> Result<(), ApiError> {
    let kinds: Vec<&str> = key_schema.iter().map(|k| k.key_type.as_str()).collect();
    if !matches!(kinds.as_slice(), ["HASH"] | ["HASH", "RANGE"]) {
        return Err(invalid(
            "1 validation error detected: Value at 'keySchema' failed to satisfy constraint: the first key must be HASH and an optional second RANGE",
        ));
    }
    for d in definitions {
        if !matches!(d.attribute_type.as_str(), "S" | "N" | "B") {
            return Err(invalid(format!(
                "1 validation error detected: Value '{}' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
                d.attribute_type
            )));
        }
    }
    for k in key_schema {
        if !definitions
            .iter()
            .any(|d| d.attribute_name == k.attribute_name)
        {
            return Err(invalid(
                "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: ["
                    .to_string()
                    + &k.attribute_name
                    + "], AttributeDefinitions: ["
                    + &definitions.iter().map(|d| d.attribute_name.as_str()).collect::<Vec<_>>().join(", ")
                    + "]",
            ));
        }
    }
    Ok(())
}

/// Table names: 3 to 255 of `[a-zA-Z0-9_.-]`.
pub fn check_table_name(name: &str) -> Result<(), ApiError> {
    let valid = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        return Ok(());
    }
    Err(invalid(format!(
        "1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Member must have length between 3 and 255"
    )))
}

//! CreateTable, DescribeTable, DeleteTable, ListTables. Tables are ACTIVE as soon as they are
//! created (as DynamoDB Local does), so waiters return at once.

use crate::service::{DynamoDb, Table};
use crate::tables::{
    check_schema, check_table_name, invalid, AttributeDefinition, IndexDef, KeySchemaElement,
    TableDef, Throughput, TABLE_FORMAT_VERSION,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use spate_wire::{ApiError, ErrorKind};
use std::collections::BTreeMap;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    table_name: Option<String>,
    #[serde(default)]
    key_schema: Vec<KeySchemaElement>,
    #[serde(default)]
    attribute_definitions: Vec<AttributeDefinition>,
    billing_mode: Option<String>,
    provisioned_throughput: Option<Throughput>,
    global_secondary_indexes: Option<Vec<IndexDef>>,
    local_secondary_indexes: Option<Vec<IndexDef>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateInput {
    table_name: Option<String>,
    #[serde(default)]
    attribute_definitions: Vec<AttributeDefinition>,
    billing_mode: Option<String>,
    provisioned_throughput: Option<Throughput>,
    #[serde(default)]
    global_secondary_index_updates: Vec<IndexUpdate>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct IndexUpdate {
    create: Option<IndexDef>,
    delete: Option<IndexName>,
    update: Option<IndexName>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct IndexName {
    index_name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct NameInput {
    table_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    exclusive_start_table_name: Option<String>,
    limit: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Described {
    table_description: Value,
}

/// DescribeTable names its member `Table`; the other operations `TableDescription`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribedTable {
    table: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Listed {
    table_names: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_evaluated_table_name: Option<String>,
}

fn not_found(name: &str) -> ApiError {
    ApiError::new(
        ErrorKind::ResourceNotFound,
        format!("Requested resource not found: Table: {name} not found"),
    )
}

fn required(name: Option<String>) -> Result<String, ApiError> {
    let name = name.ok_or_else(|| {
        invalid("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
    })?;
    check_table_name(&name)?;
    Ok(name)
}

/// DescribeTable's TableDescription.
pub(crate) fn description(db: &DynamoDb, table: &Table, status: &str) -> Value {
    let def = &table.def;
    let size: usize = table
        .items
        .values()
        .map(|item| item.iter().map(|(k, v)| k.len() + v.size()).sum::<usize>())
        .sum();
    let mut d = json!({
        "TableName": def.name,
        "TableId": def.id,
        "TableArn": def.arn(&db.config.region, &db.config.account_id),
        "TableStatus": status,
        "KeySchema": def.key_schema,
        "AttributeDefinitions": def.attribute_definitions,
        "CreationDateTime": def.created_ms as f64 / 1000.0,
        "ItemCount": table.items.len(),
        "TableSizeBytes": size,
        "ProvisionedThroughput": {
            "ReadCapacityUnits": def.throughput.read_capacity_units,
            "WriteCapacityUnits": def.throughput.write_capacity_units,
            "NumberOfDecreasesToday": 0,
        },
        "DeletionProtectionEnabled": false,
    });
    if def.billing_mode == "PAY_PER_REQUEST" {
        d["BillingModeSummary"] = json!({ "BillingMode": "PAY_PER_REQUEST" });
    }
    if !def.indexes.is_empty() {
        let arn = def.arn(&db.config.region, &db.config.account_id);
        let indexes: Vec<Value> = def
            .indexes
            .iter()
            .map(|index| {
                let keys = def.schema_attributes(&index.key_schema);
                let count = table
                    .items
                    .values()
                    .filter(|item| keys.iter().all(|(k, _)| item.contains_key(*k)))
                    .count();
                json!({
                    "IndexName": index.index_name,
                    "IndexArn": format!("{arn}/index/{}", index.index_name),
                    "KeySchema": index.key_schema,
                    "Projection": index.projection,
                    "IndexStatus": "ACTIVE",
                    "ItemCount": count,
                    "IndexSizeBytes": 0,
                    "ProvisionedThroughput": {
                        "ReadCapacityUnits": index.provisioned_throughput.unwrap_or_default().read_capacity_units,
                        "WriteCapacityUnits": index.provisioned_throughput.unwrap_or_default().write_capacity_units,
                        "NumberOfDecreasesToday": 0,
                    },
                })
            })
            .collect();
        d["GlobalSecondaryIndexes"] = Value::Array(indexes);
    }
    d
}

/// An index's key attributes must be defined, its name unique.
fn check_indexes(
    indexes: &[IndexDef],
    definitions: &[AttributeDefinition],
) -> Result<(), ApiError> {
    for (i, index) in indexes.iter().enumerate() {
        check_schema(&index.key_schema, definitions)?;
        if indexes[..i]
            .iter()
            .any(|other| other.index_name == index.index_name)
        {
            return Err(invalid(format!(
                "One or more parameter values were invalid: Duplicate index name: {}",
                index.index_name
            )));
        }
        let kind = index.projection.projection_type.as_deref().unwrap_or("ALL");
        if !matches!(kind, "ALL" | "KEYS_ONLY" | "INCLUDE") {
            return Err(invalid(format!("1 validation error detected: Value '{kind}' at 'projection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, KEYS_ONLY, INCLUDE]")));
        }
    }
    Ok(())
}

pub async fn create(db: &DynamoDb, input: CreateInput) -> Result<Described, ApiError> {
    let name = required(input.table_name)?;
    check_schema(&input.key_schema, &input.attribute_definitions)?;
    let mut indexes = input.global_secondary_indexes.unwrap_or_default();
    indexes.extend(input.local_secondary_indexes.unwrap_or_default());
    check_indexes(&indexes, &input.attribute_definitions)?;
    let billing_mode = input.billing_mode.unwrap_or_else(|| "PROVISIONED".into());
    let throughput = match (billing_mode.as_str(), input.provisioned_throughput) {
        ("PROVISIONED", Some(t)) => t,
        ("PROVISIONED", None) => {
            return Err(invalid("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED"))
        }
        ("PAY_PER_REQUEST", None) => Throughput::default(),
        ("PAY_PER_REQUEST", Some(_)) => {
            return Err(invalid("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST"))
        }
        (other, _) => {
            return Err(invalid(format!("1 validation error detected: Value '{other}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]")))
        }
    };
    let mut tables = db.tables.lock().await;
    if tables.contains_key(&name) {
        return Err(ApiError::new(
            ErrorKind::ResourceInUse,
            format!("Table already exists: {name}"),
        ));
    }
    let def = TableDef {
        format_version: TABLE_FORMAT_VERSION,
        id: table_id(),
        name: name.clone(),
        key_schema: input.key_schema,
        attribute_definitions: input.attribute_definitions,
        billing_mode,
        throughput,
        created_ms: now_ms(),
        indexes,
        ttl_attribute: None,
    };
    db.save_table(&def).await?;
    let table = Table {
        def,
        items: BTreeMap::new(),
    };
    let table_description = description(db, &table, "ACTIVE");
    tables.insert(name, table);
    Ok(Described { table_description })
}

/// UpdateTable: billing mode, throughput, and secondary indexes created or deleted (at once:
/// indexes are ACTIVE as soon as they exist).
pub async fn update(db: &DynamoDb, input: UpdateInput) -> Result<Described, ApiError> {
    let name = required(input.table_name)?;
    let mut tables = db.tables.lock().await;
    let table = tables.get_mut(&name).ok_or_else(|| not_found(&name))?;
    let mut def = table.def.clone();
    for d in input.attribute_definitions {
        if !def
            .attribute_definitions
            .iter()
            .any(|e| e.attribute_name == d.attribute_name)
        {
            def.attribute_definitions.push(d);
        }
    }
    if let Some(mode) = input.billing_mode {
        if !matches!(mode.as_str(), "PROVISIONED" | "PAY_PER_REQUEST") {
            return Err(invalid(format!("1 validation error detected: Value '{mode}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]")));
        }
        def.billing_mode = mode;
    }
    if let Some(t) = input.provisioned_throughput {
        def.throughput = t;
    }
    for change in input.global_secondary_index_updates {
        if let Some(index) = change.create {
            def.indexes.push(index);
        } else if let Some(IndexName { index_name }) = change.delete {
            let before = def.indexes.len();
            def.indexes.retain(|i| i.index_name != index_name);
            if def.indexes.len() == before {
                return Err(ApiError::new(
                    ErrorKind::ResourceNotFound,
                    format!("Requested resource not found: Index: {index_name} not found"),
                ));
            }
        } else if let Some(IndexName { index_name }) = change.update {
            if !def.indexes.iter().any(|i| i.index_name == index_name) {
                return Err(ApiError::new(
                    ErrorKind::ResourceNotFound,
                    format!("Requested resource not found: Index: {index_name} not found"),
                ));
            }
        }
    }
    check_indexes(&def.indexes, &def.attribute_definitions)?;
    db.save_table(&def).await?;
    table.def = def;
    Ok(Described {
        table_description: description(db, table, "ACTIVE"),
    })
}

pub async fn describe(db: &DynamoDb, input: NameInput) -> Result<DescribedTable, ApiError> {
    let name = required(input.table_name)?;
    let tables = db.tables.lock().await;
    let table = tables.get(&name).ok_or_else(|| not_found(&name))?;
    Ok(DescribedTable {
        table: description(db, table, "ACTIVE"),
    })
}

pub async fn delete(db: &DynamoDb, input: NameInput) -> Result<Described, ApiError> {
    let name = required(input.table_name)?;
    let mut tables = db.tables.lock().await;
    let table = tables.get(&name).ok_or_else(|| not_found(&name))?;
    db.drop_table(table).await?;
    let table_description = description(db, table, "DELETING");
    tables.remove(&name);
    Ok(Described { table_description })
}

pub async fn list(db: &DynamoDb, input: ListInput) -> Result<Listed, ApiError> {
    let limit = input.limit.unwrap_or(100);
    if !(1..=100).contains(&limit) {
        return Err(invalid(format!("1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100")));
    }
    let tables = db.tables.lock().await;
    let after = input.exclusive_start_table_name.unwrap_or_default();
    let mut names: Vec<String> = tables
        .keys()
        .filter(|n| **n > after)
        .take(limit + 1)
        .cloned()
        .collect();
    let more = names.len() > limit;
    names.truncate(limit);
    Ok(Listed {
        last_evaluated_table_name: more.then(|| names.last().cloned()).flatten(),
        table_names: names,
    })
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A table id in DynamoDB's form (a random UUID).
fn table_id() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::fill(&mut b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

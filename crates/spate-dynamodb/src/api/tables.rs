//! CreateTable, DescribeTable, DeleteTable, ListTables. Tables are ACTIVE as soon as they are
//! created (as DynamoDB Local does), so waiters return at once.

use crate::service::{DynamoDb, Table};
use crate::tables::{
    check_schema, check_table_name, invalid, AttributeDefinition, KeySchemaElement, TableDef,
    Throughput, TABLE_FORMAT_VERSION,
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
    d
}

pub async fn create(db: &DynamoDb, input: CreateInput) -> Result<Described, ApiError> {
    let name = required(input.table_name)?;
    check_schema(&input.key_schema, &input.attribute_definitions)?;
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

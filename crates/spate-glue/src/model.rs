//! Databases and table versions as the catalog keeps them, the checks their inputs pass before
//! they are kept, and the names Glue accepts.
//!
//! A database or table is stored with the input the client gave (`DatabaseInput`,
//! `TableInput`) as a JSON map: Spate serves those members back as given and reads only the
//! columns. What Spate adds (times, version, lower-cased names) lives beside the input.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use spate_wire::validate::Validator;
use spate_wire::ApiError;
use std::collections::BTreeMap;
use std::fmt;

/// Bumped when the stored form changes incompatibly; a newer one refuses to load.
pub const FORMAT_VERSION: u32 = 1;

/// Glue's `NameString`: 1 to 255 characters of its single-line pattern.
pub const NAME_MAX_CHARS: usize = 255;
/// Glue's `ColumnTypeString` (Hive type text, e.g. `struct<a:int,b:array<string>>`).
pub const COLUMN_TYPE_MAX_CHARS: usize = 131_072;
/// Glue's `DescriptionString`.
pub const DESCRIPTION_MAX_CHARS: usize = 2048;
/// The single-line pattern of Glue's names, as its validation messages quote it.
pub const SINGLE_LINE_PATTERN: &str = r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*";

/// Whether `s` matches [`SINGLE_LINE_PATTERN`]: no control characters but tab (so the catalog's
/// key separator, U+0001, never appears in a name), no U+FFFE/U+FFFF. Rust strings hold no lone
/// surrogates, so the surrogate pair range is every character above U+FFFF.
pub fn is_single_line(s: &str) -> bool {
    s.chars().all(|c| {
        c == '\t'
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}'
    })
}

/// Glue folds database and table names to lower case when it stores them (for Hive), and
/// finds them the same way.
pub fn fold(name: &str) -> String {
    name.to_lowercase()
}

/// A database as the catalog keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DatabaseDoc {
    pub format_version: u32,
    /// Lower-cased.
    pub name: String,
    /// The `DatabaseInput` as given, its `Name` lower-cased.
    pub input: Map<String, Value>,
    pub created_ms: i64,
}

/// One version of a table as the catalog keeps it. The newest is the table; older ones are
/// what GetTableVersion(s) show.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableVersionDoc {
    pub format_version: u32,
    /// Lower-cased.
    pub database: String,
    /// Lower-cased.
    pub name: String,
    /// `VersionId` ("0" for the table as created, then one more per UpdateTable).
    pub version: u64,
    /// When the table was created (the same in all its versions).
    pub created_ms: i64,
    /// When this version was written.
    pub updated_ms: i64,
    /// The `TableInput` as given, its `Name` lower-cased.
    pub input: Map<String, Value>,
}

/// A column of a table's `StorageDescriptor.Columns`, in order: what Firehose converts records
/// with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// The Hive type text (`Type`); empty when the column has none (Glue allows that).
    pub type_text: String,
}

/// Why [`crate::Glue::table_columns`] found no columns; the texts are Glue's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TableLookupError {
    DatabaseNotFound(String),
    TableNotFound(String),
    VersionNotFound(String),
}

impl fmt::Display for TableLookupError {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            TableLookupError::DatabaseNotFound(name) => write!(f, "Database {name} not found."),
            TableLookupError::TableNotFound(name) => write!(f, "Table {name} not found."),
            TableLookupError::VersionNotFound(id) => write!(f, "Version {id} not found."),
        }
    }
}

impl std::error::Error for TableLookupError {}

// The shapes below name the members whose JSON type Spate checks (the rest of an input is kept
// unread); deserializing is the check, so some members are never read afterwards.

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct ColumnShape {
    name: Option<String>,
    #[serde(rename = "Type")]
    type_text: Option<String>,
    comment: Option<String>,
    parameters: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct StorageShape {
    columns: Option<Vec<ColumnShape>>,
    location: Option<String>,
    input_format: Option<String>,
    output_format: Option<String>,
    compressed: Option<bool>,
    parameters: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct TableShape {
    name: Option<String>,
    description: Option<String>,
    owner: Option<String>,
    table_type: Option<String>,
    retention: Option<i64>,
    storage_descriptor: Option<StorageShape>,
    partition_keys: Option<Vec<ColumnShape>>,
    parameters: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
#[allow(dead_code)]
struct DatabaseShape {
    name: Option<String>,
    description: Option<String>,
    location_uri: Option<String>,
    parameters: Option<BTreeMap<String, String>>,
}

/// Reads the members Spate checks with their types: a member of the wrong JSON type is a
/// SerializationException, as the front end answers it for every other member.
fn shape<T: serde::de::DeserializeOwned>(input: &Map<String, Value>) -> Result<T, ApiError> {
    serde_json::from_value(Value::Object(input.clone()))
        .map_err(|e| ApiError::member_type(e.to_string()))
}

/// Adds the checks of one Glue name (`member` as Glue's validation messages name it).
pub fn check_name(v: &mut Validator, name: Option<&str>, member: &str) {
    v.required(&name, member)
        .length(name, member, 1, NAME_MAX_CHARS)
        .pattern(name, member, SINGLE_LINE_PATTERN, is_single_line);
}

fn check_columns(v: &mut Validator, columns: &[ColumnShape], member: &str) {
    for (i, c) in columns.iter().enumerate() {
        // Glue's validation paths count list members from 1.
        let at = format!("{member}.{}.member", i + 1);
        check_name(v, c.name.as_deref(), &format!("{at}.name"));
        let type_text = c.type_text.as_deref();
        v.length(type_text, &format!("{at}.type"), 0, COLUMN_TYPE_MAX_CHARS);
        v.length(c.comment.as_deref(), &format!("{at}.comment"), 0, 255);
    }
}

/// Checks a `DatabaseInput` (member names as in CreateDatabase's messages).
pub fn check_database_input(input: &Map<String, Value>) -> Result<(), ApiError> {
    let db: DatabaseShape = shape(input)?;
    let mut v = Validator::new();
    check_name(&mut v, db.name.as_deref(), "databaseInput.name");
    v.length(
        db.description.as_deref(),
        "databaseInput.description",
        0,
        DESCRIPTION_MAX_CHARS,
    )
    .length(
        db.location_uri.as_deref(),
        "databaseInput.locationUri",
        1,
        1024,
    );
    v.finish()
}

/// Checks a `TableInput` and returns its columns (`StorageDescriptor.Columns`, in order).
pub fn check_table_input(input: &Map<String, Value>) -> Result<Vec<Column>, ApiError> {
    let table: TableShape = shape(input)?;
    let mut v = Validator::new();
    check_name(&mut v, table.name.as_deref(), "tableInput.name");
    v.length(
        table.description.as_deref(),
        "tableInput.description",
        0,
        DESCRIPTION_MAX_CHARS,
    )
    .length(
        table.owner.as_deref(),
        "tableInput.owner",
        1,
        NAME_MAX_CHARS,
    )
    .length(table.table_type.as_deref(), "tableInput.tableType", 0, 255)
    .range(
        table.retention,
        "tableInput.retention",
        0,
        i64::from(i32::MAX),
    );
    let storage = table.storage_descriptor;
    let columns = storage
        .as_ref()
        .and_then(|s| s.columns.as_deref())
        .unwrap_or_default();
    check_columns(&mut v, columns, "tableInput.storageDescriptor.columns");
    let partition_keys = table.partition_keys.as_deref().unwrap_or_default();
    check_columns(&mut v, partition_keys, "tableInput.partitionKeys");
    v.finish()?;
    Ok(columns
        .iter()
        .map(|c| Column {
            name: c.name.clone().unwrap_or_default(),
            type_text: c.type_text.clone().unwrap_or_default(),
        })
        .collect())
}

/// The input with its `Name` replaced by the stored (lower-cased) name.
pub fn with_name(mut input: Map<String, Value>, name: &str) -> Map<String, Value> {
    input.insert("Name".into(), Value::String(name.to_string()));
    input
}

/// Milliseconds since the epoch as Glue's JSON timestamps: seconds, fraction allowed.
pub fn seconds(ms: i64) -> Value {
    serde_json::Number::from_f64(ms as f64 / 1000.0).map_or(Value::Null, Value::Number)
}

/// GetDatabase's `Database`.
pub fn database_json(doc: &DatabaseDoc, catalog_id: &str) -> Value {
    let mut d = doc.input.clone();
    d.insert("CreateTime".into(), seconds(doc.created_ms));
    d.insert("CatalogId".into(), Value::String(catalog_id.to_string()));
    // A new database in an account with Lake Formation's default settings grants every IAM
    // principal ALL on its new tables; Glue shows that default when none was given.
    d.entry("CreateTableDefaultPermissions").or_insert_with(|| {
        serde_json::json!([{
            "Principal": {"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"},
            "Permissions": ["ALL"],
        }])
    });
    Value::Object(d)
}

/// GetTable's `Table` for one version.
pub fn table_json(doc: &TableVersionDoc, catalog_id: &str) -> Value {
    let mut t = doc.input.clone();
    t.insert("Name".into(), Value::String(doc.name.clone()));
    t.insert("DatabaseName".into(), Value::String(doc.database.clone()));
    t.insert("CreateTime".into(), seconds(doc.created_ms));
    t.insert("UpdateTime".into(), seconds(doc.updated_ms));
    t.insert("CatalogId".into(), Value::String(catalog_id.to_string()));
    t.insert("VersionId".into(), Value::String(doc.version.to_string()));
    t.insert("IsRegisteredWithLakeFormation".into(), Value::Bool(false));
    Value::Object(t)
}

//! Record format conversion (DataFormatConversionConfiguration): each object's JSON records
//! read by a Glue table's columns ([`json`], [`hive`]) and written as one Parquet file
//! ([`parquet`]). Records that are not JSON, or do not fit the columns, go to the error
//! output under `format-conversion-failed` with the table they were read against.
//!
//! The table is looked up through [`TableSchemas`] (the server's Glue Data Catalog) at every
//! delivery, so a table updated with UpdateTable is used from the next object on, as
//! Firehose uses the newest version unless VersionId names one.

mod decimal;
pub mod hive;
pub mod json;
pub mod model;
mod parquet;
pub mod time;

use crate::delivery::backup::{error_key, json_lines_object};
use crate::delivery::process::FailedItem;
use crate::model::{DeliveryStreamRecord, S3Destination};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hive::HiveType;
use json::{JsonReader, RowError};
use model::{FormatConversion, JsonInput, OutputFormat, ParquetOutput, SchemaReference};
use serde::Serialize;
use spate_objects::PutObject;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use time::{TimeReader, TimestampFormat};

/// `error-output-type` of records that could not be converted.
pub const FORMAT_CONVERSION_FAILED: &str = "format-conversion-failed";
/// The record is not JSON.
pub const PARSE_ERROR: &str = "DataFormatConversion.ParseError";
/// The record's JSON does not fit the table's columns.
pub const MALFORMED_DATA: &str = "DataFormatConversion.MalformedData";

/// The Glue table a conversion reads its columns from, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    pub catalog_id: String,
    pub database: String,
    pub table: String,
    pub region: String,
    /// `None`: the newest version (VersionId absent or `LATEST`).
    pub version_id: Option<String>,
}

impl TableRef {
    pub fn of(schema: &SchemaReference, account_id: &str, region: &str) -> TableRef {
        TableRef {
            catalog_id: schema
                .catalog_id
                .clone()
                .unwrap_or_else(|| account_id.into()),
            database: schema.database_name.clone().unwrap_or_default(),
            table: schema.table_name.clone().unwrap_or_default(),
            region: schema.region.clone().unwrap_or_else(|| region.into()),
            version_id: schema.version_id.clone().filter(|v| v != "LATEST"),
        }
    }
}

/// A future of a table's columns.
pub type ColumnsFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<(String, String)>, String>> + Send + 'a>>;

/// Where conversions find a table's columns: `(name, Hive type)` in order.
pub trait TableSchemas: Send + Sync {
    fn columns<'a>(&'a self, table: &'a TableRef) -> ColumnsFuture<'a>;
}

/// Where workers find the table schemas (set once the server's Glue catalog exists).
pub type SchemaSlot = Arc<RwLock<Option<Arc<dyn TableSchemas>>>>;

/// A conversion ready to run: the table's parsed columns, the reader, the writer's options.
pub struct Converter {
    columns: Vec<(String, HiveType)>,
    reader: JsonReader,
    output: ParquetOutput,
    pub table: TableRef,
}

/// A record that could not be converted: its index among the records given, the error code
/// and message.
pub type Unconverted = (usize, &'static str, String);

impl Converter {
    /// The converter for `conversion` over `columns` of `table`; the error names a column type
    /// or option that cannot be used.
    pub fn new(
        conversion: &FormatConversion,
        table: TableRef,
        columns: Vec<(String, String)>,
    ) -> Result<Converter, String> {
        let columns = columns
            .into_iter()
            .map(|(name, ty)| {
                let parsed = HiveType::parse(&ty)
                    .map_err(|e| format!("column {name} of table {}: {e}", table.table))?;
                Ok((name.to_ascii_lowercase(), parsed))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if columns.is_empty() {
            return Err(format!("table {} has no columns", table.table));
        }
        let Some(OutputFormat::Parquet(output)) = conversion.output.clone() else {
            return Err("only Parquet output is supported".into());
        };
        let reader = reader(conversion.input.as_ref())?;
        Ok(Converter {
            columns,
            reader,
            output,
            table,
        })
    }

    /// One Parquet file of the records that convert (`None` when none does), and those that
    /// do not.
    pub fn convert<'a>(
        &self,
        records: impl Iterator<Item = &'a [u8]>,
    ) -> Result<(Option<Vec<u8>>, Vec<Unconverted>), String> {
        let (mut rows, mut failed) = (Vec::new(), Vec::new());
        for (n, record) in records.enumerate() {
            match self.reader.rows(record, &self.columns) {
                Ok(mut more) => rows.append(&mut more),
                Err(RowError::Parse(e)) => failed.push((n, PARSE_ERROR, e)),
                Err(RowError::Malformed(e)) => failed.push((n, MALFORMED_DATA, e)),
            }
        }
        if rows.is_empty() {
            return Ok((None, failed));
        }
        let body = parquet::write(&self.columns, &rows, &self.output)?;
        Ok((Some(body), failed))
    }
}

/// The JSON reader for a deserializer (OpenX's defaults when none is given).
pub fn reader(input: Option<&JsonInput>) -> Result<JsonReader, String> {
    Ok(match input {
        Some(JsonInput::Hive { timestamp_formats }) => JsonReader {
            case_insensitive: true,
            dots_to_underscores: false,
            key_mappings: Vec::new(),
            times: TimeReader::Hive(
                timestamp_formats
                    .iter()
                    .flatten()
                    .map(|f| TimestampFormat::parse(f))
                    .collect::<Result<_, _>>()?,
            ),
        },
        Some(JsonInput::OpenX {
            dots_to_underscores,
            case_insensitive,
            key_mappings,
        }) => JsonReader {
            case_insensitive: case_insensitive.unwrap_or(true),
            dots_to_underscores: dots_to_underscores.unwrap_or(false),
            key_mappings: key_mappings.clone().unwrap_or_default(),
            times: TimeReader::OpenX,
        },
        None => JsonReader {
            case_insensitive: true,
            dots_to_underscores: false,
            key_mappings: Vec::new(),
            times: TimeReader::OpenX,
        },
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CatalogTable<'a> {
    catalog_id: &'a str,
    database_name: &'a str,
    table_name: &'a str,
    region: &'a str,
    version_id: &'a str,
    catalog_arn: String,
}

/// The error record of Firehose's format conversion (`lastErrorCode`, `lastErrorMessage`,
/// `dataCatalogTable`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConversionErrorRecord<'a> {
    attempts_made: u32,
    arrival_timestamp: i64,
    last_error_code: &'a str,
    last_error_message: &'a str,
    attempt_ending_timestamp: i64,
    raw_data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence_number: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub_sequence_number: Option<u32>,
    data_catalog_table: &'a CatalogTable<'a>,
}

/// The `format-conversion-failed` object for `failed` (oldest first).
pub fn failed_object(
    stream: &DeliveryStreamRecord,
    destination: &S3Destination,
    failed: &[FailedItem],
    ending_ms: i64,
    table: &TableRef,
) -> Result<PutObject, String> {
    let oldest = failed.first().map_or(ending_ms, |f| f.item.arrival_ms);
    let key = error_key(stream, destination, FORMAT_CONVERSION_FAILED, oldest)?;
    let catalog = CatalogTable {
        catalog_id: &table.catalog_id,
        database_name: &table.database,
        table_name: &table.table,
        region: &table.region,
        version_id: table.version_id.as_deref().unwrap_or("LATEST"),
        catalog_arn: format!("arn:aws:glue:{}:{}:catalog", table.region, table.catalog_id),
    };
    let lines = failed.iter().map(|f| {
        let kinesis = f.item.kinesis.as_ref();
        ConversionErrorRecord {
            attempts_made: f.attempts,
            arrival_timestamp: f.item.arrival_ms,
            last_error_code: &f.code,
            last_error_message: &f.message,
            attempt_ending_timestamp: ending_ms,
            raw_data: STANDARD.encode(&f.item.data),
            sequence_number: kinesis.map(|k| k.sequence_number.as_str()),
            sub_sequence_number: kinesis.map(|_| 0),
            data_catalog_table: &catalog,
        }
    });
    json_lines_object(destination, key, lines)
}

#[cfg(test)]
mod tests;

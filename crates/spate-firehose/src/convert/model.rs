//! A DataFormatConversionConfiguration as kept in the delivery stream's record: each member
//! as given (so it is described back as given), with the defaults applied where it is used.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormatConversion {
    pub schema: Option<SchemaReference>,
    pub input: Option<JsonInput>,
    pub output: Option<OutputFormat>,
}

/// SchemaConfiguration: the Glue table whose columns the records are converted to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchemaReference {
    pub role_arn: Option<String>,
    pub catalog_id: Option<String>,
    pub database_name: Option<String>,
    pub table_name: Option<String>,
    pub region: Option<String>,
    pub version_id: Option<String>,
}

/// The deserializer: OpenX JSON SerDe or Hive JSON SerDe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum JsonInput {
    OpenX {
        dots_to_underscores: Option<bool>,
        case_insensitive: Option<bool>,
        /// ColumnToJsonKeyMappings: (column, JSON key), in the order given.
        key_mappings: Option<Vec<(String, String)>>,
    },
    Hive {
        timestamp_formats: Option<Vec<String>>,
    },
}

/// The serializer. ORC is kept only to be refused: Spate writes Parquet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputFormat {
    Parquet(ParquetOutput),
    Orc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParquetCompression {
    Uncompressed,
    Gzip,
    Snappy,
}

impl ParquetCompression {
    pub const WIRE: [&'static str; 3] = ["UNCOMPRESSED", "GZIP", "SNAPPY"];

    pub fn parse(text: &str) -> Option<ParquetCompression> {
        match text {
            "UNCOMPRESSED" => Some(ParquetCompression::Uncompressed),
            "GZIP" => Some(ParquetCompression::Gzip),
            "SNAPPY" => Some(ParquetCompression::Snappy),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ParquetCompression::Uncompressed => "UNCOMPRESSED",
            ParquetCompression::Gzip => "GZIP",
            ParquetCompression::Snappy => "SNAPPY",
        }
    }
}

/// ParquetSerDe as given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParquetOutput {
    pub block_size_bytes: Option<i64>,
    pub page_size_bytes: Option<i64>,
    pub compression: Option<ParquetCompression>,
    pub enable_dictionary: Option<bool>,
    pub max_padding_bytes: Option<i64>,
    /// WriterVersion `V2` (`V1` is the default).
    pub writer_v2: Option<bool>,
}

/// ParquetSerDe's default page size, in bytes (1 MiB).
const PAGE_SIZE_DEFAULT_BYTES: i64 = 1 << 20;

impl ParquetOutput {
    /// Compression: SNAPPY unless given.
    pub fn compression(&self) -> ParquetCompression {
        self.compression.unwrap_or(ParquetCompression::Snappy)
    }

    pub fn page_size_bytes(&self) -> usize {
        usize::try_from(self.page_size_bytes.unwrap_or(PAGE_SIZE_DEFAULT_BYTES)).unwrap_or(1 << 20)
    }

    /// Dictionary encoding: on unless turned off (parquet-mr's, and so Hive's, default).
    pub fn dictionary(&self) -> bool {
        self.enable_dictionary.unwrap_or(true)
    }

    pub fn writer_v2(&self) -> bool {
        self.writer_v2.unwrap_or(false)
    }
}

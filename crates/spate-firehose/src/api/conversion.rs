//! DataFormatConversionConfiguration at the edge: its members checked against the model's
//! constraints, read into [`FormatConversion`], checked for what an enabled conversion needs,
//! and described back as given.

use super::check::{flag, int, path, text};
use crate::convert::model::{
    FormatConversion, JsonInput, OutputFormat, ParquetCompression, ParquetOutput, SchemaReference,
};
use crate::convert::time::TimestampFormat;
use crate::errors::invalid;
use crate::model::{Compression, S3Destination};
use spate_wire::firehose::{
    DataFormatConversionConfiguration, DataFormatConversionConfigurationOut, Deserializer,
    DeserializerOut, HiveJsonSerDeOut, InputFormatConfigurationOut, OpenXJsonSerDeOut,
    OutputFormatConfigurationOut, ParquetSerDe, ParquetSerDeOut, SchemaConfiguration,
    SchemaConfigurationOut, SerializerOut,
};
use spate_wire::validate::Validator;
use spate_wire::{ApiError, Str};

/// `NonEmptyStringWithoutWhitespace`.
const NO_WHITESPACE_PATTERN: &str = "^\\S+$";
/// `NonEmptyString`.
const NON_EMPTY_PATTERN: &str = "^(?!\\s*$).+";
/// BlockSizeBytes at least (64 MiB), ParquetPageSizeBytes at least (64 KiB).
const BLOCK_SIZE_MIN_BYTES: i64 = 64 << 20;
const PAGE_SIZE_MIN_BYTES: i64 = 64 << 10;

pub fn validate(v: &mut Validator, c: &DataFormatConversionConfiguration, at: &str) {
    if let Some(s) = &c.schema_configuration {
        validate_schema(v, s, &path(at, "schemaConfiguration"));
    }
    let deserializer = c
        .input_format_configuration
        .as_ref()
        .and_then(|i| i.deserializer.as_ref());
    if let Some(d) = deserializer {
        validate_deserializer(v, d, &path(at, "inputFormatConfiguration.deserializer"));
    }
    let parquet = c
        .output_format_configuration
        .as_ref()
        .and_then(|o| o.serializer.as_ref())
        .and_then(|s| s.parquet_ser_de.as_ref());
    if let Some(p) = parquet {
        let at = path(at, "outputFormatConfiguration.serializer.parquetSerDe");
        validate_parquet(v, p, &at);
    }
}

fn without_whitespace(v: &mut Validator, value: &Option<Str>, member: &str) {
    let value = text(value);
    v.length(value, member, 1, 1024);
    v.pattern(value, member, NO_WHITESPACE_PATTERN, |s| {
        !s.chars().any(char::is_whitespace)
    });
}

fn non_empty(v: &mut Validator, value: Option<&str>, member: &str) {
    v.length(value, member, 1, 1024);
    v.pattern(value, member, NON_EMPTY_PATTERN, |s| !s.trim().is_empty());
}

fn validate_schema(v: &mut Validator, s: &SchemaConfiguration, at: &str) {
    without_whitespace(v, &s.role_arn, &path(at, "roleARN"));
    without_whitespace(v, &s.catalog_id, &path(at, "catalogId"));
    without_whitespace(v, &s.database_name, &path(at, "databaseName"));
    without_whitespace(v, &s.table_name, &path(at, "tableName"));
    without_whitespace(v, &s.region, &path(at, "region"));
    without_whitespace(v, &s.version_id, &path(at, "versionId"));
}

fn validate_deserializer(v: &mut Validator, d: &Deserializer, at: &str) {
    if let Some(o) = &d.open_x_json_ser_de {
        let member = path(at, "openXJsonSerDe.columnToJsonKeyMappings");
        for (key, value) in o.column_to_json_key_mappings.iter().flat_map(|m| &m.0) {
            non_empty(v, Some(key), &member);
            non_empty(v, Some(&value.0), &member);
        }
    }
    if let Some(h) = &d.hive_json_ser_de {
        let member = path(at, "hiveJsonSerDe.timestampFormats");
        for format in h.timestamp_formats.iter().flat_map(|l| &l.0) {
            non_empty(v, Some(&format.0), &member);
        }
    }
}

fn validate_parquet(v: &mut Validator, p: &ParquetSerDe, at: &str) {
    let block = int(&p.block_size_bytes);
    v.range(
        block,
        &path(at, "blockSizeBytes"),
        BLOCK_SIZE_MIN_BYTES,
        i64::from(i32::MAX),
    );
    let page = int(&p.page_size_bytes);
    v.range(
        page,
        &path(at, "pageSizeBytes"),
        PAGE_SIZE_MIN_BYTES,
        i64::from(i32::MAX),
    );
    let compression = text(&p.compression);
    v.one_of(
        compression,
        &path(at, "compression"),
        &ParquetCompression::WIRE,
    );
    let padding = int(&p.max_padding_bytes);
    v.range(
        padding,
        &path(at, "maxPaddingBytes"),
        0,
        i64::from(i32::MAX),
    );
    let version = text(&p.writer_version);
    v.one_of(version, &path(at, "writerVersion"), &["V1", "V2"]);
}

/// Reads a validated configuration into `d` (Enabled is true unless given false). Two
/// deserializers or two serializers are refused, as AWS refuses them.
pub fn merge(d: &mut S3Destination, c: &DataFormatConversionConfiguration) -> Result<(), ApiError> {
    let deserializer = c
        .input_format_configuration
        .as_ref()
        .and_then(|i| i.deserializer.as_ref());
    let serializer = c
        .output_format_configuration
        .as_ref()
        .and_then(|o| o.serializer.as_ref());
    if deserializer.is_some_and(|d| d.open_x_json_ser_de.is_some() && d.hive_json_ser_de.is_some())
    {
        return Err(invalid(
            "Only one of OpenXJsonSerDe and HiveJsonSerDe may be given in a Deserializer.",
        ));
    }
    if serializer.is_some_and(|s| s.parquet_ser_de.is_some() && s.orc_ser_de.is_some()) {
        return Err(invalid(
            "Only one of ParquetSerDe and OrcSerDe may be given in a Serializer.",
        ));
    }
    d.format_conversion_enabled = Some(flag(&c.enabled).unwrap_or(true));
    let schema = c.schema_configuration.as_ref().map(|s| SchemaReference {
        role_arn: text(&s.role_arn).map(str::to_string),
        catalog_id: text(&s.catalog_id).map(str::to_string),
        database_name: text(&s.database_name).map(str::to_string),
        table_name: text(&s.table_name).map(str::to_string),
        region: text(&s.region).map(str::to_string),
        version_id: text(&s.version_id).map(str::to_string),
    });
    let output = serializer.and_then(|s| match (&s.parquet_ser_de, &s.orc_ser_de) {
        (Some(p), _) => Some(OutputFormat::Parquet(parquet(p))),
        (None, Some(_)) => Some(OutputFormat::Orc),
        (None, None) => None,
    });
    d.format_conversion = Some(FormatConversion {
        schema,
        input: deserializer.and_then(|d| input(d)),
        output,
    });
    Ok(())
}

fn input(d: &Deserializer) -> Option<JsonInput> {
    match (&d.open_x_json_ser_de, &d.hive_json_ser_de) {
        (Some(o), None) => Some(JsonInput::OpenX {
            dots_to_underscores: flag(&o.convert_dots_in_json_keys_to_underscores),
            case_insensitive: flag(&o.case_insensitive),
            key_mappings: o
                .column_to_json_key_mappings
                .as_ref()
                .map(|m| m.0.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect()),
        }),
        (None, Some(h)) => Some(JsonInput::Hive {
            timestamp_formats: h
                .timestamp_formats
                .as_ref()
                .map(|l| l.0.iter().map(|f| f.0.clone()).collect()),
        }),
        _ => None,
    }
}

fn parquet(p: &ParquetSerDe) -> ParquetOutput {
    ParquetOutput {
        block_size_bytes: int(&p.block_size_bytes),
        page_size_bytes: int(&p.page_size_bytes),
        compression: text(&p.compression).and_then(ParquetCompression::parse),
        enable_dictionary: flag(&p.enable_dictionary_compression),
        max_padding_bytes: int(&p.max_padding_bytes),
        writer_v2: text(&p.writer_version).map(|v| v == "V2"),
    }
}

/// What an enabled conversion needs: a table, one deserializer, the Parquet serializer,
/// uncompressed S3 objects (the Parquet file compresses its pages itself).
pub fn check(d: &S3Destination) -> Result<(), ApiError> {
    if d.format_conversion_enabled != Some(true) {
        return Ok(());
    }
    let Some(c) = &d.format_conversion else {
        return Ok(());
    };
    let schema = c.schema.as_ref();
    let named = |f: fn(&SchemaReference) -> &Option<String>| schema.is_some_and(|s| f(s).is_some());
    if !named(|s| &s.database_name) || !named(|s| &s.table_name) || !named(|s| &s.role_arn) {
        return Err(invalid(
            "SchemaConfiguration with RoleARN, DatabaseName and TableName is required when DataFormatConversionConfiguration is enabled.",
        ));
    }
    match &c.input {
        None => {
            return Err(invalid(
                "InputFormatConfiguration with a Deserializer is required when DataFormatConversionConfiguration is enabled.",
            ))
        }
        Some(JsonInput::Hive { timestamp_formats }) => {
            for format in timestamp_formats.iter().flatten() {
                TimestampFormat::parse(format)
                    .map_err(|e| invalid(format!("TimestampFormats {format:?}: {e}.")))?;
            }
        }
        Some(JsonInput::OpenX { .. }) => {}
    }
    match &c.output {
        None => Err(invalid(
            "OutputFormatConfiguration with a Serializer is required when DataFormatConversionConfiguration is enabled.",
        )),
        Some(OutputFormat::Orc) => Err(invalid(
            "OrcSerDe is not supported by Spate yet (ParquetSerDe is); see docs/compatibility.md.",
        )),
        Some(OutputFormat::Parquet(_)) if d.compression != Compression::Uncompressed => {
            Err(invalid(
                "CompressionFormat must be UNCOMPRESSED when DataFormatConversionConfiguration is enabled: the Parquet serializer compresses.",
            ))
        }
        Some(OutputFormat::Parquet(_)) => Ok(()),
    }
}

/// DataFormatConversionConfiguration as given.
pub fn describe(d: &S3Destination) -> Option<DataFormatConversionConfigurationOut> {
    let enabled = d.format_conversion_enabled?;
    let c = d.format_conversion.clone().unwrap_or_default();
    Some(DataFormatConversionConfigurationOut {
        schema_configuration: c.schema.map(|s| SchemaConfigurationOut {
            role_arn: s.role_arn,
            catalog_id: s.catalog_id,
            database_name: s.database_name,
            table_name: s.table_name,
            region: s.region,
            version_id: s.version_id,
        }),
        input_format_configuration: c.input.map(|i| InputFormatConfigurationOut {
            deserializer: match i {
                JsonInput::OpenX {
                    dots_to_underscores,
                    case_insensitive,
                    key_mappings,
                } => DeserializerOut {
                    open_x_json_ser_de: Some(OpenXJsonSerDeOut {
                        convert_dots_in_json_keys_to_underscores: dots_to_underscores,
                        case_insensitive,
                        column_to_json_key_mappings: key_mappings.map(|m| m.into_iter().collect()),
                    }),
                    hive_json_ser_de: None,
                },
                JsonInput::Hive { timestamp_formats } => DeserializerOut {
                    open_x_json_ser_de: None,
                    hive_json_ser_de: Some(HiveJsonSerDeOut { timestamp_formats }),
                },
            },
        }),
        output_format_configuration: match c.output {
            Some(OutputFormat::Parquet(p)) => Some(OutputFormatConfigurationOut {
                serializer: SerializerOut {
                    parquet_ser_de: Some(ParquetSerDeOut {
                        block_size_bytes: p.block_size_bytes,
                        page_size_bytes: p.page_size_bytes,
                        compression: p.compression.map(|c| c.name().to_string()),
                        enable_dictionary_compression: p.enable_dictionary,
                        max_padding_bytes: p.max_padding_bytes,
                        writer_version: p.writer_v2.map(|v| if v { "V2" } else { "V1" }.into()),
                    }),
                },
            }),
            _ => None,
        },
        enabled,
    })
}
